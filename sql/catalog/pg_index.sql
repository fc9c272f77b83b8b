-- lw_def is litewire's: the CREATE INDEX text pg_get_indexdef returns.
SELECT x.oid, x.indrelid,
       (SELECT count(*) FROM lw_index_columns k WHERE k.indexrelid = x.oid),
       (SELECT count(*) FROM lw_index_columns k WHERE k.indexrelid = x.oid),
       x.isunique, 0, x.isprimary, 0, 1, 0, 1, 0, 1, 1, 0, x.indkey,
       -- indcollation, indclass, indoption: one 0 per key column (no
       -- collation, default operator class, ascending), as vectors print.
       x.zeros, x.zeros, x.zeros, NULL, NULL,
       'CREATE ' || CASE WHEN x.isunique THEN 'UNIQUE ' ELSE '' END || 'INDEX ' ||
         lw_quote_ident(x.name) || ' ON ' || lw_quote_ident(x.nspname) || '.' || lw_quote_ident(x.tblname) ||
         ' USING btree (' || x.colnames || ')'
FROM (SELECT *, rtrim(replace(hex(zeroblob(length(indkey) - length(replace(indkey, ' ', '')) + 1)),
                              '00', '0 ')) AS zeros
      FROM lw_indexes) x
