"""The two staff roles as groups with their permissions (governance/roles.py)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CURATOR_GROUP = "Curators"
ADMIN_GROUP = "Administrators"
CURATED_MODELS = (
    "person", "role", "organization", "event", "eventfigure", "proposal", "actionplanitem",
    "participation", "statement", "evidence", "document", "candidate", "decision",
)  # fmt: skip


def make_groups(apps, schema_editor):
    # Permissions are normally created after migrate; these groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    curated = Permission.objects.filter(
        content_type__app_label="governance", content_type__model__in=CURATED_MODELS
    ).exclude(codename__startswith="delete_")
    curators, _ = Group.objects.get_or_create(name=CURATOR_GROUP)
    curators.permissions.add(*curated)
    curators.permissions.add(Permission.objects.get(codename="review_candidate"))
    admins, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    admins.permissions.add(
        *Permission.objects.filter(content_type__app_label__in=["governance", "auth"])
    )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[CURATOR_GROUP, ADMIN_GROUP]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0009_decisions_merges_and_review_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(make_groups, remove_groups)]
