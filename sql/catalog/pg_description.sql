-- COMMENT ON TABLE / COLUMN (classoid 1259 is pg_class).
SELECT c.oid, 1259, coalesce(a.attnum, 0), d.description
FROM main._lw_comments d
JOIN lw_relations c ON c.name = d.table_name AND c.kind IN ('r', 'v')
LEFT JOIN lw_attributes a ON a.attrelid = c.oid AND a.attname = d.column_name
WHERE d.column_name = '' OR a.attnum IS NOT NULL
