"""psql (libpq, simple query protocol): exact stdout and exit codes.

Every expected stdout below is what PostgreSQL 15's psql prints; the same
literal is asserted for litewire. test_same_output_as_postgres additionally
diffs the two servers' output directly when both targets are selected.
"""

import os
import re
import subprocess

import pytest

from conftest import selected_targets


def psql(psql_bin, target, *args, stdin=None, stderr=subprocess.PIPE):
    """Runs psql on `target`; stderr=subprocess.STDOUT interleaves errors with output."""
    env = {k: v for k, v in os.environ.items() if k not in ("PGTZ", "PGOPTIONS", "PGDATESTYLE")}
    env.update(PGCONNECT_TIMEOUT="10", PGAPPNAME="compat", LC_ALL="C.UTF-8")
    cmd = [psql_bin, "-X", "-h", target.host, "-p", str(target.port), "-U", target.user,
           "-d", target.dbname, *args]
    return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=stderr, text=True,
                          env=env, timeout=60)


def at(psql_bin, target, *args, stdin=None):
    """psql -X -A -t ..."""
    return psql(psql_bin, target, "-A", "-t", *args, stdin=stdin)


QUERIES = [
    ("SELECT 1::int, 'a'::text, true, 12.50::numeric(10,2)", "1|a|t|12.50\n"),
    ("SELECT NULL, ''::text, false, -0.5::numeric, 10::bigint * 3", "||f|-0.5|30\n"),
    ("SELECT '2024-02-29 13:14:15.5+00'::timestamptz, '2024-02-29'::date",
     "2024-02-29 13:14:15.5+00|2024-02-29\n"),
    ("SELECT '\\x00ff10'::bytea, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid",
     "\\x00ff10|a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\n"),
    ("SELECT '{\"b\":1, \"a\":[1,2,{\"c\":null}]}'::jsonb", '{"a": [1, 2, {"c": null}], "b": 1}\n'),
    ("SELECT 0.1::float8, 1.0::float8 / 3, 2.5::float8", "0.1|0.3333333333333333|2.5\n"),
    ("SELECT x, x * x FROM generate_series(1, 3) AS x", "1|1\n2|4\n3|9\n"),
    ("SELECT 'it''s', 'multi\nline', 'tab\there'", "it's|multi\nline|tab\there\n"),
    ("SELECT upper('abc'), 'ünï', length('ünï'), octet_length('ünï'), 'x' || 1", "ABC|ünï|3|5|x1\n"),
]
QUERY_IDS = ["basic", "nulls", "time", "bytea_uuid", "jsonb", "float", "rows", "quoting", "unicode"]


@pytest.mark.parametrize("query,expected", QUERIES, ids=QUERY_IDS)
def test_query_output(psql_bin, target, query, expected):
    r = at(psql_bin, target, "-c", query)
    assert r.stderr == ""
    assert r.returncode == 0
    assert r.stdout == expected


def test_table_output_aligned(psql_bin, target, uniq):
    t = uniq("psql")
    setup = at(psql_bin, target, "-q", "-c",
               f"CREATE TABLE {t} (id int PRIMARY KEY, name text, price numeric(6,2)); "
               f"INSERT INTO {t} VALUES (1, 'apple', 1.5), (2, 'kiwi', NULL), (10, 'fig', 12)")
    assert (setup.returncode, setup.stderr) == (0, "")
    r = psql(psql_bin, target, "-c", f"SELECT id, name, price FROM {t} ORDER BY id")
    assert r.returncode == 0
    assert r.stdout == (
        " id | name  | price \n"
        "----+-------+-------\n"
        "  1 | apple |  1.50\n"
        "  2 | kiwi  |      \n"
        " 10 | fig   | 12.00\n"
        "(3 rows)\n"
        "\n"
    )


def test_multi_statement_c(psql_bin, target, uniq):
    t = uniq("psql")
    r = at(psql_bin, target, "-c",
           f"CREATE TABLE {t} (a int); INSERT INTO {t} VALUES (1), (2); "
           f"UPDATE {t} SET a = a * 10; SELECT a FROM {t} ORDER BY a")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    # psql 15 shows every result of a multi-statement string
    assert r.stdout == "CREATE TABLE\nINSERT 0 2\nUPDATE 2\n10\n20\n"


