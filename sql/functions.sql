
-- Trigger functions (`CREATE FUNCTION ... RETURNS trigger LANGUAGE plpgsql`):
-- their source, compiled per trigger by the translator (translate::triggers).
CREATE TABLE IF NOT EXISTS _lw_functions (
  name   TEXT PRIMARY KEY,
  source TEXT NOT NULL
) WITHOUT ROWID;

-- `CREATE TRIGGER` statements; the SQLite triggers `_lw_trigger:<table>:<name>:<event>`
-- are generated from them and regenerated after every DDL (new columns,
-- CREATE OR REPLACE FUNCTION).
CREATE TABLE IF NOT EXISTS _lw_triggers (
  table_name TEXT NOT NULL,
  name       TEXT NOT NULL,
  function   TEXT NOT NULL,
  definition TEXT NOT NULL,
  PRIMARY KEY (table_name, name)
) WITHOUT ROWID;

-- The rows into which a BEFORE trigger's assignments to NEW are being written
-- (translate::triggers writes them with an UPDATE after the row operation):
-- the table's UPDATE triggers, change capture included, skip that UPDATE.
CREATE TABLE IF NOT EXISTS _lw_assigning (
  tbl TEXT    NOT NULL,
  rid INTEGER NOT NULL,
  PRIMARY KEY (tbl, rid)
) WITHOUT ROWID;
