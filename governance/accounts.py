"""Analyst accounts: sign up (to follow things and get digests), and where a login lands.

Sign-up tells nobody whether an address has an account. Step one asks only for the email
address and always answers the same page ("check your email"): a new address gets a
link to finish signing up, an address that already has an account gets a notice telling
its owner so (with the way to log in or reset the password) instead. Only the link, that
is the mailbox, leads on: step two chooses the username and password and creates the
account, so a username being taken is said only to someone who holds a valid link. Both
steps are throttled per client address (SIGNUP_RATE_LIMIT) with the API's limiter.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import UserCreationForm
from django.core import signing
from django.core.mail import send_mail
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from governance.api.throttle import ClientRateThrottle
from governance.roles import is_curator

logger = logging.getLogger(__name__)

SALT = "governance.accounts.signup"
throttle = ClientRateThrottle(scope="signup", setting="SIGNUP_RATE_LIMIT")


class SignupForm(forms.Form):
    """Step one: only the address the link is sent to."""

    email = forms.EmailField(
        required=True, max_length=254, help_text="We send a link here to finish signing up."
    )


class AccountForm(UserCreationForm):
    """Step two, from the emailed link: a username and a password that passes
    AUTH_PASSWORD_VALIDATORS (checked by UserCreationForm); the email comes from the link."""

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)


def make_token(email: str, next_url: str = "") -> str:
    return signing.dumps({"email": email, "next": next_url}, salt=SALT, compress=True)


def read_token(token: str) -> dict[str, str] | None:
    try:
        value = signing.loads(token, salt=SALT, max_age=settings.SIGNUP_LINK_MAX_AGE)
    except signing.BadSignature:  # also SignatureExpired
        return None
    if not isinstance(value, dict) or not isinstance(value.get("email"), str):
        return None
    return {"email": value["email"], "next": str(value.get("next") or "")}


def _safe_next(request: HttpRequest, url: str) -> str:
    safe = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if url and safe else reverse("governance:following")


def _next_url(request: HttpRequest) -> str:
    return _safe_next(request, request.POST.get("next") or request.GET.get("next") or "")


def _throttled(request: HttpRequest) -> HttpResponse | None:
    """The 429 page when this client has sent too many sign-up forms, else None."""
    if throttle.allow_request(request):
        return None
    wait = math.ceil(throttle.wait() / 60)
    response = TemplateResponse(
        request, "registration/signup_throttled.html", {"minutes": wait}, status=429
    )
    response["Retry-After"] = str(math.ceil(throttle.wait()))
    return response


def _send(to: str, template: str, context: dict[str, Any]) -> None:
    subject, _, body = render_to_string(template, context).partition("\n")
    try:
        send_mail(subject.strip(), body.lstrip("\n"), None, [to])
    except Exception:
        # The answer must not depend on the mail server either: logged, same page.
        logger.exception("sign-up email to one address could not be sent")


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect(_next_url(request))
    form = SignupForm(request.POST or None)
    context = {"form": form, "next": _next_url(request) if "next" in request.GET else ""}
    if request.method == "POST":
        if (refused := _throttled(request)) is not None:
            return refused
        if form.is_valid():
            email = form.cleaned_data["email"].strip()
            site = request.build_absolute_uri("/")[:-1]
            owners = list(get_user_model().objects.filter(email__iexact=email))
            if owners:
                for owner in owners:
                    _send(
                        owner.email,
                        "registration/signup_existing_email.txt",
                        {
                            "username": owner.get_username(),
                            "login_url": site + reverse("login"),
                            "reset_url": site + reverse("password_reset"),
                        },
                    )
            else:
                token = make_token(email, request.POST.get("next", ""))
                link = site + reverse("signup_confirm", args=[token])
                days = settings.SIGNUP_LINK_MAX_AGE // 86400
                _send(
                    email,
                    "registration/signup_email.txt",
                    {"link": link, "days": days or 1},
                )
            # The same page, whatever the address: nothing says whether it has an account.
            return TemplateResponse(request, "registration/signup_sent.html", {"email": email})
    return TemplateResponse(request, "registration/signup.html", context)


@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Step two: whoever opened the link reads that mailbox; they choose a username and a
    password, and the account is made and logged in."""
    if request.user.is_authenticated:
        return HttpResponseRedirect(_next_url(request))
    claim = read_token(token)
    if claim is None:
        return TemplateResponse(request, "registration/signup_link_invalid.html", status=400)
    email = claim["email"]
    if get_user_model().objects.filter(email__iexact=email).exists():
        # Only the mailbox's owner holds this link: telling them is no leak.
        return TemplateResponse(
            request, "registration/signup_link_used.html", {"email": email}, status=200
        )
    form = AccountForm(request.POST or None)
    if request.method == "POST":
        if (refused := _throttled(request)) is not None:
            return refused
        if form.is_valid():
            user = form.save(commit=False)
            user.email = email
            user.save()
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return HttpResponseRedirect(_safe_next(request, claim["next"]))
    return TemplateResponse(
        request, "registration/signup_confirm.html", {"form": form, "email": email}
    )


def account_home(request: HttpRequest) -> HttpResponse:
    """Where a login without ?next= lands: curators at the review queue, analysts at what
    they follow (the review queue would refuse them)."""
    if is_curator(request.user):
        return HttpResponseRedirect(reverse("governance:review_queue"))
    if request.user.is_authenticated:
        return HttpResponseRedirect(reverse("governance:following"))
    return HttpResponseRedirect(reverse("login"))


# django-axes stores a failed login's username in a 255-character column: a longer one
# (no account has one; usernames are at most 150) was a 500 on both login forms.
AXES_USERNAME_LENGTH = 255


def axes_username(request: HttpRequest, credentials: dict[str, object] | None = None) -> str | None:
    """The username django-axes records and locks out on (AXES_USERNAME_CALLABLE), cut to
    its column; the login itself still fails as any wrong username does."""
    value = (credentials or {}).get("username") if credentials else None
    if value is None and request is not None:
        value = getattr(request, "POST", {}).get("username")
    return value[:AXES_USERNAME_LENGTH] if isinstance(value, str) else None
