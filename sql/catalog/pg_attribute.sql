SELECT c.relid, c.attname, lw_type(c.type, 'oid'), -1, lw_type(c.type, 'len'), c.attnum, 0, -1,
       lw_type(c.type, 'typmod'), lw_type(c.type, 'len') BETWEEN 1 AND 8, 'i', 'p', '',
       c.not_null, c.hasdef, 0, '', '', 0, 1, 0,
       CASE WHEN lw_type(c.type, 'oid') IN (25, 1043, 1042) THEN 100 ELSE 0 END,
       NULL, NULL, NULL, NULL
FROM (
  SELECT attrelid AS relid, attname, type, attnum, not_null,
         dflt IS NOT NULL OR rowid_pk AS hasdef
  FROM lw_attributes
  UNION ALL
  SELECT x.oid, a.attname, a.type, k.seqno + 1, 0, 0
  FROM lw_index_columns k JOIN lw_indexes x ON x.oid = k.indexrelid
  JOIN lw_attributes a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
) c
