"""The review queue under benchmark (issue #9): time to render /review/ and to accept.

Two steps, called by `bench/run` around the server it starts:

- `prepare(database_url)` runs in a process where Django is already set up against
  that database (it sets Django up itself if nothing has): a staff curator in the
  Curators group with a fresh random password, and enough pending Candidates, made
  the way production makes them: the `extract_document` task's own code (the rules,
  then `write_candidates`) run in this process over Documents that have none yet.
- `measure(base_url, curator)` is a curator's browser over HTTP: the real login form
  (CSRF, django-axes), the full queue page timed, then accepts posted one after another
  as the page's htmx buttons post them. Decisions are counted through the ORM of the
  same database before and after, so an accept that answered 200 but wrote nothing
  would show.
"""

from __future__ import annotations

import os
import re
import secrets
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import requests

USERNAME = "bench-curator"
REJECT_REASON = "Rejected by the review-queue benchmark."
# Each request's own limit: a stuck server fails the run rather than hanging it.
TIMEOUT_SECONDS = 60.0

_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_PENDING_ROW = re.compile(r'<tr id="cand-(\d+)"[^>]*data-pending="1"')
_ROW_MESSAGE = re.compile(r'<p class="row-message"[^>]*>(.*?)</p>', re.S)


# --- prepare ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Curator:
    """The account `measure` logs in as, and what `prepare` did to fill the queue."""

    username: str
    password: str = field(repr=False)
    user_id: int
    pending: int  # pending candidates in the database once prepare() finished
    documents_extracted: int
    candidates_created: int
    extraction_seconds: float  # wall time of the extractions, the model load included
    extraction_failures: int = 0  # documents the rules failed on (left as "failed")


def _ensure_django(database_url: str) -> None:
    """Set Django up against database_url, or check that it already is: writing the
    curator and candidates into some other database would be a quiet disaster."""
    import django
    from django.conf import settings

    if not settings.configured:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waic.settings")
        os.environ["DATABASE_URL"] = database_url
        django.setup()
    import environ

    want = environ.Env.db_url_config(database_url)
    have = settings.DATABASES["default"]

    def where(config: dict[str, Any]) -> tuple[str, str, str]:
        return (
            str(config.get("NAME") or ""),
            str(config.get("HOST") or "localhost").replace("127.0.0.1", "localhost"),
            str(config.get("PORT") or "5432"),
        )

    if where(want) != where(have):
        raise RuntimeError(
            f"Django is set up against database {where(have)}, not {where(want)} "
            "(the database_url given to prepare())."
        )


def _curator() -> tuple[Any, str]:
    from axes.utils import reset as axes_reset
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from governance.roles import CURATOR_GROUP, is_curator

    password = secrets.token_urlsafe(24)
    user, _ = get_user_model().objects.get_or_create(username=USERNAME)
    user.is_staff = True
    user.is_active = True
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=CURATOR_GROUP))
    # An earlier run's failed logins must not lock this one out.
    axes_reset(username=USERNAME)
    user = get_user_model().objects.get(pk=user.pk)  # fresh permission cache
    if not is_curator(user):
        raise RuntimeError(f"{USERNAME} is not a curator: the Curators group lacks its permission")
    return user, password


def _pending_count() -> int:
    from governance.models import Candidate

    return Candidate.objects.filter(status=Candidate.Status.PENDING).count()


def prepare(database_url: str, candidates: int = 200) -> Curator:
    """A curator account and at least `candidates` pending Candidates in database_url.

    Documents without any candidate are extracted in id order, each by the
    `extract_document` task run in this process (as a worker runs it), until enough
    candidates are pending or no such document is left (then the count is short:
    check `Curator.pending`).
    """
    _ensure_django(database_url)
    from governance.models import Document, ExtractionStatus
    from governance.tasks import extract_document

    user, password = _curator()
    pending = _pending_count()
    extracted = created = failures = 0
    elapsed = 0.0
    last_pk = 0
    while pending < candidates:
        batch = list(
            Document.objects.filter(pk__gt=last_pk, candidates__isnull=True)
            .exclude(extraction_status=ExtractionStatus.UNSUPPORTED)
            .order_by("pk")
            .values_list("pk", flat=True)[:20]
        )
        if not batch:
            break
        for pk in batch:
            last_pk = pk
            started = time.perf_counter()
            outcome = extract_document(document_id=pk)
            elapsed += time.perf_counter() - started
            extracted += 1
            created += outcome.get("candidates", 0)
            failures += outcome.get("status") == "failed"
            pending += outcome.get("candidates", 0)
            if pending >= candidates:
                break
    return Curator(
        username=USERNAME,
        password=password,
        user_id=user.pk,
        pending=_pending_count(),
        documents_extracted=extracted,
        candidates_created=created,
        extraction_seconds=round(elapsed, 3),
        extraction_failures=failures,
    )


# --- measure ----------------------------------------------------------------------------


