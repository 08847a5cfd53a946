from __future__ import annotations

from django.urls import path

from governance import views

app_name = "governance"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("proposals/<slug:slug>/", views.proposal_detail, name="proposal_detail"),
    path("countries/<str:code>/", views.country_detail, name="country_detail"),
    path("people/<slug:slug>/", views.person_detail, name="person_detail"),
    path("organizations/<slug:slug>/", views.organization_detail, name="organization_detail"),
    path("events/<slug:slug>/", views.event_detail, name="event_detail"),
    path("statements/<int:pk>/", views.statement_detail, name="statement_detail"),
    path("documents/<int:pk>/", views.document_detail, name="document_detail"),
]
