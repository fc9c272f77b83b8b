"""The browser client (/litewire.js) in headless Chromium: a page keeps a live
query in its DOM, and rows written with node-postgres appear, change and
leave there. litewire only (PostgreSQL has no such door)."""

import json
import os
import shutil
import subprocess

import pytest

from conftest import selected_targets

CHROMIUM = "/usr/bin/chromium"


def test_live_query_in_a_browser_page(node_modules, uniq):
    if "litewire" not in selected_targets():
        pytest.skip("litewire is not a target")
    if not os.path.exists(CHROMIUM) or shutil.which("node") is None:
        pytest.fail("needs Debian's chromium and node (.ci/run installs them)")
    env = dict(
        os.environ,
        LW_HTTP=f"127.0.0.1:{os.environ['COMPAT_LW_HTTP_PORT']}",
        PGHOST=os.environ.get("COMPAT_HOST", "127.0.0.1"),
        PGPORT=os.environ["COMPAT_LW_PORT"],
        TABLE=uniq("browser"),
    )
    r = subprocess.run(["node", "browser.js"], cwd=node_modules, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"before": ["first"], "after": ["renamed"]}
