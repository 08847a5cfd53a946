"""Shared pytest configuration and fixtures."""

from __future__ import annotations

# --- Embedded services -----------------------------------------------------------------
# PostgreSQL and Redis for the session come from the plugin tests/embedded_services.py,
# loaded with `-p` in pyproject's addopts when DATABASE_URL / REDIS_URL are unset. It
# cannot live here: pytest-django loads the settings before any conftest.py is imported.

# --- Fixtures --------------------------------------------------------------------------
