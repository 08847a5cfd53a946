"""An offline world map of participation by country, rendered server-side as inline SVG.

No JavaScript, no CDN and nothing inline that the site's CSP forbids: every colour
comes from classes styled in ``static/css/map.css``. The base geometry is Natural
Earth's 1:110m country boundaries from the npm package ``world-atlas`` 2.0.2
(``static/vendor/world/``, see its README): TopoJSON decoded here, projected with
the Natural Earth I projection, Antarctica left out, rounded to 0.1 SVG units.
It is parsed once per process; a render after that is string assembly only and
touches no database.

Usage in a view::

    from governance.worldmap import render_world_map, strongest_role

    world_map = render_world_map(
        {"CN": "proposer", "US": "issuer", "SG": "delegate"},
        title="Countries taking part in the Action Plan",
    )
    # several roles per country: {code: strongest_role(roles) for code, roles in ...}

and in the template (load ``css/map.css`` once in the page)::

    {% include "governance/partials/world_map.html" with map=world_map %}

``{{ world_map }}`` alone outputs just the SVG. Countries with a value are links
to their country page, coloured by the ``cat-<key>`` class; the rest are plain
grey shapes. Countries whose only roles are not taking part (declined, opponent,
target, noted absent: ``Participation.NOT_TAKING_PART_ROLES``) are hatched rather
than filled, and the legend and country list show them apart from those taking
part. Countries too small for the 1:110m data (Singapore, Bahrain, Malta…) are
drawn as a circle marker at their countryinfo coordinates when they have a value.
Two maps on one page need different ``map_id`` values (the SVG's
``<title>``/``<desc>`` ids).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import pycountry
from django.conf import settings
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from governance.models import Participation
from governance.reference_data import DISPLAY_NAMES

WORLD_TOPOJSON = Path(settings.BASE_DIR) / "static" / "vendor" / "world" / "countries-110m.json"

# SVG user units across the projected map; 0.1 unit is then ~0.04° of longitude at
# the equator, finer than the 1:110m data, so rounding to one decimal loses nothing.
MAP_WIDTH = 1000.0
MARGIN = 4.0
MARKER_RADIUS = 3.5

# Shapes without an ISO numeric id in Natural Earth, drawn as part of the country that
# ISO 3166 (and the UN) count them in. Kosovo has only the user-assigned code XK,
# which is not in ISO 3166-1, so it is drawn but never linked.
UNCODED_SHAPES = {"N. Cyprus": "CY", "Somaliland": "SO", "Kosovo": "XK"}
EXTRA_NAMES = {"XK": "Kosovo"}
# Approximate points for the territories countryinfo has no coordinates for, so that
# every ISO country but Antarctica can be shown as a marker.
EXTRA_LATLNG = {
    "AX": (60.2, 20.0),
    "BL": (17.9, -62.83),
    "BQ": (12.2, -68.26),
    "BV": (-54.43, 3.4),
    "CW": (12.17, -69.0),
    "MF": (18.08, -63.05),
    "SX": (18.03, -63.05),
    "TC": (21.75, -71.58),
    "UM": (19.28, 166.6),
    "VG": (18.42, -64.62),
    "VI": (18.34, -64.9),
}
# Antarctica takes a fifth of the height of most projections and has no participants.
LEFT_OUT = {"AQ"}

UNKNOWN = "unknown"

# Precedence for `strongest_role`, strongest first: whoever proposed or issued the thing,
# then its host, then formal commitment (signatory) before looser support, then mere
# presence (delegate, represented, speaker, exhibitor, observer), then the adversarial
# roles (target of a measure, opponent, declined), then noted absence, then unknown.
ROLE_PRECEDENCE: tuple[str, ...] = (
    Participation.Role.PROPOSER,
    Participation.Role.ANNOUNCER,
    Participation.Role.ISSUER,
    Participation.Role.HOST,
    Participation.Role.SIGNATORY,
    Participation.Role.SUPPORTER,
    Participation.Role.DELEGATE,
    Participation.Role.REPRESENTED,
    Participation.Role.SPEAKER,
    Participation.Role.EXHIBITOR,
    Participation.Role.OBSERVER,
    Participation.Role.TARGET,
    Participation.Role.OPPONENT,
    Participation.Role.DECLINED,
    Participation.Role.ABSENT,
)
# Default legend labels, in legend order: every Participation role, then "unknown".
CATEGORY_LABELS: dict[str, str] = {
    **{str(role): str(Participation.Role(role).label) for role in ROLE_PRECEDENCE},
    UNKNOWN: "Unknown",
}
_RANK = {key: rank for rank, key in enumerate(CATEGORY_LABELS)}


def strongest_role(roles: Iterable[str]) -> str:
    """The role to colour a country by when it has several, by ``ROLE_PRECEDENCE``.

    proposer > announcer > issuer > host > signatory > supporter > delegate >
    represented > speaker > exhibitor > observer > target > opponent > declined >
    absent > (any unrecognised value, alphabetically) > unknown. No roles: "unknown".
    """
    best = UNKNOWN
    for role in roles:
        if _sort_key(role) < _sort_key(best):
            best = role
    return best


def _sort_key(key: str) -> tuple[int, str]:
    # Unrecognised keys sort after the known roles but before "unknown".
    if key == UNKNOWN:
        return (len(CATEGORY_LABELS) + 1, "")
    return (_RANK.get(key, len(CATEGORY_LABELS)), key)


# Keys drawn hatched and listed apart: a role that is no part in the thing.
APART_KEYS = frozenset(str(role) for role in Participation.NOT_TAKING_PART_ROLES)
# A hatch's period and stripe width in SVG units (the viewBox is MAP_WIDTH wide): about
# 7 and 3.5 px on a desktop-wide map, 2 and 1 px on a phone's.
HATCH_PERIOD = 6
HATCH_STRIPE = 3
# One angle per hatched key, so that the hatches differ without their colours too.
HATCH_ANGLES = {"target": 45, "opponent": 135, "declined": 0, "absent": 90}


@dataclass(frozen=True)
class LegendEntry:
    key: str  # the category key, also the `cat-<key>` CSS class suffix
    label: str
    count: int

    @property
    def taking_part(self) -> bool:
        return self.key not in APART_KEYS


@dataclass(frozen=True)
class MapCountry:
    """A country that has a value on the map, for the partial's text list."""

    code: str  # ISO alpha-2, upper case
    name: str
    key: str
    label: str
    url: str  # empty when the code has no country page (XK)
    has_shape: bool  # False: too small for the 1:110m data
    has_marker: bool  # drawn as a circle marker instead of a shape

    @property
    def taking_part(self) -> bool:
        return self.key not in APART_KEYS


