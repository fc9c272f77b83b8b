-- litewire's own tables, created in every database litewire opens.

-- The declared Postgres type of every column created through litewire
-- (SQLite keeps only an affinity). Rewritten by CREATE/ALTER/DROP TABLE.
CREATE TABLE IF NOT EXISTS _lw_columns (
  table_name  TEXT NOT NULL,
  column_name TEXT NOT NULL,
  type        TEXT NOT NULL,
  PRIMARY KEY (table_name, column_name)
) WITHOUT ROWID;

-- `INSERT INTO litewire.outbox (channel, payload) VALUES ...` publishes, as
-- NOTIFY does: within the inserting transaction, delivered at commit. Rows do
-- not stay (the trigger removes them); they exist to give ORMs a plain table.
CREATE TABLE IF NOT EXISTS _lw_outbox (
  channel TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS _lw_outbox_publish AFTER INSERT ON _lw_outbox
BEGIN
  SELECT lw_notify(NEW.channel, NEW.payload);
  DELETE FROM _lw_outbox WHERE rowid = NEW.rowid;
END;

-- The Postgres text of each view created through litewire (its SQLite view
-- runs the translated query), for pg_views and pg_get_viewdef.
CREATE TABLE IF NOT EXISTS _lw_views (
  name       TEXT PRIMARY KEY,
  definition TEXT NOT NULL
) WITHOUT ROWID;

-- Sequences made with CREATE SEQUENCE: their definition and the state
-- nextval/setval left (store::sequences). The oid is 2^30 + rowid.
CREATE TABLE IF NOT EXISTS _lw_sequences (
  name       TEXT NOT NULL UNIQUE,
  type       TEXT NOT NULL,
  start      INTEGER NOT NULL,
  increment  INTEGER NOT NULL,
  minvalue   INTEGER NOT NULL,
  maxvalue   INTEGER NOT NULL,
  cache      INTEGER NOT NULL,
  cycle      INTEGER NOT NULL,
  last_value INTEGER NOT NULL,
  is_called  INTEGER NOT NULL
);

-- COMMENT ON TABLE / COLUMN: descriptions by relation and column name
-- ('' for the relation), served as pg_description.
CREATE TABLE IF NOT EXISTS _lw_comments (
  table_name  TEXT NOT NULL,
  column_name TEXT NOT NULL,
  description TEXT NOT NULL,
  PRIMARY KEY (table_name, column_name)
) WITHOUT ROWID;

-- CREATE TYPE ... AS ENUM: one row per label, in declaration order
-- (sortorder); the type's oid is chosen by the translator.
CREATE TABLE IF NOT EXISTS _lw_enums (
  type_oid  INTEGER NOT NULL,
  type_name TEXT NOT NULL,
  label     TEXT NOT NULL,
  sortorder REAL NOT NULL,
  UNIQUE (type_name, label)
);

-- CREATE SCHEMA: the schemas besides public. A relation of schema s is
-- stored as the SQLite table "s.name" (see translate::schemas); the schema's
-- namespace oid is SCHEMA_OID_BASE + rowid (sql/catalog/pg_namespace.sql).
CREATE TABLE IF NOT EXISTS _lw_schemas (
  name TEXT PRIMARY KEY
);
