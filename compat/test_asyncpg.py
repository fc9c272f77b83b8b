"""asyncpg (pure extended protocol, binary formats, parameter types from the server)."""

import asyncio
import datetime as dt
import json
import uuid
from decimal import Decimal

import asyncpg
import asyncpg.exceptions as X
import pytest

from common import (
    ALL_TYPES_INSERT_COLUMNS, ERROR_CASES, ERROR_IDS, ERRORS_DDL, FULL_ROW,
    FULL_ROW_META_TEXT, NULL_ROW, ORDERS_COLUMNS, ORDERS_COUNT, ORDERS_DDL, ORDERS_GROUP,
    ORDERS_INDEX, ORDERS_INSERT, ORDERS_JSON, ORDERS_OIDS, ORDERS_TYPNAMES, ORDERS_UPDATE,
    ORDERS_UPSERT, SCALE_ROW_TOTAL_IN, SCALE_ROW_TOTAL_OUT, assert_decimal,
    assert_recent_utc, assert_v4_uuid, sql,
)


def run(target, body):
    """Open a connection, run `await body(conn)`, close; plain asyncio.run."""

    async def main():
        conn = await asyncpg.connect(target.url, timeout=10)
        try:
            return await asyncio.wait_for(body(conn), timeout=60)
        finally:
            await conn.close(timeout=5)

    return asyncio.run(main())


def test_connect_select_1(target):
    async def body(conn):
        assert await conn.fetchval("SELECT 1") == 1
        assert await conn.fetch("SELECT 1 AS one") == [(1,)]
        version = conn.get_server_version()
        assert isinstance(version.major, int) and version.major >= 10
        assert conn.get_settings().server_encoding == "UTF8"
        assert conn.get_settings().client_encoding == "UTF8"
        assert not conn.is_in_transaction()

    run(target, body)


def test_orders_scenario(target, uniq):
    t = uniq("orders")

    async def body(conn):
        await conn.execute(sql(ORDERS_DDL, t=t))
        await conn.execute(sql(ORDERS_INDEX, t=t))

        row = await conn.fetchrow(sql(ORDERS_INSERT, t=t))
        assert list(row.keys()) == ["id", "placed_at", "paid"]
        assert row["id"] == 1
        assert_recent_utc(row["placed_at"])
        assert row["paid"] is False
        placed_at = row["placed_at"]

        rows = await conn.fetch(sql(ORDERS_UPDATE, t=t))
        assert len(rows) == 1
        row = rows[0]
        assert list(row.keys()) == ORDERS_COLUMNS
        assert tuple(row)[:3] == (1, "ann", "shipped")
        assert_decimal(row["total"], "12.50")
        assert row["paid"] is False
        assert row["placed_at"] == placed_at
        assert isinstance(row["ref"], uuid.UUID)
        assert_v4_uuid(row["ref"])
        assert row["meta"] == '{"tags": ["a"]}'  # asyncpg hands jsonb over as text
        assert tuple(row)[8:] == (None, None, None)

        assert_decimal(await conn.fetchval(sql(ORDERS_UPSERT, t=t)), "13.50")

        rows = await conn.fetch(sql(ORDERS_GROUP, t=t))
        assert [tuple(r) for r in rows] == [("shipped", 1, Decimal("13.50"))]
        assert list(rows[0].keys()) == ["status", "count", "sum"]

        assert [tuple(r) for r in await conn.fetch(sql(ORDERS_JSON, t=t))] == [("a", True)]

        await conn.execute("BEGIN")
        assert await conn.execute(f"DELETE FROM {t}") == "DELETE 1"
        await conn.execute("ROLLBACK")
        assert await conn.fetchval(sql(ORDERS_COUNT, t=t)) == 1

        # RowDescription: type OIDs of every column
        stmt = await conn.prepare(f"SELECT * FROM {t}")
        attrs = stmt.get_attributes()
        assert [a.name for a in attrs] == ORDERS_COLUMNS
        assert [a.type.oid for a in attrs] == ORDERS_OIDS
        assert [a.type.name for a in attrs] == ORDERS_TYPNAMES

    run(target, body)


