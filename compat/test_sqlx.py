"""Rust sqlx (postgres feature, compat/sqlx): `sqlx::migrate!` with three files
(run twice), typed binds and `query_as` into structs, fetch_one / fetch_all /
fetch_optional, committed and rolled-back transactions, SQLSTATEs of
constraint violations, and session-level advisory locks (which sqlx's
migrator takes)."""

import os
import shutil
import subprocess

import psycopg
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANIFEST = os.path.join(ROOT, "compat", "sqlx", "Cargo.toml")
# Kept under the repository's target/ so a later run (and CI) rebuilds incrementally.
TARGET_DIR = os.path.join(ROOT, "target", "compat-sqlx")


@pytest.fixture(scope="session")
def program():
    if shutil.which("cargo") is None:
        pytest.fail("cargo is missing")
    env = dict(os.environ, CARGO_TARGET_DIR=TARGET_DIR)
    env.setdefault("CARGO_BUILD_JOBS", "1")
    r = subprocess.run(["cargo", "build", "--release", "--locked", "--manifest-path", MANIFEST],
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-4000:]
    return os.path.join(TARGET_DIR, "release", "sqlx-check")


def test_sqlx_migrate_query_as_transactions(program, target):
    # The migrations name their tables; start each run from none of them.
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS sqlx_books, sqlx_authors, _sqlx_migrations CASCADE")
    r = subprocess.run([program, target.url], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    print(r.stdout)
    assert lines["migrations"] == "20240101000000:true:true;20240102000000:true:true;20240103000000:true:true;"
    assert lines["inserted"] == "3"
    assert lines["authors"] == "1:ann:ann@example.com:true;2:bob:-:false;"
    assert lines["books"] == (
        'Rust:39.5:2024-03-01T12:30:45+00:00:{"ed":2,"tags":["lang","sys"]}:560;'
        "SQL:20.25:-:-:-;"
        'Wire:12:2024-03-02T12:30:45+00:00:[1,"two",null]:99;')
    assert lines["one"] == "ann missing=true"
    assert lines["optional"] == "none"
    assert lines["shelves"] == "ann:2:59.75;bob:1:12;"
    assert lines["count"] == "3 most=560"
    assert lines["tx inside"] == "3 names=ann,bob,carl total=71.75"
    assert lines["unique"] == "23505"
    assert lines["foreign"] == "23503"
    assert lines["aborted"] == "23505,25P02"
    assert lines["advisory"] == "false,true,true,false,true waited=true"
