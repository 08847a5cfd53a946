"""The domain model (docs/architecture.md §2): curated records, their evidence, and ingestion.

Curated records keep their history (django-simple-history). Natural-key unique
constraints make every write an upsert; each index says which query needs it.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.text import slugify
from simple_history.models import HistoricalRecords

from governance import quotation
from governance.ingest.errors import FailureReason
from governance.sentences import Sentence, sentence_around


def unique_slug(model: type[models.Model], text: str, *, exclude_pk: Any = None) -> str:
    """A slug for `text` that no other row of `model` uses yet."""
    base = slugify(text)[:80] or "item"
    slug, n = base, 2
    others = model._default_manager.exclude(pk=exclude_pk) if exclude_pk else model._default_manager
    while others.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


class SluggedModel(models.Model):
    """A record addressed by a unique slug made from its name on first save."""

    slug = models.SlugField(max_length=100, unique=True, blank=True)
    # Set by a merge: this record was a duplicate of `merged_into`, which now holds all its
    # relations and evidence. It is kept (nothing is deleted) and its URL redirects there.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        editable=False,
    )

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.slug:
            self.slug = unique_slug(type(self), self.slug_source(), exclude_pk=self.pk)
        super().save(*args, **kwargs)

    def slug_source(self) -> str:
        raise NotImplementedError


# --- Reference data ---------------------------------------------------------


class CountryQuerySet(models.QuerySet["Country"]):
    def taking_part(self) -> CountryQuerySet:
        """Countries taking part: the one definition the dashboard, the map, /countries/
        and the country pages share (see ParticipationQuerySet.taking_part)."""
        return self.filter(
            Exists(Participation.objects.taking_part().filter(country=OuterRef("pk")))
        )

    def shown_apart(self) -> CountryQuerySet:
        """Countries with a participation row, every one of them in a not-taking-part role
        (declined, opponent, target, noted absent): listed apart, never counted."""
        return self.filter(
            Exists(Participation.objects.not_taking_part().filter(country=OuterRef("pk")))
        ).exclude(Exists(Participation.objects.taking_part().filter(country=OuterRef("pk"))))


class Country(models.Model):
    """An ISO 3166-1 country, loaded by a data migration from pycountry."""

    code = models.CharField("ISO alpha-2", max_length=2, primary_key=True)
    alpha3 = models.CharField("ISO alpha-3", max_length=3, unique=True)
    numeric = models.CharField("ISO numeric", max_length=3, unique=True)
    name = models.CharField(max_length=100, unique=True)
    official_name = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=40, blank=True, help_text="UN M49 region")
    subregion = models.CharField(max_length=60, blank=True, help_text="UN M49 sub-region")
    evidence = GenericRelation("Evidence", object_id_field="object_id")
    history = HistoricalRecords()

    objects = CountryQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "countries"
        indexes = [models.Index(fields=["region", "name"], name="country_region_name")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.code = self.code.upper()
        self.alpha3 = self.alpha3.upper()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("governance:country_detail", args=[self.code.lower()])


class CountryAlias(models.Model):
    """Another way text names a country: short forms, demonyms, capitals as metonyms.

    Extraction reads this table; `ambiguous` marks aliases that need context
    ("American", "Georgia") so a rule never resolves them on their own.
    """

    class Kind(models.TextChoices):
        NAME = "name", "Name or short form"
        DEMONYM = "demonym", "Demonym"
        CAPITAL = "capital", "Capital (metonym)"
        OTHER = "other", "Other"

    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    ambiguous = models.BooleanField(default=False)
    source = models.CharField(max_length=100, help_text="Where the alias comes from")

    class Meta:
        ordering = ["country", "kind", "alias"]
        verbose_name_plural = "country aliases"
        constraints = [
            models.UniqueConstraint(
                fields=["country", "alias", "kind"], name="countryalias_unique_per_country"
            )
        ]
        # Extraction looks aliases up by their exact text.
        indexes = [models.Index(fields=["alias"], name="countryalias_alias")]

    def __str__(self) -> str:
        return f"{self.alias} → {self.country_id} ({self.get_kind_display()})"


# --- Curated records --------------------------------------------------------


class Organization(SluggedModel):
    class Kind(models.TextChoices):
        INTERGOVERNMENTAL = "intergovernmental", "Intergovernmental body"
        GOVERNMENT = "government", "Government body"
        COMPANY = "company", "Company"
        RESEARCH = "research", "Research institution"
        CIVIL_SOCIETY = "civil_society", "Civil society"
        STANDARDS = "standards", "Standards body"
        COUNTRY_GROUP = "country_group", "Group of countries"
        MEDIA = "media", "Media"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    country = models.ForeignKey(
        Country,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organizations",
        help_text="Where it is based or whose government it belongs to",
    )
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children"
    )
    members = models.ManyToManyField(Country, blank=True, related_name="memberships")
    aliases = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    description = models.TextField(blank=True)
    evidence = GenericRelation("Evidence", object_id_field="object_id")
    history = HistoricalRecords(m2m_fields=[members])

    class Meta:
        ordering = ["name"]
        # Typo-tolerant global search: trigram word similarity on the name.
        indexes = [
            GinIndex(fields=["name"], name="organization_name_trgm", opclasses=["gin_trgm_ops"]),
            # Extraction links a name to its record: iexact on the name, or an alias
            # (extract.candidates._first_named).
            models.Index(Upper("name"), name="organization_name_upper"),
            GinIndex(fields=["aliases"], name="organization_aliases"),
            # Global search: the name and description by their words.
            GinIndex(
                SearchVector("name", "description", config="english"), name="organization_text"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("governance:organization_detail", args=[self.slug])

    def slug_source(self) -> str:
        return self.name


class Person(SluggedModel):
    name = models.CharField(max_length=200)
    aliases = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    description = models.CharField(max_length=300, blank=True)
    evidence = GenericRelation("Evidence", object_id_field="object_id")
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "people"
        # People lists and duplicate checks look up by name.
        indexes = [
            models.Index(fields=["name"], name="person_name"),
            # Typo-tolerant global search ("Li Quang"): trigram word similarity.
            GinIndex(fields=["name"], name="person_name_trgm", opclasses=["gin_trgm_ops"]),
            # Extraction links a speaker's name to its record (extract.candidates._first_named).
            models.Index(Upper("name"), name="person_name_upper"),
            GinIndex(fields=["aliases"], name="person_aliases"),
            # Global search: the name and description by their words.
            GinIndex(SearchVector("name", "description", config="english"), name="person_text"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("governance:person_detail", args=[self.slug])

    def slug_source(self) -> str:
        return self.name


class Role(models.Model):
    """A position a person held: Li Qiang — Premier — China."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="roles")
    title = models.CharField(max_length=200)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="roles"
    )
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, null=True, blank=True, related_name="roles"
    )
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    former = models.BooleanField(
        default=False, help_text="Known to have ended, even when the end date is not known"
    )
    evidence = GenericRelation("Evidence", object_id_field="object_id")
    history = HistoricalRecords()

    class Meta:
        ordering = ["person", "-start_date", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "title", "organization", "country", "start_date"],
                nulls_distinct=False,
                name="role_natural_key",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="role_dates_ordered",
            ),
        ]
        # Global search: people by the words of their role titles.
        indexes = [GinIndex(SearchVector("title", config="english"), name="role_text")]

    def __str__(self) -> str:
        where = self.organization or self.country
        title = f"former {self.title}" if self.former else self.title
        return f"{self.person} — {title}" + (f" — {where}" if where else "")

    def get_absolute_url(self) -> str:
        return self.person.get_absolute_url()


