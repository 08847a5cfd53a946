"""Admin registrations: every model, with search and list filters.

Curated records use SimpleHistoryAdmin so staff see who changed what. The
review queue proper is a later, dedicated page; this is the raw admin.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from simple_history.admin import SimpleHistoryAdmin

from governance import models


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
class CountryAdmin(SimpleHistoryAdmin):
    list_display = ("name", "code", "alpha3", "region", "subregion")
    list_filter = ("region", "subregion")
    search_fields = ("name", "official_name", "code", "alpha3", "aliases__alias")
    inlines = [CountryAliasInline]


@admin.register(models.CountryAlias)
class CountryAliasAdmin(admin.ModelAdmin):
    list_display = ("alias", "country", "kind", "ambiguous", "source")
    list_filter = ("kind", "ambiguous", "source")
    search_fields = ("alias", "country__name")
    autocomplete_fields = ("country",)


@admin.register(models.Organization)
class OrganizationAdmin(SimpleHistoryAdmin):
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
class PersonAdmin(SimpleHistoryAdmin):
    list_display = ("name", "description")
    search_fields = ("name", "description")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [RoleInline, EvidenceInline]


@admin.register(models.Role)
class RoleAdmin(SimpleHistoryAdmin):
    list_display = ("person", "title", "organization", "country", "start_date", "end_date")
    list_filter = ("country",)
    search_fields = ("person__name", "title", "organization__name")
    autocomplete_fields = ("person", "organization", "country")
    inlines = [EvidenceInline]


class EventFigureInline(admin.TabularInline):
    model = models.EventFigure
    extra = 0


@admin.register(models.Event)
class EventAdmin(SimpleHistoryAdmin):
    list_display = ("name", "city", "country", "start_date", "end_date")
    list_filter = ("country", "start_date")
    search_fields = ("name", "short_name", "city", "theme")
    prepopulated_fields = {"slug": ("short_name",)}
    autocomplete_fields = ("country",)
    inlines = [EventFigureInline, EvidenceInline]


@admin.register(models.EventFigure)
class EventFigureAdmin(SimpleHistoryAdmin):
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
class ProposalAdmin(SimpleHistoryAdmin):
    list_display = ("title", "kind", "status", "announced_on", "event")
    list_filter = ("kind", "status", "announced_on")
    search_fields = ("title", "summary")
    prepopulated_fields = {"slug": ("title",)}
    autocomplete_fields = ("event",)
    inlines = [ActionPlanItemInline, ParticipationInline, EvidenceInline]


@admin.register(models.ActionPlanItem)
class ActionPlanItemAdmin(SimpleHistoryAdmin):
    list_display = ("proposal", "position", "heading")
    list_filter = ("proposal",)
    search_fields = ("heading", "text")
    inlines = [EvidenceInline]


@admin.register(models.Participation)
class ParticipationAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "role", "date")
    list_filter = ("role", "proposal", "event")
    search_fields = ("country__name", "organization__name", "person__name", "note")
    autocomplete_fields = ("proposal", "event", "country", "organization", "person")
    inlines = [EvidenceInline]


@admin.register(models.Statement)
class StatementAdmin(SimpleHistoryAdmin):
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
class EvidenceAdmin(SimpleHistoryAdmin):
    list_display = ("__str__", "claim", "document")
    list_filter = ("content_type",)
    search_fields = ("excerpt", "claim")
    raw_id_fields = ("document",)


class IngestRunInline(admin.TabularInline):
    model = models.IngestRun
    extra = 0
    can_delete = False
    fields = ("started_at", "finished_at", "outcome", "failure_reason", "http_status", "error")
    readonly_fields = fields
    show_change_link = True


@admin.register(models.Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "kind",
        "enabled",
        "last_success_at",
        "consecutive_failures",
        "next_fetch_at",
    )
    list_filter = ("kind", "enabled")
    search_fields = ("name", "url", "last_error")
    inlines = [IngestRunInline]


@admin.register(models.IngestRun)
class IngestRunAdmin(admin.ModelAdmin):
    list_display = (
        "source",
        "started_at",
        "outcome",
        "failure_reason",
        "documents_new",
        "documents_updated",
        "documents_duplicate",
    )
    list_filter = ("outcome", "failure_reason", "source")
    search_fields = ("source__name", "error")
    date_hierarchy = "started_at"


@admin.register(models.Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("title", "publisher", "published_at", "language", "source")
    list_filter = ("language", "source", "published_at")
    search_fields = ("title", "url", "publisher")
    readonly_fields = ("content_sha256", "fetched_at")
    date_hierarchy = "fetched_at"


@admin.register(models.Candidate)
class CandidateAdmin(admin.ModelAdmin):
    list_display = ("__str__", "kind", "status", "confidence", "extractor", "document")
    list_filter = ("status", "kind", "extractor")
    search_fields = ("excerpt", "document__title")
    raw_id_fields = ("document", "decided_by")