def test_params_all_types(target, uniq):
    t = uniq("orders")
    cols = ", ".join(ALL_TYPES_INSERT_COLUMNS)
    marks = ", ".join(f"${i}" for i in range(1, len(ALL_TYPES_INSERT_COLUMNS) + 1))
    insert = f"INSERT INTO {t} ({cols}) VALUES ({marks}) RETURNING id"

    def adapt(row):
        return [json.dumps(v) if k == "meta" and v is not None else v for k, v in row.items()]

    async def body(conn):
        await conn.execute(sql(ORDERS_DDL, t=t))
        full_id = await conn.fetchval(insert, *adapt(FULL_ROW))
        null_id = await conn.fetchval(insert, *adapt(NULL_ROW))
        total = await conn.fetchval(
            f"INSERT INTO {t} (customer, total) VALUES ($1, $2) RETURNING total", "scale", SCALE_ROW_TOTAL_IN)
        assert_decimal(total, SCALE_ROW_TOTAL_OUT)

        row = dict(await conn.fetchrow(f"SELECT {cols} FROM {t} WHERE id = $1", full_id))
        assert row["meta"] == FULL_ROW_META_TEXT
        assert json.loads(row.pop("meta")) == FULL_ROW["meta"]
        assert row == {k: v for k, v in FULL_ROW.items() if k != "meta"}
        assert_decimal(row["total"], "99.95")
        assert type(row["raw"]) is bytes
        assert type(row["day"]) is dt.date
        assert row["placed_at"].utcoffset() == dt.timedelta(0)

        row = dict(await conn.fetchrow(f"SELECT {cols} FROM {t} WHERE id = $1", null_id))
        assert row == NULL_ROW

        for col in ["total", "paid", "placed_at", "ref", "raw", "day", "ratio", "customer"]:
            got = await conn.fetch(f"SELECT id FROM {t} WHERE {col} = $1", FULL_ROW[col])
            assert [r["id"] for r in got] == [full_id], col
        got = await conn.fetch(f"SELECT id FROM {t} WHERE meta = $1", json.dumps(FULL_ROW["meta"]))
        assert [r["id"] for r in got] == [full_id]
        assert await conn.fetchval(f"SELECT count(*) FROM {t} WHERE day IS NOT DISTINCT FROM $1", None) == 2

        # the server tells asyncpg each parameter's type
        stmt = await conn.prepare(insert)
        assert [p.name for p in stmt.get_parameters()] == ORDERS_TYPNAMES[1:]

        assert await conn.fetchval("SELECT $1::int + 1", 41) == 42
        assert await conn.fetchval("SELECT $1::text || 'b'", "a") == "ab"
        assert await conn.fetchval("SELECT $1::numeric * 2", Decimal("1.25")) == Decimal("2.50")
        assert await conn.fetchval("SELECT $1::bigint", 2**62) == 2**62

    run(target, body)


def test_fetch_fetchrow_fetchval(target, uniq):
    t = uniq("people")

    async def body(conn):
        assert await conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, name text, score real)") == "CREATE TABLE"
        assert await conn.execute(f"INSERT INTO {t} VALUES (1, 'ann', 1.5), (2, 'bob', NULL), (3, 'cy', -2)") == "INSERT 0 3"
        rows = await conn.fetch(f"SELECT id, name, score FROM {t} ORDER BY id")
        assert [tuple(r) for r in rows] == [(1, "ann", 1.5), (2, "bob", None), (3, "cy", -2.0)]
        assert rows[0]["name"] == "ann" and rows[0][1] == "ann"
        assert await conn.fetch(f"SELECT * FROM {t} WHERE id > $1", 10) == []
        row = await conn.fetchrow(f"SELECT name, id * 10 AS tens FROM {t} WHERE id = $1", 2)
        assert dict(row) == {"name": "bob", "tens": 20}
        assert await conn.fetchrow(f"SELECT * FROM {t} WHERE id = $1", 99) is None
        assert await conn.fetchval(f"SELECT count(*) FROM {t}") == 3
        assert await conn.fetchval(f"SELECT name FROM {t} WHERE id = $1", 3) == "cy"
        assert await conn.fetchval(f"SELECT id, name FROM {t} WHERE id = $1", 3, column=1) == "cy"
        assert await conn.execute(f"UPDATE {t} SET score = score + $1 WHERE score IS NOT NULL", 1.0) == "UPDATE 2"
        assert await conn.execute(f"DELETE FROM {t} WHERE id = $1", 3) == "DELETE 1"

    run(target, body)


