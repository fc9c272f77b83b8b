-- The key columns of every index, in order.
SELECT x.oid, k.seqno, k.cid + 1
FROM lw_indexes x, pragma_index_info(x.sqlite_name) k WHERE x.sqlite_name IS NOT NULL
UNION ALL
SELECT x.oid, 0, CAST(x.indkey AS INTEGER) FROM lw_indexes x WHERE x.sqlite_name IS NULL
