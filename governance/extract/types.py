"""What extraction finds, as plain typed records with exact spans into the text.

Every `start`/`end` pair indexes the text given to the pipeline:
text[start:end] is the evidence. `Extraction.as_json()` is the shape
`manage.py extract --json` prints (issue 4).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

MentionType = Literal["name", "capital", "demonym", "alias", "pronoun", "short"]


@dataclass(frozen=True)
class Mention:
    text: str
    start: int
    end: int
    type: str = "name"


@dataclass
class CountryFound:
    code: str  # ISO 3166-1 alpha-2
    mentions: list[Mention] = field(default_factory=list)


@dataclass
class PersonFound:
    name: str  # the full name, e.g. "Li Qiang"
    role: str = ""  # "Premier", "Vice Foreign Minister"
    affiliation: str = ""  # a country's name or an organization's: "China", "ASEAN"
    mentions: list[Mention] = field(default_factory=list)


@dataclass
class OrganizationFound:
    name: str
    kind: str = ""  # Organization.Kind values: intergovernmental, government, company, ...
    mentions: list[Mention] = field(default_factory=list)


@dataclass
class QuoteFound:
    speaker: str  # full name of a person, or a document/organization ("the declaration")
    text: str  # the quoted words, without the quote marks; == source[start:end]
    start: int
    end: int
    kind: Literal["direct", "partial"] = "direct"
    # Where the attribution was read (the cue: "Li said", "She also said:"), if anywhere.
    cue_start: int | None = None
    cue_end: int | None = None


@dataclass
class ProposalFound:
    proposer: str  # a country, organization or person as named in the text
    text: str  # the sentence (or clause) stating the proposal; == source[start:end]
    start: int
    end: int
    verb: str = ""  # proposed, adopted, signed, launched, released, ...
    items: list[str] = field(default_factory=list)  # action-plan points listed with it
    # Where a proposed body is to sit, as written ("Shanghai"); "" when not stated.
    headquarters: str = ""


@dataclass
class ParaphraseFound:
    """Reported speech without quote marks: "Ma said Beijing is considering ..."."""

    speaker: str  # a person's full name
    text: str  # the reported content; == source[start:end]
    start: int
    end: int
    verb: str = ""  # the speech or stance verb as written: "said", "emphasized"


@dataclass
class FigureFound:
    value: float | int
    qualifier: str  # "exact", "over", "more_than", "at_least", "about", "up_to", ...
    unit: str  # the counted noun: "companies", "large language models"
    start: int
    end: int


@dataclass
class DateFound:
    text: str
    date: date | None
    start: int
    end: int


@dataclass
class EventFound:
    """A conference, summit, forum or session, with every mention of it merged."""

    name: (
        str  # the full name as written, without a year: "World Artificial Intelligence Conference"
    )
    short_name: str = ""  # acronym given with it: "WAIC"
    year: str = ""  # "2025" when the text ties a year to the name
    city: str = ""  # the venue: "Shanghai"
    country: str = ""  # ISO alpha-2 when stated ("Shanghai, China") or the city is a capital
    theme: str = ""
    start_date: date | None = None
    end_date: date | None = None
    duration_days: int | None = None  # "three-day event"
    mentions: list[Mention] = field(default_factory=list)
    # Where the venue was read, for the host's evidence: "Shanghai" and "China".
    city_span: tuple[int, int] | None = None
    country_span: tuple[int, int] | None = None

    @property
    def display_name(self) -> str:
        return f"{self.name} {self.year}" if self.year else self.name


@dataclass
class ParticipationFound:
    """Who took part in an event or a proposal, and how (Participation.Role values)."""

    participant: str  # a country code, a person's full name or an organization's name
    participant_type: Literal["country", "person", "organization"]
    role: str
    subject: str  # the event's name, or the proposal's text
    subject_type: Literal["event", "proposal"]
    start: int  # the participant's own mention: text[start:end]
    end: int
    evidence_start: int  # the sentence (or clause) that says so
    evidence_end: int
    date: date | None = None
    # Read across sentences rather than stated ("The announcement came during the
    # opening ... Speaking at the event, Premier Li ..."): a weaker candidate.
    inferred: bool = False


@dataclass
class Extraction:
    language: str = "en"
    supported: bool = True  # False: not English, nothing extracted
    countries: list[CountryFound] = field(default_factory=list)
    people: list[PersonFound] = field(default_factory=list)
    organizations: list[OrganizationFound] = field(default_factory=list)
    quotes: list[QuoteFound] = field(default_factory=list)
    proposals: list[ProposalFound] = field(default_factory=list)
    figures: list[FigureFound] = field(default_factory=list)
    dates: list[DateFound] = field(default_factory=list)
    # Not part of as_json(): its shape is fixed by issue 4; these become Candidates only.
    events: list[EventFound] = field(default_factory=list)
    participation: list[ParticipationFound] = field(default_factory=list)
    paraphrases: list[ParaphraseFound] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The `manage.py extract --json` shape."""

        def pick(record: Any, *keys: str) -> dict[str, Any]:
            values = asdict(record)
            out = {k: values[k] for k in keys}
            if "mentions" in out:
                out["mentions"] = [
                    {k: m[k] for k in ("text", "start", "end", "type")} for m in out["mentions"]
                ]
            if isinstance(out.get("date"), date):
                out["date"] = out["date"].isoformat()
            return out

        return {
            "countries": [pick(c, "code", "mentions") for c in self.countries],
            "people": [pick(p, "name", "role", "affiliation", "mentions") for p in self.people],
            "organizations": [pick(o, "name", "kind", "mentions") for o in self.organizations],
            "quotes": [pick(q, "speaker", "text", "start", "end", "kind") for q in self.quotes],
            "proposals": [pick(p, "proposer", "text", "start", "end") for p in self.proposals],
            "figures": [
                pick(f, "value", "qualifier", "unit", "start", "end") for f in self.figures
            ],
            "dates": [pick(d, "text", "date", "start", "end") for d in self.dates],
        }
