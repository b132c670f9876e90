"""Row inserts for sweep batches: one ``COPY`` per table (ids drawn from the sequence first).

Django's ``bulk_create`` builds a model instance per row and prepares every field of every row
in Python. A deadline-sweep batch writes thousands of rows of a few append-only tables
(timeline, domain events, notifications), and that preparation becomes its dominant cost.
``insert_rows`` streams the rows with ``COPY`` instead (psycopg formats them in C); when the
caller needs the new ids they are drawn from the table's sequence in one query first.

It is for plain rows only: no signals, no ``save()``; values are given as stored
(``merchant_id`` for a foreign key, aware datetimes, Decimals, JSON-able values for JSON
fields). A column a row leaves out gets its field's default, evaluated once for the batch.
Outside PostgreSQL (the embedded SQLite default) it falls back to ``bulk_create``.
"""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import JSONField


def _columns(model, given):
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    known = {f.attname for f in fields}
    unknown = set(given) - known
    if unknown:
        raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
    return fields


def insert_rows(model, rows, *, returning=False):
    """Insert ``rows`` (dicts of attname → value) into ``model``'s table with one ``COPY``;
    returns the new primary keys in row order when ``returning`` (else ``[]``)."""
    if not rows:
        return []
    given = set().union(*(row.keys() for row in rows))
    fields = _columns(model, given)
    if connection.vendor != "postgresql":
        objs = model._default_manager.bulk_create([model(**row) for row in rows])
        return [obj.pk for obj in objs] if returning else []
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    columns = [field.column for field in fields]
    defaults = [field.get_default() for field in fields]  # for rows that leave a column out
    json_columns = {n for n, field in enumerate(fields) if isinstance(field, JSONField)}
    ids = []
    with connection.cursor() as cursor:
        if returning:
            pk = model._meta.pk.column
            columns = [pk, *columns]
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [model._meta.db_table, pk, len(rows)],
            )
            ids = [row[0] for row in cursor.fetchall()]
        # COPY: psycopg formats the rows in C; no per-value SQL quoting in Python.
        names = ", ".join(qn(c) for c in columns)
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for n, row in enumerate(rows):
                values = [
                    _json(row.get(f.attname, d)) if i in json_columns else row.get(f.attname, d)
                    for i, (f, d) in enumerate(zip(fields, defaults, strict=True))
                ]
                copy.write_row([ids[n], *values] if returning else values)
    return ids


def _json(value):
    return None if value is None else json.dumps(value, cls=DjangoJSONEncoder)


def actor_columns(actor):
    """The actor columns of a ``TimelineEvent`` row, as ``insert_rows`` takes them."""
    fields = actor.timeline_fields()
    return {
        "actor_kind": fields["actor_kind"],
        "actor_user_id": getattr(fields["actor_user"], "pk", None),
        "actor_api_key_id": getattr(fields["actor_api_key"], "pk", None),
        "actor_label": fields["actor_label"],
    }
