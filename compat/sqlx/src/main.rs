//! sqlx against a server: migrations, typed binds, `query_as` into structs,
//! transactions, a unique violation and advisory locks. Prints `key=value`
//! lines that compat/test_sqlx.py compares (the same for PostgreSQL and
//! litewire).
//!
//!     sqlx-check postgres://user@host:port/db

use chrono::{DateTime, TimeZone, Utc};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, FromRow, PgPool, Row};

#[derive(FromRow)]
struct Author {
    id: i64,
    name: String,
    email: Option<String>,
    active: bool,
}

#[derive(FromRow)]
struct Book {
    title: String,
    price: f64,
    published_at: Option<DateTime<Utc>>,
    meta: Option<serde_json::Value>,
    pages: Option<i32>,
}

#[derive(FromRow)]
struct Shelf {
    name: String,
    books: i64,
    total: Option<f64>,
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let url = std::env::args().nth(1).ok_or("usage: sqlx-check URL")?;
    let pool = PgPoolOptions::new()
        .max_connections(3)
        .connect(&url)
        .await?;

    migrate(&pool).await?;
    let ann = insert(&pool).await?;
    select(&pool, ann).await?;
    transactions(&pool).await?;
    errors(&pool, ann).await?;
    advisory(&url).await?;
    pool.close().await;
    Ok(())
}

async fn migrate(pool: &PgPool) -> Result<()> {
    let migrator = sqlx::migrate!("./migrations");
    migrator.run(pool).await?;
    // A second run finds everything applied and changes nothing.
    migrator.run(pool).await?;
    let rows: Vec<(i64, bool, Vec<u8>)> =
        sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
            .fetch_all(pool)
            .await?;
    let mut out = String::new();
    for ((version, success, checksum), migration) in rows.iter().zip(migrator.iter()) {
        let same = checksum.as_slice() == &*migration.checksum;
        out += &format!("{version}:{success}:{same};");
    }
    println!("migrations={out}");
    Ok(())
}

