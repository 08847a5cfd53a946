"""News articles written from templates, with the statements they report.

Each statement is placed in its article as it is built, so its span is known
exactly: document.text[start:end] == statement.text, the Evidence invariant.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from string import Formatter

from django.utils.text import slugify

from governance.generate import vocab
from governance.generate.reference import PersonInfo, Reference, RoleInfo, SubjectInfo
from governance.generate.sampling import FIRST_DAY, LAST_DAY, Weighted, day, news_day, zipf
from governance.models import Participation, Statement

KIND = Statement.Kind
KINDS = Weighted(
    [KIND.DIRECT_QUOTE, KIND.PARAPHRASE, KIND.PARTIAL_QUOTE, KIND.REMARKS], [45, 32, 13, 10]
)
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
R = Participation.Role
PARTICIPATION_SENTENCES = {
    R.PROPOSER: "{p} proposed the {s}.",
    R.ISSUER: "The {s} was issued by {p}.",
    R.ANNOUNCER: "{p} announced the {s}.",
    R.SUPPORTER: "{p} voiced support for the {s}.",
    R.SIGNATORY: "{p} signed the {s}.",
    R.OPPONENT: "{p} came out against the {s}.",
    R.DECLINED: "{p} declined to join the {s}.",
    R.OBSERVER: "{p} followed the {s} as an observer.",
    R.TARGET: "The {s} is aimed at {p}.",
    R.ABSENT: "{p} was notably absent from the {s}.",
    R.HOST: "{p} hosted the {s}.",
    R.DELEGATE: "{p} sent a delegation to the {s}.",
    R.REPRESENTED: "{p} was represented at the {s}.",
    R.EXHIBITOR: "{p} exhibited at the {s}.",
    R.SPEAKER: "{p} spoke at the {s}.",
}
_THE = ("Netherlands", "Philippines", "Bahamas", "Gambia", "Maldives", "Seychelles")


@dataclass(slots=True)
class StatementRow:
    id: int
    kind: str
    text: str
    speaker_id: int
    role_id: int
    country: str | None
    organization_id: int | None
    said_on: dt.date
    event_id: int | None
    proposal_id: int | None
    countries: tuple[str, ...]
    start: int
    end: int
    fingerprint: str


@dataclass(slots=True)
class DocumentRow:
    id: int
    title: str
    text: str
    url: str
    publisher: str
    author: str
    published_at: dt.datetime
    fetched_at: dt.datetime
    sha256: str
    statements: list[StatementRow] = field(default_factory=list)
    mentions: list[tuple[str, int, int, int]] = field(default_factory=list)
    # (participation id, start, end, excerpt)
    participations: list[tuple[int, int, int, str]] = field(default_factory=list)


def _slots(template: str) -> frozenset[str]:
    return frozenset(name for _, name, _, _ in Formatter().parse(template) if name)


class Text:
    """A document being written: paragraphs, and the running offset of the next one."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0

    def paragraph(self, *pieces: str) -> list[int]:
        """Append a paragraph; return the offset where each piece starts."""
        if self.parts:
            self.parts.append("\n\n")
            self.pos += 2
        offsets = []
        for piece in pieces:
            offsets.append(self.pos)
            self.parts.append(piece)
            self.pos += len(piece)
        return offsets

    def value(self) -> str:
        return "".join(self.parts)


