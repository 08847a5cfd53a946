"""The read-only JSON API under /api/ (django-ninja): the OpenAPI schema at /api/schema,
interactive docs at /api/docs, every operation rate-limited per client."""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.openapi.docs import Swagger

from governance.api import errors
from governance.api.endpoints import router
from governance.api.throttle import ClientRateThrottle

DESCRIPTION = """\
Read-only access to the tracker's curated records: proposals, countries, people,
organizations, statements, participation, events and source documents. Every fact carries
its evidence: the source's URL and the exact excerpt.

**Ids.** Records keep their numeric `id` and (for named records) `slug`; `url` is the
record's page on the site. A record merged into another answers 301 with the survivor's
address.

**Pages.** Lists return `results` with `next` and `previous` links (null at either end).
`limit` sets the page size (default 50, at most 200); `cursor` is opaque, take it from the
links. Paging is by position, not offset, so rows added meanwhile cause no repeats or gaps.

**Filters** are those of the site's pages: `/api/statements?country=cn&year=2025` holds the
statements `/statements/?country=cn&year=2025` shows. A bad value answers 400 with the
parameter and the reason.

**Limits.** Requests per client address are rate-limited (429 with `Retry-After`); a query
running past the statement timeout answers 503. Any origin may call the API (CORS).
"""

api = NinjaAPI(
    title="AI Governance Tracker API",
    version="1",
    description=DESCRIPTION,
    openapi_url="/schema",
    docs_url="/docs",
    docs=Swagger(),
    urls_namespace="api",
    throttle=[ClientRateThrottle()],
)
errors.install(api)
api.add_router("", router)
