"""litewire's realtime doors from outside, with the `websockets` package next
to psycopg: a NOTIFY crosses between a browser-style WebSocket client and a
Postgres LISTENer both ways, a row written by psycopg reaches a table feed
(and a resumed feed gets exactly what it missed), and presence is readable in
SQL. These have no PostgreSQL counterpart, so they run against litewire only;
the Postgres side of each (LISTEN/NOTIFY) is checked against both servers in
test_notify.py."""

import json
import os
import select
import time

import psycopg
import psycopg2
import psycopg2.extensions as ext
import pytest
from websockets.sync.client import connect as ws_connect


@pytest.fixture
def ws_url():
    return f"ws://127.0.0.1:{os.environ['COMPAT_LW_HTTP_PORT']}/ws"


def request(ws, id, **message):
    """Sends a request and returns its ack/error, skipping other frames."""
    ws.send(json.dumps({"id": id, **message}))
    while True:
        frame = json.loads(ws.recv(timeout=10))
        if frame.get("id") == id and frame["type"] in ("ack", "error"):
            return frame


def next_of(ws, kind):
    while True:
        frame = json.loads(ws.recv(timeout=10))
        if frame["type"] == kind:
            return frame


def test_notify_crosses_between_websocket_and_psycopg2(lw, ws_url, uniq):
    channel = uniq("room")
    listener = psycopg2.connect(lw.dsn)
    listener.set_isolation_level(ext.ISOLATION_LEVEL_AUTOCOMMIT)
    try:
        with listener.cursor() as cur:
            cur.execute(f"LISTEN {channel}")
        with ws_connect(ws_url) as ws:
            assert request(ws, 1, type="listen", channel=channel)["type"] == "ack"
            assert request(ws, 2, type="notify", channel=channel, payload="from the browser")["type"] == "ack"
            got = []
            for _ in range(50):
                select.select([listener], [], [], 0.2)
                listener.poll()
                got.extend((n.channel, n.payload) for n in listener.notifies)
                listener.notifies.clear()
                if got:
                    break
            assert got == [(channel, "from the browser")]
            # psycopg 3 publishes in a transaction: the socket sees it at commit only.
            with psycopg.connect(lw.dsn) as sender:
                sender.execute("SELECT pg_notify(%s, 'rolled back')", (channel,))
                sender.rollback()
                sender.execute("SELECT pg_notify(%s, 'committed')", (channel,))
                sender.commit()
            payloads = [next_of(ws, "notification")["payload"] for _ in range(2)]
            assert payloads == ["from the browser", "committed"]
    finally:
        listener.close()


def test_table_feed_and_resume(lw, ws_url, uniq):
    table = uniq("orders")
    with psycopg.connect(lw.dsn, autocommit=True) as pg:
        pg.execute(f"CREATE TABLE {table} (id bigserial PRIMARY KEY, status text, total numeric(10,2))")
        with ws_connect(ws_url) as ws:
            ack = request(ws, 1, type="subscribe", table=table, filter={"status": "pending"})
            assert ack["type"] == "ack", ack
            pg.execute(f"INSERT INTO {table} (status, total) VALUES ('pending', 9.90), ('done', 1)")
            diff = next_of(ws, "diff")
            assert (diff["op"], diff["row"]["status"]) == ("insert", "pending")
            assert diff["row"]["total"] == 9.9
            last = diff["lsn"]
        # Disconnected: these happen while nobody listens.
        for i in range(20):
            pg.execute(f"INSERT INTO {table} (status, total) VALUES ('pending', %s)", (i,))
        pg.execute(f"UPDATE {table} SET status = 'done' WHERE total = 0")
        with ws_connect(ws_url) as ws:
            request(ws, 1, type="subscribe", table=table, filter={"status": "pending"}, since=last)
            diffs = [next_of(ws, "diff") for _ in range(21)]
    assert [d["op"] for d in diffs] == ["insert"] * 20 + ["delete"]
    assert [d["row"]["total"] for d in diffs[:20]] == list(range(20))
    lsns = [d["lsn"] for d in diffs]
    assert lsns == sorted(lsns) and lsns[0] > last


def test_presence_is_readable_in_sql(lw, ws_url, uniq):
    channel = uniq("lobby")
    with ws_connect(ws_url) as ann, ws_connect(ws_url) as bob:
        request(ann, 1, type="presence", channel=channel, key="ann", state={"status": "online"})
        request(bob, 1, type="presence", channel=channel, key="bob", state={"status": "away"})
        assert next_of(ann, "presence_diff")["joins"] == {"bob": {"status": "away"}}
        with psycopg.connect(lw.dsn) as pg:
            rows = pg.execute(
                "SELECT key, state FROM litewire.presence WHERE channel = %s ORDER BY key", (channel,)
            ).fetchall()
        assert rows == [("ann", {"status": "online"}), ("bob", {"status": "away"})]
    # Both sockets closed: both left.
    deadline = time.time() + 5
    while time.time() < deadline:
        with psycopg.connect(lw.dsn) as pg:
            left = pg.execute("SELECT count(*) FROM litewire.presence WHERE channel = %s", (channel,)).fetchone()[0]
        if left == 0:
            break
        time.sleep(0.1)
    assert left == 0
