"""Settings for the AI governance tracker: one file, read from the environment.

Importing this module starts nothing. When DATABASE_URL / REDIS_URL are unset,
the launcher (`manage.py`, tests/conftest.py) starts the embedded servers and
exports their URLs before Django reads them; see waic/services.py. Every
variable is documented in .env.example.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
# A fixed key is only acceptable for local development; production must set one.
SECRET_KEY = env.str(
    "SECRET_KEY", default="dev-only-insecure-key-set-SECRET_KEY-in-production" if DEBUG else None
)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.humanize",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "simple_history",
    "corsheaders",
    "axes",
    # Serves the API docs' Swagger UI from its own static files, not a CDN.
    "ninja",
    "governance",
]

MIDDLEWARE = [
    # Outermost: the time of every request, for workers on this machine to yield to.
    "governance.web_load.MeasuresLoad",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before CommonMiddleware, so CORS headers are on every API response.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Reads a POSTed form before anything else does (the NUL check below, the CSRF check):
    # one too large gets a page naming the limit (413) instead of a bare 400.
    "governance.request_limits.RequestTooLarge",
    # A NUL anywhere in the path, query or form is a clear 400 before anything (the page
    # cache, the session, a view) hands it to Redis or PostgreSQL (governance/validation.py).
    "governance.validation.RefuseMalformedInput",
    # Anonymous analyst pages from Redis: inside the header middlewares above (every
    # response gets their headers), before the session, the user and the database, which
    # a cached page does not need.
    "governance.page_cache.AnonymousPageCache",
    # A clear 503 while PostgreSQL is unreachable; inside the CSP so the page gets it,
    # outside the session, auth and messages, whose response ends can meet the outage.
    "governance.middleware.DatabaseUnavailable",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "governance.middleware.AnalystQueryTimeout",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

# Login throttling (django-axes) on every login form, the admin's included: five wrong
# passwords for a username from one address are allowed, the sixth (AXES_FAILURE_LIMIT)
# locks that pair out for AXES_COOLOFF_MINUTES. `manage.py axes_reset` (or axes_reset_username NAME)
# lifts lockouts early; README "Curating" says so.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=6)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15.0))
# Username and address together: a stranger cannot lock a curator out from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Cut to django-axes' 255-character column: a longer username was a 500 (issue #25).
AXES_USERNAME_CALLABLE = "governance.accounts.axes_username"

ROOT_URLCONF = "waic.urls"
LOGIN_URL = "login"
# Curators land on the review queue, analysts on what they follow (governance/accounts.py).
LOGIN_REDIRECT_URL = "account_home"
LOGOUT_REDIRECT_URL = "governance:dashboard"
WSGI_APPLICATION = "waic.wsgi.application"
# The most form data (not counting uploaded files) a request may carry, in bytes: room for
# the largest text a source may have (governance/forms.py) even percent-encoded, so an
# over-size paste reaches the form and is refused there with its text kept; beyond this
# a 413 page names the limit (governance/request_limits.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]


def _database_url() -> str:
    url = env.str("DATABASE_URL", default="")
    if not url:
        raise ImproperlyConfigured(
            "DATABASE_URL is not set. Run commands through `python manage.py ...`, which "
            "starts the embedded PostgreSQL, or set DATABASE_URL to a PostgreSQL server."
        )
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a postgres:// URL; got {url.split('://')[0]}://..."
        )
    return url


DATABASES = {
    "default": {
        **environ.Env.db_url_config(_database_url()),
        # Reuse connections between requests; health checks drop dead ones.
        "CONN_MAX_AGE": env.int("CONN_MAX_AGE", default=60),
        "CONN_HEALTH_CHECKS": True,
    }
}
# A server that does not answer (unplugged, firewalled, stopped) fails a connection
# attempt after this many seconds instead of hanging the page or the task; 2 is libpq's
# least, and what leaves a page its 503 within 3 s (governance/database_health.py).
DATABASES["default"].setdefault("OPTIONS", {}).update(
    connect_timeout=env.int("DATABASE_CONNECT_TIMEOUT", default=2),
    # A server whose host vanished from the network (no reset ever comes) ends its
    # connections within seconds, in workers and commands too. A stopped server's kernel
    # still acknowledges everything, so these never fire for it: the watchdog covers that.
    keepalives=1,
    keepalives_idle=5,
    keepalives_interval=2,
    keepalives_count=3,
    tcp_user_timeout=10_000,
)
# Django's PostgreSQL backend, plus the shared "database down" verdict.
DATABASES["default"]["ENGINE"] = "governance.postgres"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Feeds name an XSLT stylesheet (static/feeds/atom.xsl): browsers apply it only when it
# comes as text/xsl, a type WhiteNoise does not know.
WHITENOISE_MIMETYPES = {".xsl": "text/xsl"}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# In development WhiteNoise serves straight from the finders, so no collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Content Security Policy: everything is served from this origin (no CDN).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients),
# so that SECURE_SSL_REDIRECT does not loop.
if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Celery: JSON only, and a task is acknowledged after it ran so a killed worker
# loses nothing; Postgres stays the truth about what is due (docs/architecture.md §4).
REDIS_URL = env.str("REDIS_URL", default="")
# Every query of a public page is cancelled after this long; the page then says so
# (503) instead of hanging or failing with a 500. 0 disables the limit.
ANALYST_QUERY_TIMEOUT_MS = env.int("ANALYST_QUERY_TIMEOUT_MS", default=3000)
# List exports (?format=csv|json) stream after the page's transaction, in their own: each
# of their queries (one fetch of a chunk of rows) may run this long. 0: no limit.
EXPORT_QUERY_TIMEOUT_MS = env.int("EXPORT_QUERY_TIMEOUT_MS", default=30000)

# The cache (API rate-limit counters, shared by every web process) lives in Redis too.
CACHES = {
    "default": {
        "LOCATION": REDIS_URL,
        # Tests give each process its own prefix (tests/embedded_services.py).
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="waic"),
        # Redis down must not take pages down: the cache answers "miss" quickly instead.
        "BACKEND": "waic.cache.TolerantRedisCache",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}

# The read-only API (/api/): any origin may GET it; nothing else crosses origins.
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ["GET", "OPTIONS"]
CORS_ALLOW_CREDENTIALS = False
# Requests per client (IP address) to /api/, e.g. "120/min", "5000/day".
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="120/min")
# Sign-up forms sent per client (IP address): each may send an email, so few are needed.
SIGNUP_RATE_LIMIT = env.str("SIGNUP_RATE_LIMIT", default="10/hour")
# How long the link in a sign-up email works, in seconds (default three days).
SIGNUP_LINK_MAX_AGE = env.int("SIGNUP_LINK_MAX_AGE", default=3 * 24 * 3600)
# Reverse proxies in front of the app, for the client address the rate limit counts: 0
# (the default: gunicorn serves clients directly) ignores X-Forwarded-For, which any
# client can send; N takes the address the Nth proxy from the app appended.
NINJA_NUM_PROXIES = env.int("API_NUM_PROXIES", default=0)

# Email (digests of followed items): printed to the console in development, SMTP when
# DEBUG is off. Django 6.1's MAILERS; the environment keeps the familiar EMAIL_* names.
_EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND}}
if _EMAIL_BACKEND.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": env.str("EMAIL_HOST", default="localhost"),
        "port": env.int("EMAIL_PORT", default=25),
        "username": env.str("EMAIL_HOST_USER", default=""),
        "password": env.str("EMAIL_HOST_PASSWORD", default=""),
        "use_tls": env.bool("EMAIL_USE_TLS", default=False),
        "timeout": env.int("EMAIL_TIMEOUT", default=30),
    }
elif _EMAIL_BACKEND.endswith("filebased.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "file_path": env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
    }
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="tracker@localhost")
# The absolute address of the site, for links in emails and feeds built outside a request.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Full dataset dumps (zip of CSVs + data dictionary), built by a beat task.
DUMPS_DIR = Path(env.str("DUMPS_DIR", default=str(VAR_DIR / "dumps")))
DUMPS_KEEP = env.int("DUMPS_KEEP", default=7)
# Beat builds one daily at DUMPS_HOUR:30 (CELERY_TIMEZONE); a build may run this long.
DUMPS_HOUR = env.int("DUMPS_HOUR", default=3)
DUMPS_TIME_LIMIT = env.int("DUMPS_TIME_LIMIT", default=3600)

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=180)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than the hard time limit, so a running task is never redelivered.
    "visibility_timeout": CELERY_TASK_TIME_LIMIT * 2,
    # A Redis that does not answer fails fast instead of hanging a publish.
    "socket_connect_timeout": 5,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis down for any length of time: the worker keeps trying to reconnect (Celery's
# default gives up after 100 attempts and the worker exits).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A task running when the connection drops finishes its work (its writes go to Postgres);
# its message, unacknowledged, comes back after the visibility timeout and the ingest
# task's claim makes that a no-op. (Stated, as Celery asks until 6.0 changes the default.)
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Celery's Django fix-up closes the database connection around every task unless this is
# set; then a worker opens a new PostgreSQL connection (and the server forks a backend)
# per document, ~4 ms each. Kept for this many tasks instead; before each task
# waic/celery.py drops a connection that errored or outlived CONN_MAX_AGE and arms the
# health check, so one broken by a PostgreSQL restart is replaced on first use.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=200)
# Tests give each session its own queue, so a test worker never takes a real job.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
# Pool children recycled: spaCy's parse of a long document grows a child by hundreds of MB
# that it never returns (bench/worker-memory.md). A child whose peak resident memory passed
# WORKER_MAX_MEMORY_MB is replaced once its task ends, and any child after
# WORKER_MAX_TASKS tasks; 0 turns either off. (Not named CELERY_WORKER_*: Celery's command
# line reads those variables as its own --max-*-per-child options.)
_WORKER_MAX_MEMORY_MB = env.int("WORKER_MAX_MEMORY_MB", default=800)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = _WORKER_MAX_MEMORY_MB * 1024 or None  # KiB
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("WORKER_MAX_TASKS", default=1000) or None
# Added to a worker's nice value at start (waic/celery.py): below the web server's.
WORKER_NICENESS = env.int("WORKER_NICENESS", default=10)
# An extraction worker waits between documents while the web server on its machine has
# this many requests in flight on average (over the last second), so that analysts keep
# the cores; for WORKER_YIELD_MAX_SECONDS at most per task, then it goes on. 0: never
# waits. Workers on hosts of their own are never affected (governance/web_load.py).
WORKER_YIELD_AT = env.float("WORKER_YIELD_AT", default=1.0)
WORKER_YIELD_MAX_SECONDS = min(
    env.float("WORKER_YIELD_MAX_SECONDS", default=60.0), CELERY_TASK_SOFT_TIME_LIMIT / 2
)
# Extraction (CPU-bound, spaCy) on a queue of its own when set, so that fetch workers and
# extraction workers can be sized and placed apart (docs/scaling.md): start the workers
# with `-Q <CELERY_QUEUE>` and `-Q <CELERY_EXTRACT_QUEUE>`. Unset: one queue for all.
CELERY_EXTRACT_QUEUE = env.str("CELERY_EXTRACT_QUEUE", default="")
if CELERY_EXTRACT_QUEUE:
    CELERY_TASK_ROUTES = {
        "governance.tasks.extract_documents": {"queue": CELERY_EXTRACT_QUEUE},
        "governance.tasks.extract_document": {"queue": CELERY_EXTRACT_QUEUE},
    }
# Documents per extraction message: spaCy parses a message's documents together, a
# quarter less work per news article than one at a time, and its parser and NER step
# through a batch's documents together, so a feed's 25 entries as one message of 25 cost
# less than as 16 + 9 (bench/ingestion-speed.md). As many as extract.pipeline parses at
# once (BATCH_TEXTS); 1 sends each alone; a message also stops at 100,000 characters.
EXTRACTION_BATCH_SIZE = env.int("EXTRACTION_BATCH_SIZE", default=32)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celery" / "beat-schedule")
INGEST_BEAT_INTERVAL = env.float("INGEST_BEAT_INTERVAL", default=60.0)
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "enqueue-due-sources": {
        "task": "governance.tasks.enqueue_due_sources",
        "schedule": INGEST_BEAT_INTERVAL,
        # A tick that waited longer than its interval is stale: the next one replaces it.
        "options": {"expires": INGEST_BEAT_INTERVAL},
    },
}
# A document handed to extraction this long ago and still pending lost its message; beat
# sends it again (every EXTRACTION_RESEND_AFTER / 6 seconds, at least once a minute).
EXTRACTION_RESEND_AFTER = env.int("EXTRACTION_RESEND_AFTER", default=1800)
CELERY_BEAT_SCHEDULE["resend-lost-extractions"] = {
    "task": "governance.tasks.resend_lost_extractions",
    "schedule": max(60.0, EXTRACTION_RESEND_AFTER / 6),
    "options": {"expires": max(60.0, EXTRACTION_RESEND_AFTER / 6)},
}
# Email digests of followed items (governance/alerts/): daily, and weekly on Mondays, at
# this hour of TIME_ZONE.
DIGEST_HOUR = env.int("DIGEST_HOUR", default=7)
CELERY_BEAT_SCHEDULE["send-daily-digests"] = {
    "task": "governance.tasks.send_digests",
    "schedule": crontab(minute=0, hour=DIGEST_HOUR),
    "kwargs": {"frequency": "daily"},
}
CELERY_BEAT_SCHEDULE["send-weekly-digests"] = {
    "task": "governance.tasks.send_digests",
    "schedule": crontab(minute=0, hour=DIGEST_HOUR, day_of_week="mon"),
    "kwargs": {"frequency": "weekly"},
}
CELERY_BEAT_SCHEDULE["build-dataset-dump"] = {
    "task": "governance.tasks.build_dataset_dump",
    "schedule": crontab(hour=DUMPS_HOUR, minute=30),
    # A day-old tick is stale: the next day's build replaces it.
    "options": {"expires": 12 * 3600},
}
CELERY_TIMEZONE = TIME_ZONE

# Routine log lines, off by default so the console of `manage.py up` shows what matters:
# the web server's access lines for static files (and the launcher's own readiness probe),
# and the beat ticks and worker lines of the frequent housekeeping tasks when they found
# nothing to do (waic/quiet_logs.py). VERBOSE_LOGS=true shows them all.
VERBOSE_LOGS = env.bool("VERBOSE_LOGS", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Ingestion (governance/ingest/): the fetcher refuses loopback, private, link-local and
# metadata addresses; tests and local payload servers need loopback, and only that.
INGEST_ALLOW_LOOPBACK = env.bool("INGEST_ALLOW_LOOPBACK", default=False)
INGEST_USER_AGENT = env.str(
    "INGEST_USER_AGENT",
    default="WAIC-Governance-Tracker/0.1 (AI governance research; python-requests)",
)
# A whole fetch (connect, redirects, body) must finish within this many seconds.
INGEST_FETCH_DEADLINE = env.float("INGEST_FETCH_DEADLINE", default=30.0)
# Largest body accepted, after decompression.
INGEST_MAX_BYTES = env.int("INGEST_MAX_BYTES", default=10 * 1024 * 1024)
INGEST_MAX_REDIRECTS = 5
# A summary-only feed entry links an article page; fetch at most this many pages per run.
INGEST_MAX_PAGES_PER_RUN = env.int("INGEST_MAX_PAGES_PER_RUN", default=20)
# How long a worker owns a source it claimed: past the hard time limit, so a killed
# worker's claim lapses and the source is fetched again on a later beat tick.
INGEST_LEASE_SECONDS = env.int("INGEST_LEASE_SECONDS", default=CELERY_TASK_TIME_LIMIT + 60)
# A source enqueued this long ago and still not claimed is presumed lost and re-enqueued.
INGEST_REENQUEUE_AFTER = env.int("INGEST_REENQUEUE_AFTER", default=300)
