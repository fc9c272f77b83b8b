SELECT 2, 'heap', 'heap_tableam_handler', 't'
UNION ALL SELECT 403, 'btree', 'bthandler', 'i'
