"""Who took part in an event or a proposal, and how: Participation.Role values.

`extract_participation(...)` works clause by clause on what the other extractors
found (country, person and organization mentions, events, proposals), so every
participation names a participant the text names, at that participant's own
mention (text[start:end] is "Russia", not the whole list): two participants of one
sentence are two candidates with two exact spans.

Rules, each keyed on a cue in the clause:
- delegate: "delegates / delegations / representatives / officials from X, Y and Z",
  or countries listed as the subject of "attended / took part / participated";
- exhibitor: companies in a clause about exhibitors ("among the exhibitors",
  "showcased"), or companies that "also participated" right after such a sentence;
- absent: the person (else country or organization) named last before "absent",
  "skipped", "did not attend";
- speaker: people in a clause that says they spoke ("Speaking at", "delivered
  remarks", "sessions featured ..."); a speaker holding a country's office or
  envoy's post makes that country "represented" when the clause names it;
- host: the event's stated country ("WAIC in Shanghai, China"; a capital venue
  counts: "the Seoul summit" -> South Korea), and countries listed around
  "hosted / co-hosted by";
- signatory / supporter / declined / opponent: countries and organizations listed
  around "signed / endorsed", "backed / supported", "declined to sign", "opposed";
- proposer / issuer / target: from each ProposalFound, its proposer phrase resolved
  to the countries, people and organizations mentioned in it ("Washington" -> US),
  the role read from its verb; "restrictions on China" makes China the target.

Event roles go to the event mentioned last before the clause (events.event_at);
proposal roles to the proposal whose sentence it is, else the one just before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from spacy.tokens import Doc

from governance.extract.events import event_at, sentence_of, sentence_spans
from governance.extract.gazetteer import gazetteer
from governance.extract.types import (
    CountryFound,
    DateFound,
    EventFound,
    OrganizationFound,
    ParticipationFound,
    PersonFound,
    ProposalFound,
)


@dataclass(frozen=True)
class Actor:
    name: str  # country code, person's full name or organization's name
    type: str  # "country" | "person" | "organization"
    start: int
    end: int
    kind: str = ""  # an organization's kind: "company", "intergovernmental", ...


_CLAUSE_BREAK = re.compile(r";\s+|,\s+(?=(?:while|whereas|but|though|although)\b)|\s+but\s+")
_DELEGATE = re.compile(r"\b(?:delegates?|delegations?)\s+(?:from|of)\b", re.IGNORECASE)
# "officials from China and the US have held discussions": delegates only where the
# sentence names the event.
_WEAK_DELEGATE = re.compile(
    r"\b(?:representatives?|officials|ministers|envoys|leaders|heads\s+of\s+(?:state|government))"
    r"\s+(?:from|of)\b",
    re.IGNORECASE,
)
_ATTEND = re.compile(r"\b(?:attended|took\s+part|participated|joined)\b")
_EXHIBIT = re.compile(r"\b(?:exhibit(?:ors?|ed|ing|ions?)|showcas\w+|booths?)\b", re.IGNORECASE)
_ALSO_PARTICIPATED = re.compile(
    r"\b(?:also\s+)?(?:participated|took\s+part|were\s+(?:also\s+)?present|attended)\b"
)
_ABSENT = re.compile(
    r"\b(?:absent|skipped|did\s+not\s+attend|didn['’]t\s+attend|stayed\s+away|no-show"
    r"|boycott(?:ed|ing)?|snubbed)\b",
    re.IGNORECASE,
)
_SPEAKER = re.compile(
    r"\b(?:[Ss]peak(?:ing|s)?\s+(?:at|during)|spoke\s+(?:at|during)|address(?:ed|ing)\s+"
    r"|delivered\s+(?:\w+\s+)?(?:remarks|a\s+speech|an?\s+address|a\s+keynote|keynote)"
    r"|keynote|(?:sessions?|panels?|programme|program)\s+featured|speakers?\s+(?:included|were)"
    r"|panel(?:ists?)?\b|took\s+the\s+stage)"
)
_REPRESENTING_TITLE = re.compile(
    r"envoy|ambassador|minister|president|premier|prime|chancellor|secretary|representative"
    r"|delegate|king|queen|head of",
    re.IGNORECASE,
)
_HOST = re.compile(r"\b(?:co-)?host(?:ed|s|ing)?\b|\borgani[sz]ed\b|\bconvened\b")
# Clause-level roles toward a proposal; the first that matches wins.
_PROPOSAL_CUES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"\b(?:declin\w+|refus\w+|fail\w*)\s+to\s+(?:sign|endorse|join|back)\b"
            r"|\b(?:did\s+not|didn['’]t|would\s+not|won['’]t)\s+(?:sign|endorse|join)\b"
            r"|\babstain\w*"
        ),
        "declined",
    ),
    (re.compile(r"\b(?:opposed|voted\s+against|rejected|vetoed)\b"), "opponent"),
    (re.compile(r"\b(?:signed|signatories|endorsed|ratified|joined)\b"), "signatory"),
    (
        re.compile(r"\b(?:backed|supported|co-?sponsored|voted\s+(?:for|in\s+favou?r))\b"),
        "supporter",
    ),
    # "presented the draft on behalf of Algeria, Brazil, ...": co-proposers.
    (re.compile(r"\bon\s+behalf\s+of\b"), "proposer"),
]
# A ProposalFound's verb, as its proposer's role.
_VERB_ROLES: list[tuple[str, str]] = [
    ("declin", "declined"),
    ("refus", "declined"),
    ("fail", "declined"),
    ("reject", "opponent"),
    ("veto", "opponent"),
    ("sign", "signatory"),
    ("endors", "signatory"),
    ("ratif", "signatory"),
    ("join", "signatory"),
    ("back", "supporter"),
    ("co-sponsor", "supporter"),
    ("cosponsor", "supporter"),
    ("sponsor", "supporter"),
    ("propos", "proposer"),
    ("announc", "announcer"),
    ("agre", "signatory"),
    ("call", "proposer"),
    ("put", "proposer"),
    ("table", "proposer"),
    ("submit", "proposer"),
    ("present", "proposer"),
]
_TARGET_BEFORE = re.compile(
    r"\b(?:restrictions?|controls?|sanctions?|curbs?|tariffs?|bans?|limits?|embargo(?:es)?)\b"
    r"[^.;]{0,40}\bon\s+(?:the\s+)?$",
    re.IGNORECASE,
)
_LIST_GAP = re.compile(r"\s*(?:,\s*|\s+)?(?:(?:and|or|&|as\s+well\s+as)\s+)?(?:the\s+)?$")
# Before a list's first item: "by both", "by approximately 60 nations, including".
_LIST_OPENING = re.compile(
    r"\s*(?:both\s+|(?:(?:approximately|about|over|more\s+than|some|nearly)\s+)?"
    r"[\w-]+\s+(?:countries|nations|states|governments|members)(?:\s*,)?\s+"
    r"(?:including|such\s+as|like|among\s+them)\s+)?(?:the\s+)?"
)
_NAMED_DOCUMENT = re.compile(
    r"\b(?:the\s+)?(?:[A-Z][\w’'-]*\s+){1,6}(?:Declaration|Statement|Resolution|Accord|Pact|Charter"
    r"|Convention|Treaty|Communiqu[eé])\b"
)
# "The announcement came during the opening", "The plan was unveiled on Monday": the act
# is stated, its agent is not.
_AGENTLESS_ANNOUNCEMENT = re.compile(
    r"\b(?:[Tt]he|[Tt]his|[Tt]hat|[Ii]ts)\s+(?:announcement|unveiling|launch)\s+"
    r"(?:came|was\s+made|took\s+place)\b"
    r"|\b(?:was|were)\s+(?:announced|unveiled)\b(?!\s+by\b)"
)
PROPOSAL_REACH = 600  # a signing clause this far after a proposal still concerns it
# A sentence this far from every mention of an event is about something else: a company
# that "showcased" a product paragraphs after the summit was named exhibits at nothing.
EVENT_REACH = 1200


def _actors(
    countries: list[CountryFound],
    people: list[PersonFound],
    organizations: list[OrganizationFound],
    events: list[EventFound],
) -> list[Actor]:
    event_spans = [(m.start, m.end) for e in events for m in e.mentions]
    out = [Actor(c.code, "country", m.start, m.end) for c in countries for m in c.mentions]
    out += [Actor(p.name, "person", m.start, m.end) for p in people for m in p.mentions]
    for org in organizations:
        for m in org.mentions:
            # "WAIC" read as an organization is the event itself, no participant of it.
            if not any(s < m.end and m.start < e for s, e in event_spans):
                out.append(Actor(org.name, "organization", m.start, m.end, org.kind))
    return sorted(out, key=lambda a: (a.start, -a.end))


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out, pos = [], start
    for m in _CLAUSE_BREAK.finditer(text, start, end):
        if m.start() > pos:
            out.append((pos, m.start()))
        pos = m.end()
    if end > pos:
        out.append((pos, end))
    return out


def _within(actors: list[Actor], start: int, end: int, type_: str | None = None) -> list[Actor]:
    return [a for a in actors if start <= a.start and a.end <= end and type_ in (None, a.type)]


def _listed_after(text: str, actors: list[Actor], pos: int, end: int) -> list[Actor]:
    """Actors listed right after `pos`: "by the UK, France and Germany"."""
    out: list[Actor] = []
    for actor in sorted(_within(actors, pos, end), key=lambda a: a.start):
        if (not out and _LIST_OPENING.fullmatch(text, pos, actor.start)) or (
            out and _LIST_GAP.fullmatch(text, out[-1].end, actor.start)
        ):
            out.append(actor)
            pos = actor.end
        elif out:
            break
    return out


def _listed_before(text: str, actors: list[Actor], start: int, pos: int) -> list[Actor]:
    """Actors listed right before `pos`: "the US and UK formally declined". Up to two
    words ("have formally") may stand before the verb; between items only list words,
    so "China said the US declined" lists the US alone."""
    before = sorted(_within(actors, start, pos), key=lambda a: a.start, reverse=True)
    out: list[Actor] = []
    edge = pos
    for actor in before:
        gap = text[actor.end : edge]
        if (out and _LIST_GAP.fullmatch(gap)) or (
            not out and re.fullmatch(r"\s*(?:[\w-]+\s+){0,2}", gap)
        ):
            out.append(actor)
            edge = actor.start
        else:
            break
    return out


def _code_of(name: str) -> str:
    entry = gazetteer().entries.get(name.replace("’", "'"))
    return entry.code or "" if entry and entry.kind in ("name", "demonym") else ""


def _date_in(dates: list[DateFound], start: int, end: int) -> date | None:
    return next((d.date for d in dates if start <= d.start < end and d.date), None)


def _role_of_verb(verb: str) -> str:
    verb = verb.lower()
    return next((role for prefix, role in _VERB_ROLES if verb.startswith(prefix)), "issuer")


class _Collector:
    """Keeps one participation per (participant, role, subject) and one per span."""

    def __init__(self) -> None:
        self.found: list[ParticipationFound] = []
        self._keys: set[tuple[str, str, str]] = set()
        self._spans: set[tuple[int, int]] = set()

    def add(
        self,
        actor: Actor,
        role: str,
        subject: str,
        subject_type: str,
        evidence: tuple[int, int],
        when: date | None,
        *,
        inferred: bool = False,
    ) -> None:
        key = (actor.name, role, subject)
        if key in self._keys:
            return
        # One span, one candidate: when the mention already carries another role, cite
        # from the mention to the clause's end, else the clause itself (all exact text).
        choices = [
            (actor.start, actor.end),
            (actor.start, max(actor.end, evidence[1])),
            evidence,
            (min(evidence[0], actor.start), actor.end),
        ]
        span = next((c for c in choices if c not in self._spans and c[1] > c[0]), None)
        if span is None:
            return
        self._keys.add(key)
        self._spans.add(span)
        self.found.append(
            ParticipationFound(
                participant=actor.name,
                participant_type=actor.type,  # type: ignore[arg-type]
                role=role,
                subject=subject,
                subject_type=subject_type,  # type: ignore[arg-type]
                start=span[0],
                end=span[1],
                evidence_start=evidence[0],
                evidence_end=evidence[1],
                date=when,
                inferred=inferred,
            )
        )


def _affiliated_to_person(text: str, org: Actor, people: list[Actor]) -> bool:
    """ "Tesla CEO Elon Musk": the organization is the person's, not a participant here."""
    return any(0 <= p.start - org.end <= 40 and "," not in text[org.end : p.start] for p in people)


