-- Array containment and overlap, LIKE as ~~, set_config, CONCURRENTLY.
SELECT ARRAY[1,2,3] @> ARRAY[2], ARRAY[1,2,3] @> ARRAY[2,4], ARRAY['a','b'] <@ ARRAY['a','b','c'],
       ARRAY[1,2] && ARRAY[2,5], ARRAY[1,2] && ARRAY[3], ARRAY[1,NULL] @> ARRAY[NULL::int];
DROP TABLE IF EXISTS ops_t;
CREATE TABLE ops_t (id int PRIMARY KEY, tags text[], v int);
INSERT INTO ops_t VALUES (1, '{red,blue}', 1), (2, '{green}', 2), (3, '{red}', 3);
SELECT id FROM ops_t WHERE tags @> ARRAY['red'] ORDER BY id;
SELECT id FROM ops_t WHERE tags && '{green,blue}' ORDER BY id;
SELECT id FROM ops_t WHERE ARRAY['red'] <@ tags AND v > 1;
SELECT 'Abc' ~~ 'A%', 'Abc' ~~* 'a%', 'Abc' !~~ 'a%', 'Abc' !~~* 'a%', 'a_c' ~~ 'a\_c';
SELECT set_config('application_name', 'ops', false), current_setting('application_name');
SHOW application_name;
SELECT set_config('litewire_test.flag', 'on', false);
SELECT current_setting('litewire_test.flag');
CREATE INDEX CONCURRENTLY IF NOT EXISTS ops_t_v ON ops_t (v);
DROP INDEX CONCURRENTLY ops_t_v;
CREATE INDEX CONCURRENTLY ops_t_v ON ops_t (v);
DROP INDEX CONCURRENTLY IF EXISTS ops_t_v;
CREATE TABLE ops_n (id int PRIMARY KEY, nums int[], flags boolean[], names varchar[]);
INSERT INTO ops_n VALUES (1, ARRAY[3,1,2], '{t,f}', ARRAY['a b', 'c']), (2, '{}', NULL, '{x}');
INSERT INTO ops_n (id, nums) VALUES (3, '{10, 20}');
SELECT * FROM ops_n ORDER BY id;
SELECT id, array_length(nums, 1), 2 = ANY (nums), nums @> '{1}' FROM ops_n ORDER BY id;
UPDATE ops_n SET nums = ARRAY[7] WHERE id = 2 RETURNING nums;
SELECT id, n FROM ops_n, unnest(nums) AS n ORDER BY id, n;
SELECT tags, pg_typeof(tags) FROM ops_t WHERE id = 1;
DROP TABLE ops_n;
DROP TABLE ops_t;
