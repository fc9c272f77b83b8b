SELECT lw_current_database(), r.nspname, r.relname, a.attname, a.attnum, d.adbin,
       CASE WHEN a.not_null THEN 'NO' ELSE 'YES' END, lw_type(a.type, 'data_type'),
       lw_type(a.type, 'character_maximum_length'), lw_type(a.type, 'character_octet_length'),
       lw_type(a.type, 'numeric_precision'), lw_type(a.type, 'numeric_precision_radix'),
       lw_type(a.type, 'numeric_scale'), lw_type(a.type, 'datetime_precision'),
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       lw_current_database(), CASE WHEN e.type_name IS NULL THEN 'pg_catalog' ELSE 'public' END,
       coalesce(e.type_name, lw_type(a.type, 'udt_name')),
       NULL, NULL, NULL, NULL, CAST(a.attnum AS TEXT), 'NO', 'NO', NULL, NULL, NULL, NULL, NULL,
       'NO', 'NEVER', NULL, CASE r.kind WHEN 'r' THEN 'YES' ELSE 'NO' END
FROM lw_attributes a JOIN lw_relations r ON r.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
-- An enum column's udt is the enum type.
LEFT JOIN (SELECT DISTINCT type_oid, type_name FROM main._lw_enums) e
  ON e.type_oid = lw_type(a.type, 'oid')
