"""JDBC (Debian's libpostgresql-jdbc-java, run with the machine's Java):
notifications, prepared statements, batches, transactions, DatabaseMetaData."""

import os
import shutil
import subprocess
import tempfile

import pytest

JAR = "/usr/share/java/postgresql.jar"
SOURCES = [os.path.join(os.path.dirname(__file__), "jdbc", name)
           for name in ("NotifyCheck.java", "MetaDataCheck.java")]


@pytest.fixture(scope="session")
def classes():
    if shutil.which("javac") is None or not os.path.exists(JAR):
        pytest.fail("javac or the PostgreSQL JDBC driver is missing (.ci/run installs them)")
    out = tempfile.mkdtemp(prefix="compat-jdbc-")
    subprocess.run(["javac", "-cp", JAR, "-d", out, *SOURCES], check=True, timeout=120)
    return out


def test_jdbc_listen_prepared_batch_transactions(classes, target, uniq):
    r = subprocess.run(["java", "-cp", f"{classes}:{JAR}", "NotifyCheck", target.host, str(target.port),
                        uniq("jdbc")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    assert lines["notifications"] == "jdbc_ch:hello:true;"
    assert lines["rows"] == "1,n1,0.25;2,n2,0.50;3,n3,0.75;"
    assert lines["error"] == "23505"


def test_jdbc_database_metadata(classes, target, uniq):
    table = uniq("jmd")
    r = subprocess.run(["java", "-cp", f"{classes}:{JAR}", "MetaDataCheck", target.host,
                        str(target.port), table], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    assert lines["tables"] == f"{table}:TABLE;{table}_p:TABLE;"
    # name:TYPE_NAME:java.sql.Types:COLUMN_SIZE:DECIMAL_DIGITS:IS_NULLABLE:IS_AUTOINCREMENT
    assert lines["columns"] == (
        "id:bigserial:-5:19:0:NO:YES;name:varchar:12:20:0:NO:NO;amount:numeric:2:8:2:YES:NO;"
        "at:timestamptz:93:35:6:YES:NO;ok:bool:-7:1:0:YES:NO;p_id:int4:4:10:0:YES:NO;")
    assert lines["primary"] == f"id:{table}_pkey;"
    assert lines["imported"] == f"{table}_p.id<-p_id;"
