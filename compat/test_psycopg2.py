"""psycopg2 (libpq, simple query protocol, client-side parameter interpolation)."""

import datetime as dt
import uuid
from decimal import Decimal

import psycopg2
import psycopg2.extensions as ext
import psycopg2.extras
import pytest

from common import (
    ALL_TYPES_INSERT_COLUMNS, ERROR_CASES, ERROR_IDS, ERRORS_DDL, FULL_ROW, GROUP_OIDS,
    INSERT_RETURNING_OIDS, JSON_OIDS, NULL_ROW, ORDERS_COLUMNS, ORDERS_COUNT, ORDERS_DDL,
    ORDERS_GROUP, ORDERS_INDEX, ORDERS_INSERT, ORDERS_JSON, ORDERS_OIDS, ORDERS_UPDATE,
    ORDERS_UPSERT, SCALE_ROW_TOTAL_IN, SCALE_ROW_TOTAL_OUT, assert_decimal,
    assert_recent_utc, assert_v4_uuid, sql,
)


@pytest.fixture
def conn(target):
    c = psycopg2.connect(target.dsn)
    c.autocommit = True
    yield c
    c.close()


def oids(cur):
    return [d.type_code for d in cur.description]


def names(cur):
    return [d.name for d in cur.description]


def test_connect_select_1(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
        assert oids(cur) == [23]
        assert cur.rowcount == 1
    assert isinstance(conn.server_version, int)
    assert conn.server_version >= 100000
    assert conn.get_parameter_status("TimeZone") == "UTC"
    assert conn.get_parameter_status("DateStyle") == "ISO, MDY"
    assert conn.get_parameter_status("client_encoding") == "UTF8"
    assert conn.get_parameter_status("standard_conforming_strings") == "on"
    assert conn.get_parameter_status("integer_datetimes") == "on"
    assert conn.encoding == "UTF8"


def test_orders_scenario(conn, uniq):
    t = uniq("orders")
    with conn.cursor() as cur:
        cur.execute(sql(ORDERS_DDL, t=t))
        cur.execute(sql(ORDERS_INDEX, t=t))

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
        assert isinstance(row[6], str)  # psycopg2 returns uuid as str unless registered
        assert_v4_uuid(row[6])
        assert row[7] == {"tags": ["a"]}
        assert row[8:] == (None, None, None)

        cur.execute(sql(ORDERS_UPSERT, t=t))
        assert oids(cur) == [1700]
        (row,) = cur.fetchall()
        assert_decimal(row[0], "13.50")

        cur.execute(sql(ORDERS_GROUP, t=t))
        assert oids(cur) == GROUP_OIDS
        assert names(cur) == ["status", "count", "sum"]
        rows = cur.fetchall()
        assert rows == [("shipped", 1, Decimal("13.50"))]
        assert_decimal(rows[0][2], "13.50")

        cur.execute(sql(ORDERS_JSON, t=t))
        assert oids(cur) == JSON_OIDS
        assert cur.fetchall() == [("a", True)]

        cur.execute("BEGIN")
        cur.execute(f"DELETE FROM {t}")
        assert cur.rowcount == 1
        cur.execute(sql(ORDERS_COUNT, t=t))
        assert cur.fetchone() == (0,)
        cur.execute("ROLLBACK")
        cur.execute(sql(ORDERS_COUNT, t=t))
        assert oids(cur) == [20]
        assert cur.fetchone() == (1,)


def test_params_all_types(conn, uniq):
    t = uniq("orders")
    psycopg2.extras.register_uuid(conn_or_curs=conn)
    cols = ", ".join(ALL_TYPES_INSERT_COLUMNS)
    marks = ", ".join(["%s"] * len(ALL_TYPES_INSERT_COLUMNS))
    insert = f"INSERT INTO {t} ({cols}) VALUES ({marks}) RETURNING id"

    def adapt(row):
        return [psycopg2.extras.Json(v) if k == "meta" and v is not None else v
                for k, v in row.items()]

    with conn.cursor() as cur:
        cur.execute(sql(ORDERS_DDL, t=t))
        cur.execute(insert, adapt(FULL_ROW))
        full_id = cur.fetchone()[0]
        cur.execute(insert, adapt(NULL_ROW))
        null_id = cur.fetchone()[0]
        cur.execute(f"INSERT INTO {t} (customer, total) VALUES (%s, %s) RETURNING total",
                    ("scale", SCALE_ROW_TOTAL_IN))
        assert_decimal(cur.fetchone()[0], SCALE_ROW_TOTAL_OUT)

        cur.execute(f"SELECT {cols} FROM {t} WHERE id = %s", (full_id,))
        row = dict(zip(ALL_TYPES_INSERT_COLUMNS, cur.fetchone()))
        assert isinstance(row["raw"], memoryview)  # psycopg2's bytea type
        row["raw"] = bytes(row["raw"])
        assert row == FULL_ROW
        assert_decimal(row["total"], "99.95")
        assert isinstance(row["ref"], uuid.UUID)
        assert row["placed_at"].utcoffset() == dt.timedelta(0)

        cur.execute(f"SELECT {cols} FROM {t} WHERE id = %s", (null_id,))
        assert dict(zip(ALL_TYPES_INSERT_COLUMNS, cur.fetchone())) == NULL_ROW

        # every type as a parameter in a WHERE clause
        for col in ["total", "paid", "placed_at", "ref", "raw", "day", "ratio", "customer"]:
            cur.execute(f"SELECT id FROM {t} WHERE {col} = %s", (FULL_ROW[col],))
            assert cur.fetchall() == [(full_id,)], col
        cur.execute(f"SELECT id FROM {t} WHERE meta = %s", (psycopg2.extras.Json(FULL_ROW["meta"]),))
        assert cur.fetchall() == [(full_id,)]
        cur.execute(f"SELECT id FROM {t} WHERE total IS NULL AND customer = %s", (NULL_ROW["customer"],))
        assert cur.fetchall() == [(null_id,)]
        cur.execute(f"SELECT count(*) FROM {t} WHERE day IS NOT DISTINCT FROM %s", (None,))
        assert cur.fetchone() == (2,)


@pytest.mark.parametrize("case", ERROR_CASES, ids=ERROR_IDS)
def test_error_sqlstate(conn, uniq, case):
    _, template, code = case
    p, c = uniq("parent"), uniq("child")
    with conn.cursor() as cur:
        for stmt in ERRORS_DDL:
            cur.execute(sql(stmt, p=p, c=c))
        with pytest.raises(psycopg2.Error) as info:
            cur.execute(sql(template, p=p, c=c))
        assert info.value.pgcode == code
        assert isinstance(info.value, psycopg2.errors.lookup(code))
        # the connection stays usable and nothing changed
        assert conn.get_transaction_status() == ext.TRANSACTION_STATUS_IDLE
        cur.execute(sql("SELECT (SELECT count(*) FROM {p}), (SELECT count(*) FROM {c})", p=p, c=c))
        assert cur.fetchone() == (1, 1)


def test_error_in_transaction_aborts_until_rollback(conn, uniq):
    t = uniq("items")
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {t} (id int PRIMARY KEY)")
        cur.execute("BEGIN")
        cur.execute(f"INSERT INTO {t} VALUES (1)")
        with pytest.raises(psycopg2.errors.DivisionByZero):
            cur.execute("SELECT 1/0")
        assert conn.get_transaction_status() == ext.TRANSACTION_STATUS_INERROR
        for _ in range(2):
            with pytest.raises(psycopg2.errors.InFailedSqlTransaction) as info:
                cur.execute("SELECT 1")
            assert info.value.pgcode == "25P02"
        cur.execute("ROLLBACK")
        assert conn.get_transaction_status() == ext.TRANSACTION_STATUS_IDLE
        cur.execute(f"SELECT count(*) FROM {t}")
        assert cur.fetchone() == (0,)


def test_transaction_visibility(target, uniq):
    t = uniq("tx")
    a = psycopg2.connect(target.dsn)
    b = psycopg2.connect(target.dsn)
    b.autocommit = True
    try:
        with a.cursor() as ca:
            ca.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, v text)")
            a.commit()

            ca.execute(f"INSERT INTO {t} VALUES (1, 'one')")
            with b.cursor() as cb:
                cb.execute(f"SELECT count(*) FROM {t}")
                assert cb.fetchone() == (0,)  # uncommitted: invisible to others
            ca.execute(f"SELECT count(*) FROM {t}")
            assert ca.fetchone() == (1,)  # visible to itself
            a.commit()
            with b.cursor() as cb:
                cb.execute(f"SELECT v FROM {t}")
                assert cb.fetchall() == [("one",)]

            ca.execute(f"INSERT INTO {t} VALUES (2, 'two')")
            ca.execute(f"UPDATE {t} SET v = 'uno' WHERE id = 1")
            a.rollback()
            with b.cursor() as cb:
                cb.execute(f"SELECT id, v FROM {t} ORDER BY id")
                assert cb.fetchall() == [(1, "one")]
    finally:
        a.close()
        b.close()


