SELECT r.oid, r.name, r.nsp, 0, 0, 10, r.am, r.oid, 0, 0, -1, 0, 0, r.hasindex, 0, 'p',
       r.kind, r.natts, 0, 0, r.hastriggers, 0, 0, 0, 1, CASE r.kind WHEN 'r' THEN 'd' ELSE 'n' END,
       0, 0, '0', '0', NULL, NULL, NULL
FROM (
  SELECT t.oid, t.relname AS name, t.nsp, t.kind, CASE t.kind WHEN 'r' THEN 2 ELSE 0 END AS am,
         (SELECT count(*) FROM lw_attributes a WHERE a.attrelid = t.oid) AS natts,
         EXISTS (SELECT 1 FROM lw_indexes x WHERE x.indrelid = t.oid) AS hasindex,
         -- Postgres enforces foreign keys with triggers, so psql looks for
         -- them only where this is set.
         EXISTS (SELECT 1 FROM lw_foreign_keys f WHERE t.oid IN (f.relid, f.confrelid))
           OR EXISTS (SELECT 1 FROM main._lw_triggers g WHERE g.table_name = t.name)
           AS hastriggers
  FROM lw_relations t WHERE t.kind IN ('r', 'v')
  UNION ALL
  SELECT x.oid, x.name, x.nsp, 'i', 403,
         (SELECT count(*) FROM lw_index_columns k WHERE k.indexrelid = x.oid), 0, 0
  FROM lw_indexes x
  UNION ALL
  SELECT a.attrelid + 2, t.relname || '_' || a.attname || '_seq', t.nsp, 'S', 0, 3, 0, 0
  FROM lw_attributes a JOIN lw_relations t ON t.oid = a.attrelid WHERE a.rowid_pk
  UNION ALL
  -- CREATE SEQUENCE's (store::sequences::OID_BASE + rowid).
  SELECT 1073741824 + s.rowid, s.name, 2200, 'S', 0, 3, 0, 0 FROM main._lw_sequences s
) r
