"""Events in English news text: conferences, summits, forums, General Assembly sessions.

`extract_events(text, doc, dates, figures)` reads:

- named mentions: a run of capitalised words ending in an event noun ("World
  Artificial Intelligence Conference", "AI Action Summit", "UN General Assembly"),
  with a year before or after it ("2025 World ...", "... Summit 2024") and an
  acronym in brackets after it ("(WAIC)");
- short mentions: that acronym again, alone or with a year ("WAIC 2025");
- described mentions: capitalised modifiers before a lower-case event noun ("the
  Bletchley Park summit", "the Shanghai conference");
- referring mentions: "the conference", "the three-day event", "this year's summit",
  merged into the event mentioned last before them (or the only one) — only when
  there is a named event to merge into, since "the meeting" alone names nothing.

The venue comes from "in <City>[, <Country>]" right after a mention, or a capital
leading the name ("Paris AI Action Summit"); the theme from "with the theme “...”";
the start date from a date in the sentence that mentions the opening (or, when that
sentence gives none, the first date within a short distance after it: an embedded
post's date line), else from a dated sentence naming the event; the end date from a
range ("1-2 November") or a stated duration ("three-day event", read by figures.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from spacy.tokens import Doc

from governance.extract.countries import noise_spans
from governance.extract.gazetteer import gazetteer
from governance.extract.occurrences import matches
from governance.extract.types import DateFound, EventFound, FigureFound, Mention

HEADS = (
    "Conference",
    "Summit",
    "Forum",
    "General Assembly",
    "Expo",
    "Congress",
    "Symposium",
    "Dialogue",
    "Roundtable",
)
GENERIC_HEADS = ("conference", "summit", "forum", "event", "gathering", "expo", "meeting")
# Nouns that any event may be called, whatever its own head noun.
ANY_HEAD = {"event", "gathering", "meeting"}
# Leading words the capitalised run picks up that are no part of a name.
LEADING_NOISE = {
    "the", "at", "in", "on", "during", "for", "and", "of", "a", "an", "this", "last",
    "next", "after", "before", "ahead", "since", "while", "when", "with", "by", "from",
}  # fmt: skip
# "the Seoul Summit Declaration" names a document, not the summit.
DOCUMENT_AFTER = re.compile(
    r"[ \t]+(?:Declaration|Statement|Communiqu[eé]|Agreement|Process|Principles|Code|Charter)\b"
)

NOT_PLACES = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday", "its", "his", "her", "their", "this", "that",
}  # fmt: skip
# Names, venues and themes never run across a line break (a headline above a paragraph).
_CAP = r"(?:[A-Z][A-Za-z0-9.&-]*(?:['’]s)?|[0-9]+(?:st|nd|rd|th))"
_CONN = r"(?:of|on|for|and|the|de)"
# A tail "of the <Name>" belongs to the name: "Summit of the Future".
_NAMED = re.compile(
    rf"(?<![\w-])(?:{_CAP}[ \t]+(?:{_CONN}[ \t]+)*)*?(?:{'|'.join(HEADS)})(?![\w-])"
    rf"(?:[ \t]+of[ \t]+(?:the[ \t]+)?[A-Z][\w-]*(?:[ \t]+[A-Z][\w-]*)*)?",
)
_YEAR_BEFORE = re.compile(r"(?P<year>(?:19|20)\d{2})[ \t]+$")
_AFTER = re.compile(
    r"(?:[ \t]+(?P<year>(?:19|20)\d{2})\b)?(?:[ \t]*\((?P<short>[A-Z][A-Za-z0-9&.-]{1,14})\))?"
)
# Dots only inside a word ("St. Petersburg" is lost; "U.S." kept), not a sentence's end.
_PLACE = r"[A-Z](?:[\w'’-]|\.(?=\w))*(?:[ \t]+[A-Z](?:[\w'’-]|\.(?=\w))*){0,2}"
_VENUE = re.compile(
    rf"[ \t]*(?:\([^)\n]{{1,20}}\)[ \t]*)?,?[ \t]*"
    rf"(?:(?:which|that)[ \t]+(?:was|is|will[ \t]+be)[ \t]+)?"
    rf"(?:(?:held|hosted|tak(?:ing|es)[ \t]+place|took[ \t]+place|convened|organi[sz]ed"
    rf"|open(?:ed|s)|met|meets|kicked[ \t]+off|began|begins)[ \t]+)?(?:in|at)[ \t]+(?:the[ \t]+)?"
    rf"(?P<city>{_PLACE})(?:,[ \t]+(?:the[ \t]+)?(?P<country>{_PLACE}))?"
)
_DESCRIBED = re.compile(
    rf"\b(?:[Tt]he|[Tt]his|[Tt]hat|[Ll]ast|[Nn]ext)[ \t]+(?:(?:year['’]s|week['’]s)[ \t]+)?"
    rf"(?P<mod>(?:[A-Z][\w.-]*[ \t]+){{1,3}})(?P<head>{'|'.join(GENERIC_HEADS)})\b"
)
_REFERRING = re.compile(
    r"\b(?:[Tt]he|[Tt]his|[Tt]hat|[Tt]his[ \t]+year['’]s|[Ll]ast[ \t]+year['’]s)[ \t]+"
    r"(?:(?P<dur>[\w]+)-day[ \t]+)?(?:(?:high-level|annual|two-day|flagship)[ \t]+)?"
    rf"(?P<head>{'|'.join(GENERIC_HEADS)})\b"
)
_THEME = re.compile(
    r"\btheme[d]?[ \t]*(?:of[ \t]+|was[ \t]+|is[ \t]+)?[,:]?[ \t]*"
    r"[“\"‘'](?P<theme>[^”\"’\n]{3,150}?)[,.]?[”\"’]",
    re.IGNORECASE,
)
# Not a bare "open": "an open, fair environment", "open-source" open nothing.
_OPENING = re.compile(
    r"\b(?:open(?:ed|s|ing)|kick(?:ed|s)?[ \t]+off|began|begins|inaugura\w+)\b(?!-)",
    re.IGNORECASE,
)
_RANGE = re.compile(r"\b(?P<first>[0-3]?\d)(?:st|nd|rd|th)?\s*[-–—]\s*(?P<last>[0-3]?\d)\b")
# How far after an opening sentence a date still dates it (an embedded post's date line).
OPENING_DATE_REACH = 250


@dataclass
class _Draft:
    event: EventFound
    head: str  # "summit": the event noun, lower-case, to merge referring mentions


def sentence_spans(text: str, doc: Doc) -> list[tuple[int, int]]:
    """Sentences as character spans, cut again at line breaks (headlines, datelines and
    embedded posts run into the next line in spaCy's segmentation)."""
    out: list[tuple[int, int]] = []
    for sent in doc.sents:
        pos = sent.start_char
        for line in text[sent.start_char : sent.end_char].split("\n"):
            start = pos + len(line) - len(line.lstrip())
            end = pos + len(line.rstrip())
            if end > start:
                out.append((start, end))
            pos += len(line) + 1
    return out


def sentence_of(spans: list[tuple[int, int]], pos: int) -> tuple[int, int]:
    for start, end in spans:
        if start <= pos < end:
            return start, end
    return pos, pos


def event_at(events: list[EventFound], pos: int, reach: int | None = None) -> EventFound | None:
    """The event a sentence at `pos` is about: the one mentioned last before it, else
    the first one mentioned after it; with `reach`, only one mentioned that close."""
    near = [
        (m.start, e)
        for e in events
        for m in e.mentions
        if reach is None or abs(m.start - pos) <= reach
    ]
    before = [pair for pair in near if pair[0] <= pos]
    if before:
        return max(before, key=lambda pair: pair[0])[1]
    return min(near, key=lambda pair: pair[0])[1] if near else None


def _inside(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _strip_leading(name: str, start: int) -> tuple[str, int]:
    """Drop function words and possessors the capitalised run took in: "At the", "Macron's",
    and a place and day before the name: "Paris on Monday for the AI Action Summit"."""
    words = name.split(" ")
    times = [i for i, w in enumerate(words[:-1]) if w.lower().strip(",") in NOT_PLACES]
    if times:
        cut = times[-1] + 1
        start += sum(len(w) + 1 for w in words[:cut])
        words = words[cut:]
    while len(words) > 1 and (
        words[0].lower() in LEADING_NOISE or words[0].endswith(("'s", "’s")) or not words[0]
    ):
        start += len(words[0]) + 1
        words = words[1:]
    return " ".join(words), start


def _place_code(name: str) -> tuple[str, str]:
    """(code, kind) of a place name in the country gazetteer: ("FR", "capital")."""
    entry = gazetteer().entries.get(name.replace("’", "'"))
    if entry is None or entry.code is None:
        return "", ""
    return entry.code, entry.kind


def _head_of(name: str) -> str:
    for head in HEADS:
        if name.endswith(head):
            return head.split()[-1].lower()
    return name.split()[-1].lower()


def _same_event(a: str, b: str) -> bool:
    """One name is the other, or ends it on a word boundary ("AI Action Summit" in
    "Paris AI Action Summit")."""
    a, b = a.casefold(), b.casefold()
    return a == b or a.endswith(" " + b) or b.endswith(" " + a)


def _set_venue(event: EventFound, text: str, end: int) -> None:
    """Read "in <City>[, <Country>]" right after a mention ending at `end`."""
    m = _VENUE.match(text, end)
    if not m or (event.city and (event.country or m.group("city") != event.city)):
        return
    city = m.group("city")
    if city.split()[0].lower() in NOT_PLACES:
        return  # "in May 2024", "in Monday's session"
    code, kind = _place_code(city)
    if kind == "name":  # "the summit in France": a country, no city
        event.country, event.country_span = code, (m.start("city"), m.end("city"))
        return
    if not event.city:
        event.city, event.city_span = city, (m.start("city"), m.end("city"))
    if m.group("country"):
        ccode, ckind = _place_code(m.group("country"))
        if ckind == "name":
            event.country = ccode
            event.country_span = (m.start("country"), m.end("country"))
            return
    if kind == "capital" and not event.country:
        event.country = code


def _named_mentions(text: str, noise: list[tuple[int, int]]) -> list[_Draft]:
    drafts: list[_Draft] = []
    for m in _NAMED.finditer(text):
        name, start = _strip_leading(m.group(0), m.start())
        if _inside(start, m.end(), noise) or DOCUMENT_AFTER.match(text, m.end()):
            continue
        if name in HEADS or len(name.split()) < 2:
            continue  # "Summit" alone, sentence-initial: a referring mention at best
        year = ""
        if yb := _YEAR_BEFORE.search(text, max(0, start - 6), start):
            year, start = yb.group("year"), yb.start()
        after = _AFTER.match(text, m.end())
        year = year or (after.group("year") or "")
        short = after.group("short") or ""
        mention_end = after.end("year") if after.group("year") else m.end()
        mention = Mention(text[start:mention_end], start, mention_end, "name")
        draft = next((d for d in drafts if _same_event(d.event.name, name)), None)
        if draft is None:
            draft = _Draft(EventFound(name=name), _head_of(name))
            drafts.append(draft)
        elif len(name) > len(draft.event.name):
            draft.event.name = name
        event = draft.event
        event.year = event.year or year
        event.short_name = event.short_name or short
        event.mentions.append(mention)
        if short:
            at = after.start("short")
            event.mentions.append(Mention(short, at, at + len(short), "short"))
        _set_venue(event, text, after.end())
        _venue_from_name(event, name, start)
        if start > m.start():
            # "gathered in Paris on Monday for the AI Action Summit": the venue came first.
            lead = max(0, m.start() - 4)
            if before := re.search(r"(?:in|at)[ \t]+$", text[lead : m.start()]):
                _set_venue(event, text, lead + before.start())
    return drafts


def _venue_from_name(event: EventFound, name: str, start: int) -> None:
    """A capital leading the name is the venue: "Paris AI Action Summit", "Seoul Summit"."""
    if event.city:
        return
    words = name.split()
    for n in (2, 1):
        lead = " ".join(words[:n])
        code, kind = _place_code(lead)
        if kind == "capital" and len(words) > n:
            event.city, event.city_span = lead, (start, start + len(lead))
            event.country = event.country or code
            return


def _short_mentions(text: str, drafts: list[_Draft], noise: list[tuple[int, int]]) -> None:
    for draft in drafts:
        event = draft.event
        if not event.short_name:
            continue
        taken = {(m.start, m.end) for m in event.mentions}
        pattern = re.compile(
            rf"(?<![\w-]){re.escape(event.short_name)}"
            rf"(?:[ \t]+(?P<year>(?:19|20)\d{{2}}))?(?![\w-])"
        )
        for m in matches(text, event.short_name, pattern):
            if (m.start(), m.start() + len(event.short_name)) in taken or _inside(
                m.start(), m.end(), noise
            ):
                continue
            event.year = event.year or (m.group("year") or "")
            event.mentions.append(Mention(m.group(0), m.start(), m.end(), "short"))
            _set_venue(event, text, m.end())


def _described_mentions(
    text: str, drafts: list[_Draft], noise: list[tuple[int, int]], places: set[str]
) -> None:
    """ "the Shanghai conference", "the Bletchley Park summit": merged into an event with
    that city, short name or head; otherwise an event of its own, named as written. The
    modifier is the venue only when it is a capital or the parser reads it as a place
    ("the Microsoft Build conference" is in no city called "Microsoft Build")."""
    for m in _DESCRIBED.finditer(text):
        mod, head = m.group("mod").strip(), m.group("head")
        start, end = m.start("mod"), m.end("head")
        if _inside(start, end, noise) or mod.split()[0].lower() in LEADING_NOISE:
            continue
        if any(ms.start <= start < ms.end for d in drafts for ms in d.event.mentions):
            continue
        code, kind = _place_code(mod)
        if kind == "name":
            continue  # "the China summit": about a country, not its venue
        target = next(
            (
                d
                for d in drafts
                if mod in (d.event.city, d.event.short_name) or mod in d.event.name.split()
            ),
            None,
        )
        if target is None and len(drafts) == 1 and head in (drafts[0].head, *ANY_HEAD):
            target = drafts[0]
        if target is None:
            target = _Draft(EventFound(name=f"{mod} {head}"), head)
            drafts.append(target)
        event = target.event
        event.mentions.append(Mention(text[m.start() : end], m.start(), end, "alias"))
        if not event.city and (kind == "capital" or (not kind and mod in places)):
            event.city, event.city_span = mod, (start, start + len(mod))
            if kind == "capital":
                event.country = event.country or code


_CONNECTORS = {"of", "on", "for", "and", "the", "de"}


def _initials(name: str) -> str:
    """ "World AI Conference" and "World Artificial Intelligence Conference" -> "WAIC"."""
    return "".join(w if w.isupper() else w[0].upper() for w in name.split() if w not in _CONNECTORS)


def _one_event(a: _Draft, b: _Draft) -> bool:
    """Two names for one event in one article: same head noun, no clashing years, and the
    same initials ("WAIC") or the same venue ("Paris AI Summit", "... Summit in Paris")."""
    x, y = a.event, b.event
    if a.head != b.head or (x.year and y.year and x.year != y.year):
        return False
    initials = {_initials(x.name), x.short_name} - {""}
    if len(_initials(y.name)) >= 3 and ({_initials(y.name), y.short_name} & initials):
        return True
    return bool(x.city) and x.city == y.city


def _merge(drafts: list[_Draft]) -> list[_Draft]:
    out: list[_Draft] = []
    for draft in drafts:
        into = next((d for d in out if _one_event(d, draft)), None)
        if into is None:
            out.append(draft)
            continue
        keep, other = into.event, draft.event
        if len(other.name) > len(keep.name):
            keep.name = other.name
        for key in ("short_name", "year", "city", "country", "theme", "city_span", "country_span"):
            if not getattr(keep, key):
                setattr(keep, key, getattr(other, key))
        keep.mentions.extend(other.mentions)
    return out


def _referring_mentions(text: str, drafts: list[_Draft], noise: list[tuple[int, int]]) -> None:
    if not drafts:
        return
    for m in _REFERRING.finditer(text):
        head = m.group("head")
        if _inside(m.start(), m.end(), noise):
            continue
        if any(ms.start <= m.start() < ms.end for d in drafts for ms in d.event.mentions):
            continue
        fitting = [d for d in drafts if head in ANY_HEAD or d.head == head or len(drafts) == 1]
        if not fitting:
            continue
        event = event_at([d.event for d in fitting], m.start())
        if event is not None:
            event.mentions.append(Mention(m.group(0), m.start(), m.end(), "alias"))


def _themes(text: str, events: list[EventFound], sentences: list[tuple[int, int]]) -> None:
    for m in _THEME.finditer(text):
        s_start, s_end = sentence_of(sentences, m.start())
        in_sentence = [
            e for e in events for ms in e.mentions if s_start <= ms.start < max(s_end, m.end())
        ]
        event = in_sentence[0] if in_sentence else event_at(events, m.start())
        if event is not None and not event.theme:
            event.theme = m.group("theme").strip()


def _durations(events: list[EventFound], figures: list[FigureFound]) -> None:
    for figure in figures:
        if not re.match(r"day\b", figure.unit) or not isinstance(figure.value, int):
            continue
        if not 1 <= figure.value <= 31:
            continue
        event = next(
            (e for e in events for m in e.mentions if m.start <= figure.start < m.end), None
        )
        if event is None and len(events) == 1:
            event = events[0]
        if event is not None and event.duration_days is None:
            event.duration_days = figure.value


def _range_end(found: DateFound) -> date | None:
    m = _RANGE.search(found.text)
    if not m or found.date is None:
        return None
    try:
        end = found.date.replace(day=int(m.group("last")))
    except ValueError:
        return None
    return end if end > found.date else None


def _dates(
    text: str, events: list[EventFound], dates: list[DateFound], sentences: list[tuple[int, int]]
) -> None:
    dated = [d for d in dates if d.date is not None]
    for event in events:
        chosen: DateFound | None = None
        spans = sorted({sentence_of(sentences, m.start) for m in event.mentions})
        # A sentence about the opening dates the start; else an embedded post's date line.
        for s_start, s_end in spans:
            if not _OPENING.search(text, s_start, s_end):
                continue
            inside = [d for d in dated if s_start <= d.start < s_end]
            after = [d for d in dated if s_end <= d.start < s_end + OPENING_DATE_REACH]
            if inside or after:
                chosen = (inside or after)[0]
                break
        if chosen is None:
            for s_start, s_end in spans:
                inside = [d for d in dated if s_start <= d.start < s_end]
                if inside:
                    chosen = inside[0]
                    break
        if chosen is None:
            continue
        event.start_date = chosen.date
        event.end_date = _range_end(chosen)
        if event.end_date is None and event.duration_days and event.start_date:
            event.end_date = event.start_date + timedelta(days=event.duration_days - 1)


def extract_events(
    text: str, doc: Doc, dates: list[DateFound], figures: list[FigureFound]
) -> list[EventFound]:
    """Every event the text names, its mentions merged, with venue, theme and dates."""
    noise = noise_spans(text)
    sentences = sentence_spans(text, doc)
    drafts = _named_mentions(text, noise)
    _short_mentions(text, drafts, noise)
    places = {ent.text for ent in doc.ents if ent.label_ in ("GPE", "LOC", "FAC")}
    _described_mentions(text, drafts, noise, places)
    drafts = _merge(drafts)
    _referring_mentions(text, drafts, noise)
    events = [d.event for d in drafts]
    for event in events:
        event.mentions.sort(key=lambda m: m.start)
    events.sort(key=lambda e: e.mentions[0].start)
    _themes(text, events, sentences)
    _durations(events, figures)
    _dates(text, events, dates, sentences)
    return events
