-- adbin holds the default as Postgres prints it (pg_get_expr returns it).
SELECT a.attrelid * 64 + a.attnum, a.attrelid, a.attnum,
       CASE WHEN a.rowid_pk
            THEN 'nextval(''' || r.name || '_' || a.attname || '_seq''::regclass)'
            ELSE lw_pg_default(a.dflt, a.type) END
FROM lw_attributes a JOIN lw_relations r ON r.oid = a.attrelid
WHERE a.dflt IS NOT NULL OR a.rowid_pk