@dataclass(frozen=True)
class WorldMap:
    """A rendered map: ``svg`` is safe markup; ``{{ world_map }}`` outputs it."""

    svg: SafeString
    title: str
    legend: tuple[LegendEntry, ...]
    countries: tuple[MapCountry, ...]

    def __str__(self) -> str:
        return self.svg

    def __html__(self) -> SafeString:
        return self.svg

    @property
    def legend_taking_part(self) -> tuple[LegendEntry, ...]:
        return tuple(e for e in self.legend if e.taking_part)

    @property
    def legend_apart(self) -> tuple[LegendEntry, ...]:
        return tuple(e for e in self.legend if not e.taking_part)

    @property
    def countries_taking_part(self) -> tuple[MapCountry, ...]:
        return tuple(c for c in self.countries if c.taking_part)

    @property
    def countries_apart(self) -> tuple[MapCountry, ...]:
        return tuple(c for c in self.countries if not c.taking_part)

    @property
    def missing(self) -> tuple[str, ...]:
        """Codes with a value but no shape at 1:110m (shown as markers when possible)."""
        return tuple(c.code for c in self.countries if not c.has_shape)


@dataclass(frozen=True)
class _Shape:
    code: str
    name: str
    d: str  # the path data, already rounded and compacted


@dataclass(frozen=True)
class _BaseMap:
    view_box: str
    shapes: tuple[_Shape, ...]
    markers: dict[str, tuple[float, float]]  # code -> projected point, for shapeless codes


# --- Geometry (cached) -------------------------------------------------------------------


def _natural_earth(lon: float, lat: float) -> tuple[float, float]:
    """Natural Earth I projection (Šavrič, Jenny, Patterson, 2011), unit sphere; y up."""
    lam, phi = math.radians(lon), math.radians(lat)
    phi2 = phi * phi
    phi4 = phi2 * phi2
    x = lam * (
        0.8707 - 0.131979 * phi2 + phi4 * (-0.013791 + phi4 * (0.003971 * phi2 - 0.001529 * phi4))
    )
    y = phi * (
        1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2 - 0.005916 * phi4))
    )
    return x, y


