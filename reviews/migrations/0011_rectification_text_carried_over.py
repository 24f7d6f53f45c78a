from django.db import migrations


def carry_over_rectification_text(apps, schema_editor):
    """A case's earlier plan and progress text becomes its first rectification, awaiting review
    (a red case's plan, its progress appended; a yellow case's answer, its progress as the
    catch-up measure), written by the task's owner."""
    FollowUp = apps.get_model("reviews", "FollowUp")
    Rectification = apps.get_model("reviews", "Rectification")
    cases = FollowUp.objects.exclude(rectification_plan="").select_related("rating__task")
    Rectification.objects.bulk_create(
        Rectification(
            case=case,
            kind="plan" if case.kind == "supervision" else "answer",
            text="\n".join(filter(None, [case.rectification_plan, case.rectification_progress]))
            if case.kind == "supervision"
            else case.rectification_plan,
            catch_up="" if case.kind == "supervision" else case.rectification_progress,
            state="submitted",
            submitted_by_id=case.rating.task.owner_id,
        )
        for case in cases
    )


class Migration(migrations.Migration):
    """Separate from 0010: PostgreSQL does not alter a table in the transaction that wrote
    rows whose foreign-key checks are still pending."""

    dependencies = [("reviews", "0010_rectifications")]

    operations = [
        migrations.RunPython(carry_over_rectification_text, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="followup",
            name="rectification_plan",
        ),
        migrations.RemoveField(
            model_name="followup",
            name="rectification_progress",
        ),
    ]
