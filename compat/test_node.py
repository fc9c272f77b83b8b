"""node-postgres (npm `pg`): LISTEN/NOTIFY, a Pool, parameters, transactions."""

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
