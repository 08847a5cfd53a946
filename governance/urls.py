from __future__ import annotations

from django.urls import path

from governance import views

app_name = "governance"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("search/", views.global_search, name="search"),
    path("compare/", views.compare, name="compare"),
    path("statements/", views.statement_list, name="statement_list"),
    path("proposals/", views.proposal_list, name="proposal_list"),
    path("countries/", views.country_list, name="country_list"),
    path("events/", views.event_list, name="event_list"),
    path("people/", views.person_list, name="person_list"),
    path("organizations/", views.organization_list, name="organization_list"),
    path("proposals/<slug:slug>/", views.proposal_detail, name="proposal_detail"),
    path("countries/<str:code>/", views.country_detail, name="country_detail"),
    path("people/<slug:slug>/", views.person_detail, name="person_detail"),
    path("organizations/<slug:slug>/", views.organization_detail, name="organization_detail"),
    path("events/<slug:slug>/", views.event_detail, name="event_detail"),
    path("statements/<int:pk>/", views.statement_detail, name="statement_detail"),
    path("documents/<int:pk>/", views.document_detail, name="document_detail"),
]
