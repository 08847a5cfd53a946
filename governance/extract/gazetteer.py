"""The country gazetteer: every alias from governance.reference_data, indexed for matching.

Pure and cached once per process (no database): the rows come from
`alias_rows()`, the same function the data migration loads. This module only
answers "which aliases occur where in this text, and what could each be";
countries.py decides with context whether an occurrence is a country mention.

Corrections made here, and why:
- An alias several countries share ("French": FR and five territories;
  "Chinese": CN, HK, MO) resolves to the sovereign state news means, or is
  dropped when no one reading is dominant ("Congolese", "Dominican").
- Aliases that are ordinary words, surnames or other places in English news
  ("Island" for Iceland, "Hamilton", "Douglas", "The Valley") are dropped or
  marked ambiguous, so they count only with supporting context.
- Trap phrases ("New Mexico", "Washington Post", "Indian Ocean", "Latin
  America") are matched like aliases but resolve to no country: matching
  leftmost-longest, they swallow the alias inside them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from governance.reference_data import COUNTRYINFO_SOURCE, PYCOUNTRY_SOURCE, alias_rows

# Which country a shared alias means in English news.
PREFERRED_CODE = {
    "American": "US",
    "Chinese": "CN",
    "French": "FR",
    "Indian": "IN",
    "Norwegian": "NO",
    "Kingston": "JM",
    "Jerusalem": "IL",
}

# Library spellings that are common words, surnames or other things in news text.
DROPPED = {
    "Island",  # countryinfo's Icelandic spelling of Iceland
    "Mann",  # Isle of Man; a surname
    "Viti",
    "Prathet",
    "Zhonghua",
    "The Valley",  # Anguilla's capital; "the Valley" is Silicon Valley
    "West Island",
    "Kralendijk / Oranjestad / The Bottom",
    "Christmas Island",  # listed as a demonym too; keep only the name
    "Gibraltar",  # likewise (kept as a name below, since names win)
    "Djibouti",
    # Belgium's capital, but as an actor in news it is the EU ("Brussels wants ..."),
    # and as a place it is no country mention either.
    "Brussels",
}
# Dropped only for this kind (the same text stays under another kind).
DROPPED_KIND = {("Thai", "name"), ("Montenegrin", "name"), ("Togolese", "name")}

# Not flagged in the data, but in English news these are more often a person, a US
# state, another city or a word: they count only with context (see countries.py).
EXTRA_AMBIGUOUS = {
    "Jersey",
    "Guernsey",
    "Congo",
    "Nippon",
    "Hamilton",
    "Douglas",
    "Stanley",
    "Sofia",
    "Plymouth",
    "Jamestown",
    "Georgetown",
    "George Town",
    "Santiago",
    "Wellington",
    "Nassau",
    "Charlotte Amalie",
    "Diego Garcia",
    "San Juan",
    "San José",
    "Saint John's",
    "Saint-Denis",
    "Saint-Pierre",
    "City of Victoria",
    "Cayenne",
    "Kingston",
    "Victoria",
    "Male",
    "Malé",
    "Lima",
    "Tripoli",
}

# Ambiguous aliases whose country reading dominates in international news: they
# need the usage rules but not a second, supporting mention of the country.
DOMINANT_READING = {
    "Washington", "America", "American", "Americans", "Korea", "Korean", "Koreans", "Paris",
}  # fmt: skip

# Additions common in news text that neither library has (kind, code).
EXTRA_ALIASES = {
    "Saudi": ("demonym", "SA"),
    "Saudis": ("demonym", "SA"),
    "Britons": ("demonym", "GB"),
    "Sino": ("demonym", "CN"),  # only before a hyphen: "Sino-US", see countries.py
    "Palestinian": ("demonym", "PS"),
    # Dotted short forms missing their last dot ("secretary of the U.S on Monday").
    "U.S": ("name", "US"),
    "U.K": ("name", "GB"),
    # Headline abbreviations (Reuters: "S.Korea", "N.Korea").
    "S. Korea": ("name", "KR"),
    "S.Korea": ("name", "KR"),
    "N. Korea": ("name", "KP"),
    "N.Korea": ("name", "KP"),
    "Chinese Taipei": ("name", "TW"),  # Taiwan's name at APEC and in sport
    "Vatican": ("name", "VA"),
    # Bare "Korean" nearly always means South Korean in this news; shared with the
    # North, so it stays ambiguous (see DOMINANT_READING).
    "Korean": ("demonym", "KR"),
}

# Phrases that contain an alias but are not the country: places, outlets, things.
TRAP_PHRASES = (
    # Other places
    "New Mexico",
    "New Jersey",
    "New Guinea",
    "New South Wales",
    "New England",
    "Latin America",
    "South America",
    "North America",
    "Central America",
    "Latin American",
    "South American",
    "North American",
    "Central American",
    "Latin Americans",
    "African American",
    "African Americans",
    "Native American",
    "Native Americans",
    "Asian American",
    "Asian Americans",
    "Indian Ocean",
    "Korean Peninsula",
    "Korean War",
    "South China Sea",
    "East China Sea",
    "Washington State",
    "Washington state",
    "Georgia Tech",
    "State of Georgia",
    "University of Washington",
    # News outlets and agencies: sources, not subjects
    "Washington Post",
    "Washington Times",
    "Washington Examiner",
    "South China Morning Post",
    "China Daily",
    "China News Service",
    "China Global Television Network",
    "China Central Television",
    "Japan Times",
    "Korea Herald",
    "Korea Times",
    "Korea JoongAng Daily",
    "Times of India",
    "Hindustan Times",
    "Moscow Times",
    "Jerusalem Post",
    "Bangkok Post",
    "Jakarta Post",
    "Taipei Times",
    "Tehran Times",
    "Kyiv Independent",
    "Kyiv Post",
    "Manila Times",
    "Russia Today",
    "Voice of America",
    "Bank of America",
    "American Express",
    # Things named after a nationality
    "French fries",
    "French toast",
    "Russian roulette",
    "Turkish delight",
    "Swiss cheese",
    "German measles",
    "Spanish flu",
    "Chinese whispers",
    "Mexican wave",
    "Guinea pig",
    "Guinea pigs",
)


@dataclass(frozen=True)
class Entry:
    alias: str
    code: str | None  # None: a trap phrase that resolves to no country
    kind: str  # name | capital | demonym | other | trap
    ambiguous: bool
    dominant: bool = False  # ambiguous, but the country reading dominates


@dataclass(frozen=True)
class Occurrence:
    entry: Entry
    start: int
    end: int


def _rows_by_alias() -> dict[str, list[tuple[str, str, bool, bool]]]:
    """alias -> [(code, kind, ambiguous, curated)]"""
    library_sources = {COUNTRYINFO_SOURCE, PYCOUNTRY_SOURCE}
    out: dict[str, list[tuple[str, str, bool, bool]]] = defaultdict(list)
    for row in alias_rows():
        alias = row.alias
        # Lower-case first letters ("the State of Eritrea", "weSwatini") never start a
        # country name in running English text as typed; the capitalised forms exist.
        if not alias[:1].isupper() or alias in DROPPED or (alias, row.kind) in DROPPED_KIND:
            continue
        out[alias].append((row.code, row.kind, row.ambiguous, row.source not in library_sources))
    return out


_KIND_RANK = {"name": 0, "other": 1, "capital": 2, "demonym": 3}


def _entry(alias: str, rows: list[tuple[str, str, bool, bool]]) -> Entry | None:
    codes = {code for code, *_ in rows}
    if len(codes) > 1:
        code = PREFERRED_CODE.get(alias)
        if code is None:
            return None  # no dominant reading ("Congolese"): better silent than wrong
        rows = [r for r in rows if r[0] == code]
        # The data flags an alias ambiguous because countries share it; once resolved,
        # only our curated flag ("American" needs context) still stands.
        curated = [r for r in rows if r[3]]
        ambiguous = bool(curated and curated[0][2])
    else:
        ambiguous = any(r[2] for r in rows)
    code = rows[0][0]
    # Where one alias has several kinds (Singapore: name and capital), the name wins.
    kind = min((r[1] for r in rows), key=_KIND_RANK.__getitem__)
    ambiguous = ambiguous or alias in EXTRA_AMBIGUOUS
    return Entry(alias, code, kind, ambiguous, ambiguous and alias in DOMINANT_READING)


class Gazetteer:
    """Aliases bucketed by their first two characters for a fast leftmost-longest scan."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = {e.alias: e for e in entries}
        buckets: dict[str, list[Entry]] = defaultdict(list)
        for e in entries:
            buckets[e.alias[:2]].append(e)
        for bucket in buckets.values():
            bucket.sort(key=lambda e: len(e.alias), reverse=True)
        self._buckets = dict(buckets)
        # Where an alias may start: a capital letter not inside a word.
        self._starts = re.compile(r"(?<![\w])[A-ZÀ-ÞĀ-Ž]")

    def scan(self, text: str) -> list[Occurrence]:
        """Every alias or trap phrase in text, leftmost-longest, with exact offsets."""
        # Same length as text, so offsets carry over: curly apostrophes as straight ones.
        norm = text.replace("\u2019", "'").replace("\u00a0", " ")
        found: list[Occurrence] = []
        pos = 0
        for m in self._starts.finditer(norm):
            i = m.start()
            if i < pos:
                continue
            for e in self._buckets.get(norm[i : i + 2], ()):
                j = i + len(e.alias)
                if norm.startswith(e.alias, i) and (j == len(norm) or not norm[j].isalnum()):
                    found.append(Occurrence(e, i, j))
                    pos = j
                    break
        return found


