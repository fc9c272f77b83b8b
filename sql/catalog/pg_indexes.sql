SELECT x.nspname, x.tblname, x.name, NULL, i.lw_def
FROM lw_indexes x JOIN pg_index i ON i.indexrelid = x.oid
