"""A worker that loses Redis while a task runs must not exit: a narrow fix for kombu.

Celery 5.7's consumer, on losing the broker, first collect()s the connection (which
closes its channel and detaches the transport: transport.client = None) and then
close()s it (celery/celery#10242, for GH-9705). When a late-acknowledged task is running,
the channel's first close stops at its pending BRPOP read, which raises ConnectionError,
before the channel is marked closed; the second close then tries to restore the
unacknowledged message through the detached transport, and kombu's Redis channel reads
`self.connection.client.hostname` from None: AttributeError, which Celery does not treat
as a connection error, so the worker exits with "Unrecoverable error" (the same failure as
celery/kombu#582 and #970). The task's acknowledgement, once it finishes, takes the same
path.

Here a channel whose transport is detached raises redis's ConnectionError instead, which
kombu and Celery already handle at every step: the close ends, the worker reconnects, the
running task finishes and its acknowledgement is logged as failed ("Couldn't ack"); the
message stays in Redis's unacknowledged set (if Redis kept its data) and comes back after
the visibility timeout, where the ingest task's claim makes it a no-op.
tests/test_broker_loss_mid_task.py pins it with a real worker on a Redis it kills.
"""

from __future__ import annotations

import functools
from typing import Any

import redis
from kombu.transport import redis as kombu_redis

_MARK = "_waic_detached_transport_fix"


def install() -> None:
    """Patch kombu's Redis channel once (importing waic.celery does it)."""
    channel = kombu_redis.Channel
    original = channel._connparams
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def _connparams(self: Any, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:
            raise redis.exceptions.ConnectionError(
                "the broker connection was closed after the broker went away"
            )
        return original(self, asynchronous=asynchronous)

    setattr(_connparams, _MARK, True)
    channel._connparams = _connparams
