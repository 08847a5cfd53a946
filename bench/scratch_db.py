"""Scratch PostgreSQL databases for benchmarks: created fresh, dropped after.

A bench names its own database (`waic_bench`, `waic_ing_...`) on the server of a
DATABASE_URL and gets that database's URL back; nothing here touches another name.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql


def database_url(server_url: str, name: str) -> str:
    """`server_url` with its database replaced by `name`."""
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def _admin(server_url: str) -> psycopg2.extensions.connection:
    conn = psycopg2.connect(database_url(server_url, "postgres"), connect_timeout=5)
    conn.autocommit = True
    return conn


def create_database(server_url: str, name: str) -> str:
    """A new empty database `name` (dropped first if left over); its URL."""
    conn = _admin(server_url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        conn.close()
    return database_url(server_url, name)


def drop_database(url: str) -> None:
    """Drop the database `url` names, ending any connection still open to it."""
    name = urlsplit(url).path.lstrip("/")
    conn = _admin(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    finally:
        conn.close()
