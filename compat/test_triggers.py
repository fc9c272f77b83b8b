"""Trigger functions (PL/pgSQL subset) on both servers: the same SQL, the same
stored rows, notification payloads, SQLSTATEs and notices."""

import json
import select

import psycopg2
import pytest


def connect(target):
    conn = psycopg2.connect(target.dsn)
    conn.autocommit = True
    return conn


def run(conn, *statements):
    """Each statement in its own Query (a Query string is translated before it
    runs, so a CREATE TRIGGER must not share one with its function)."""
    with conn.cursor() as cur:
        for s in statements:
            cur.execute(s)


def notifications(conn, count):
    got = []
    for _ in range(50):
        if len(got) >= count:
            break
        select.select([conn], [], [], 0.2)
        conn.poll()
        got.extend(n.payload for n in conn.notifies)
        conn.notifies.clear()
    return [json.loads(p) for p in got]


def sqlstate(conn, statement):
    with pytest.raises(psycopg2.Error) as info:
        run(conn, statement)
    return info.value.pgcode


@pytest.fixture
def names(uniq):
    return {k: uniq(k) for k in ("docs", "stamp", "notify", "t_stamp", "t_notify")}


def create_docs(conn, n):
    run(
        conn,
        f"""CREATE TABLE {n['docs']} (id serial PRIMARY KEY, title text NOT NULL, slug text,
            status text, version int NOT NULL DEFAULT 0, done boolean DEFAULT false,
            updated_at timestamptz, changed_at timestamptz)""",
        f"""CREATE FUNCTION {n['stamp']}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF NEW.title = 'skip' THEN
                RETURN NULL;
              END IF;
              NEW.updated_at := now();
              NEW.slug := lower(NEW.title) || '-' || NEW.id;
              IF TG_OP = 'UPDATE' THEN
                NEW.version := OLD.version + 1;
                IF NEW.status IS DISTINCT FROM OLD.status THEN
                  NEW.changed_at := NEW.updated_at;
                END IF;
              END IF;
              NEW.title := NEW.slug || ':' || NEW.version;
              RETURN NEW;
            END $$""",
        f"""CREATE FUNCTION {n['notify']}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF TG_OP = 'DELETE' THEN
                PERFORM pg_notify('{n['docs']}', json_build_object('op', TG_OP, 'id', OLD.id)::text);
                RETURN OLD;
              END IF;
              PERFORM pg_notify('{n['docs']}', row_to_json(NEW)::text);
              RETURN NEW;
            END $$""",
        f"""CREATE TRIGGER {n['t_stamp']} BEFORE INSERT OR UPDATE ON {n['docs']}
            FOR EACH ROW EXECUTE FUNCTION {n['stamp']}()""",
        f"""CREATE TRIGGER {n['t_notify']} AFTER INSERT OR UPDATE OR DELETE ON {n['docs']}
            FOR EACH ROW EXECUTE FUNCTION {n['notify']}()""",
    )


def comparable(row):
    """A docs row (stored or notified) without its timestamps' text, which
    differs between any two runs: whether they are set and equal instead."""
    row = dict(row)
    updated, changed = row.pop("updated_at"), row.pop("changed_at")
    return {**row, "updated": updated is not None, "changed_now": changed == updated}


def stored(conn, table):
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT id, title, slug, status, version, done, updated_at, changed_at FROM {table} ORDER BY id"
        )
        columns = [d[0] for d in cur.description]
        return [comparable(zip(columns, r)) for r in cur.fetchall()]


def test_before_trigger_assignments_and_row_to_json(target, names):
    n = names
    conn = connect(target)
    listener = connect(target)
    try:
        create_docs(conn, n)
        run(listener, f"LISTEN {n['docs']}")
        with conn.cursor() as cur:
            cur.execute(f"INSERT INTO {n['docs']} (title, status) VALUES ('Hello', 'draft'), ('skip', 'x')")
            assert cur.rowcount == 1
            cur.execute(f"UPDATE {n['docs']} SET status = 'live'")
            assert cur.rowcount == 1
        conn.autocommit = False
        run(conn, f"UPDATE {n['docs']} SET title = 'Again', done = true")
        conn.commit()
        conn.autocommit = True
        after = stored(conn, n["docs"])
        assert after == [
            {"id": 1, "title": "again-1:2", "slug": "again-1", "status": "live", "version": 2,
             "done": True, "updated": True, "changed_now": False},
        ]
        notified = [comparable(p) for p in notifications(listener, 3)]
        assert [p["title"] for p in notified] == ["hello-1:0", "hello-1:0-1:1", "again-1:2"]
        assert notified[1]["changed_now"] is True
        assert notified[2] == after[0]
        run(conn, f"DELETE FROM {n['docs']}")
        assert notifications(listener, 1) == [{"op": "DELETE", "id": 1}]
    finally:
        listener.close()
        conn.close()


