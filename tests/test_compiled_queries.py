"""lightboard.statements.CompiledQuery: a hot queryset compiled once per process and run again
with new values gives what the queryset itself gives, in one query, and refuses a queryset whose
SQL would change with its values."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count, FilteredRelation, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from lightboard.statements import CompiledQuery
from tasks.models import KeyTask, SelfAssessment, Stage
from tests.factories import KeyTaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks(year, department_a, department_b, staff_a, staff_b):
    return [
        KeyTaskFactory(year=year, department=department_a, owner=staff_a, title="甲部门任务"),
        KeyTaskFactory(year=year, department=department_b, owner=staff_b, title="乙部门任务"),
    ]


def by_id():
    return KeyTask.objects.select_related("year", "department", "owner")


def test_instances_are_those_of_the_queryset_with_their_related_objects(tasks):
    compiled = CompiledQuery(lambda pk: by_id().filter(pk=pk), 1)
    for task in tasks:
        with CaptureQueriesContext(connection) as queries:
            (found,) = compiled.instances(task.pk)
            # The related objects came with it: reading them runs no query.
            seen = (found.title, found.year.year, found.department.name, found.owner.username)
        assert len(queries) == 1
        expected = by_id().get(pk=task.pk)
        assert found == expected
        assert seen == (expected.title, expected.year.year, expected.department.name, expected.owner.username)
    assert compiled.instances(max(task.pk for task in tasks) + 1000) == []


def test_annotations_and_filtered_relations_come_through(tasks, year):
    task = tasks[1]

    def stages_of(task_id, year_id):
        return (
            Stage.objects.filter(year_id=year_id)
            .annotate(
                own_targets=Count("targets", filter=Q(targets__task_id=task_id)),
                own=FilteredRelation("assessments", condition=Q(assessments__task_id=task_id)),
            )
            .select_related("own")
            .order_by("number")
        )

    stages = CompiledQuery(stages_of, 2).instances(task.pk, year.pk)
    expected = list(stages_of(task.pk, year.pk))
    assert [stage.number for stage in stages] == [stage.number for stage in expected] == [1, 2, 3, 4, 5, 6]
    assert [stage.own_targets for stage in stages] == [1] * 6, "each stage has the task's one target"
    # Nothing self-assessed yet: like the queryset, no `own` object.
    assert [getattr(stage, "own", None) for stage in stages] == [getattr(stage, "own", None) for stage in expected]


def test_rows_are_those_of_values_list(tasks, department_a):
    compiled = CompiledQuery(
        lambda department_id: (
            KeyTask.objects.filter(department_id=department_id, weight__gte=1)
            .order_by("pk")
            .values_list("pk", "title", "owner__username")
        ),
        1,
    )
    expected = list(
        KeyTask.objects.filter(department=department_a).order_by("pk").values_list("pk", "title", "owner__username")
    )
    assert compiled.rows(department_a.pk) == expected == [(tasks[0].pk, "甲部门任务", "staff_a")]


def test_the_queryset_is_built_and_compiled_once(tasks):
    built = []

    def build(pk):
        built.append(pk)
        return by_id().filter(pk=pk)

    compiled = CompiledQuery(build, 1)
    for task in tasks * 3:
        assert compiled.instances(task.pk)[0].pk == task.pk
    assert len(built) == 2, "once with each set of markers, at the first run only"


def test_a_queryset_whose_sql_changes_with_its_values_is_refused(tasks):
    with pytest.raises(ValueError, match="changes with its values"):
        CompiledQuery(lambda n: KeyTask.objects.filter(pk__in=range(n % 7)), 1).instances(3)


def test_a_value_that_does_not_reach_the_sql_is_refused(tasks):
    with pytest.raises(ValueError, match="do not reach"):
        CompiledQuery(lambda pk, unused: by_id().filter(pk=pk), 2).instances(tasks[0].pk, 5)


def test_literal_parameters_stay_as_they_were_compiled(tasks, department_a):
    """The department's task has weight 1: a literal 1 among the parameters is not a value."""
    compiled = CompiledQuery(lambda pk: KeyTask.objects.filter(pk=pk, weight=1).order_by(), 1)
    assert [task.pk for task in compiled.instances(tasks[0].pk)] == [tasks[0].pk]
    KeyTask.objects.filter(pk=tasks[0].pk).update(weight=2)
    assert compiled.instances(tasks[0].pk) == []


