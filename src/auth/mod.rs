//! Who may connect and what they may do: wire users with SCRAM secrets
//! ([`users`]), JWTs for the WebSocket and HTTP doors ([`jwt`]), and the rules
//! that decide which channels, tables and rows a role may use ([`rules`]).

pub mod guard;
pub mod jwt;
pub mod rules;
mod users;

pub use users::{SCRAM_ITERATIONS, Users, UsersError};
