"""Country mentions in English news text: names, short forms, capitals as metonyms, demonyms.

`extract_countries(text, doc=None)` finds every alias occurrence with the
gazetteer (gazetteer.py), drops what is not article prose (URLs, datelines,
bylines, "Read more" lines), then keeps an occurrence only when its usage makes
it the country:

- names and short forms ("China", "the U.S.", "UAE") count wherever they stand;
- a capital counts only as a metonym, an actor: subject or object of a verb
  ("Washington has imposed", "urged Beijing"), possessor ("Beijing's push"),
  object of an actor preposition ("talks with Moscow", "between Washington and
  Beijing") or modifier of a government noun ("the Beijing government"). As a
  place it is not the country: "the summit in Paris", "talks in Beijing",
  "the Paris summit", "Beijing-based", a city hosting an event ("Paris hosted
  the summit": the city is the venue). This matches the dev labels, where
  "Beijing's push" is China and Shanghai, the venue, is no country; we treat a
  venue capital the same way, so "talks in Beijing" alone does not make China a
  participant;
- a demonym counts unless it names a language ("published in Chinese");
- an ambiguous alias (flagged in the alias data: "Washington", "American",
  "Georgia", "Jordan", "Paris", "Chad") also must not be part of a longer proper
  name (a PERSON/ORG entity, "Jordan Peterson", "Paris Hilton") and, unless the
  country reading dominates in international news ("Washington", "America",
  "Korea"), needs support: a coordinated country ("Armenia, Georgia and
  Azerbaijan"), a national office ("Jordan's foreign minister") or an
  unambiguous mention of the same country elsewhere in the text ("Tbilisi").

Supranational bodies (EU, ASEAN, UN, G20, "Global South") are organisations:
they are not in the gazetteer and never come out of here. "Brussels" as an actor
is the EU, so it is not Belgium's alias here either.

Mention types: "name" (short forms included: US, UK, UAE, PRC), "capital",
"demonym", and "alias" for seats of government ("White House", "Kremlin",
"Downing Street", "Elysee"), which follow the capitals' rule ("at the White House"
is a place).
"""

from __future__ import annotations

import re
from functools import lru_cache

from spacy.tokens import Doc, Span, Token

from governance.extract.gazetteer import Occurrence, gazetteer
from governance.extract.nlp import english
from governance.extract.types import CountryFound, Mention

MENTION_TYPE = {"name": "name", "capital": "capital", "demonym": "demonym", "other": "alias"}

# --- Text that is not article prose ------------------------------------------------------

# `(?<!\S)`: a bare domain is matched from the start of its run of non-space characters
# only (the leftmost match anyway); without it every position of a long token restarts
# the scan, and a 200,000-character token took minutes.
_URL = re.compile(
    r"(?:https?://|www\.|pic\.twitter\.com/)\S+|(?<!\S)\S+\.(?:com|org|net|cn|uk)/\S*|@\w+"
)
# Whole lines of boilerplate: the dev set's note line, links to other articles, bylines.
# Only [ \t] inside a line: a `\s*` there crossed every following blank line from each
# line start, quadratic on a run of newlines.
_BOILERPLATE_LINE = re.compile(
    r"""^[ \t]*(?:
        \[stored\ excerpt[^\n]*
      | \[?[ \t]*(?i:read\ more|read\ also|also\ read|related(?:\ \w+)?|see\ also|more\ on\ this
          |recommended|you\ may\ also\ like|further\ reading)[ \t]*[:\]»›>|—–-][^\n]*
      | (?i:posted|written|reported|edited)\ (?i:by)\b[^\n]*
      | (?i:by)\ (?:[A-Z][\w.'-]+\s?){1,4}(?:(?:,|\ and|\ in)\ [^\n]{0,60})?$
      | [—–-]\s[^\n]*\(@\w+\)[^\n]*
      | (?i:photo\ )?(?i:credits?):[^\n]*
    )""",
    re.MULTILINE | re.VERBOSE,
)
# "[Read More: Andrew Forrest Facilitates Historic US-China AI Security Dialogue]" inline.
_BRACKETED_LINK = re.compile(r"\[\s*(?:read more|related|see also|also read)[^\]\n]*\]", re.I)
_MONTH = (
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
    r"|(?:Mon|Tues?|Wed|Thu|Thurs|Fri|Sat|Sun)[a-z]*\.?"
)
_PLACE = r"[A-Z][\w.'’-]*(?:[ /][A-Z][\w.'’-]*){0,3}"
_SEP = r"\s*(?:--|[—–:-])"
# Datelines open a line: "WASHINGTON (AP) —", "LONDON, Nov 2 (Reuters) -",
# "Shanghai, July 28, 2025 \u2013", "BEIJING, China, July 5 (Xinhua) --", "NEW DELHI:".
_DATELINE = re.compile(
    rf"""^[ \t]*(?P<place>
        {_PLACE}(?:,\ {_PLACE})?,\ (?:{_MONTH})\ ?\d{{0,2}}(?:,\ \d{{4}})?
          (?:\ \([^)\n]{{1,30}}\))?(?={_SEP})
      | {_PLACE}(?:,\ {_PLACE})?\ \([^)\n]{{1,30}}\)(?={_SEP})
      | [A-Z][A-Z.'’-]{{3,}}(?:[ /][A-Z][A-Z.'’-]+){{0,3}}(?={_SEP})
      | [A-Z][a-z]+(?:\ [A-Z][a-z]+)?(?=:\ )
      | {_PLACE},\ {_PLACE}(?=\s(?:--|[—–])\s)
    )""",
    re.MULTILINE | re.VERBOSE,
)


