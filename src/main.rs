//! The `litewire` command: `serve` runs the server, `user add` manages logins.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use litewire::Listeners;
use litewire::config::{self, Config, FileConfig};

#[derive(Parser)]
#[command(
    name = "litewire",
    version,
    about = "Postgres wire protocol on an embedded SQLite database"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Manage the users that may log in over the wire (SCRAM-SHA-256).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Directory for the database file and users; created if missing.
    #[arg(long, env = "LITEWIRE_DATA_DIR", default_value = config::DEFAULT_DATA_DIR)]
    data_dir: PathBuf,
    /// Address of the Postgres wire listener.
    #[arg(long, env = "LITEWIRE_PG_LISTEN", default_value = config::DEFAULT_PG_LISTEN)]
    pg_listen: String,
    /// Address of the HTTP listener (WebSocket gateway at /ws).
    #[arg(long, env = "LITEWIRE_HTTP_LISTEN", default_value = config::DEFAULT_HTTP_LISTEN)]
    http_listen: String,
    /// TOML file with the [auth] (JWT keys, API keys, anon role, rules),
    /// [realtime] (WebSocket limits) and [rest] (REST limits) sections.
    #[arg(long, env = "LITEWIRE_CONFIG")]
    config: Option<PathBuf>,
    /// HS256 secret for WebSocket JWTs (overrides [auth] jwt_secret).
    #[arg(long, env = "LITEWIRE_JWT_SECRET")]
    jwt_secret: Option<String>,
    /// Password for the `postgres` user; when set, logins require SCRAM-SHA-256.
    #[arg(long, env = "LITEWIRE_PASSWORD")]
    password: Option<String>,
    /// PEM certificate chain for TLS on the wire (with --tls-key).
    #[arg(long, env = "LITEWIRE_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for TLS on the wire (with --tls-cert).
    #[arg(long, env = "LITEWIRE_TLS_KEY")]
    tls_key: Option<PathBuf>,
    /// Number of pooled SQLite reader connections.
    #[arg(long, env = "LITEWIRE_READERS", default_value_t = config::DEFAULT_READERS)]
    readers: usize,
    /// Maximum concurrent wire connections (more get SQLSTATE 53300).
    #[arg(long, env = "LITEWIRE_MAX_CONNECTIONS", default_value_t = config::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
}

#[derive(Subcommand)]
enum UserAction {
    /// Add a user (or change its password); the password is read from
    /// LITEWIRE_USER_PASSWORD or the first line of standard input.
    Add {
        name: String,
        #[arg(long, env = "LITEWIRE_DATA_DIR", default_value = config::DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LITEWIRE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let result = match Cli::parse().command {
        Command::Serve(args) => serve(args),
        Command::User {
            action: UserAction::Add { name, data_dir },
        } => add_user(&name, &data_dir),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("litewire: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let file = match &args.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let pg = bind(&args.pg_listen).await?;
        let http = bind(&args.http_listen).await?;
        let mut config = Config::new(args.data_dir);
        config.auth = file.auth;
        config.realtime = file.realtime;
        config.rest = file.rest;
        if let Some(secret) = args.jwt_secret {
            config.auth.jwt_secret = Some(secret);
        }
        config.password = args.password;
        config.tls_cert = args.tls_cert;
        config.tls_key = args.tls_key;
        config.readers = args.readers;
        config.max_connections = args.max_connections;
        let data_dir = config.data_dir.clone();
        let server = litewire::start_with(
            config,
            Listeners {
                pg,
                http: Some(http),
            },
        )
        .await
        .map_err(|e| e.to_string())?;
        tracing::info!(
            pg = %server.pg_addr,
            ws = %format!("ws://{}/ws", args.http_listen),
            data = %data_dir.display(),
            "litewire listening"
        );
        wait_for_signal().await;
        tracing::info!("shutting down");
        server.stop().await;
        Ok(())
    })
}

async fn bind(addr: &str) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn add_user(name: &str, data_dir: &std::path::Path) -> Result<(), String> {
    let password = match std::env::var("LITEWIRE_USER_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if password.is_empty() {
        return Err("empty password".into());
    }
    std::fs::create_dir_all(data_dir).map_err(|e| e.to_string())?;
    let mut users = litewire::auth::Users::load(data_dir).map_err(|e| e.to_string())?;
    users.set_password(name, &password);
    users.save(data_dir).map_err(|e| e.to_string())?;
    println!(
        "user {name} saved in {}",
        litewire::auth::Users::file(data_dir).display()
    );
    Ok(())
}