class Event(SluggedModel):
    name = models.CharField(max_length=200, unique=True)
    short_name = models.CharField(max_length=50, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    theme = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    evidence = GenericRelation("Evidence", object_id_field="object_id")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-start_date", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=F("start_date")),
                name="event_dates_ordered",
            ),
        ]
        # Global search: events by the words of their names and descriptions.
        indexes = [
            GinIndex(
                SearchVector(
                    "name", "short_name", "city", "theme", "description", config="english"
                ),
                name="event_text",
            )
        ]

    def __str__(self) -> str:
        return self.short_name or self.name

    def get_absolute_url(self) -> str:
        return reverse("governance:event_detail", args=[self.slug])

    def slug_source(self) -> str:
        return self.short_name or self.name


class EventFigure(models.Model):
    """A number reported about an event: "over 800 companies"."""

    class Qualifier(models.TextChoices):
        EXACT = "exact", "exactly"
        OVER = "over", "over"
        MORE_THAN = "more_than", "more than"
        AT_LEAST = "at_least", "at least"
        ABOUT = "about", "about"
        UP_TO = "up_to", "up to"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="figures")
    label = models.CharField(max_length=200, help_text='What is counted: "companies"')
    value = models.PositiveBigIntegerField()
    qualifier = models.CharField(max_length=10, choices=Qualifier.choices, default=Qualifier.EXACT)
    note = models.CharField(max_length=300, blank=True)
    evidence = GenericRelation("Evidence", object_id_field="object_id")
    history = HistoricalRecords()

    class Meta:
        ordering = ["event", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "label"], name="eventfigure_natural_key")
        ]
        # Global search: figures by the words of what they count and their notes.
        indexes = [
            GinIndex(SearchVector("label", "note", config="english"), name="eventfigure_text")
        ]

    def __str__(self) -> str:
        qualifier = (
            "" if self.qualifier == self.Qualifier.EXACT else f"{self.get_qualifier_display()} "
        )
        return f"{qualifier}{self.value:,} {self.label}"

    def get_absolute_url(self) -> str:
        return self.event.get_absolute_url()


