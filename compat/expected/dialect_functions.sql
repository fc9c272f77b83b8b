SELECT left('abc', 2), right('abc', 2), left('abc', -1), split_part('a,b,c', ',', 2), split_part('a,b,c', ',', -1), reverse('abc');
SELECT position('b' in 'abc'), substring('hello' from 2 for 3), substring('hello' from 2), trim(both 'x' from 'xaxx'), regexp_replace('a1b2', '[0-9]', 'X', 'g'), regexp_replace('Hello', 'l+', '_');
SELECT trunc(2.9), ceil(2.1), ceiling(-2.1), floor(-2.1), mod(7, 3), mod(7.5, 2), power(2, 10), sqrt(16), pi();
SELECT md5('a'), upper('ab'), lower('AB'), initcap('hello wORLD'), lpad('5', 3, '0'), rpad('ab', 4, '-'), to_hex(255), chr(65), ascii('A');
SELECT translate('abc', 'ab', 'xy'), starts_with('abc', 'ab'), quote_literal('it''s'), pg_typeof(1), pg_typeof(1.5), pg_typeof('x'::text);
SELECT sqrt(-1);
SELECT ln(0);
SELECT split_part('a', ',', 0);
SELECT regexp_replace('a', '(', 'x');
