"""F1, the framework floor: a Django hello-world view served by the same gunicorn settings
as the tracker, with Django's default middleware (what `startproject` gives) and the
tracker's settings otherwise. Run as DJANGO_SETTINGS_MODULE=bench.perf.floor."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from waic.settings import *  # noqa: F403

ROOT_URLCONF = "bench.perf.floor"
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Hello, world!", content_type="text/plain")


urlpatterns = [path("", hello)]
