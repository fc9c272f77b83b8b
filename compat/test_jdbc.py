"""JDBC (Debian's libpostgresql-jdbc-java, run with the machine's Java)."""

import os
import shutil
import subprocess
import tempfile

import pytest

JAR = "/usr/share/java/postgresql.jar"
SOURCE = os.path.join(os.path.dirname(__file__), "jdbc", "NotifyCheck.java")


@pytest.fixture(scope="session")
def classes():
    if shutil.which("javac") is None or not os.path.exists(JAR):
        pytest.fail("javac or the PostgreSQL JDBC driver is missing (.ci/run installs them)")
    out = tempfile.mkdtemp(prefix="compat-jdbc-")
    subprocess.run(["javac", "-cp", JAR, "-d", out, SOURCE], check=True, timeout=120)
    return out


def test_jdbc_listen_prepared_batch_transactions(classes, target, uniq):
    r = subprocess.run(["java", "-cp", f"{classes}:{JAR}", "NotifyCheck", target.host, str(target.port),
                        uniq("jdbc")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    assert lines["notifications"] == "jdbc_ch:hello:true;"
    assert lines["rows"] == "1,n1,0.25;2,n2,0.50;3,n3,0.75;"
    assert lines["error"] == "23505"