@dataclass
class Timings:
    """Milliseconds of one kind of request."""

    samples: list[float] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float | None:
        return round(statistics.median(self.samples), 1) if self.samples else None

    @property
    def p95(self) -> float | None:
        if len(self.samples) < 2:
            return self.median
        return round(statistics.quantiles(self.samples, n=20, method="inclusive")[18], 1)

    @property
    def max(self) -> float | None:
        return round(max(self.samples), 1) if self.samples else None


@dataclass
class ReviewResult:
    renders: Timings  # GET /review/, the full page
    render_bytes: int  # body size of the last render
    accepts_requested: int
    accepts: Timings  # accepts that succeeded (200, the row came back accepted)
    refusals: Timings  # accepts the review refused (409, a message on the row)
    refusal_reasons: Counter[str]
    rejects: Timings
    failures: list[str]  # any other answer: status and URL; a sane run has none
    decisions_before: int
    decisions_after: int
    accepted_ids: list[int]
    accepted_by_kind: Counter[str]
    refused_by_kind: Counter[str]
    accepted_verified: int  # accepted candidates with their Decision in the database

    @property
    def decisions_created(self) -> int:
        return self.decisions_after - self.decisions_before

    @property
    def ok(self) -> bool:
        return (
            not self.failures
            and self.accepts.count == self.accepts_requested
            and self.accepted_verified == self.accepts.count
            and self.decisions_created == self.accepts.count + self.rejects.count
        )

    def describe(self) -> str:
        """Markdown for bench/RESULTS.md (bench/perf/report.py calls this)."""

        def row(name: str, t: Timings, extra: str = "") -> str:
            return f"| {name} | {t.count} | {t.median} | {t.p95} | {t.max} | {extra} |"

        lines = [
            "| request | n | median ms | p95 ms | max ms | |",
            "|---|---:|---:|---:|---:|---|",
            row("GET /review/ (full page)", self.renders, f"{self.render_bytes:,} bytes"),
            row("accept (htmx POST)", self.accepts, f"of {self.accepts_requested} asked"),
            row("accept refused (409)", self.refusals),
            row("reject (htmx POST)", self.rejects),
            "",
            f"- accepted by kind: {_kinds(self.accepted_by_kind)}",
            f"- refused by kind: {_kinds(self.refused_by_kind)}",
            *(f"- refused ({n}×): {reason}" for reason, n in self.refusal_reasons.most_common()),
            f"- Decisions {self.decisions_before:,} → {self.decisions_after:,} "
            f"(+{self.decisions_created}); accepted candidates with their Decision: "
            f"{self.accepted_verified} of {self.accepts.count}",
            *(f"- **failed:** {failure}" for failure in self.failures),
        ]
        return "\n".join(lines)


def _kinds(counts: Counter[str]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in counts.most_common()) or "none"


