from __future__ import annotations

from django.urls import include, path, register_converter

from governance import data_views, feeds, ical, review_views, views


class CountryCode:
    """Two letters (ISO 3166-1 alpha-2, any case): anything else is a 404 before a query."""

    regex = "[A-Za-z]{2}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(CountryCode, "iso2")

app_name = "governance"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("search/", views.global_search, name="search"),
    path("compare/", views.compare, name="compare"),
    path("statements/", views.statement_list, name="statement_list"),
    path("statements/feed/", feeds.statement_feed, name="statement_feed"),
    path("proposals/", views.proposal_list, name="proposal_list"),
    path("countries/", views.country_list, name="country_list"),
    path("participation/", views.participation_list, name="participation_list"),
    path("documents/", views.document_list, name="document_list"),
    path("events/", views.event_list, name="event_list"),
    path("events/calendar.ics", ical.calendar_feed, name="event_calendar"),
    path("data/", data_views.downloads, name="downloads"),
    path("data/dumps/<str:name>", data_views.dump_download, name="dump_download"),
    path("people/", views.person_list, name="person_list"),
    path("organizations/", views.organization_list, name="organization_list"),
    path("proposals/<slug:slug>/", views.proposal_detail, name="proposal_detail"),
    path("proposals/<slug:slug>/feed/", feeds.proposal_feed, name="proposal_feed"),
    path("countries/<iso2:code>/", views.country_detail, name="country_detail"),
    path("countries/<iso2:code>/feed/", feeds.country_feed, name="country_feed"),
    path("people/<slug:slug>/", views.person_detail, name="person_detail"),
    path("people/<slug:slug>/feed/", feeds.person_feed, name="person_feed"),
    path("organizations/<slug:slug>/", views.organization_detail, name="organization_detail"),
    path("events/<slug:slug>/", views.event_detail, name="event_detail"),
    path("events/<slug:slug>/event.ics", ical.event_ics, name="event_ics"),
    path("statements/<int:pk>/", views.statement_detail, name="statement_detail"),
    path("documents/<int:pk>/", views.document_detail, name="document_detail"),
    # Follows, the /following/ page and unsubscribe links (governance/alerts/).
    path("", include("governance.alerts.urls")),
    # Staff: the review queue, its decisions (POST only), queue health, merges.
    path("review/", review_views.review_queue, name="review_queue"),
    path("review/health/", review_views.health, name="review_health"),
    path("review/undo/", review_views.undo, name="review_undo"),
    path("review/bulk/", review_views.bulk, name="review_bulk"),
    path("review/candidates/<int:pk>/accept/", review_views.accept, name="review_accept"),
    path("review/candidates/<int:pk>/reject/", review_views.reject, name="review_reject"),
    path("review/candidates/<int:pk>/edit/", review_views.edit, name="review_edit"),
    path("review/candidates/<int:pk>/link/", review_views.link, name="review_link"),
    path("review/new/", review_views.new_source, name="review_new_source"),
    path("review/documents/<int:pk>/add/", review_views.add_fact, name="review_add_fact"),
    path("review/merges/", review_views.merges, name="review_merges"),
    path(
        "review/merges/<str:model>/<int:survivor>/<int:loser>/",
        review_views.merge_confirm,
        name="review_merge",
    ),
]
