"""No 500 for any input (issue #25): Hypothesis fuzzes every URL pattern of the URL map.

The patterns come from walking `get_resolver()`, so a URL added later is fuzzed without
touching this file. Each test case is one pattern; Hypothesis draws, for it:
- its path arguments: a real id, slug or code from the seed, or any string its converter
  (or regex) matches, NULs, other scripts' digits and 20-digit numbers included;
- query parameters and form fields: the names the code reads (form fields and
  `request.GET/POST.get("…")` found in governance/, the API's OpenAPI parameters) and
  random ones, with hostile values (NUL, "²", "٣", numbers past 2**63, long strings);
- who asks (anonymous, analyst, curator, admin: governance/roles.py) and GET or POST
  (the test client does not enforce CSRF, so every form is reached).
Any 5xx, or an exception, fails; a 503 of the analysts' query timeout is allowed and
counted. DEBUG is on, as `manage.py up` runs, and no answer but a 404 may be Django's
technical (debug) page.

FUZZ_PROFILE=fuzz-ci (CI) is derandomized; `fuzz-long` runs ten times as many.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.http import QueryDict
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils.datastructures import MultiValueDict
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from governance.alerts.models import Follow
from governance.alerts.tokens import make_token
from governance.roles import ADMIN_GROUP, CURATOR_GROUP
from tests.api.conftest import clear_throttle

pytestmark = pytest.mark.django_db

settings.register_profile(
    "fuzz",
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("fuzz-ci", parent=settings.get_profile("fuzz"), derandomize=True)
settings.register_profile("fuzz-long", parent=settings.get_profile("fuzz"), max_examples=120)
# FUZZ_PROFILE picks one; set here for these tests only, not loaded for the whole run.
PROFILE = settings.get_profile(os.environ.get("FUZZ_PROFILE", "fuzz"))
CHARS = st.characters(codec="utf-8")  # any character a URL can carry, NUL included
ROLES = ("anonymous", "analyst", "curator", "admin")
REPO = Path(__file__).resolve().parent.parent

# --- The URL map -----------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One leaf pattern with the patterns of the resolvers above it, outermost first."""

    name: str
    levels: tuple[RoutePattern | RegexPattern, ...]

    @property
    def admin(self) -> bool:
        return self.name.startswith("admin:")


def routes() -> list[Route]:
    found: list[Route] = []

    def walk(patterns: list[Any], levels: tuple[Any, ...], namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}:{pattern.namespace}" if pattern.namespace else namespace
                walk(pattern.url_patterns, (*levels, pattern.pattern), inner.strip(":"))
            elif isinstance(pattern, URLPattern):
                name = f"{namespace}:{pattern.name or str(pattern.pattern)}".strip(":")
                found.append(Route(name, (*levels, pattern.pattern)))

    walk(get_resolver().url_patterns, (), "")
    return found


ROUTES = routes()
# The admin's ~180 patterns are the same few views per model: fewer cases each.
SITE_ROUTES = [r for r in ROUTES if not r.admin]
ADMIN_ROUTES = [r for r in ROUTES if r.admin]


# --- Parameter names the code reads ----------------------------------------------------


def parameter_names() -> list[str]:
    """Form fields and `GET/POST/data.get("…")` keys anywhere in governance/, the review
    forms' payload keys and the API's query parameters: a parameter added to a view is
    fuzzed by name."""
    names: set[str] = set()
    read = re.compile(r"""(?:GET|POST|data|params)\.(?:get|getlist)\(\s*["'](\w+)["']""")
    field = re.compile(r"^\s+(\w+)\s*=\s*(?:forms\.\w+|\w*Field|MultiValueField)\(", re.M)
    for path in (REPO / "governance").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names.update(read.findall(text))
        names.update(field.findall(text))
    from governance.models import Candidate
    from governance.review import editable_fields

    # The accept-with-edits and hand-entry forms: one field per payload key of each kind.
    names.update(f.key for kind in Candidate.Kind.values for f in editable_fields(kind))
    from governance.api import api

    schema = api.get_openapi_schema()
    for operations in schema["paths"].values():
        for operation in operations.values():
            names.update(p["name"] for p in operation.get("parameters", []))
    names.update({"from", "to", "format", "page", "next", "username", "password", "q", "o"})
    return sorted(names)


