SELECT lw_current_database(), r.nspname, r.relname,
       CASE r.kind WHEN 'r' THEN 'BASE TABLE' ELSE 'VIEW' END,
       NULL, NULL, NULL, NULL, NULL, CASE r.kind WHEN 'r' THEN 'YES' ELSE 'NO' END, 'NO', NULL
FROM lw_relations r WHERE r.kind IN ('r', 'v')