def _event_roles(
    text: str,
    actors: list[Actor],
    people: list[PersonFound],
    events: list[EventFound],
    sentences: list[tuple[int, int]],
    dates: list[DateFound],
    out: _Collector,
) -> None:
    previous_exhibit = False
    for s_start, s_end in sentences:
        event = event_at(events, s_start, EVENT_REACH)
        sentence_exhibit = bool(_EXHIBIT.search(text, s_start, s_end))
        when = _date_in(dates, s_start, s_end)
        if event is None:
            continue
        name = event.display_name
        for c_start, c_end in _clauses(text, s_start, s_end):
            clause = (c_start, c_end)
            named_here = any(s_start <= m.start < s_end for m in event.mentions)
            cues = list(_DELEGATE.finditer(text, c_start, c_end))
            if named_here:
                cues += _WEAK_DELEGATE.finditer(text, c_start, c_end)
            for m in cues:
                for actor in _within(actors, m.end(), c_end, "country"):
                    out.add(actor, "delegate", name, "event", clause, when)
            if m := _ATTEND.search(text, c_start, c_end):
                for actor in _listed_before(text, actors, c_start, m.start()):
                    if actor.type == "country":
                        out.add(actor, "delegate", name, "event", clause, when)
            exhibit = _EXHIBIT.search(text, c_start, c_end) or (
                previous_exhibit and _ALSO_PARTICIPATED.search(text, c_start, c_end)
            )
            if exhibit:
                persons = _within(actors, c_start, c_end, "person")
                for actor in _within(actors, c_start, c_end, "organization"):
                    if actor.kind == "company" and not _affiliated_to_person(text, actor, persons):
                        out.add(actor, "exhibitor", name, "event", clause, when)
            if m := _ABSENT.search(text, c_start, c_end):
                before = _within(actors, c_start, m.start())
                persons = [a for a in before if a.type == "person"]
                if chosen := (persons or before)[-1:]:
                    out.add(chosen[0], "absent", name, "event", clause, when)
            if _SPEAKER.search(text, c_start, c_end):
                _speakers(text, actors, people, name, clause, when, out)
        previous_exhibit = sentence_exhibit


