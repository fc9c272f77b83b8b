-- What the introspection functions and reg* casts look up, under column
-- names no catalog relation uses, so that an unqualified argument such as
-- `pg_get_constraintdef(oid)` still names the caller's column.
-- A relation outside public and pg_catalog is named schema-qualified, by its
-- stored name (see lw_relations).
SELECT 'class', q.oid, 0, q.name, q.name
FROM (SELECT c.oid, CASE WHEN n.nspname IN ('public', 'pg_catalog') THEN c.relname
                         ELSE n.nspname || '.' || c.relname END AS name
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace) q
-- The system catalogs themselves, by Postgres's fixed oids (the `classoid`
-- of pg_description and pg_depend rows).
UNION ALL SELECT 'class', column2, 0, column1, column1 FROM (VALUES
  ('pg_class', 1259), ('pg_type', 1247), ('pg_proc', 1255), ('pg_attribute', 1249),
  ('pg_namespace', 2615), ('pg_constraint', 2606), ('pg_index', 2610),
  ('pg_description', 2609), ('pg_trigger', 2620), ('pg_am', 2601), ('pg_database', 1262))
UNION ALL SELECT 'type', oid, 0, typname, typname FROM pg_type
UNION ALL SELECT 'namespace', oid, 0, nspname, nspname FROM pg_namespace
UNION ALL SELECT 'proc', oid, 0, proname, proname FROM pg_proc
UNION ALL SELECT 'constraintdef', oid, 0, NULL, lw_def FROM pg_constraint
UNION ALL SELECT 'indexdef', indexrelid, 0, NULL, lw_def FROM pg_index
UNION ALL SELECT 'indexcol', a.attrelid, a.attnum, NULL, a.attname
  FROM pg_attribute a JOIN lw_indexes x ON x.oid = a.attrelid
UNION ALL SELECT 'triggerdef', oid, 0, NULL, lw_def FROM pg_trigger
UNION ALL SELECT 'viewdef', c.oid, 0, NULL, v.definition
  FROM pg_views v JOIN pg_class c ON c.relname = v.viewname
UNION ALL SELECT 'serial', a.attrelid, a.attnum, r.name || '.' || a.attname,
                 r.nspname || '.' || r.relname || '_' || a.attname || '_seq'
  FROM lw_attributes a JOIN lw_relations r ON r.oid = a.attrelid WHERE a.rowid_pk
