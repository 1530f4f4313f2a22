"""Hot-path statements written once as SQL, their names and values taken from the models.

The device API runs a handful of statements per request, thousands of times a minute. Through
the ORM each one is built again every time (the query's clone, its lookups, its compiler):
profiled on SQLite, building a heartbeat's four statements cost about seven times what
running them did (docs/performance.md). A :class:`Statement` is built once: its SQL comes from
a template whose ``{table}`` and ``{column}`` names are read off the model's ``_meta`` (a
renamed field breaks it at import, not at 3 a.m.), its values go through the field's own
``get_db_prep_save`` (dates, JSON, booleans as each backend stores them) and the columns it
reads come back through the field's converters (what the ORM would give).

Use it only where a profile says so, for a statement whose shape never changes; everything
else stays with the ORM. The statement runs on ``django.db.connection``, in whatever
transaction the caller holds, like any ORM query.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import DEFERRED

M = TypeVar("M", bound=models.Model)

_NAMES = {"table", "pk", "all", "for_update"}  # the names a template has besides its fields
_FORMAT_PLACEHOLDER = re.compile(r"(?<!%)%s")  # Django's "format" placeholder, not "%%s"


class Statement(Generic[M]):
    """One statement on one model: ``sql`` names ``{table}`` and the model's fields as
    ``{field_name}`` (quoted columns, ``{pk}`` for the primary key, ``{all}`` for every concrete
    column in order: a whole-row read; ``{for_update}``, at the end of a SELECT, locks its rows to
    the end of the transaction where the backend can: PostgreSQL, not SQLite, whose writer
    holds the whole database) and takes ``%s`` values.

    ``writes`` names, in order, the fields that the ``%s`` values are for (``None`` for a value
    that is no field's, passed as it is; ``name.field`` a field of one of ``others``); ``reads``
    the fields of the columns it returns.
    ``others`` names the other models a join or a subquery reads: ``{name}`` is its table,
    ``{name.field}`` one of its columns.
    """

    _places: list[int] | None

    def __init__(
        self,
        model: type[M],
        sql: str,
        *,
        writes: Sequence[str | None] = (),
        reads: Sequence[str] = (),
        others: Mapping[str, type[models.Model]] | None = None,
    ) -> None:
        others = dict(others or {})
        self._bare(model, sql, [_written(model, others, name) for name in writes])
        self._others = others
        names = {name for _, name, _, _ in string.Formatter().parse(sql) if name}
        for name in names:
            table, _, column = name.partition(".")
            if column and table not in self._others:
                raise TypeError(f"{name}: {table} is not one of the statement's other models")
            if column:
                _field(self._others[table], column)  # a column it has
        own = {name for name in names if "." not in name} - _NAMES - set(self._others)
        self._fields = {name: _field(model, name) for name in own}
        self._reads = tuple(_field(model, name) for name in reads)
        # A model instance takes the values of some of its fields in the model's order: the
        # columns read, put in that order where the statement reads them in another
        place = {field: i for i, field in enumerate(model._meta.concrete_fields)}
        order = sorted(range(len(self._reads)), key=lambda i: place.get(self._reads[i], -1))
        self._model_order = None if order == sorted(order) else order
        self._attnames = [self._reads[i].attname for i in order]
        # Where each column read goes among the model's fields, for _instance: Django's from_db
        # looks each of the model's fields up in the names read (forty for an incident, of which
        # a position reads six), per row. ``None``: the model loads itself its own way.
        loads = next(klass for klass in model.__mro__ if "from_db" in vars(klass))
        if loads is models.Model and all(field in place for field in self._reads):
            self._places = [place[field] for field in self._reads]
        self._width = len(model._meta.concrete_fields)

    def _bare(
        self, model: type[M], template: str, writes: Sequence[models.Field[Any, Any] | None]
    ) -> None:
        """The state every statement has: its model and template, the fields its values are
        for (``None``: passed as they are), no columns read yet, its SQL built per backend."""
        self.model = model
        self._template = template
        self._others = {}
        self._fields = {}
        self._writes = tuple(writes)
        self._plain = tuple(_plain_type(field) for field in self._writes)
        self._reads = ()
        self._places = None
        self._width = 0
        self._sql_by_vendor: dict[str, str] = {}
        self._raw_by_vendor: dict[str, str] = {}
        self._converters_by_vendor: dict[str, list[tuple[Any, list[Any]]]] = {}

    def _sql(self, conn: BaseDatabaseWrapper) -> str:
        sql = self._sql_by_vendor.get(conn.vendor)
        if sql is None:
            opts = self.model._meta
            quote = conn.ops.quote_name
            names = {name: quote(field.column) for name, field in self._fields.items()}
            names["table"] = quote(opts.db_table)
            names["pk"] = quote(_field(self.model, opts.pk.name).column)
            names["all"] = ", ".join(quote(field.column) for field in opts.concrete_fields)
            names["for_update"] = " FOR UPDATE" if conn.features.has_select_for_update else ""
            others = {name: _Table(other, conn) for name, other in self._others.items()}
            sql = self._sql_by_vendor[conn.vendor] = self._template.format(**names, **others)
        return sql

    def _converters(self, conn: BaseDatabaseWrapper) -> list[tuple[Any, list[Any]]]:
        """Per column read: its expression and the converters the ORM would apply to it."""
        chains = self._converters_by_vendor.get(conn.vendor)
        if chains is None:
            chains = []
            for field, table in self._columns_read():
                col = field.get_col(table)
                chains.append((col, conn.ops.get_db_converters(col) + col.get_db_converters(conn)))
            self._converters_by_vendor[conn.vendor] = chains
        return chains

    def _columns_read(self) -> list[tuple[models.Field[Any, Any], str]]:
        """The columns it returns, in order: each one's field and the table (or alias) it is
        read from."""
        return [(field, self.model._meta.db_table) for field in self._reads]

    def _params(self, values: Sequence[Any], conn: BaseDatabaseWrapper) -> list[Any]:
        if len(values) != len(self._writes):
            raise TypeError(f"{len(self._writes)} values expected, {len(values)} given")
        return [
            value
            if field is None or value is None or type(value) is plain
            else field.get_db_prep_save(value, conn)
            for field, plain, value in zip(self._writes, self._plain, values, strict=True)
        ]

    def _convert(self, row: Sequence[Any], conn: BaseDatabaseWrapper) -> list[Any]:
        out = []
        for (col, chain), value in zip(self._converters(conn), row, strict=True):
            for converter in chain:
                value = converter(value, col, conn)  # noqa: PLW2901 - converted in place
            out.append(value)
        return out

    def _run(self, values: Sequence[Any], fetch: Callable[[Any], Any]) -> tuple[Any, Any]:
        """Run it on the default database; what ``fetch`` read off the cursor, and the
        connection (Django's wrapper, looked up once: through ``django.db.connection`` each
        attribute read is a lookup of the thread's connection)."""
        conn = connections[DEFAULT_DB_ALIAS]
        params = self._params(values, conn)
        if conn.queries_logged or conn.execute_wrappers:
            # Counted or wrapped (the tests' query counts, debug): through Django's cursor.
            with conn.cursor() as cursor:
                cursor.execute(self._sql(conn), params)
                return fetch(cursor), conn
        return self._run_raw(conn, params, fetch), conn

    def _run_raw(
        self, conn: BaseDatabaseWrapper, params: list[Any], fetch: Callable[[Any], Any]
    ) -> Any:
        """On the driver's own cursor, with what Django's cursor would check and map: no query
        in a broken transaction, the connection opened if need be, the driver's errors raised
        as Django's (``errors_occurred`` set as Django sets it). Django's cursor wrapper cost
        more than the statement itself (docs/performance.md, step 9). On PostgreSQL the cursor
        binds its values on the server, so psycopg prepares a statement it has run a few times
        on that connection (``msa.core.env.PREPARE_THRESHOLD``: Django turns preparing off, and
        until that was set nothing was prepared): the server parses and plans it once."""
        conn.validate_no_broken_transaction()
        conn.close_if_health_check_failed()
        conn.ensure_connection()
        sql = self._raw_sql(conn)
        with conn.wrap_database_errors:
            raw = conn.connection
            cursor = psycopg.Cursor(raw) if conn.vendor == "postgresql" else raw.cursor()
            try:
                cursor.execute(sql, params)
                return fetch(cursor)
            finally:
                cursor.close()

    def _raw_sql(self, conn: BaseDatabaseWrapper) -> str:
        """The SQL in the driver's own placeholders (``?`` for sqlite3, as Django's cursor
        converts it)."""
        sql = self._raw_by_vendor.get(conn.vendor)
        if sql is None:
            sql = self._sql(conn)
            if conn.vendor == "sqlite":
                sql = _FORMAT_PLACEHOLDER.sub("?", sql).replace("%%", "%")
            self._raw_by_vendor[conn.vendor] = sql
        return sql

    def _instance(self, row: Sequence[Any], conn: BaseDatabaseWrapper) -> M:
        values = self._convert(row, conn)
        places = self._places
        if places is not None:
            # what Model.from_db does, each value put at its field's place at once
            full: list[Any] = [DEFERRED] * self._width
            for place, value in zip(places, values, strict=True):
                full[place] = value
            instance = self.model(*full)
            instance._state.adding = False
            instance._state.db = conn.alias
            return instance
        if self._model_order is not None:
            values = [values[i] for i in self._model_order]
        return self.model.from_db(conn.alias, self._attnames, values)

    def instance_of(self, row: Sequence[Any]) -> M:
        """The model instance of ``row``, the columns of ``reads`` as the driver gave them
        (read by another statement: the further columns of :meth:`instance_and`, say), as
        :meth:`instance` would have made it."""
        return self._instance(row, connections[DEFAULT_DB_ALIAS])

    def rowcount(self, *values: Any) -> int:
        """Run it; how many rows it changed."""
        count, _ = self._run(values, lambda cursor: cursor.rowcount)
        return int(count)

    def one(self, *values: Any) -> list[Any] | None:
        """Run it; the first row it returns, converted, or ``None``."""
        row, conn = self._run(values, lambda cursor: cursor.fetchone())
        return None if row is None else self._convert(row, conn)

    def exists(self, *values: Any) -> bool:
        """Run it; whether it returned a row."""
        found, _ = self._run(values, lambda cursor: cursor.fetchone() is not None)
        return bool(found)

    def instances(self, *values: Any) -> list[M]:
        """Run it (it must read ``{all}``, with ``reads=concrete(model)``); a model instance
        per row, as the ORM would have loaded them."""
        rows, conn = self._run(values, lambda cursor: cursor.fetchall())
        return [self._instance(row, conn) for row in rows]

    def instance(self, *values: Any) -> M | None:
        """Run it (it reads ``{all}``, with ``reads=concrete(model)``, or some of the model's
        columns: the others are deferred, as with ``QuerySet.only``); the model instance of its
        first row, as the ORM would have loaded it, or ``None``."""
        row, conn = self._run(values, lambda cursor: cursor.fetchone())
        return None if row is None else self._instance(row, conn)

    def instance_and(self, *values: Any) -> tuple[M, tuple[Any, ...]] | None:
        """Run it (it reads the columns of ``reads``, then further ones of its own: an
        ``EXISTS``, say); the model instance of its first row, as :meth:`instance` gives it,
        and those further columns as the driver gives them, or ``None``."""
        row, conn = self._run(values, lambda cursor: cursor.fetchone())
        if row is None:
            return None
        own = len(self._reads)
        return self._instance(row[:own], conn), tuple(row[own:])

    def instances_and(self, *values: Any) -> list[tuple[M, tuple[Any, ...]]]:
        """Run it (it reads the columns of ``reads``, then further ones of its own); per row,
        the model instance, as :meth:`instance` gives it, and those further columns as the
        driver gives them."""
        rows, conn = self._run(values, lambda cursor: cursor.fetchall())
        own = len(self._reads)
        return [(self._instance(row[:own], conn), tuple(row[own:])) for row in rows]

    def insert(self, instance: M, *extra: Any) -> bool:
        """Run an :func:`inserting` statement with ``instance``'s values (and ``extra``, the
        values of the statement's own placeholders after the fields': a statement that does
        more than insert); the instance is then saved as the ORM leaves it (its primary key
        set). False when ``ON CONFLICT … DO NOTHING`` stored nothing (the instance stays
        unsaved)."""
        # each field's value as save() takes it (pre_save: an auto_now date is set here)
        fields = (field.pre_save(instance, add=True) for field in self._writes if field)
        row = self.one(*fields, *extra)
        if row is None:
            return False
        _saved(instance, row[0])
        return True


def inserting(model: type[M], fields: Sequence[str], *, on_conflict: str = "") -> Statement[M]:
    """``INSERT`` of ``fields`` of ``model`` returning the new primary key, for
    :meth:`Statement.insert`; ``on_conflict`` (a template, e.g. ``"({a}, {b}) DO NOTHING"``)
    follows ``ON CONFLICT``."""
    columns = ", ".join("{" + name + "}" for name in fields)
    sql = f"INSERT INTO {{table}} ({columns}) VALUES ({placeholders(len(fields))})"  # noqa: S608 - field names checked by Statement, placeholders
    if on_conflict:
        sql += f" ON CONFLICT {on_conflict}"
    pk = model._meta.pk
    assert pk is not None
    return Statement(model, sql + " RETURNING {pk}", writes=fields, reads=[pk.name])


class JoinedRead(Statement[M]):
    """One ``SELECT`` of whole rows of several models joined, each given back as a model
    instance (``None`` for the missing side of an outer join): one round trip where reading
    them one by one took one each.

    ``tables`` maps an alias to its model, the first being the statement's own. In ``sql``,
    ``{alias}`` is the table with its alias, ``{alias.all}`` every column of it in order,
    ``{alias.field}`` one column, and ``{for_update}`` locks the first alias's rows (``FOR
    UPDATE OF``, where the backend locks rows). Values are passed as they are (keys).
    """

    def __init__(self, tables: Mapping[str, type[models.Model]], sql: str, *, values: int) -> None:
        self._tables = dict(tables)
        own = next(iter(self._tables.values()))
        self._bare(own, sql, [None] * values)  # type: ignore[arg-type] # the first alias's model
        for name in {name for _, name, _, _ in string.Formatter().parse(sql) if name}:
            alias, _, column = name.partition(".")
            if alias == "for_update":
                continue
            if alias not in self._tables:
                raise TypeError(f"{name}: {alias} is not one of the statement's tables")
            if column and column != "all":
                _field(self._tables[alias], column)  # a column it has

    def _sql(self, conn: BaseDatabaseWrapper) -> str:
        sql = self._sql_by_vendor.get(conn.vendor)
        if sql is None:
            quote = conn.ops.quote_name
            first = quote(next(iter(self._tables)))
            lock = f" FOR UPDATE OF {first}" if conn.features.has_select_for_update_of else ""
            names = {alias: _Alias(alias, model, conn) for alias, model in self._tables.items()}
            sql = self._sql_by_vendor[conn.vendor] = self._template.format(**names, for_update=lock)
        return sql

    def _columns_read(self) -> list[tuple[models.Field[Any, Any], str]]:
        return [
            (field, alias)
            for alias, model in self._tables.items()
            for field in model._meta.concrete_fields
        ]

    def read(self, *values: Any) -> dict[str, models.Model | None] | None:
        """Run it; per alias, the model instance of its first row (``None`` where an outer join
        found none), or ``None`` when there is no row."""
        row, conn = self._run(values, lambda cursor: cursor.fetchone())
        if row is None:
            return None
        converted = self._convert(row, conn)
        found: dict[str, models.Model | None] = {}
        start = 0
        for alias, model in self._tables.items():
            fields = model._meta.concrete_fields
            part = converted[start : start + len(fields)]
            start += len(fields)
            pk_at = fields.index(model._meta.pk)
            found[alias] = (
                None
                if part[pk_at] is None
                else model.from_db(conn.alias, [field.attname for field in fields], part)
            )
        return found


class _Alias:
    """A table of a :class:`JoinedRead` in its template: ``{alias}`` the table with its alias,
    ``{alias.all}`` its columns in order, ``{alias.field}`` one column."""

    def __init__(self, alias: str, model: type[models.Model], conn: BaseDatabaseWrapper) -> None:
        self._alias = alias
        self._model = model
        self._quote = conn.ops.quote_name

    def __format__(self, spec: str) -> str:
        return f"{self._quote(self._model._meta.db_table)} {self._quote(self._alias)}"

    def __getattr__(self, name: str) -> str:
        prefix = self._quote(self._alias)
        if name == "all":
            fields = self._model._meta.concrete_fields
            return ", ".join(f"{prefix}.{self._quote(field.column)}" for field in fields)
        return f"{prefix}.{self._quote(_field(self._model, name).column)}"


_ROW_INSERTS: dict[type[models.Model], Statement[Any]] = {}


def _stored_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    """The fields an ``INSERT`` of a new row of ``model`` gives values for: every concrete
    one but an automatic primary key (the database's)."""
    pk = model._meta.pk
    return [
        field
        for field in model._meta.concrete_fields
        if not (field is pk and isinstance(field, models.AutoField))  # BigAutoField too
    ]


def _refuse_stored(instance: models.Model) -> None:
    if instance.pk is not None and isinstance(instance._meta.pk, models.AutoField):
        raise ValueError(f"{type(instance).__name__} #{instance.pk} is stored already")


def _saved(instance: models.Model, pk: Any) -> None:
    """``instance`` as the ORM leaves a row it inserted."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = DEFAULT_DB_ALIAS


def insert_row(instance: M) -> M:
    """Store a new ``instance`` as ``save()`` would (every concrete field, the primary key
    given back by the database unless it was set), with an ``INSERT`` built once per model:
    for the rows a press writes, where building the ORM's insert cost more than running it."""
    model = type(instance)
    statement = _ROW_INSERTS.get(model)
    if statement is None:
        fields = [field.name for field in _stored_fields(model)]
        statement = _ROW_INSERTS[model] = inserting(model, fields)
    _refuse_stored(instance)
    statement.insert(instance)
    return instance


class _FamilyInsert(Statement[Any]):
    """A new row and new rows pointing at it, in one PostgreSQL statement: the first
    ``INSERT`` in a data-modifying ``WITH`` hands its key to the others' foreign keys."""

    def __init__(
        self, parent: type[models.Model], children: Sequence[tuple[type[models.Model], str]]
    ) -> None:
        # per table, in order: its model, the fields given values, the foreign key to the parent
        self._tables: list[tuple[type[models.Model], list[models.Field[Any, Any]], Any]] = [
            (parent, _stored_fields(parent), None)
        ]
        for child, name in children:
            link = _field(child, name)
            fields = [field for field in _stored_fields(child) if field is not link]
            self._tables.append((child, fields, link))
        self._bare(parent, "", [field for _, fields, _ in self._tables for field in fields])

    def _sql(self, conn: BaseDatabaseWrapper) -> str:
        sql = self._sql_by_vendor.get(conn.vendor)
        if sql is None:
            if conn.vendor != "postgresql":
                raise NotImplementedError("a data-modifying WITH is PostgreSQL's")
            quote = conn.ops.quote_name
            pk = quote(self.model._meta.pk.column)
            parts, picks = [], []
            for n, (model, fields, link) in enumerate(self._tables):
                columns = [quote(field.column) for field in fields]
                values = ["%s"] * len(fields)
                if link is not None:  # a child: its foreign key takes the parent's new key
                    columns.append(quote(link.column))
                    values.append(f"p.{pk}")
                into = f"{quote(model._meta.db_table)} ({', '.join(columns)})"
                own_pk = quote(model._meta.pk.column)
                if link is None:
                    insert = f"INSERT INTO {into} VALUES ({', '.join(values)})"  # noqa: S608 - quoted names, placeholders
                    parts.append(f"p AS ({insert} RETURNING {own_pk})")
                    picks.append(f"p.{own_pk}")
                else:
                    insert = f"INSERT INTO {into} SELECT {', '.join(values)} FROM p"  # noqa: S608 - quoted names, placeholders
                    parts.append(f"c{n} AS ({insert} RETURNING {own_pk})")
                    picks.append(f"(SELECT {own_pk} FROM c{n})")  # noqa: S608 - quoted names
            sql = f"WITH {', '.join(parts)} SELECT {', '.join(picks)} FROM p"  # noqa: S608 - quoted names, placeholders
            self._sql_by_vendor[conn.vendor] = sql
        return sql

    def run(self, rows: Sequence[models.Model]) -> None:
        """Store ``rows``, the parent first, then the children in the statement's order."""
        values = [
            field.pre_save(row, add=True)
            for row, (_, fields, _) in zip(rows, self._tables, strict=True)
            for field in fields
        ]
        keys, _ = self._run(values, lambda cursor: cursor.fetchone())
        parent = rows[0]
        _saved(parent, keys[0])
        for row, (_, _, link), key in zip(rows[1:], self._tables[1:], keys[1:], strict=True):
            setattr(row, link.attname, parent.pk)
            _saved(row, key)


_FAMILY_INSERTS: dict[
    tuple[type[models.Model], tuple[tuple[type[models.Model], str], ...]], _FamilyInsert
] = {}


def insert_rows(parent: models.Model, *children: tuple[models.Model, str]) -> None:
    """Store a new ``parent`` and new rows that point at it, each ``(row, its foreign key's
    field name)``, as :func:`insert_row` stores each (the rows' foreign keys set to the
    parent's new key). On PostgreSQL in **one** statement (a data-modifying ``WITH``): a new
    press's incident, first position and first transitions were four round trips while the
    zone's reference counter was locked. Elsewhere (SQLite: no round trips) one ``INSERT``
    each, in order."""
    conn = connections[DEFAULT_DB_ALIAS]
    _refuse_stored(parent)
    for child, _link in children:
        _refuse_stored(child)
    if conn.vendor != "postgresql":
        insert_row(parent)
        for child, link in children:
            setattr(child, _field(type(child), link).attname, parent.pk)
            insert_row(child)
        return
    key = (type(parent), tuple((type(child), link) for child, link in children))
    statement = _FAMILY_INSERTS.get(key)
    if statement is None:
        statement = _FAMILY_INSERTS[key] = _FamilyInsert(key[0], key[1])
    statement.run([parent, *(child for child, _link in children)])


class _Table:
    """Another model of a statement in its template: ``{name}`` the quoted table,
    ``{name.field}`` a quoted column."""

    def __init__(self, model: type[models.Model], conn: BaseDatabaseWrapper) -> None:
        self._model = model
        self._quote = conn.ops.quote_name

    def __format__(self, spec: str) -> str:
        return self._quote(self._model._meta.db_table)

    def __getattr__(self, name: str) -> str:
        return self._quote(_field(self._model, name).column)


# Fields whose value of exactly this Python type is stored as it is, on either backend: their
# get_db_prep_save gives it back unchanged (and None is NULL for every field), so the hot path
# skips it. Any other type (a StrEnum member, a date for a DateTimeField …) takes the field's
# own conversion.
_STORED_AS_IS: dict[type[models.Field[Any, Any]], type] = {
    models.CharField: str,
    models.TextField: str,
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.AutoField: int,
    models.BigAutoField: int,
    models.FloatField: float,
    models.BooleanField: bool,
}


def _plain_type(field: models.Field[Any, Any] | None) -> type | None:
    """The Python type a value of ``field`` is stored as it is in, if any (a foreign key's: its
    target's)."""
    while isinstance(field, models.ForeignKey):
        field = field.target_field
    return None if field is None else _STORED_AS_IS.get(type(field))


def _written(
    model: type[models.Model], others: Mapping[str, type[models.Model]], name: str | None
) -> models.Field[Any, Any] | None:
    """The field a statement's value is for: ``name`` of ``model``, ``other.name`` of one of
    its other models, ``None`` for a value passed as it is."""
    if not name:
        return None
    table, _, column = name.partition(".")
    if not column:
        return _field(model, name)
    if table not in others:
        raise TypeError(f"{name}: {table} is not one of the statement's other models")
    return _field(others[table], column)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """The concrete field ``name`` of ``model`` (a relation's reverse side is no column)."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.concrete:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return field


def placeholders(count: int) -> str:
    """``%s, %s, …``: the values of an ``IN (…)`` of a fixed length."""
    return ", ".join(["%s"] * count)


def concrete(model: type[models.Model]) -> tuple[str, ...]:
    """The names of ``model``'s concrete fields, in the order of ``{all}``."""
    return tuple(field.name for field in model._meta.concrete_fields)
