"""Admin registrations: every model, with search and list filters.

Curated records use SimpleHistoryAdmin so staff see who changed what. The
review queue proper is a later, dedicated page; this is the raw admin.
"""

from __future__ import annotations

from typing import Any

import kombu.exceptions
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.admin import GenericTabularInline
from django.contrib.postgres.forms import SimpleArrayField
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import IntegerField as IntegerModelField
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from governance import models
from governance.alerts.models import Digest, DigestItem, Follow
from governance.forms import SourceForm
from governance.ingest import scheduling
from governance.ingest.errors import FailureReason
from governance.validation import ascii_int


class ModelAdmin(admin.ModelAdmin):
    """The project's ModelAdmin: an add form's initial values from the query string
    (`?country=CN`) are kept only where they can name a record, since Django's
    autocomplete and raw-id widgets look them up as they come (`?proposal=²` was a 500)."""

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        for name, value in list(initial.items()):
            try:
                field = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if not field.is_relation or field.related_model is None:
                continue
            target = field.related_model._meta.pk
            values = value if isinstance(value, list) else [value]
            if not all(_names_a_key(target, v) for v in values):
                del initial[name]
        return initial


def _names_a_key(pk: Any, value: Any) -> bool:
    if isinstance(pk, IntegerModelField):
        return ascii_int(value) is not None
    try:
        pk.to_python(value)
    except (ValidationError, ValueError, TypeError):
        return False
    return True


