-- What the introspection functions and reg* casts look up, under column
-- names no catalog relation uses, so that an unqualified argument such as
-- `pg_get_constraintdef(oid)` still names the caller's column.
SELECT 'class', oid, 0, relname, relname FROM pg_class
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
                 'public.' || r.name || '_' || a.attname || '_seq'
  FROM lw_attributes a JOIN lw_relations r ON r.oid = a.attrelid WHERE a.rowid_pk
