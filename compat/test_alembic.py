"""Alembic 1.14 (SQLAlchemy 2, psycopg2): autogenerate a first revision from
models (two tables, a foreign key with ON DELETE CASCADE, a unique
constraint), upgrade, autogenerate a second one after the models gained a
column and an index, upgrade, `alembic check` (the database as reflected
equals the models), then downgrade to base. Each step runs in a process of
its own (compat/alembicapp/scenario.py, the model version read at import);
the same results are asserted for PostgreSQL and litewire."""

import json
import os
import subprocess
import sys

SCENARIO = os.path.join(os.path.dirname(__file__), "alembicapp", "scenario.py")

V1_OPS = [
    "op.create_table('al_user',",
    "sa.Column('id', sa.Integer(), nullable=False),",
    "sa.Column('email', sa.String(length=100), nullable=False),",
    "sa.PrimaryKeyConstraint('id'),",
    "sa.UniqueConstraint('email')",
    "op.create_table('al_order',",
    "sa.Column('id', sa.Integer(), nullable=False),",
    "sa.Column('user_id', sa.Integer(), nullable=False),",
    "sa.Column('total', sa.Numeric(precision=10, scale=2), nullable=True),",
    "sa.ForeignKeyConstraint(['user_id'], ['al_user.id'], ondelete='CASCADE'),",
    "sa.PrimaryKeyConstraint('id')",
]
V2_OPS = [
    "op.add_column('al_order', sa.Column('note', sa.Text(), nullable=True))",
    "op.create_index('ix_al_order_user_id', 'al_order', ['user_id'], unique=False)",
]


def step(target, versions, name, model_version=2):
    url = f"postgresql+psycopg2://{target.user}@{target.host}:{target.port}/{target.dbname}"
    env = dict(os.environ, ALEMBIC_MODEL_VERSION=str(model_version))
    r = subprocess.run([sys.executable, SCENARIO, name, str(versions), url], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_autogenerate_upgrade_check_downgrade(target, tmp_path):
    first = step(target, tmp_path, "revision", 1)
    assert first == {"ops": V1_OPS, "tables": ["al_order", "al_user"],
                     "columns": ["id", "user_id", "total"], "indexes": []}
    second = step(target, tmp_path, "revision", 2)
    assert second == {"ops": V2_OPS, "tables": ["al_order", "al_user"],
                      "columns": ["id", "user_id", "total", "note"],
                      "indexes": [["ix_al_order_user_id", ["user_id"]]]}
    step(target, tmp_path, "check", 2)
    assert step(target, tmp_path, "downgrade") == {"tables": []}
