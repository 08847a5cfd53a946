"""Postgres extensions for search, and the ISO 3166-1 countries with their aliases."""

from __future__ import annotations

from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations


def load_countries(apps, schema_editor):
    from governance.reference_data import alias_rows, country_rows

    Country = apps.get_model("governance", "Country")
    CountryAlias = apps.get_model("governance", "CountryAlias")
    for row in country_rows():
        Country.objects.update_or_create(
            code=row.code,
            defaults={
                "alpha3": row.alpha3,
                "numeric": row.numeric,
                "name": row.name,
                "official_name": row.official_name,
                "region": row.region,
                "subregion": row.subregion,
            },
        )
    CountryAlias.objects.bulk_create(
        [
            CountryAlias(
                country_id=r.code,
                alias=r.alias,
                kind=r.kind,
                ambiguous=r.ambiguous,
                source=r.source,
            )
            for r in alias_rows()
        ],
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
