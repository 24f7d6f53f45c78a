"""factory-boy factories for the domain objects tests need in numbers."""

import datetime

import factory

from tasks.models import KeyTask, StageTarget, TaskList


class KeyTaskFactory(factory.django.DjangoModelFactory):
    """A task of `year` led by `department`, owned by `owner`, with its six stage targets."""

    class Meta:
        model = KeyTask
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"重点工作任务{n:04d}")
    standard = factory.LazyAttribute(lambda task: f"完成“{task.title}”并通过验收")
    deadline = factory.LazyAttribute(lambda task: datetime.date(task.year.year, 12, 31))
    weight = 1

    @classmethod
    def create_many(cls, rows):
        """Many tasks in one INSERT, for the tests that measure a page at two sizes: each of
        `rows` holds one task's fields (year, department, owner, ...), the rest as above. No
        stage targets."""
        return KeyTask.objects.bulk_create(cls.build(**fields) for fields in rows)

    @factory.post_generation
    def targets(task, create, extracted, **kwargs):
        if not create:
            return
        StageTarget.objects.bulk_create(
            StageTarget(task=task, stage=stage, description=f"第{stage.number}阶段目标：{task.title}")
            for stage in task.year.stages.all()
        )


def make_list(year, department, state=TaskList.State.DRAFT):
    task_list, _ = TaskList.objects.update_or_create(year=year, department=department, defaults={"state": state})
    return task_list
