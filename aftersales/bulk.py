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
import uuid
from datetime import datetime
from operator import itemgetter

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.db.models import JSONField
from django.db.models.fields import AutoFieldMixin

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


_insert_sql = {}

# Field classes whose preparation for an insert (``get_db_prep_save(pre_save(obj, True))``)
# gives a value of the right type back unchanged; exact classes only (a subclass such as an
# encrypted text field prepares its own way).
_AS_IS = {
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
}
_INTEGERS = (
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveBigIntegerField,
    models.PositiveSmallIntegerField,
)


def _full(field):
    def prepare(obj):
        return field.get_db_prep_save(field.pre_save(obj, True), connection)

    return prepare


def _preparer(field):
    """``obj`` → the value an insert writes for ``field``, as ``save()`` prepares it: the
    value itself when it already has the plain type the field would turn it into (a ``str``
    for a text column, an ``int`` for an integer or a foreign key to an integer id, an aware
    ``datetime``), through the field's own preparation otherwise."""
    full = _full(field)
    kind = type(field)
    attname = field.attname
    if kind in _AS_IS:
        plain = _AS_IS[kind]

        def prepare(obj):
            value = getattr(obj, attname)
            return value if type(value) is plain else full(obj)

        return prepare
    if kind in _INTEGERS:
        wrap = getattr(connection.ops, "integerfield_type_map", {}).get(field.get_internal_type())
        if wrap is None:
            return full

        def prepare(obj):
            value = getattr(obj, attname)
            return wrap(value) if type(value) is int else full(obj)

        return prepare
    if kind is models.ForeignKey and isinstance(field.target_field, AutoFieldMixin):

        def prepare(obj):
            value = getattr(obj, attname)
            return value if value is None or type(value) is int else full(obj)

        return prepare
    if kind is models.DateTimeField and not (field.auto_now or field.auto_now_add):

        def prepare(obj):
            value = getattr(obj, attname)
            if type(value) is datetime and value.tzinfo is not None:
                return value
            return full(obj)

        return prepare
    return full


def insert_one(model, **values):
    """``model.objects.create(**values)`` for the append-only rows every service writes
    (timeline events, domain events): the same instance and row, without the ORM's query
    compiler (its SQL is built once per model) and without ``save()``'s signals. Outside
    PostgreSQL it is ``create``."""
    return insert_instance(model(**values))


def insert_instance(obj):
    """``obj.save(force_insert=True)`` of a new instance, as ``insert_one`` writes it: its
    primary key is written when set, else returned by the database."""
    if connection.vendor != "postgresql":
        obj.save(force_insert=True)
        return obj
    meta = obj._meta
    with_pk = obj.pk is not None
    key = (meta.label_lower, with_pk)
    entry = _insert_sql.get(key)
    if entry is None:
        fields = [f for f in meta.concrete_fields if with_pk or not f.primary_key]
        qn = connection.ops.quote_name
        sql = "INSERT INTO {} ({}) VALUES ({}){}".format(
            qn(meta.db_table),
            ", ".join(qn(f.column) for f in fields),
            ", ".join(["%s"] * len(fields)),
            "" if with_pk else f" RETURNING {qn(meta.pk.column)}",
        )
        entry = _insert_sql[key] = (sql, [_preparer(f) for f in fields])
    return _run_insert(obj, entry, returning=not with_pk)


def _run_insert(obj, entry, *, head=(), returning):
    """Run an insert's ``(sql, preparers)`` for ``obj`` (``head``: parameters before the
    columns'); ``returning``: the statement gives the new id back."""
    sql, preparers = entry
    params = [*head, *(prepare(obj) for prepare in preparers)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


def insert_numbered(obj, *, field, prefix, width):
    """``insert_instance`` of a new row whose ``field`` is ``prefix`` followed by the row's own
    id, zero-padded to ``width`` digits (``TH20261202`` + ``00042``): one ``INSERT`` that draws
    the id from the table's sequence and writes both (PostgreSQL), where drawing the id first
    and then inserting took two round trips. Sets ``obj.pk`` and ``field`` and returns
    ``obj``; outside PostgreSQL the row is inserted and then numbered."""
    meta = obj._meta
    number = meta.get_field(field)
    if connection.vendor != "postgresql":
        setattr(obj, number.attname, f"tmp-{uuid.uuid4().hex}")
        obj.save(force_insert=True)
        setattr(obj, number.attname, f"{prefix}{obj.pk:0{width}d}")
        meta.model._base_manager.filter(pk=obj.pk).update(**{field: getattr(obj, field)})
        return obj
    key = (meta.label_lower, "numbered", field)
    entry = _insert_sql.get(key)
    if entry is None:
        pk = meta.pk
        fields = [f for f in meta.concrete_fields if f is not pk and f is not number]
        qn = connection.ops.quote_name
        with connection.cursor() as cursor:
            sequence = _sequence(cursor, meta.db_table, pk.column)
        sql = (
            "INSERT INTO {table} ({pk}, {number}, {columns}) "
            "SELECT n.id, %s || lpad(n.id::text, greatest(%s, length(n.id::text)), '0'), "
            "{values} FROM (SELECT nextval('{sequence}'::regclass) AS id) n "
            "RETURNING {pk}"
        ).format(
            table=qn(meta.db_table),
            pk=qn(pk.column),
            number=qn(number.column),
            columns=", ".join(qn(f.column) for f in fields),
            values=", ".join(["%s"] * len(fields)),
            sequence=sequence.replace("'", "''"),
        )
        entry = _insert_sql[key] = (sql, [_preparer(f) for f in fields])
    _run_insert(obj, entry, head=(prefix, width), returning=True)
    setattr(obj, number.attname, f"{prefix}{obj.pk:0{width}d}")
    return obj