class Proposal(SluggedModel):
    class Kind(models.TextChoices):
        INTERNATIONAL_BODY = "international_body", "International body"
        ACTION_PLAN = "action_plan", "Action plan"
        DECLARATION = "declaration", "Declaration"
        RESOLUTION = "resolution", "Resolution"
        TREATY = "treaty", "Treaty or convention"
        REGULATION = "regulation", "Regulation"
        EXPORT_CONTROL = "export_control", "Export control"
        FRAMEWORK = "framework", "Framework or principles"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        UNDER_NEGOTIATION = "under_negotiation", "Under negotiation"
        ADOPTED = "adopted", "Adopted"
        IN_FORCE = "in_force", "In force"
        WITHDRAWN = "withdrawn", "Withdrawn"
        REJECTED = "rejected", "Rejected"

    title = models.CharField(max_length=300, unique=True)
    # Other titles it goes by, including those of duplicates merged into it.
    aliases = ArrayField(models.CharField(max_length=300), default=list, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROPOSED)
    announced_on = models.DateField(null=True, blank=True)
    event = models.ForeignKey(
        Event, on_delete=models.SET_NULL, null=True, blank=True, related_name="proposals"
    )
    summary = models.TextField(blank=True)
    proposed_headquarters = models.CharField(max_length=200, blank=True)
    # Who said where the seat would be: the headquarters row shows the statement's speaker
    # and its source sentence, since articles report a planned seat in someone's words.
    headquarters_statement = models.ForeignKey(
        "Statement",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="headquarters_of",
        help_text="The statement that names the proposed headquarters",
    )
    evidence = GenericRelation("Evidence", object_id_field="object_id")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-announced_on", "title"]
        # The proposals list filters by kind and status.
        indexes = [
            models.Index(fields=["kind", "status"], name="proposal_kind_status"),
            # Typo-tolerant global search: trigram word similarity on the title.
            GinIndex(fields=["title"], name="proposal_title_trgm", opclasses=["gin_trgm_ops"]),
            # Global search: aliases equal to the query, and the words of the summary.
            GinIndex(fields=["aliases"], name="proposal_aliases"),
            GinIndex(
                SearchVector("title", "summary", "proposed_headquarters", config="english"),
                name="proposal_text",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("governance:proposal_detail", args=[self.slug])

    def proposers(self) -> list[Country | Organization | Person]:
        """Who proposed or issued it; reads prefetched participations when there are some."""
        roles = Participation.PROPOSING_ROLES
        return [p.participant for p in self.participations.all() if p.role in roles]

    def slug_source(self) -> str:
        return self.title


class ActionPlanItem(models.Model):
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    heading = models.CharField(max_length=300)
    text = models.TextField(blank=True)
    themes = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    evidence = GenericRelation("Evidence", object_id_field="object_id")
    history = HistoricalRecords()

    class Meta:
        ordering = ["proposal", "position"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "position"], name="actionplanitem_position")
        ]
        # Global search: measures by the words of their headings and texts.
        indexes = [
            GinIndex(SearchVector("heading", "text", config="english"), name="actionplanitem_text")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.heading}"

    def get_absolute_url(self) -> str:
        return self.proposal.get_absolute_url()


class ParticipationQuerySet(models.QuerySet["Participation"]):
    """ "Taking part" is any participation in a proposal or an event (every row has
    exactly one of them) in a role other than NOT_TAKING_PART_ROLES."""

    @staticmethod
    def taking_part_q() -> Q:
        """The condition itself, for aggregates that count both kinds in one query."""
        return ~Q(role__in=Participation.NOT_TAKING_PART_ROLES)

    def taking_part(self) -> ParticipationQuerySet:
        return self.filter(self.taking_part_q())

    def not_taking_part(self) -> ParticipationQuerySet:
        return self.exclude(self.taking_part_q())


