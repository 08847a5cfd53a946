"""Who may do what: anonymous visitors read public pages; curators review and edit;
admins also manage sources, users and merges. Views check these, never templates."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

CURATOR_GROUP = "Curators"
ADMIN_GROUP = "Administrators"


def is_curator(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(user.is_active and user.has_perm("governance.review_candidate"))


def is_admin(user: AbstractBaseUser | AnonymousUser) -> bool:
    return bool(
        user.is_active and (user.is_superuser or user.groups.filter(name=ADMIN_GROUP).exists())
    )


def _requires(check: Callable[[Any], bool]) -> Callable[..., Any]:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


curator_required = _requires(is_curator)
admin_required = _requires(is_admin)
