"""Hot querysets compiled to SQL once per process and run again with new values.

Django builds and compiles a queryset's SQL on every evaluation. For the few queries that run
on nearly every request (the task behind a page, the unread count, the commendation banner) that
costs more Python time than running them. A `CompiledQuery` builds its queryset once, from
marker values, compiles it, notes where each marker landed among the SQL's parameters, and from
then on only executes that SQL with the new values and turns the rows into what the queryset
would have returned: model instances (with their select_related objects and annotations), or
tuples for values_list().

The queryset must have the same shape whatever the values (the same joins, the same number of
parameters): plain comparisons with the values, no lists whose length varies. Each marker must
reach the SQL as a parameter, which is checked when compiling. The values are integers (ids,
numbers).
"""

from django.db import connections
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators

# Two sets of marker values, small enough for any integer column: the parameters that follow
# the markers from one compilation to the other are the values; those that stay are literals.
FIRST_MARKER, SECOND_MARKER = 30_001, 30_101


class CompiledQuery:
    def __init__(self, build, arity):
        """`build(*values)` returns the queryset for those values; `arity` is how many it takes."""
        self._build = build
        self._arity = arity
        self._compiled = {}  # by database alias: the SQL, where each value goes, the compiler

    def _compile(self, alias):
        first = tuple(range(FIRST_MARKER, FIRST_MARKER + self._arity))
        second = tuple(range(SECOND_MARKER, SECOND_MARKER + self._arity))
        queryset = self._build(*first)
        if queryset._iterable_class not in (ModelIterable, ValuesListIterable) or queryset._prefetch_related_lookups:
            raise TypeError("CompiledQuery runs model and values_list() querysets without prefetches")
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        again, other_params = self._build(*second).query.get_compiler(using=alias).as_sql()
        if again != sql or len(other_params) != len(params):
            raise ValueError("the queryset's SQL changes with its values")
        # For each parameter: the index of the value it takes, or None and the literal itself.
        slots = []
        for param, other in zip(params, other_params, strict=True):
            if param == other:
                slots.append((None, param))
            elif param in first and other in second and first.index(param) == second.index(other):
                slots.append((first.index(param), None))
            else:
                raise ValueError(f"a parameter is neither a literal nor one of the values: {param!r}")
        if {index for index, _literal in slots} - {None} != set(range(self._arity)):
            raise ValueError("some values do not reach the SQL as parameters")
        compiled = (sql, slots, compiler, queryset._iterable_class is ModelIterable)
        self._compiled[alias] = compiled
        return compiled

    def _run(self, values, alias):
        sql, slots, compiler, as_models = self._compiled.get(alias) or self._compile(alias)
        params = [values[index] if index is not None else literal for index, literal in slots]
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return compiler, as_models, rows

    def rows(self, *values, using="default"):
        """The tuples of a values_list() queryset."""
        compiler, as_models, rows = self._run(values, using)
        if as_models:
            raise TypeError("this query returns model instances: use instances()")
        return list(compiler.results_iter(results=[rows], tuple_expected=True)) if rows else []

    def instances(self, *values, using="default"):
        """The model instances of a queryset, as its ModelIterable would make them."""
        compiler, as_models, rows = self._run(values, using)
        if not as_models:
            raise TypeError("this query returns tuples: use rows()")
        if not rows:
            return []
        select, klass_info, annotation_col_map = compiler.select, compiler.klass_info, compiler.annotation_col_map
        model = klass_info["model"]
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        init_list = [column[0].target.attname for column in select[start:end]]
        populators = get_related_populators(klass_info, select, using)
        objects = []
        for row in compiler.results_iter(results=[rows]):
            obj = model.from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, position in annotation_col_map.items():
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects
