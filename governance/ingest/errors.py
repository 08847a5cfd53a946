"""Why an ingestion attempt failed: one reason per failure, stored on its IngestRun."""

from __future__ import annotations

from django.db import models


class FailureReason(models.TextChoices):
    INVALID_URL = "invalid_url", "Invalid URL"
    BLOCKED_ADDRESS = "blocked_address", "Blocked address"
    TIMEOUT = "timeout", "Timed out"
    TOO_LARGE = "too_large", "Too large"
    TOO_MANY_REDIRECTS = "too_many_redirects", "Too many redirects"
    HTTP_ERROR = "http_error", "HTTP error"
    NETWORK_ERROR = "network_error", "Network error"
    NOT_A_FEED = "not_a_feed", "Not a feed"
    UNSUPPORTED_CONTENT = "unsupported_content", "Unsupported content"
    PARSE_ERROR = "parse_error", "Could not parse"
    EMPTY = "empty", "No text found"
    WORKER_LOST = "worker_lost", "Worker lost mid-run"
    DATABASE_UNAVAILABLE = "database_unavailable", "Database unavailable mid-run"
    INTERNAL_ERROR = "internal_error", "Internal error"


class IngestError(Exception):
    """An expected failure of one ingestion step, with the reason an admin will see."""

    def __init__(self, reason: FailureReason, message: str, *, http_status: int | None = None):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.http_status = http_status

    @property
    def transient(self) -> bool:
        """Worth retrying soon: timeouts, network errors and 5xx/429 answers."""
        if self.reason in (FailureReason.TIMEOUT, FailureReason.NETWORK_ERROR):
            return True
        return self.reason == FailureReason.HTTP_ERROR and (
            self.http_status == 429 or (self.http_status or 0) >= 500
        )

    def __str__(self) -> str:
        return f"{self.reason.label}: {self.message}"


class FetchError(IngestError):
    """The source could not be fetched (network, address, size, HTTP status)."""


class ParseError(IngestError):
    """What was fetched could not be turned into documents."""