class Participation(models.Model):
    """Who took part in a proposal or an event, and how.

    Exactly one subject (proposal or event) and one participant (country,
    organization or person). "Unknown" is the absence of a row, never a role.
    """

    class Role(models.TextChoices):
        PROPOSER = "proposer", "Proposer"
        ANNOUNCER = "announcer", "Announcer"
        ISSUER = "issuer", "Issuer"
        HOST = "host", "Host"
        SUPPORTER = "supporter", "Supporter"
        SIGNATORY = "signatory", "Signatory"
        DELEGATE = "delegate", "Delegate"
        REPRESENTED = "represented", "Represented"
        SPEAKER = "speaker", "Speaker"
        EXHIBITOR = "exhibitor", "Exhibitor"
        OBSERVER = "observer", "Observer"
        OPPONENT = "opponent", "Opponent"
        DECLINED = "declined", "Declined"
        TARGET = "target", "Target"
        ABSENT = "absent", "Noted absent"

    # Who a proposal is "by" (lists, filters, the proposal page), and the roles that do
    # not count as taking part in it. An opponent is left out like one that declined: it
    # is named for rejecting the thing, and counting it would put a country that fought an
    # agreement among its participants.
    PROPOSING_ROLES = frozenset({Role.PROPOSER, Role.ISSUER})
    NOT_TAKING_PART_ROLES = frozenset({Role.DECLINED, Role.OPPONENT, Role.TARGET, Role.ABSENT})

    proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, null=True, blank=True, related_name="participations"
    )
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, null=True, blank=True, related_name="participations"
    )
    country = models.ForeignKey(
        Country, on_delete=models.PROTECT, null=True, blank=True, related_name="participations"
    )
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="participations",
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="participations"
    )
    role = models.CharField(max_length=12, choices=Role.choices)
    date = models.DateField(null=True, blank=True)
    # When it happened as the lists filter it: `date`, or for an undated row at an event
    # with known dates, the event's first and last day. Kept by the database (migration
    # 0017's triggers, also when an event's dates change); never edited.
    date_start = models.DateField(null=True, blank=True, editable=False)
    date_end = models.DateField(null=True, blank=True, editable=False)
    note = models.CharField(max_length=300, blank=True)
    evidence = GenericRelation("Evidence", object_id_field="object_id")
    history = HistoricalRecords(excluded_fields=["date_start", "date_end"])

    objects = ParticipationQuerySet.as_manager()

    class Meta:
        ordering = ["proposal", "event", "role"]
        constraints = [
            models.CheckConstraint(
                condition=Q(proposal__isnull=False, event__isnull=True)
                | Q(proposal__isnull=True, event__isnull=False),
                name="participation_one_subject",
            ),
            models.CheckConstraint(
                condition=Q(country__isnull=False, organization__isnull=True, person__isnull=True)
                | Q(country__isnull=True, organization__isnull=False, person__isnull=True)
                | Q(country__isnull=True, organization__isnull=True, person__isnull=False),
                name="participation_one_participant",
            ),
            models.UniqueConstraint(
                fields=["proposal", "event", "country", "organization", "person", "role"],
                nulls_distinct=False,
                name="participation_natural_key",
            ),
        ]
        # Country pages list a country's participations.
        indexes = [
            models.Index(fields=["country", "role"], name="participation_country_role"),
            # Global search: participations by the words of their notes.
            GinIndex(SearchVector("note", config="english"), name="participation_text"),
        ]

    def __str__(self) -> str:
        return f"{self.participant} — {self.get_role_display()} — {self.subject}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        event = self.event if self.date is None and self.event_id else None
        self.date_start, self.date_end = effective_dates(self.date, event)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        subject = self.subject
        return subject.get_absolute_url() if subject else "/"

    @property
    def own_date(self) -> Any:
        return self.date

    @property
    def date_basis(self) -> str:
        return date_basis(self.date, self.date_start)

    @property
    def subject(self) -> Proposal | Event | None:
        return self.proposal or self.event

    @property
    def participant(self) -> Country | Organization | Person | None:
        return self.country or self.organization or self.person


