-- DDL objects beyond tables: views, sequences, comments, enums.
DROP TABLE IF EXISTS ddl_person;
DROP TYPE IF EXISTS ddl_mood;
DROP TABLE IF EXISTS ddl_tickets;
DROP SEQUENCE IF EXISTS ddl_seq;
DROP SEQUENCE IF EXISTS ddl_small;
DROP VIEW IF EXISTS ddl_expensive;
DROP VIEW IF EXISTS ddl_labels;
DROP TABLE IF EXISTS ddl_items;
CREATE TABLE ddl_items (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2));
INSERT INTO ddl_items (name, price) VALUES ('pen', 1.50), ('ink', 12.00), ('pad', 3.25);

CREATE VIEW ddl_expensive AS
  SELECT id, upper(name) AS label, price * 2 AS double, 'x' AS tag, count(*) OVER () AS total
  FROM ddl_items WHERE price > 2;
SELECT * FROM ddl_expensive ORDER BY id;
CREATE VIEW ddl_labels (n, p) AS SELECT name, price FROM ddl_items;
SELECT n, p FROM ddl_labels WHERE p < 5 ORDER BY n;
\dv
\d ddl_expensive
\d ddl_labels
SELECT table_name, table_type FROM information_schema.tables
  WHERE table_name LIKE 'ddl%' ORDER BY table_name;
SELECT viewname FROM pg_views WHERE viewname LIKE 'ddl%' ORDER BY viewname;
SELECT relname, relkind FROM pg_class WHERE relname LIKE 'ddl%' ORDER BY relname;

-- Errors
CREATE VIEW ddl_labels AS SELECT 1;
CREATE OR REPLACE VIEW ddl_labels AS SELECT name FROM ddl_items;
CREATE OR REPLACE VIEW ddl_labels AS SELECT price, name FROM ddl_items;
CREATE OR REPLACE VIEW ddl_items AS SELECT 1;
DROP VIEW ddl_items;
DROP TABLE ddl_labels;
DROP VIEW ddl_nope;
DROP TABLE ddl_items;
CREATE OR REPLACE VIEW ddl_labels (n, p) AS SELECT name, price, id FROM ddl_items;
SELECT * FROM ddl_labels ORDER BY id;

-- Comments
COMMENT ON TABLE ddl_items IS 'things for sale';
COMMENT ON COLUMN ddl_items.price IS 'in euros';
COMMENT ON COLUMN public.ddl_items.name IS 'what it is';
COMMENT ON COLUMN ddl_labels.n IS 'label';
SELECT obj_description('ddl_items'::regclass, 'pg_class') AS t,
       col_description('ddl_items'::regclass, 3) AS price,
       col_description('ddl_items'::regclass, 2) AS name,
       col_description('ddl_labels'::regclass, 1) AS label;
COMMENT ON COLUMN ddl_items.name IS NULL;
COMMENT ON TABLE ddl_items IS '';
SELECT objsubid, description FROM pg_description
  WHERE objoid = 'ddl_items'::regclass ORDER BY objsubid;
COMMENT ON TABLE ddl_labels IS 'x';
COMMENT ON TABLE ddl_nope IS 'x';
COMMENT ON COLUMN ddl_items.nope IS 'x';
COMMENT ON COLUMN price IS 'x';

DROP VIEW ddl_expensive, ddl_labels;
DROP VIEW IF EXISTS ddl_labels;

