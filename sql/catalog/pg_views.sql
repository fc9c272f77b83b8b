SELECT 'public', r.name, 'postgres', substr(r.sql, instr(upper(r.sql), ' AS ') + 4)
FROM lw_relations r WHERE r.kind = 'v'