def test_lists_of_values_compile_a_shape_per_length(tasks, year):
    compiled = CompiledQuery(
        lambda ids, year_id: KeyTask.objects.filter(pk__in=ids, year_id=year_id).order_by("pk").values_list("pk"), 2
    )
    ids = [task.pk for task in tasks]
    for chosen in ([ids[0]], [ids[1]], ids, ids[::-1], []):
        assert compiled.rows(chosen, year.pk) == [(pk,) for pk in sorted(chosen)]
    assert compiled.rows(ids, year.pk + 1) == []


def test_lists_are_padded_so_that_lengths_share_shapes(tasks):
    compiled = CompiledQuery(lambda ids: KeyTask.objects.filter(pk__in=ids).order_by("pk").values_list("title"), 1)
    ids = [task.pk for task in tasks]
    for length in (3, 4, 2, 1, 4, 3):
        chosen = (ids * 2)[:length]  # repeated ids: the same IN
        assert compiled.rows(chosen) == [(task.title,) for task in tasks if task.pk in chosen]
    assert sorted(shape for _alias, (shape,) in compiled._compiled) == [1, 2, 4], "3 is padded to 4"


def test_past_its_shapes_the_orm_runs_the_query(tasks, monkeypatch):
    """Lists of many lengths: the first shapes are compiled, then the ORM answers, the same."""
    monkeypatch.setattr("lightboard.statements.MAX_SHAPES", 2)
    compiled = CompiledQuery(lambda ids: KeyTask.objects.filter(pk__in=ids).order_by("pk").values_list("title"), 1)
    ids = [task.pk for task in tasks]
    for length in (1, 2, 3, 5, 9):
        chosen = (ids * 5)[:length]
        assert compiled.rows(chosen) == [(task.title,) for task in tasks if task.pk in chosen]
    assert len(compiled._compiled) == 2


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 10**30, None])
def test_an_id_no_column_holds_finds_nothing_like_the_orm(tasks, value):
    """A number past the database's integer range (a URL takes any digits) matches no row, as
    the ORM says, instead of the driver refusing it; a value that is not a number goes to the
    ORM too."""
    compiled = CompiledQuery(lambda pk: by_id().filter(pk=pk), 1)
    assert compiled.instances(value) == list(by_id().filter(pk=value)) == []
    assert compiled.instances(tasks[0].pk)[0].pk == tasks[0].pk


def test_decimals_dates_and_joined_rows_are_read_as_the_orm_reads_them(tasks, year):
    """The database's values go through the fields' converters (decimals and times on SQLite),
    and a filtered relation with a row is built as an object."""
    task = tasks[0]
    stage = year.stages.get(number=2)
    submitted = timezone.make_aware(datetime.datetime(2026, 4, 3, 9, 30))
    SelfAssessment.objects.create(
        task=task, stage=stage, completion=Decimal("72.5"), state="submitted", submitted_at=submitted
    )

    def stages_of(task_id, year_id):
        return (
            Stage.objects.filter(year_id=year_id)
            .annotate(own=FilteredRelation("assessments", condition=Q(assessments__task_id=task_id)))
            .select_related("own")
            .order_by("number")
        )

    stages = CompiledQuery(stages_of, 2).instances(task.pk, year.pk)
    own = [getattr(s, "own", None) for s in stages]
    assert [o is not None for o in own] == [False, True, False, False, False, False]
    assert own[1].completion == Decimal("72.5") and isinstance(own[1].completion, Decimal)
    assert own[1].submitted_at == submitted
    rows = CompiledQuery(
        lambda task_id: SelfAssessment.objects.filter(task_id=task_id).values_list(
            "completion", "submitted_at", "task__weight"
        ),
        1,
    ).rows(task.pk)
    assert rows == list(
        SelfAssessment.objects.filter(task=task).values_list("completion", "submitted_at", "task__weight")
    )
    assert rows == [(Decimal("72.5"), submitted, Decimal("1.00"))]


def test_extra_select_columns_are_refused(tasks):
    with pytest.raises(TypeError, match="extra select"):
        CompiledQuery(
            lambda pk: KeyTask.objects.filter(pk=pk).order_by("department__name").distinct().values_list("title"), 1
        ).rows(tasks[0].pk)


def test_instances_and_rows_are_not_mixed_up(tasks):
    as_models = CompiledQuery(lambda pk: by_id().filter(pk=pk), 1)
    as_tuples = CompiledQuery(lambda pk: KeyTask.objects.filter(pk=pk).values_list("title"), 1)
    with pytest.raises(TypeError, match="use instances"):
        as_models.rows(tasks[0].pk)
    with pytest.raises(TypeError, match="rows\\(\\) for values_list"):
        as_tuples.instances(tasks[0].pk)
