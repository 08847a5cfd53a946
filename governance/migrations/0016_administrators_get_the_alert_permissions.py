"""The Administrators group gets every governance and auth permission, as 0010 meant: the
alert models (Follow, Digest, DigestItem, 0011) came after it, and their permissions had
gone to no group. Run again, it adds only what is missing."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMIN_GROUP = "Administrators"


def grant_everything(apps, schema_editor):
    # Permissions are normally created after migrate; the grant needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admins, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    admins.permissions.add(
        *Permission.objects.filter(content_type__app_label__in=["governance", "auth"])
    )


class Migration(migrations.Migration):
    dependencies = [("governance", "0015_candidate_document_index_in_natural_key")]

    # Going back leaves the grant: 0010 alone would have given it, had the models existed.
    operations = [migrations.RunPython(grant_everything, migrations.RunPython.noop)]
