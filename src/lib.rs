//! # litewire
//!
//! A PostgreSQL wire-protocol server in front of an embedded SQLite database.
//! Postgres clients (psql, psycopg, asyncpg, JDBC, ORMs) connect to it as if it
//! were Postgres; their SQL is translated to SQLite and results come back typed
//! and encoded exactly as Postgres would send them.
//!
//! The data path, in module order (each imports only from those before it):
//!
//! - [`config`], [`error`] (SQLSTATE-carrying errors), [`types`] (Postgres types:
//!   canonical storage, text and binary I/O)
//! - [`catalog`] (the user schema as the translator sees it), [`translate`]
//!   (Postgres SQL -> SQLite SQL, pure), [`auth`] (users and SCRAM secrets)
//! - [`store`] (SQLite: one writer, pooled readers, our SQL functions)
//! - [`changes`] (the change stream: capture triggers -> `_lw_changes` ->
//!   dispatcher -> cursors that replay and follow, in LSN order)
//! - [`notify`] (LISTEN/NOTIFY between sessions: channels, bounded queues; the
//!   change stream as `litewire.changes.*` notifications)
//! - [`live`] (live queries: snapshot at an LSN, then diffs; indexed filters,
//!   re-run and diffed otherwise)
//! - [`frontend`] (the wire door: sessions, transactions, simple + extended protocol)
//! - [`gateway`] (the WebSocket door: channels, table feeds, presence, JWT + rules)
//! - [`rest`] (the HTTP door: PostgREST-style tables, SQL, publish, SSE feeds)
//! - [`server`] (wiring and ordered shutdown)
//!
//! References: the Postgres protocol
//! (<https://www.postgresql.org/docs/15/protocol.html>) and error codes
//! (<https://www.postgresql.org/docs/15/errcodes-appendix.html>).

pub mod auth;
pub mod catalog;
pub mod changes;
pub mod config;
pub mod error;
pub mod frontend;
pub mod gateway;
pub mod live;
pub mod metrics;
pub mod notify;
pub mod rest;
pub mod server;
pub mod store;
mod tls;
pub mod translate;
pub mod types;

pub use server::{Listeners, Server, start, start_with};