def _speakers(
    text: str,
    actors: list[Actor],
    people: list[PersonFound],
    name: str,
    clause: tuple[int, int],
    when: date | None,
    out: _Collector,
) -> None:
    by_name = {p.name: p for p in people}
    countries = _within(actors, *clause, "country")
    for actor in _within(actors, *clause, "person"):
        out.add(actor, "speaker", name, "event", clause, when)
        person = by_name.get(actor.name)
        if not person or not _REPRESENTING_TITLE.search(person.role or ""):
            continue
        code = _code_of(person.affiliation)
        # The country as the clause names it, nearest to its speaker.
        named = sorted(
            (c for c in countries if c.name == code), key=lambda c: abs(c.start - actor.start)
        )
        if named:
            out.add(named[0], "represented", name, "event", clause, when)


def _hosts(
    text: str,
    actors: list[Actor],
    events: list[EventFound],
    sentences: list[tuple[int, int]],
    out: _Collector,
) -> None:
    for event in events:
        span = event.country_span or (event.city_span if event.country else None)
        if event.country and span:
            actor = Actor(event.country, "country", *span)
            out.add(
                actor, "host", event.display_name, "event", sentence_of(sentences, span[0]), None
            )
        # "the UK's AI Safety Summit": the possessor hosts it.
        for mention in event.mentions:
            for actor in actors:
                if actor.type == "country" and text[actor.end : mention.start] in ("’s ", "'s "):
                    evidence = sentence_of(sentences, mention.start)
                    out.add(actor, "host", event.display_name, "event", evidence, None)
    for s_start, s_end in sentences:
        event = event_at(events, s_start, EVENT_REACH)
        if event is None:
            continue
        for m in _HOST.finditer(text, s_start, s_end):
            listed = (
                _listed_after(text, actors, m.end() + 3, s_end)
                if text.startswith(" by", m.end())
                else _listed_before(text, actors, s_start, m.start())
            )
            for actor in listed:
                if actor.type == "country":
                    out.add(actor, "host", event.display_name, "event", (s_start, s_end), None)


