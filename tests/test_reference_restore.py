"""tests/reference.py puts back the countries and aliases the migrations loaded, and the
staff groups, after a transactional test's flush emptied the tables.

(The groups come back from migration 0010's own function, which grants the Administrators
every permission there is by then; migration 0016 gave the migrated group those of the
models that came after 0010, so both are the same.)"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

from governance.models import Country, CountryAlias
from governance.roles import ADMIN_GROUP
from tests.reference import migrated_data_missing, restore_migrated_data

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple[list[tuple], list[tuple], list[tuple[str, list[str]]]]:
    countries = list(Country.objects.order_by("code").values_list())
    aliases = list(
        CountryAlias.objects.order_by("country_id", "alias", "kind").values_list(
            "country_id", "alias", "kind", "ambiguous", "source"
        )
    )
    groups = sorted(
        (group.name, sorted(group.permissions.values_list("codename", flat=True)))
        for group in Group.objects.all()
    )
    return countries, aliases, groups


def test_the_restored_rows_are_the_migrated_ones() -> None:
    migrated = _snapshot()
    assert len(migrated[0]) > 240 and len(migrated[1]) > len(migrated[0])
    CountryAlias.objects.all().delete()
    Country.objects.all().delete()
    Group.objects.all().delete()
    assert migrated_data_missing()
    restore_migrated_data()
    assert not migrated_data_missing()
    assert _snapshot() == migrated


def test_administrators_hold_every_governance_and_auth_permission() -> None:
    """As migration 0010 grants them; a model added since needs a migration like 0016."""
    every = Permission.objects.filter(content_type__app_label__in=["governance", "auth"])
    admins = Group.objects.get(name=ADMIN_GROUP)
    missing = sorted(
        set(every.values_list("codename", flat=True))
        - set(admins.permissions.values_list("codename", flat=True))
    )
    assert every.count() > 100 and missing == []