/// Typed binds: i64, String, Option, bool, f64, DateTime<Utc>, JSON, i32.
async fn insert(pool: &PgPool) -> Result<i64> {
    let ann: i64 = sqlx::query_scalar(
        "INSERT INTO sqlx_authors (name, email, active) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind("ann")
    .bind(Some("ann@example.com"))
    .bind(true)
    .fetch_one(pool)
    .await?;
    let bob: i64 = sqlx::query_scalar(
        "INSERT INTO sqlx_authors (name, email, active) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind("bob".to_string())
    .bind(None::<String>)
    .bind(false)
    .fetch_one(pool)
    .await?;
    let day = Utc.with_ymd_and_hms(2024, 3, 1, 12, 30, 45).unwrap();
    let books = [
        (
            ann,
            "Rust",
            39.5,
            Some(day),
            Some(serde_json::json!({"tags": ["lang", "sys"], "ed": 2})),
            Some(560),
        ),
        (ann, "SQL", 20.25, None, None, None),
        (
            bob,
            "Wire",
            12.0,
            Some(day + chrono::Duration::days(1)),
            Some(serde_json::json!([1, "two", null])),
            Some(99),
        ),
    ];
    let mut inserted = 0;
    for (author, title, price, published, meta, pages) in books {
        inserted += sqlx::query(
            "INSERT INTO sqlx_books (author_id, title, price, published_at, meta, pages) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(author)
        .bind(title)
        .bind(price)
        .bind(published)
        .bind(meta)
        .bind(pages)
        .execute(pool)
        .await?
        .rows_affected();
    }
    println!("inserted={inserted}");
    Ok(ann)
}

/// `query_as` into structs; fetch_one, fetch_all, fetch_optional.
async fn select(pool: &PgPool, ann: i64) -> Result<()> {
    let authors: Vec<Author> =
        sqlx::query_as("SELECT id, name, email, active FROM sqlx_authors ORDER BY id")
            .fetch_all(pool)
            .await?;
    let mut out = String::new();
    for a in &authors {
        let email = a.email.as_deref().unwrap_or("-");
        out += &format!("{}:{}:{}:{};", a.id - ann + 1, a.name, email, a.active);
    }
    println!("authors={out}");

    let books: Vec<Book> = sqlx::query_as(
        "SELECT title, price, published_at, meta, pages FROM sqlx_books WHERE price > $1 ORDER BY title",
    )
    .bind(10.0_f64)
    .fetch_all(pool)
    .await?;
    let mut out = String::new();
    for b in &books {
        let at = b.published_at.map_or("-".into(), |t| t.to_rfc3339());
        let meta = b.meta.as_ref().map_or("-".into(), |m| m.to_string());
        let pages = b.pages.map_or("-".into(), |p| p.to_string());
        out += &format!("{}:{}:{}:{}:{};", b.title, b.price, at, meta, pages);
    }
    println!("books={out}");

    let one: Author =
        sqlx::query_as("SELECT id, name, email, active FROM sqlx_authors WHERE id = $1")
            .bind(ann)
            .fetch_one(pool)
            .await?;
    let missing: Option<Author> =
        sqlx::query_as("SELECT id, name, email, active FROM sqlx_authors WHERE name = $1")
            .bind("nobody")
            .fetch_optional(pool)
            .await?;
    println!("one={} missing={}", one.name, missing.is_none());
    println!(
        "optional={}",
        missing.map_or("none".to_string(), |a| a.name)
    );

    let shelves: Vec<Shelf> = sqlx::query_as(
        "SELECT a.name, count(b.id) AS books, sum(b.price) AS total FROM sqlx_authors a \
         LEFT JOIN sqlx_books b ON b.author_id = a.id GROUP BY a.name ORDER BY a.name",
    )
    .fetch_all(pool)
    .await?;
    let mut out = String::new();
    for s in &shelves {
        let total = s.total.map_or("-".into(), |t| t.to_string());
        out += &format!("{}:{}:{};", s.name, s.books, total);
    }
    println!("shelves={out}");

    let row = sqlx::query("SELECT count(*) AS n, max(pages) AS most FROM sqlx_books")
        .fetch_one(pool)
        .await?;
    let n: i64 = row.try_get("n")?;
    let most: Option<i32> = row.try_get("most")?;
    println!("count={n} most={}", most.unwrap_or(-1));
    Ok(())
}

/// A committed and a rolled-back transaction, seen from another connection.
async fn transactions(pool: &PgPool) -> Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO sqlx_authors (name) VALUES ($1)")
        .bind("carl")
        .execute(&mut *tx)
        .await?;
    let inside: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlx_authors")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;

    let mut tx = pool.begin().await?;
    sqlx::query("INSERT INTO sqlx_authors (name) VALUES ($1)")
        .bind("dave")
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE sqlx_books SET price = price * 2")
        .execute(&mut *tx)
        .await?;
    tx.rollback().await?;

    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlx_authors ORDER BY name")
        .fetch_all(pool)
        .await?;
    let total: f64 = sqlx::query_scalar("SELECT sum(price) FROM sqlx_books")
        .fetch_one(pool)
        .await?;
    println!("tx inside={inside} names={} total={total}", names.join(","));
    Ok(())
}

/// SQLSTATEs of a unique and a foreign-key violation; a transaction is
/// unusable after an error until it rolls back.
async fn errors(pool: &PgPool, ann: i64) -> Result<()> {
    let code = |e: sqlx::Error| {
        e.as_database_error()
            .and_then(|d| d.code().map(|c| c.into_owned()))
            .unwrap_or_else(|| format!("not a database error: {e}"))
    };
    let unique = sqlx::query("INSERT INTO sqlx_authors (name) VALUES ($1)")
        .bind("ann")
        .execute(pool)
        .await
        .map_or_else(code, |_| "inserted".into());
    println!("unique={unique}");
    let foreign =
        sqlx::query("INSERT INTO sqlx_books (author_id, title, price) VALUES ($1, $2, $3)")
            .bind(ann + 1000)
            .bind("orphan")
            .bind(1.0_f64)
            .execute(pool)
            .await
            .map_or_else(code, |_| "inserted".into());
    println!("foreign={foreign}");

    let mut tx = pool.begin().await?;
    let first = sqlx::query("INSERT INTO sqlx_authors (name) VALUES ($1)")
        .bind("bob")
        .execute(&mut *tx)
        .await
        .map_or_else(code, |_| "inserted".into());
    let after = sqlx::query("SELECT 1")
        .execute(&mut *tx)
        .await
        .map_or_else(code, |_| "ran".into());
    tx.rollback().await?;
    println!("aborted={first},{after}");
    Ok(())
}

/// Session-level advisory locks: held by one connection, refused to another
/// until unlocked; a blocked `pg_advisory_lock` waits until the holder
/// disconnects.
async fn advisory(url: &str) -> Result<()> {
    let mut a = sqlx::PgConnection::connect(url).await?;
    let mut b = sqlx::PgConnection::connect(url).await?;
    let key = 7_001_i64;
    let lock = "SELECT pg_advisory_lock($1)";
    let try_lock = "SELECT pg_try_advisory_lock($1)";
    let unlock = "SELECT pg_advisory_unlock($1)";
    let mut seen = Vec::new();
    sqlx::query(lock).bind(key).execute(&mut a).await?;
    seen.push(ask(&mut b, try_lock, key).await?);
    seen.push(ask(&mut a, unlock, key).await?);
    seen.push(ask(&mut b, try_lock, key).await?);
    // Not a's lock any more: unlocking it answers false.
    seen.push(ask(&mut a, unlock, key).await?);

    // a waits for b's lock; b's session ends a little later and frees it.
    let start = std::time::Instant::now();
    let closer = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        b.close().await
    });
    sqlx::query(lock).bind(key).execute(&mut a).await?;
    let waited = start.elapsed() >= std::time::Duration::from_millis(250);
    closer.await??;
    seen.push(ask(&mut a, unlock, key).await?);
    a.close().await?;
    let seen: Vec<String> = seen.iter().map(bool::to_string).collect();
    println!("advisory={} waited={waited}", seen.join(","));
    Ok(())
}

/// The bool a lock function answers for `key`.
async fn ask(conn: &mut sqlx::PgConnection, sql: &str, key: i64) -> Result<bool> {
    Ok(sqlx::query_scalar(sql).bind(key).fetch_one(conn).await?)
}
