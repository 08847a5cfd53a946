"""tests/reference.py puts back the countries and aliases the migrations loaded, and the
staff groups, after a transactional test's flush emptied the tables.

(The groups come back from migration 0010's own function, which grants the Administrators
every permission there is by then: those of the alert models too, which the group as
migrated lacks, because those models came after 0010.)"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from governance.models import Country, CountryAlias
from tests.reference import migrated_data_missing, restore_migrated_data

pytestmark = pytest.mark.django_db


def _snapshot() -> tuple[list[tuple], list[tuple], list[str]]:
    countries = list(Country.objects.order_by("code").values_list())
    aliases = list(
        CountryAlias.objects.order_by("country_id", "alias", "kind").values_list(
            "country_id", "alias", "kind", "ambiguous", "source"
        )
    )
    return countries, aliases, sorted(Group.objects.values_list("name", flat=True))


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
