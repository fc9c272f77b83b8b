"""LISTEN / NOTIFY through every Python driver and psql, on both servers."""

import asyncio
import re
import select
import subprocess

import asyncpg
import psycopg
import psycopg2
import psycopg2.extensions as ext
import pytest


def test_psycopg2_notifies(target):
    listener = psycopg2.connect(target.dsn)
    listener.set_isolation_level(ext.ISOLATION_LEVEL_AUTOCOMMIT)
    sender = psycopg2.connect(target.dsn)
    try:
        with listener.cursor() as cur:
            cur.execute('LISTEN compat_ch; LISTEN "Compat_Mixed"')
        with sender.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            sender_pid = cur.fetchone()[0]
            cur.execute("NOTIFY compat_ch, 'in tx 1'")
            cur.execute("NOTIFY compat_ch, 'in tx 1'")  # duplicate: delivered once
            cur.execute("SELECT pg_notify('Compat_Mixed', 'mixed')")
            # nothing before COMMIT
            assert select.select([listener], [], [], 0.3) == ([], [], [])
            listener.poll()
            assert listener.notifies == []
        sender.commit()
        got = []
        deadline = 50
        while len(got) < 2 and deadline:
            select.select([listener], [], [], 0.2)
            listener.poll()
            got.extend(listener.notifies)
            listener.notifies.clear()
            deadline -= 1
        assert [(n.channel, n.payload, n.pid) for n in got] == [
            ("compat_ch", "in tx 1", sender_pid),
            ("Compat_Mixed", "mixed", sender_pid),
        ]
        with sender.cursor() as cur:
            cur.execute("NOTIFY compat_ch, 'rolled back'")
        sender.rollback()
        with pytest.raises(psycopg2.Error) as info:
            with sender.cursor() as cur:
                cur.execute("SELECT pg_notify('compat_ch', repeat('x', 8000))")
        assert info.value.pgcode == "22023"
        sender.rollback()
        listener.poll()
        assert listener.notifies == []
    finally:
        listener.close()
        sender.close()


def test_psycopg2_listener_in_a_transaction_block_waits_for_its_end(target):
    listener = psycopg2.connect(target.dsn)
    listener.set_isolation_level(ext.ISOLATION_LEVEL_AUTOCOMMIT)
    sender = psycopg2.connect(target.dsn)
    sender.set_isolation_level(ext.ISOLATION_LEVEL_AUTOCOMMIT)
    try:
        with listener.cursor() as cur:
            cur.execute("LISTEN compat_block")
            cur.execute("BEGIN")
        with sender.cursor() as cur:
            cur.execute("NOTIFY compat_block, 'held'")
        # Idle inside the block, and after a statement in it: nothing.
        assert select.select([listener], [], [], 0.3) == ([], [], [])
        with listener.cursor() as cur:
            cur.execute("SELECT 1")
        listener.poll()
        assert listener.notifies == []
        with listener.cursor() as cur:
            cur.execute("COMMIT")
        listener.poll()
        assert [(n.channel, n.payload) for n in listener.notifies] == [("compat_block", "held")]
    finally:
        listener.close()
        sender.close()


def test_psycopg3_notifies_generator(target):
    with psycopg.connect(target.dsn, autocommit=True) as listener, \
            psycopg.connect(target.dsn, autocommit=True) as sender:
        listener.execute("LISTEN compat3")
        sender.execute("SELECT pg_notify('compat3', 'one')")
        sender.execute("NOTIFY compat3, 'two'")
        got = []
        for n in listener.notifies(timeout=5, stop_after=2):
            got.append((n.channel, n.payload))
        assert got == [("compat3", "one"), ("compat3", "two")]


def test_asyncpg_add_listener(target):
    async def body():
        listener = await asyncpg.connect(target.url)
        sender = await asyncpg.connect(target.url)
        try:
            queue = asyncio.Queue()
            await listener.add_listener("compat_async", lambda c, pid, ch, payload: queue.put_nowait((ch, payload, pid)))
            sender_pid = await sender.fetchval("SELECT pg_backend_pid()")
            async with sender.transaction():
                await sender.execute("SELECT pg_notify($1, $2)", "compat_async", "from tx")
            await sender.execute("NOTIFY compat_async, 'plain'")
            got = [await asyncio.wait_for(queue.get(), 5) for _ in range(2)]
            assert got == [("compat_async", "from tx", sender_pid), ("compat_async", "plain", sender_pid)]
        finally:
            await listener.close()
            await sender.close()

    asyncio.run(body())


def test_psql_prints_asynchronous_notifications(psql_bin, target):
    script = "LISTEN psql_ch;\nNOTIFY psql_ch, 'hi there';\nSELECT 1;\n"
    r = subprocess.run([psql_bin, "-X", "-h", target.host, "-p", str(target.port), "-U", target.user,
                        "-d", target.dbname], input=script, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert re.search(r'Asynchronous notification "psql_ch" with payload "hi there" received from '
                     r"server process with PID \d+\.", r.stdout), r.stdout