class _Browser:
    """A requests session that behaves like the curator's browser on this site."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "waic-bench-review/1"

    def url(self, path: str) -> str:
        return urljoin(self.base + "/", path.lstrip("/"))

    def get(self, path: str) -> tuple[requests.Response, float]:
        started = time.perf_counter()
        response = self.session.get(self.url(path), timeout=TIMEOUT_SECONDS)
        _ = response.content  # the whole body, inside the timing
        return response, (time.perf_counter() - started) * 1000

    def post(
        self, path: str, data: dict[str, str], headers: dict[str, str] | None = None
    ) -> tuple[requests.Response, float]:
        # Origin as a browser sends it on a form POST; Django's CSRF check reads it.
        sent = {"Origin": self.base, "Referer": self.url("/review/"), **(headers or {})}
        started = time.perf_counter()
        response = self.session.post(
            self.url(path), data=data, headers=sent, allow_redirects=False, timeout=TIMEOUT_SECONDS
        )
        _ = response.content
        return response, (time.perf_counter() - started) * 1000

    def login(self, username: str, password: str) -> None:
        page, _ = self.get("/accounts/login/?next=/review/")
        page.raise_for_status()
        token = _csrf_token(page.text)
        response, _ = self.post(
            "/accounts/login/",
            {
                "csrfmiddlewaretoken": token,
                "username": username,
                "password": password,
                "next": "/review/",
            },
            {"Referer": self.url("/accounts/login/?next=/review/")},
        )
        if response.status_code != 302 or not response.headers["Location"].endswith("/review/"):
            raise RuntimeError(
                f"login as {username} failed: {response.status_code} "
                f"(locked out by django-axes, or a wrong password?)"
            )


def _csrf_token(html: str) -> str:
    match = _CSRF_INPUT.search(html)
    if match is None:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1)


class _Queue:
    """Pending candidates in the order the queue page lists them, as a curator works
    down it: page 1 again after each run of decisions, further pages while page 1 only
    holds candidates already tried (refused ones stay pending)."""

    def __init__(self, browser: _Browser, failures: list[str]) -> None:
        self.browser = browser
        self.failures = failures
        self.tried: set[int] = set()
        self.ahead: list[int] = []
        self.token = ""

    def _page(self, number: int) -> list[int] | None:
        response, _ = self.browser.get(f"/review/?page={number}")
        if response.status_code != 200:
            self.failures.append(f"GET /review/?page={number}: {response.status_code}")
            return None
        self.token = _csrf_token(response.text)
        return [int(pk) for pk in _PENDING_ROW.findall(response.text)]

    def next(self) -> int | None:
        number, previous = 1, None
        while not self.ahead and number <= 200:
            ids = self._page(number)
            if ids is None or ids == previous:  # an error, or past the last page
                return None
            self.ahead = [pk for pk in ids if pk not in self.tried]
            previous, number = ids, number + 1
        if not self.ahead:
            return None
        pk = self.ahead.pop(0)
        self.tried.add(pk)
        return pk


def _decide(browser: _Browser, queue: _Queue, pk: int, action: str) -> tuple[str, float, str]:
    """POST one decision as the row's htmx form does; ("ok" | "refused" | "failed", ms,
    message)."""
    data = {"csrfmiddlewaretoken": queue.token}
    if action == "reject":
        data["reason"] = REJECT_REASON
    htmx = {
        "HX-Request": "true",
        "HX-Target": f"cand-{pk}",
        "HX-Current-URL": browser.url("/review/"),
    }
    response, ms = browser.post(f"/review/candidates/{pk}/{action}/", data, htmx)
    message = _ROW_MESSAGE.search(response.text)
    text = re.sub(r"\s+", " ", message.group(1)).strip() if message else ""
    decided = "status-accepted" if action == "accept" else "status-rejected"
    if response.status_code == 200 and decided in response.text:
        return "ok", ms, text
    if response.status_code == 409:
        return "refused", ms, text
    return "failed", ms, f"POST {action} {pk}: {response.status_code} {text}".strip()


def measure(
    base_url: str, curator: Curator, accepts: int = 50, renders: int = 30, rejects: int = 5
) -> ReviewResult:
    """Log in, time `renders` GETs of /review/, then accept `accepts` candidates (working
    down the queue; refusals are timed and counted apart, and attempts stop at five times
    `accepts`), then reject `rejects` more. Needs Django set up against the server's
    database (as after prepare()), to count Decisions."""
    from governance.models import Candidate, Decision

    browser = _Browser(base_url)
    browser.login(curator.username, curator.password)
    failures: list[str] = []

    render_times = Timings()
    size = 0
    browser.get("/review/")  # warm-up: the worker's first request, connections opened
    for _ in range(renders):
        response, ms = browser.get("/review/")
        if response.status_code != 200 or "cand-row" not in response.text:
            failures.append(f"GET /review/: {response.status_code}, no candidate rows")
            continue
        render_times.samples.append(ms)
        size = len(response.content)

    decisions_before = Decision.objects.count()
    queue = _Queue(browser, failures)
    accepted, refused, reasons = Timings(), Timings(), Counter[str]()
    accepted_ids: list[int] = []
    refused_ids: list[int] = []
    attempts = 0
    while accepted.count < accepts and attempts < accepts * 5:
        pk = queue.next()
        if pk is None:
            failures.append(f"the queue ran out after {accepted.count} accepts")
            break
        attempts += 1
        outcome, ms, message = _decide(browser, queue, pk, "accept")
        if outcome == "ok":
            accepted.samples.append(ms)
            accepted_ids.append(pk)
        elif outcome == "refused":
            refused.samples.append(ms)
            refused_ids.append(pk)
            reasons[re.sub(r"\d+", "N", message)[:160]] += 1
        else:
            failures.append(message)

    rejected = Timings()
    for _ in range(rejects):
        pk = queue.next()
        if pk is None:
            break
        outcome, ms, message = _decide(browser, queue, pk, "reject")
        if outcome == "ok":
            rejected.samples.append(ms)
        else:
            failures.append(f"reject {pk}: {outcome} {message}")

    def kinds(ids: list[int]) -> Counter[str]:
        return Counter(Candidate.objects.filter(pk__in=ids).values_list("kind", flat=True))

    verified = (
        Decision.objects.filter(
            candidate_id__in=accepted_ids,
            candidate__status=Candidate.Status.ACCEPTED,
            user_id=curator.user_id,
            action=Decision.Action.ACCEPT,
            undone_at__isnull=True,
        )
        .values("candidate_id")
        .distinct()
        .count()
    )
    return ReviewResult(
        renders=render_times,
        render_bytes=size,
        accepts_requested=accepts,
        accepts=accepted,
        refusals=refused,
        refusal_reasons=reasons,
        rejects=rejected,
        failures=failures,
        decisions_before=decisions_before,
        decisions_after=Decision.objects.count(),
        accepted_ids=accepted_ids,
        accepted_by_kind=kinds(accepted_ids),
        refused_by_kind=kinds(refused_ids),
        accepted_verified=verified,
    )
