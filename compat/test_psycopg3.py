"""psycopg 3 (libpq, server-side binding: extended protocol, text and binary formats)."""

import datetime as dt
import uuid
from decimal import Decimal

import psycopg
import psycopg.errors as E
import pytest
from psycopg import pq
from psycopg.types.json import Jsonb

from common import (
    ALL_TYPES_INSERT_COLUMNS, ERROR_CASES, ERROR_IDS, ERRORS_DDL, FULL_ROW, GROUP_OIDS,
    INSERT_RETURNING_OIDS, JSON_OIDS, NULL_ROW, ORDERS_COLUMNS, ORDERS_COUNT, ORDERS_DDL,
    ORDERS_GROUP, ORDERS_INDEX, ORDERS_INSERT, ORDERS_JSON, ORDERS_OIDS, ORDERS_UPDATE,
    ORDERS_UPSERT, SCALE_ROW_TOTAL_IN, SCALE_ROW_TOTAL_OUT, assert_decimal,
    assert_recent_utc, assert_v4_uuid, sql,
)

TS = pq.TransactionStatus


@pytest.fixture
def conn(target):
    c = psycopg.connect(target.dsn, autocommit=True)
    yield c
    c.close()


def oids(cur):
    return [d.type_code for d in cur.description]


def names(cur):
    return [d.name for d in cur.description]


def test_connect_select_1(conn):
    assert conn.execute("SELECT 1").fetchall() == [(1,)]
    cur = conn.execute("SELECT 1", binary=True)
    assert cur.fetchall() == [(1,)]
    assert oids(cur) == [23]
    info = conn.info
    assert isinstance(info.server_version, int) and info.server_version >= 100000
    assert info.parameter_status("TimeZone") == "UTC"
    assert info.parameter_status("DateStyle") == "ISO, MDY"
    assert info.parameter_status("client_encoding") == "UTF8"
    assert info.timezone.utcoffset(dt.datetime(2024, 7, 1)) == dt.timedelta(0)
    assert info.encoding == "utf-8"
    assert info.transaction_status == TS.IDLE


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_orders_scenario(conn, uniq, binary):
    t = uniq("orders")
    conn.execute(sql(ORDERS_DDL, t=t))
    conn.execute(sql(ORDERS_INDEX, t=t))
    with conn.cursor(binary=binary) as cur:
        cur.execute(sql(ORDERS_INSERT, t=t))
        assert names(cur) == ["id", "placed_at", "paid"]
        assert oids(cur) == INSERT_RETURNING_OIDS
        (row,) = cur.fetchall()
        assert row[0] == 1 and isinstance(row[0], int)
        assert_recent_utc(row[1])
        assert row[2] is False
        placed_at = row[1]

        cur.execute(sql(ORDERS_UPDATE, t=t))
        assert cur.rowcount == 1
        assert names(cur) == ORDERS_COLUMNS
        assert oids(cur) == ORDERS_OIDS
        (row,) = cur.fetchall()
        assert row[:3] == (1, "ann", "shipped")
        assert_decimal(row[3], "12.50")
        assert row[4] is False
        assert row[5] == placed_at
        assert isinstance(row[6], uuid.UUID)
        assert_v4_uuid(row[6])
        assert row[7] == {"tags": ["a"]}
        assert row[8:] == (None, None, None)

        cur.execute(sql(ORDERS_UPSERT, t=t))
        assert oids(cur) == [1700]
        assert_decimal(cur.fetchone()[0], "13.50")

        cur.execute(sql(ORDERS_GROUP, t=t))
        assert oids(cur) == GROUP_OIDS
        rows = cur.fetchall()
        assert rows == [("shipped", 1, Decimal("13.50"))]
        assert_decimal(rows[0][2], "13.50")

        cur.execute(sql(ORDERS_JSON, t=t))
        assert oids(cur) == JSON_OIDS
        assert cur.fetchall() == [("a", True)]

        cur.execute("BEGIN")
        cur.execute(f"DELETE FROM {t}")
        assert cur.rowcount == 1
        cur.execute("ROLLBACK")
        cur.execute(sql(ORDERS_COUNT, t=t))
        assert cur.fetchone() == (1,)