def test_executemany(target, uniq):
    t = uniq("many")

    async def body(conn):
        await conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, name text, amount numeric(8,2))")
        await conn.executemany(f"INSERT INTO {t} (id, name, amount) VALUES ($1, $2, $3)",
                               [(i, f"n{i}", Decimal(i) / 4) for i in range(1, 51)])
        assert await conn.fetchval(f"SELECT count(*) FROM {t}") == 50
        assert await conn.fetchval(f"SELECT sum(amount) FROM {t}") == Decimal("318.75")
        await conn.executemany(f"UPDATE {t} SET name = $2 WHERE id = $1", [(1, "one"), (2, "two")])
        rows = await conn.fetch(f"SELECT id, name, amount FROM {t} WHERE id <= 3 ORDER BY id")
        assert [tuple(r) for r in rows] == [(1, "one", Decimal("0.25")), (2, "two", Decimal("0.50")),
                                            (3, "n3", Decimal("0.75"))]
        # executemany is atomic: a failing row undoes the whole batch
        with pytest.raises(X.UniqueViolationError):
            await conn.executemany(f"INSERT INTO {t} (id, name) VALUES ($1, $2)", [(100, "a"), (1, "dup")])
        assert await conn.fetchval(f"SELECT count(*) FROM {t}") == 50
        assert not conn.is_in_transaction()

    run(target, body)


def test_transactions(target, uniq):
    t = uniq("tx")

    async def body(conn):
        other = await asyncpg.connect(target.url, timeout=10)
        try:
            await conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY)")
            async with conn.transaction():
                assert conn.is_in_transaction()
                await conn.execute(f"INSERT INTO {t} VALUES (1)")
                assert await other.fetchval(f"SELECT count(*) FROM {t}") == 0
                assert await conn.fetchval(f"SELECT count(*) FROM {t}") == 1
            assert not conn.is_in_transaction()
            assert await other.fetchval(f"SELECT count(*) FROM {t}") == 1

            with pytest.raises(RuntimeError):
                async with conn.transaction():
                    await conn.execute(f"INSERT INTO {t} VALUES (2)")
                    raise RuntimeError("roll back")
            assert not conn.is_in_transaction()
            assert await other.fetchval(f"SELECT count(*) FROM {t}") == 1

            # nested transactions are savepoints
            async with conn.transaction():
                await conn.execute(f"INSERT INTO {t} VALUES (3)")
                with pytest.raises(X.UniqueViolationError):
                    async with conn.transaction():
                        await conn.execute(f"INSERT INTO {t} VALUES (4)")
                        await conn.execute(f"INSERT INTO {t} VALUES (1)")
                async with conn.transaction():
                    await conn.execute(f"INSERT INTO {t} VALUES (5)")
            assert [r[0] for r in await other.fetch(f"SELECT id FROM {t} ORDER BY id")] == [1, 3, 5]

            async with conn.transaction(isolation="serializable"):
                await conn.execute(f"INSERT INTO {t} VALUES (6)")
            async with conn.transaction(readonly=True):
                assert await conn.fetchval(f"SELECT max(id) FROM {t}") == 6

            # manual control, and the aborted state until rollback
            tr = conn.transaction()
            await tr.start()
            await conn.execute(f"INSERT INTO {t} VALUES (7)")
            with pytest.raises(X.DivisionByZeroError):
                await conn.fetchval("SELECT 1/0")
            assert conn.is_in_transaction()
            with pytest.raises(X.InFailedSQLTransactionError) as info:
                await conn.fetchval("SELECT $1::int", 1)
            assert info.value.sqlstate == "25P02"
            await tr.rollback()
            assert not conn.is_in_transaction()
            assert await conn.fetchval(f"SELECT count(*) FROM {t} WHERE id = 7") == 0
        finally:
            await other.close()

    run(target, body)


