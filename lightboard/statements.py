"""Hot querysets compiled to SQL once per process and run again with new values.

Django builds and compiles a queryset's SQL on every evaluation. For the queries that run on
nearly every request (the task behind a page, the unread count, the commendation banner, the
board's rows) that costs more Python time than running them. A `CompiledQuery` builds its
queryset once, from marker values, compiles it, notes where each marker landed among the SQL's
parameters, and from then on only executes that SQL with the new values and turns the rows into
what the queryset would have returned: model instances (with their select_related objects and
annotations), or tuples for values_list().

The values are integers (ids, numbers) or lists of integers, which only `__in` may take. The
queryset must have the same shape for any values with lists of the same lengths: plain
comparisons with the values, each list element one parameter. A list is padded to the next power
of two by repeating its last element (the same `IN`), and a shape is compiled for each
combination of padded lengths met, up to MAX_SHAPES. Past that, for lists longer than
MAX_MARKERS in all, for an empty list and for a value that is not an integer in the database's range, the
queryset is built and run by the ORM as usual (the same result, without the saving). Each value
must reach the SQL as a parameter, and the SQL must not change with the values: both are checked
when compiling.
"""

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators

# Marker values, small enough for any integer column. A shape is compiled twice, with two sets of
# markers: the parameters that follow the markers from one compilation to the other are the
# values; those that stay are literals.
FIRST_MARKER = 30_001
MAX_MARKERS = 1_024  # with FIRST_MARKER, both sets of markers stay below 32,767 (a smallint)
MAX_SHAPES = 32

_LISTS = (list, tuple, set, frozenset)


def _padded(values):
    """The values with each list padded to a power-of-two length by repeating its last element,
    so that lists of many lengths share a few shapes."""
    padded = []
    for value in values:
        if isinstance(value, _LISTS) and value:
            items = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
            items.extend(items[-1:] * ((1 << (len(items) - 1).bit_length()) - len(items)))
            value = items
        padded.append(value)
    return padded


def _shape(values):
    """The lengths of the list values (None for a single value): what the SQL's shape depends on."""
    return tuple(len(value) if isinstance(value, _LISTS) else None for value in values)


def _flat(values):
    """The values' integers in order, list elements in place."""
    flat = []
    for value in values:
        if isinstance(value, _LISTS):
            flat.extend(value)
        else:
            flat.append(value)
    return flat


def _markers(shape, start):
    """Marker values in the given shape, numbered from `start`."""
    values, next_marker = [], start
    for length in shape:
        if length is None:
            values.append(next_marker)
            next_marker += 1
        else:
            values.append(list(range(next_marker, next_marker + length)))
            next_marker += length
    return values


class CompiledQuery:
    def __init__(self, build, arity):
        """`build(*values)` returns the queryset for those values; `arity` is how many it takes."""
        self._build = build
        self._arity = arity
        self._compiled = {}  # by database alias and shape: the SQL, where each value goes, the compiler

    def _compile(self, alias, shape):
        count = sum(1 if length is None else length for length in shape)
        first, second = _markers(shape, FIRST_MARKER), _markers(shape, FIRST_MARKER + count)
        queryset = self._build(*first)
        if queryset._iterable_class not in (ModelIterable, ValuesListIterable) or queryset._prefetch_related_lookups:
            raise TypeError("CompiledQuery runs model and values_list() querysets without prefetches")
        compiler = queryset.query.get_compiler(using=alias)
        try:
            sql, params = compiler.as_sql()
            again, other_params = self._build(*second).query.get_compiler(using=alias).as_sql()
        except EmptyResultSet:
            raise ValueError("the queryset's SQL changes with its values (one of them matches nothing)") from None
        if again != sql or len(other_params) != len(params):
            raise ValueError("the queryset's SQL changes with its values")
        if compiler.has_extra_select:
            # Django would cut the ordering's extra columns off each row; this does not.
            raise TypeError("CompiledQuery runs querysets without extra select columns (distinct() and order_by())")
        first_flat, second_flat = _flat(first), _flat(second)
        # For each parameter: the index of the (flattened) value it takes, or None and the literal.
        slots = []
        for param, other in zip(params, other_params, strict=True):
            if param == other:
                slots.append((None, param))
            elif param in first_flat and other in second_flat and first_flat.index(param) == second_flat.index(other):
                slots.append((first_flat.index(param), None))
            else:
                raise ValueError(f"a parameter is neither a literal nor one of the values: {param!r}")
        if {index for index, _literal in slots} - {None} != set(range(count)):
            raise ValueError("some values do not reach the SQL as parameters")
        compiled = (sql, slots, compiler, queryset._iterable_class is ModelIterable)
        self._compiled[alias, shape] = compiled
        return compiled

    def _statement(self, values, alias):
        """The compiled SQL, slots and compiler for these values' shape; None to use the ORM."""
        if len(values) != self._arity:
            raise TypeError(f"this query takes {self._arity} values, not {len(values)}")
        shape = _shape(values)
        # An empty list matches nothing, and an id past the column's range no row: the ORM knows
        # both without asking the database (the driver would refuse the second).
        smallest, largest = connections[alias].ops.integer_field_range("BigIntegerField")
        if 0 in shape or not all(type(value) is int and smallest <= value <= largest for value in _flat(values)):
            return None
        compiled = self._compiled.get((alias, shape))
        if compiled is None:
            if sum(length or 0 for length in shape) > MAX_MARKERS or len(self._compiled) >= MAX_SHAPES:
                return None
            compiled = self._compile(alias, shape)
        return compiled

    def _run(self, values, alias, *, as_models):
        """(compiler, rows) from the compiled SQL, or (None, the ORM's result) when it is not used."""
        values = _padded(values)
        statement = self._statement(values, alias)
        if statement is None:
            return None, list(self._build(*values).using(alias))
        sql, slots, compiler, returns_models = statement
        if returns_models != as_models:
            raise TypeError("use instances() for model instances, rows() for values_list() tuples")
        flat = _flat(values)
        params = [flat[index] if index is not None else literal for index, literal in slots]
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            return compiler, cursor.fetchall()

    def rows(self, *values, using="default"):
        """The tuples of a values_list() queryset."""
        compiler, rows = self._run(values, using, as_models=False)
        if compiler is None or not rows:
            return rows
        return list(compiler.results_iter(results=[rows], tuple_expected=True))

    def instances(self, *values, using="default"):
        """The model instances of a queryset, as its ModelIterable would make them."""
        compiler, rows = self._run(values, using, as_models=True)
        if compiler is None or not rows:
            return rows
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
