-- CREATE TYPE ... AS ENUM labels; their oids are 0x70000000 + rowid.
SELECT 1879048192 + rowid, type_oid, sortorder, label FROM main._lw_enums
