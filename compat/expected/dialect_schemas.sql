-- Schemas: CREATE/DROP SCHEMA, qualified names, search_path, the catalog.
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS sch_app CASCADE;
DROP TABLE IF EXISTS sch_items;
RESET client_min_messages;
CREATE SCHEMA sch_app;
CREATE SCHEMA sch_app;
CREATE SCHEMA IF NOT EXISTS sch_app;
CREATE SCHEMA pg_mine;
CREATE TABLE sch_app.sch_items (id serial PRIMARY KEY, name text NOT NULL UNIQUE, qty int DEFAULT 0);
CREATE TABLE sch_items (id int PRIMARY KEY, note text);
INSERT INTO sch_app.sch_items (name, qty) VALUES ('a', 1), ('b', 2) RETURNING id, name;
INSERT INTO public.sch_items VALUES (1, 'public one');
SELECT * FROM sch_app.sch_items ORDER BY id;
SELECT sch_app.sch_items.name, i.qty FROM sch_app.sch_items JOIN sch_app.sch_items i USING (id) ORDER BY 1;
SELECT * FROM sch_items;
SELECT * FROM nosuch.sch_items;
CREATE TABLE nosuch.t (id int);

SET search_path TO sch_app, public;
SHOW search_path;
SELECT current_schema(), current_schemas(false);
SELECT * FROM sch_items ORDER BY id;
SELECT note FROM public.sch_items;
UPDATE sch_items SET qty = qty + 10 WHERE name = 'a' RETURNING *;
UPDATE sch_items AS s SET qty = s.qty + 1 WHERE s.name = 'a' RETURNING s.qty;
DELETE FROM sch_items WHERE name = 'b' RETURNING sch_items.id;
INSERT INTO sch_items (name) VALUES ('a') ON CONFLICT (name) DO UPDATE SET qty = sch_items.qty + 1 RETURNING qty;
CREATE TABLE sch_other (id serial PRIMARY KEY, item_id int REFERENCES sch_items (id) ON DELETE CASCADE);
CREATE INDEX sch_other_item ON sch_other (item_id);
INSERT INTO sch_other VALUES (1, 1);
INSERT INTO sch_other VALUES (2, 999);
CREATE VIEW sch_view AS SELECT o.id, i.name FROM sch_other o JOIN sch_items i ON i.id = o.item_id;
SELECT * FROM sch_view;
RESET search_path;
SELECT current_schema();
SELECT * FROM sch_other;
SELECT * FROM sch_app.sch_other;
SELECT * FROM sch_app.sch_view;
TRUNCATE sch_app.sch_other;
SELECT count(*) FROM sch_app.sch_other;
COMMENT ON TABLE sch_app.sch_items IS 'the items';
SELECT obj_description('sch_app.sch_items'::regclass, 'pg_class');
SELECT to_regclass('sch_app.sch_other') IS NOT NULL, to_regclass('sch_other') IS NULL;

SELECT table_schema, table_name, table_type FROM information_schema.tables
  WHERE table_name LIKE 'sch\_%' ORDER BY 1, 2;
SELECT table_schema, table_name, column_name FROM information_schema.columns
  WHERE table_schema = 'sch_app' ORDER BY 2, ordinal_position;
SELECT constraint_schema, table_name, constraint_type FROM information_schema.table_constraints
  WHERE table_schema = 'sch_app' AND constraint_type <> 'CHECK' ORDER BY 2, 3;
SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'sch%';
SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'sch_app' ORDER BY 2;
SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'sch_app' ORDER BY 3;
SELECT schemaname, tablename FROM pg_tables WHERE schemaname = 'sch_app' ORDER BY 2;
SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'sch_other_item_id_fkey';
\dn sch*
\dt sch_app.*
\d sch_app.sch_items
\dt sch_*
DROP SCHEMA sch_app;
DROP SCHEMA sch_app CASCADE;
DROP SCHEMA IF EXISTS sch_app;
DROP SCHEMA sch_app;
SELECT * FROM sch_items;
DROP TABLE sch_items;
