"""Postgres extensions for search, and the ISO 3166-1 countries with their aliases."""

from __future__ import annotations

from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations


def load_countries(apps, schema_editor):
    from governance.reference_data import alias_rows, country_rows

    Country = apps.get_model("governance", "Country")
    CountryAlias = apps.get_model("governance", "CountryAlias")
    for row in country_rows():
        defaults = row.fields()
        Country.objects.update_or_create(code=defaults.pop("code"), defaults=defaults)
    CountryAlias.objects.bulk_create(
        [CountryAlias(**r.fields()) for r in alias_rows()],
        update_conflicts=True,
        unique_fields=["country", "alias", "kind"],
        update_fields=["ambiguous", "source"],
    )


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial")]

    operations = [
        TrigramExtension(),
        UnaccentExtension(),
        migrations.RunPython(load_countries, migrations.RunPython.noop, elidable=False),
    ]
