"""Curation: turn extraction's Candidates into trusted curated records, and undo that.

Every decision is one transaction that locks its Candidate row first, so two curators
deciding the same candidate at once get exactly one Decision; the other is told who
was first. Each Decision lists every row it created or changed (`effects`), which is
what lets `undo` reverse it exactly, and every record's history names the Candidate
that changed it (simple-history change reason and user).

Effects, in the order they happened:
    {"candidate": 7, "record": {"model": "governance.person", "pk": "3"} | None}
        -- first entry: the record link extraction had set, restored on undo
    {"model": "governance.person", "pk": "12", "created": True}
    {"model": "governance.event", "pk": "4", "created": False, "history_id": 34,
     "after_history_id": 35, "fields": {"city": ""}}
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import TrigramWordSimilarity
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, models, transaction
from django.db.models import Q
from django.db.models.deletion import Collector, ProtectedError, RestrictedError
from django.utils import timezone

from governance import quotation
from governance.models import (
    ActionPlanItem,
    Candidate,
    Country,
    CountryAlias,
    Decision,
    Document,
    Event,
    EventFigure,
    Evidence,
    Organization,
    Participation,
    Person,
    Proposal,
    Role,
    Statement,
)
from governance.roles import is_admin
from governance.validation import MAX_BIGINT, MAX_SMALLINT

Kind = Candidate.Kind


class ReviewError(Exception):
    """A message for the curator (str(e)); .field_errors: dict[str, list[str]] for edit forms."""

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.field_errors: dict[str, list[str]] = field_errors or {}


class AlreadyDecided(ReviewError):
    """Another curator decided it first: message names who and when."""


@dataclass
class BulkResult:
    decided: list[Decision] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (candidate id, why)


@dataclass
class EditField:
    """One field of the accept-with-edits (and add-by-hand) form: a payload key, how to
    validate it, and what a curator is told about it."""

    key: str
    label: str
    kind: str  # "text" | "textarea" | "date" | "int" | "choice"
    choices: list[tuple[str, str]] | None = None
    required: bool = False
    max_length: int | None = None
    help: str = ""
    # An "int" field's largest value: its column's (a bigint unless said otherwise), so
    # a bigger one is a field error, not a database error.
    max_value: int = MAX_BIGINT


# --- Editable fields ----------------------------------------------------------------

PARTICIPANT_TYPES = [("country", "Country"), ("organization", "Organization"), ("person", "Person")]
SUBJECT_TYPES = [("event", "Event"), ("proposal", "Proposal")]
NAME_MAX = 200  # Person.name, Organization.name: what a name given here may create

_PUBLISHED = "Leave empty for the document's publication date."

_FIELDS: dict[str, list[EditField]] = {
    Kind.COUNTRY: [
        EditField(
            "code",
            "Country code (ISO alpha-2)",
            "text",
            required=True,
            max_length=100,
            help="Two letters, e.g. CN or US (a country's name works too); countries are "
            "reference data, so it must be one the tracker knows.",
        )
    ],
    Kind.PERSON: [
        EditField(
            "name",
            "Name",
            "text",
            required=True,
            max_length=NAME_MAX,
            help="The full name, e.g. Li Qiang; an existing person of that name is reused.",
        ),
        EditField(
            "role",
            "Role (title)",
            "text",
            max_length=200,
            help="Their title in the text, e.g. Premier; “former …” for a past role.",
        ),
        EditField(
            "affiliation",
            "Affiliation (country or organization)",
            "text",
            max_length=200,
            help="Where the role is held, e.g. China or UNESCO.",
        ),
    ],
    Kind.ORGANIZATION: [
        EditField(
            "name",
            "Name",
            "text",
            required=True,
            max_length=NAME_MAX,
            help="The full name, e.g. United Nations; an existing one of that name is reused.",
        ),
        EditField(
            "kind",
            "Kind of organization",
            "choice",
            list(Organization.Kind.choices),
            required=True,
        ),
    ],
    Kind.QUOTE: [
        EditField(
            "speaker",
            "Speaker",
            "text",
            required=True,
            max_length=NAME_MAX,
            help="The person who said it (added if new), or an organization speaking as one.",
        ),
        EditField(
            "text",
            "Text",
            "textarea",
            required=True,
            help="What was said. A direct quote's words must appear exactly in the evidence; "
            "a partial quote may mark its quoted words with quotation marks.",
        ),
        EditField(
            "kind",
            "Kind of statement",
            "choice",
            list(Statement.Kind.choices),
            required=True,
            help="Direct: the speaker's exact words; partial: reported speech with some "
            "quoted words; paraphrase: the reporter's words.",
        ),
        EditField(
            "quoted",
            "Quoted words (a partial quote's, one run per line)",
            "textarea",
            help="Only for a partial quote: each run exactly as in the evidence.",
        ),
        EditField("said_on", "Said on", "date", help=_PUBLISHED),
    ],
    Kind.PROPOSAL: [
        EditField(
            "title",
            "Title",
            "text",
            required=True,
            max_length=300,
            help="Its name, e.g. Global AI Governance Action Plan.",
        ),
        EditField("kind", "Kind of proposal", "choice", list(Proposal.Kind.choices), required=True),
        EditField("status", "Status", "choice", list(Proposal.Status.choices), required=True),
        EditField(
            "proposer",
            "Proposed by (country, organization or person)",
            "text",
            max_length=300,
            help="One already in the tracker, recorded as taking part; leave empty if unknown.",
        ),
        EditField("announced_on", "Announced on", "date", help=_PUBLISHED),
        EditField(
            "headquarters",
            "Proposed headquarters",
            "text",
            max_length=200,
            help="Where a proposed body is to sit, if the text says.",
        ),
        EditField("summary", "Summary", "textarea", help="Leave empty to use the evidence."),
    ],
    Kind.ACTION_ITEM: [
        EditField(
            "proposal",
            "Proposal (title)",
            "text",
            required=True,
            max_length=300,
            help="The title of a proposal already in the tracker.",
        ),
        EditField("heading", "Heading", "text", required=True, max_length=300),
        EditField(
            "position",
            "Position",
            "int",
            required=True,
            max_value=MAX_SMALLINT,
            help="Its number in the plan (1, 2, …).",
        ),
        EditField("text", "Text", "textarea"),
    ],
    Kind.PARTICIPATION: [
        EditField(
            "participant",
            "Participant (country code or name)",
            "text",
            required=True,
            max_length=NAME_MAX,
            help="A country, or an organization or person (added if new).",
        ),
        EditField("participant_type", "Participant type", "choice", PARTICIPANT_TYPES, True),
        EditField("role", "Role", "choice", list(Participation.Role.choices), required=True),
        EditField(
            "subject",
            "Proposal or event",
            "textarea",
            required=True,
            help="The title of a proposal, or the name of an event, already in the tracker.",
        ),
        EditField("subject_type", "Subject type", "choice", SUBJECT_TYPES, required=True),
        EditField("date", "Date", "date"),
    ],
    Kind.EVENT: [
        EditField(
            "name",
            "Name",
            "text",
            required=True,
            max_length=200,
            help="The full name without the year, e.g. World Artificial Intelligence Conference.",
        ),
        EditField("short_name", "Short name", "text", max_length=50, help="e.g. WAIC"),
        EditField("city", "City", "text", max_length=100),
        EditField("country", "Country (code or name)", "text", max_length=100),
        EditField("theme", "Theme", "text", max_length=300),
        EditField("start_date", "Starts", "date"),
        EditField("end_date", "Ends", "date"),
    ],
    Kind.FIGURE: [
        EditField(
            "event",
            "Event (name)",
            "text",
            required=True,
            max_length=300,
            help="The name of an event already in the tracker.",
        ),
        EditField(
            "label",
            "What is counted",
            "text",
            required=True,
            max_length=200,
            help="e.g. companies, exhibitors or visitors.",
        ),
        EditField(
            "value",
            "Value",
            "int",
            required=True,
            max_value=MAX_BIGINT,
            help="A whole number, e.g. 800.",
        ),
        EditField(
            "qualifier",
            "Qualifier",
            "choice",
            list(EventFigure.Qualifier.choices),
            required=True,
            help="How the text states it: exactly, over, about…",
        ),
    ],
    Kind.DATE: [],
}

# The kinds a curator can add by hand: every kind that becomes a record (a date only
# informs other facts).
HAND_KINDS = [(k, label) for k, label in Kind.choices if k != Kind.DATE]


def editable_fields(kind: str) -> list[EditField]:
    """The fields a curator may correct before accepting a candidate of `kind`."""
    return list(_FIELDS.get(kind, []))


def hand_payload(kind: str, values: dict[str, Any], evidence: str) -> dict[str, Any]:
    """The payload of a fact a curator adds by hand: the form's values (typed, as the
    edit form cleans them) in the shape extraction files that kind in, so that accepting
    reads it the same way and every key Candidate.REQUIRED_PAYLOAD_KEYS names is there."""
    payload = {key: _jsonable(v) for key, v in values.items() if v not in (None, "")}
    if kind == Kind.QUOTE:
        # Extraction files the quoted runs as a list; the form has one run per line.
        lines = str(values.get("quoted") or "").splitlines()
        payload["quoted"] = [line.strip() for line in lines if line.strip()]
    elif kind == Kind.PROPOSAL:
        # Extraction's text is the sentence stating the proposal: the evidence here. An
        # unknown proposer is recorded as none, as extraction does.
        payload["text"] = evidence
        payload.setdefault("proposer", "")
    elif kind == Kind.FIGURE:
        # What is counted is extraction's unit ("companies"), which the label defaults to.
        payload["unit"] = payload.get("label", "")
    return payload


def edit_initial(candidate: Candidate) -> dict[str, Any]:
    """The values the accept-with-edits form starts from: the payload, plus what accept
    would derive when the payload is silent (a proposal's title, a quote's date...)."""
    payload = candidate.payload or {}
    published = _published(candidate.document)
    initial: dict[str, Any] = {}
    for spec in editable_fields(candidate.kind):
        initial[spec.key] = payload.get(spec.key)
    kind = candidate.kind
    if kind == Kind.ORGANIZATION:
        initial["kind"] = _choice(payload.get("kind"), Organization.Kind, "other")
    elif kind == Kind.QUOTE:
        initial["kind"] = _statement_kind(payload.get("kind", ""))
        initial["quoted"] = "\n".join(payload.get("quoted") or [])
        initial["said_on"] = payload.get("said_on") or published
    elif kind == Kind.PROPOSAL:
        text = payload.get("text", "")
        initial["title"] = payload.get("title") or _proposal_title(text)
        initial["kind"] = _choice(payload.get("kind"), Proposal.Kind, "") or _proposal_kind(
            initial["title"], text, payload.get("verb", "")
        )
        initial["status"] = _choice(payload.get("status"), Proposal.Status, "") or (
            _proposal_status(payload.get("verb", ""))
        )
        initial["announced_on"] = payload.get("announced_on") or published
        initial["summary"] = payload.get("summary") or text
    elif kind == Kind.ACTION_ITEM:
        proposal = _find_proposal(payload.get("proposal", ""), candidate.document)
        initial["proposal"] = proposal.title if proposal else payload.get("proposal", "")
    elif kind == Kind.EVENT:
        country = _find_country(payload.get("country") or "")
        initial["country"] = country.code if country else payload.get("country", "")
    elif kind == Kind.FIGURE:
        initial["label"] = payload.get("label") or payload.get("unit", "")
        initial["qualifier"] = _choice(payload.get("qualifier"), EventFigure.Qualifier, "exact")
        event = _document_event(candidate.document)
        initial["event"] = payload.get("event") or (event.name if event else "")
    errors: dict[str, list[str]] = {}
    cleaned = _clean(kind, initial, errors, check_required=False)
    return {key: cleaned.get(key, initial.get(key)) for key in initial}


def _choice(value: Any, choices: type[models.TextChoices], default: str) -> str:
    return value if value in choices.values else default


def _clean(
    kind: str, values: dict[str, Any], errors: dict[str, list[str]], *, check_required: bool
) -> dict[str, Any]:
    """Typed values for the editable fields in `values`; problems go to `errors`."""
    specs = {spec.key: spec for spec in editable_fields(kind)}
    cleaned: dict[str, Any] = {}
    for key, raw in values.items():
        spec = specs.get(key)
        if spec is None:
            errors.setdefault(key, []).append(f"Not an editable field of a {kind} candidate.")
            continue
        value: Any = raw
        if spec.kind in ("text", "textarea", "choice"):
            value = "" if raw is None else str(raw).strip()
            if spec.max_length and len(value) > spec.max_length:
                errors.setdefault(key, []).append(
                    f"At most {spec.max_length} characters ({len(value)} given)."
                )
            if spec.kind == "choice" and value and value not in {c for c, _ in spec.choices or []}:
                errors.setdefault(key, []).append(f"“{value}” is not one of the choices.")
        elif spec.kind == "date":
            value = _to_date(raw)
            if value is _INVALID:
                errors.setdefault(key, []).append("Enter a date as YYYY-MM-DD.")
        elif spec.kind == "int":
            value = _to_int(raw)
            if value is _INVALID:
                errors.setdefault(key, []).append("Enter a whole number, 0 or more.")
            elif value is not None and value > spec.max_value:
                errors.setdefault(key, []).append(f"At most {spec.max_value:,}.")
        if check_required and spec.required and value in (None, ""):
            errors.setdefault(key, []).append("This field is required.")
        cleaned[key] = value
    return cleaned


_INVALID: Any = object()


def _to_date(raw: Any) -> date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        return _INVALID


def _to_int(raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, bool):
        return _INVALID
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int):
        return raw if raw >= 0 else _INVALID
    # ASCII digits only (int() would read "٣"); thousands separators allowed.
    text = str(raw).strip().replace(",", "")
    if not re.fullmatch(r"[0-9]{1,30}", text):
        return _INVALID
    return int(text)


# --- Resolving names to curated records ---------------------------------------------


def _live(record: models.Model | None) -> Any:
    """The record itself, or the survivor it was merged into."""
    seen = 0
    while record is not None and getattr(record, "merged_into_id", None) and seen < 10:
        record, seen = record.merged_into, seen + 1
    return record


def _published(document: Document) -> date | None:
    return timezone.localdate(document.published_at) if document.published_at else None


def _find_country(name: str) -> Country | None:
    """A country by code, name or alias; unambiguous aliases first."""
    name = (name or "").strip()
    if not name:
        return None
    if len(name) == 2 and (country := Country.objects.filter(code=name.upper()).first()):
        return country
    country = Country.objects.filter(Q(name__iexact=name) | Q(official_name__iexact=name)).first()
    if country:
        return country
    alias = (
        CountryAlias.objects.filter(alias__iexact=name)
        .select_related("country")
        .order_by("ambiguous", "kind")
        .first()
    )
    return alias.country if alias else None


def _find_person(name: str) -> Person | None:
    name = (name or "").strip()
    if not name:
        return None
    return _live(
        Person.objects.filter(Q(name__iexact=name) | Q(aliases__contains=[name]))
        .order_by("merged_into", "pk")
        .first()
    )


def _find_organization(name: str) -> Organization | None:
    name = (name or "").strip()
    if not name:
        return None
    return _live(
        Organization.objects.filter(Q(name__iexact=name) | Q(aliases__contains=[name]))
        .order_by("merged_into", "pk")
        .first()
    )


def _find_event(name: str, *, short_name: str = "", year: str = "") -> Event | None:
    """By full name, then short name with the year ("WAIC 2025"), then the name alone."""
    tries = [name, f"{short_name} {year}".strip() if short_name and year else "", short_name]
    for attempt in tries:
        if not attempt:
            continue
        found = Event.objects.filter(Q(name__iexact=attempt) | Q(short_name__iexact=attempt))
        if year:
            found = found.filter(Q(start_date__isnull=True) | Q(start_date__year=int(year)))
        if event := found.order_by("merged_into", "pk").first():
            return _live(event)
    return None


def _find_proposal(text: str, document: Document | None = None) -> Proposal | None:
    """A proposal named or described by `text`: its title or an alias; the proposal a
    decided candidate of the same sentence became; one whose evidence in the document
    overlaps the sentence; or one whose title the sentence contains."""
    text = (text or "").strip()
    if not text:
        return None
    exact = Proposal.objects.filter(Q(title__iexact=text) | Q(aliases__contains=[text]))
    if proposal := exact.order_by("merged_into", "pk").first():
        return _live(proposal)
    if document is not None:
        proposal_type = ContentType.objects.get_for_model(Proposal)
        decided = Candidate.objects.filter(
            document=document,
            kind=Kind.PROPOSAL,
            status=Candidate.Status.ACCEPTED,
            record_type=proposal_type,
        )
        for candidate in decided:
            same = (candidate.payload.get("text") or "")[:300] == text[:300]
            if same and (proposal := Proposal.objects.filter(pk=candidate.record_id).first()):
                return _live(proposal)
        at = document.text.find(text)
        if at >= 0:
            evidence = Evidence.objects.filter(
                document=document,
                content_type=proposal_type,
                start__lt=at + len(text),
                end__gt=at,
            ).first()
            if evidence and (proposal := Proposal.objects.filter(pk=evidence.object_id).first()):
                return _live(proposal)
    contained = (
        Proposal.objects.alias(haystack=models.Value(text))
        .filter(haystack__icontains=models.F("title"))
        .order_by("merged_into", "pk")
        .first()
    )
    return _live(contained)


def _document_event(document: Document) -> Event | None:
    """The event a document is about: what its accepted event candidate became, else the
    event with evidence in it, else the one its event candidate names."""
    event_type = ContentType.objects.get_for_model(Event)
    decided = Candidate.objects.filter(
        document=document, kind=Kind.EVENT, status=Candidate.Status.ACCEPTED, record_type=event_type
    ).first()
    if decided and (event := Event.objects.filter(pk=decided.record_id).first()):
        return _live(event)
    evidence = Evidence.objects.filter(document=document, content_type=event_type).first()
    if evidence and (event := Event.objects.filter(pk=evidence.object_id).first()):
        return _live(event)
    for candidate in Candidate.objects.filter(document=document, kind=Kind.EVENT):
        payload = candidate.payload
        event = _find_event(
            payload.get("name", ""),
            short_name=payload.get("short_name", ""),
            year=payload.get("year", ""),
        )
        if event:
            return event
    return None


def _statement_kind(kind: str) -> str:
    return {
        "direct": Statement.Kind.DIRECT_QUOTE,
        "partial": Statement.Kind.PARTIAL_QUOTE,
        "paraphrase": Statement.Kind.PARAPHRASE,
    }.get(kind, kind if kind in Statement.Kind.values else Statement.Kind.DIRECT_QUOTE)


_QUOTED_TITLE = re.compile(r"[“\"‘]([A-Z][^”\"’]{3,200}?)[,.]?[”\"’]")


def _proposal_title(text: str) -> str:
    """A proposal's title: the capitalized name quoted in its sentence ("Action Plan for
    Global AI Governance"), else the sentence itself for the curator to shorten."""
    if match := _QUOTED_TITLE.search(text):
        return match.group(1).strip().rstrip(",.")
    return " ".join(text.split()).rstrip(".")[:300]


