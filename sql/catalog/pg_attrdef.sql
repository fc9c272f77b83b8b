-- adbin holds the default as Postgres prints it (pg_get_expr returns it).
SELECT a.attrelid * 64 + a.attnum, a.attrelid, a.attnum,
       CASE WHEN a.rowid_pk
            THEN 'nextval(''' || CASE r.nsp WHEN 2200 THEN '' ELSE r.nspname || '.' END
                 || r.relname || '_' || a.attname || '_seq''::regclass)'
            -- An enum's label literal is cast to the enum, named in _lw_enums.
            WHEN a.type LIKE 'enum(%'
            THEN replace(lw_pg_default(a.dflt, a.type), '::text',
                         '::' || (SELECT e.type_name FROM main._lw_enums e
                                  WHERE e.type_oid = lw_type(a.type, 'oid') LIMIT 1))
            ELSE lw_pg_default(a.dflt, a.type) END
FROM lw_attributes a JOIN lw_relations r ON r.oid = a.attrelid
WHERE a.dflt IS NOT NULL OR a.rowid_pk
