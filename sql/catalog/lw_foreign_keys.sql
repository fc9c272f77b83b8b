-- Foreign keys, one row per referencing column (SQLite's `to` is NULL when
-- the key references the parent's primary key).
SELECT t.oid, f.id, f.seq, a.attnum, a.attname, p.oid,
       coalesce(f."to", (SELECT pa.attname FROM lw_attributes pa
                         WHERE pa.attrelid = p.oid AND pa.pk = f.seq + 1)),
       f.on_update, f.on_delete
FROM lw_relations t, pragma_foreign_key_list(t.name) f
JOIN lw_attributes a ON a.attrelid = t.oid AND a.attname = f."from"
JOIN lw_relations p ON p.name = f."table" AND p.kind = 'r'
WHERE t.kind = 'r'
