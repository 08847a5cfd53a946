"""Organizations named in an article, and who a name belongs to (country or organization).

A curated gazetteer (fixtures/organizations.yaml) names the well-known bodies
and their kinds; patterns add governments ("Trump administration", "China's
foreign ministry" -> "Ministry of Foreign Affairs of China"); NER ORG spans and
capitalised phrases count only when they end in an organization word
("... Institute"), since NER also tags events, eras and headings as ORG.
Pure functions, no database: country names come from governance.reference_data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from spacy.tokens import Doc

from governance.extract.occurrences import matches
from governance.extract.types import Mention, OrganizationFound

ORGANIZATIONS_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "organizations.yaml"
# A possessive ending, straight or curly: "China's", "members'".
POSSESSIVE = re.compile(r"(?:'s|’s|'|’)$")


@dataclass(frozen=True)
class KnownOrg:
    name: str
    kind: str


@cache
def organization_gazetteer() -> dict[str, KnownOrg]:
    """alias (case-sensitive) -> the organization it names; names are their own alias."""
    data = yaml.safe_load(ORGANIZATIONS_FILE.read_text(encoding="utf-8"))
    table: dict[str, KnownOrg] = {}
    for entry in data["organizations"]:
        org = KnownOrg(entry["name"], entry["kind"])
        for alias in [entry["name"], *entry.get("aliases", [])]:
            table[alias] = org
    return table


@cache
def country_names() -> dict[str, str]:
    """Lower-cased country name, short form or demonym -> display name ("chinese" -> "China").

    Built once from governance.reference_data (pure rows, no database)."""
    from governance.reference_data import alias_rows, country_rows

    display = {row.code: row.name for row in country_rows()}
    table: dict[str, str] = {}
    for row in alias_rows():
        if row.kind in ("name", "demonym"):
            # Ambiguous demonyms ("American") still fix a title's country in practice.
            table.setdefault(row.alias.lower(), display[row.code])
    for name in display.values():
        table[name.lower()] = name
    return table


def country_of(phrase: str) -> str:
    """The country a name/demonym phrase denotes, possessive allowed ("China's"), else ""."""
    phrase = POSSESSIVE.sub("", phrase.strip()).strip()
    if phrase.lower().startswith("the "):
        phrase = phrase[4:]
    return country_names().get(phrase.lower(), "")


def affiliation_of(phrase: str) -> str:
    """A country's display name, or a known organization's, or a proper-noun phrase."""
    phrase = POSSESSIVE.sub("", phrase.strip()).strip()
    if phrase.lower().startswith("the "):
        phrase = phrase[4:]
    if not phrase or phrase.split()[0].lower() in {"its", "their", "his", "her", "our", "this"}:
        return ""
    if country := country_of(phrase):
        return country
    if org := organization_gazetteer().get(phrase):
        return org.name
    words = phrase.split()
    if all(w[:1].isupper() or w.lower() in {"of", "for", "and", "the"} for w in words):
        return phrase
    return ""


ORG_HEADS = {
    "research": {"University", "Institute", "Academy", "Laboratory", "Lab", "Labs"},
    "government": {
        "Ministry",
        "Department",
        "Agency",
        "Office",
        "Authority",
        "Bureau",
        "Parliament",
        "Congress",
        "Senate",
        "Administration",
    },
    "company": {"Inc", "Inc.", "Corp", "Corp.", "Corporation", "Ltd", "Company", "Technologies"},
    "intergovernmental": {"Organization", "Organisation", "Union", "Assembly", "Council"},
    "civil_society": {"Foundation", "Association", "Alliance", "Network", "Coalition"},
}
# Event and document words: such spans are not organizations ("the AI Era").
NOT_ORG_WORDS = {
    "Summit",
    "Conference",
    "Declaration",
    "Plan",
    "Statement",
    "Agenda",
    "Era",
    "Forum",
    "Regulation",
    "Act",
    "Context",
    "Concerns",
}
MINISTRY_NAMES = {
    "foreign": "Foreign Affairs",
    "commerce": "Commerce",
    "defence": "Defence",
    "defense": "Defense",
    "finance": "Finance",
    "science": "Science and Technology",
    "industry": "Industry and Information Technology",
}


def _org_kind(name: str) -> str:
    words = name.replace(",", "").split()
    for kind, heads in ORG_HEADS.items():
        if words and words[-1] in heads:
            return kind
    return ""


@cache
def _alias_patterns() -> list[tuple[str, KnownOrg, re.Pattern[str]]]:
    """Each gazetteer alias with its organization and compiled pattern, longest alias
    first, so "UN General Assembly" wins over "UN". Compiled once: there are more
    aliases than the `re` module's cache holds, so compiling per call recompiled them."""
    gazetteer = organization_gazetteer()
    return [
        (alias, gazetteer[alias], re.compile(rf"(?<![\w@#/.-]){re.escape(alias)}(?![\w-])"))
        for alias in sorted(gazetteer, key=len, reverse=True)
    ]


