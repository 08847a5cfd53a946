"""URLs of follows and unsubscribing; included in governance/urls.py (its namespace)."""

from __future__ import annotations

from django.urls import path

from governance.alerts import views

urlpatterns = [
    path("following/", views.following, name="following"),
    path("following/follow/", views.follow, name="follow"),
    path("following/unfollow/", views.unfollow, name="unfollow"),
    path("following/<int:pk>/frequency/", views.change_frequency, name="follow_frequency"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
