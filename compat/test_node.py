"""node-postgres (npm `pg`): LISTEN/NOTIFY, a Pool, parameters, transactions; and
Knex on it: migrations up and down, the query builder, a transaction."""

import json
import os
import subprocess


def test_node_postgres(node_modules, target, uniq):
    env = dict(os.environ, PGHOST=target.host, PGPORT=str(target.port), TABLE=uniq("node"))
    r = subprocess.run(["node", "notify.js"], cwd=node_modules, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    # Duplicates within one transaction are delivered once; pid is the sender's.
    assert result["notifications"] == [["node_ch", "from tx", True], ["node_ch", "after", True]]
    assert result["rows"] == [{"id": 1, "name": "a", "amount": "1.50"}, {"id": 2, "name": "b", "amount": "2.00"}]
    assert result["errorCode"] == "23505"


def test_knex_migrations_and_queries(node_modules, target, uniq):
    env = dict(os.environ, PGHOST=target.host, PGPORT=str(target.port), PREFIX=uniq("kx"))
    r = subprocess.run(["node", "knex.js"], cwd=node_modules, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout) == {
        "applied": ["20240101000000_create", "20240102000000_alter"],
        "author": {"id": 1, "name": "ann"},
        "books": [
            {"title": "one", "price": "12.50", "pages": 0, "available": True,
             "meta": {"tags": ["a"]}, "name": "ann"},
            {"title": "two", "price": "0.10", "pages": 30, "available": False,
             "meta": None, "name": "ann"},
        ],
        "sum": "12.60",
        # The unique violation rolls the whole transaction back.
        "txError": "23505",
        "pagesAfterRollback": 30,
        "booksAfterCascade": 0,
        "tablesAfterRollback": [],
    }
