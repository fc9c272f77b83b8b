SELECT 11, 'pg_catalog', 10, NULL
UNION ALL SELECT 2200, 'public', 6171, NULL
UNION ALL SELECT 13000, 'information_schema', 10, NULL
-- CREATE SCHEMA's (1342177280 = 0x5000_0000, see lw_relations).
UNION ALL SELECT 1342177280 + rowid, name, 10, NULL FROM main._lw_schemas