class Statement(models.Model):
    class Kind(models.TextChoices):
        DIRECT_QUOTE = "direct_quote", "Direct quote"
        PARTIAL_QUOTE = "partial_quote", "Partial quote"
        PARAPHRASE = "paraphrase", "Paraphrase"
        REMARKS = "remarks", "Remarks (content not given)"

    speaker = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="statements"
    )
    speaker_role = models.ForeignKey(
        Role,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="statements",
        help_text="The role the speaker held when speaking",
    )
    on_behalf_of_country = models.ForeignKey(
        Country, on_delete=models.PROTECT, null=True, blank=True, related_name="statements"
    )
    on_behalf_of_organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="statements",
    )
    kind = models.CharField(max_length=15, choices=Kind.choices)
    text = models.TextField(
        help_text="A direct quote: the words, verbatim. A partial quote: reported speech "
        "holding the quoted words. Otherwise what was said. Never with quotation marks "
        "the source does not have."
    )
    # A partial quote's quoted runs: the words of `text` shown inside quotation marks, in
    # order, each verbatim in the evidence (governance/quotation.py).
    quoted = ArrayField(
        models.TextField(),
        default=list,
        blank=True,
        db_default=Value([], output_field=ArrayField(models.TextField())),
        help_text="A partial quote: the words of the text that are quoted, one per line",
    )
    said_on = models.DateField(null=True, blank=True)
    # When it was said as the browser filters it: `said_on`, or for an undated statement
    # made at an event with known dates, the event's first and last day. Kept by the
    # database (migration 0017's triggers, also when an event's dates change).
    date_start = models.DateField(null=True, blank=True, editable=False)
    date_end = models.DateField(null=True, blank=True, editable=False)
    event = models.ForeignKey(
        Event, on_delete=models.SET_NULL, null=True, blank=True, related_name="statements"
    )
    proposals = models.ManyToManyField(Proposal, blank=True, related_name="statements")
    countries = models.ManyToManyField(Country, blank=True, related_name="statements_about")
    organizations = models.ManyToManyField(
        Organization, blank=True, related_name="statements_about"
    )
    # Natural key: the same words by the same speaker on the same day are one
    # statement. A hash, because a btree index cannot hold long text.
    fingerprint = models.CharField(max_length=64, unique=True, editable=False)
    evidence = GenericRelation("Evidence", object_id_field="object_id")
    search_vector = models.GeneratedField(
        expression=SearchVector("text", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    history = HistoricalRecords(
        m2m_fields=[proposals, countries, organizations],
        excluded_fields=["search_vector", "date_start", "date_end"],
    )

    class Meta:
        ordering = [F("said_on").desc(nulls_last=True), "-id"]
        indexes = [
            # Timelines: a speaker's or an event's statements by date.
            models.Index(fields=["speaker", "said_on"], name="statement_speaker_date"),
            models.Index(fields=["said_on"], name="statement_said_on"),
            # "Newest first" everywhere (browser, previews, dashboard): said_on desc with
            # undated last, then id desc, read straight off the index.
            models.Index(
                F("said_on").desc(nulls_last=True), F("id").desc(), name="statement_newest"
            ),
            # The statements browser: full-text search, and the country and kind facets.
            GinIndex(fields=["search_vector"], name="statement_search"),
            models.Index(fields=["on_behalf_of_country", "said_on"], name="statement_country_date"),
            models.Index(fields=["kind", "said_on"], name="statement_kind_date"),
            # The browser's year facet and date range, which count an undated statement of
            # a dated event as made during the event.
            models.Index(fields=["date_start"], name="statement_date_start"),
            models.Index(fields=["date_end"], name="statement_date_end"),
        ]

    def __str__(self) -> str:
        text = self.text if len(self.text) <= 80 else self.text[:77] + "…"
        return f"{self.speaker or 'Unattributed'}: {text}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.fingerprint = self.make_fingerprint(
            self.speaker_id, self.said_on, self.kind, self.text
        )
        event = self.event if self.said_on is None and self.event_id else None
        self.date_start, self.date_end = effective_dates(self.said_on, event)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("governance:statement_detail", args=[self.pk])

    @property
    def own_date(self) -> Any:
        return self.said_on

    @property
    def date_basis(self) -> str:
        """ "own" (said_on), "event" (the event's dates) or "" (undated)."""
        return date_basis(self.said_on, self.date_start)

    @property
    def display_text(self) -> str:
        """The words as shown everywhere: quotation marks around the quoted runs only."""
        return quotation.display_text(self.kind, self.text, self.quoted)

    def clean(self) -> None:
        """What can be checked without the evidence (the admin's form): no quotation mark
        in a paraphrase or outside a partial quote's runs, runs that are in the text. The
        runs' presence in the evidence is checked where evidence is given (seed, review)."""
        spans_ok = True
        if self.kind == self.Kind.PARTIAL_QUOTE:
            try:
                spans = quotation.run_spans(self.text, self.quoted)
            except quotation.QuotationError as exc:
                raise ValidationError({"quoted": str(exc)}) from exc
            outside = "".join(self.text[a:b] for a, b in quotation.gaps(spans, len(self.text)))
            spans_ok = not quotation.has_quote_mark(outside) and bool(self.quoted)
        elif self.kind in (self.Kind.PARAPHRASE, self.Kind.REMARKS):
            spans_ok = not quotation.has_quote_mark(self.text) and not self.quoted
        if not spans_ok:
            raise ValidationError(
                {
                    "text": "Quotation marks are added when shown: a paraphrase or remarks "
                    "holds none; a partial quote lists its quoted words (without marks)."
                }
            )

    def check_quotation(self, evidence: list[str]) -> None:
        """Raise QuotationError unless every quoted run is verbatim in `evidence`."""
        quotation.check(self.kind, self.text, self.quoted, evidence)

    @staticmethod
    def make_fingerprint(speaker_id: int | None, said_on: Any, kind: str, text: str) -> str:
        normalized = " ".join(text.split()).casefold()
        key = f"{speaker_id or ''}|{said_on or ''}|{kind}|{normalized}"
        return hashlib.sha256(key.encode()).hexdigest()


def effective_dates(own: Any, event: Event | None) -> tuple[Any, Any]:
    """(first, last) day a statement or participation row is dated to: its own date, or
    an undated one's event's dates. The database triggers compute the same."""
    if own is not None:
        return own, own
    if event is not None and event.start_date is not None:
        return event.start_date, event.end_date or event.start_date
    return None, None


def date_basis(own: Any, start: Any) -> str:
    if own is not None:
        return "own"
    return "event" if start is not None else ""


# --- Ingestion --------------------------------------------------------------

# How often a source may be fetched. Below a minute beat could not keep up; far above a
# year the next fetch time overflows and every fetch of the source fails.
MIN_INTERVAL = timedelta(minutes=1)
MAX_INTERVAL = timedelta(days=365)
INTERVAL_RULE = "The interval must be between a minute (00:01:00) and a year (365 00:00:00)"


def validate_interval(value: timedelta) -> None:
    if not MIN_INTERVAL <= value <= MAX_INTERVAL:
        raise ValidationError(
            "%(rule)s; %(value)s is not.",
            code="interval_out_of_range",
            params={"rule": INTERVAL_RULE, "value": value},
        )


class Source(models.Model):
    class Kind(models.TextChoices):
        FEED = "feed", "RSS/Atom feed"
        PAGE = "page", "Web page"
        MANUAL = "manual", "Manual text"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    url = models.URLField(max_length=2000, unique=True, null=True, blank=True)
    manual_text = models.TextField(
        blank=True, help_text="For manual sources: the pasted or uploaded text (.txt, .md, .html)"
    )
    manual_filename = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True)
    interval = models.DurationField(
        default=timedelta(hours=1),
        validators=[validate_interval],
        help_text="How often to fetch it: from 00:01:00 (a minute) to 365 00:00:00 (a year).",
    )
    # Postgres is the truth about what is due; beat reconciles the broker with it.
    next_fetch_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Compare-and-set claim: a worker owns the source until this time.
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="manual") | Q(url__isnull=False),
                name="source_fetched_kinds_have_url",
            ),
            models.CheckConstraint(
                condition=Q(interval__gte=MIN_INTERVAL),
                name="source_interval_at_least_a_minute",
            ),
            models.CheckConstraint(
                condition=Q(interval__lte=MAX_INTERVAL),
                name="source_interval_at_most_a_year",
                violation_error_message=f"{INTERVAL_RULE}.",
            ),
        ]
        # Beat's enqueue_due_sources: enabled sources whose next fetch is due.
        indexes = [
            models.Index(fields=["next_fetch_at"], condition=Q(enabled=True), name="source_due")
        ]

    def __str__(self) -> str:
        return self.name


