from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path

from governance import accounts
from governance.api import api, fallback

urlpatterns = [
    path("admin/", admin.site.urls),
    # Log in and out for curators and analysts, who need no admin (staff) account.
    path("accounts/", include("django.contrib.auth.urls")),
    # Analysts sign up to follow things; a login without ?next= lands by role.
    path("accounts/signup/", accounts.signup, name="signup"),
    # The link a sign-up email carries: choose a username and password.
    path("accounts/signup/<str:token>/", accounts.signup_confirm, name="signup_confirm"),
    path("accounts/home/", accounts.account_home, name="account_home"),
    # The read-only JSON API, its OpenAPI schema (/api/schema) and docs (/api/docs).
    path("api/", fallback.index, name="api_index"),
    path("api/", api.urls),
    re_path(r"^api/(?P<rest>.*)$", fallback.not_found),
    path("", include("governance.urls")),
]
