"""The offline world map: geometry, links, escaping, CSP-safe markup, cost and size."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string

from governance.models import Participation
from governance.worldmap import (
    CATEGORY_LABELS,
    HATCH_ANGLES,
    WorldMap,
    build_legend,
    missing_codes,
    render_world_map,
    shape_codes,
    strongest_role,
)

SVG = "{http://www.w3.org/2000/svg}"
MAX_SVG_BYTES = 150_000
SEED_VALUES = {
    "CN": "proposer",
    "US": "issuer",
    "RU": "delegate",
    "DE": "delegate",
    "KR": "delegate",
    "ZA": "delegate",
    "QA": "delegate",
    "FR": "represented",
}


def parse(world_map: WorldMap) -> ET.Element:
    return ET.fromstring(str(world_map))


def shapes(root: ET.Element) -> list[ET.Element]:
    return [el for el in root.iter() if el.tag in (f"{SVG}path", f"{SVG}circle")]


def test_svg_is_xml_with_accessible_name_and_viewbox():
    root = parse(render_world_map(SEED_VALUES, title="Who took part"))
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox", "").startswith("0 0 1000 ")
    assert root.get("role") in {"img", "group"}
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert root.find(f"{SVG}title").get("id") == title_id
    assert root.find(f"{SVG}title").text == "Who took part"
    assert root.find(f"{SVG}desc").get("id") == desc_id
    # Without links the map is one image for assistive technology.
    assert parse(render_world_map({})).get("role") == "img"


def test_every_shape_has_a_code_and_a_title():
    root = parse(render_world_map({}))
    drawn = shapes(root)
    assert len(drawn) >= 170
    for el in drawn:
        assert re.fullmatch(r"[a-z]{2}", el.get("data-code", "")), el.attrib
        assert "country" in el.get("class", "").split()
        assert el.find(f"{SVG}title").text
    codes = {el.get("data-code") for el in drawn}
    assert len(codes) == len(drawn), "one element per country"
    assert {"cn", "us", "ru", "de", "kr", "za", "qa"} <= codes
    assert "aq" not in codes  # Antarctica is left out


def test_countries_with_a_value_link_to_their_page_with_their_category():
    root = parse(render_world_map(SEED_VALUES))
    links = {a.get("href"): a for a in root.iter(f"{SVG}a")}
    assert len(links) == len(SEED_VALUES)
    for code, role in SEED_VALUES.items():
        a = links[f"/countries/{code.lower()}/"]
        (path,) = a.findall(f"{SVG}path")
        assert path.get("data-code") == code.lower()
        assert f"cat-{role}" in path.get("class").split()
        assert a.get("aria-label") == path.find(f"{SVG}title").text
    china = links["/countries/cn/"].find(f"{SVG}path/{SVG}title").text
    assert china == "China: Proposer"


def test_countries_without_a_value_are_plain_and_unlinked():
    root = parse(render_world_map({"CN": "proposer"}))
    linked = {p.get("data-code") for a in root.iter(f"{SVG}a") for p in a}
    assert linked == {"cn"}
    brazil = next(el for el in shapes(root) if el.get("data-code") == "br")
    assert brazil.get("class") == "country"
    assert brazil.find(f"{SVG}title").text == "Brazil"


def test_city_states_without_a_shape_get_a_linked_marker():
    world_map = render_world_map({"SG": "signatory", "BH": "declined", "CN": "host"})
    assert world_map.missing == ("SG", "BH")
    root = parse(world_map)
    markers = {c.get("data-code"): c for c in root.iter(f"{SVG}circle")}
    assert set(markers) == {"sg", "bh"}
    assert "cat-signatory" in markers["sg"].get("class").split()
    assert {a.get("href") for a in root.iter(f"{SVG}a")} >= {"/countries/sg/", "/countries/bh/"}
    # Singapore is south-east of Bahrain: the marker positions are projected, not random.
    assert float(markers["sg"].get("cx")) > float(markers["bh"].get("cx"))
    assert float(markers["sg"].get("cy")) > float(markers["bh"].get("cy"))


def test_projection_is_upright():
    root = parse(render_world_map({}))
    first_y = {}
    for el in shapes(root):
        match = re.match(r"M([\d.]+) ([\d.]+)", el.get("d", ""))
        if match:
            first_y[el.get("data-code")] = float(match.group(2))
    # North is up: Norway above South Africa, Canada above Argentina.
    assert first_y["no"] < first_y["za"]
    assert first_y["ca"] < first_y["ar"]


def test_labels_and_title_are_escaped():
    evil = '<script>alert("x")</script>'
    world_map = render_world_map(
        {"CN": "proposer"}, labels={"CN": evil}, title=evil, legend=[("proposer", evil)]
    )
    svg = str(world_map)
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(world_map)
    assert root.find(f"{SVG}title").text == evil
    html = render_to_string("governance/partials/world_map.html", {"map": world_map})
    assert "<script" not in html


def test_category_key_cannot_break_out_of_the_class_attribute():
    root = parse(render_world_map({"CN": 'x" onclick="alert(1)'}))
    (path,) = next(root.iter(f"{SVG}a")).findall(f"{SVG}path")
    assert path.get("onclick") is None
    assert path.get("class") == "country cat-x-onclick-alert-1"


def test_no_inline_style_or_script_anywhere():
    values = {**SEED_VALUES, "SG": "signatory", "XK": "observer"}
    world_map = render_world_map(values, title="t")
    html = render_to_string("governance/partials/world_map.html", {"map": world_map})
    for markup in (str(world_map), html):
        assert not re.search(r"\sstyle\s*=", markup)
        assert not re.search(r"<(style|script)\b", markup, re.I)
        assert not re.search(r"\son[a-z]+\s*=", markup)


def test_kosovo_has_a_shape_but_no_country_page():
    world_map = render_world_map({"XK": "observer"})
    root = parse(world_map)
    kosovo = next(el for el in shapes(root) if el.get("data-code") == "xk")
    assert "cat-observer" in kosovo.get("class").split()
    assert not list(root.iter(f"{SVG}a"))


def test_size_is_under_the_bound():
    everything = dict.fromkeys(shape_codes(), "delegate")
    assert len(str(render_world_map(everything)).encode()) < MAX_SVG_BYTES
    assert len(str(render_world_map({})).encode()) < MAX_SVG_BYTES


def test_missing_codes_are_the_small_territories():
    missing = set(missing_codes())
    assert {"SG", "BH", "MT", "AQ", "HK"} <= missing
    assert not missing & {"CN", "US", "RU", "DE", "KR", "ZA", "QA", "FR", "TW", "PS"}


@pytest.mark.django_db
def test_rendering_is_cached_and_never_queries(django_assert_num_queries):
    render_world_map(SEED_VALUES)
    with django_assert_num_queries(0):
        for _ in range(200):
            render_world_map(SEED_VALUES, title="again")


def test_strongest_role_precedence():
    assert strongest_role(["delegate", "proposer", "signatory"]) == "proposer"
    assert strongest_role(["declined", "supporter"]) == "supporter"
    assert strongest_role(["absent", "opponent"]) == "opponent"
    assert strongest_role(["unknown", "absent"]) == "absent"
    assert strongest_role(["unknown", "something-new"]) == "something-new"
    assert strongest_role(["something-new", "absent"]) == "absent"
    assert strongest_role([]) == "unknown"


def test_every_role_has_a_label_and_a_colour():
    assert set(Participation.Role.values) | {"unknown"} == set(CATEGORY_LABELS)
    css = (Path(settings.BASE_DIR) / "static" / "css" / "map.css").read_text()
    for key in CATEGORY_LABELS:
        assert f".cat-{key} " in css or f".cat-{key}," in css, key


def test_legend_counts_and_order():
    values = {"CN": "proposer", "RU": "delegate", "DE": "delegate", "US": "mystery"}
    legend = build_legend(values)
    assert [(e.key, e.count) for e in legend] == [
        ("proposer", 1),
        ("delegate", 2),
        ("mystery", 1),
    ]
    assert legend[0].label == "Proposer"
    fixed = build_legend(values, [("delegate", "Sent delegates"), ("declined", "Declined")])
    assert [(e.key, e.label, e.count) for e in fixed] == [
        ("delegate", "Sent delegates", 2),
        ("declined", "Declined", 0),
    ]


def test_partial_shows_map_legend_and_country_list():
    world_map = render_world_map({"CN": "proposer", "SG": "delegate"}, title="Participation")
    html = render_to_string("governance/partials/world_map.html", {"map": world_map})
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html
    assert 'class="swatch cat-proposer"' in html
    assert 'Proposer <span class="count">(1)</span>' in html
    assert '<a href="/countries/sg/">Singapore</a>: Delegate' in html
    assert "shown as a dot" in html
    assert render_to_string("governance/partials/world_map.html", {}).strip() == ""


# --- Colours: one per role, told apart with every common colour-vision deficiency ------

# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB.
CVD_MATRICES = {
    "protanopia": (
        (0.152286, 1.052583, -0.204868),
        (0.114503, 0.786281, 0.099216),
        (-0.003882, -0.048116, 1.051998),
    ),
    "deuteranopia": (
        (0.367322, 0.860646, -0.227968),
        (0.280085, 0.672501, 0.047413),
        (-0.011820, 0.042940, 0.968881),
    ),
    "tritanopia": (
        (1.255528, -0.076749, -0.178779),
        (-0.078411, 0.930809, 0.147602),
        (0.004733, 0.691367, 0.303900),
    ),
}
# CIELAB distance below which two colours side by side start to look alike.
MIN_DELTA_E = 8.0


def _linear(hex_colour: str) -> tuple[float, ...]:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return tuple(channel(int(hex_colour[i : i + 2], 16) / 255) for i in (1, 3, 5))


def _lab(rgb: tuple[float, ...]) -> tuple[float, float, float]:
    r, g, b = rgb
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def _seen_as(rgb: tuple[float, ...], vision: str) -> tuple[float, ...]:
    if vision == "normal":
        return rgb
    return tuple(
        min(1.0, max(0.0, sum(m * c for m, c in zip(row, rgb, strict=True))))
        for row in CVD_MATRICES[vision]
    )


def category_colours() -> dict[str, str]:
    css = (Path(settings.BASE_DIR) / "static" / "css" / "map.css").read_text()
    found = re.findall(r"\.world-map-figure \.cat-([\w-]+) \{ --map-fill: (#[0-9a-f]{6}); \}", css)
    return dict(found)


def test_every_role_has_its_own_colour_told_apart_with_colour_blindness():
    colours = category_colours()
    assert set(colours) == set(CATEGORY_LABELS)  # every role and "unknown", once each
    assert len(set(colours.values())) == len(colours)
    no_value = "#dfe3e8"  # what a country without a role is filled with
    samples = {**colours, "none": no_value}
    for vision in ("normal", *CVD_MATRICES):
        seen = {key: _lab(_seen_as(_linear(c), vision)) for key, c in samples.items()}
        keys = sorted(seen)
        for i, a in enumerate(keys):
            for b in keys[i + 1 :]:
                distance = sum((p - q) ** 2 for p, q in zip(seen[a], seen[b], strict=True)) ** 0.5
                assert distance >= MIN_DELTA_E, (vision, a, b, round(distance, 1))


def test_proposer_announcer_and_issuer_differ():
    colours = category_colours()
    assert len({colours["proposer"], colours["announcer"], colours["issuer"]}) == 3


def test_roles_not_taking_part_are_hatched_and_listed_apart():
    values = {
        "CN": "proposer",
        "IN": "declined",
        "BR": "target",
        "SG": "opponent",
        "DE": "delegate",
    }
    world_map = render_world_map(values, title="Participation")
    root = parse(world_map)
    patterns = {el.get("id") for el in root.iter(f"{SVG}pattern")}
    assert patterns == {"map-hatch-declined", "map-hatch-target", "map-hatch-opponent"}
    classes = {el.get("data-code"): el.get("class") for el in shapes(root) if el.get("data-code")}
    assert classes["in"] == "country cat-declined hatched"
    assert classes["sg"] == "country cat-opponent hatched marker"  # a dot, hatched too
    assert classes["cn"] == "country cat-proposer"
    css = (Path(settings.BASE_DIR) / "static" / "css" / "map.css").read_text()
    colours = category_colours()
    for key in ("declined", "target", "opponent", "absent"):
        assert f".world-map .country.hatched.cat-{key} {{ fill: url(#map-hatch-{key}); }}" in css
        # The stripes are the colour the legend and the palette test give the key.
        assert f".world-map .hatch-{key} .hatch-stripe {{ fill: {colours[key]}; }}" in css
        # The legend's swatch stripes run the way the map's do.
        css_angle = (90 - HATCH_ANGLES[key]) % 180
        assert f".swatch.cat-{key} {{ --hatch-angle: {css_angle}deg; }}" in css
    assert [(e.key, e.count) for e in world_map.legend_taking_part] == [
        ("proposer", 1),
        ("delegate", 1),
    ]
    assert [(e.key, e.count) for e in world_map.legend_apart] == [
        ("target", 1),
        ("opponent", 1),
        ("declined", 1),
    ]
    html = render_to_string("governance/partials/world_map.html", {"map": world_map})
    taking, _, apart = html.partition("Shown apart, not taking part")
    assert 'cat-proposer" aria-hidden="true"></span>Proposer' in taking
    assert "cat-declined" not in taking.split("<svg")[0] + taking.split("</svg>")[-1]
    assert (
        'cat-declined" aria-hidden="true"></span>Declined <span class="count">(1)</span>' in apart
    )
    assert "2 countries taking part on the map, 3 shown apart" in html
    assert (
        '<a href="/countries/in/">India</a>: Declined <span class="note">(not taking part)' in html
    )


def test_a_map_of_countries_taking_part_only_has_one_legend():
    html = render_to_string(
        "governance/partials/world_map.html", {"map": render_world_map(SEED_VALUES)}
    )
    assert "Shown apart" not in html and "<pattern" not in html
    assert "8 countries taking part on the map</summary>" in html
