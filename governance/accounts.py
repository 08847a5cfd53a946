"""Analyst accounts: sign up (to follow things and get digests), and where a login lands."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model, login
from django.contrib.auth.forms import UserCreationForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from governance.roles import is_curator


class SignupForm(UserCreationForm):
    """A username, an email address for the digests, and a password that passes
    AUTH_PASSWORD_VALIDATORS (checked by UserCreationForm)."""

    email = forms.EmailField(
        required=True, help_text="Digests of what you follow are sent here.", max_length=254
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email address already exists.")
        return email


def _next_url(request: HttpRequest) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if safe else reverse("governance:following")


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect(_next_url(request))
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return HttpResponseRedirect(_next_url(request))
    context = {"form": form, "next": _next_url(request) if "next" in request.GET else ""}
    return TemplateResponse(request, "registration/signup.html", context)


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
