"""pgbench: `-i -s 1` (COPY, TRUNCATE, ALTER TABLE ADD PRIMARY KEY, VACUUM), then
the default TPC-B-like script, -S and -N, all without errors, on both servers."""

import os
import shutil
import subprocess

import pytest


@pytest.fixture(scope="module")
def pgbench(psql_bin):
    path = os.path.join(os.path.dirname(psql_bin), "pgbench")
    if not os.path.exists(path):
        path = shutil.which("pgbench")
    if not path:
        pytest.fail("pgbench not found")
    return path


def run(pgbench, target, *args):
    cmd = [pgbench, "-h", target.host, "-p", str(target.port), "-U", target.user, *args, target.dbname]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_pgbench_init_and_scripts(pgbench, target):
    init = run(pgbench, target, "-i", "-s", "1", "-q")
    assert init.returncode == 0, init.stderr
    for mode in ([], ["-S"], ["-N"]):
        r = run(pgbench, target, "-n", "-c", "2", "-t", "50", *mode)
        assert r.returncode == 0, r.stderr
        assert "number of failed transactions: 0" in r.stdout, r.stdout
        assert "number of transactions actually processed: 100/100" in r.stdout, r.stdout
