-- lw_def is litewire's: the text pg_get_constraintdef returns.
SELECT c.oid, c.conname, c.nsp, c.contype, 0, 0, 1, c.conrelid, 0, c.conindid, 0,
       c.confrelid, c.confupdtype, c.confdeltype, CASE c.contype WHEN 'f' THEN 's' ELSE ' ' END,
       1, 0, 0, c.conkey, c.confkey, NULL, NULL, NULL, NULL, NULL, NULL, c.def
FROM (
  SELECT CASE x.isprimary WHEN 1 THEN x.indrelid + 3 ELSE x.oid + 4 END AS oid,
         x.name AS conname, x.nsp AS nsp, CASE x.isprimary WHEN 1 THEN 'p' ELSE 'u' END AS contype,
         x.indrelid AS conrelid, x.oid AS conindid, 0 AS confrelid,
         ' ' AS confupdtype, ' ' AS confdeltype,
         '{' || replace(x.indkey, ' ', ',') || '}' AS conkey, NULL AS confkey,
         CASE x.isprimary WHEN 1 THEN 'PRIMARY KEY' ELSE 'UNIQUE' END
           || ' (' || x.colnames || ')' AS def
  FROM lw_indexes x WHERE x.origin IN ('pk', 'u')
  UNION ALL
  SELECT f.relid + 5 + f.id, t.relname || '_' || group_concat(f.attname, '_') || '_fkey', t.nsp, 'f',
         -- conindid: the referenced key's index (its primary key, else a unique one).
         f.relid, (SELECT x.oid FROM lw_indexes x WHERE x.indrelid = f.confrelid AND x.isunique
                   ORDER BY x.isprimary DESC LIMIT 1), f.confrelid, lw_fk_action(f.on_update), lw_fk_action(f.on_delete),
         '{' || group_concat(f.attnum, ',') || '}',
         '{' || group_concat((SELECT pa.attnum FROM lw_attributes pa
                              WHERE pa.attrelid = f.confrelid AND pa.attname = f.refname), ',') || '}',
         'FOREIGN KEY (' || group_concat(lw_quote_ident(f.attname), ', ') || ') REFERENCES '
           || CASE p.nsp WHEN 2200 THEN '' ELSE lw_quote_ident(p.nspname) || '.' END
           || lw_quote_ident(p.relname) || '(' || group_concat(lw_quote_ident(f.refname), ', ') || ')'
           || lw_fk_clause('UPDATE', f.on_update) || lw_fk_clause('DELETE', f.on_delete)
  FROM lw_foreign_keys f
  JOIN lw_relations t ON t.oid = f.relid JOIN lw_relations p ON p.oid = f.confrelid
  GROUP BY f.relid, f.id
) c