def _roundtrip(conn, uniq, mark, binary):
    t = uniq("orders")
    conn.execute(sql(ORDERS_DDL, t=t))
    cols = ", ".join(ALL_TYPES_INSERT_COLUMNS)
    marks = ", ".join([mark] * len(ALL_TYPES_INSERT_COLUMNS))
    insert = f"INSERT INTO {t} ({cols}) VALUES ({marks}) RETURNING id"

    def adapt(row):
        return [Jsonb(v) if k == "meta" and v is not None else v for k, v in row.items()]

    with conn.cursor(binary=binary) as cur:
        full_id = cur.execute(insert, adapt(FULL_ROW)).fetchone()[0]
        null_id = cur.execute(insert, adapt(NULL_ROW)).fetchone()[0]
        cur.execute(f"INSERT INTO {t} (customer, total) VALUES ({mark}, {mark}) RETURNING total",
                    ("scale", SCALE_ROW_TOTAL_IN))
        assert_decimal(cur.fetchone()[0], SCALE_ROW_TOTAL_OUT)

        cur.execute(f"SELECT {cols} FROM {t} WHERE id = {mark}", (full_id,))
        row = dict(zip(ALL_TYPES_INSERT_COLUMNS, cur.fetchone()))
        assert row == FULL_ROW
        assert_decimal(row["total"], "99.95")
        assert isinstance(row["ref"], uuid.UUID)
        assert type(row["raw"]) is bytes
        assert type(row["day"]) is dt.date
        assert row["placed_at"].utcoffset() == dt.timedelta(0)

        cur.execute(f"SELECT {cols} FROM {t} WHERE id = {mark}", (null_id,))
        assert dict(zip(ALL_TYPES_INSERT_COLUMNS, cur.fetchone())) == NULL_ROW

        for col in ["total", "paid", "placed_at", "ref", "raw", "day", "ratio", "customer"]:
            cur.execute(f"SELECT id FROM {t} WHERE {col} = {mark}", (FULL_ROW[col],))
            assert cur.fetchall() == [(full_id,)], col
        cur.execute(f"SELECT id FROM {t} WHERE meta = {mark}", (Jsonb(FULL_ROW["meta"]),))
        assert cur.fetchall() == [(full_id,)]
        cur.execute(f"SELECT count(*) FROM {t} WHERE day IS NOT DISTINCT FROM {mark}::date", (None,))
        assert cur.fetchone() == (2,)

        # typed and untyped parameters in expressions
        cur.execute(f"SELECT {mark}::int + 1, {mark}::text || 'b', {mark}::numeric * 2",
                    (41, "a", SCALE_ROW_TOTAL_IN))
        assert cur.fetchone() == (42, "ab", SCALE_ROW_TOTAL_IN * 2)


def test_params_binary(conn, uniq):
    """%b: parameters sent in binary; results requested in binary."""
    _roundtrip(conn, uniq, "%b", binary=True)


def test_params_text(conn, uniq):
    """%t: parameters sent as text; results in text."""
    _roundtrip(conn, uniq, "%t", binary=False)


def test_prepared_statement_reuse(conn, uniq):
    t = uniq("prep")
    conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, name text)")
    with conn.cursor() as cur:
        for i in range(1, 5):  # prepare=True: a named server-side statement, reused
            cur.execute(f"INSERT INTO {t} VALUES (%s, %s)", (i, f"n{i}"), prepare=True)
        for i in range(1, 5):
            cur.execute(f"SELECT name FROM {t} WHERE id = %s", (i,), prepare=True)
            assert cur.fetchone() == (f"n{i}",)
        cur.executemany(f"UPDATE {t} SET name = %s WHERE id = %s", [("x", 1), ("y", 2)])
        cur.execute(f"SELECT id, name FROM {t} ORDER BY id", binary=True)
        assert cur.fetchall() == [(1, "x"), (2, "y"), (3, "n3"), (4, "n4")]


def test_pipeline_mode(conn, uniq):
    t = uniq("pipe")
    conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, name text)")
    with conn.pipeline():
        conn.execute(f"INSERT INTO {t} VALUES (%s, %s)", (1, "a"))
        conn.execute(f"INSERT INTO {t} VALUES (%s, %s)", (2, "b"))
        cur = conn.execute(f"SELECT count(*) FROM {t}")
    assert cur.fetchone() == (2,)


@pytest.mark.parametrize("case", ERROR_CASES, ids=ERROR_IDS)
def test_error_sqlstate(conn, uniq, case):
    _, template, code = case
    p, c = uniq("parent"), uniq("child")
    for stmt in ERRORS_DDL:
        conn.execute(sql(stmt, p=p, c=c))
    with pytest.raises(psycopg.Error) as info:
        conn.execute(sql(template, p=p, c=c))
    assert info.value.sqlstate == code
    assert isinstance(info.value, E.lookup(code))
    assert info.value.diag.severity == "ERROR"
    assert info.value.diag.message_primary
    assert conn.info.transaction_status == TS.IDLE
    cur = conn.execute(sql("SELECT (SELECT count(*) FROM {p}), (SELECT count(*) FROM {c})", p=p, c=c))
    assert cur.fetchone() == (1, 1)


