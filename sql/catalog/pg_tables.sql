SELECT r.nspname, r.relname, 'postgres', NULL,
       EXISTS (SELECT 1 FROM lw_indexes x WHERE x.indrelid = r.oid), 0,
       EXISTS (SELECT 1 FROM main._lw_triggers t WHERE t.table_name = r.name), 0
FROM lw_relations r WHERE r.kind = 'r'
