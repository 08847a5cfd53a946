"""Django's PostgreSQL backend (psycopg2), plus: no new connection is attempted while the
database is known to be down, a failed attempt declares it down for the other requests,
and every connection is known to the watchdog that frees requests blocked on it."""

from __future__ import annotations

from typing import Any

import psycopg2
from django.db.backends.postgresql import base

from governance import database_health


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        database_health.before_connect()
        try:
            raw = super().get_new_connection(conn_params)
        except psycopg2.OperationalError as exc:
            database_health.connect_failed(exc)
            raise
        database_health.track(raw)
        return raw