def _decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Quantized, delta-encoded TopoJSON arcs to lists of (lon, lat)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def _ring(arc_ids: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for i in arc_ids:
        # A negative index ~i means arc i reversed; consecutive arcs share an end point.
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def _clip(
    ring: list[tuple[float, float]], lon: float, keep_below: bool
) -> list[tuple[float, float]]:
    """Sutherland-Hodgman: the part of a ring on one side of a meridian."""

    def inside(p: tuple[float, float]) -> bool:
        return p[0] <= lon if keep_below else p[0] >= lon

    out: list[tuple[float, float]] = []
    for i, cur in enumerate(ring):
        prev = ring[i - 1]
        if inside(cur) != inside(prev):
            t = (lon - prev[0]) / (cur[0] - prev[0])
            out.append((lon, prev[1] + t * (cur[1] - prev[1])))
        if inside(cur):
            out.append(cur)
    return out


def _split_antimeridian(ring: list[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """Rings that cross ±180° (Russia's Chukotka, Fiji) as one piece per side.

    Unprojected, such a ring jumps from +180 to -180 and would be drawn as a band
    across the whole map; unwrapped into continuous longitudes and clipped to
    [-180, 180] at each 360° shift, each piece lands on its own edge of the map.
    """
    if all(abs(b[0] - a[0]) <= 180 for a, b in pairwise(ring)):
        return [ring]
    unwrapped = [ring[0]]
    for lon, lat in ring[1:]:
        prev = unwrapped[-1][0]
        lon += 360 * round((prev - lon) / 360)
        unwrapped.append((lon, lat))
    pieces = []
    for shift in (-360, 0, 360):
        shifted = [(lon + shift, lat) for lon, lat in unwrapped]
        piece = _clip(_clip(shifted, 180, keep_below=True), -180, keep_below=False)
        if len(piece) >= 3:
            pieces.append(piece)
    return pieces


def _polygons(geometry: dict) -> Iterator[list[list[int]]]:
    if geometry["type"] == "Polygon":
        yield geometry["arcs"]
    elif geometry["type"] == "MultiPolygon":
        yield from geometry["arcs"]


def _num(tenths: int) -> str:
    """Tenths of a unit as the shortest SVG number: 12 -> "1.2", -5 -> "-.5", 30 -> "3"."""
    sign = "-" if tenths < 0 else ""
    whole, frac = divmod(abs(tenths), 10)
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole or ''}.{frac}"


def _path_data(rings: list[list[tuple[int, int]]]) -> str:
    """Rings of points in tenths to compact path data: absolute move, relative lines."""
    parts = []
    for ring in rings:
        out = [f"M{_num(ring[0][0])} {_num(ring[0][1])}l"]
        prev = ring[0]
        first = True
        for point in ring[1:]:
            for value in (point[0] - prev[0], point[1] - prev[1]):
                text = _num(value)
                # A minus sign separates numbers on its own; anything else needs a space.
                out.append(text if first or text.startswith("-") else " " + text)
                first = False
            prev = point
        parts.append("".join(out) + "z")
    return "".join(parts)


def _iso_name(code: str) -> str:
    if code in EXTRA_NAMES:
        return EXTRA_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    # The same display name the Country table holds (governance/reference_data.py).
    return DISPLAY_NAMES.get(code) or getattr(country, "common_name", None) or country.name


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    names = {c.alpha_2: _iso_name(c.alpha_2) for c in pycountry.countries}
    names.update(EXTRA_NAMES)
    return names


@lru_cache(maxsize=1)
def _latlng_by_code() -> dict[str, tuple[float, float]]:
    """countryinfo's representative point per alpha-2 code (for shapeless countries)."""
    from countryinfo import all_countries

    points: dict[str, tuple[float, float]] = dict(EXTRA_LATLNG)
    for info in (c.info() for c in all_countries()):
        code = (info.get("ISO") or {}).get("alpha2")
        latlng = info.get("latlng") or []
        if code and len(latlng) == 2:
            points.setdefault(code, (float(latlng[0]), float(latlng[1])))
    return points


@lru_cache(maxsize=1)
def _base_map() -> _BaseMap:
    topology = json.loads(WORLD_TOPOJSON.read_text(encoding="utf-8"))
    arcs = _decode_arcs(topology)

    projected: dict[str, list[list[tuple[float, float]]]] = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        numeric = geometry.get("id")
        if numeric is None:
            code = UNCODED_SHAPES[geometry["properties"]["name"]]
        else:
            country = pycountry.countries.get(numeric=str(numeric))
            if country is None:
                continue
            code = country.alpha_2
        if code in LEFT_OUT:
            continue
        for polygon in _polygons(geometry):
            for arc_ids in polygon:
                for piece in _split_antimeridian(_ring(arc_ids, arcs)):
                    ring = [_natural_earth(lon, lat) for lon, lat in piece]
                    projected.setdefault(code, []).append(ring)

    xs = [x for rings in projected.values() for ring in rings for x, _ in ring]
    ys = [y for rings in projected.values() for ring in rings for _, y in ring]
    x0, y1 = min(xs), max(ys)
    scale = (MAP_WIDTH - 2 * MARGIN) / (max(xs) - x0)
    height = (y1 - min(ys)) * scale + 2 * MARGIN

    def to_tenths(x: float, y: float) -> tuple[int, int]:
        # SVG's y axis points down, the projection's up.
        return round(((x - x0) * scale + MARGIN) * 10), round(((y1 - y) * scale + MARGIN) * 10)

    names = _country_names()
    shapes = []
    for code, rings in sorted(projected.items(), key=lambda item: names.get(item[0], item[0])):
        kept = []
        for ring in rings:
            points: list[tuple[int, int]] = []
            for point in (to_tenths(x, y) for x, y in ring):
                if not points or point != points[-1]:
                    points.append(point)
            if len(points) > 1 and points[0] == points[-1]:
                points.pop()  # "z" closes the ring
            if len(points) >= 3:
                kept.append(points)
        if kept:
            shapes.append(_Shape(code, names.get(code, code), _path_data(kept)))

    drawn = {shape.code for shape in shapes}
    markers = {}
    for code, (lat, lon) in _latlng_by_code().items():
        if code not in drawn and code not in LEFT_OUT:
            tx, ty = to_tenths(*_natural_earth(lon, lat))
            markers[code] = (tx / 10, ty / 10)

    view_box = f"0 0 {_num(round(MAP_WIDTH * 10))} {_num(math.ceil(height * 10))}"
    return _BaseMap(view_box=view_box, shapes=tuple(shapes), markers=markers)


def shape_codes() -> frozenset[str]:
    """ISO alpha-2 codes that have a shape on the map."""
    return frozenset(shape.code for shape in _base_map().shapes)


def missing_codes() -> tuple[str, ...]:
    """ISO 3166-1 codes with no shape at 1:110m (tiny states, most islands, Antarctica)."""
    drawn = shape_codes()
    return tuple(sorted(c.alpha_2 for c in pycountry.countries if c.alpha_2 not in drawn))


# --- Rendering ---------------------------------------------------------------------------

_KEY_CLEAN = re.compile(r"[^a-z0-9_-]+")


def _class_key(key: str) -> str:
    """A category key as a CSS class suffix: lower case, nothing that ends the class."""
    return _KEY_CLEAN.sub("-", key.strip().lower()).strip("-") or UNKNOWN


@lru_cache(maxsize=512)
def _country_url(code: str) -> str:
    # Only ISO 3166-1 countries have a row (and a page); the cache keeps reverse() off the
    # hot path.
    if pycountry.countries.get(alpha_2=code) is None:
        return ""
    return reverse("governance:country_detail", args=[code.lower()])


def build_legend(
    values: dict[str, str], legend: list[tuple[str, str]] | None = None
) -> tuple[LegendEntry, ...]:
    """Legend entries with the number of countries in each category.

    With ``legend`` given, exactly those (key, label) pairs in that order (counts may be
    0); otherwise the categories present in ``values``, in ``CATEGORY_LABELS`` order,
    keys it does not know after them with a capitalised label.
    """
    counts = Counter(_class_key(key) for key in values.values())
    if legend is None:
        keys = sorted(counts, key=_sort_key)
        pairs = [
            (key, CATEGORY_LABELS.get(key, key.replace("-", " ").capitalize())) for key in keys
        ]
    else:
        pairs = [(_class_key(key), label) for key, label in legend]
    return tuple(LegendEntry(key, label, counts.get(key, 0)) for key, label in pairs)


def _hatch_patterns(keys: Iterable[str]) -> str:
    """SVG patterns for the hatched keys among `keys`; shapes reference them by id from
    map.css. The ids are fixed (the stylesheet names them), so two maps on one page
    define identical patterns twice, which browsers resolve to the first."""
    out = []
    for key in sorted(set(keys) & APART_KEYS):
        out.append(
            f'<pattern id="map-hatch-{key}" class="hatch hatch-{key}" patternUnits="userSpaceOnUse"'
            f' width="{HATCH_PERIOD}" height="{HATCH_PERIOD}"'
            f' patternTransform="rotate({HATCH_ANGLES.get(key, 45)})">'
            f'<rect class="hatch-ground" width="{HATCH_PERIOD}" height="{HATCH_PERIOD}"/>'
            f'<rect class="hatch-stripe" width="{HATCH_STRIPE}" height="{HATCH_PERIOD}"/>'
            "</pattern>"
        )
    return f"<defs>{''.join(out)}</defs>" if out else ""


def render_world_map(
    values: dict[str, str],
    *,
    labels: dict[str, str] | None = None,
    title: str = "",
    legend: list[tuple[str, str]] | None = None,
    description: str = "",
    map_id: str = "world-map",
) -> WorldMap:
    """Render the world map with each country in ``values`` coloured by its category.

    ``values`` maps ISO alpha-2 codes to category keys (Participation role values,
    "unknown", or any slug styled in map.css). ``labels`` overrides, per code, the text
    after the country name in its tooltip (default: the category's legend label).
    ``legend`` fixes the legend's (key, label) pairs; ``build_legend`` explains the
    default. All text is escaped; the result contains no style attribute or element.
    """
    base = _base_map()
    names = _country_names()
    labels = {code.upper(): text for code, text in (labels or {}).items()}
    keys = {code.upper(): _class_key(key) for code, key in values.items()}
    entries = build_legend(values, legend)
    key_labels = {**CATEGORY_LABELS, **{e.key: e.label for e in entries}}
    title = title or "World map of participation by country"
    if not description:
        description = (
            "; ".join(f"{e.label}: {e.count}" for e in entries if e.count)
            or "No country has a recorded role."
        )
    ids = f"{_class_key(map_id)}-title {_class_key(map_id)}-desc"

    def tooltip(code: str) -> str:
        name = names.get(code, code)
        if code not in keys:
            return name
        return f"{name}: {labels.get(code) or key_labels.get(keys[code], keys[code])}"

    def element(code: str, tag: str, geometry: str) -> str:
        """One country's shape with its tooltip, inside a link when it has a value."""
        key = keys.get(code)
        cls = f"country cat-{key}" if key else "country"
        if key in APART_KEYS:
            cls += " hatched"
        if tag == "circle":
            cls += " marker"
        tip = escape(tooltip(code))
        shape = (
            f'<{tag} class="{cls}" data-code="{code.lower()}" {geometry}>'
            f"<title>{tip}</title></{tag}>"
        )
        url = _country_url(code) if key else ""
        return f'<a href="{escape(url)}" aria-label="{tip}">{shape}</a>' if url else shape

    # Links inside role="img" would be hidden from screen readers, so a map with links is
    # a labelled group; the partial also lists the linked countries as text.
    role = "group" if keys else "img"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="world-map" viewBox="{base.view_box}"'
        f' role="{role}" aria-labelledby="{ids}">',
        f'<title id="{_class_key(map_id)}-title">{escape(title)}</title>',
        f'<desc id="{_class_key(map_id)}-desc">{escape(description)}</desc>',
        _hatch_patterns(keys.values()),
        '<g class="countries">',
    ]
    drawn = set()
    for shape in base.shapes:
        drawn.add(shape.code)
        out.append(element(shape.code, "path", f'd="{shape.d}"'))
    out.append('</g><g class="markers">')
    countries = []
    for code in sorted(keys, key=lambda c: (_sort_key(keys[c]), names.get(c, c))):
        has_shape = code in drawn
        has_marker = not has_shape and code in base.markers
        if has_marker:
            x, y = base.markers[code]
            out.append(element(code, "circle", f'cx="{x:g}" cy="{y:g}" r="{MARKER_RADIUS:g}"'))
        countries.append(
            MapCountry(
                code=code,
                name=names.get(code, code),
                key=keys[code],
                label=labels.get(code) or key_labels.get(keys[code], keys[code]),
                url=_country_url(code),
                has_shape=has_shape,
                has_marker=has_marker,
            )
        )
    out.append("</g></svg>")
    # Every interpolated text went through escape(); path data and numbers are ours.
    return WorldMap(
        svg=mark_safe("".join(out)),
        title=title,
        legend=entries,
        countries=tuple(countries),
    )