def _proposal_near(
    text: str, proposals: list[ProposalFound], start: int, end: int
) -> tuple[str, int] | None:
    """The proposal a clause concerns: its own sentence's, the one just before, or a
    named declaration in it. Returns (subject text, position)."""
    for p in proposals:
        if p.start < end and start < p.end:
            return p.text, p.start
    before = [p for p in proposals if p.end <= start and start - p.end <= PROPOSAL_REACH]
    if before:
        return before[-1].text, before[-1].start
    if m := _NAMED_DOCUMENT.search(text, start, end):
        return m.group(0), m.start()
    return None


def _proposal_roles(
    text: str,
    actors: list[Actor],
    proposals: list[ProposalFound],
    sentences: list[tuple[int, int]],
    dates: list[DateFound],
    out: _Collector,
) -> None:
    for p in proposals:
        when = _date_in(dates, p.start, p.end)
        at = text.find(p.proposer, p.start, p.end) if p.proposer else -1
        if at >= 0:
            role = _role_of_verb(p.verb)
            for actor in _within(actors, at, at + len(p.proposer)):
                out.add(actor, role, p.text, "proposal", (p.start, p.end), when)
        for actor in _within(actors, p.start, p.end, "country"):
            if _TARGET_BEFORE.search(text, max(p.start, actor.start - 80), actor.start):
                out.add(actor, "target", p.text, "proposal", (p.start, p.end), when)
    for s_start, s_end in sentences:
        for c_start, c_end in _clauses(text, s_start, s_end):
            near = _proposal_near(text, proposals, c_start, c_end)
            if near is None:
                continue
            taken: set[Actor] = set()  # one role per actor and clause: the first cue's
            for pattern, role in _PROPOSAL_CUES:
                for m in pattern.finditer(text, c_start, c_end):
                    # "signed by X", "on behalf of X": the list follows; else it leads.
                    if m.group(0).endswith(" of"):
                        listed = _listed_after(text, actors, m.end(), c_end)
                    elif re.match(r" (?:by|of)\b", text[m.end() : m.end() + 4]):
                        listed = _listed_after(text, actors, m.end() + 3, c_end)
                    else:
                        listed = _listed_before(text, actors, c_start, m.start())
                    when = _date_in(dates, s_start, s_end)
                    for actor in listed:
                        if actor.type != "person" and actor not in taken:
                            taken.add(actor)
                            out.add(actor, role, near[0], "proposal", (c_start, c_end), when)


