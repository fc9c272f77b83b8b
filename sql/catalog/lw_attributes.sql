-- The columns of user tables and views with their Postgres types (from
-- _lw_columns, else the SQLite declaration) and whether the column is the
-- rowid alias (an INTEGER PRIMARY KEY: litewire's serial).
SELECT r.oid, c.cid + 1, c.name, lw_pg_type(c.type, d.type),
       c."notnull" OR c.pk > 0, c.pk, c.dflt_value,
       r.kind = 'r' AND c.pk = 1 AND upper(c.type) = 'INTEGER'
         AND (SELECT count(*) FROM pragma_table_info(r.name) p WHERE p.pk > 0) = 1
         AND r.sql NOT LIKE '%WITHOUT ROWID%'
FROM lw_relations r, pragma_table_info(r.name) c
LEFT JOIN main._lw_columns d ON d.table_name = r.name AND d.column_name = c.name
WHERE r.kind IN ('r', 'v')
