"""What the migrations load and every test may rely on: the ISO countries with their
aliases (0002) and the staff groups with their permissions (0010)."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.contrib.auth.models import Group

from governance.models import Country
from governance.roles import ADMIN_GROUP, CURATOR_GROUP


def migrated_data_missing() -> bool:
    return not (Country.objects.exists() and Group.objects.filter(name=CURATOR_GROUP).exists())


def restore_migrated_data() -> None:
    """Load them again after a transactional test's flush emptied the tables."""
    countries = importlib.import_module("governance.migrations.0002_extensions_and_countries")
    if not Country.objects.exists():
        countries.load_countries(apps, None)
    if Group.objects.filter(name__in=[CURATOR_GROUP, ADMIN_GROUP]).count() != 2:
        groups = importlib.import_module("governance.migrations.0010_curator_and_admin_groups")
        groups.make_groups(apps, None)
