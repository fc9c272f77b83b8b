//! The Postgres date/time dialect over the wire: `interval` in text and binary,
//! date/time arithmetic, `extract`/`date_part`, `date_trunc`, `age` and
//! `AT TIME ZONE`. Every expected value and type was first taken from
//! PostgreSQL 15 (TimeZone UTC, DateStyle ISO).

mod common;

use chrono::{NaiveDate, NaiveDateTime};
use common::{code, connect, start};
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

/// `interval` in Postgres's binary layout: microseconds, days, months.
#[derive(Debug, PartialEq)]
struct PgInterval {
    micros: i64,
    days: i32,
    months: i32,
}

impl<'a> FromSql<'a> for PgInterval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        if raw.len() != 16 {
            return Err("interval is 16 bytes".into());
        }
        Ok(iv(
            i32::from_be_bytes(raw[12..].try_into()?),
            i32::from_be_bytes(raw[8..12].try_into()?),
            i64::from_be_bytes(raw[..8].try_into()?),
        ))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

impl ToSql for PgInterval {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        out.extend_from_slice(&self.micros.to_be_bytes());
        out.extend_from_slice(&self.days.to_be_bytes());
        out.extend_from_slice(&self.months.to_be_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }

    to_sql_checked!();
}

fn simple_values(messages: &[SimpleQueryMessage]) -> Vec<Option<String>> {
    messages
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(str::to_string))),
            _ => None,
        })
        .flatten()
        .collect()
}

fn texts(values: &[&str]) -> Vec<Option<String>> {
    values.iter().map(|v| Some(v.to_string())).collect()
}

fn iv(months: i32, days: i32, micros: i64) -> PgInterval {
    PgInterval {
        micros,
        days,
        months,
    }
}

fn types(columns: &[tokio_postgres::Column]) -> Vec<Type> {
    columns.iter().map(|c| c.type_().clone()).collect()
}

fn ts(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap()
}

