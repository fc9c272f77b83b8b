"""Shared fixtures for the real-client compatibility suite.

Every test that takes the ``target`` fixture runs once per server named in
COMPAT_TARGETS ("postgres", "litewire"), so pytest reports ``test_x[postgres]``
and ``test_x[litewire]`` side by side. Tests assert the same exact expected
Python values on both: that is how "litewire agrees with PostgreSQL" is shown.

compat/run.sh starts the servers and sets:
  COMPAT_TARGETS  comma list of targets to run
  COMPAT_HOST     host of both servers (127.0.0.1)
  COMPAT_PG_PORT  port of the real PostgreSQL 15
  COMPAT_LW_PORT  port of litewire
  COMPAT_PSQL     psql binary
"""

import itertools
import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass

import pytest

ALL_TARGETS = ("postgres", "litewire")
PORT_VARS = {"postgres": "COMPAT_PG_PORT", "litewire": "COMPAT_LW_PORT"}


def selected_targets():
    names = [t.strip() for t in os.environ.get("COMPAT_TARGETS", ",".join(ALL_TARGETS)).split(",")]
    names = [t for t in names if t]
    unknown = [t for t in names if t not in ALL_TARGETS]
    if unknown:
        raise pytest.UsageError(f"unknown COMPAT_TARGETS entries: {unknown}")
    return names


@dataclass(frozen=True)
class Target:
    name: str
    host: str
    port: int
    user: str = "postgres"
    dbname: str = "postgres"

    @property
    def dsn(self):
        """libpq keyword/value DSN (psycopg2, psycopg 3, psql)."""
        return f"host={self.host} port={self.port} user={self.user} dbname={self.dbname} connect_timeout=10"

    @property
    def url(self):
        """URL DSN (asyncpg)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"


def pytest_generate_tests(metafunc):
    if "target" in metafunc.fixturenames:
        names = selected_targets()
        metafunc.parametrize("target", names, ids=names, indirect=True)


@pytest.fixture
def target(request):
    name = request.param
    var = PORT_VARS[name]
    port = os.environ.get(var)
    if not port:
        pytest.fail(f"target {name!r} selected but {var} is not set (run compat/run.sh)")
    return Target(name=name, host=os.environ.get("COMPAT_HOST", "127.0.0.1"), port=int(port))


@pytest.fixture
def lw():
    """litewire alone, for its own doors (WebSocket, REST) that PostgreSQL lacks."""
    if "litewire" not in selected_targets():
        pytest.skip("litewire is not a target")
    host = os.environ.get("COMPAT_HOST", "127.0.0.1")
    return Target(name="litewire", host=host, port=int(os.environ["COMPAT_LW_PORT"]))


_counter = itertools.count(1)
_run_tag = uuid.uuid4().hex[:6]


@pytest.fixture
def uniq():
    """uniq("orders") -> a fresh lower-case identifier such as orders_3f9a1c_7.

    Each test builds its tables under such names so runs never collide, even
    against a long-lived server."""

    def make(prefix):
        return f"{prefix}_{_run_tag}_{next(_counter)}"

    return make


@pytest.fixture(scope="session")
def psql_bin():
    path = os.environ.get("COMPAT_PSQL") or "psql"
    return path


# Checks that litewire does not pass yet, each with the issue that brings it.
# They still run against litewire, as strict xfails: when one starts passing,
# the suite fails until it is removed from this list.
LITEWIRE_GAPS = {}


def pytest_collection_modifyitems(config, items):
    for item in items:
        reason = LITEWIRE_GAPS.get(item.name)
        if reason:
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))


NODE_DIR = os.path.join(os.path.dirname(__file__), "node")


@pytest.fixture(scope="session")
def node_modules():
    if shutil.which("node") is None:
        pytest.fail("node is not installed")
    installed = all(os.path.isdir(os.path.join(NODE_DIR, "node_modules", m)) for m in ("pg", "playwright-core", "knex"))
    if not installed:
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=NODE_DIR, check=True,
                       timeout=300)
    return NODE_DIR
