-- DDL objects beyond tables: views.
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
CREATE OR REPLACE VIEW ddl_labels (n, p) AS SELECT name, price, id FROM ddl_items;
SELECT * FROM ddl_labels ORDER BY id;

DROP VIEW ddl_expensive, ddl_labels;
DROP VIEW IF EXISTS ddl_labels;
DROP TABLE ddl_items;
