"""Create one Django group per role. The group name is the role's stable key."""

from django.db import migrations

ROLE_KEYS = ["department_staff", "division_leader", "leadership_group", "discipline_inspector", "administrator"]


def create_role_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for key in ROLE_KEYS:
        Group.objects.get_or_create(name=key)


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_role_groups, migrations.RunPython.noop)]
