"""Shared pytest configuration and fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

# --- Embedded services -----------------------------------------------------------------
# PostgreSQL and Redis for the session come from the plugin tests/embedded_services.py,
# loaded with `-p` in pyproject's addopts when DATABASE_URL / REDIS_URL are unset. It
# cannot live here: pytest-django loads the settings before any conftest.py is imported.

# --- Fixtures --------------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> Iterator[None]:
    """Users the tests make get MD5 password hashes: Django's PBKDF2 (over a million
    iterations) took 180 s of the suite's CPU on a slow host, in fixtures that only need
    a user who can log in. No test is about the hasher; the servers that tests start
    in processes of their own keep the real one."""
    from django.test import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(scope="module")
def seed_for_the_module(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The seed article's records, loaded once for a module's tests (a load takes 1-2 s of
    CPU) in a transaction rolled back after the module; what each test changes rolls back
    after it, as always. Only for a module whose every database test wants the seed: once
    loaded, it stays until the module ends, for the tests that did not ask for it too."""
    from django.db import transaction

    from governance.seed import load_seed
    from tests.reference import migrated_data_missing, restore_migrated_data

    with django_db_blocker.unblock(), transaction.atomic():
        if migrated_data_missing():  # an earlier transactional test flushed the tables
            restore_migrated_data()
        load_seed()
        yield
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def migrated_reference_data(request: pytest.FixtureRequest) -> None:
    """A transactional test flushes every table when it ends, taking the countries and
    staff groups the migrations loaded; put them back for the database tests after it."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or marker.kwargs.get("databases", ["default"]) == []:
        return  # no database, or a test that must not touch one
    from tests.reference import migrated_data_missing, restore_migrated_data  # needs Django

    blocker = request.getfixturevalue("django_db_blocker")
    with blocker.unblock():
        if migrated_data_missing():
            restore_migrated_data()


@pytest.fixture(autouse=True)
def fresh_count_cache(request: pytest.FixtureRequest) -> None:
    """Cached counts are filed under a revision that writes move on; a test's rolled-back
    writes leave it where it was, so start each database test at a revision of its own."""
    if request.node.get_closest_marker("django_db") is None:
        return
    from governance import count_cache

    count_cache.bump_all()
