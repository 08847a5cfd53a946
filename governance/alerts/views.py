"""Follow and unfollow (signed-in analysts), the /following/ page, and unsubscribing from
a digest's link without logging in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from governance.alerts.models import Follow, Frequency
from governance.alerts.tokens import BadToken, read_token
from governance.models import Country, Person, Proposal
from governance.search import StatementFilterForm, StatementFilters
from governance.validation import ascii_int


class BadTarget(ValueError):
    """The POST does not name one thing that can be followed."""


@dataclass
class Target:
    """What a follow form names: the Follow lookup, and how to show and link it."""

    field: str  # the form field: proposal, country, person or search
    value: str
    lookup: dict[str, Any]
    label: str
    url: str


def normalise_search(data: QueryDict) -> str:
    """The statements page's filters as a canonical query string (sorted, no page, sort or
    format), so the same search saved twice is one follow."""
    form = StatementFilterForm(data)
    if not form.is_valid():
        errors = [e for errs in form.errors.values() for e in errs]
        raise BadTarget("This search has filters that are not understood: " + " ".join(errors))
    f = StatementFilters.from_form(form)
    pairs: list[tuple[str, str]] = [("q", f.q)] if f.q else []
    pairs += [("country", c.lower()) for c in sorted(f.country)]
    for key in ("speaker", "proposal", "event", "kind"):
        pairs += [(key, v) for v in sorted(getattr(f, key))]
    pairs += [("year", str(y)) for y in sorted(f.year)]
    if f.date_from:
        pairs.append(("from", f.date_from.isoformat()))
    if f.date_to:
        pairs.append(("to", f.date_to.isoformat()))
    if f.dates:
        pairs.append(("dates", f.dates))
    if not pairs:
        raise BadTarget("Choose search words or at least one filter before following a search.")
    return urlencode(pairs)


def _record_target(field: str, record: Model) -> Target:
    value = record.code.lower() if isinstance(record, Country) else record.slug  # type: ignore[attr-defined]
    empty = {"proposal": None, "country": None, "person": None, "saved_search": ""}
    return Target(field, value, {**empty, field: record}, str(record), record.get_absolute_url())  # type: ignore[attr-defined]


def parse_target(data: QueryDict) -> Target:
    given = [k for k in ("proposal", "country", "person", "search") if data.get(k, "").strip()]
    if len(given) != 1:
        raise BadTarget("Say what to follow: one proposal, country, person or search.")
    field = given[0]
    value = data[field].strip()
    if field == "search":
        query = normalise_search(QueryDict(value.lstrip("?")))
        url = f"{reverse('governance:statement_list')}?{query}"
        lookup = {"proposal": None, "country": None, "person": None, "saved_search": query}
        return Target("search", query, lookup, "this search", url)
    if field == "proposal":
        record = Proposal.objects.filter(slug=value, merged_into__isnull=True).first()
    elif field == "country":
        record = Country.objects.filter(code=value.upper()[:2]).first()
    else:
        record = Person.objects.filter(slug=value, merged_into__isnull=True).first()
    if record is None:
        raise BadTarget(f"There is no {field} “{value[:100]}” to follow.")
    return _record_target(field, record)


@dataclass
class FollowButton:
    """The state the follow button shows (templates/governance/partials/follow.html)."""

    field: str
    value: str
    noun: str
    follow: Follow | None
    signed_in: bool
    login_url: str


def follow_button(request: HttpRequest, record: Proposal | Country | Person) -> FollowButton:
    """For a record page: whether the visitor follows it (one query when signed in)."""
    field = record._meta.model_name
    target = _record_target(field, record)
    return _button(request, target, field)


def search_follow_button(request: HttpRequest) -> FollowButton | None:
    """For the statements page: "Follow this search", when the filters make a search."""
    try:
        query = normalise_search(request.GET)
    except BadTarget:
        return None
    lookup = {"proposal": None, "country": None, "person": None, "saved_search": query}
    target = Target("search", query, lookup, "this search", "")
    return _button(request, target, "search")


def _button(request: HttpRequest, target: Target, noun: str) -> FollowButton:
    signed_in = request.user.is_authenticated
    follow = None
    if signed_in:
        follow = Follow.objects.filter(user=request.user, **target.lookup).first()
    login_url = f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}"
    return FollowButton(target.field, target.value, noun, follow, signed_in, login_url)


def _bad_request(request: HttpRequest, message: str) -> TemplateResponse:
    return TemplateResponse(
        request, "governance/following_error.html", {"message": message}, status=400
    )


def _back(request: HttpRequest, target: Target | None) -> HttpResponseRedirect:
    """Back to the page the form was on (a same-site URL only), or the target's page."""
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = target.url if target and target.url else reverse("governance:following")
    return HttpResponseRedirect(next_url)