PARAMETERS = parameter_names()

# --- Hostile values --------------------------------------------------------------------

NASTY = [
    "\x00",
    "a\x00b",
    "²",
    "٣",
    "१२",
    "１２",  # fullwidth digits
    "-1",
    "0",
    str(2**31),
    str(2**63 - 1),
    str(2**63),
    str(-(2**63) - 1),
    "9" * 40,
    "9" * 5000,  # past int()'s 4,300-digit limit
    "1e309",
    "NaN",
    "inf",
    "2025-13-45",
    "0000-00-00",
    "99999-01-01",
    "²:1",
    "1:²",
    "8:" + "9" * 30,
    "../../etc/passwd",
    "%00",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\\",
    "\ud7ff\ufffd\U0010ffff",
    "x" * 300,
    "é" * 3000,
    " ",
    ",,,",
    "cn,us,\x00",
]

text_values = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.text(alphabet=string.digits + "²³¹٠٣٤०१२-,:+", max_size=25),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.text(min_size=200, max_size=3000),
)


@dataclass
class Seeded:
    values: dict[str, list[str]]  # a path argument's name -> real values
    users: dict[str, User]


def real_values() -> dict[str, list[str]]:
    from governance.models import (
        Candidate,
        Document,
        Event,
        Organization,
        Person,
        Proposal,
        Source,
        Statement,
    )

    slugs = [
        *Proposal.objects.values_list("slug", flat=True)[:3],
        *Person.objects.values_list("slug", flat=True)[:3],
        *Organization.objects.values_list("slug", flat=True)[:3],
        *Event.objects.values_list("slug", flat=True)[:3],
    ]
    ids = [
        *Statement.objects.values_list("pk", flat=True)[:3],
        *Document.objects.values_list("pk", flat=True)[:3],
        *Candidate.objects.values_list("pk", flat=True)[:3],
        *Follow.objects.values_list("pk", flat=True)[:3],
        *Person.objects.values_list("pk", flat=True)[:3],
        *Source.objects.values_list("pk", flat=True)[:3],
    ]
    follow = Follow.objects.first()
    return {
        "slug": slugs,
        "pk": [str(i) for i in ids],
        "id": [str(i) for i in ids],
        "object_id": [str(i) for i in ids] + ["CN", "cn"],
        "survivor": [str(i) for i in ids],
        "loser": [str(i) for i in ids],
        "code": ["CN", "cn", "US", "zz"],
        "model": ["person", "organization", "proposal", "event"],
        "token": [make_token(follow.user_id, follow.pk), make_token(follow.user_id)],
        "name": ["waic-dataset-20260101T000000Z.zip"],
        "uidb64": ["MQ"],
        "app_label": ["governance", "auth"],
    }


@pytest.fixture(scope="module")
def seeded(seed_for_the_module: None, django_db_blocker: Any) -> Iterator[Seeded]:
    """The seed, one pending candidate, a follow, a user per role (the admin also staff,
    to reach the admin site); rolled back with the module's seed."""
    from governance.models import Candidate, Document, Proposal

    with django_db_blocker.unblock():
        users = {}
        for role, group in (("analyst", None), ("curator", CURATOR_GROUP), ("admin", ADMIN_GROUP)):
            user = User.objects.create_user(f"fuzz-{role}", f"{role}@example.org", "pw-123456789")
            if group:
                user.groups.add(Group.objects.get(name=group))
            if role == "admin":
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            users[role] = user
        document = Document.objects.first()
        Candidate.objects.create(
            document=document,
            kind="figure",
            payload={"event": "WAIC", "label": "companies", "value": 800},
            start=0,
            end=5,
            excerpt=document.text[:5],
            confidence=0.5,
            extractor="fuzz",
        )
        Follow.objects.create(user=users["analyst"], proposal=Proposal.objects.first())
        yield Seeded(real_values(), users)


