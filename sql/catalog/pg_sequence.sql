-- The sequence behind each serial column (SQLite's rowid allocation).
SELECT a.attrelid + 2, lw_type(a.type, 'oid'), 1, 1,
       CASE lw_type(a.type, 'oid') WHEN 23 THEN 2147483647 WHEN 21 THEN 32767
            ELSE 9223372036854775807 END, 1, 1, 0
FROM lw_attributes a WHERE a.rowid_pk
UNION ALL
-- CREATE SEQUENCE's.
SELECT 1073741824 + rowid, CASE type WHEN 'integer' THEN 23 WHEN 'smallint' THEN 21 ELSE 20 END,
       start, increment, maxvalue, minvalue, cache, cycle
FROM main._lw_sequences