def test_savepoints(conn, uniq):
    t = uniq("sp")
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {t} (id int PRIMARY KEY)")
        cur.execute("BEGIN")
        cur.execute(f"INSERT INTO {t} VALUES (1)")
        cur.execute("SAVEPOINT s1")
        cur.execute(f"INSERT INTO {t} VALUES (2)")
        cur.execute("ROLLBACK TO SAVEPOINT s1")
        cur.execute(f"INSERT INTO {t} VALUES (3)")
        cur.execute("SAVEPOINT s2")
        cur.execute(f"INSERT INTO {t} VALUES (4)")
        cur.execute("RELEASE SAVEPOINT s2")
        # an error inside a savepoint is recoverable without losing the transaction
        cur.execute("SAVEPOINT s3")
        with pytest.raises(psycopg2.errors.UniqueViolation):
            cur.execute(f"INSERT INTO {t} VALUES (1)")
        assert conn.get_transaction_status() == ext.TRANSACTION_STATUS_INERROR
        cur.execute("ROLLBACK TO SAVEPOINT s3")
        assert conn.get_transaction_status() == ext.TRANSACTION_STATUS_INTRANS
        cur.execute(f"INSERT INTO {t} VALUES (5)")
        cur.execute(f"SELECT id FROM {t} ORDER BY id")
        assert cur.fetchall() == [(1,), (3,), (4,), (5,)]
        cur.execute("COMMIT")
        cur.execute(f"SELECT id FROM {t} ORDER BY id")
        assert cur.fetchall() == [(1,), (3,), (4,), (5,)]