def _proposal_kind(title: str, text: str, verb: str) -> str:
    words = f"{title} {text}".lower()
    for needle, kind in (
        ("action plan", Proposal.Kind.ACTION_PLAN),
        ("declaration", Proposal.Kind.DECLARATION),
        ("resolution", Proposal.Kind.RESOLUTION),
        ("export", Proposal.Kind.EXPORT_CONTROL),
        ("treaty", Proposal.Kind.TREATY),
        ("convention", Proposal.Kind.TREATY),
        ("framework", Proposal.Kind.FRAMEWORK),
        ("principles", Proposal.Kind.FRAMEWORK),
        ("organization", Proposal.Kind.INTERNATIONAL_BODY),
        ("body", Proposal.Kind.INTERNATIONAL_BODY),
        ("regulation", Proposal.Kind.REGULATION),
    ):
        if needle in words:
            return kind
    return Proposal.Kind.OTHER


def _proposal_status(verb: str) -> str:
    verb = verb.lower()
    if verb in {"imposed", "enacted", "enforced"}:
        return Proposal.Status.IN_FORCE
    if verb in {"adopted", "signed", "released", "launched", "issued", "published", "unveiled"}:
        return Proposal.Status.ADOPTED
    return Proposal.Status.PROPOSED


def _proposer_role(verb: str) -> str:
    """A proposal's author proposes it, or issues it when it is already in effect."""
    if verb.lower() in {"proposed", "suggested", "called", "put forward", "floated", "urged"}:
        return Participation.Role.PROPOSER
    return Participation.Role.ISSUER if verb else Participation.Role.PROPOSER