def extract_organizations(text: str, doc: Doc) -> list[OrganizationFound]:
    orgs: dict[str, OrganizationFound] = {}
    taken: list[tuple[int, int]] = []

    def add(name: str, kind: str, start: int, end: int, mention_type: str = "name") -> None:
        if any(a < end and start < b for a, b in taken):
            return
        org = orgs.setdefault(name, OrganizationFound(name=name, kind=kind))
        org.mentions.append(Mention(text[start:end], start, end, mention_type))
        taken.append((start, end))

    for alias, org, pattern in _alias_patterns():
        for m in matches(text, alias, pattern):
            add(org.name, org.kind, m.start(), m.end(), "name" if alias == org.name else "alias")
    for m in re.finditer(r"\b([A-Z][a-z]+) administration\b", text):
        if m.group(1) not in {"The", "This", "That", "Previous", "New"}:
            add(m.group(0), "government", m.start(), m.end())
    for m in re.finditer(
        r"\b([A-Z][\w.]*(?: [A-Z][\w.]*)?)(?:'s|’s)? "
        r"(?i:(foreign|commerce|defen[cs]e|finance|science|industry) ministry)\b",
        text,
    ):
        country = country_of(m.group(1))
        if country and m.group(1)[:1].isupper():
            name = f"Ministry of {MINISTRY_NAMES[m.group(2).lower()]} of {country}"
            add(name, "government", m.start(), m.end(), "alias")
    # Capitalised phrases ending in an organization word, which NER misses inside quotes.
    heads = "|".join(sorted({h for hs in ORG_HEADS.values() for h in hs if h.isalpha()}))
    for m in re.finditer(
        rf"\b(?:[A-Z][\w&-]*\s+(?:(?:of|for|on|and)\s+)?){{1,6}}(?:{heads})\b"
        rf"(?:\s+(?:of|for|on)\s+(?:the\s+)?[A-Z][\w-]*(?:\s+[A-Z][\w-]*){{0,3}})?",
        text,
    ):
        span, start = m.group(), m.start()
        if span.startswith(("The ", "This ", "A ")):
            span, start = span.split(" ", 1)[1], start + len(span.split(" ", 1)[0]) + 1
        if len(span.split()) >= 2 and not any(w in NOT_ORG_WORDS for w in span.split()):
            kind = _org_kind(span) or _org_kind(span.split(" of ")[0]) or "other"
            add(span, kind, start, start + len(span))
    for ent in doc.ents:
        if ent.label_ != "ORG":
            continue
        span = ent.text
        start = ent.start_char
        m = re.match(r"(?:the|The)\s+", span)
        if m:
            span, start = span[m.end() :], start + m.end()
        span = re.sub(r"\s+\d{4}$", "", span).rstrip(" ,(")
        words = span.split()
        if not words or any(w.strip("()") in NOT_ORG_WORDS for w in words):
            continue
        if country_of(span) or any(ch in span for ch in "/@:"):
            continue
        kind = _org_kind(span)
        # "KAZAN, Russia -": an upper-case dateline city, not an acronym.
        dateline = (start == 0 or text[start - 1] == "\n") and text[start + len(span) :][:1] == ","
        if (
            not kind
            and not dateline
            and re.fullmatch(r"[A-Z]{2,6}", span)
            and span not in {"AI", "AGI", "LLM", "CEO"}
        ):
            kind = "other"
        if kind:
            add(span, kind, start, start + len(span))
    for org in orgs.values():
        org.mentions.sort(key=lambda m: m.start)
    return sorted(orgs.values(), key=lambda o: o.mentions[0].start)
