-- Primary keys are NOT NULL; LIKE escapes with a backslash; size functions.
DROP TABLE IF EXISTS keys_text;
DROP TABLE IF EXISTS keys_pair;
DROP TABLE IF EXISTS keys_int;
DROP TABLE IF EXISTS keys_default;
CREATE TABLE keys_text (id text PRIMARY KEY, v text);
INSERT INTO keys_text (v) VALUES ('a');
CREATE TABLE keys_pair (id int, v text, PRIMARY KEY (id, v));
INSERT INTO keys_pair (v) VALUES ('a');
CREATE TABLE keys_int (id int PRIMARY KEY, v text);
INSERT INTO keys_int (v) VALUES ('a');
INSERT INTO keys_int VALUES (1, 'a') RETURNING *;
CREATE TABLE keys_default (id bigint PRIMARY KEY DEFAULT 5, v text);
INSERT INTO keys_default (v) VALUES ('a') RETURNING *;
\d keys_int
SELECT 'a_b' LIKE 'a\_b', 'axb' LIKE 'a\_b', 'a%' LIKE 'a\%', 'ab' LIKE 'a\%', 'a\b' LIKE 'a\\b',
       'A_B' ILIKE 'a\_b', 'a_b' LIKE 'a#_b' ESCAPE '#', 'a_b' NOT LIKE 'a\_b';
SELECT v, pg_size_pretty(v) FROM (VALUES (0::bigint), (10239), (10240), (-10240), (20971519),
  (20971520), (1073741824), (123456789012345), (-123456789012345), (9223372036854775807)) AS t(v);
SELECT pg_table_size('keys_int') > 0, pg_total_relation_size('keys_int') >= pg_table_size('keys_int'),
       pg_database_size(current_database()) > 0, pg_typeof(pg_table_size('keys_int'));
DROP TABLE keys_text, keys_pair, keys_int, keys_default;
