from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # Log in and out for curators, who need no admin (staff) account.
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("governance.urls")),
]
