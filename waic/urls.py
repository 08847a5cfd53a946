from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from governance.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    # Log in and out for curators, who need no admin (staff) account.
    path("accounts/", include("django.contrib.auth.urls")),
    # The read-only JSON API, its OpenAPI schema (/api/schema) and docs (/api/docs).
    path("api/", api.urls),
    path("", include("governance.urls")),
]
