-- Every index as Postgres names it (a primary key is <table>_pkey, a UNIQUE
-- column constraint <table>_<cols>_key), plus the primary key index SQLite
-- does not keep for an INTEGER PRIMARY KEY (sqlite_name NULL).
SELECT i.oid,
       CASE l.origin WHEN 'pk' THEN t.relname || '_pkey'
                     WHEN 'u' THEN t.relname || '_' ||
                       (SELECT group_concat(x.name, '_') FROM pragma_index_info(l.name) x) || '_key'
                     ELSE i.relname END,
       t.oid, t.name, l."unique", l.origin = 'pk', l.origin,
       (SELECT group_concat(x.cid + 1, ' ') FROM pragma_index_info(l.name) x),
       (SELECT group_concat(lw_quote_ident(x.name), ', ') FROM pragma_index_info(l.name) x),
       l.partial, l.name, t.nsp, t.nspname, t.relname
FROM lw_relations t, pragma_index_list(t.name) l
JOIN lw_relations i ON i.name = l.name
WHERE t.kind = 'r'
UNION ALL
SELECT a.attrelid + 1, t.relname || '_pkey', t.oid, t.name, 1, 1, 'pk',
       CAST(a.attnum AS TEXT), lw_quote_ident(a.attname), 0, NULL, t.nsp, t.nspname, t.relname
FROM lw_relations t JOIN lw_attributes a ON a.attrelid = t.oid AND a.rowid_pk