def test_transaction_status(target, uniq):
    t = uniq("st")
    c = psycopg2.connect(target.dsn)  # autocommit off: psycopg2 issues BEGIN itself
    try:
        assert c.status == ext.STATUS_READY
        assert c.get_transaction_status() == ext.TRANSACTION_STATUS_IDLE
        cur = c.cursor()
        cur.execute(f"CREATE TABLE {t} (id int)")
        assert c.status == ext.STATUS_BEGIN
        assert c.get_transaction_status() == ext.TRANSACTION_STATUS_INTRANS
        c.commit()
        assert c.status == ext.STATUS_READY
        assert c.get_transaction_status() == ext.TRANSACTION_STATUS_IDLE
        cur.execute(f"INSERT INTO {t} VALUES (1)")
        with pytest.raises(psycopg2.errors.UndefinedTable):
            cur.execute("SELECT * FROM no_such_table_compat")
        assert c.get_transaction_status() == ext.TRANSACTION_STATUS_INERROR
        c.rollback()
        assert c.status == ext.STATUS_READY
        assert c.get_transaction_status() == ext.TRANSACTION_STATUS_IDLE
        cur.execute(f"SELECT count(*) FROM {t}")
        assert cur.fetchone() == (0,)
        c.commit()
    finally:
        c.close()


def test_executemany_and_rowcount(conn, uniq):
    t = uniq("many")
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, name text)")
        cur.executemany(f"INSERT INTO {t} VALUES (%s, %s)", [(i, f"n{i}") for i in range(1, 6)])
        cur.execute(f"UPDATE {t} SET name = upper(name) WHERE id <= %s", (3,))
        assert cur.rowcount == 3
        cur.execute(f"DELETE FROM {t} WHERE id > %s", (4,))
        assert cur.rowcount == 1
        cur.execute(f"SELECT id, name FROM {t} ORDER BY id")
        assert cur.fetchall() == [(1, "N1"), (2, "N2"), (3, "N3"), (4, "n4")]


def test_cancel_running_query(conn):
    """conn.cancel() from another thread: the query fails with 57014, the
    connection stays usable."""
    import threading
    import time

    def cancel_soon():
        time.sleep(0.5)
        conn.cancel()

    threading.Thread(target=cancel_soon).start()
    with conn.cursor() as cur:
        with pytest.raises(psycopg2.errors.QueryCanceled) as info:
            cur.execute("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s "
                        "WHERE n < 1000000000) SELECT count(*) FROM s")
        assert info.value.pgcode == "57014"
    conn.rollback()
    with conn.cursor() as cur:
        cur.execute("SELECT 2")
        assert cur.fetchall() == [(2,)]


def test_if_exists_notices_name_each_object(conn, uniq):
    """DROP ... IF EXISTS sends one NOTICE per name it skips and still drops
    the rest; CREATE INDEX IF NOT EXISTS of a name in use sends one too; the
    wrong kind is an error whose hint names the right command."""
    t = uniq("ie")
    i = f"{t}_idx"
    with conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, a int)")
        cur.execute(f"CREATE INDEX {i} ON {t} (a)")
        del conn.notices[:]
        cur.execute(f"CREATE INDEX IF NOT EXISTS {i} ON {t} (a)")
        cur.execute(f"DROP INDEX IF EXISTS {t}_nope, {i}")
        cur.execute(f"DROP INDEX IF EXISTS {i}")
        cur.execute(f"DROP TABLE IF EXISTS {t}_a, {t}, {t}_b")
        assert conn.notices == [
            f'NOTICE:  relation "{i}" already exists, skipping\n',
            f'NOTICE:  index "{t}_nope" does not exist, skipping\n',
            f'NOTICE:  index "{i}" does not exist, skipping\n',
            f'NOTICE:  table "{t}_a" does not exist, skipping\n',
            f'NOTICE:  table "{t}_b" does not exist, skipping\n',
        ]
        cur.execute("SELECT count(*) FROM pg_class WHERE relname IN (%s, %s)", (t, i))
        assert cur.fetchone() == (0,)
        cur.execute(f"CREATE TABLE {t} (a int)")
        with pytest.raises(psycopg2.errors.WrongObjectType) as info:
            cur.execute(f"DROP INDEX {t}")
        assert (str(info.value.pgerror).splitlines()[:2]
                == [f'ERROR:  "{t}" is not an index', "HINT:  Use DROP TABLE to remove a table."])
        with pytest.raises(psycopg2.errors.UndefinedObject):
            cur.execute(f"DROP INDEX {i}")
        cur.execute(f"DROP TABLE {t}")
