-- Change capture for one user table; litewire fills in the placeholders from
-- the table's columns and regenerates the triggers after every schema change.
-- {ident}: the table as a quoted identifier; {name}: its name as a string
-- literal; {trigger}: the trigger name prefix; {pk_new}/{pk_old}/{row_new}/
-- {row_old}: json_object(...) over NEW/OLD with values in their Postgres form
-- (over the stored row when BEFORE triggers assign to NEW, see capture.rs);
-- {update_when}: empty, or the WHEN that skips writing those assignments.
CREATE TRIGGER "{trigger}_insert" AFTER INSERT ON {ident}
BEGIN
  UPDATE _lw_tx SET id = id + 1, open = 1 WHERE open = 0;
  INSERT INTO _lw_changes (txid, tbl, op, pk, row)
  VALUES ((SELECT id FROM _lw_tx), {name}, 'insert', {pk_new}, {row_new});
END;
CREATE TRIGGER "{trigger}_update" AFTER UPDATE ON {ident}{update_when}
BEGIN
  UPDATE _lw_tx SET id = id + 1, open = 1 WHERE open = 0;
  INSERT INTO _lw_changes (txid, tbl, op, pk, row, old)
  VALUES ((SELECT id FROM _lw_tx), {name}, 'update', {pk_new}, {row_new}, {row_old});
END;
CREATE TRIGGER "{trigger}_delete" AFTER DELETE ON {ident}
BEGIN
  UPDATE _lw_tx SET id = id + 1, open = 1 WHERE open = 0;
  INSERT INTO _lw_changes (txid, tbl, op, pk, old)
  VALUES ((SELECT id FROM _lw_tx), {name}, 'delete', {pk_old}, {row_old});
END;
