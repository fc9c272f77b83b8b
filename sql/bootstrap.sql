-- litewire's own tables, created in every database litewire opens.

-- The declared Postgres type of every column created through litewire
-- (SQLite keeps only an affinity). Rewritten by CREATE/ALTER/DROP TABLE.
CREATE TABLE IF NOT EXISTS _lw_columns (
  table_name  TEXT NOT NULL,
  column_name TEXT NOT NULL,
  type        TEXT NOT NULL,
  PRIMARY KEY (table_name, column_name)
) WITHOUT ROWID;