class Newsroom:
    """Writes documents one at a time from a seeded Random; no other state leaks in."""

    def __init__(self, ref: Reference, rng: random.Random, n_documents: int) -> None:
        self.ref, self.rng = ref, rng
        self.slot_cache: dict[str, frozenset[str]] = {}
        self.fingerprints: set[bytes] = set()
        self.hashes: set[str] = set()
        self.events = zipf(ref.events, 0.9) if ref.events else None
        self.proposals = zipf(ref.proposals, 0.9) if ref.proposals else None
        # The first documents announce each proposal and event, so their
        # participations have evidence; the rest report on what follows.
        subjects = [("proposal", p) for p in ref.proposals] + [("event", e) for e in ref.events]
        self.announcements = subjects[: n_documents // 2]
        self.pools = sorted(vocab.NAME_POOLS)

    # --- small helpers
    def pick(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def country_text(self, code: str) -> str:
        name = self.ref.country_names[code]
        if name.startswith(
            ("United ", "Democratic Republic", "Republic of", "Central African")
        ) or (name.endswith("Islands") or name in _THE):
            return "the " + name
        return name

    def fill(self, template: str, slots: dict[str, str]) -> tuple[str, frozenset[str]]:
        names = self.slot_cache.get(template)
        if names is None:
            names = self.slot_cache[template] = _slots(template)
        return template.format_map(slots), names

    def slots(self, doc: _Doc) -> dict[str, str]:
        rng = self.rng
        topic = self.pick(vocab.TOPICS)
        c1 = doc.primary if rng.random() < 0.5 else self.ref.countries.pick(rng)
        c2 = doc.secondary if rng.random() < 0.5 else self.ref.countries.pick(rng)
        if c2 == c1:
            c2 = doc.primary if c1 != doc.primary else doc.secondary
        return {
            "topic": topic,
            "Topic": topic[0].upper() + topic[1:],
            "risk": self.pick(vocab.RISKS),
            "goal": self.pick(vocab.GOALS),
            "action": self.pick(vocab.ACTIONS).format(topic=self.pick(vocab.TOPICS)),
            "amount": self.pick(vocab.AMOUNTS),
            "country": self.country_text(c1),
            "country2": self.country_text(c2),
            "_c1": c1,
            "_c2": c2,
            "proposal": doc.proposal.name if doc.proposal else "",
            "event": doc.event.name if doc.event else "",
            "weekday": vocab.WEEKDAYS[day(doc.day).weekday()],
        }

    @staticmethod
    def concerned(names: frozenset[str], slots: dict[str, str]) -> list[str]:
        out = []
        if "country" in names:
            out.append(slots["_c1"])
        if "country2" in names:
            out.append(slots["_c2"])
        return out

    def sentence(self, templates: tuple[str, ...], doc: _Doc) -> tuple[str, frozenset, list]:
        slots = self.slots(doc)
        text, names = self.fill(self.pick(templates), slots)
        return text[0].upper() + text[1:], names, self.concerned(names, slots)

    # --- speakers
    def speaker(self, on: int) -> tuple[PersonInfo, RoleInfo]:
        for _ in range(10):
            person = self.ref.speakers.pick(self.rng)
            role = active_role(person, on)
            if role:
                return person, role
        for person in self.ref.people:  # the first people hold a role every day
            role = active_role(person, on)
            if role:
                return person, role
        raise RuntimeError(f"nobody holds a role on {day(on)}")

    def speaker_phrase(self, role: RoleInfo) -> str:
        if role.country:
            name = self.ref.country_names[role.country]
            possessive = name + ("’" if name.endswith("s") else "’s")
            return f"{possessive} {role.title}"
        if role.organization_id:
            return f"{role.title} of {self.ref.organizations[role.organization_id]}"
        return role.title

    # --- statements
    def statement(self, doc: _Doc, stmt_id: int) -> tuple[list[str], int, StatementRow]:
        """The paragraph pieces, the index of the statement's piece, and the row."""
        rng = self.rng
        on = doc.day if doc.event or rng.random() < 0.8 else max(doc.day - 1, doc.floor)
        person, role = self.speaker(on)
        doc.codes.update(c for c in (role.country,) if c)
        phrase = self.speaker_phrase(role)
        kind = KINDS.pick(rng)
        proposal_id = None
        for _ in range(20):
            mentions_proposal = False
            if kind == KIND.DIRECT_QUOTE:
                pieces_text, countries = [], []
                for k in range(rng.choice((1, 1, 2, 2, 2, 3))):
                    templates = vocab.QUOTE_SENTENCES
                    if k == 0 and doc.proposal and rng.random() < 0.5:
                        templates, mentions_proposal = vocab.PROPOSAL_SENTENCES, True
                    elif k == 0 and doc.event and rng.random() < 0.3:
                        templates = vocab.EVENT_SENTENCES
                    s, _, cs = self.sentence(templates, doc)
                    pieces_text.append(s)
                    countries += cs
                text = " ".join(pieces_text)
                if rng.random() < 0.5:
                    pieces = [f"{person.name}, {phrase}, told reporters: “", text, "”"]
                else:
                    pieces = [f"{person.name}, {phrase}, said: “", text, "”"]
            elif kind == KIND.PARAPHRASE:
                templates = vocab.PARAPHRASES if doc.proposal else vocab.PARAPHRASES[:8]
                slots = self.slots(doc)
                text, names = self.fill(self.pick(templates), slots)
                countries = self.concerned(names, slots)
                mentions_proposal = "proposal" in names
                pieces = [f"{person.name}, {phrase}, said ", text, ""]
            elif kind == KIND.PARTIAL_QUOTE:
                slots = self.slots(doc)
                text, names = self.fill(self.pick(vocab.PARTIAL_QUOTES), slots)
                countries = []
                obj = self.pick(vocab.PARTIAL_OBJECTS)
                if doc.proposal and rng.random() < 0.5:
                    obj, mentions_proposal = f"the {doc.proposal.name}", True
                pieces = [f"{person.name}, {phrase}, called {obj} “", text, "”."]
            else:
                templates = vocab.REMARKS if doc.event else vocab.REMARKS[2:]
                slots = self.slots(doc)
                text, _ = self.fill(self.pick(templates), slots)
                countries = []
                pieces = [f"{person.name}, {phrase}, ", text, ""]
            said_on = day(on)
            fingerprint = Statement.make_fingerprint(person.id, said_on, kind, text)
            key = bytes.fromhex(fingerprint[:32])
            if key not in self.fingerprints:
                self.fingerprints.add(key)
                break
        else:
            raise RuntimeError("could not write a statement that is not a duplicate")
        if doc.proposal and (mentions_proposal or rng.random() < 0.3):
            proposal_id = doc.proposal.id
        codes = tuple(sorted(set(countries)))
        doc.codes.update(codes)
        row = StatementRow(
            id=stmt_id,
            kind=kind,
            text=text,
            speaker_id=person.id,
            role_id=role.id,
            country=role.country,
            organization_id=role.organization_id if not role.country else None,
            said_on=said_on,
            event_id=doc.event.id if doc.event else None,
            proposal_id=proposal_id,
            countries=codes,
            start=0,
            end=0,
            fingerprint=fingerprint,
        )
        return pieces, 1, row

    # --- documents
    def document(self, index: int, doc_id: int, stmt_ids: list[int]) -> DocumentRow:
        while True:
            row = self._document(index, doc_id, stmt_ids)
            if row.sha256 not in self.hashes:
                self.hashes.add(row.sha256)
                return row
            for s in row.statements:  # written again below; free their fingerprints
                self.fingerprints.discard(bytes.fromhex(s.fingerprint[:32]))

    def _doc_context(self, index: int) -> _Doc:
        rng = self.rng
        proposal = event = None
        announcing = index < len(self.announcements)
        if announcing:
            what, subject = self.announcements[index]
            proposal, event = (subject, None) if what == "proposal" else (None, subject)
        else:
            r = rng.random()
            if r < 0.25 and self.proposals is not None:
                proposal = self.proposals.pick(rng)
            elif r < 0.45 and self.events is not None:
                event = self.events.pick(rng)
        if event:
            floor = event.start
            today = rng.randint(event.start, event.end)
        elif proposal:
            floor = proposal.start
            today = (
                proposal.start
                if announcing
                else (proposal.start + int((LAST_DAY - proposal.start) * rng.random() ** 2))
            )
        else:
            today = news_day(rng)
            floor = max(today - 1, FIRST_DAY)
        subject = proposal or event
        primary = subject.country if subject and subject.country else self.ref.countries.pick(rng)
        secondary = self.ref.countries.pick(rng)
        return _Doc(today, floor, primary, secondary, proposal, event, announcing)

    def _document(self, index: int, doc_id: int, stmt_ids: list[int]) -> DocumentRow:
        rng = self.rng
        doc = self._doc_context(index)
        doc.codes.update((doc.primary, doc.secondary))
        text = Text()
        city = self.ref.city(rng, doc.primary)
        when = day(doc.day)
        dateline = f"{city.upper()}, {MONTHS[when.month - 1]} {when.day} — " if city else ""
        ledes = [t for t in vocab.LEDES if _ok(t, doc)]
        lede, _, cs = self.sentence(tuple(ledes), doc)
        doc.codes.update(cs)
        text.paragraph(dateline + lede)
        row_participations = []
        if doc.announcing:
            subject = doc.proposal or doc.event
            sentences = subject.participations[:15]
            for k in range(0, len(sentences), 3):
                chunk = sentences[k : k + 3]
                pieces = []
                for n, p in enumerate(chunk):
                    who = self.country_text(p.country) if p.country else p.participant
                    s = PARTICIPATION_SENTENCES[p.role].format(p=who, s=subject.name)
                    pieces.append(s[0].upper() + s[1:] + (" " if n < len(chunk) - 1 else ""))
                    if p.country:
                        doc.codes.add(p.country)
                offsets = text.paragraph(*pieces)
                for p, off, piece in zip(chunk, offsets, pieces, strict=True):
                    excerpt = piece.rstrip(" ")
                    row_participations.append((p.id, off, off + len(excerpt), excerpt))
        statements = []
        for stmt_id in stmt_ids:
            pieces, at, srow = self.statement(doc, stmt_id)
            if rng.random() < 0.4:
                filler, _, cs = self.sentence(vocab.FILLERS, doc)
                doc.codes.update(cs)
                pieces[-1] += " " + filler
            offsets = text.paragraph(*pieces)
            srow.start = offsets[at]
            srow.end = offsets[at] + len(srow.text)
            statements.append(srow)
        for _ in range(rng.randint(1, 3)):
            filler, _, cs = self.sentence(vocab.FILLERS, doc)
            doc.codes.update(cs)
            text.paragraph(filler)
        body = text.value()
        title, _, cs = self.sentence(tuple(t for t in vocab.HEADLINES if _ok(t, doc)), doc)
        doc.codes.update(cs)
        published = dt.datetime(
            when.year, when.month, when.day, rng.randint(5, 22), rng.randrange(60), tzinfo=dt.UTC
        )
        pool = vocab.NAME_POOLS[self.pick(self.pools)]
        author = f"{self.pick(pool[0])} {self.pick(pool[1])}"
        return DocumentRow(
            id=doc_id,
            title=title,
            text=body,
            url=f"https://news.generated.invalid/{when:%Y/%m/%d}/{slugify(title)[:70]}-{index}",
            publisher=self.pick(vocab.OUTLETS),
            author=author,
            published_at=published,
            fetched_at=published + dt.timedelta(minutes=rng.randint(5, 600)),
            sha256=_hash(body),
            statements=statements,
            mentions=self.mentions(body, doc.codes),
            participations=row_participations,
        )

    def mentions(self, body: str, codes: set[str]) -> list[tuple[str, int, int, int]]:
        """(country, times named, first start, first end) for the countries named in body."""
        out = []
        for code in sorted(codes):
            name = self.ref.country_names[code]
            at = body.find(name)
            # str.find is far faster than a regex; skip hits inside a longer word
            # ("Niger" in "Nigeria").
            while at != -1 and not _bounded(body, at, at + len(name)):
                at = body.find(name, at + 1)
            if at != -1:
                out.append((code, max(body.count(name), 1), at, at + len(name)))
        return out


def _bounded(text: str, start: int, end: int) -> bool:
    return (start == 0 or not text[start - 1].isalnum()) and (
        end == len(text) or not text[end].isalnum()
    )


@dataclass(slots=True)
class _Doc:
    day: int
    floor: int  # statements in it were said on this day or later
    primary: str
    secondary: str
    proposal: SubjectInfo | None
    event: SubjectInfo | None
    announcing: bool
    codes: set[str] = field(default_factory=set)


def _ok(template: str, doc: _Doc) -> bool:
    """Templates that name a proposal or an event only fit documents about one."""
    return ("{proposal}" not in template or doc.proposal is not None) and (
        "{event}" not in template or doc.event is not None
    )


def _hash(text: str) -> str:
    from governance.models import Document

    return Document.hash_text(text)


def active_role(person: PersonInfo, on: int) -> RoleInfo | None:
    for role in person.roles:
        if role.start <= on and (role.end is None or on <= role.end):
            return role
    return None
