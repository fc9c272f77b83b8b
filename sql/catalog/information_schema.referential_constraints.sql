SELECT lw_current_database(), n.nspname, c.conname, lw_current_database(), n.nspname,
       (SELECT u.conname FROM pg_constraint u
        WHERE u.conrelid = c.confrelid AND u.contype IN ('p', 'u') AND u.conkey = c.confkey),
       'NONE', lw_fk_rule(c.confupdtype), lw_fk_rule(c.confdeltype)
FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'f'