# --- Building a request ----------------------------------------------------------------

FORM_ENCODED = "application/x-www-form-urlencoded"
ROUTE_PART = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@st.composite
def paths(draw: st.DrawFn, route: Route, real: dict[str, list[str]]) -> str:
    """A path the route's patterns match: literal parts kept, each argument a real value
    or anything its converter's regex accepts (percent-encoded)."""
    out = ""
    for level in route.levels:
        if isinstance(level, RoutePattern):
            route_text = str(level)
            position = 0
            for match in ROUTE_PART.finditer(route_text):
                out += route_text[position : match.start()]
                converter = level.converters[match["name"]]
                out += quote(draw(argument(match["name"], converter.regex, real)), safe="")
                position = match.end()
            out += route_text[position:]
        else:
            out += quote(draw(st.from_regex(level.regex, fullmatch=True, alphabet=CHARS)), safe="/")
    return "/" + out.lstrip("/")


def argument(name: str, regex: str, real: dict[str, list[str]]) -> st.SearchStrategy[str]:
    fuzzed = st.from_regex(f"(?:{regex})", fullmatch=True, alphabet=CHARS).filter(
        lambda v: 0 < len(v) < 400
    )
    options = real.get(name)
    return st.one_of(st.sampled_from(options), fuzzed) if options else fuzzed


# The values every parameter a view reads is sent, each in turn (explicit examples, run
# whatever the profile): the inputs that were 500s, in the forms they came in.
SWEEP = ["\x00", "²", "٣", "²:1", str(2**63), "9" * 40, "x" * 3000, "-1", "2025-13-45"]