def test_error_with_params(conn, uniq):
    """Errors raised while executing an extended-protocol statement."""
    t = uniq("perr")
    conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, qty int CHECK (qty >= 0))")
    conn.execute(f"INSERT INTO {t} VALUES (%s, %s)", (1, 1))
    with pytest.raises(E.UniqueViolation):
        conn.execute(f"INSERT INTO {t} VALUES (%s, %s)", (1, 2))
    with pytest.raises(E.CheckViolation):
        conn.execute(f"INSERT INTO {t} VALUES (%s, %s)", (2, -1))
    with pytest.raises(E.DivisionByZero):
        conn.execute("SELECT %s::int / %s::int", (1, 0))
    with pytest.raises(E.InvalidTextRepresentation):
        conn.execute("SELECT %s::int", ("abc",))
    assert conn.execute(f"SELECT id, qty FROM {t}").fetchall() == [(1, 1)]


def test_error_in_transaction_aborts_until_rollback(conn, uniq):
    t = uniq("items")
    conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY)")
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {t} VALUES (%s)", (1,))
    assert conn.info.transaction_status == TS.INTRANS
    with pytest.raises(E.DivisionByZero):
        conn.execute("SELECT 1/0")
    assert conn.info.transaction_status == TS.INERROR
    with pytest.raises(E.InFailedSqlTransaction) as info:
        conn.execute("SELECT 1")
    assert info.value.sqlstate == "25P02"
    with pytest.raises(E.InFailedSqlTransaction):
        conn.execute("SELECT %s::int", (1,))
    conn.execute("ROLLBACK")
    assert conn.info.transaction_status == TS.IDLE
    assert conn.execute(f"SELECT count(*) FROM {t}").fetchone() == (0,)


def test_transaction_blocks(target, uniq):
    t = uniq("tx")
    with psycopg.connect(target.dsn) as a, psycopg.connect(target.dsn, autocommit=True) as b:
        a.execute(f"CREATE TABLE {t} (id int PRIMARY KEY)")
        assert a.info.transaction_status == TS.INTRANS
        a.commit()
        assert a.info.transaction_status == TS.IDLE

        with a.transaction():
            a.execute(f"INSERT INTO {t} VALUES (1)")
            assert b.execute(f"SELECT count(*) FROM {t}").fetchone() == (0,)
        assert b.execute(f"SELECT count(*) FROM {t}").fetchone() == (1,)

        with pytest.raises(E.UniqueViolation):
            with a.transaction():
                a.execute(f"INSERT INTO {t} VALUES (2)")
                a.execute(f"INSERT INTO {t} VALUES (1)")
        assert a.info.transaction_status == TS.IDLE
        assert b.execute(f"SELECT id FROM {t} ORDER BY id").fetchall() == [(1,)]

        # nested transaction() blocks are savepoints
        with a.transaction():
            a.execute(f"INSERT INTO {t} VALUES (3)")
            with pytest.raises(E.UniqueViolation):
                with a.transaction():
                    a.execute(f"INSERT INTO {t} VALUES (4)")
                    a.execute(f"INSERT INTO {t} VALUES (3)")
            assert a.info.transaction_status == TS.INTRANS
            with a.transaction():
                a.execute(f"INSERT INTO {t} VALUES (5)")
        assert b.execute(f"SELECT id FROM {t} ORDER BY id").fetchall() == [(1,), (3,), (5,)]


def test_savepoints_explicit(conn, uniq):
    t = uniq("sp")
    conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY)")
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO {t} VALUES (1)")
    conn.execute("SAVEPOINT s1")
    conn.execute(f"INSERT INTO {t} VALUES (2)")
    conn.execute("ROLLBACK TO SAVEPOINT s1")
    conn.execute("SAVEPOINT s2")
    conn.execute(f"INSERT INTO {t} VALUES (3)")
    conn.execute("RELEASE SAVEPOINT s2")
    assert conn.info.transaction_status == TS.INTRANS
    conn.execute("COMMIT")
    assert conn.execute(f"SELECT id FROM {t} ORDER BY id").fetchall() == [(1,), (3,)]