def noise_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges that are not article prose: URLs, handles, boilerplate, datelines."""
    return list(_noise_in(text))


@lru_cache(maxsize=4)
def _noise_in(text: str) -> tuple[tuple[int, int], ...]:
    # Countries and events both ask, of the same text: ~0.15 ms an article.
    spans = [m.span() for m in _URL.finditer(text)]
    spans += [m.span() for m in _BOILERPLATE_LINE.finditer(text)]
    spans += [m.span() for m in _BRACKETED_LINK.finditer(text)]
    for m in _DATELINE.finditer(text):
        place = m.group("place")
        # "China: the new superpower" is a headline, not a dateline: a bare "Word:"
        # prefix is only a dateline when it is not a country's name.
        if ":" not in text[m.end() : m.end() + 2] or _bare_prefix_is_dateline(place):
            spans.append(m.span("place"))
    return tuple(spans)


def _bare_prefix_is_dateline(place: str) -> bool:
    entry = gazetteer().entries.get(place)
    return entry is None or entry.kind != "name"


def _inside(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s < end and start < e for s, e in spans)


# --- Usage rules -------------------------------------------------------------------------

# In these prepositional phrases a capital is an actor ("talks with Moscow", "pressure on
# Beijing"); in any other ("in Paris", "to Beijing", "across London") it is a place.
ACTOR_PREPOSITIONS = {"with", "between", "against", "on", "by", "for", "over", "than", "as"}
# "pressure from Washington" (actor) as against "delegates from Beijing" (place).
ACTION_NOUNS = {
    "pressure", "opposition", "support", "response", "demand", "request", "criticism",
    "backing", "approval", "objection", "retaliation", "warning", "invitation", "push",
    "proposal", "sanction", "restriction", "control", "signal", "message", "resistance",
    "delegation", "delegate", "official", "envoy", "negotiator", "representative", "diplomat",
}  # fmt: skip
# Subjects of these verbs are venues, and their objects destinations.
PLACE_VERBS = {
    "host", "welcome", "see", "visit", "tour", "reach", "leave", "enter", "arrive",
    "land", "attend", "stay", "lie", "sit",
}  # fmt: skip
COPULAS = {"be", "become", "remain"}
# Heads that make a capital modifier the government: "the Beijing government".
GOVERNMENT_NOUNS = {
    "government", "regime", "authority", "official", "leadership", "administration",
    "policymaker", "lawmaker", "regulator", "diplomat", "negotiator",
}  # fmt: skip
# Heads of "X's ..." or "... of X" that make X a city, not a state.
CITY_NOUNS = {
    "mayor", "street", "city", "centre", "center", "suburb", "outskirt", "resident",
    "airport", "metro", "museum", "heart", "skyline", "district", "downtown", "venue",
}  # fmt: skip
# Titles after or before an alias that leave it a country: "Georgia Prime Minister X".
TITLE_WORDS = {
    "president", "premier", "prime", "minister", "ministry", "foreign", "government",
    "king", "queen", "ambassador", "embassy", "envoy", "delegation", "parliament",
    "delegate", "representative", "official", "officials", "leader", "cabinet",
    "vice", "deputy", "secretary", "chancellor", "emir", "crown", "president's",
}  # fmt: skip
# Offices only a sovereign state has, so they confirm an ambiguous name ("Jordan's
# foreign minister"); a US state has a governor, a secretary of state, officials.
NATIONAL_OFFICES = {
    "president", "premier", "prime", "minister", "ministry", "foreign", "king", "queen",
    "ambassador", "embassy", "envoy", "delegation", "parliament", "cabinet", "chancellor",
    "emir", "crown",
}  # fmt: skip
# "Jordan became the first Arab country ...", "Georgia, a signatory, ...".
STATE_NOUNS = {"country", "nation", "state", "kingdom", "republic", "monarchy", "signatory"}
LANGUAGE_VERBS = {"speak", "translate", "write", "publish", "learn", "teach", "dub"}
# Entities that, when longer than the alias, make it part of another name.
OTHER_NAME_LABELS = {"PERSON", "ORG", "FAC", "WORK_OF_ART", "PRODUCT", "EVENT", "LAW"}


def _coordination_head(tok: Token) -> Token:
    # "Washington and Beijing have ...": Beijing is a conjunct; its role is its head's.
    while tok.dep_ == "conj" and tok.head is not tok:
        tok = tok.head
    return tok


def _capital_is_actor(tok: Token) -> bool:
    """Is this capital (or "White House", "Kremlin") used as its government?"""
    if _followed_by_hyphen(tok):
        return False  # "Beijing-based", "Paris-based"
    tok = _coordination_head(tok)
    dep, head = tok.dep_, tok.head
    lemma = head.lemma_.lower()
    if dep == "poss":
        return lemma not in CITY_NOUNS
    if dep in {"nsubj", "nsubjpass", "csubj"}:
        if lemma in COPULAS:
            # "Beijing is ready to ..." acts; "Paris is the venue" / "a city" is a place.
            return not any(child.dep_ == "attr" for child in head.children)
        return lemma not in PLACE_VERBS
    if dep in {"dobj", "dative", "oprd"}:
        return lemma not in PLACE_VERBS
    if dep == "pobj":
        prep = lemma
        governor = head.head.lemma_.lower()
        if prep == "from":
            return governor in ACTION_NOUNS
        if prep == "in" and governor in GOVERNMENT_NOUNS:
            return True  # "officials in Washington" are its government, not its residents
        if prep == "of":
            return governor not in CITY_NOUNS and head.head.pos_ in {"NOUN", "PROPN"}
        if prep == "by":
            return True  # passive agent: "imposed by Washington"
        return prep in ACTOR_PREPOSITIONS
    if dep in {"compound", "nmod", "amod"}:
        return lemma in GOVERNMENT_NOUNS
    return False


def _followed_by_hyphen(tok: Token) -> bool:
    doc = tok.doc
    return tok.i + 1 < len(doc) and doc[tok.i + 1].text == "-" and not doc[tok.i + 1].whitespace_


def _demonym_is_language(tok: Token) -> bool:
    """A language, not a people: "in Chinese", "in English and French", "speaks Russian"."""
    tok = _coordination_head(tok)
    if tok.dep_ == "pobj" and tok.head.lemma_.lower() in {"in", "into"}:
        return True
    return tok.dep_ == "dobj" and tok.head.lemma_.lower() in LANGUAGE_VERBS


def _inside_longer_name(span: Span) -> bool:
    """Part of a longer proper name: "Jordan Peterson", "Paris Hilton", "Georgia Tech"."""
    for ent in span.doc.ents:
        inside = ent.start <= span.start and span.end <= ent.end
        if inside and ent.label_ in OTHER_NAME_LABELS and len(ent) > len(span):
            return True
    doc = span.doc
    if span.start >= 2 and doc[span.start - 2 : span.start].text.lower() == "state of":
        return True  # "the state of Georgia", "the state of Washington"
    if span.end < len(doc):
        nxt = doc[span.end]
        if nxt.pos_ == "PROPN" and nxt.is_title and nxt.lower_ not in TITLE_WORDS:
            return True
    if span.start > 0:
        prev = doc[span.start - 1]
        if (
            prev.pos_ == "PROPN"
            and prev.is_title
            and not prev.is_sent_start
            and prev.lower_ not in TITLE_WORDS
        ):
            return True
    return False


def _labelled_person(span: Span) -> bool:
    """NER reads the alias alone as a person: "Chad said", "Jordan told reporters"."""
    return any(
        e.label_ == "PERSON" and e.start <= span.start and span.end <= e.end for e in span.doc.ents
    )


_LIST_GAP = re.compile(r"^\s*(?:,|and|or|&|,\s*and|,\s*or)\s*(?:the\s+)?$")


def _listed_with_countries(span: Span, accepted: list[Occurrence], text: str) -> bool:
    """In a list of countries: "Armenia, Georgia and Azerbaijan", "Chad, Niger and Mali"."""
    # Without sentence boundaries (a doc from a pipeline with no parser) the whole text.
    sent = span.sent if span.doc.has_annotation("SENT_START") else span.doc[:]
    # Capitals do not make a list of states: "Washington and Georgia passed AI bills".
    near = [
        o
        for o in accepted
        if sent.start_char <= o.start < sent.end_char and o.entry.kind in {"name", "demonym"}
    ]
    if len({o.entry.code for o in near}) >= 2:
        return True
    for o in near:
        if o.end <= span.start_char:
            gap = text[o.end : span.start_char]
        else:
            gap = text[span.end_char : o.start]
        if _LIST_GAP.match(gap):
            return True
    return False


def _office_support(span: Span) -> bool:
    """A national office or a state noun: "Jordan's foreign minister", "the President of
    Georgia", "Jordan became the first Arab country to sign"."""
    head = _coordination_head(span.root)
    if head.dep_ in {"nsubj", "nsubjpass"} and any(
        child.dep_ in {"attr", "oprd"} and child.lemma_.lower() in STATE_NOUNS
        for child in head.head.children
    ):
        return True
    if any(c.dep_ == "appos" and c.lemma_.lower() in STATE_NOUNS for c in head.children):
        return True
    if head.dep_ == "poss" and head.head.lower_ in NATIONAL_OFFICES:
        return True
    if (
        head.dep_ == "pobj"
        and head.head.lower_ == "of"
        and head.head.head.lower_ in NATIONAL_OFFICES
    ):
        return True
    return span.end < len(span.doc) and span.doc[span.end].lower_ in NATIONAL_OFFICES


