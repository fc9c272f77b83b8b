-- lw_def is litewire's: the CREATE TRIGGER text pg_get_triggerdef returns.
SELECT 2000000 + (SELECT count(*) FROM main._lw_triggers u
                  WHERE u.table_name < t.table_name
                     OR (u.table_name = t.table_name AND u.name <= t.name)),
       r.oid, 0, t.name, coalesce((SELECT f.oid FROM lw_functions f WHERE f.name = t.function), 0),
       0, 'O', 0, 0, 0, 0, 0, 0, 0, '', x'', NULL, NULL, NULL, t.definition
FROM main._lw_triggers t JOIN lw_relations r ON r.name = t.table_name AND r.kind = 'r'
