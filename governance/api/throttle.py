"""Per-client rate limit for the API: settings.API_RATE_LIMIT requests per client address,
counted in the Redis cache that every web process shares."""

from __future__ import annotations

import math
import threading

from django.conf import settings
from django.http import HttpRequest
from ninja.throttling import AnonRateThrottle


class ClientRateThrottle(AnonRateThrottle):
    """ninja's sliding-window throttle keyed by the client's IP address, with two changes:
    the rate is read from settings on each request (so it can change without a restart,
    and tests can lower it), and the per-request state lives in a thread-local, since one
    throttle object serves every thread of the process.

    The API's by default; sign-up uses one too (`scope="signup"`, its own setting), as the
    limiter the project already has rather than a second one."""

    scope = "api"

    def __init__(self, scope: str = "api", setting: str = "API_RATE_LIMIT") -> None:
        self._local = threading.local()
        self.scope = scope
        self.setting = setting
        super().__init__(rate=getattr(settings, setting))

    def allow_request(self, request: HttpRequest) -> bool:
        self.rate = getattr(settings, self.setting)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    # ninja's SimpleRateThrottle keeps key, history and now as attributes; route them to
    # the thread-local.
    @property
    def key(self) -> str | None:  # type: ignore[override]
        return self._local.key

    @key.setter
    def key(self, value: str | None) -> None:
        self._local.key = value

    @property
    def history(self) -> list[float]:  # type: ignore[override]
        return self._local.history

    @history.setter
    def history(self, value: list[float]) -> None:
        self._local.history = value

    @property
    def now(self) -> float:  # type: ignore[override]
        return self._local.now

    @now.setter
    def now(self, value: float) -> None:
        self._local.now = value

    def wait(self) -> float:
        """Seconds until the oldest request in the window leaves it (at least 1)."""
        history = getattr(self._local, "history", None)
        if not history:
            return float(self.duration or 1)
        return max(1.0, math.ceil(history[-1] + self.duration - self.now))