def test_multiple_c_options(psql_bin, target, uniq):
    t = uniq("psql")
    r = at(psql_bin, target, "-c", f"CREATE TABLE {t} (a text)",
           "-c", f"INSERT INTO {t} VALUES ('x'), ('y')",
           "-c", f"DELETE FROM {t} WHERE a = 'x'",
           "-c", f"SELECT a FROM {t}")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "CREATE TABLE\nINSERT 0 2\nDELETE 1\ny\n"


def test_transaction_in_c(psql_bin, target, uniq):
    t = uniq("psql")
    r = at(psql_bin, target, "-c", f"CREATE TABLE {t} (a int)",
           "-c", f"BEGIN; INSERT INTO {t} VALUES (1); ROLLBACK",
           "-c", f"SELECT count(*) FROM {t}")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "CREATE TABLE\nBEGIN\nINSERT 0 1\nROLLBACK\n0\n"


SCRIPT = "SELECT 1;\nSELECT * FROM no_such_table_compat;\nSELECT 2;\n"


def test_script_continues_after_error(psql_bin, target):
    r = at(psql_bin, target, "-f", "-", stdin=SCRIPT)
    assert r.returncode == 0
    assert r.stdout == "1\n2\n"
    assert "ERROR:" in r.stderr and "no_such_table_compat" in r.stderr


def test_on_error_stop_script(psql_bin, target):
    r = at(psql_bin, target, "-f", "-", stdin="\\set ON_ERROR_STOP on\n" + SCRIPT)
    assert r.returncode == 3
    assert r.stdout == "1\n"
    assert "ERROR:" in r.stderr


def test_on_error_stop_variable(psql_bin, target):
    r = at(psql_bin, target, "-v", "ON_ERROR_STOP=1", "-c", "SELECT 1", "-c", "SELECT 1/0", "-c", "SELECT 2")
    assert r.returncode == 1
    assert r.stdout == "1\n"
    assert "division by zero" in r.stderr


def test_error_exit_code_c(psql_bin, target):
    r = at(psql_bin, target, "-c", "SELEC 1")
    assert r.returncode == 1
    assert r.stdout == ""
    assert "ERROR:" in r.stderr and "syntax error" in r.stderr


def test_variables_and_gset(psql_bin, target):
    """psql-side features that only need plain queries: variables, \\gset, \\echo."""
    script = ("\\set n 41\n"
              "SELECT :n + 1 AS answer \\gset\n"
              "\\echo got :answer\n"
              "SELECT :'n' || 'x';\n")
    r = at(psql_bin, target, "-f", "-", stdin=script)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == "got 42\n41x\n"


CROSS_CHECKS = [q for q, _ in QUERIES] + [
    "SELECT now() = now(), current_date = current_date",
    "SELECT 'abc'::varchar(2)",
    "SELECT 7 / 2, 7 % 3, 7.0 / 2, -7 / 2",
    "SELECT round(2.345::numeric, 2), 1e3::numeric, 100::numeric / 3",
    "SELECT coalesce(NULL, 'd'), nullif(1, 1), greatest(1, 5, 3)",
    "SELECT array[1,2,3], '{a,b}'::text[]",
]


CROSS_IDS = [f"q{i}" for i in range(len(CROSS_CHECKS))]


@pytest.mark.skipif(set(selected_targets()) != {"postgres", "litewire"},
                    reason="needs both targets")
@pytest.mark.parametrize("q", CROSS_CHECKS, ids=CROSS_IDS)
def test_same_output_as_postgres(psql_bin, q):
    from conftest import Target, PORT_VARS

    def tgt(name):
        return Target(name=name, host=os.environ.get("COMPAT_HOST", "127.0.0.1"),
                      port=int(os.environ[PORT_VARS[name]]))

    pg, lw = tgt("postgres"), tgt("litewire")
    a, b = at(psql_bin, pg, "-c", q), at(psql_bin, lw, "-c", q)
    assert (b.returncode, b.stdout) == (a.returncode, a.stdout), (q, b.stderr)


