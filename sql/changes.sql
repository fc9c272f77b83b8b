-- The change stream: one row per changed row of every user table, written by
-- the capture triggers (sql/change_triggers.sql) in the writing transaction.
-- The LSN is the row id: SQLite gives each new row max(lsn) + 1, and
-- retention removes only the oldest rows and always keeps the newest, so LSNs
-- only grow (no AUTOINCREMENT: it would add a page write to every commit).
-- With one writer, LSN order is commit order.
CREATE TABLE IF NOT EXISTS _lw_changes (
  lsn          INTEGER PRIMARY KEY,
  txid         INTEGER NOT NULL,
  tbl          TEXT NOT NULL,
  op           TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
  pk           TEXT,  -- JSON object of the primary key (NULL: table has none)
  row          TEXT,  -- JSON of the new row (insert, update)
  old          TEXT,  -- JSON of the old row (update, delete)
  committed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00', 'now'))
);

-- The transaction id the capture triggers stamp on their rows. The first
-- captured change of a transaction opens a new id (`open` 0 -> 1); litewire's
-- writer closes it when its write transactions start and end, so every
-- transaction gets its own id even when another process (without litewire's
-- functions) writes: the triggers use built-in SQL only.
CREATE TABLE IF NOT EXISTS _lw_tx (
  id   INTEGER NOT NULL,
  open INTEGER NOT NULL
);
INSERT INTO _lw_tx (id, open) SELECT 0, 0 WHERE NOT EXISTS (SELECT 1 FROM _lw_tx);

-- Small persistent facts: `compacted_through` is the last LSN retention removed;
-- a subscriber resuming from before it must resnapshot.
CREATE TABLE IF NOT EXISTS _lw_state (
  key   TEXT PRIMARY KEY,
  value
) WITHOUT ROWID;

-- Typed for `SELECT * FROM litewire.changes(since_lsn)`.
INSERT OR REPLACE INTO _lw_columns (table_name, column_name, type) VALUES
  ('_lw_changes', 'lsn', 'bigint'), ('_lw_changes', 'txid', 'bigint'),
  ('_lw_changes', 'tbl', 'text'), ('_lw_changes', 'op', 'text'),
  ('_lw_changes', 'pk', 'jsonb'), ('_lw_changes', 'row', 'jsonb'),
  ('_lw_changes', 'old', 'jsonb'), ('_lw_changes', 'committed_at', 'timestamptz');
