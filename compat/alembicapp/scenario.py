"""The Alembic scenario of compat/test_alembic.py, one process per step
(the model version is read at import): autogenerate a revision from the
models, upgrade, and finally downgrade to base. Prints JSON."""

import json
import os
import sys

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import models  # noqa: E402

step, versions, url = sys.argv[1], sys.argv[2], sys.argv[3]
cfg = Config()
cfg.set_main_option("script_location", HERE)
cfg.set_main_option("version_locations", versions)
cfg.set_main_option("sqlalchemy.url", url)
out = {}
if step == "revision":
    rev = command.revision(cfg, message=f"v{models.VERSION}", autogenerate=True,
                           rev_id=f"r{models.VERSION}")
    with open(rev.path) as f:
        body = f.read()
    upgrade = body.split("def upgrade")[1].split("def downgrade")[0]
    out["ops"] = [line.strip() for line in upgrade.splitlines()
                  if line.strip().startswith(("op.", "sa."))]
    command.upgrade(cfg, "head")
elif step == "check":
    # Raises if the database and the models differ (reflection must agree).
    command.check(cfg)
elif step == "downgrade":
    command.downgrade(cfg, "base")
inspector = sa.inspect(sa.create_engine(url))
out["tables"] = sorted(t for t in inspector.get_table_names() if t.startswith("al_"))
if "al_order" in out["tables"]:
    out["columns"] = [c["name"] for c in inspector.get_columns("al_order")]
    out["indexes"] = [(i["name"], i["column_names"]) for i in inspector.get_indexes("al_order")]
print(json.dumps(out))
