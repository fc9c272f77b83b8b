SELECT lw_current_database(), r.nspname, c.conname, lw_current_database(), r.nspname, r.relname,
       a.attname, k.key + 1,
       CASE c.contype WHEN 'f' THEN
         (SELECT f.key + 1 FROM json_each('[' || substr(c.confkey, 2, length(c.confkey) - 2) || ']') f
          WHERE f.key = k.key) END
FROM pg_constraint c JOIN lw_relations r ON r.oid = c.conrelid,
     json_each('[' || substr(c.conkey, 2, length(c.conkey) - 2) || ']') k
JOIN lw_attributes a ON a.attrelid = c.conrelid AND a.attnum = k.value
WHERE c.contype IN ('p', 'u', 'f')