@contextmanager
def keys_read() -> Iterator[set[str]]:
    """The keys a request's view looks up in request.GET or request.POST."""
    seen: set[str] = set()
    originals = {n: getattr(MultiValueDict, n) for n in ("get", "getlist", "__getitem__")}
    contains = dict.__contains__

    def spy(name: str) -> Any:
        def wrapper(self: Any, key: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(self, QueryDict) and isinstance(key, str):
                seen.add(key)
            return originals[name](self, key, *args, **kwargs)

        return wrapper

    for name in originals:
        setattr(MultiValueDict, name, spy(name))
    QueryDict.__contains__ = lambda self, key: seen.add(key) or contains(self, key)  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        for name, original in originals.items():
            setattr(MultiValueDict, name, original)
        del QueryDict.__contains__


def real_path(route: Route, real: dict[str, list[str]]) -> str | None:
    """The route's path with a real value in each argument (None for a regex level)."""
    out = ""
    for level in route.levels:
        if not isinstance(level, RoutePattern):
            return None
        text = str(level)
        for match in ROUTE_PART.finditer(text):
            value = (real.get(match["name"]) or ["1"])[0]
            text = text.replace(match.group(0), quote(value, safe=""))
        out += text
    return "/" + out.lstrip("/")


@dataclass
class Tally:
    requests: int = 0
    timeouts: int = 0


TALLY = Tally()


def check(response: Any, what: str) -> None:
    TALLY.requests += 1
    status = response.status_code
    body = b"".join(response) if getattr(response, "streaming", False) else response.content
    if status == 503 and (b"Too slow" in body or b"too slow" in body):
        TALLY.timeouts += 1  # the analysts' statement timeout: allowed, counted
        return
    assert status < 500, f"{status} for {what}"
    if status != 404:  # DEBUG's technical 404 lists the URL map: Django's, on purpose
        technical = b'<div id="traceback">' in body or b"Request Method:" in body
        assert not technical, f"a debug page ({status}) for {what}"


def fuzz(
    route: Route, seeded: Seeded, clients: dict[str, Client], examples: int, sweep: list[str]
) -> None:
    path = real_path(route, seeded.values)
    reads: dict[str, list[str]] = {"get": [], "post": []}
    if path is not None:
        for method in reads:
            clients["admin"].force_login(seeded.users["admin"])
            with keys_read() as seen:
                response = getattr(clients["admin"], method)(path)
            check(response, f"{method.upper()} {path} as admin")
            reads[method] = sorted(seen)
    names = sorted({*reads["get"], *reads["post"]})
    name = st.one_of(
        st.sampled_from(names or PARAMETERS),
        st.sampled_from(PARAMETERS),
        st.text(min_size=1, max_size=12),
    )
    pairs = st.lists(st.tuples(name, text_values), max_size=6)

    @settings(PROFILE, max_examples=examples)
    @given(
        path=paths(route, seeded.values),
        query=pairs,
        form=pairs,
        role=st.sampled_from(ROLES),
        method=st.sampled_from(["get", "post"]),
        htmx=st.booleans(),
        multipart=st.booleans(),
    )
    def one(
        path: str,
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
        role: str,
        method: str,
        htmx: bool,
        multipart: bool,
    ) -> None:
        client = clients[role]
        if role != "anonymous" and not client.cookies.get(django_settings.SESSION_COOKIE_NAME):
            client.force_login(seeded.users[role])  # logged out by an earlier case
        clear_throttle()
        url = path + ("?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query) if query else "")
        headers = {"HX-Request": "true"} if htmx else {}
        what = f"{method.upper()} {url[:300]!r} as {role} with {form!r:.300}"
        if method == "get":
            response = client.get(url, headers=headers)
        else:
            if multipart:
                data: dict[str, list[str]] = {}
                for key, value in form:
                    data.setdefault(key, []).append(value)
                response = client.post(url, data, headers=headers)
            else:
                body = urlencode(form)
                response = client.post(
                    url, body, "application/x-www-form-urlencoded", headers=headers
                )
        check(response, what)

    # Every parameter the view read, all at once, set to each sweep value in turn.
    for value in sweep if path is not None else []:
        for method, role in (("get", "admin"), ("post", "admin")):
            given_pairs = [(key, value) for key in reads[method]]
            one = example(
                path=path,
                query=given_pairs,
                form=given_pairs if method == "post" else [],
                role=role,
                method=method,
                htmx=False,
                multipart=False,
            )(one)
    one()


@pytest.fixture(scope="module")
def clients(seeded: Seeded, django_db_blocker: Any) -> dict[str, Client]:
    out = {"anonymous": Client()}
    with django_db_blocker.unblock():
        for role in ROLES[1:]:
            out[role] = Client()
            out[role].force_login(seeded.users[role])
    return out


@pytest.fixture(autouse=True)
def debug_on_and_unthrottled() -> Iterator[None]:
    with override_settings(DEBUG=True, API_RATE_LIMIT="100000/min"):
        yield


@pytest.mark.parametrize("route", SITE_ROUTES, ids=lambda r: r.name)
def test_no_site_url_answers_500(route: Route, seeded: Seeded, clients: dict[str, Client]) -> None:
    fuzz(route, seeded, clients, PROFILE.max_examples, SWEEP)


@pytest.mark.parametrize("route", ADMIN_ROUTES, ids=lambda r: r.name)
def test_no_admin_url_answers_500(route: Route, seeded: Seeded, clients: dict[str, Client]) -> None:
    fuzz(route, seeded, clients, max(2, PROFILE.max_examples // 4), SWEEP[:2])


def test_the_map_is_walked_whole() -> None:
    """Every URL pattern is a case: the walk neither misses nor invents one."""
    assert len(ROUTES) == len(SITE_ROUTES) + len(ADMIN_ROUTES)
    names = {r.name for r in ROUTES}
    for expected in ("governance:statement_list", "api:list_statements", "login", "admin:index"):
        assert expected in names
    assert {"year", "q", "ids", "record", "reason", "follow", "value"} <= set(PARAMETERS)


def teardown_module() -> None:
    if TALLY.timeouts:
        print(f"\nfuzz: {TALLY.timeouts} of {TALLY.requests} answers were the 503 'too slow'.")