def test_copy_in_and_out(psql_bin, target, uniq, tmp_path):
    t = uniq("copy")
    data = tmp_path / "in.tsv"
    data.write_text("1\tann\t12.5\n2\t\\N\t3\n3\tb\\tc\t0\n")
    csv = tmp_path / "in.csv"
    csv.write_text('id,name,total\n7,"x,y",1\n8,,2\n')
    script = (
        f"CREATE TABLE {t} (id int PRIMARY KEY, name text, total numeric(10,2));\n"
        f"\\copy {t} FROM '{data}'\n"
        f"\\copy {t} FROM '{csv}' WITH (FORMAT csv, HEADER true)\n"
        f"\\copy {t} TO STDOUT\n"
        f"\\copy (SELECT id, name FROM {t} WHERE id > 5 ORDER BY id) TO STDOUT WITH (FORMAT csv)\n"
    )
    r = psql(psql_bin, target, "-q", stdin=script)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "1\tann\t12.50\n2\t\\N\t3.00\n3\tb\\tc\t0.00\n7\tx,y\t1.00\n8\t\\N\t2.00\n"
        '7,"x,y"\n8,\n'
    )


EXPECTED = os.path.join(os.path.dirname(__file__), "expected")


def test_describe_commands(psql_bin, target):
    """\\d, \\dt, \\di, \\ds, \\d index, \\dn, \\du and \\x read the catalog exactly as
    PostgreSQL 15 answers them: psql_describe.out is psql's output against PostgreSQL."""
    at(psql_bin, target, "-q", "-c", "DROP TABLE IF EXISTS psqlcat_c, psqlcat_p")
    with open(os.path.join(EXPECTED, "psql_describe.out")) as f:
        expected = f.read()
    r = psql(psql_bin, target, "-q", "-v", "ON_ERROR_STOP=1",
             "-f", os.path.join(EXPECTED, "psql_describe.sql"))
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == expected


@pytest.mark.parametrize("command", ["\\l", "\\df", "\\dv", "\\dT", "\\timing", "\\l+",
                                     "\\dt+", "\\di+", "\\dn+"])
def test_meta_commands_do_not_error(psql_bin, target, command):
    r = psql(psql_bin, target, "-v", "ON_ERROR_STOP=1", "-c", command, "-c", "SELECT 1")
    assert r.returncode == 0, r.stderr
    assert "ERROR" not in r.stderr


def test_describe_plus_shows_sizes(psql_bin, target, uniq):
    """\\d+ and \\dt+ name the table and give its size (the bytes differ between
    the two servers: pages are counted by each one's storage)."""
    table = uniq("dplus")
    at(psql_bin, target, "-q", "-c", f"CREATE TABLE {table} (id int PRIMARY KEY, note text)")
    r = psql(psql_bin, target, "-v", "ON_ERROR_STOP=1", "-c", f"\\d+ {table}", "-c", f"\\dt+ {table}")
    assert (r.returncode, r.stderr) == (0, "")
    assert f'Table "public.{table}"' in r.stdout
    assert re.search(rf"{table}\s*\|\s*table\s*\|\s*postgres\s*\|\s*permanent\s*\|\s*heap\s*\|\s*\d+ (bytes|kB)",
                     r.stdout), r.stdout


DIALECT_SCRIPTS = sorted(
    name[: -len(".sql")]
    for name in os.listdir(EXPECTED)
    if name.startswith("dialect_") and name.endswith(".sql")
)


@pytest.mark.parametrize("script", DIALECT_SCRIPTS)
def test_dialect_script(psql_bin, target, script):
    """Each compat/expected/dialect_*.sql, fed to psql on stdin with errors shown
    as their SQLSTATE only, prints exactly the .out beside it, which is what
    PostgreSQL 15 prints. To regenerate one against a real PostgreSQL:
        psql -X -q -v VERBOSITY=sqlstate -h HOST -p PORT -U postgres \\
             < dialect_x.sql > dialect_x.out 2>&1
    """
    with open(os.path.join(EXPECTED, f"{script}.sql")) as f:
        sql = f.read()
    with open(os.path.join(EXPECTED, f"{script}.out")) as f:
        expected = f.read()
    r = psql(psql_bin, target, "-q", "-v", "VERBOSITY=sqlstate", stdin=sql,
             stderr=subprocess.STDOUT)
    assert r.stdout == expected