def _plural(demonym: str) -> str | None:
    # "Americans", "Israelis"; not "Chineses" or "Swisss".
    if demonym.endswith(("an", "i")) and " " not in demonym:
        return demonym + "s"
    return None


@cache
def gazetteer() -> Gazetteer:
    entries: dict[str, Entry] = {}
    for alias, rows in _rows_by_alias().items():
        e = _entry(alias, rows)
        if e is not None:
            entries[alias] = e
    for alias, (kind, code) in EXTRA_ALIASES.items():
        ambiguous = alias in DOMINANT_READING
        entries.setdefault(alias, Entry(alias, code, kind, ambiguous, ambiguous))
    for e in list(entries.values()):
        if e.kind == "demonym" and (plural := _plural(e.alias)) and plural not in entries:
            entries[plural] = Entry(
                plural, e.code, e.kind, e.ambiguous, e.ambiguous and plural in DOMINANT_READING
            )
        # All-caps headlines ("CHINA PROPOSES ..."): unambiguous names of five letters or more.
        shouted = e.alias.upper()
        if e.kind == "name" and not e.ambiguous and len(e.alias) >= 5 and shouted != e.alias:
            entries.setdefault(shouted, Entry(shouted, e.code, "name", False))
    for phrase in TRAP_PHRASES:
        entries[phrase] = Entry(phrase, None, "trap", False)
    return Gazetteer(list(entries.values()))