def _usage_ok(occ: Occurrence, span: Span) -> bool:
    """The usage rule of the alias's kind: capitals as actors, demonyms not as languages."""
    entry = occ.entry
    if entry.kind in {"capital", "other"}:
        return _capital_is_actor(span.root)
    if entry.kind == "demonym":
        if entry.alias == "Sino":
            return _followed_by_hyphen(span.root)
        return not _demonym_is_language(span.root)
    return True


def _ambiguous_ok(
    occ: Occurrence, span: Span, accepted: list[Occurrence], codes: set[str], text: str
) -> bool:
    """Context that makes an ambiguous alias the country (see the module docstring)."""
    if _inside_longer_name(span):
        return False
    if occ.entry.dominant:
        return not _labelled_person(span)
    # Structure outweighs NER calling "Chad" or "Jordan" a person: a list of countries,
    # or, for a state's name (not a capital), a national office or a state noun.
    if _listed_with_countries(span, accepted, text):
        return True
    if occ.entry.kind == "name" and _office_support(span):
        return True
    if _labelled_person(span):
        return False
    return occ.entry.code in codes  # "Tbilisi" or "Georgian" elsewhere in the text


# --- Entry point -------------------------------------------------------------------------


def extract_countries(text: str, doc: Doc | None = None) -> list[CountryFound]:
    """Country mentions in text, one CountryFound per ISO alpha-2 code, by first mention.

    `doc` is the spaCy parse of the same text if the caller already has it; it is
    parsed with `english()` otherwise (and only if some alias occurs at all).
    """
    noise = noise_spans(text)
    occurrences = [
        o
        for o in gazetteer().scan(text)
        if o.entry.code is not None and not _inside(o.start, o.end, noise)
    ]
    if not occurrences:
        return []
    if doc is None:
        doc = english()(text)

    kept: list[Occurrence] = []
    ambiguous: list[tuple[Occurrence, Span]] = []
    for occ in occurrences:
        span = doc.char_span(occ.start, occ.end, alignment_mode="expand")
        if span is None or not _usage_ok(occ, span):
            continue
        if occ.entry.ambiguous:
            ambiguous.append((occ, span))
        else:
            kept.append(occ)

    # Ambiguous aliases are judged against the mentions accepted so far, until nothing
    # changes: once "Jordan" is in, it supports "Georgia" in the same list of voters.
    while ambiguous:
        codes = {o.entry.code for o in kept if o.entry.code}
        verdicts = [_ambiguous_ok(o, span, kept, codes, text) for o, span in ambiguous]
        if not any(verdicts):
            break
        kept += [o for (o, _), ok in zip(ambiguous, verdicts, strict=True) if ok]
        ambiguous = [pair for pair, ok in zip(ambiguous, verdicts, strict=True) if not ok]
    return _group(sorted(kept, key=lambda o: o.start), text)


def _group(occurrences: list[Occurrence], text: str) -> list[CountryFound]:
    found: dict[str, CountryFound] = {}
    for occ in occurrences:
        code = occ.entry.code
        assert code is not None  # trap phrases were filtered out before
        country = found.setdefault(code, CountryFound(code=code))
        country.mentions.append(
            Mention(text[occ.start : occ.end], occ.start, occ.end, MENTION_TYPE[occ.entry.kind])
        )
    return list(found.values())