def _respond(request: HttpRequest, target: Target, message: str) -> HttpResponse:
    """htmx swaps in the button's new state; without JavaScript, back to the page."""
    if getattr(request, "htmx", None):
        button = _button(request, target, target.field)
        return TemplateResponse(
            request, "governance/partials/follow.html", {"follow_button": button}
        )
    messages.success(request, message)
    return _back(request, target)


def _frequency(data: QueryDict) -> str | None:
    value = data.get("frequency") or Frequency.DAILY
    return value if value in Frequency.values else None


@login_required
@require_POST
def follow(request: HttpRequest) -> HttpResponse:
    try:
        target = parse_target(request.POST)
    except BadTarget as exc:
        return _bad_request(request, str(exc))
    frequency = _frequency(request.POST)
    if frequency is None:
        return _bad_request(request, "A digest is sent daily or weekly.")
    name = request.POST.get("name", "").strip()[:200]
    item, created = Follow.objects.get_or_create(
        user=request.user, **target.lookup, defaults={"frequency": frequency, "name": name}
    )
    label = item.label if target.field == "search" else target.label
    if created:
        message = f"You follow {label}: a {item.get_frequency_display().lower()} email digest."
    else:
        message = f"You already follow {label}."
    return _respond(request, target, message)


@login_required
@require_POST
def unfollow(request: HttpRequest) -> HttpResponse:
    if raw := request.POST.get("follow", ""):
        pk = ascii_int(raw)
        if pk is None:
            return _bad_request(request, "Say which follow to remove.")
        item = get_object_or_404(Follow, pk=pk, user=request.user)
        label = item.label
        item.delete()
        messages.success(request, f"You no longer follow {label}.")
        return _back(request, None)
    try:
        target = parse_target(request.POST)
    except BadTarget as exc:
        return _bad_request(request, str(exc))
    Follow.objects.filter(user=request.user, **target.lookup).delete()
    return _respond(request, target, f"You no longer follow {target.label}.")


@login_required
@require_POST
def change_frequency(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(Follow, pk=pk, user=request.user)
    frequency = _frequency(request.POST)
    if frequency is None or "frequency" not in request.POST:
        return _bad_request(request, "A digest is sent daily or weekly.")
    item.frequency = frequency
    item.save(update_fields=["frequency"])
    messages.success(request, f"{item.label}: {item.get_frequency_display().lower()} digest.")
    return HttpResponseRedirect(reverse("governance:following"))


@login_required
def following(request: HttpRequest) -> TemplateResponse:
    follows = Follow.objects.filter(user=request.user).select_related(
        "proposal", "country", "person"
    )
    context = {"follows": follows, "frequencies": Frequency.choices}
    return TemplateResponse(request, "governance/following.html", context)


# Mail scanners fetch links, so GET only shows a confirmation; the POST of that page, or a
# mail client's RFC 8058 one-click POST (no session, no CSRF token), unsubscribes. The
# signed token is what authorises it, so CSRF protection adds nothing here.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> TemplateResponse:
    try:
        claim = read_token(token)
    except BadToken as exc:
        context = {"error": str(exc)}
        return TemplateResponse(request, "governance/unsubscribe.html", context, status=400)
    follows = Follow.objects.filter(user_id=claim.user_id).select_related(
        "proposal", "country", "person"
    )
    if claim.follow_id is not None:
        follows = follows.filter(pk=claim.follow_id)
    context: dict[str, Any] = {"token": token, "all": claim.follow_id is None}
    if request.method == "POST":
        context["removed"] = [f.label for f in follows]
        follows.delete()
        context["done"] = True
    else:
        context["follows"] = list(follows)
    return TemplateResponse(request, "governance/unsubscribe.html", context)
