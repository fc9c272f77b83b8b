//! SSLRequest handling: 'N' without a certificate; with one, a real TLS
//! handshake (rustls client trusting the test certificate) and a Postgres
//! startup over it.

mod common;

use std::sync::Arc;

use common::temp_dir;
use litewire::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A protocol 3.0 StartupMessage for user postgres.
fn startup_message() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&196608i32.to_be_bytes());
    body.extend_from_slice(b"user\0postgres\0\0");
    let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
    msg.extend(body);
    msg
}

async fn ssl_answer(stream: &mut TcpStream) -> u8 {
    stream.write_all(&SSL_REQUEST).await.unwrap();
    let mut answer = [0u8; 1];
    stream.read_exact(&mut answer).await.unwrap();
    answer[0]
}

#[tokio::test]
async fn without_a_certificate_ssl_is_refused_with_n() {
    let server = common::start().await;
    let mut stream = TcpStream::connect(server.pg_addr).await.unwrap();
    assert_eq!(ssl_answer(&mut stream).await, b'N');
    server.stop().await;
}

#[tokio::test]
async fn with_a_certificate_the_session_runs_over_tls() {
    let mut config = Config::new(temp_dir("tls"));
    config.tls_cert = Some(fixture("cert.pem"));
    config.tls_key = Some(fixture("key.pem"));
    let server = common::start_with(config).await;

    let mut stream = TcpStream::connect(server.pg_addr).await.unwrap();
    assert_eq!(ssl_answer(&mut stream).await, b'S');

    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(fixture("cert.pem")).unwrap();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, stream).await.unwrap();

    tls.write_all(&startup_message()).await.unwrap();
    // AuthenticationOk: 'R', length 8, code 0.
    let mut auth = [0u8; 9];
    tls.read_exact(&mut auth).await.unwrap();
    assert_eq!(auth, [b'R', 0, 0, 0, 8, 0, 0, 0, 0]);
    server.stop().await;
}