def test_prepared_statements(target, uniq):
    t = uniq("prep")

    async def body(conn):
        await conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, name text NOT NULL, born date)")
        await conn.execute(f"INSERT INTO {t} VALUES (1, 'ann', '1990-01-02'), (2, 'bob', NULL), (3, 'cy', '2001-12-31')")
        stmt = await conn.prepare(f"SELECT id, name, born FROM {t} WHERE id >= $1 ORDER BY id")
        assert [p.name for p in stmt.get_parameters()] == ["int4"]
        assert [(a.name, a.type.name) for a in stmt.get_attributes()] == [
            ("id", "int4"), ("name", "text"), ("born", "date")]
        assert [tuple(r) for r in await stmt.fetch(2)] == [(2, "bob", None), (3, "cy", dt.date(2001, 12, 31))]
        assert tuple(await stmt.fetchrow(1)) == (1, "ann", dt.date(1990, 1, 2))
        assert await stmt.fetchval(3) == 3
        assert await stmt.fetchval(3, column=2) == dt.date(2001, 12, 31)
        assert await stmt.fetch(4) == []

        ins = await conn.prepare(f"INSERT INTO {t} (id, name, born) VALUES ($1, $2, $3) RETURNING id")
        assert [p.name for p in ins.get_parameters()] == ["int4", "text", "date"]
        for i in range(10, 15):
            assert await ins.fetchval(i, f"p{i}", dt.date(2000, 1, i)) == i
        assert await conn.fetchval(f"SELECT count(*) FROM {t}") == 8

        async with conn.transaction():  # cursors need a transaction
            names = [r["name"] async for r in conn.cursor(f"SELECT name FROM {t} ORDER BY id", prefetch=2)]
        assert names == ["ann", "bob", "cy", "p10", "p11", "p12", "p13", "p14"]

    run(target, body)


@pytest.mark.parametrize("case", ERROR_CASES, ids=ERROR_IDS)
def test_error_sqlstate(target, uniq, case):
    _, template, code = case
    p, c = uniq("parent"), uniq("child")

    async def body(conn):
        for stmt in ERRORS_DDL:
            await conn.execute(sql(stmt, p=p, c=c))
        # simple protocol (no arguments) ...
        with pytest.raises(asyncpg.PostgresError) as info:
            await conn.execute(sql(template, p=p, c=c))
        assert info.value.sqlstate == code
        assert info.value.severity == "ERROR"
        # ... and extended protocol
        with pytest.raises(asyncpg.PostgresError) as info:
            await conn.fetch(sql(template, p=p, c=c))
        assert info.value.sqlstate == code
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT 1") == 1
        row = await conn.fetchrow(sql("SELECT (SELECT count(*) FROM {p}), (SELECT count(*) FROM {c})", p=p, c=c))
        assert tuple(row) == (1, 1)

    run(target, body)



def test_copy_records_to_table(target, uniq):
    """copy_records_to_table: COPY FROM STDIN in the binary format."""
    table = uniq("acopy")

    async def body(conn):
        await conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, name text, "
                           "price numeric(8,2), at timestamptz, ok boolean, doc jsonb)")
        at = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
        records = [(1, "a", Decimal("1.50"), at, True, '{"k": [1, 2]}'),
                   (2, None, None, None, None, None)]
        result = await conn.copy_records_to_table(table, records=records)
        assert result == "COPY 2"
        rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY id")
        assert [tuple(r) for r in rows] == records
        await conn.execute(f"DROP TABLE {table}")

    run(target, body)


def test_json_codec(target, uniq):
    """A custom json codec, set through asyncpg's type introspection."""
    table = uniq("acodec")

    async def body(conn):
        await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads,
                                  schema="pg_catalog")
        await conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, raw json)")
        await conn.execute(f"INSERT INTO {table} VALUES ($1, $2)", 1, {"n": [5, None]})
        assert await conn.fetchval(f"SELECT raw FROM {table} WHERE raw->>'n' IS NOT NULL") \
            == {"n": [5, None]}
        assert await conn.fetchval("SELECT json_build_object('a', 1)") == {"a": 1}
        await conn.execute(f"DROP TABLE {table}")

    run(target, body)
