SELECT lw_current_database(), v.schemaname, v.viewname, v.definition, 'NONE', 'NO', 'NO', 'NO', 'NO', 'NO'
FROM pg_views v
