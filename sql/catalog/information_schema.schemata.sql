SELECT lw_current_database(), n.nspname, 'postgres', NULL, NULL, NULL, NULL FROM pg_namespace n