class HistoryAdmin(ModelAdmin, SimpleHistoryAdmin):
    """SimpleHistoryAdmin whose history pages answer 404 for an id that is not one:
    django-simple-history passes the URL's object and version ids to the query as they
    come, and a key like "CN" for an integer one was a 500 (issue #25)."""

    def _valid_id(self, object_id: str, version_id: str | None = None) -> None:
        try:
            self.model._meta.pk.to_python(unquote(object_id))
        except (ValidationError, ValueError, TypeError) as error:
            raise Http404("No such record.") from error
        if version_id is not None and ascii_int(version_id) is None:
            raise Http404("No such version.")

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        self._valid_id(object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> Any:
        self._valid_id(object_id, version_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


class HealthFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("ok", "OK"), ("failing", "Failing"), ("never", "Never fetched")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        if self.value() == "ok":
            return queryset.filter(consecutive_failures=0, last_success_at__isnull=False)
        if self.value() == "failing":
            return queryset.filter(consecutive_failures__gt=0)
        if self.value() == "never":
            return queryset.filter(Q(last_success_at__isnull=True), consecutive_failures=0)
        return None


class EvidenceInline(GenericTabularInline):
    model = models.Evidence
    ct_field = "content_type"
    ct_fk_field = "object_id"
    extra = 0
    fields = ("document", "start", "end", "excerpt", "claim")
    raw_id_fields = ("document",)


class CountryAliasInline(admin.TabularInline):
    model = models.CountryAlias
    extra = 0


@admin.register(models.Country)
class CountryAdmin(HistoryAdmin):
    list_display = ("name", "code", "alpha3", "region", "subregion")
    list_filter = ("region", "subregion")
    search_fields = ("name", "official_name", "code", "alpha3", "aliases__alias")
    inlines = [CountryAliasInline]


@admin.register(models.CountryAlias)
class CountryAliasAdmin(ModelAdmin):
    list_display = ("alias", "country", "kind", "ambiguous", "source")
    list_filter = ("kind", "ambiguous", "source")
    search_fields = ("alias", "country__name")
    autocomplete_fields = ("country",)


@admin.register(models.Organization)
class OrganizationAdmin(HistoryAdmin):
    list_display = ("name", "kind", "country")
    list_filter = ("kind", "country__region")
    search_fields = ("name", "description")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("country", "parent", "members")
    inlines = [EvidenceInline]


class RoleInline(admin.TabularInline):
    model = models.Role
    extra = 0
    autocomplete_fields = ("organization", "country")


@admin.register(models.Person)
class PersonAdmin(HistoryAdmin):
    list_display = ("name", "description")
    search_fields = ("name", "description")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [RoleInline, EvidenceInline]


@admin.register(models.Role)
class RoleAdmin(HistoryAdmin):
    list_display = ("person", "title", "organization", "country", "start_date", "end_date")
    list_filter = ("country",)
    search_fields = ("person__name", "title", "organization__name")
    autocomplete_fields = ("person", "organization", "country")
    inlines = [EvidenceInline]


class EventFigureInline(admin.TabularInline):
    model = models.EventFigure
    extra = 0


@admin.register(models.Event)
class EventAdmin(HistoryAdmin):
    list_display = ("name", "city", "country", "start_date", "end_date")
    list_filter = ("country", "start_date")
    search_fields = ("name", "short_name", "city", "theme")
    prepopulated_fields = {"slug": ("short_name",)}
    autocomplete_fields = ("country",)
    inlines = [EventFigureInline, EvidenceInline]


@admin.register(models.EventFigure)
class EventFigureAdmin(HistoryAdmin):
    list_display = ("event", "label", "qualifier", "value")
    list_filter = ("qualifier", "event")
    search_fields = ("label", "event__name")
    inlines = [EvidenceInline]


class ActionPlanItemInline(admin.TabularInline):
    model = models.ActionPlanItem
    extra = 0


class ParticipationInline(admin.TabularInline):
    model = models.Participation
    extra = 0
    fields = ("country", "organization", "person", "role", "date", "note")
    autocomplete_fields = ("country", "organization", "person")


@admin.register(models.Proposal)
class ProposalAdmin(HistoryAdmin):
    list_display = ("title", "kind", "status", "announced_on", "event")
    list_filter = ("kind", "status", "announced_on")
    search_fields = ("title", "summary")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("event", "headquarters_statement")
    inlines = [ActionPlanItemInline, ParticipationInline, EvidenceInline]


@admin.register(models.ActionPlanItem)
class ActionPlanItemAdmin(HistoryAdmin):
    list_display = ("proposal", "position", "heading")
    list_filter = ("proposal",)
    search_fields = ("heading", "text")
    inlines = [EvidenceInline]


@admin.register(models.Participation)
class ParticipationAdmin(HistoryAdmin):
    list_display = ("__str__", "role", "date")
    list_filter = ("role", "proposal", "event")
    search_fields = ("country__name", "organization__name", "person__name", "note")
    autocomplete_fields = ("proposal", "event", "country", "organization", "person")
    inlines = [EvidenceInline]


class StatementForm(forms.ModelForm):
    # One quoted run per line: a run may hold commas, the default separator.
    quoted = SimpleArrayField(
        forms.CharField(),
        delimiter="\n",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A partial quote's quoted words, one run per line, without quotation marks",
    )

    class Meta:
        model = models.Statement
        fields = "__all__"  # noqa: DJ007 - the admin shows every editable field

    def clean_quoted(self) -> list[str]:
        return [run.strip() for run in self.cleaned_data["quoted"] if run.strip()]


@admin.register(models.Statement)
class StatementAdmin(HistoryAdmin):
    form = StatementForm
    list_display = ("__str__", "kind", "speaker", "said_on", "event")
    list_filter = ("kind", "said_on", "event", "proposals")
    search_fields = ("text", "speaker__name")
    date_hierarchy = "said_on"
    autocomplete_fields = (
        "speaker",
        "speaker_role",
        "on_behalf_of_country",
        "on_behalf_of_organization",
        "event",
        "proposals",
        "countries",
        "organizations",
    )
    inlines = [EvidenceInline]


@admin.register(models.Evidence)
class EvidenceAdmin(HistoryAdmin):
    list_display = ("__str__", "claim", "document")
    list_filter = ("content_type",)
    search_fields = ("excerpt", "claim")
    raw_id_fields = ("document",)


@admin.register(models.Source)
class SourceAdmin(ModelAdmin):
    form = SourceForm
    list_display = (
        "name",
        "kind",
        "enabled",
        "health",
        "last_outcome",
        "last_success_at",
        "consecutive_failures",
        "next_fetch_at",
    )
    list_filter = ("kind", "enabled", HealthFilter)
    search_fields = ("name", "url", "last_error")
    actions = ["fetch_now"]
    readonly_fields = (
        "last_success_at",
        "consecutive_failures",
        "last_error",
        "next_fetch_at",
        "etag",
        "last_modified",
        "manual_filename",
        "recent_runs",
    )
    fieldsets = [
        (None, {"fields": ["name", "kind", "url", "enabled", "interval"]}),
        ("Manual text", {"fields": ["manual_text", "upload", "manual_filename"]}),
        (
            "Health",
            {
                "fields": [
                    "last_success_at",
                    "consecutive_failures",
                    "last_error",
                    "next_fetch_at",
                    "etag",
                    "last_modified",
                    "recent_runs",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[models.Source]:
        latest = models.IngestRun.objects.filter(source=OuterRef("pk")).order_by("-started_at")
        return (
            super()
            .get_queryset(request)
            .annotate(
                latest_outcome=Subquery(latest.values("outcome")[:1]),
                latest_reason=Subquery(latest.values("failure_reason")[:1]),
            )
        )

    @admin.display(description="Health")
    def health(self, source: models.Source) -> str:
        if not source.enabled:
            return "disabled"
        if source.consecutive_failures:
            return f"failing ({source.consecutive_failures} in a row)"
        return "ok" if source.last_success_at else "never fetched"

    @admin.display(description="Last outcome", ordering="latest_outcome")
    def last_outcome(self, source: models.Source) -> str:
        if not source.latest_outcome:
            return "—"
        label = models.IngestRun.Outcome(source.latest_outcome).label
        if source.latest_reason:
            label += f": {FailureReason(source.latest_reason).label}"
        return label

    @admin.display(description="Recent runs")
    def recent_runs(self, source: models.Source) -> str:
        if source.pk is None:
            return "—"
        runs = source.runs.all()[:10]
        all_runs = (
            reverse("admin:governance_ingestrun_changelist") + f"?source__id__exact={source.pk}"
        )
        return format_html(
            "<table><tr><th>Started</th><th>Outcome</th><th>New</th><th>Updated</th>"
            '<th>Duplicate</th><th>Error</th></tr>{}</table><p><a href="{}">All runs</a></p>',
            format_html_join(
                "",
                '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td>'
                "<td>{}</td><td>{}</td></tr>",
                (
                    (
                        reverse("admin:governance_ingestrun_change", args=[run.pk]),
                        run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                        run.get_outcome_display()
                        + (f" ({run.get_failure_reason_display()})" if run.failure_reason else ""),
                        run.documents_new,
                        run.documents_updated,
                        run.documents_duplicate,
                        run.error[:200],
                    )
                    for run in runs
                ),
            ),
            all_runs,
        )

    @admin.action(description="Fetch now")
    def fetch_now(self, request: HttpRequest, queryset: QuerySet[models.Source]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        try:
            count = scheduling.fetch_now(ids)
        except kombu.exceptions.OperationalError as exc:
            self.message_user(
                request,
                f"{len(ids)} source(s) marked due, but the job queue (Redis) is unreachable "
                f"({exc}); beat sends them once it is back.",
                messages.WARNING,
            )
            return
        self.message_user(request, f"{count} source(s) queued for fetching.", messages.SUCCESS)


@admin.register(models.IngestRun)
class IngestRunAdmin(ModelAdmin):
    list_display = (
        "source",
        "started_at",
        "finished_at",
        "outcome",
        "failure_reason",
        "http_status",
        "documents_new",
        "documents_updated",
        "documents_duplicate",
        "documents_failed",
    )
    list_filter = ("outcome", "failure_reason", "source")
    list_select_related = ("source",)
    search_fields = ("source__name", "error", "warnings")
    date_hierarchy = "started_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are records of what happened, written only by ingestion

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(models.Document)
class DocumentAdmin(ModelAdmin):
    list_display = ("title", "publisher", "published_at", "language", "extraction_status", "source")
    list_filter = ("language", "extraction_status", "source", "published_at")
    search_fields = ("title", "url", "publisher")
    readonly_fields = (
        "content_sha256",
        "fetched_at",
        "extraction_status",
        "extracted_at",
        "extraction_error",
        "candidates_found",
    )
    date_hierarchy = "fetched_at"

    @admin.display(description="Candidates")
    def candidates_found(self, document: models.Document) -> str:
        """This document's candidates, each with its evidence highlighted in context."""
        candidates = document.candidates.order_by("start", "kind")[:300]
        if not candidates:
            return "—"
        return format_html(
            "<table><tr><th>Kind</th><th>Status</th><th>Found</th><th>Evidence</th></tr>{}</table>",
            format_html_join(
                "",
                '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>',
                (
                    (
                        reverse("admin:governance_candidate_change", args=[c.pk]),
                        c.get_kind_display(),
                        c.get_status_display(),
                        candidate_summary(c),
                        in_context(document.text, c.start, c.end),
                    )
                    for c in candidates
                ),
            ),
        )


@admin.register(models.DocumentCountry)
class DocumentCountryAdmin(ModelAdmin):
    list_display = ("document", "country", "mention_count", "mention_types")
    list_filter = ("country__region", "country")
    list_select_related = ("document", "country")
    search_fields = ("document__title", "country__name")
    raw_id_fields = ("document",)


@admin.register(models.Candidate)
class CandidateAdmin(ModelAdmin):
    list_display = ("__str__", "kind", "status", "confidence", "extractor", "document")
    list_filter = ("status", "kind", "extractor")
    list_select_related = ("document",)
    search_fields = ("excerpt", "document__title")
    raw_id_fields = ("document", "decided_by")
    readonly_fields = ("evidence_in_context",)

    @admin.display(description="Evidence")
    def evidence_in_context(self, candidate: models.Candidate) -> str:
        if candidate.document_id is None:
            return "—"
        return in_context(candidate.document.text, candidate.start, candidate.end)


def candidate_summary(candidate: models.Candidate) -> str:
    payload = candidate.payload if isinstance(candidate.payload, dict) else {}
    for key in ("name", "code", "speaker", "proposer", "heading", "participant", "text"):
        if payload.get(key):
            extra = payload.get("role") or payload.get("value") or ""
            return f"{payload[key]}" + (f" ({extra})" if extra else "")
    return candidate.excerpt[:80]


def in_context(text: str, start: int, end: int, width: int = 160) -> str:
    """The span highlighted with a little of the text around it (escaped)."""
    before = text[max(0, start - width) : start]
    after = text[end : end + width]
    return format_html(
        "…{}<mark>{}</mark>{}…",
        before,
        text[start:end],
        after,
    )


class RecordOfWhatHappened(ModelAdmin):
    """Decisions and merges are an audit trail: written by the review queue, never edited."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(models.Decision)
class DecisionAdmin(RecordOfWhatHappened):
    list_display = ("candidate", "action", "user", "created_at", "undone_at")
    list_filter = ("action", "user", "candidate__kind")
    list_select_related = ("candidate", "user")
    search_fields = ("note", "candidate__excerpt")
    date_hierarchy = "created_at"
    raw_id_fields = ("candidate",)


@admin.register(models.Merge)
class MergeAdmin(RecordOfWhatHappened):
    list_display = ("__str__", "content_type", "user", "created_at")
    list_filter = ("content_type", "user")
    list_select_related = ("content_type", "user")
    search_fields = ("survivor_id", "loser_id")
    date_hierarchy = "created_at"


# --- Follows and digests (governance/alerts): admins see who follows what and what was
# sent; digests are a record of what happened, written only by the digest task.


@admin.register(Follow)
class FollowAdmin(ModelAdmin):
    list_display = ("__str__", "user", "frequency", "created_at", "digested_until")
    list_filter = ("frequency",)
    list_select_related = ("user", "proposal", "country", "person")
    search_fields = ("user__username", "user__email", "name", "saved_search")
    raw_id_fields = ("user", "proposal", "person")
    date_hierarchy = "created_at"


@admin.register(Digest)
class DigestAdmin(RecordOfWhatHappened):
    list_display = ("user", "frequency", "item_count", "snapshot_at", "sent_at")
    list_filter = ("frequency",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email")
    date_hierarchy = "sent_at"


@admin.register(DigestItem)
class DigestItemAdmin(RecordOfWhatHappened):
    list_display = ("digest", "follow", "kind", "object_id")
    list_filter = ("kind",)
    list_select_related = ("digest__user", "follow__user")
    search_fields = ("digest__user__username",)
