"""The outbox moved from the reviews app to its own: a database migrated across the move keeps
every notification (in its table, with its state, attempts and reading time), each letter's
link to the messages it went out as, and the model's content type; and the move can be undone."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from outbox.models import Notification
from reviews.models import Letter

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_THE_MOVE = [("reviews", "0006_case_amended_step"), ("outbox", None)]


def migrate_back_before_the_move():
    """The database as the reviews app left it; returns the models of that time."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_THE_MOVE)
    executor.loader.build_graph()
    return executor.loader.project_state([BEFORE_THE_MOVE[0]]).apps


def migrate_to_the_latest():
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def old_rows(apps):
    """A letter and two messages written by the code before the move."""
    User = apps.get_model("tasks", "User")
    ContentTypeThen = apps.get_model("contenttypes", "ContentType")
    ContentTypeThen.objects.get_or_create(app_label="reviews", model="notification")
    owner = User.objects.create(username="owner", password="!")
    inspector = User.objects.create(username="inspector", password="!")
    letter = apps.get_model("reviews", "Letter").objects.create(
        kind="supervision", year=2026, sequence=7, issued_by=inspector
    )
    Old = apps.get_model("reviews", "Notification")
    read_at = timezone.now()
    lettered = Old.objects.create(
        recipient=owner, kind="letter_supervision", subject="督办函 纪督〔2026〕7号", body="请整改",
        link="/reviews/letters/1/", letter=letter, idempotency_key="letter:1:owner", state="sent", attempts=2,
        read_at=read_at,
    )  # fmt: skip
    plain = Old.objects.create(
        recipient=owner, kind="assessment_returned", subject="自评被退回", idempotency_key="returned:1", state="failed",
        attempts=5, last_error="SMTPConnectError",
    )  # fmt: skip
    return letter.pk, lettered.pk, plain.pk, read_at


def test_every_notification_and_every_letters_messages_survive_the_move():
    migrate_to_the_latest()
    apps = migrate_back_before_the_move()
    letter_id, lettered_id, plain_id, read_at = old_rows(apps)

    migrate_to_the_latest()

    lettered, plain = Notification.objects.get(pk=lettered_id), Notification.objects.get(pk=plain_id)
    assert (lettered.subject, lettered.state, lettered.attempts, lettered.read_at) == (
        "督办函 纪督〔2026〕7号", "sent", 2, read_at,
    )  # fmt: skip
    assert (plain.state, plain.attempts, plain.last_error) == ("failed", 5, "SMTPConnectError")
    assert list(Letter.objects.get(pk=letter_id).notifications.all()) == [lettered]
    assert ContentType.objects.get_for_model(Notification).app_label == "outbox"
    assert not ContentType.objects.filter(app_label="reviews", model="notification").exists()
    # New rows go on in the same table and sequence.
    newer = Notification.objects.create(recipient=lettered.recipient, kind="x", subject="新消息", idempotency_key="new")
    assert newer.pk > max(lettered_id, plain_id)


def test_the_move_can_be_undone_without_losing_the_letters_links():
    migrate_to_the_latest()
    apps = migrate_back_before_the_move()
    letter_id, lettered_id, plain_id, _read_at = old_rows(apps)
    migrate_to_the_latest()

    apps = migrate_back_before_the_move()

    Old = apps.get_model("reviews", "Notification")
    assert Old.objects.get(pk=lettered_id).letter_id == letter_id
    assert Old.objects.get(pk=plain_id).letter_id is None
    migrate_to_the_latest()
