"""The outbox (Notification) now lives in its own app, so that every app can notify people.
No row is lost: the table stays where it is (outbox 0001 takes the model over), the letters'
links to their messages move from Notification.letter to Letter.notifications, and the content
type follows the model so that permissions and admin history stay attached."""

import django.db.models.deletion
from django.db import migrations, models


def _through(apps):
    # Until Notification.letter is removed, its reverse accessor shadows the new field's name.
    return apps.get_model("reviews", "Letter")._meta.get_field("notifications").remote_field.through


def links_to_letters(apps, schema_editor):
    Notification = apps.get_model("reviews", "Notification")
    Through = _through(apps)
    pairs = Notification.objects.filter(letter__isnull=False).values_list("letter_id", "pk")
    Through.objects.bulk_create(
        (Through(letter_id=letter_id, notification_id=pk) for letter_id, pk in pairs.iterator()), batch_size=1000
    )


def links_to_notifications(apps, schema_editor):
    Notification = apps.get_model("reviews", "Notification")
    Through = _through(apps)
    for letter_id, notification_id in Through.objects.values_list("letter_id", "notification_id").iterator():
        Notification.objects.filter(pk=notification_id).update(letter_id=letter_id)


def content_type_to(app_label, other):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        if not ContentType.objects.filter(app_label=app_label, model="notification").exists():
            ContentType.objects.filter(app_label=other, model="notification").update(app_label=app_label)

    return move


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("outbox", "0001_initial"),
        ("reviews", "0006_case_amended_step"),
    ]

    operations = [
        migrations.AddField(
            model_name="letter",
            name="notifications",
            field=models.ManyToManyField(blank=True, editable=False, related_name="+", to="outbox.notification", verbose_name="sent as"),
        ),
        migrations.RunPython(links_to_letters, links_to_notifications),
        migrations.RemoveField(model_name="notification", name="letter"),
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="Notification")]),
        migrations.RunPython(content_type_to("outbox", "reviews"), content_type_to("reviews", "outbox")),
    ]
