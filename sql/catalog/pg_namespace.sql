SELECT 11, 'pg_catalog', 10, NULL
UNION ALL SELECT 2200, 'public', 6171, NULL
UNION ALL SELECT 13000, 'information_schema', 10, NULL
