"""Row inserts for sweep batches: one ``COPY`` per table (ids drawn from the sequence first).

Django's ``bulk_create`` builds a model instance per row and prepares every field of every row
in Python. A deadline-sweep batch writes thousands of rows of a few append-only tables
(timeline, domain events, notifications), and that preparation becomes its dominant cost.
``insert_rows`` streams the rows with ``COPY`` instead (psycopg formats them in C); when the
caller needs the new ids they are drawn from the table's sequence in one query first.

It is for plain rows only: no signals, no ``save()``; values are given as stored
(``merchant_id`` for a foreign key, aware datetimes, Decimals, JSON-able values for JSON
fields, or ``JsonText`` for a value already serialised once for several rows). A column a row
leaves out gets its field's default, evaluated once for the batch. Outside PostgreSQL (the
embedded SQLite default) it falls back to ``bulk_create``.
"""

import json
from operator import itemgetter

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import JSONField

# One encoder for every value (``json.dumps(cls=...)`` builds one per call).
_encode = DjangoJSONEncoder().encode


class JsonText(str):
    """A JSON field's value already serialised (``json_text``): written as is, so a payload
    shared by a timeline row and an outbox row is encoded once."""

    __slots__ = ()


def json_text(value):
    return JsonText(_encode(value))


def _columns(model, given):
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    known = {f.attname for f in fields}
    unknown = set(given) - known
    if unknown:
        raise ValueError(f"{model.__name__} has no columns {sorted(unknown)}")
    return fields


def _json(value):
    if value is None or type(value) is JsonText:
        return value
    return _encode(value)


def _plain(value):
    """A ``JsonText`` given outside ``COPY`` (``bulk_create``) is decoded back."""
    return json.loads(value) if type(value) is JsonText else value


def insert_rows(model, rows, *, returning=False):
    """Insert ``rows`` (dicts of attname → value) into ``model``'s table with one ``COPY``;
    returns the new primary keys in row order when ``returning`` (else ``[]``)."""
    if not rows:
        return []
    first = rows[0].keys()
    same = all(row.keys() == first for row in rows)  # the usual case: one shape per batch
    given = set(first) if same else set().union(*(row.keys() for row in rows))
    fields = _columns(model, given)
    if connection.vendor != "postgresql":
        objs = model._default_manager.bulk_create(
            [model(**{k: _plain(v) for k, v in row.items()}) for row in rows]
        )
        return [obj.pk for obj in objs] if returning else []
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    ids = []
    with connection.cursor() as cursor:
        if returning:
            pk = model._meta.pk.column
            # ``nextval`` of the sequence named once: ``pg_get_serial_sequence`` inside the
            # call would look the sequence up again for every row (~10x the time).
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)",
                [_sequence(cursor, model._meta.db_table, pk), len(rows)],
            )
            ids = [row[0] for row in cursor.fetchall()]
        if same:
            # Columns every row gives (one C-level getter), JSON ones among them encoded, then
            # the defaults of the columns no row gives (the same values for every row).
            plain_fields = [f for f in fields if f.attname in given and not _is_json(f)]
            json_fields = [f for f in fields if f.attname in given and _is_json(f)]
            rest = [f for f in fields if f.attname not in given]
            plain = [f.attname for f in plain_fields]
            json_given = [f.attname for f in json_fields]
            defaults = [_default(f) for f in rest]
            columns = [f.column for f in plain_fields + json_fields + rest]
            get_plain = itemgetter(*plain) if plain else (lambda row: ())
            if len(plain) == 1:
                one = get_plain
                get_plain = lambda row: (one(row),)  # noqa: E731
            lines = (
                (*get_plain(row), *[_json(row[n]) for n in json_given], *defaults) for row in rows
            )
        else:
            columns = [f.column for f in fields]
            defaults = [f.get_default() for f in fields]  # for rows that leave a column out
            json_columns = {n for n, field in enumerate(fields) if _is_json(field)}
            lines = (
                [
                    _json(row.get(f.attname, d)) if i in json_columns else row.get(f.attname, d)
                    for i, (f, d) in enumerate(zip(fields, defaults, strict=True))
                ]
                for row in rows
            )
        if returning:
            columns = [model._meta.pk.column, *columns]
            lines = ((pk, *line) for pk, line in zip(ids, lines, strict=True))
        # COPY: psycopg formats the rows in C; no per-value SQL quoting in Python.
        names = ", ".join(qn(c) for c in columns)
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            write = copy.write_row
            for line in lines:
                write(line)
    return ids


_sequences = {}


def _sequence(cursor, table, column):
    """The sequence of ``table.column``, looked up once per process."""
    key = (connection.alias, table, column)
    if key not in _sequences:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
        _sequences[key] = cursor.fetchone()[0]
    return _sequences[key]


def _is_json(field):
    return isinstance(field, JSONField)


def _default(field):
    value = field.get_default()
    return _json(value) if _is_json(field) else value


def actor_columns(actor):
    """The actor columns of a ``TimelineEvent`` row, as ``insert_rows`` takes them."""
    fields = actor.timeline_fields()
    return {
        "actor_kind": fields["actor_kind"],
        "actor_user_id": getattr(fields["actor_user"], "pk", None),
        "actor_api_key_id": getattr(fields["actor_api_key"], "pk", None),
        "actor_label": fields["actor_label"],
    }


def instances(model, ids, rows):
    """Model instances of rows just written with ``insert_rows`` (ids from ``returning=True``),
    for code that takes instances (domain-event subscribers): built positionally, as the ORM
    builds the rows it reads, instead of one keyword ``__init__`` per row."""
    fields = model._meta.concrete_fields
    pk = model._meta.pk.attname
    defaults = [None if f.attname == pk else f.get_default() for f in fields]
    names = [f.attname for f in fields]
    pairs = list(zip(names, defaults, strict=True))
    db = connection.alias
    out = []
    for pk_value, row in zip(ids, rows, strict=True):
        values = [pk_value if n == pk else _plain(row.get(n, d)) for n, d in pairs]
        out.append(model.from_db(db, None, values))
    return out
