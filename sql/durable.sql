-- Durable channels: messages published on a channel that has a durable
-- consumer are kept here, written in the publishing transaction, so a
-- consumer that was away (or a server that was killed) gets what it missed.
-- AUTOINCREMENT: ids never come back, even when retention empties the table,
-- because consumers remember their position by id.
CREATE TABLE IF NOT EXISTS _lw_messages (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  channel    TEXT NOT NULL,
  payload    TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00', 'now'))
);
CREATE INDEX IF NOT EXISTS _lw_messages_by_channel ON _lw_messages (channel, id);

-- Named consumers, the channel each follows and the last id it acknowledged.
CREATE TABLE IF NOT EXISTS _lw_consumers (
  name    TEXT PRIMARY KEY,
  channel TEXT NOT NULL,
  acked   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Typed for `SELECT * FROM litewire.messages(channel, since_id)`.
INSERT OR REPLACE INTO _lw_columns (table_name, column_name, type) VALUES
  ('_lw_messages', 'id', 'bigint'), ('_lw_messages', 'channel', 'text'),
  ('_lw_messages', 'payload', 'text'), ('_lw_messages', 'created_at', 'timestamptz');
