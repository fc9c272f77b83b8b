-- Every user relation litewire shows in pg_catalog, with its oid. Oids are
-- 16384 (Postgres's first user oid) + 16 * the sqlite_schema rowid, so each
-- relation owns 16 oids: +1 its primary-key index when SQLite keeps none
-- (INTEGER PRIMARY KEY is the rowid), +2 its serial sequence, +3 its primary
-- key constraint, +4 a unique constraint on an index, +5.. its foreign keys.
-- A relation of schema s is stored as "s.name" (translate::schemas): relname
-- is its name within the schema, nsp the schema's oid.
SELECT 16384 + s.rowid * 16, s.name,
       CASE s.type WHEN 'table' THEN 'r' WHEN 'view' THEN 'v' ELSE 'i' END,
       s.tbl_name, s.sql,
       CASE WHEN n.name IS NULL THEN s.name ELSE substr(s.name, length(n.name) + 2) END,
       coalesce(1342177280 + n.rowid, 2200), coalesce(n.name, 'public')
FROM main.sqlite_schema s
LEFT JOIN main._lw_schemas n ON substr(s.name, 1, length(n.name) + 1) = n.name || '.'
WHERE s.type IN ('table', 'view', 'index')
  AND s.tbl_name NOT LIKE 'sqlite\_%' ESCAPE '\'
  AND s.tbl_name NOT LIKE '\_lw\_%' ESCAPE '\'
