"""The schema Alembic migrates: version 1, then version 2 adds a column and an
index (ALEMBIC_MODEL_VERSION picks one)."""

import os

import sqlalchemy as sa

VERSION = int(os.environ.get("ALEMBIC_MODEL_VERSION", "1"))

metadata = sa.MetaData()
sa.Table("al_user", metadata,
         sa.Column("id", sa.Integer, primary_key=True),
         sa.Column("email", sa.String(100), nullable=False, unique=True))
_order = sa.Table(
    "al_order", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("al_user.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("total", sa.Numeric(10, 2)),
    *([sa.Column("note", sa.Text)] if VERSION >= 2 else []),
)
if VERSION >= 2:
    sa.Index("ix_al_order_user_id", _order.c.user_id)


def include_name(name, type_, parent_names):
    """Only this app's tables: the database also holds other tests' tables."""
    return type_ != "table" or name.startswith("al_")
