"""Shared pytest configuration and fixtures."""

from __future__ import annotations

import pytest

# --- Embedded services -----------------------------------------------------------------
# PostgreSQL and Redis for the session come from the plugin tests/embedded_services.py,
# loaded with `-p` in pyproject's addopts when DATABASE_URL / REDIS_URL are unset. It
# cannot live here: pytest-django loads the settings before any conftest.py is imported.

# --- Fixtures --------------------------------------------------------------------------


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