def _agentless_announcers(
    text: str,
    actors: list[Actor],
    people: list[PersonFound],
    proposals: list[ProposalFound],
    sentences: list[tuple[int, int]],
    dates: list[DateFound],
    out: _Collector,
) -> None:
    """An announcement without its agent goes, as an inferred candidate, to the official
    of the proposing country who speaks in that sentence or the next: "China has proposed
    X. The announcement came during the opening ... Speaking at the event, Chinese Premier
    Li Qiang ..." -> Li Qiang announced X. Only a speaker holding an office of the
    proposer's own country qualifies, so a foreign guest speaking next is never chosen."""
    by_name = {p.name: p for p in people}
    for i, (s_start, s_end) in enumerate(sentences):
        if not _AGENTLESS_ANNOUNCEMENT.search(text, s_start, s_end):
            continue
        proposal = next(
            (
                p
                for p in reversed(proposals)
                if p.start < s_end and s_start - p.end <= PROPOSAL_REACH
            ),
            None,
        )
        if proposal is None or not proposal.proposer:
            continue
        at = text.find(proposal.proposer, proposal.start, proposal.end)
        proposer_codes = {
            a.name for a in _within(actors, at, at + len(proposal.proposer), "country")
        }
        if at < 0 or not proposer_codes:
            continue
        for n_start, n_end in sentences[i : i + 2]:
            if not _SPEAKER.search(text, n_start, n_end):
                continue
            for actor in _within(actors, n_start, n_end, "person"):
                person = by_name.get(actor.name)
                if (
                    person
                    and _REPRESENTING_TITLE.search(person.role or "")
                    and _code_of(person.affiliation) in proposer_codes
                ):
                    when = _date_in(dates, s_start, n_end)
                    out.add(
                        actor,
                        "announcer",
                        proposal.text,
                        "proposal",
                        (s_start, n_end),
                        when,
                        inferred=True,
                    )
                    break
            else:
                continue
            break


def extract_participation(
    text: str,
    doc: Doc,
    countries: list[CountryFound],
    people: list[PersonFound],
    organizations: list[OrganizationFound],
    events: list[EventFound],
    proposals: list[ProposalFound],
    dates: list[DateFound] | None = None,
) -> list[ParticipationFound]:
    """Every participation the rules read, in text order, each at its participant's mention."""
    dates = dates or []
    sentences = sentence_spans(text, doc)
    actors = _actors(countries, people, organizations, events)
    out = _Collector()
    _hosts(text, actors, events, sentences, out)
    _proposal_roles(text, actors, proposals, sentences, dates, out)
    _agentless_announcers(text, actors, people, proposals, sentences, dates, out)
    _event_roles(text, actors, people, events, sentences, dates, out)
    return sorted(out.found, key=lambda f: (f.start, f.role))
