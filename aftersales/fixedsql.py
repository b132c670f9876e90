"""Querysets compiled once: the hot reads every request makes, without Django's query building.

Building a queryset and compiling it to SQL costs 1–3 ms of Python per query on these cores
(more with ``select_related`` joins and annotations) — often more than running it. A read that
every request makes with different values only (the signed-in user by id, an order line by id)
can be compiled once and run again with new values:

    _user_by_id = FixedQuery(
        lambda pk: User.objects.select_related("consumer").filter(pk=pk)[:1], samples=(-71,)
    )
    user = _user_by_id.first(user_id)

The queryset is built with the ``samples`` (values that appear nowhere else in the query) the
first time it runs on a connection; every sample must come out of the compiler as exactly one
SQL parameter, which is then replaced by the value of each call. The rows are turned into the
same objects iterating the queryset would give: model instances with their ``select_related``
objects and annotations, or the tuples or single values of ``values_list``. Each run is one
statement through the connection's cursor (counted, logged and wrapped as any other query).

Only what compiles a value into one parameter unchanged can be fixed: equality and comparisons
on ids, numbers, strings, dates (``pk=…``, ``line_id=…``, ``expire_date__gt=…``). A lookup that
transforms its value (``__icontains`` wraps it in ``%…%``) or one that expands into several
parameters (``__in`` lists) is refused when the query is first compiled (``ValueError``).
Values are given in the form the database takes (an ``int`` id, an aware ``datetime``).
"""

import datetime
import decimal
import itertools

from django.db import connections, router
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    _get_from_db,
    get_related_populators,
)
from django.db.transaction import TransactionManagementError

__all__ = ["FixedQuery"]


class _Compiled:
    __slots__ = (
        "compiler",
        "converters",
        "fetch_mode",
        "flat",
        "model",
        "params",
        "plan",
        "slots",
        "sql",
        "update",
    )

    def __init__(self, queryset, samples, connection):
        iterable = queryset._iterable_class
        if iterable not in (ModelIterable, ValuesListIterable, FlatValuesListIterable):
            raise ValueError(f"FixedQuery: {iterable.__name__} results are not supported")
        self.model = iterable is ModelIterable
        self.flat = iterable is FlatValuesListIterable
        self.fetch_mode = queryset._fetch_mode
        self.compiler = queryset.query.get_compiler(connection=connection)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        self.update = queryset.query.select_for_update
        self.plan = None
        fields = [column[0] for column in self.compiler.select[: self.compiler.col_count]]
        if self.compiler.has_composite_fields(fields):
            raise ValueError("FixedQuery: composite primary keys are not supported")
        self.converters = self.compiler.get_converters(fields)
        self.slots = []
        for index, sample in enumerate(samples):
            prepared = _prepare(connection, sample)
            found = [i for i, p in enumerate(self.params) if _same(p, prepared)]
            if len(found) != 1:
                raise ValueError(
                    f"FixedQuery: sample {sample!r} is {len(found)} parameters of {self.sql!r}; "
                    "each must be exactly one (a value no other part of the query uses)"
                )
            kind = type(self.params[found[0]])
            # The backend's own type of the value (PostgreSQL's Int8 of a bigint column).
            self.slots.append((found[0], index, None if kind is type(prepared) else kind))

    def instance_plan(self, db):
        """How a row becomes instances, as ``ModelIterable`` does it; kept for every run."""
        select, klass_info = self.compiler.select, self.compiler.klass_info
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        self.plan = (
            start,
            end,
            [f[0].target.attname for f in select[start:end]],
            _get_from_db(klass_info["model"], self.fetch_mode),
            get_related_populators(klass_info, select, db, self.fetch_mode),
            self.compiler.annotation_col_map,
        )
        return self.plan


def _prepare(connection, value):
    """A date, time or decimal value as the backend's compiler passes it (SQLite: text)."""
    ops = connection.ops
    if isinstance(value, datetime.datetime):
        return ops.adapt_datetimefield_value(value)
    if isinstance(value, datetime.date):
        return ops.adapt_datefield_value(value)
    if isinstance(value, datetime.time):
        return ops.adapt_timefield_value(value)
    if isinstance(value, decimal.Decimal):
        return ops.adapt_decimalfield_value(value)
    return value


def _same(param, sample):
    """``param`` is the sample as the compiler passed it on (the same value, or the backend's
    subclass of its type; ``True`` is not the sample ``1``)."""
    return (
        isinstance(param, type(sample))
        and isinstance(param, bool) == isinstance(sample, bool)
        and param == sample
    )


_numbers = itertools.count(1)


class FixedQuery:
    """A queryset built and compiled once per connection, run again with new values (see the
    module's text). ``build(*values)`` returns the queryset; ``samples`` are the values it is
    compiled with, one per argument. Define them at module level: each one's compiled SQL stays
    on every connection it ran on, so one built per call would pile up."""

    def __init__(self, build, *, samples):
        self.build = build
        self.samples = tuple(samples)
        # A number of its own, never reused: an ``id()`` is, once an object is gone, and a
        # later FixedQuery with the same id would have found the earlier one's compiled SQL.
        self._attr = f"_fixed_query_{next(_numbers)}"
        self._alias = None  # the router's read database of the model, found on the first run

    def _compiled(self, connection):
        compiled = connection.__dict__.get(self._attr)
        if compiled is None:
            compiled = _Compiled(self.build(*self.samples), self.samples, connection)
            connection.__dict__[self._attr] = compiled
        return compiled

    def all(self, *values, using=None):
        """Every result, as a list (instances, tuples or values, as the queryset gives)."""
        if len(values) != len(self.samples):
            raise TypeError(f"FixedQuery takes {len(self.samples)} values, {len(values)} given")
        if using is None:
            if self._alias is None:
                self._alias = router.db_for_read(self.build(*self.samples).model)
            using = self._alias
        connection = connections[using]
        compiled = self._compiled(connection)
        if compiled.update and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        params = list(compiled.params)
        for position, index, kind in compiled.slots:
            value = _prepare(connection, values[index])
            params[position] = value if kind is None or value is None else kind(value)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = compiled.compiler.apply_converters(rows, compiled.converters)
        if compiled.flat:
            return [row[0] for row in rows]
        if not compiled.model:
            return [tuple(row) for row in rows]
        return self._instances(compiled, rows, connection.alias)

    def first(self, *values, using=None):
        """The first result or ``None`` (build the queryset with ``[:1]`` to fetch one row)."""
        found = self.all(*values, using=using)
        return found[0] if found else None

    @staticmethod
    def _instances(compiled, rows, db):
        plan = compiled.plan
        if plan is None:
            plan = compiled.instance_plan(db)
        start, end, init_list, from_db, populators, annotations = plan
        if compiled.fetch_mode.track_peers:  # their peers lists are per result
            populators = compiled.instance_plan(db)[4]
        out = []
        for row in rows:
            obj = from_db(db, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            if annotations:
                for name, position in annotations.items():
                    setattr(obj, name, row[position])
            out.append(obj)
        return out
