//! Commits survive `kill -9`, and logins honour SCRAM passwords (both need the
//! real binary or real config, so they live apart from the wire tests).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{code, connect_as, temp_dir};
use litewire::config::Config;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn connect_port(port: u16) -> tokio_postgres::Client {
    for _ in 0..100 {
        if let Ok((client, conn)) = tokio_postgres::connect(
            &format!("host=127.0.0.1 port={port} user=postgres"),
            tokio_postgres::NoTls,
        )
        .await
        {
            tokio::spawn(conn);
            return client;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("server on {port} never accepted");
}

fn spawn(data: &std::path::Path, port: u16) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_litewire"))
        .args(["serve", "--data-dir"])
        .arg(data)
        .args(["--pg-listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn committed_rows_survive_kill_9() {
    let data = temp_dir("kill9");
    let port = free_port();
    let mut child = spawn(&data, port);
    let db = connect_port(port).await;
    db.batch_execute("CREATE TABLE t (n int)").await.unwrap();
    for i in 0..20 {
        db.execute("INSERT INTO t VALUES ($1)", &[&i])
            .await
            .unwrap();
    }
    db.batch_execute(
        "BEGIN; INSERT INTO t VALUES (100); COMMIT; BEGIN; INSERT INTO t VALUES (200)",
    )
    .await
    .unwrap();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let port = free_port();
    let mut child = spawn(&data, port);
    let db = connect_port(port).await;
    let n: i64 = db
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 21, "every committed row, and not the uncommitted one");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn password_requires_scram_and_wrong_one_is_28p01() {
    let mut config = Config::new(temp_dir("scram"));
    config.password = Some("s3cret".into());
    let server = common::start_with(config).await;
    let err = connect_as(&server, "postgres", Some("wrong"))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "28P01");
    let err = connect_as(&server, "nobody", Some("s3cret"))
        .await
        .unwrap_err();
    assert_eq!(code(&err), "28P01");
    let db = connect_as(&server, "postgres", Some("s3cret"))
        .await
        .unwrap();
    assert_eq!(
        db.query_one("SELECT 1", &[])
            .await
            .unwrap()
            .get::<_, i32>(0),
        1
    );
    server.stop().await;
}
