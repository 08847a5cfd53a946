"""Load the seed dataset (governance/fixtures/seed/*.yaml) into the database.

The YAML names every fact and the verbatim excerpt of its document that
supports it; this module finds each excerpt's span and writes records and
Evidence on their natural keys. Loading twice changes nothing. By default a
record that already exists is left as it is, so curators' edits survive every
`manage.py up`; `update=True` re-applies the file's values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from governance import quotation
from governance.models import (
    ActionPlanItem,
    Document,
    DocumentCountry,
    Event,
    EventFigure,
    Evidence,
    IngestRun,
    Organization,
    Participation,
    Person,
    Proposal,
    Role,
    Source,
    Statement,
)
from governance.models import Country as CountryModel

DEFAULT_SEED_FILE = Path(__file__).parent / "fixtures" / "seed" / "waic-2025.yaml"


class SeedError(Exception):
    """The seed file is wrong: an excerpt not in the text, an unknown reference, ..."""


@dataclass
class SeedReport:
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)

    def summary(self) -> str:
        def fmt(counter: Counter[str]) -> str:
            return ", ".join(f"{n} {name}" for name, n in sorted(counter.items())) or "nothing"

        return (
            f"created: {fmt(self.created)}\n"
            f"updated: {fmt(self.updated)}\n"
            f"unchanged: {sum(self.unchanged.values())} records"
        )


def find_span(text: str, spec: str | dict[str, Any]) -> tuple[int, int, str]:
    """The (start, end, excerpt) of an excerpt in `text`.

    `spec` is the excerpt, or {text, occurrence} when it occurs more than once.
    """
    excerpt = spec if isinstance(spec, str) else spec["text"]
    occurrence = 1 if isinstance(spec, str) else int(spec.get("occurrence", 1))
    starts, at = [], text.find(excerpt)
    while at != -1:
        starts.append(at)
        at = text.find(excerpt, at + 1)
    if not starts:
        raise SeedError(f"Excerpt not found in the document: {excerpt!r}")
    if isinstance(spec, str) and len(starts) > 1:
        raise SeedError(
            f"Excerpt occurs {len(starts)} times; say which with occurrence: {excerpt!r}"
        )
    if occurrence > len(starts):
        raise SeedError(f"Excerpt occurs only {len(starts)} times: {excerpt!r}")
    start = starts[occurrence - 1]
    return start, start + len(excerpt), excerpt


def describe(record: models.Model) -> str:
    """The claim an evidence row supports, as readers see it: "Person: Li Qiang"."""
    return f"{record._meta.verbose_name.capitalize()}: {record}"[:300]


class _Loader:
    def __init__(self, *, update: bool) -> None:
        self.update = update
        self.report = SeedReport()
        self.document: Document | None = None
        self.new_proposals: set[int] = set()  # created by this load

    # -- generic writes -----------------------------------------------------

    def upsert(
        self, model: type[models.Model], lookup: dict[str, Any], values: dict[str, Any]
    ) -> models.Model:
        name = model._meta.verbose_name_plural
        obj = model._default_manager.filter(**lookup).first()
        if obj is None:
            obj = model(**lookup, **values)
            obj.full_clean(validate_unique=False, validate_constraints=False)
            obj.save()
            self.report.created[name] += 1
            return obj
        changed = {k: v for k, v in values.items() if getattr(obj, k) != v}
        if self.update and changed:
            for key, value in changed.items():
                setattr(obj, key, value)
            obj.save()
            self.report.updated[name] += 1
        else:
            self.report.unchanged[name] += 1
        return obj

    def set_m2m(
        self, obj: models.Model, name: str, targets: list[models.Model], created: bool
    ) -> None:
        manager = getattr(obj, name)
        if (created or self.update) and set(manager.all()) != set(targets):
            manager.set(targets)

    def evidence(self, record: models.Model, specs: list[Any]) -> None:
        assert self.document is not None
        content_type = ContentType.objects.get_for_model(record)
        for spec in specs:
            start, end, excerpt = find_span(self.document.text, spec)
            self.upsert(
                Evidence,
                {
                    "content_type": content_type,
                    "object_id": str(record.pk),
                    "document": self.document,
                    "start": start,
                    "end": end,
                },
                {"excerpt": excerpt, "claim": describe(record)},
            )

    # -- references ---------------------------------------------------------

    @staticmethod
    def ref(model: type[models.Model], value: str | None, **extra: Any) -> Any:
        if value is None:
            return None
        key = {
            CountryModel: "code",
            Person: "slug",
            Organization: "name",
            Event: "name",
            Proposal: "title",
        }[model]
        try:
            return model._default_manager.get(**{key: value}, **extra)
        except model.DoesNotExist as exc:
            raise SeedError(f"Unknown {model.__name__} {value!r}") from exc

    def participation(
        self, subject: dict[str, Any], participant: dict[str, Any], entry: dict
    ) -> None:
        lookup = {
            "proposal": None,
            "event": None,
            "country": None,
            "organization": None,
            "person": None,
            **subject,
            **participant,
            "role": entry["role"],
        }
        values = {"date": entry.get("date"), "note": entry.get("note", "")}
        record = self.upsert(Participation, lookup, values)
        self.evidence(record, entry.get("evidence", []))

    def event_of(self, entry: dict) -> dict[str, Any]:
        if "event" in entry:
            return {"event": self.ref(Event, entry["event"])}
        return {"proposal": self.ref(Proposal, entry["proposal"])}

    # -- sections -----------------------------------------------------------

    def load_document(self, spec: dict[str, Any], base: Path) -> None:
        text = (base / spec["text_file"]).read_text(encoding="utf-8")
        source = self.upsert(
            Source,
            {"name": spec["source"]["name"]},
            {"kind": spec["source"]["kind"], "enabled": False},
        )
        existed = Document.objects.filter(content_sha256=Document.hash_text(text)).exists()
        self.document = self.upsert(
            Document,
            {"content_sha256": Document.hash_text(text)},
            {
                "title": spec["title"],
                "text": text,
                "language": spec.get("language", ""),
                "source": source,
                "url": spec.get("url"),
                "publisher": spec.get("publisher", ""),
            },
        )
        if not existed:
            IngestRun.objects.create(
                source=source,
                finished_at=self.document.fetched_at,
                outcome=IngestRun.Outcome.NEW,
                documents_new=1,
                warnings="Loaded by `manage.py seed` from the seed data file.",
            )

    def load_country_mentions(self) -> None:
        """The countries the article mentions, found as extraction finds them in an
        ingested document (not listed by hand), so that they count it among their
        documents. Once: rows already there (an earlier seed, or the extraction of the
        document) are left alone."""
        from governance.extract.candidates import record_country_mentions

        assert self.document is not None
        if DocumentCountry.objects.filter(document=self.document).exists():
            self.report.unchanged["country mentions"] += 1
            return
        if found := record_country_mentions(self.document):
            self.report.created["country mentions"] += found

    def load_events(self, entries: list[dict]) -> None:
        for spec in entries:
            event = self.upsert(
                Event,
                {"name": spec["name"]},
                {
                    "short_name": spec.get("short_name", ""),
                    "city": spec.get("city", ""),
                    "country": self.ref(CountryModel, spec.get("country")),
                    "start_date": spec.get("start_date"),
                    "end_date": spec.get("end_date"),
                    "theme": spec.get("theme", ""),
                    "description": spec.get("description", ""),
                },
            )
            self.evidence(event, spec.get("evidence", []))
            for fig in spec.get("figures", []):
                figure = self.upsert(
                    EventFigure,
                    {"event": event, "label": fig["label"]},
                    {
                        "value": fig["value"],
                        "qualifier": fig.get("qualifier", EventFigure.Qualifier.EXACT),
                        "note": fig.get("note", ""),
                    },
                )
                self.evidence(figure, fig.get("evidence", []))

    def load_country_participation(self, entries: list[dict]) -> None:
        for spec in entries:
            country = self.ref(CountryModel, spec["country"])
            self.participation(self.event_of(spec), {"country": country}, spec)

    def load_organizations(self, entries: list[dict]) -> None:
        for spec in entries:  # two passes: parents may come later in the file
            org = self.upsert(
                Organization,
                {"name": spec["name"]},
                {
                    "kind": spec["kind"],
                    "country": self.ref(CountryModel, spec.get("country")),
                    "aliases": spec.get("aliases", []),
                    "description": spec.get("description", ""),
                },
            )
            self.evidence(org, spec.get("evidence", []))
        for spec in entries:
            org = self.ref(Organization, spec["name"])
            if spec.get("parent"):
                parent = self.ref(Organization, spec["parent"])
                if org.parent_id != parent.pk and (self.update or org.parent_id is None):
                    org.parent = parent
                    org.save()
            for entry in spec.get("participation", []):
                self.participation(self.event_of(entry), {"organization": org}, entry)

    def load_people(self, entries: list[dict]) -> None:
        for spec in entries:
            person = self.upsert(
                Person,
                {"slug": spec["slug"]},
                {
                    "name": spec["name"],
                    "aliases": spec.get("aliases", []),
                    "description": spec.get("description", ""),
                },
            )
            self.evidence(person, spec.get("evidence", []))
            for role_spec in spec.get("roles", []):
                role = self.upsert(
                    Role,
                    {
                        "person": person,
                        "title": role_spec["title"],
                        "organization": self.ref(Organization, role_spec.get("organization")),
                        "country": self.ref(CountryModel, role_spec.get("country")),
                        "start_date": role_spec.get("start_date"),
                    },
                    {
                        "end_date": role_spec.get("end_date"),
                        "former": role_spec.get("former", False),
                    },
                )
                self.evidence(role, role_spec.get("evidence", []))

    def load_person_participation(self, entries: list[dict]) -> None:
        for spec in entries:
            person = self.ref(Person, spec["slug"])
            for entry in spec.get("participation", []):
                self.participation(self.event_of(entry), {"person": person}, entry)

    def load_proposals(self, entries: list[dict]) -> None:
        for spec in entries:
            created_before = self.report.created["proposals"]
            proposal = self.upsert(
                Proposal,
                {"title": spec["title"]},
                {
                    "kind": spec["kind"],
                    "status": spec["status"],
                    "announced_on": spec.get("announced_on"),
                    "event": self.ref(Event, spec.get("event")),
                    "summary": spec.get("summary", ""),
                    "proposed_headquarters": spec.get("proposed_headquarters", ""),
                },
            )
            if self.report.created["proposals"] > created_before:
                self.new_proposals.add(proposal.pk)
            self.evidence(proposal, spec.get("evidence", []))
            for item in spec.get("items", []):
                record = self.upsert(
                    ActionPlanItem,
                    {"proposal": proposal, "position": item["position"]},
                    {
                        "heading": item["heading"],
                        "text": item.get("text", ""),
                        "themes": item.get("themes", []),
                    },
                )
                self.evidence(record, item.get("evidence", []))
            for entry in spec.get("participation", []):
                participant = {
                    "country": self.ref(CountryModel, entry.get("country")),
                    "organization": self.ref(Organization, entry.get("organization")),
                    "person": self.ref(Person, entry.get("person")),
                }
                participant = {k: v for k, v in participant.items() if v is not None}
                self.participation({"proposal": proposal}, participant, entry)

    def load_statements(self, entries: list[dict]) -> None:
        for spec in entries:
            speaker = self.ref(Person, spec.get("speaker"))
            said_on: date | None = spec.get("said_on")
            fingerprint = Statement.make_fingerprint(
                speaker.pk if speaker else None, said_on, spec["kind"], spec["text"]
            )
            quoted = list(spec.get("quoted", []))
            assert self.document is not None
            excerpts = [find_span(self.document.text, e)[2] for e in spec.get("evidence", [])]
            try:
                quotation.check(spec["kind"], spec["text"], quoted, excerpts)
            except quotation.QuotationError as exc:
                raise SeedError(f"Statement {spec['text'][:60]!r}: {exc}") from exc
            role = None
            if spec.get("role"):
                role = Role.objects.filter(person=speaker, title=spec["role"]).first()
                if role is None:
                    raise SeedError(f"{speaker} has no role {spec['role']!r}")
            created = not Statement.objects.filter(fingerprint=fingerprint).exists()
            statement = self.upsert(
                Statement,
                {"fingerprint": fingerprint},
                {
                    "speaker": speaker,
                    "speaker_role": role,
                    "kind": spec["kind"],
                    "text": spec["text"],
                    "quoted": quoted,
                    "said_on": said_on,
                    "event": self.ref(Event, spec.get("event")),
                    "on_behalf_of_country": self.ref(
                        CountryModel, spec.get("on_behalf_of_country")
                    ),
                    "on_behalf_of_organization": self.ref(
                        Organization, spec.get("on_behalf_of_organization")
                    ),
                },
            )
            self.set_m2m(
                statement,
                "proposals",
                [self.ref(Proposal, t) for t in spec.get("proposals", [])],
                created,
            )
            self.set_m2m(
                statement,
                "countries",
                [self.ref(CountryModel, c) for c in spec.get("countries", [])],
                created,
            )
            self.set_m2m(
                statement,
                "organizations",
                [self.ref(Organization, o) for o in spec.get("organizations", [])],
                created,
            )
            self.evidence(statement, spec.get("evidence", []))

    def load_headquarters_statements(self, entries: list[dict]) -> None:
        """Tie each proposed seat to the statement that names it: `headquarters_statement`
        gives the speaker and the statement's evidence excerpt (its text and kind are
        another curator's to correct, its source sentence is not)."""
        assert self.document is not None
        statement_type = ContentType.objects.get_for_model(Statement)
        for spec in entries:
            said = spec.get("headquarters_statement")
            if not said:
                continue
            proposal = self.ref(Proposal, spec["title"])
            start, end, excerpt = find_span(self.document.text, said["evidence"])
            ids = Evidence.objects.filter(
                content_type=statement_type, document=self.document, start=start, end=end
            ).values_list("object_id", flat=True)
            speaker = self.ref(Person, said["speaker"])
            statement = Statement.objects.filter(pk__in=list(ids), speaker=speaker).first()
            if statement is None:
                raise SeedError(
                    f"No statement by {speaker} with the evidence {excerpt!r} "
                    f"(headquarters of {proposal})"
                )
            if proposal.headquarters_statement_id == statement.pk:
                continue
            # A missing link is filled in (a curator's is only replaced with --update).
            if proposal.headquarters_statement_id is None or self.update:
                proposal.headquarters_statement = statement
                proposal.save(update_fields=["headquarters_statement"])
                if proposal.pk not in self.new_proposals:
                    self.report.updated[Proposal._meta.verbose_name_plural] += 1


def load_seed(path: Path = DEFAULT_SEED_FILE, *, update: bool = False) -> SeedReport:
    """Load one seed file in a single transaction; raise SeedError if it is wrong."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    loader = _Loader(update=update)
    with transaction.atomic():
        loader.load_document(data["document"], path.parent)
        loader.load_country_mentions()
        loader.load_events(data.get("events", []))
        loader.load_country_participation(data.get("countries", []))
        loader.load_organizations(data.get("organizations", []))
        loader.load_people(data.get("people", []))
        loader.load_person_participation(data.get("people", []))
        loader.load_proposals(data.get("proposals", []))
        loader.load_statements(data.get("statements", []))
        loader.load_headquarters_statements(data.get("proposals", []))
    return loader.report
