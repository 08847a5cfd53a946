"""Reference data for countries: ISO 3166-1 (pycountry) and aliases (countryinfo + ours).

Pure functions returning rows, so the data migration and tests share them.
Extraction relies on the aliases; the pitfalls docs/architecture.md §4 names are
handled here: countryinfo's two- and three-letter alternative spellings are
dropped ("AI" would be Anguilla) except well-known short forms, and a demonym
or capital that several countries share is marked ambiguous ("American").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pycountry
import yaml

CURATED_ALIASES_FILE = Path(__file__).parent / "fixtures" / "country_aliases.yaml"

# Plain English names where ISO's short name is inverted or formal.
DISPLAY_NAMES = {
    "RU": "Russia",
    "CD": "Democratic Republic of the Congo",
    "CG": "Republic of the Congo",
    "PS": "Palestine",
    "VA": "Vatican City",
    "FM": "Micronesia",
    "BN": "Brunei",
    "VG": "British Virgin Islands",
    "VI": "United States Virgin Islands",
    "FK": "Falkland Islands",
    "SH": "Saint Helena, Ascension and Tristan da Cunha",
}

# Short forms that are unambiguous in news text, kept despite their length.
KEPT_SHORT_FORMS = {"US", "USA", "UK", "UAE", "PRC", "DPRK", "ROK", "DRC"}

COUNTRYINFO_SOURCE = "countryinfo"
PYCOUNTRY_SOURCE = "ISO 3166-1 (pycountry)"


@dataclass(frozen=True)
class CountryRow:
    code: str
    alpha3: str
    numeric: str
    name: str
    official_name: str
    region: str
    subregion: str

    def fields(self) -> dict[str, str]:
        """The Country's fields by name: the row's own."""
        return asdict(self)


@dataclass(frozen=True)
class AliasRow:
    code: str
    alias: str
    kind: str  # CountryAlias.Kind value
    ambiguous: bool
    source: str

    def fields(self) -> dict[str, Any]:
        """The CountryAlias's fields by name (its country by code)."""
        values = asdict(self)
        values["country_id"] = values.pop("code")
        return values


def _countryinfo_by_code() -> dict[str, dict[str, Any]]:
    """countryinfo's record per alpha-2 code; where it has several (GB: UK and Wales),
    the one whose name ISO also uses."""
    from countryinfo import all_countries

    by_code: dict[str, dict[str, Any]] = {}
    for info in (c.info() for c in all_countries()):
        code = (info.get("ISO") or {}).get("alpha2")
        if not code:
            continue
        iso = pycountry.countries.get(alpha_2=code)
        iso_names = {getattr(iso, a, None) for a in ("name", "common_name", "official_name")}
        if code not in by_code or info.get("name") in iso_names:
            by_code[code] = info
    return by_code


def _latin(text: str) -> bool:
    return all(ord(ch) < 0x250 or ch.isspace() for ch in text)


def _as_list(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else [v for v in value if v]


def country_rows() -> list[CountryRow]:
    info = _countryinfo_by_code()
    rows = []
    for c in pycountry.countries:
        extra = info.get(c.alpha_2, {})
        name = DISPLAY_NAMES.get(c.alpha_2) or getattr(c, "common_name", None) or c.name
        rows.append(
            CountryRow(
                code=c.alpha_2,
                alpha3=c.alpha_3,
                numeric=c.numeric,
                name=name,
                official_name=getattr(c, "official_name", "") or "",
                region=extra.get("region") or "",
                subregion=extra.get("subregion") or "",
            )
        )
    return rows


def alias_rows() -> list[AliasRow]:
    """Every alias: ISO names, countryinfo spellings, demonyms and capitals, then ours."""
    info = _countryinfo_by_code()
    rows: dict[tuple[str, str, str], AliasRow] = {}

    def add(code: str, alias: str, kind: str, source: str, ambiguous: bool = False) -> None:
        alias = " ".join(alias.split())
        if alias and _latin(alias):
            rows.setdefault((code, alias, kind), AliasRow(code, alias, kind, ambiguous, source))

    demonyms = Counter(d for i in info.values() for d in _as_list(i.get("demonym")))
    capitals = Counter(c for i in info.values() for c in _as_list(i.get("capital")))

    for c in pycountry.countries:
        code = c.alpha_2
        for attr in ("name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value:
                add(code, value, "name", PYCOUNTRY_SOURCE)
        if code in DISPLAY_NAMES:
            add(code, DISPLAY_NAMES[code], "name", PYCOUNTRY_SOURCE)
        extra = info.get(code, {})
        add(code, extra.get("name") or "", "name", COUNTRYINFO_SOURCE)
        for spelling in _as_list(extra.get("altSpellings")):
            if len(spelling) <= 3 and spelling.upper() not in KEPT_SHORT_FORMS:
                continue
            add(code, spelling, "name", COUNTRYINFO_SOURCE)
        for demonym in _as_list(extra.get("demonym")):
            add(code, demonym, "demonym", COUNTRYINFO_SOURCE, ambiguous=demonyms[demonym] > 1)
        for capital in _as_list(extra.get("capital")):
            add(code, capital, "capital", COUNTRYINFO_SOURCE, ambiguous=capitals[capital] > 1)

    curated = yaml.safe_load(CURATED_ALIASES_FILE.read_text(encoding="utf-8"))
    source = curated["source"]
    for entry in curated["aliases"]:
        key = (entry["country"], " ".join(entry["alias"].split()), entry["kind"])
        # Our entries win: they correct the libraries (e.g. mark "Georgia" ambiguous).
        rows[key] = AliasRow(*key, bool(entry.get("ambiguous", False)), source)
    return sorted(rows.values(), key=lambda r: (r.code, r.kind, r.alias))
