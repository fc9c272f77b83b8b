-- Postgres date/time dialect: interval, arithmetic, extract/date_part,
-- date_trunc, age, AT TIME ZONE. Deterministic (no now()); session in UTC.
SET client_min_messages = warning;
SET TIME ZONE 'UTC';
DROP TABLE IF EXISTS dt_events;
DROP TABLE IF EXISTS dt_precise;
CREATE TABLE dt_events (id integer PRIMARY KEY, at timestamp, at_tz timestamptz, day date, took interval);
INSERT INTO dt_events VALUES
  (1, '2024-01-31 10:15:30', '2024-01-31 10:15:30+02', '2024-01-31', '1 day 02:00:00'),
  (2, '2024-02-29 23:59:59.5', '2024-02-29 23:59:59.5+00', '2024-02-29', '-00:00:01'),
  (3, '2023-12-31 00:00:00', '2023-12-31 00:00:00-05', '2023-12-31', '1 year 2 mons'),
  (4, '2024-07-04 12:00:00', '2024-07-04 12:00:00+00', '2024-07-04', '90 minutes'),
  (5, NULL, NULL, NULL, NULL);
SELECT id, took FROM dt_events WHERE took IS NOT NULL ORDER BY took, id;
CREATE TABLE dt_precise (a timestamp(6) without time zone, b timestamptz(3), c time(0), d interval(0));
INSERT INTO dt_precise VALUES ('2024-01-01 10:00:00.1234567', '2024-01-01 10:00:00.12345+00', '10:00:00.5', '1.5 seconds');
SELECT * FROM dt_precise;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'dt_precise'::regclass AND attnum > 0 ORDER BY attnum;
DROP TABLE dt_precise;
SELECT id FROM dt_events WHERE took > interval '1 hour' ORDER BY id;
SELECT id FROM dt_events WHERE took = '26 hours' ORDER BY id;
SELECT id, at + took AS later, at_tz - took AS earlier, day + took AS from_day FROM dt_events ORDER BY id;
SELECT id, day + 1 AS tomorrow, day - 1 AS yesterday, day - date '2024-01-01' AS days_since FROM dt_events ORDER BY id;
SELECT id, at - timestamp '2024-01-01 00:00' AS since_new_year FROM dt_events ORDER BY id;
SELECT id, extract(year FROM at) AS y, extract(month FROM at) AS m, extract(day FROM at) AS d, extract(hour FROM at) AS h, extract(second FROM at) AS s, extract(dow FROM at) AS dow, extract(epoch FROM at_tz) AS epoch FROM dt_events ORDER BY id;
SELECT id, date_part('doy', at) AS doy, date_part('week', day) AS week, date_part('quarter', at_tz) AS q, date_part('epoch', took) AS secs FROM dt_events ORDER BY id;
SELECT id, date_trunc('month', at) AS month, date_trunc('hour', at_tz) AS hour, date_trunc('week', day) AS week, date_trunc('hour', took) AS took_h FROM dt_events ORDER BY id;
SELECT id, at_tz AT TIME ZONE 'UTC' AS wall, at AT TIME ZONE 'UTC' AS instant FROM dt_events ORDER BY id;
SELECT sum(extract(epoch FROM took)) AS total FROM dt_events;
SELECT id, at - lag(at) OVER (ORDER BY at) AS gap, extract(epoch FROM at - lag(at) OVER (ORDER BY at)) AS secs, date_trunc('day', lag(at_tz) OVER (ORDER BY at)) AS prev_day FROM dt_events WHERE at IS NOT NULL ORDER BY id;
SELECT id, coalesce(took, interval '0') AS t, CASE WHEN took > interval '1 day' THEN 'long' ELSE 'short' END AS kind FROM dt_events ORDER BY id;
SELECT id FROM dt_events WHERE took IN ('90 minutes', '26 hours') ORDER BY id;
WITH x AS (SELECT * FROM dt_events) SELECT id, at + interval '1 month', at_tz - interval '1 hour', took * 2, extract(hour FROM at), date_trunc('month', at), date_trunc('month', at_tz), to_char(day, 'YYYY/MM/DD') FROM x ORDER BY id;
SELECT sum(took), avg(took), max(took), min(took), count(took) FROM dt_events;
SELECT id, timestamp '2024-03-01' - at AS until FROM dt_events WHERE at IS NOT NULL ORDER BY until;
SELECT id FROM dt_events WHERE took IS NOT NULL ORDER BY took + interval '1 hour' DESC;
SELECT max(timestamp '2024-03-01' - at), min(took + interval '1 hour') FROM dt_events;
SELECT id FROM dt_events WHERE day = date_trunc('day', at) ORDER BY id;
SELECT id FROM dt_events WHERE at < at_tz ORDER BY id;
SELECT id FROM dt_events WHERE day < timestamp '2024-02-29 12:00' ORDER BY id;
SELECT id, to_char(at, 'YYYY-MM-DD HH24:MI:SS') AS at, to_char(at_tz, 'Dy DD Mon YYYY HH12:MI:SS.MS AM TZ') AS tz, to_char(day, 'FMMonth FMDDth') AS day, to_char(took, 'HH24:MI:SS') AS took FROM dt_events ORDER BY id;
-- interval literals and text output
SELECT interval '1 day', interval '2 hours', INTERVAL '1 year 2 mons 3 days 04:05:06', interval '1.5 hours', interval '-1 second', interval '0';
SELECT '2 hours'::interval, CAST('3 days' AS interval), interval '1.5 years', interval '1.7 months', interval '1.5 weeks', interval '1.25 days';
SELECT interval '-1 days 2 hours', interval '1 day ago', interval '10', interval '1:30', interval '@ 2 hours', interval '100 hours';
SELECT interval 'P1Y2M3DT4H5M6S', interval 'P1D', interval 'PT1H30M', interval '1 year -1 mons', interval '-1 mons +1 day', interval '1 day -1 second';
SELECT interval '1 microsecond', interval '1.5 ms', interval '2 decades', interval '1 week 2 days', interval '3 centuries', interval '1 millennium';
SELECT '1 day, 2:00:00'::interval, '0 years 0 mons 1 days 2 hours 3 mins 4.5 secs'::interval, '1 days 7200.000000 seconds'::interval, '1h30m'::interval, 'PT1.5S'::interval, 'P2W'::interval;
SELECT '-1:30'::interval, '1 day -1:30'::interval, '+1 day'::interval, '1 mon 2 days ago'::interval, '-0.5 days'::interval, '1.5 mons'::interval, '0.1 years'::interval, '1.0001 days'::interval;
SELECT interval '2' hour, interval '30' minute, interval '1' year, interval '1 day 02:03:04' hour, interval '1 year 2 mons 3 days' month;
SELECT timestamp(0) '2024-01-01 10:00:00.6', '2024-01-01 10:00:00.6'::timestamp(0), '1.5 seconds'::interval(0), '2024-01-01 10:00:00.12345+00'::timestamptz(3);
-- arithmetic
SELECT '2024-01-31'::date + interval '1 month' AS eom, date '2024-03-31' - interval '1 month' AS back, timestamp '2024-01-31 10:00' + interval '1 mon 1 day 1 hour' AS ts;
SELECT timestamp '2024-01-03 03:00' - timestamp '2024-01-01 00:00' AS diff, timestamp '2024-01-01' - timestamp '2024-01-03 03:00' AS neg, timestamptz '2024-01-01 12:00+00' - timestamptz '2024-01-01 10:00+00' AS tzdiff;
SELECT date '2024-03-01' - date '2024-02-01' AS days, date '2024-02-28' + 2 AS plus, 3 + date '2024-02-28' AS plus2, date '2024-03-01' - 1 AS minus;
SELECT interval '1 day' + interval '2 hours', interval '1 day' - interval '2 hours', interval '1 mon' - interval '1 day', interval '1 day' * 1.5, 2 * interval '1 hour', interval '1 mon' / 7, interval '1 hour' * 2.3333, - interval '1 day 02:00:00';
SELECT timestamp '2024-01-01 10:00' + '1 day', timestamp '2024-01-01 10:00' - '2023-12-31', interval '1 hour' < interval '61 minutes', interval '1 mon' = interval '30 days', interval '1 day' > interval '23:59:59';
SELECT date '2024-01-01' + time '10:30', time '10:30' + interval '15 hours', time '10:30' - time '08:15';
-- extract / date_part
SELECT extract(second FROM timestamp '2024-01-02 03:04:05.5'), extract(milliseconds FROM timestamp '2024-01-02 03:04:05.5'), extract(microseconds FROM timestamp '2024-01-02 03:04:05.5'), extract(julian FROM timestamp '2024-01-02 03:04:05.5');
SELECT extract(epoch FROM timestamp '2024-01-02 03:04:05'), extract(epoch FROM timestamptz '2024-01-02 03:04:05+02'), extract(epoch FROM date '2024-01-02'), extract(julian FROM date '2024-01-02');
SELECT extract(isodow FROM date '2024-01-07'), extract(dow FROM date '2024-01-07'), extract(doy FROM date '2024-12-31'), extract(week FROM date '2021-01-03'), extract(isoyear FROM date '2021-01-03'), extract(quarter FROM date '2024-11-01');
SELECT extract(decade FROM date '2024-05-01'), extract(century FROM date '2000-12-31'), extract(century FROM date '2001-01-01'), extract(millennium FROM date '2024-05-01'), extract(timezone FROM timestamptz '2024-01-01');
SELECT extract(epoch FROM interval '1 year 2 mons 3 days 04:05:06.5'), extract(second FROM interval '-1.5 seconds'), extract(hour FROM interval '100 hours'), extract(month FROM interval '14 mons'), extract(year FROM interval '14 mons'), extract(day FROM interval '40 days');
SELECT date_part('second', timestamp '2024-01-02 03:04:05.5'), date_part('year', date '2024-01-01'), date_part('dow', date '2024-01-07'), date_part('julian', timestamp '2024-01-02 03:04:05.5'), date_part('epoch', timestamp '2024-01-02 03:04:05'), date_part('epoch', interval '1 year 2 mons 3 days 04:05:06.5'), date_part('hour', date '2024-01-02');
SELECT date_part('minutes', interval '1 day 02:03:04'), date_part('ms', timestamp '2024-01-02 03:04:05.123456'), date_part('us', timestamp '2024-01-02 03:04:05.123456');
-- date_trunc
SELECT date_trunc('microseconds', timestamp '2024-05-17 10:11:12.345678'), date_trunc('milliseconds', timestamp '2024-05-17 10:11:12.345678'), date_trunc('second', timestamp '2024-05-17 10:11:12.345678'), date_trunc('minute', timestamp '2024-05-17 10:11:12');
SELECT date_trunc('day', timestamp '2024-05-17 10:11:12'), date_trunc('week', timestamp '2024-05-19 10:11:12'), date_trunc('quarter', timestamp '2024-05-17 10:11:12'), date_trunc('year', timestamp '2024-05-17 10:11:12');
SELECT date_trunc('decade', timestamp '2024-05-17'), date_trunc('century', timestamp '2024-05-17'), date_trunc('millennium', timestamp '2024-05-17'), date_trunc('month', date '2024-05-17'), date_trunc('day', timestamptz '2024-05-17 23:30:00+00');
SELECT date_trunc('day', interval '1 day 03:45:12'), date_trunc('hour', interval '1 day 03:45:12'), date_trunc('millennium', interval '2500 years 3 days'), date_trunc('quarter', interval '1 year 5 mons'), date_trunc('second', interval '00:00:01.75');
SELECT date_trunc('day', timestamptz '2024-05-17 23:30+00', 'UTC'), date_trunc('day', timestamptz '2024-05-17 23:30+00', '-02:00'), date_trunc('month', timestamptz '2024-05-31 23:30+00', 'UTC-3');
-- generate_series over timestamps
SELECT * FROM generate_series(timestamp '2024-01-30', timestamp '2024-02-02', interval '1 day');
SELECT d FROM generate_series(date '2024-01-31', date '2024-05-01', '1 month') AS d;
SELECT x FROM generate_series(timestamptz '2024-01-03', timestamptz '2024-01-01', interval '-12 hours') AS x;
-- age
SELECT age(timestamp '2024-03-31', timestamp '2024-01-31 12:00'), age(timestamp '2023-01-31', timestamp '2024-03-01'), age(timestamp '2024-02-29', timestamp '2000-02-29'), age(timestamp '2024-01-01', timestamp '2024-01-01');
-- AT TIME ZONE
SELECT timestamptz '2024-01-01 10:00+00' AT TIME ZONE 'UTC', timestamp '2024-01-01 10:00' AT TIME ZONE 'UTC', timestamp '2024-01-01 10:00' AT TIME ZONE 'GMT', timestamp '2024-01-01 10:00' AT TIME ZONE '+02:00', timestamp '2024-01-01 10:00' AT TIME ZONE 'UTC+2', timestamptz '2024-01-01 10:00+00' AT TIME ZONE '+02:00', timestamptz '2024-01-01 10:00+00' AT TIME ZONE '-05';
SELECT make_date(2024, 2, 29), current_date - current_date;
SELECT to_timestamp(1704164645.5), to_timestamp(0), to_timestamp(-1.25), clock_timestamp() >= now();
SELECT make_interval(1, 2, 3, 4, 5, 6, 7.5), make_interval(days => 10), make_interval(hours => 1, mins => 30), make_interval();
SELECT justify_hours(interval '50 hours'), justify_days(interval '35 days'), justify_interval(interval '1 mon -1 hour'), justify_interval(interval '-1 mon 50 hours');
SELECT extract(hour FROM time '10:30:15.5'), extract(second FROM time '10:30:15.5'), extract(epoch FROM time '10:30:15.5'), date_part('minute', time '10:30:15.5');
SELECT to_char(timestamp '2024-01-02 15:04:05.123456', 'Day Month DY dy MS US Q IW DDD D'), to_char(timestamp '2024-01-02 00:04:05', 'HH12 hh am a.m. P.M. pm YY Y CC J WW SSSS FMHH12 DDth FMDDth MONTH month mon');
SELECT to_char(timestamptz '2024-01-02 15:04:05+00', 'YYYY-MM-DD"T"HH24:MI:SSOF'), to_char(timestamp '2024-11-23 10:00', 'DDTH ID IYYY YYY FMMM/FMDD'), to_char(interval '3 years 2 mons 40 days 50:03:04.5', 'YYYY MM DD HH24 HH MI SS MS');
SELECT localtime IS NOT NULL, localtimestamp IS NOT NULL, current_date IS NOT NULL, age(timestamp '2000-01-01') > interval '20 years';
-- errors
SELECT interval 'x';
SELECT '1 fortnight'::interval;
SELECT '1 day 1 day'::interval;
SELECT '3 4'::interval;
SELECT '25:61:00'::interval;
SELECT date_part('foo', timestamptz '2024-01-02');
SELECT extract(foo FROM timestamp '2024-01-02');
SELECT date_trunc('foo', timestamp '2024-01-01');
SELECT extract(hour FROM date '2024-01-02');
SELECT extract(dow FROM interval '1 day');
SELECT date_trunc('week', interval '10 days');
SELECT extract(timezone FROM timestamp '2024-01-01');
SELECT interval '1 day' / 0;
SELECT extract(day FROM time '10:30');
INSERT INTO dt_events (id, took) VALUES (6, 'soon');
DROP TABLE dt_events;