class IngestRun(models.Model):
    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        NEW = "new", "New documents"
        UPDATED = "updated", "Updated"
        NOT_MODIFIED = "not_modified", "Not modified"
        DUPLICATE = "duplicate", "Duplicate"
        NO_DOCUMENTS = "no_documents", "No documents"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=15, choices=Outcome.choices, default=Outcome.RUNNING)
    failure_reason = models.CharField(max_length=30, choices=FailureReason.choices, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    documents_new = models.PositiveIntegerField(default=0)
    documents_updated = models.PositiveIntegerField(default=0)
    documents_duplicate = models.PositiveIntegerField(default=0)
    documents_failed = models.PositiveIntegerField(
        default=0, help_text="Entries that could not be stored (each has a warning)"
    )
    error = models.TextField(blank=True)
    warnings = models.TextField(blank=True)
    # Per-document detail: which documents were created or updated, and for an
    # updated one the hash of the text it replaced.
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        # A source's run history, newest first.
        indexes = [models.Index(fields=["source", "-started_at"], name="ingestrun_source_started")]

    def __str__(self) -> str:
        return f"{self.source} at {self.started_at:%Y-%m-%d %H:%M}: {self.get_outcome_display()}"


class ExtractionStatus(models.TextChoices):
    PENDING = "pending", "Not yet extracted"
    DONE = "done", "Extracted"
    UNSUPPORTED = "unsupported", "Extraction not supported for this language"
    FAILED = "failed", "Extraction failed"


class Document(models.Model):
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, null=True, blank=True, related_name="documents"
    )
    url = models.URLField("canonical URL", max_length=2000, unique=True, null=True, blank=True)
    title = models.CharField(max_length=500)
    publisher = models.CharField(max_length=200, blank=True)
    author = models.CharField(max_length=300, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=10, blank=True)
    text = models.TextField()
    content_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    fetched_at = models.DateTimeField(default=timezone.now)
    extraction_status = models.CharField(
        max_length=12, choices=ExtractionStatus.choices, default=ExtractionStatus.PENDING
    )
    extracted_at = models.DateTimeField(null=True, blank=True)
    extraction_error = models.TextField(blank=True)
    # When its text was last handed to extraction: a pending document handed over long
    # ago lost its message (a worker killed before sending it, a broker that lost its
    # queue) and is handed over again. Never set for documents nobody sent (the seed).
    extraction_enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    countries = models.ManyToManyField(
        Country, through="DocumentCountry", blank=True, related_name="documents"
    )
    search_vector = models.GeneratedField(
        expression=SearchVector("title", weight="A", config="english")
        + SearchVector("text", weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = [F("published_at").desc(nulls_last=True), "-id"]
        indexes = [
            # Full-text search over document text.
            GinIndex(fields=["search_vector"], name="document_search"),
            # Freshness on the dashboard: documents fetched this week.
            models.Index(fields=["fetched_at"], name="document_fetched_at"),
            # scheduling.resend_lost_extractions: pending documents handed over long ago.
            models.Index(
                fields=["extraction_enqueued_at"],
                condition=Q(extraction_status="pending", extraction_enqueued_at__isnull=False),
                name="document_extraction_waiting",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.content_sha256 = self.hash_text(self.text)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("governance:document_detail", args=[self.pk])

    @staticmethod
    def hash_text(text: str) -> str:
        """The dedupe key: a hash of the text with white space normalized."""
        return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


class DocumentCountry(models.Model):
    """A country a document mentions: reference data extraction publishes directly,
    so analysts can facet documents by country."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="mentions")
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="mentions")
    mention_count = models.PositiveIntegerField(default=1)
    # The first mention, for highlighting: document.text[start:end].
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    mention_types = ArrayField(models.CharField(max_length=10), default=list, blank=True)

    class Meta:
        ordering = ["document", "start"]
        verbose_name = "country mention"
        verbose_name_plural = "country mentions"
        constraints = [
            models.UniqueConstraint(fields=["document", "country"], name="documentcountry_unique")
        ]
        # Country pages and facets: the documents that mention a country.
        indexes = [models.Index(fields=["country", "document"], name="documentcountry_country")]

    def __str__(self) -> str:
        times = self.mention_count
        return f"document {self.document_id} mentions {self.country_id} ({times} times)"


class Evidence(models.Model):
    """Where a curated fact comes from: a span of a Document's text.

    The span is exact: document.text[start:end] == excerpt, checked on save.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.CharField(max_length=64)
    record = GenericForeignKey("content_type", "object_id")
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="evidence")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    excerpt = models.TextField()
    claim = models.CharField(
        max_length=300, blank=True, help_text="What this span supports, for readers"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["document", "start"]
        verbose_name_plural = "evidence"
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="evidence_span_nonempty"),
            models.UniqueConstraint(
                fields=["content_type", "object_id", "document", "start", "end"],
                name="evidence_natural_key",
            ),
        ]
        # "Where does this come from?" for one record.
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="evidence_record"),
            # Global search: records of one kind by the words of their evidence sentences
            # (btree_gin's content_type_id first: the index intersects the kind and the
            # words, so the sentences of the million statements are never read).
            GinIndex(
                F("content_type"),
                SearchVector("excerpt", config="english"),
                name="evidence_text",
            ),
        ]

    def __str__(self) -> str:
        span = f"{self.document_id}[{self.start}:{self.end}]"
        return f"{self.content_type.model} {self.object_id} ← document {span}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.document.text[self.start : self.end] != self.excerpt:
            raise ValueError(
                f"Evidence span [{self.start}:{self.end}] of document {self.document_id} "
                f"does not match its excerpt {self.excerpt[:60]!r}"
            )
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return f"{self.document.get_absolute_url()}#span-{self.start}-{self.end}"

    @cached_property
    def sentence(self) -> Sentence:
        """The whole sentence of the document the span sits in, split around the span:
        record pages show it, the span marked, as the fact's source."""
        return sentence_around(self.document.text, self.start, self.end)

    def clean(self) -> None:
        if self.document_id and self.document.text[self.start : self.end] != self.excerpt:
            raise ValidationError(
                {"excerpt": "The excerpt must be exactly the document's text at [start:end]."}
            )


