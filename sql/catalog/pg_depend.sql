-- Serial sequences are owned by their column (what pg_get_serial_sequence reads).
SELECT 1259, a.attrelid + 2, 0, 1259, a.attrelid, a.attnum, 'a'
FROM lw_attributes a WHERE a.rowid_pk
