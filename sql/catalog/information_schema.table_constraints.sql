SELECT lw_current_database(), r.nspname, c.conname, lw_current_database(), r.nspname, r.relname,
       CASE c.contype WHEN 'p' THEN 'PRIMARY KEY' WHEN 'u' THEN 'UNIQUE'
                      WHEN 'f' THEN 'FOREIGN KEY' ELSE 'CHECK' END,
       'NO', 'NO', 'YES', CASE WHEN c.contype IN ('p', 'u') THEN 'YES' END
FROM pg_constraint c JOIN lw_relations r ON r.oid = c.conrelid