class Candidate(models.Model):
    """A fact proposed by extraction, waiting for a curator's decision."""

    class Kind(models.TextChoices):
        COUNTRY = "country", "Country"
        PERSON = "person", "Person"
        ORGANIZATION = "organization", "Organization"
        QUOTE = "quote", "Quote"
        PROPOSAL = "proposal", "Proposal"
        ACTION_ITEM = "action_item", "Action-plan item"
        PARTICIPATION = "participation", "Participation"
        EVENT = "event", "Event"
        FIGURE = "figure", "Figure"
        DATE = "date", "Date"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        MERGED = "merged", "Merged"

    # Keys every payload of a kind must carry; extraction may add more.
    REQUIRED_PAYLOAD_KEYS: dict[str, tuple[str, ...]] = {
        Kind.COUNTRY: ("code",),
        Kind.PERSON: ("name",),
        Kind.ORGANIZATION: ("name",),
        Kind.QUOTE: ("speaker", "text"),
        Kind.PROPOSAL: ("proposer", "text"),
        Kind.ACTION_ITEM: ("heading",),
        Kind.PARTICIPATION: ("participant", "role"),
        Kind.EVENT: ("name",),
        Kind.FIGURE: ("value", "unit"),
        Kind.DATE: ("text", "date"),
    }

    # No index of its own: candidate_natural_key opens with document, and serves every
    # lookup by document (the review page, cascades); a second index cost each INSERT.
    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="candidates", db_index=False
    )
    kind = models.CharField(max_length=15, choices=Kind.choices)
    payload = models.JSONField()
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    excerpt = models.TextField()
    confidence = models.FloatField()
    extractor = models.CharField(max_length=100, help_text="The rule that proposed it")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="decisions",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    record_type = models.ForeignKey(
        ContentType, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    record_id = models.CharField(max_length=64, blank=True)
    record = GenericForeignKey("record_type", "record_id")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "start", "kind"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="candidate_span_nonempty"),
            models.CheckConstraint(
                condition=Q(confidence__gte=0) & Q(confidence__lte=1),
                name="candidate_confidence_0_1",
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(decided_at__isnull=False),
                name="candidate_decided_has_time",
            ),
            models.UniqueConstraint(
                fields=["document", "kind", "start", "end", "extractor"],
                name="candidate_natural_key",
            ),
        ]
        # The review queue: pending candidates by kind, oldest first.
        indexes = [models.Index(fields=["status", "kind", "created_at"], name="candidate_queue")]
        permissions = [("review_candidate", "Can decide on candidates in the review queue")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} candidate “{self.excerpt[:60]}” ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("admin:governance_candidate_change", args=[self.pk])

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not isinstance(self.payload, dict):
            errors["payload"] = "The payload must be a JSON object."
        else:
            missing = [
                k for k in self.REQUIRED_PAYLOAD_KEYS.get(self.kind, ()) if k not in self.payload
            ]
            if missing:
                errors["payload"] = f"A {self.kind} payload needs: {', '.join(missing)}."
        if self.document_id and self.document.text[self.start : self.end] != self.excerpt:
            errors["excerpt"] = "The excerpt must be exactly the document's text at [start:end]."
        if errors:
            raise ValidationError(errors)


