"""What the migrations load and every test may rely on: the ISO countries with their
aliases (0002) and the staff groups with their permissions (0010)."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.contrib.auth.models import Group

from governance.models import Country, CountryAlias
from governance.reference_data import alias_rows, country_rows
from governance.roles import ADMIN_GROUP, CURATOR_GROUP


def migrated_data_missing() -> bool:
    return not (Country.objects.exists() and Group.objects.filter(name=CURATOR_GROUP).exists())


def restore_migrated_data() -> None:
    """Load them again after a transactional test's flush emptied the tables."""
    if not Country.objects.exists():
        # What migration 0002 loads, in two statements: its own loader updates each
        # country in place (250 round trips), which cost the suite 40 s of restores.
        Country.objects.bulk_create(Country(**row.fields()) for row in country_rows())
        CountryAlias.objects.bulk_create(CountryAlias(**row.fields()) for row in alias_rows())
    if Group.objects.filter(name__in=[CURATOR_GROUP, ADMIN_GROUP]).count() != 2:
        groups = importlib.import_module("governance.migrations.0010_curator_and_admin_groups")
        groups.make_groups(apps, None)
