"""Row inserts for sweep batches: one ``INSERT … SELECT FROM unnest(…)`` per table.

Django's ``bulk_create`` builds a model instance per row and prepares every field of every row
in Python. A deadline-sweep batch writes thousands of rows of a few append-only tables
(timeline, domain events, notifications), and that preparation becomes its dominant cost.
``insert_rows`` sends each column as one array instead. It is for plain rows only: no signals,
no ``save()``, values given as stored (``merchant_id`` for a foreign key, aware datetimes,
Decimals, JSON-able values for JSON fields). A column a row leaves out gets its field's
default, evaluated once for the batch. Outside PostgreSQL (the embedded SQLite default) it
falls back to ``bulk_create``.
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
    """Insert ``rows`` (dicts of attname → value) into ``model``'s table in one statement;
    returns the new primary keys in row order when ``returning`` (else ``[]``)."""
    if not rows:
        return []
    given = set().union(*(row.keys() for row in rows))
    fields = _columns(model, given)
    if connection.vendor != "postgresql":
        objs = model._default_manager.bulk_create([model(**row) for row in rows])
        return [obj.pk for obj in objs] if returning else []
    qn = connection.ops.quote_name
    names, selects, params, aliases = [], [], [], []
    for n, field in enumerate(fields):
        default = field.get_default()  # for rows that leave the column out
        values = [row.get(field.attname, default) for row in rows]
        alias = f"c{n}"
        if isinstance(field, JSONField):
            values = [None if v is None else json.dumps(v, cls=DjangoJSONEncoder) for v in values]
            params.append(values)
            selects.append(f"{alias}::jsonb")
            aliases.append((alias, "text[]"))
        else:
            params.append(values)
            selects.append(alias)
            aliases.append((alias, f"{field.db_type(connection)}[]"))
        names.append(qn(field.column))
    arrays = ", ".join(f"%s::{kind}" for _alias, kind in aliases)
    sql = (
        f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(names)}) "
        f"SELECT {', '.join(selects)} FROM unnest({arrays}) WITH ORDINALITY "
        f"AS v({', '.join(alias for alias, _kind in aliases)}, ord) ORDER BY ord"
    )
    if returning:
        sql += f" RETURNING {qn(model._meta.pk.column)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()] if returning else []


def actor_columns(actor):
    """The actor columns of a ``TimelineEvent`` row, as ``insert_rows`` takes them."""
    fields = actor.timeline_fields()
    return {
        "actor_kind": fields["actor_kind"],
        "actor_user_id": getattr(fields["actor_user"], "pk", None),
        "actor_api_key_id": getattr(fields["actor_api_key"], "pk", None),
        "actor_label": fields["actor_label"],
    }