class Decision(models.Model):
    """One curator decision on a Candidate and what it changed, so that it can be undone
    and counted (decisions per curator per day, acceptance rate per extractor rule)."""

    class Action(models.TextChoices):
        ACCEPT = "accept", "Accepted"
        ACCEPT_EDITED = "accept_edited", "Accepted with edits"
        LINK = "link", "Linked to an existing record"
        REJECT = "reject", "Rejected"

    candidate = models.ForeignKey(Candidate, on_delete=models.CASCADE, related_name="decisions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    action = models.CharField(max_length=15, choices=Action.choices)
    note = models.TextField(blank=True, help_text="The reason for a rejection, or an edit's note")
    # What the decision did, in order: [{"model": "governance.person", "pk": "12",
    # "created": true, "history_id": 34}, ...]; undo reverses it.
    effects = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # "Undo my last decision", and decisions per curator per day.
            models.Index(fields=["user", "-created_at"], name="decision_user_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} candidate {self.candidate_id}"


class Merge(models.Model):
    """A merge of a duplicate record (the loser) into the survivor: who, when, what moved."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    survivor_id = models.CharField(max_length=64)
    loser_id = models.CharField(max_length=64)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # {"<app_label.model>.<field>": [ids moved], ...}, and the names kept as aliases.
    moved = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.content_type.model} {self.loser_id} merged into {self.survivor_id}"


# Follows and the digest ledger live in their own package; imported here so that the
# app registry (and makemigrations) finds them.
from governance.alerts.models import Digest, DigestItem, Follow  # noqa: E402, F401
