-- A view made through litewire shows its Postgres text; one made by another
-- tool shows the body of its SQLite definition.
SELECT r.nspname, r.relname, 'postgres',
       coalesce(v.definition, substr(r.sql, instr(upper(r.sql), ' AS ') + 4))
FROM lw_relations r LEFT JOIN main._lw_views v ON v.name = r.name
WHERE r.kind = 'v'