def test_trigger_ddl_sqlstates_and_notices(target, names):
    n = names
    conn = connect(target)
    try:
        create_docs(conn, n)
        assert sqlstate(conn, f"""CREATE FUNCTION {n['stamp']}() RETURNS trigger LANGUAGE plpgsql
                                  AS $$ BEGIN RETURN NEW; END $$""") == "42723"
        assert sqlstate(conn, f"""CREATE TRIGGER {n['t_stamp']} AFTER INSERT ON {n['docs']}
                                  FOR EACH ROW EXECUTE FUNCTION {n['notify']}()""") == "42710"
        assert sqlstate(conn, f"DROP FUNCTION {n['stamp']}()") == "2BP01"
        assert sqlstate(conn, f"DROP FUNCTION {n['stamp']}_nope()") == "42883"
        assert sqlstate(conn, f"DROP TRIGGER nope ON {n['docs']}") == "42704"
        assert sqlstate(conn, f"DROP TRIGGER nope ON {n['docs']}_nope") == "42P01"
        del conn.notices[:]
        run(
            conn,
            f"DROP FUNCTION IF EXISTS {n['stamp']}_nope()",
            f"DROP TRIGGER IF EXISTS nope ON {n['docs']}",
            f"DROP TRIGGER IF EXISTS nope ON {n['docs']}_nope",
        )
        assert conn.notices == [
            f"NOTICE:  function {n['stamp']}_nope() does not exist, skipping\n",
            f'NOTICE:  trigger "nope" for relation "{n["docs"]}" does not exist, skipping\n',
            f'NOTICE:  relation "{n["docs"]}_nope" does not exist, skipping\n',
        ]
        run(conn, f"DROP TRIGGER {n['t_stamp']} ON {n['docs']}", f"DROP FUNCTION {n['stamp']}()")
        run(conn, f"DROP FUNCTION {n['notify']}() CASCADE")
        with conn.cursor() as cur:
            cur.execute(f"INSERT INTO {n['docs']} (title) VALUES ('plain') RETURNING title, slug")
            assert cur.fetchone() == ("plain", None)
    finally:
        conn.close()


def test_sqlalchemy_orm_writes_notify_row_to_json(target, uniq):
    """The classic pattern driven by an ORM: SQLAlchemy creates the table and
    writes rows; a trigger notifies row_to_json(NEW) (or OLD's id) to a
    psycopg2 listener on insert, update and delete."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, select
    from sqlalchemy.orm import Session, registry

    table, function, trigger = uniq("sa_items"), uniq("sa_notify"), uniq("sa_t")
    engine = create_engine(f"postgresql+psycopg2://{target.user}@{target.host}:"
                           f"{target.port}/{target.dbname}")
    metadata = MetaData()
    items = Table(table, metadata, Column("id", Integer, primary_key=True),
                  Column("name", String(40), nullable=False), Column("qty", Integer))
    Item = type("Item", (), {})
    registry().map_imperatively(Item, items)
    metadata.create_all(engine)
    conn, listener = connect(target), connect(target)
    try:
        run(conn,
            f"""CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF TG_OP = 'DELETE' THEN
                    PERFORM pg_notify('{table}', json_build_object('op', TG_OP, 'id', OLD.id)::text);
                    RETURN OLD;
                  END IF;
                  PERFORM pg_notify('{table}', json_build_object('op', TG_OP, 'row', row_to_json(NEW))::text);
                  RETURN NEW;
                END $$""",
            f"""CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {function}()""")
        run(listener, f"LISTEN {table}")
        with Session(engine) as s:
            a, b = Item(), Item()
            a.name, a.qty, b.name, b.qty = "apple", 3, "pear", None
            s.add_all([a, b])
            s.commit()
            a.qty = 5
            s.commit()
            s.delete(s.scalars(select(Item).where(items.c.name == "pear")).one())
            s.commit()
        assert notifications(listener, 4) == [
            {"op": "INSERT", "row": {"id": 1, "name": "apple", "qty": 3}},
            {"op": "INSERT", "row": {"id": 2, "name": "pear", "qty": None}},
            {"op": "UPDATE", "row": {"id": 1, "name": "apple", "qty": 5}},
            {"op": "DELETE", "id": 2},
        ]
        # a rolled-back ORM write notifies nobody: the next notification is
        # the committed write after it
        with Session(engine) as s:
            a = s.get(Item, 1)
            a.qty = 99
            s.flush()
            s.rollback()
            a.qty = 7
            s.commit()
        assert notifications(listener, 1) == [
            {"op": "UPDATE", "row": {"id": 1, "name": "apple", "qty": 7}},
        ]
    finally:
        listener.close()
        conn.close()
        metadata.drop_all(engine)
        run(connect(target), f"DROP FUNCTION IF EXISTS {function}()")
        engine.dispose()