def _sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (or line) around text[start:end], for evidence that needs context."""
    left = max(text.rfind("\n", 0, start), text.rfind(". ", 0, start) + 1)
    left = left + 1 if left >= 0 else 0
    while left < start and text[left].isspace():
        left += 1
    stops = [i for i in (text.find(". ", end), text.find("\n", end)) if i >= 0]
    right = min(stops) + (1 if stops and text[min(stops)] == "." else 0) if stops else len(text)
    return left, max(right, end)


def _label(record: models.Model) -> str:
    return record._meta.label_lower


def _claim(record: models.Model) -> str:
    return f"{record._meta.verbose_name.capitalize()}: {record}"[:300]


# --- Writing, with effects ------------------------------------------------------------


class _Writer:
    """The decision being made: writes rows with history naming the candidate, and keeps
    the list of effects that undo reverses."""

    def __init__(self, candidate: Candidate, user: Any, values: dict[str, Any]) -> None:
        self.candidate = candidate
        self.user = user
        self.values = values
        self.document = candidate.document
        self.reason = f"candidate {candidate.pk}"
        self.effects: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.forced: dict[str, models.Model] = {}  # parents chosen by `link`

    def _stamp(self, obj: models.Model) -> None:
        obj._change_reason = self.reason
        obj._history_user = self.user

    def create(self, obj: models.Model) -> Any:
        try:
            obj.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            errors = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
            raise ReviewError(
                f"Cannot create the {obj._meta.verbose_name}: "
                + "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()),
                field_errors=errors,
            ) from exc
        self._stamp(obj)
        obj.save()
        self.effects.append({"model": _label(obj), "pk": str(obj.pk), "created": True})
        return obj

    def get_or_create(
        self, model: type[models.Model], lookup: dict[str, Any], **values: Any
    ) -> Any:
        existing = model._default_manager.filter(**lookup).first()
        if existing is not None:
            return existing
        return self.create(model(**lookup, **values))

    def fill(self, obj: models.Model, changes: dict[str, Any]) -> None:
        """Set fields that are still blank (curated values always win), with history."""
        blank = {
            k: v
            for k, v in changes.items()
            if v not in (None, "") and getattr(obj, k) in ("", None)
        }
        self.update(obj, blank)

    def update(self, obj: models.Model, changes: dict[str, Any]) -> None:
        changes = {k: v for k, v in changes.items() if getattr(obj, k) != v}
        if not changes:
            return
        before = obj.history.order_by("-history_date", "-history_id").first()
        fields = {}
        for name in changes:
            model_field = obj._meta.get_field(name)
            fields[model_field.attname] = _jsonable(getattr(obj, model_field.attname))
        for name, value in changes.items():
            setattr(obj, name, value)
        self._stamp(obj)
        obj.save()
        after = obj.history.order_by("-history_date", "-history_id").first()
        self.effects.append(
            {
                "model": _label(obj),
                "pk": str(obj.pk),
                "created": False,
                "history_id": before.history_id if before else None,
                "after_history_id": after.history_id if after else None,
                "fields": fields,
            }
        )

    def evidence(self, record: models.Model, start: int, end: int) -> Evidence:
        """Evidence for `record` at document.text[start:end]; reused if already there."""
        content_type = ContentType.objects.get_for_model(record)
        lookup = {
            "content_type": content_type,
            "object_id": str(record.pk),
            "document": self.document,
            "start": start,
            "end": end,
        }
        existing = Evidence.objects.filter(**lookup).first()
        if existing:
            return existing
        return self.create(
            Evidence(**lookup, excerpt=self.document.text[start:end], claim=_claim(record))
        )

    def own_evidence(self, record: models.Model) -> Evidence:
        candidate = self.candidate
        return self.evidence(record, candidate.start, candidate.end)


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


# --- Accepting, per kind ----------------------------------------------------------


def _extraction_record(candidate: Candidate, model: type[models.Model]) -> Any:
    """The record extraction already matched the candidate to, when of the right type."""
    if candidate.record_type_id and candidate.record_type.model_class() is model:
        return _live(model._default_manager.filter(pk=candidate.record_id).first())
    return None


def _accept_country(w: _Writer) -> models.Model:
    code = w.values.get("code", "")
    country = _find_country(code)
    if country is None:
        raise ReviewError(
            f"No country with the code “{code}”; countries are reference data.",
            field_errors={"code": ["Unknown country code."]},
        )
    w.own_evidence(country)
    return country


def _person_or_create(w: _Writer, name: str) -> Person:
    return _find_person(name) or w.create(Person(name=name))


def _accept_person(w: _Writer) -> models.Model:
    name = w.values["name"]
    # An edited name is a correction of whom extraction matched.
    matched = None if "name" in w.values["_edited"] else _extraction_record(w.candidate, Person)
    person = matched or _person_or_create(w, name)
    w.own_evidence(person)
    title = (w.values.get("role") or "").strip()
    if title:
        role = _role(w, person, title, w.values.get("affiliation") or "")
        text = w.document.text
        w.evidence(role, *_sentence(text, w.candidate.start, w.candidate.end))
    return person


def _role(w: _Writer, person: Person, title: str, affiliation: str) -> Role:
    """The person's role from "Premier" + "China": reuse one with the same title and
    place, else create it. "former CEO" is a former role titled CEO."""
    former = title.lower().startswith("former ")
    if former:
        title = title[len("former ") :].strip()
    country = organization = None
    if affiliation:
        organization = _find_organization(affiliation)
        country = None if organization else _find_country(affiliation)
        if organization is None and country is None:
            w.notes.append(f"Affiliation “{affiliation}” not found; the role has no place.")
    existing = Role.objects.filter(
        person=person, title__iexact=title, organization=organization, country=country
    ).first()
    if existing:
        return existing
    # A seeded role may name both the organization and its country ("Vice Foreign
    # Minister" of the Ministry, in China): a role with the same title counts.
    same_title = Role.objects.filter(person=person, title__iexact=title)
    if organization:
        same_title = same_title.filter(organization=organization)
    elif country:
        same_title = same_title.filter(Q(country=country) | Q(organization__country=country))
    if existing := same_title.first():
        return existing
    return w.create(
        Role(person=person, title=title, organization=organization, country=country, former=former)
    )


def _accept_organization(w: _Writer) -> models.Model:
    name = w.values["name"]
    org = (
        _extraction_record(w.candidate, Organization)
        or _find_organization(name)
        or w.create(Organization(name=name, kind=w.values["kind"]))
    )
    w.own_evidence(org)
    return org


def _speaker_role(person: Person) -> Role | None:
    """The role a speaker holds now: the current one, preferring one tied to a country."""
    roles = person.roles.filter(former=False, end_date__isnull=True).select_related("organization")
    ranked = sorted(roles, key=lambda r: r.country_id is None and r.organization_id is None)
    return ranked[0] if ranked else None


def _quotation(w: _Writer) -> tuple[str, str, list[str]]:
    """(kind, text, quoted runs) of the statement to file, checked against the candidate's
    span: every quoted run verbatim in it, no quotation mark outside a run. A text written
    with marks around some words (an extracted paraphrase holding a quoted phrase, or a
    curator's edit) is a partial quote: the marks come out of the text and the words they
    held become its runs. A partial quote without runs (extraction files the quoted words
    alone) quotes its whole text."""
    values = w.values
    kind, text = values["kind"], values["text"]
    quoted = values.get("quoted") or []
    if isinstance(quoted, str):
        quoted = [line.strip() for line in quoted.splitlines() if line.strip()]
    if kind in (Statement.Kind.PARAPHRASE, Statement.Kind.PARTIAL_QUOTE):
        plain, runs = quotation.split_marked(text)
        if runs:
            kind, text, quoted = Statement.Kind.PARTIAL_QUOTE, plain, runs
    if kind == Statement.Kind.PARTIAL_QUOTE and not quoted:
        quoted = [text]
    if kind != Statement.Kind.PARTIAL_QUOTE:
        quoted = []
    span = w.document.text[w.candidate.start : w.candidate.end]
    try:
        quotation.check(kind, text, quoted, [span])
    except quotation.QuotationError as exc:
        raise ReviewError(
            f"Not filed: {exc}", field_errors={"text": [str(exc)], "quoted": [str(exc)]}
        ) from exc
    return kind, text, quoted


def _accept_quote(w: _Writer) -> models.Model:
    values = w.values
    said_on = values.get("said_on")
    speaker_name = values["speaker"]
    edited = set(values.get("_edited", ()))
    unchanged = (
        not edited & {"text", "speaker", "kind", "quoted", "said_on"} and "speaker" not in w.forced
    )
    if unchanged and (statement := _extraction_record(w.candidate, Statement)):
        w.own_evidence(statement)
        return statement
    kind, text, quoted = _quotation(w)
    speaker: Person | None = w.forced.get("speaker")  # type: ignore[assignment]
    on_behalf_org = None
    if speaker is None:
        if "speaker" not in edited and values.get("speaker_id"):
            speaker = _live(Person.objects.filter(pk=values["speaker_id"]).first())
        speaker = speaker or _find_person(speaker_name)
        if speaker is None:
            on_behalf_org = _find_organization(speaker_name)
            speaker = None if on_behalf_org else w.create(Person(name=speaker_name))
    fingerprint = Statement.make_fingerprint(speaker.pk if speaker else None, said_on, kind, text)
    statement = Statement.objects.filter(fingerprint=fingerprint).first()
    if statement is None:
        role = _speaker_role(speaker) if speaker else None
        country = role.country if role else None
        government = role.organization if role and role.organization else None
        if country is None and government and government.kind == Organization.Kind.GOVERNMENT:
            country = government.country
        statement = w.create(
            Statement(
                speaker=speaker,
                speaker_role=role,
                on_behalf_of_country=country,
                on_behalf_of_organization=on_behalf_org,
                kind=kind,
                text=text,
                quoted=quoted,
                said_on=said_on,
            )
        )
        # Analysts browse, follow and get digests by proposal: a quote about one is filed
        # under it. Links are rows of this decision, so undo removes them first.
        link = Statement.proposals.through
        for proposal in _proposals_named(_paragraph_of(w.document.text, w.candidate.start)):
            w.create(link(statement=statement, proposal=proposal))
    w.own_evidence(statement)
    return statement


def _paragraph_of(text: str, position: int) -> str:
    """The paragraph (one per line in stored text) holding `position`."""
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return text[start : end if end != -1 else len(text)]


def _proposals_named(text: str) -> list[Proposal]:
    """Live proposals whose title or an alias appears in `text` (case-insensitive)."""
    lowered = text.lower()
    return [
        proposal
        for proposal in Proposal.objects.filter(merged_into__isnull=True).only(
            "pk", "title", "aliases"
        )
        if any(
            len(name) >= 8 and name.lower() in lowered
            for name in (proposal.title, *proposal.aliases)
        )
    ]


def _participant(w: _Writer, name: str, kind: str) -> dict[str, Any]:
    """The participant as Participation fields, found (a person or organization is
    created when missing; countries never are)."""
    if kind == "country":
        country = _find_country(name)
        if country is None:
            raise ReviewError(
                f"No country “{name}”.", field_errors={"participant": ["Unknown country."]}
            )
        return {"country": country}
    if kind == "organization":
        org = _find_organization(name)
        if org is None:
            found_kind = Candidate.objects.filter(
                document=w.document, kind=Kind.ORGANIZATION, payload__name=name
            ).values_list("payload__kind", flat=True)
            org_kind = _choice(next(iter(found_kind), ""), Organization.Kind, "other")
            org = w.create(Organization(name=name, kind=org_kind))
        return {"organization": org}
    return {"person": _person_or_create(w, name)}


def _participant_of_proposer(w: _Writer, name: str) -> dict[str, Any] | None:
    if country := _find_country(name):
        return {"country": country}
    if org := _find_organization(name):
        return {"organization": org}
    if person := _find_person(name):
        return {"person": person}
    return None


def _participation(
    w: _Writer, subject: dict[str, Any], participant: dict[str, Any], role: str, day: Any
) -> Participation:
    lookup = {
        "proposal": None,
        "event": None,
        "country": None,
        "organization": None,
        "person": None,
        **subject,
        **participant,
        "role": role,
    }
    return w.get_or_create(Participation, lookup, date=day)


def _accept_proposal(w: _Writer) -> models.Model:
    values = w.values
    title = values["title"]
    # The sentence is a fallback for extraction, whose candidates carry no title; a title
    # the curator typed (by hand) names the proposal, so an older proposal the sentence
    # happens to mention is not taken for it.
    by_sentence = "title" not in w.candidate.payload
    proposal = (
        _extraction_record(w.candidate, Proposal)
        or _find_proposal(title, w.document)
        or (by_sentence and _find_proposal(w.candidate.payload.get("text", ""), w.document))
        or None
    )
    fields = {
        "announced_on": values.get("announced_on"),
        "proposed_headquarters": values.get("headquarters") or "",
        "summary": values.get("summary") or "",
    }
    if proposal is None:
        proposal = w.create(
            Proposal(title=title, kind=values["kind"], status=values["status"], **fields)
        )
    else:
        w.fill(proposal, fields)
    w.own_evidence(proposal)
    proposer = (values.get("proposer") or "").strip()
    if proposer:
        participant = _participant_of_proposer(w, proposer)
        if participant is None:
            w.notes.append(f"Proposer “{proposer}” not found; no participation recorded.")
        else:
            role = _proposer_role(w.candidate.payload.get("verb", ""))
            part = _participation(
                w, {"proposal": proposal}, participant, role, values.get("announced_on")
            )
            w.own_evidence(part)
    return proposal


def _accept_action_item(w: _Writer) -> models.Model:
    values = w.values
    proposal = w.forced.get("proposal") or _find_proposal(values["proposal"], w.document)
    if proposal is None:
        raise ReviewError(
            "This item's proposal is not curated yet: accept the proposal first, "
            "or edit the item to name an existing proposal.",
            field_errors={"proposal": ["No curated proposal has this title."]},
        )
    heading = values["heading"]
    item = ActionPlanItem.objects.filter(proposal=proposal, heading__iexact=heading).first()
    if item is None:
        position = values["position"]
        taken = ActionPlanItem.objects.filter(proposal=proposal, position=position).first()
        if taken and "position" in values.get("_edited", ()):
            raise ReviewError(
                f"Position {position} of “{proposal}” already holds “{taken.heading}”.",
                field_errors={"position": ["This position is taken."]},
            )
        if taken:
            last = proposal.items.aggregate(m=models.Max("position"))["m"] or 0
            w.notes.append(f"Position {position} was taken; added as item {last + 1}.")
            position = last + 1
        item = w.create(
            ActionPlanItem(
                proposal=proposal, position=position, heading=heading, text=values.get("text") or ""
            )
        )
    w.own_evidence(item)
    return item


def _accept_participation(w: _Writer) -> models.Model:
    values = w.values
    subject_name, subject_type = values["subject"], values["subject_type"]
    subject_record = w.forced.get("subject")
    if subject_record is None:
        if subject_type == "event":
            subject_record = _find_event(subject_name)
        else:
            subject_record = _find_proposal(subject_name, w.document)
    if subject_record is None:
        raise ReviewError(
            f"The {subject_type} this participation is about is not curated yet: accept it "
            f"first, or edit the subject to name an existing one.",
            field_errors={"subject": [f"No curated {subject_type} matches."]},
        )
    key = "event" if isinstance(subject_record, Event) else "proposal"
    participant = _participant(w, values["participant"], values["participant_type"])
    part = _participation(w, {key: subject_record}, participant, values["role"], values.get("date"))
    text = w.document.text
    sentence = w.candidate.payload.get("evidence") or ""
    at = text.rfind(sentence, 0, w.candidate.end + len(sentence)) if sentence else -1
    if sentence and 0 <= at <= w.candidate.start and at + len(sentence) >= w.candidate.end:
        w.evidence(part, at, at + len(sentence))
    else:
        w.own_evidence(part)
    return part


def _accept_event(w: _Writer) -> models.Model:
    values = w.values
    payload = w.candidate.payload
    country = _find_country(values.get("country") or "")
    fields = {
        "short_name": values.get("short_name") or "",
        "city": values.get("city") or "",
        "country": country,
        "theme": values.get("theme") or "",
        "start_date": values.get("start_date"),
        "end_date": values.get("end_date"),
    }
    event = _extraction_record(w.candidate, Event) or _find_event(
        values["name"], short_name=payload.get("short_name", ""), year=payload.get("year", "")
    )
    if event is None:
        event = w.create(Event(name=values["name"], **fields))
    else:
        w.fill(event, fields)
    w.own_evidence(event)
    return event


def _accept_figure(w: _Writer) -> models.Model:
    values = w.values
    event = w.forced.get("event") or _find_event(values["event"])
    if event is None:
        raise ReviewError(
            "This figure's event is not curated yet: accept the event first, or edit the "
            "figure to name an existing event.",
            field_errors={"event": ["No curated event has this name."]},
        )
    figure = EventFigure.objects.filter(event=event, label__iexact=values["label"]).first()
    if figure is None:
        figure = w.create(
            EventFigure(
                event=event,
                label=values["label"],
                value=values["value"],
                qualifier=values["qualifier"],
            )
        )
    else:
        w.update(figure, {"value": values["value"], "qualifier": values["qualifier"]})
    w.own_evidence(figure)
    return figure


def _accept_date(w: _Writer) -> None:
    w.notes.append("dates inform other facts")
    return None


_ACCEPT: dict[str, Callable[[_Writer], models.Model | None]] = {
    Kind.COUNTRY: _accept_country,
    Kind.PERSON: _accept_person,
    Kind.ORGANIZATION: _accept_organization,
    Kind.QUOTE: _accept_quote,
    Kind.PROPOSAL: _accept_proposal,
    Kind.ACTION_ITEM: _accept_action_item,
    Kind.PARTICIPATION: _accept_participation,
    Kind.EVENT: _accept_event,
    Kind.FIGURE: _accept_figure,
    Kind.DATE: _accept_date,
}

# Which existing records a candidate of each kind may be linked to. The first model is
# the record itself (evidence is added to it); the others are parents the fact is
# recorded under (a quote under its speaker, an item under its proposal...).
_LINKABLE: dict[str, dict[type[models.Model], str]] = {
    Kind.COUNTRY: {Country: ""},
    Kind.PERSON: {Person: ""},
    Kind.ORGANIZATION: {Organization: ""},
    Kind.QUOTE: {Statement: "", Person: "speaker"},
    Kind.PROPOSAL: {Proposal: ""},
    Kind.ACTION_ITEM: {ActionPlanItem: "", Proposal: "proposal"},
    Kind.PARTICIPATION: {Participation: "", Proposal: "subject", Event: "subject"},
    Kind.EVENT: {Event: ""},
    Kind.FIGURE: {EventFigure: "", Event: "event"},
    Kind.DATE: {},
}

# The order bulk accept decides in: what others depend on first.
KIND_ORDER = [
    Kind.COUNTRY,
    Kind.ORGANIZATION,
    Kind.PERSON,
    Kind.EVENT,
    Kind.PROPOSAL,
    Kind.QUOTE,
    Kind.FIGURE,
    Kind.ACTION_ITEM,
    Kind.PARTICIPATION,
    Kind.DATE,
]


# --- Public API ----------------------------------------------------------------------


def _lock_pending(candidate_id: int) -> Candidate:
    """The candidate, row-locked until the transaction ends; AlreadyDecided if it is not
    pending any more (the other curator's lock was released by their commit)."""
    try:
        candidate = (
            Candidate.objects.select_for_update(of=("self",))
            .select_related("document")
            .get(pk=candidate_id)
        )
    except Candidate.DoesNotExist as exc:
        raise ReviewError(f"Candidate {candidate_id} no longer exists.") from exc
    if candidate.status != Candidate.Status.PENDING:
        # Read the decider after the lock: a row joined in the locking query would be
        # from before the other curator's commit.
        candidate.refresh_from_db(fields=["decided_by", "decided_at", "status"])
        who = candidate.decided_by.get_username() if candidate.decided_by else "someone"
        when = timezone.localtime(candidate.decided_at) if candidate.decided_at else None
        at = f" at {when:%Y-%m-%d %H:%M}" if when else ""
        raise AlreadyDecided(f"Already {candidate.status} by {who}{at}.")
    return candidate


def _values(candidate: Candidate, edits: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """The payload with derived defaults and the curator's edits, typed and validated;
    and the keys whose value the edits actually changed."""
    initial = edit_initial(candidate)
    errors: dict[str, list[str]] = {}
    cleaned = _clean(candidate.kind, edits or {}, errors, check_required=False)
    merged = {**initial, **cleaned}
    _clean(candidate.kind, merged, errors, check_required=True)
    if candidate.kind == Kind.EVENT:
        start, end = merged.get("start_date"), merged.get("end_date")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            errors.setdefault("end_date", []).append("The end is before the start.")
    if errors:
        raise ReviewError(
            "Please correct the highlighted fields.",
            field_errors={k: list(dict.fromkeys(v)) for k, v in errors.items()},
        )
    edited = [k for k in cleaned if cleaned[k] != initial.get(k)]
    return {**candidate.payload, **merged, "_edited": edited}, edited


def _finish(
    w: _Writer,
    *,
    action: str,
    status: str,
    record: models.Model | None,
    note: str,
) -> Decision:
    candidate = w.candidate
    original = None
    if candidate.record_type_id:
        original = {"model": candidate.record_type.model_class()._meta.label_lower}
        original["pk"] = candidate.record_id
    effects = [{"candidate": candidate.pk, "record": original}, *w.effects]
    now = timezone.now()
    candidate.status = status
    candidate.decided_by = w.user
    candidate.decided_at = now
    candidate.decision_note = note
    if record is not None:
        candidate.record_type = ContentType.objects.get_for_model(record)
        candidate.record_id = str(record.pk)
    candidate.save()
    return Decision.objects.create(
        candidate=candidate, user=w.user, action=action, note=note, effects=effects, created_at=now
    )


def accept(candidate_id: int, *, user: Any, edits: dict[str, Any] | None = None) -> Decision:
    """Accept a candidate: create or reuse its curated record (by natural key), with
    Evidence at the candidate's span. With `edits`, the curator's corrections override
    the payload; bad input raises ReviewError with field_errors and writes nothing."""
    with transaction.atomic():
        candidate = _lock_pending(candidate_id)
        values, edited = _values(candidate, edits)
        w = _Writer(candidate, user, values)
        record = _ACCEPT[candidate.kind](w)
        notes = list(w.notes)
        if edited:
            notes.insert(0, f"Edited: {', '.join(edited)}.")
        action = Decision.Action.ACCEPT_EDITED if edited else Decision.Action.ACCEPT
        return _finish(
            w, action=action, status=Candidate.Status.ACCEPTED, record=record, note=" ".join(notes)
        )


def link(candidate_id: int, *, user: Any, record: models.Model) -> Decision:
    """Accept a candidate as a fact about an existing record: its evidence goes on
    `record` (or, for a parent such as a quote's speaker, the fact is recorded under it)."""
    with transaction.atomic():
        candidate = _lock_pending(candidate_id)
        linkable = _LINKABLE.get(candidate.kind, {})
        record = _live(record)
        role = next((r for m, r in linkable.items() if isinstance(record, m)), None)
        if role is None:
            allowed = ", ".join(m._meta.verbose_name for m in linkable) or "nothing"
            raise ReviewError(
                f"A {candidate.get_kind_display().lower()} candidate cannot be linked to a "
                f"{record._meta.verbose_name}; it can be linked to: {allowed}."
            )
        values, _ = _values(candidate, None)
        w = _Writer(candidate, user, values)
        if role:
            w.forced[role] = record
            result = _ACCEPT[candidate.kind](w)
        else:
            if candidate.kind == Kind.PARTICIPATION:
                text, sentence = candidate.document.text, candidate.payload.get("evidence", "")
                at = text.find(sentence) if sentence else -1
                if at >= 0 and at <= candidate.start and at + len(sentence) >= candidate.end:
                    w.evidence(record, at, at + len(sentence))
                else:
                    w.own_evidence(record)
            else:
                w.own_evidence(record)
            result = record
        note = f"Linked to {record._meta.verbose_name} “{record}”."
        if w.notes:
            note = f"{note} {' '.join(w.notes)}"
        return _finish(
            w,
            action=Decision.Action.LINK,
            status=Candidate.Status.ACCEPTED,
            record=result,
            note=note,
        )


def reject(candidate_id: int, *, user: Any, reason: str) -> Decision:
    """Reject a candidate; the reason is required, for the curator who looks again and
    for judging the extractor rule that proposed it."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("Say why it is rejected.", field_errors={"reason": ["Required."]})
    with transaction.atomic():
        candidate = _lock_pending(candidate_id)
        w = _Writer(candidate, user, {})
        return _finish(
            w,
            action=Decision.Action.REJECT,
            status=Candidate.Status.REJECTED,
            record=None,
            note=reason,
        )


def _dependents(obj: models.Model, decision: Decision, mine: set[tuple[str, str]]) -> list[str]:
    """What would be lost with `obj`: rows that point at it, and other live decisions
    that used it. Rows this decision itself created (and deletes first) do not count."""
    label, pk = _label(obj), str(obj.pk)
    found: list[str] = []
    others = Decision.objects.filter(
        undone_at__isnull=True, effects__contains=[{"model": label, "pk": pk}]
    ).exclude(pk=decision.pk)
    found += [f"the decision on candidate {d.candidate_id}" for d in others[:3]]
    content_type = ContentType.objects.get_for_model(obj)
    decided = Candidate.objects.filter(record_type=content_type, record_id=pk).exclude(
        Q(pk=decision.candidate_id) | Q(status=Candidate.Status.PENDING)
    )
    found += [f"candidate {c.pk}" for c in decided[:3]]
    collector = Collector(using=DEFAULT_DB_ALIAS)
    try:
        collector.collect([obj])
    except (ProtectedError, RestrictedError) as exc:
        rows = list(getattr(exc, "protected_objects", None) or exc.restricted_objects)[:3]
        return found + [f"{r._meta.verbose_name} “{r}”" for r in rows]
    for model, instances in collector.data.items():
        for instance in instances:
            if (_label(instance), str(instance.pk)) not in mine | {(label, pk)}:
                found.append(f"{model._meta.verbose_name} “{instance}”")
    for queryset in collector.fast_deletes:
        for instance in queryset[:3]:
            if (_label(instance), str(instance.pk)) not in mine:
                found.append(f"{instance._meta.verbose_name} “{instance}”")
    return found


def undo(decision_id: int, *, user: Any) -> Decision:
    """Reverse a decision exactly: delete what it created (unless something now depends
    on it), restore what it changed to the version before, reopen the candidate."""
    with transaction.atomic():
        try:
            decision = Decision.objects.select_related("user").get(pk=decision_id)
        except Decision.DoesNotExist as exc:
            raise ReviewError(f"Decision {decision_id} does not exist.") from exc
        if decision.user_id != user.pk and not is_admin(user):
            owner = decision.user.get_username() if decision.user else "its curator"
            raise ReviewError(f"Only {owner} or an administrator can undo this decision.")
        candidate = Candidate.objects.select_for_update(of=("self",)).get(pk=decision.candidate_id)
        decision = Decision.objects.select_for_update().get(pk=decision_id)
        if decision.undone_at is not None:
            raise ReviewError("This decision was already undone.")
        latest = candidate.decisions.filter(undone_at__isnull=True).order_by("-created_at", "-id")
        if latest.first() != decision:
            raise ReviewError("Only the candidate's latest decision can be undone.")
        expected = (
            Candidate.Status.REJECTED
            if decision.action == Decision.Action.REJECT
            else Candidate.Status.ACCEPTED
        )
        if candidate.status != expected:
            raise ReviewError(f"The candidate is now {candidate.status}; this cannot be undone.")
        reason = f"undo of decision {decision.pk} (candidate {candidate.pk})"
        rows = [e for e in decision.effects if "model" in e]
        mine = {(e["model"], str(e["pk"])) for e in rows if e.get("created")}
        for effect in reversed(rows):
            _reverse(effect, decision, mine, user=user, reason=reason)
        original = next((e["record"] for e in decision.effects if "candidate" in e), None)
        candidate.status = Candidate.Status.PENDING
        candidate.decided_by = None
        candidate.decided_at = None
        candidate.decision_note = ""
        if original:
            model = apps.get_model(original["model"])
            candidate.record_type = ContentType.objects.get_for_model(model)
            candidate.record_id = str(original["pk"])
        else:
            candidate.record_type, candidate.record_id = None, ""
        candidate.save()
        decision.undone_at = timezone.now()
        decision.undone_by = user
        decision.save(update_fields=["undone_at", "undone_by"])
        return decision


def _reverse(
    effect: dict[str, Any],
    decision: Decision,
    mine: set[tuple[str, str]],
    *,
    user: Any,
    reason: str,
) -> None:
    model = apps.get_model(effect["model"])
    obj = model._default_manager.filter(pk=effect["pk"]).first()
    if obj is None:
        return  # already gone (deleted by hand): nothing to reverse
    if effect.get("created"):
        blockers = _dependents(obj, decision, mine)
        if blockers:
            raise ReviewError(
                f"Cannot undo: the {model._meta.verbose_name} “{obj}” it created is now used "
                f"by {', '.join(dict.fromkeys(blockers))}."
            )
        # Pending candidates extraction pointed at it only suggested it.
        Candidate.objects.filter(
            status=Candidate.Status.PENDING,
            record_type=ContentType.objects.get_for_model(model),
            record_id=str(obj.pk),
        ).update(record_type=None, record_id="")
        obj._change_reason, obj._history_user = reason, user
        obj.delete()
        mine.discard((effect["model"], str(effect["pk"])))
        return
    latest = obj.history.order_by("-history_date", "-history_id").first()
    after = effect.get("after_history_id")
    if after and latest and latest.history_id != after:
        who = latest.history_user.get_username() if latest.history_user else "someone"
        raise ReviewError(
            f"Cannot undo: the {model._meta.verbose_name} “{obj}” was changed since "
            f"(by {who} at {timezone.localtime(latest.history_date):%Y-%m-%d %H:%M})."
        )
    if effect.get("history_id"):
        restored = obj.history.get(history_id=effect["history_id"]).instance
    else:
        restored = obj
        for attname, value in effect.get("fields", {}).items():
            model_field = next(f for f in model._meta.concrete_fields if f.attname == attname)
            setattr(restored, attname, model_field.to_python(value))
    restored._change_reason, restored._history_user = reason, user
    restored.save()


def undo_last(*, user: Any) -> Decision | None:
    """Undo the user's most recent decision that is not undone yet; None if there is none."""
    last = (
        Decision.objects.filter(user=user, undone_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )
    return undo(last.pk, user=user) if last else None


def _bulk(candidate_ids: list[int], decide: Callable[[int], Decision]) -> BulkResult:
    result = BulkResult()
    for candidate_id in candidate_ids:
        try:
            result.decided.append(decide(candidate_id))
        except ReviewError as exc:
            result.skipped.append((candidate_id, str(exc)))
    return result


def bulk_accept(candidate_ids: list[int], *, user: Any) -> BulkResult:
    """Accept each candidate in its own transaction, proposals and events before the
    items and participations that need them; a candidate that cannot be is skipped."""
    kinds = dict(Candidate.objects.filter(pk__in=candidate_ids).values_list("pk", "kind"))
    rank = {kind: n for n, kind in enumerate(KIND_ORDER)}
    ordered = sorted(
        dict.fromkeys(candidate_ids), key=lambda pk: rank.get(kinds.get(pk, ""), len(rank))
    )
    return _bulk(ordered, lambda pk: accept(pk, user=user))


def bulk_reject(candidate_ids: list[int], *, user: Any, reason: str) -> BulkResult:
    """Reject each candidate with the same reason; decided ones are skipped."""
    if not (reason or "").strip():
        raise ReviewError("Say why they are rejected.", field_errors={"reason": ["Required."]})
    return _bulk(
        list(dict.fromkeys(candidate_ids)), lambda pk: reject(pk, user=user, reason=reason)
    )


# --- Link suggestions ----------------------------------------------------------------


def _similar(model: type[models.Model], field_name: str, text: str, limit: int) -> list[Any]:
    """Records whose `field_name` matches `text`: exact or alias first, then trigram."""
    text = (text or "").strip()[:200]
    if not text:
        return []
    manager = model._default_manager
    if any(f.name == "merged_into" for f in model._meta.get_fields()):
        manager = manager.filter(merged_into__isnull=True)
    else:
        manager = manager.all()
    exact = Q(**{f"{field_name}__iexact": text})
    if any(f.name == "aliases" for f in model._meta.get_fields()):
        exact |= Q(aliases__contains=[text])
    found = list(manager.filter(exact)[:limit])
    similar = (
        manager.exclude(pk__in=[r.pk for r in found])
        .annotate(similarity=TrigramWordSimilarity(text, field_name))
        .filter(similarity__gte=0.3)
        .order_by("-similarity")[: max(limit - len(found), 0)]
    )
    return found + list(similar)


def link_choices(candidate: Candidate, limit: int = 8) -> list[models.Model]:
    """Existing records the candidate could be linked to, best first; the record
    extraction matched comes first."""
    payload = candidate.payload or {}
    kind = candidate.kind
    found: list[models.Model] = []
    if candidate.record_type_id and (record := _live(candidate.record)):
        found.append(record)
    if kind == Kind.COUNTRY:
        if country := _find_country(payload.get("code", "")):
            found.append(country)
    elif kind == Kind.PERSON:
        found += _similar(Person, "name", payload.get("name", ""), limit)
    elif kind == Kind.ORGANIZATION:
        found += _similar(Organization, "name", payload.get("name", ""), limit)
    elif kind == Kind.QUOTE:
        speaker = _find_person(payload.get("speaker", ""))
        if speaker:
            text = payload.get("text", "")[:60]
            found += list(Statement.objects.filter(speaker=speaker, text__icontains=text)[:limit])
            found.append(speaker)
        found += _similar(Person, "name", payload.get("speaker", ""), limit)
    elif kind == Kind.PROPOSAL:
        text = payload.get("text", "")
        if proposal := _find_proposal(text, candidate.document):
            found.append(proposal)
        found += _similar(Proposal, "title", payload.get("title") or _proposal_title(text), limit)
    elif kind == Kind.ACTION_ITEM:
        proposal = _find_proposal(payload.get("proposal", ""), candidate.document)
        if proposal:
            heading = payload.get("heading", "")
            found += list(proposal.items.filter(heading__iexact=heading))
            found.append(proposal)
        found += _similar(Proposal, "title", payload.get("proposal", ""), limit)
    elif kind == Kind.PARTICIPATION:
        subject = payload.get("subject", "")
        if payload.get("subject_type") == "event":
            found += [e for e in [_find_event(subject)] if e] + _similar(
                Event, "name", subject, limit
            )
        else:
            if proposal := _find_proposal(subject, candidate.document):
                found.append(proposal)
            found += _similar(Proposal, "title", subject, limit)
    elif kind == Kind.EVENT:
        event = _find_event(
            payload.get("name", ""),
            short_name=payload.get("short_name", ""),
            year=payload.get("year", ""),
        )
        found += ([event] if event else []) + _similar(
            Event, "name", payload.get("name", ""), limit
        )
    elif kind == Kind.FIGURE and (event := _document_event(candidate.document)):
        label = payload.get("label") or payload.get("unit", "")
        found += list(event.figures.filter(label__icontains=label)[:limit])
        found.append(event)
    unique = list(dict.fromkeys(found))
    return unique[:limit]