const HOUR: i64 = 3_600_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_text_output_matches_postgres() {
    let server = start().await;
    let db = connect(&server).await;
    let rows = db
        .simple_query(
            "SELECT interval '1 day 2 hours', INTERVAL '1 year 2 mons 3 days 04:05:06', \
             '1.5 hours'::interval, interval '-1 second', interval '0', interval 'P1D', \
             interval '-1 days 2 hours', interval '1 mon' / 7",
        )
        .await
        .unwrap();
    let expected = [
        "1 day 02:00:00",
        "1 year 2 mons 3 days 04:05:06",
        "01:30:00",
        "-00:00:01",
        "00:00:00",
        "1 day",
        "-1 days +02:00:00",
        "4 days 06:51:25.6896",
    ];
    assert_eq!(simple_values(&rows), texts(&expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_columns_and_parameters_in_binary_and_text() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute("CREATE TABLE jobs (id int PRIMARY KEY, took interval)")
        .await
        .unwrap();
    let insert = db
        .prepare("INSERT INTO jobs VALUES ($1, $2)")
        .await
        .unwrap();
    assert_eq!(insert.params(), &[Type::INT4, Type::INTERVAL]);
    let day_and_two_hours = iv(0, 1, 2 * HOUR);
    db.execute(&insert, &[&1i32, &day_and_two_hours])
        .await
        .unwrap();
    let year_two_months = iv(14, 0, 0);
    db.execute(&insert, &[&2i32, &year_two_months])
        .await
        .unwrap();
    // Text input through a text parameter cast to interval.
    let text_param = db
        .prepare_typed("INSERT INTO jobs VALUES (3, $1::interval)", &[Type::TEXT])
        .await
        .unwrap();
    db.execute(&text_param, &[&"-00:00:01"]).await.unwrap();

    let rows = db
        .query("SELECT id, took FROM jobs ORDER BY took", &[])
        .await
        .unwrap();
    assert_eq!(rows[0].columns()[1].type_(), &Type::INTERVAL);
    let got: Vec<(i32, PgInterval)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        got,
        vec![
            (3, iv(0, 0, -1_000_000)),
            (1, day_and_two_hours),
            (2, year_two_months),
        ]
    );
    let text = db
        .simple_query("SELECT took FROM jobs WHERE took > interval '1 hour' ORDER BY id")
        .await
        .unwrap();
    assert_eq!(
        simple_values(&text),
        texts(&["1 day 02:00:00", "1 year 2 mons"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_time_arithmetic_matches_postgres() {
    let server = start().await;
    let db = connect(&server).await;
    let row = db
        .query_one(
            "SELECT '2024-01-31'::date + interval '1 month', \
             timestamp '2024-01-03 03:00' - timestamp '2024-01-01', \
             date '2024-03-01' - date '2024-02-01', date '2024-02-28' + 2, \
             timestamptz '2024-01-01 10:00+00' + $1, interval '1 day' * 1.5",
            &[&iv(1, 0, HOUR)],
        )
        .await
        .unwrap();
    assert_eq!(
        types(row.columns()),
        vec![
            Type::TIMESTAMP,
            Type::INTERVAL,
            Type::INT4,
            Type::DATE,
            Type::TIMESTAMPTZ,
            Type::INTERVAL
        ]
    );
    assert_eq!(row.get::<_, NaiveDateTime>(0), ts("2024-02-29 00:00:00"));
    assert_eq!(row.get::<_, PgInterval>(1), iv(0, 2, 3 * HOUR));
    assert_eq!(row.get::<_, i32>(2), 29);
    assert_eq!(
        row.get::<_, NaiveDate>(3),
        NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()
    );
    assert_eq!(
        row.get::<_, chrono::DateTime<chrono::Utc>>(4).naive_utc(),
        ts("2024-02-01 11:00:00")
    );
    assert_eq!(row.get::<_, PgInterval>(5), iv(0, 1, 12 * HOUR));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extract_is_numeric_and_date_part_is_double() {
    let server = start().await;
    let db = connect(&server).await;
    let sql = "SELECT extract(epoch FROM timestamp '2024-01-02 03:04:05'), \
               extract(second FROM timestamp '2024-01-02 03:04:05.5'), \
               extract(year FROM date '2024-01-02'), \
               date_part('epoch', timestamp '2024-01-02 03:04:05'), \
               date_part('dow', date '2024-01-07'), \
               date_part('epoch', interval '1 year 2 mons 3 days 04:05:06.5')";
    let stmt = db.prepare(sql).await.unwrap();
    assert_eq!(
        types(stmt.columns()),
        vec![
            Type::NUMERIC,
            Type::NUMERIC,
            Type::NUMERIC,
            Type::FLOAT8,
            Type::FLOAT8,
            Type::FLOAT8
        ]
    );
    let row = db.query_one(&stmt, &[]).await.unwrap();
    assert_eq!(row.get::<_, f64>(3), 1704164645.0);
    assert_eq!(row.get::<_, f64>(4), 0.0);
    assert_eq!(row.get::<_, f64>(5), 37015506.5);
    let text = db.simple_query(sql).await.unwrap();
    assert_eq!(
        simple_values(&text)[..3],
        texts(&["1704164645.000000", "5.500000", "2024"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn date_trunc_age_and_time_zones_match_postgres() {
    let server = start().await;
    let db = connect(&server).await;
    let row = db
        .query_one(
            "SELECT date_trunc('week', timestamp '2024-05-19 10:11:12'), \
             date_trunc('month', date '2024-05-17'), \
             date_trunc('hour', interval '1 day 03:45:12'), \
             age(timestamp '2024-03-31', timestamp '2024-01-31 12:00'), \
             timestamptz '2024-01-01 10:00+00' AT TIME ZONE 'UTC', \
             timestamp '2024-01-01 10:00' AT TIME ZONE 'UTC+2'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        types(row.columns()),
        vec![
            Type::TIMESTAMP,
            Type::TIMESTAMPTZ,
            Type::INTERVAL,
            Type::INTERVAL,
            Type::TIMESTAMP,
            Type::TIMESTAMPTZ
        ]
    );
    assert_eq!(row.get::<_, NaiveDateTime>(0), ts("2024-05-13 00:00:00"));
    assert_eq!(
        row.get::<_, chrono::DateTime<chrono::Utc>>(1).naive_utc(),
        ts("2024-05-01 00:00:00")
    );
    assert_eq!(row.get::<_, PgInterval>(2), iv(0, 1, 3 * HOUR));
    assert_eq!(row.get::<_, PgInterval>(3), iv(1, 30, 12 * HOUR));
    assert_eq!(row.get::<_, NaiveDateTime>(4), ts("2024-01-01 10:00:00"));
    assert_eq!(
        row.get::<_, chrono::DateTime<chrono::Utc>>(5).naive_utc(),
        ts("2024-01-01 12:00:00")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_date_time_input_gets_postgres_sqlstates() {
    let server = start().await;
    let db = connect(&server).await;
    for (sql, expected) in [
        ("SELECT interval 'x'", "22007"),
        ("SELECT 'soon'::interval", "22007"),
        ("SELECT date_part('foo', timestamptz '2024-01-02')", "22023"),
        ("SELECT extract(foo FROM timestamp '2024-01-02')", "22023"),
        ("SELECT date_trunc('foo', timestamp '2024-01-01')", "22023"),
        ("SELECT extract(hour FROM date '2024-01-02')", "0A000"),
        ("SELECT extract(dow FROM interval '1 day')", "0A000"),
        ("SELECT interval '1 day' / 0", "22012"),
    ] {
        let err = db.simple_query(sql).await.unwrap_err();
        assert_eq!(code(&err), expected, "{sql}");
    }
    let err = db
        .query_one("SELECT date_part('foo', timestamptz '2024-01-02')", &[])
        .await
        .unwrap_err();
    assert_eq!(
        err.as_db_error().unwrap().message(),
        "unit \"foo\" not recognized for type timestamp with time zone"
    );
    // The session survives its errors.
    let row = db
        .query_one("SELECT interval '2 hours' = interval '120 minutes'", &[])
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_aggregates_mixed_comparisons_and_to_char() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(
        "CREATE TABLE runs (id int, took interval, day date, at timestamp);
         INSERT INTO runs VALUES (1, '1 day', '2024-01-01', '2024-01-01 10:00'),
           (2, '25 hours', '2024-01-02', '2024-01-02 00:00'), (3, '1 mon', '2024-01-01', '2024-01-01')",
    )
    .await
    .unwrap();
    let row = db
        .query_one(
            "SELECT sum(took), avg(took), max(took), \
             (SELECT count(*) FROM runs WHERE day = at), \
             to_char(max(at), 'Dy DD Mon YYYY HH12:MI AM'), \
             make_interval(days => 10), justify_interval(interval '1 mon -1 hour') FROM runs",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        types(row.columns()),
        vec![
            Type::INTERVAL,
            Type::INTERVAL,
            Type::INTERVAL,
            Type::INT8,
            Type::TEXT,
            Type::INTERVAL,
            Type::INTERVAL
        ]
    );
    assert_eq!(row.get::<_, PgInterval>(0), iv(1, 1, 25 * HOUR));
    assert_eq!(
        row.get::<_, PgInterval>(1),
        iv(0, 10, 16 * HOUR + 20 * 60_000_000)
    );
    assert_eq!(row.get::<_, PgInterval>(2), iv(1, 0, 0));
    assert_eq!(row.get::<_, i64>(3), 2);
    assert_eq!(row.get::<_, &str>(4), "Tue 02 Jan 2024 12:00 AM");
    assert_eq!(row.get::<_, PgInterval>(5), iv(0, 10, 0));
    assert_eq!(row.get::<_, PgInterval>(6), iv(0, 29, 23 * HOUR));
    // Interval expressions order by value, not by their text.
    let rows = db
        .query(
            "SELECT id, timestamp '2024-01-03' - at AS left_over FROM runs ORDER BY left_over",
            &[],
        )
        .await
        .unwrap();
    let ids: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(ids, vec![2, 1, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn precision_typmods_round_like_postgres() {
    let server = start().await;
    let db = connect(&server).await;
    db.batch_execute(
        "CREATE TABLE stamps (a timestamp(0) without time zone, b timestamptz(3), c interval(0));
         INSERT INTO stamps VALUES ('2024-01-01 10:00:00.6', '2024-01-01 10:00:00.12345+00', '1.5 seconds')",
    )
    .await
    .unwrap();
    let row = db
        .query_one("SELECT a, b, c FROM stamps", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, NaiveDateTime>(0), ts("2024-01-01 10:00:01"));
    assert_eq!(
        row.get::<_, chrono::DateTime<chrono::Utc>>(1).naive_utc(),
        ts("2024-01-01 10:00:00.123")
    );
    assert_eq!(row.get::<_, PgInterval>(2), iv(0, 0, 2_000_000));
    let row = db
        .query_one(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
             WHERE attrelid = 'stamps'::regclass AND attname = 'b'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, &str>(0), "timestamp(3) with time zone");
}