-- Sequences
CREATE SEQUENCE ddl_seq START WITH 100 INCREMENT BY 10 NO MINVALUE NO MAXVALUE CACHE 5;
SELECT currval('ddl_seq');
SELECT nextval('ddl_seq'), nextval('ddl_seq');
SELECT currval('ddl_seq'), lastval();
BEGIN;
SELECT nextval('ddl_seq');
ROLLBACK;
SELECT nextval('ddl_seq');
SELECT setval('ddl_seq', 500), nextval('ddl_seq');
SELECT setval('ddl_seq', 7, false), nextval('ddl_seq');
ALTER SEQUENCE ddl_seq RESTART WITH 1000;
SELECT nextval('ddl_seq');
ALTER SEQUENCE ddl_seq RESTART;
SELECT nextval('ddl_seq');
CREATE SEQUENCE ddl_small AS smallint INCREMENT -1 MINVALUE -2 MAXVALUE 5;
SELECT nextval('ddl_small'), nextval('ddl_small'), nextval('ddl_small');
SELECT nextval('ddl_small'), nextval('ddl_small'), nextval('ddl_small'), nextval('ddl_small');
SELECT nextval('ddl_small');
SELECT nextval('ddl_small');
SELECT setval('ddl_small', 9);
CREATE TABLE ddl_tickets (id bigint PRIMARY KEY DEFAULT nextval('ddl_seq'::regclass), note text);
INSERT INTO ddl_tickets (note) VALUES ('a'), ('b') RETURNING id, note;
\d ddl_tickets
\ds ddl*
\d ddl_seq
SELECT seqstart, seqincrement, seqmax, seqmin, seqcache, seqcycle
  FROM pg_sequence WHERE seqrelid = 'ddl_small'::regclass;
SELECT relname, relkind FROM pg_class WHERE relname LIKE 'ddl%seq' ORDER BY relname;

-- Errors
CREATE SEQUENCE ddl_seq;
CREATE SEQUENCE ddl_bad INCREMENT 0;
CREATE SEQUENCE ddl_bad START 0;
CREATE SEQUENCE ddl_bad MINVALUE 5 MAXVALUE 5;
SELECT nextval('ddl_nope');
SELECT currval('ddl_nope');
DROP SEQUENCE ddl_items;
DROP TABLE ddl_seq;
DROP SEQUENCE ddl_nope;

DROP TABLE ddl_tickets;
DROP SEQUENCE ddl_seq, ddl_small;
DROP SEQUENCE IF EXISTS ddl_seq;
DROP TABLE ddl_items;

-- Enums
CREATE TYPE ddl_mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE ddl_person (name text, m ddl_mood);
INSERT INTO ddl_person VALUES ('a', 'happy'), ('b', 'sad'), ('c', 'ok'), ('d', NULL);
INSERT INTO ddl_person VALUES ('e', 'bad');
SELECT name, m FROM ddl_person ORDER BY m, name;
SELECT name, m FROM ddl_person ORDER BY m DESC, name;
SELECT name FROM ddl_person WHERE m > 'sad' ORDER BY name;
SELECT name FROM ddl_person WHERE m = 'bad';
SELECT 'ok'::ddl_mood AS ok;
SELECT 'bad'::ddl_mood;
UPDATE ddl_person SET m = 'meh' WHERE name = 'a';
SELECT name, m FROM ddl_person ORDER BY name \gdesc
\d ddl_person
SELECT column_name, data_type, udt_schema, udt_name FROM information_schema.columns
  WHERE table_name = 'ddl_person' ORDER BY ordinal_position;
SELECT t.typname, t.typtype, e.enumlabel, e.enumsortorder
  FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
  WHERE t.typname = 'ddl_mood' ORDER BY e.enumsortorder;
ALTER TYPE ddl_mood ADD VALUE 'meh' BEFORE 'ok';
ALTER TYPE ddl_mood ADD VALUE 'ecstatic';
ALTER TYPE ddl_mood ADD VALUE 'first' BEFORE 'sad';
UPDATE ddl_person SET m = 'meh' WHERE name = 'd';
SELECT name, m FROM ddl_person WHERE m < 'happy' ORDER BY m;
SELECT enumlabel, enumsortorder FROM pg_enum
  WHERE enumtypid = 'ddl_mood'::regtype ORDER BY enumsortorder;
ALTER TYPE ddl_mood ADD VALUE 'ok';
ALTER TYPE ddl_mood ADD VALUE 'x' AFTER 'nope';
ALTER TYPE ddl_nope ADD VALUE 'x';
CREATE TYPE ddl_mood AS ENUM ('x');
CREATE TABLE ddl_bad (m ddl_mood DEFAULT 'bad');
DROP TYPE ddl_mood;
DROP TYPE ddl_nope;
DROP TABLE ddl_person;
DROP TYPE ddl_mood;
DROP TYPE IF EXISTS ddl_mood;
