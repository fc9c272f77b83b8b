//! The per-connection message loop over pgwire's codec. We drive it ourselves
//! (rather than pgwire's `process_socket`) so the session owns its transaction
//! state and portals, and so a later notification hub can push
//! NotificationResponse to an idle client from the same `select!`.

use std::collections::HashMap;
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use pgwire::messages::data::{NoData, ParameterDescription};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Close, CloseComplete, Describe, Execute, Parse, ParseComplete,
    PortalSuspended,
};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, ErrorResponse, NoticeResponse, NotificationResponse,
    ReadyForQuery, TransactionStatus,
};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::{MaybeTls, PgWireMessageServerCodec};
use rusqlite::types::Value;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

use super::encode;
use super::session::{Described, Outcome, Session};
use crate::error::{Error, Result, SqlState};
use crate::notify::Notification;
use crate::notify::direct::DirectSocket;
use crate::translate::{self, Access, Plan};
use crate::types::{ColumnType, PgType, binary, input};

/// The most notifications an idle session writes before flushing the socket
/// (a bound on the time it spends away from its client's messages).
const PUSH_BATCH: usize = 64;

pub type Socket = Framed<MaybeTls, PgWireMessageServerCodec<String>>;

/// A statement prepared with Parse.
#[derive(Clone)]
struct Prepared {
    plan: Plan,
    /// Parameter types as the client sends them (its OIDs, else ours).
    params: Vec<PgType>,
    /// The column type each parameter lands in, when the translator knows it: a
    /// bound value is converted to it, as Postgres assigns a parameter to a
    /// `numeric(10,2)` column (rounding) whatever type the client declared.
    targets: Vec<Option<ColumnType>>,
    described: Option<Arc<Vec<Described>>>,
}

impl Prepared {
    /// A statement for `plan`, its parameter types as declared (by the
    /// client's Parse or PREPARE's list; `None` leaves one open) or else as
    /// inferred.
    fn new(plan: Plan, declared: &[Option<PgType>]) -> Prepared {
        let inferred = plan.parameters();
        let known = |i: usize| {
            inferred
                .get(i)
                .copied()
                .flatten()
                .filter(|t| t.ty != PgType::Unknown)
        };
        let count = declared.len().max(inferred.len());
        Prepared {
            params: (0..count)
                .map(|i| {
                    declared
                        .get(i)
                        .copied()
                        .flatten()
                        .or_else(|| known(i).map(|t| t.ty))
                        .filter(|t| *t != PgType::Unknown)
                        .unwrap_or(PgType::Text)
                })
                .collect(),
            targets: (0..count).map(known).collect(),
            plan,
            described: None,
        }
    }

    /// Parameter `i` from its bytes (text, or binary when `binary`), in the
    /// stored form of the column type it lands in.
    fn bind_value(&self, i: usize, raw: Option<&[u8]>, binary: bool) -> Result<Value> {
        let ty = self.params[i];
        let value = match raw {
            None => Value::Null,
            Some(bytes) if binary => binary::read_binary(ty, bytes)?,
            Some(bytes) => {
                let text = std::str::from_utf8(bytes).map_err(|_| {
                    Error::new(
                        SqlState::InvalidTextRepresentation,
                        "invalid byte sequence for encoding \"UTF8\"",
                    )
                })?;
                input::from_text(ColumnType::plain(ty), text)?
            }
        };
        match self.targets[i] {
            Some(target) if target != ColumnType::plain(ty) => {
                input::coerce(target, rusqlite::types::ValueRef::from(&value))
            }
            _ => Ok(value),
        }
    }
}

/// A literal a simple query carried, as text (`EXECUTE q(1, 'a')`).
fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Integer(i) => Some(i.to_string()),
        Value::Real(f) => Some(f.to_string()),
        Value::Text(s) => Some(s.clone()),
        Value::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
    }
}

fn duplicate_statement(name: &str) -> Error {
    Error::new(
        SqlState::DuplicatePreparedStatement,
        format!("prepared statement \"{name}\" already exists"),
    )
}

/// A bound portal; rows are produced on first Execute and handed out in
/// `max_rows` slices after that (PortalSuspended in between).
struct Portal {
    statement: Arc<Prepared>,
    params: Vec<Value>,
    formats: Vec<i16>,
    pending: Option<Pending>,
}

struct Pending {
    columns: Arc<Vec<Described>>,
    rows: std::vec::IntoIter<Vec<Value>>,
    tag: String,
}

/// Resolves when a direct write left something for the session to send (the
/// end of a message, or notifications the socket would not take).
async fn backlog_ready(direct: Option<&DirectSocket>) {
    match direct {
        Some(direct) => direct.backlog_ready().await,
        None => std::future::pending().await,
    }
}

pub struct Connection {
    socket: Socket,
    pub(super) session: Session,
    statements: HashMap<String, Arc<Prepared>>,
    portals: HashMap<String, Portal>,
    /// After an error in an extended-protocol batch, messages up to Sync are skipped.
    skip_to_sync: bool,
    /// Notifications for this session (from the hub). When it falls too far
    /// behind, the hub drops it and marks it lagging (`Session::lagging`).
    notifications: mpsc::Receiver<Arc<Notification>>,
    /// Between ReadyForQuery and the next message, outside a transaction
    /// block: the only time Postgres sends a notification on its own
    /// (otherwise they wait for the next ReadyForQuery outside a block).
    idle: bool,
    /// The socket as shared with the hub, which writes notifications to it
    /// directly while this session is idle (plain TCP only).
    direct: Option<Arc<DirectSocket>>,
}

fn status(session: &Session) -> TransactionStatus {
    match session.status() {
        b'T' => TransactionStatus::Transaction,
        b'E' => TransactionStatus::Error,
        _ => TransactionStatus::Idle,
    }
}

fn error_response(err: &Error, severity: &str) -> ErrorResponse {
    let mut fields = vec![
        (b'S', severity.to_string()),
        (b'V', severity.to_string()),
        (b'C', err.state.code().to_string()),
        (b'M', err.message.clone()),
    ];
    if let Some(d) = &err.detail {
        fields.push((b'D', d.clone()));
    }
    if let Some(h) = &err.hint {
        fields.push((b'H', h.clone()));
    }
    ErrorResponse::new(fields)
}

impl Connection {
    pub fn new(
        socket: Socket,
        session: Session,
        notifications: mpsc::Receiver<Arc<Notification>>,
        direct: Option<Arc<DirectSocket>>,
    ) -> Self {
        Connection {
            socket,
            session,
            statements: HashMap::new(),
            portals: HashMap::new(),
            skip_to_sync: false,
            notifications,
            idle: false,
            direct,
        }
    }

    /// Serves the connection until the client leaves, breaks the protocol, or
    /// the server shuts down (57P01 sent). An open transaction is rolled back.
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let message = tokio::select! {
                m = self.socket.next() => m,
                n = self.notifications.recv(), if self.idle => {
                    let pushed = match n {
                        Some(n) => self.push_notifications(Some(n)).await,
                        None => Err(self.overflowed().await),
                    };
                    if pushed.is_err() {
                        break;
                    }
                    continue;
                }
                _ = backlog_ready(self.direct.as_deref()), if self.idle => {
                    if self.push_notifications(None).await.is_err() {
                        break;
                    }
                    continue;
                }
                _ = shutdown.cancelled() => {
                    let err = Error::new(SqlState::AdminShutdown, "terminating connection due to administrator command");
                    if self.take_socket_back().await.is_ok() {
                        let _ = self.socket.send(PgWireBackendMessage::ErrorResponse(error_response(&err, "FATAL"))).await;
                    }
                    break;
                }
            };
            self.idle = false;
            if self.take_socket_back().await.is_err() {
                break;
            }
            let message = match message {
                Some(Ok(PgWireFrontendMessage::Terminate(_))) | None => break,
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    let err = Error::protocol(format!("invalid frontend message: {e}"));
                    let _ = self
                        .socket
                        .send(PgWireBackendMessage::ErrorResponse(error_response(
                            &err, "FATAL",
                        )))
                        .await;
                    break;
                }
            };
            if let Err(e) = self.handle(message).await {
                tracing::debug!(pid = self.session.pid, error = %e, "connection closed");
                break;
            }
        }
        if let Some(direct) = &self.direct {
            direct.close();
        }
        self.session.close().await;
    }

    /// Stops the hub's direct writes before this session writes itself: the
    /// end of a message written only in part goes out first, then the
    /// notifications held for a direct write that did not happen.
    async fn take_socket_back(&mut self) -> std::io::Result<()> {
        let Some(direct) = &self.direct else {
            return Ok(());
        };
        let reclaimed = direct.disarm();
        if !reclaimed.backlog.is_empty() {
            self.socket.get_mut().write_all(&reclaimed.backlog).await?;
        }
        for n in reclaimed.held {
            self.send_notification(n).await?;
        }
        Ok(())
    }

    /// Lets the hub write to the socket directly, unless notifications are
    /// queued (the select loop sends those first, then arms again).
    fn arm_direct(&self) {
        if let Some(direct) = &self.direct {
            direct.arm(&self.notifications);
        }
    }

    pub(super) fn socket_mut(&mut self) -> &mut Socket {
        &mut self.socket
    }

    /// Sends, while idle, what the hub left for this session: the end of a
    /// message it wrote in part, then `first` and what is queued behind it (at
    /// most [`PUSH_BATCH`]) with one flush, so a burst of notifications costs
    /// one write to the socket, not one each. Then the hub may write directly
    /// again. A lagging session ends the connection.
    async fn push_notifications(
        &mut self,
        first: Option<Arc<Notification>>,
    ) -> std::io::Result<()> {
        self.take_socket_back().await?;
        let mut next = first.or_else(|| self.notifications.try_recv().ok());
        let mut budget = PUSH_BATCH;
        while let Some(n) = next.take() {
            if self.session.lagging() {
                return Err(self.overflowed().await);
            }
            self.send_notification(n).await?;
            budget -= 1;
            if budget == 0 {
                break;
            }
            next = self.notifications.try_recv().ok();
        }
        self.socket.flush().await?;
        self.arm_direct();
        Ok(())
    }

    async fn send_notification(&mut self, n: Arc<Notification>) -> std::io::Result<()> {
        let Some(payload) = self.session.outgoing(&n) else {
            return Ok(());
        };
        let message = NotificationResponse::new(n.pid, n.channel.clone(), payload);
        self.send(PgWireBackendMessage::NotificationResponse(message))
            .await
    }

    /// The hub cut this session off: say why, then end the connection.
    async fn overflowed(&mut self) -> std::io::Error {
        let message =
            "notification queue overflow: this session did not read its notifications fast enough";
        let notice = vec![
            (b'S', "WARNING".to_string()),
            (b'V', "WARNING".to_string()),
            (b'C', SqlState::ProgramLimitExceeded.code().to_string()),
            (b'M', message.to_string()),
        ];
        let _ = self
            .send(PgWireBackendMessage::NoticeResponse(NoticeResponse::new(
                notice,
            )))
            .await;
        let err = Error::new(
            SqlState::ProgramLimitExceeded,
            format!("terminating connection: {message}"),
        );
        let _ = self
            .socket
            .send(PgWireBackendMessage::ErrorResponse(error_response(
                &err, "FATAL",
            )))
            .await;
        std::io::Error::other(message)
    }

    async fn send(&mut self, message: PgWireBackendMessage) -> std::io::Result<()> {
        self.socket.feed(message).await
    }

    async fn ready(&mut self) -> std::io::Result<()> {
        if self.session.lagging() {
            return Err(self.overflowed().await);
        }
        // Outside a transaction block, notifications that arrived meanwhile
        // (including this transaction's own) go out before ReadyForQuery, as
        // Postgres sends them; inside one they wait for its end.
        self.idle = self.session.status() == b'I';
        if self.idle {
            for n in self.session.take_replay() {
                self.send_notification(n).await?;
            }
            while let Ok(n) = self.notifications.try_recv() {
                self.send_notification(n).await?;
            }
        }
        let status = status(&self.session);
        self.socket
            .feed(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        self.flush().await?;
        if self.idle {
            self.arm_direct();
        }
        Ok(())
    }

    /// Writes what this session published to idle listeners, then sends what
    /// is buffered for its own client. (Writing the fan-out after the reply
    /// lets the client's next request overlap it, but the publishing thread
    /// is then often preempted by the client it just woke, and listeners
    /// wait: measured, p99 grew from about 1 ms to 3-5 ms.)
    async fn flush(&mut self) -> std::io::Result<()> {
        self.session.fanout.write();
        self.socket.flush().await
    }

    async fn flush_notices(&mut self) -> std::io::Result<()> {
        for notice in std::mem::take(&mut self.session.notices) {
            let severity = notice.severity();
            let fields = vec![
                (b'S', severity.to_string()),
                (b'V', severity.to_string()),
                (b'C', notice.state.code().to_string()),
                (b'M', notice.message),
            ];
            self.send(PgWireBackendMessage::NoticeResponse(NoticeResponse::new(
                fields,
            )))
            .await?;
        }
        Ok(())
    }

    async fn send_error(&mut self, err: &Error) -> std::io::Result<()> {
        self.flush_notices().await?;
        self.send(PgWireBackendMessage::ErrorResponse(error_response(
            err, "ERROR",
        )))
        .await
    }

    /// Handles one message. An `Err` is an I/O failure: the connection ends.
    async fn handle(&mut self, message: PgWireFrontendMessage) -> std::io::Result<()> {
        if self.skip_to_sync
            && !matches!(
                message,
                PgWireFrontendMessage::Sync(_) | PgWireFrontendMessage::Flush(_)
            )
        {
            return Ok(());
        }
        let result = match message {
            PgWireFrontendMessage::Query(q) => return self.simple_query(&q.query).await,
            PgWireFrontendMessage::Sync(_) => {
                self.skip_to_sync = false;
                if let Err(err) = self.session.end_implicit().await {
                    self.send_error(&err).await?;
                }
                return self.ready().await;
            }
            PgWireFrontendMessage::Flush(_) => return self.flush().await,
            PgWireFrontendMessage::Parse(parse) => self.parse(parse).await,
            PgWireFrontendMessage::Bind(bind) => self.bind(bind).await,
            PgWireFrontendMessage::Describe(describe) => self.describe(describe).await,
            PgWireFrontendMessage::Execute(execute) => self.execute(execute).await,
            PgWireFrontendMessage::Close(close) => self.close(close).await,
            PgWireFrontendMessage::CopyData(_)
            | PgWireFrontendMessage::CopyDone(_)
            | PgWireFrontendMessage::CopyFail(_) => Ok(()),
            other => Err(Error::protocol(format!("unexpected message {other:?}")).into()),
        };
        match result {
            Ok(()) => Ok(()),
            Err(Failure::Io(e)) => Err(e),
            Err(Failure::Sql(err)) => {
                self.send_error(&err).await?;
                self.skip_to_sync = true;
                // The client may wait for the error before sending Sync.
                self.socket.flush().await
            }
        }
    }

    async fn simple_query(&mut self, sql: &str) -> std::io::Result<()> {
        // Several statements run as one implicit transaction, each translated
        // just before it runs, against the schema the ones before it left
        // (`CREATE TABLE t ...; CREATE TRIGGER ... ON t ...`).
        if let Some(statements) = translate::split(sql).filter(|s| s.len() > 1) {
            self.session.begin_implicit();
            for statement in statements {
                let plans = match self.session.plan(&statement) {
                    Ok(plans) => plans,
                    Err(err) => {
                        self.session.on_error();
                        self.send_error(&err).await?;
                        break;
                    }
                };
                if !self.run_plans(&plans, Vec::new()).await? {
                    break;
                }
            }
            if let Err(err) = self.session.end_implicit().await {
                self.send_error(&err).await?;
            }
            return self.ready().await;
        }
        match self.session.plan_simple(sql) {
            Ok((plans, literals)) => {
                self.run_plans(&plans, literals).await?;
            }
            Err(err) => {
                if self.session.in_transaction() {
                    self.session.on_error();
                }
                self.send_error(&err).await?;
            }
        }
        self.ready().await
    }

    /// Runs plans of one Query and sends their results; `false` after an
    /// error (the rest of the Query is skipped). `literals` are the parameters
    /// a single normalized statement carries.
    async fn run_plans(
        &mut self,
        plans: &[Plan],
        mut literals: Vec<Value>,
    ) -> std::io::Result<bool> {
        for plan in plans {
            let params = std::mem::take(&mut literals);
            let result = self.run_plan(plan, params, None).await;
            match result {
                Ok(outcome) => {
                    self.flush_notices().await?;
                    self.send_outcome(outcome, &[]).await?
                }
                Err(Failure::Sql(err)) => {
                    self.send_error(&err).await?;
                    return Ok(false);
                }
                Err(Failure::Io(e)) => return Err(e),
            }
        }
        Ok(true)
    }

    async fn copy(&mut self, copy: &crate::translate::copy::Copy) -> Result<Outcome, Failure> {
        use crate::translate::copy::Copy;
        let result = match copy {
            Copy::In {
                table,
                columns,
                format,
            } => self.copy_in(table, columns, format).await,
            Copy::Out { query, format } => self.copy_out(query, format).await,
            Copy::Subscribe { query } => self.copy_subscribe(query).await,
        };
        // A failed or abandoned COPY FROM leaves nothing behind.
        if let Err(Failure::Sql(_)) = &result {
            self.session.on_error();
        }
        result
    }

    async fn send_outcome(&mut self, outcome: Outcome, formats: &[i16]) -> std::io::Result<()> {
        match outcome {
            Outcome::Empty => {
                self.send(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await
            }
            Outcome::Command { tag } => {
                self.send(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                    tag,
                )))
                .await
            }
            Outcome::Rows { columns, rows, tag } => {
                self.send(PgWireBackendMessage::RowDescription(
                    encode::row_description(&columns, formats),
                ))
                .await?;
                for row in rows {
                    match encode::data_row(&columns, &row, formats) {
                        Ok(r) => self.send(PgWireBackendMessage::DataRow(r)).await?,
                        Err(err) => return self.send_error(&err).await,
                    }
                }
                self.send(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                    tag,
                )))
                .await
            }
        }
    }

    async fn parse(&mut self, parse: Parse) -> Result<(), Failure> {
        let name = parse.name.unwrap_or_default();
        if !name.is_empty() && self.statements.contains_key(&name) {
            return Err(duplicate_statement(&name).into());
        }
        let plans = self.session.plan(&parse.query)?;
        if plans.len() > 1 {
            return Err(
                Error::syntax("cannot insert multiple commands into a prepared statement").into(),
            );
        }
        let plan = plans.first().cloned().unwrap_or(Plan::Empty);
        let declared: Vec<Option<PgType>> = parse
            .type_oids
            .iter()
            .map(|oid| PgType::from_oid(*oid).filter(|_| *oid != 0))
            .collect();
        let prepared = Prepared::new(plan, &declared);
        self.statements.insert(name, Arc::new(prepared));
        self.send(PgWireBackendMessage::ParseComplete(ParseComplete::new()))
            .await?;
        Ok(())
    }

    fn statement(&self, name: &str) -> Result<Arc<Prepared>> {
        self.statements
            .get(name)
            .cloned()
            .ok_or_else(|| missing_statement(name))
    }

    async fn bind(&mut self, bind: Bind) -> Result<(), Failure> {
        let statement = self.statement(&bind.statement_name.unwrap_or_default())?;
        if bind.parameters.len() != statement.params.len() {
            return Err(Error::protocol(format!(
                "bind message supplies {} parameters, but prepared statement \"\" requires {}",
                bind.parameters.len(),
                statement.params.len()
            ))
            .into());
        }
        let params = bind
            .parameters
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                let binary = encode::format_for(&bind.parameter_format_codes, i) == 1;
                statement.bind_value(i, raw.as_deref(), binary)
            })
            .collect::<Result<Vec<_>>>()?;
        let name = bind.portal_name.unwrap_or_default();
        self.portals.insert(
            name,
            Portal {
                statement,
                params,
                formats: bind.result_column_format_codes,
                pending: None,
            },
        );
        self.send(PgWireBackendMessage::BindComplete(BindComplete::new()))
            .await?;
        Ok(())
    }

    /// Result columns of a prepared statement, computed once.
    async fn described(&mut self, name: &str) -> Result<Option<Arc<Vec<Described>>>> {
        let statement = self.statement(name)?;
        if let Some(d) = &statement.described {
            return Ok(Some(d.clone()));
        }
        let described = self.session.describe(&statement.plan).await?;
        if let Some(d) = &described {
            let updated = Prepared {
                described: Some(d.clone()),
                ..(*statement).clone()
            };
            self.statements.insert(name.to_string(), Arc::new(updated));
        }
        Ok(described)
    }

    async fn describe(&mut self, describe: Describe) -> Result<(), Failure> {
        let name = describe.name.unwrap_or_default();
        if describe.target_type == b'S' {
            let statement = self.statement(&name)?;
            let oids = statement.params.iter().map(|t| t.oid()).collect();
            let described = self.described(&name).await?;
            self.send(PgWireBackendMessage::ParameterDescription(
                ParameterDescription::new(oids),
            ))
            .await?;
            match described {
                Some(cols) => {
                    self.send(PgWireBackendMessage::RowDescription(
                        encode::row_description(&cols, &[]),
                    ))
                    .await?
                }
                None => {
                    self.send(PgWireBackendMessage::NoData(NoData::new()))
                        .await?
                }
            }
            return Ok(());
        }
        let portal = self
            .portals
            .get(&name)
            .ok_or_else(|| missing_portal(&name))?;
        let formats = portal.formats.clone();
        let statement_name = self
            .statements
            .iter()
            .find(|(_, s)| Arc::ptr_eq(s, &portal.statement))
            .map(|(n, _)| n.clone());
        let described = match statement_name {
            Some(n) => self.described(&n).await?,
            None => self.session.describe(&portal.statement.plan).await?,
        };
        match described {
            Some(cols) => {
                self.send(PgWireBackendMessage::RowDescription(
                    encode::row_description(&cols, &formats),
                ))
                .await?
            }
            None => {
                self.send(PgWireBackendMessage::NoData(NoData::new()))
                    .await?
            }
        }
        Ok(())
    }

    async fn execute(&mut self, execute: Execute) -> Result<(), Failure> {
        let name = execute.name.unwrap_or_default();
        let portal = self
            .portals
            .get_mut(&name)
            .ok_or_else(|| missing_portal(&name))?;
        if portal.pending.is_none() {
            // Writes up to Sync form one implicit transaction; a plain read needs
            // none (each statement reads a fresh snapshot either way), nor do the
            // realtime functions (they register subscriptions, not data).
            let needs_transaction = match &portal.statement.plan {
                Plan::Sql(p) => p.access != Access::Read,
                Plan::Subscribe { .. }
                | Plan::Unsubscribe(_)
                | Plan::ListenDurable { .. }
                | Plan::Ack { .. }
                | Plan::DeclareSubscribe { .. }
                | Plan::Fetch(_)
                | Plan::CloseCursor(_) => false,
                _ => true,
            };
            if needs_transaction {
                self.session.begin_implicit();
            }
            let portal = self.portals.get_mut(&name).expect("present above");
            let statement = portal.statement.clone();
            let params = std::mem::take(&mut portal.params);
            let outcome = self
                .run_plan(&statement.plan, params, statement.described.clone())
                .await?;
            self.flush_notices().await?;
            let portal = self.portals.get_mut(&name).expect("present above");
            match outcome {
                Outcome::Rows { columns, rows, tag } => {
                    portal.pending = Some(Pending {
                        columns,
                        rows: rows.into_iter(),
                        tag,
                    });
                }
                other => {
                    let formats = portal.formats.clone();
                    self.send_outcome(other, &formats).await?;
                    return Ok(());
                }
            }
        }
        let portal = self.portals.get_mut(&name).expect("present above");
        let formats = portal.formats.clone();
        let pending = portal.pending.as_mut().expect("set above");
        let limit = if execute.max_rows > 0 {
            execute.max_rows as usize
        } else {
            usize::MAX
        };
        let columns = pending.columns.clone();
        let mut batch = Vec::new();
        for row in pending.rows.by_ref().take(limit) {
            batch.push(encode::data_row(&columns, &row, &formats)?);
        }
        let exhausted = pending.rows.len() == 0;
        let tag = pending.tag.clone();
        for row in batch {
            self.send(PgWireBackendMessage::DataRow(row)).await?;
        }
        if exhausted {
            self.send(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                tag,
            )))
            .await?;
        } else {
            self.send(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
                .await?;
        }
        Ok(())
    }

    /// `DEALLOCATE name` / `DEALLOCATE ALL` drop the statements that Parse
    /// made (psycopg 3 resets its statement cache this way).
    /// Runs one plan: the connection's own (COPY, prepared statements),
    /// else the session's.
    async fn run_plan(
        &mut self,
        plan: &Plan,
        params: Vec<Value>,
        described: Option<Arc<Vec<Described>>>,
    ) -> Result<Outcome, Failure> {
        match plan {
            Plan::Copy(copy) => self.copy(copy).await,
            Plan::Deallocate(name) => Ok(self.deallocate(name.as_deref())?),
            Plan::Prepare { name, plan, types } => {
                if self.statements.contains_key(name) {
                    return Err(duplicate_statement(name).into());
                }
                let declared: Vec<Option<PgType>> = types.iter().copied().map(Some).collect();
                let prepared = Prepared::new(plan.as_ref().clone(), &declared);
                self.statements.insert(name.clone(), Arc::new(prepared));
                Ok(Outcome::Command {
                    tag: "PREPARE".into(),
                })
            }
            Plan::Execute { name, args } => {
                let statement = self.statement(name)?;
                if args.len() != statement.params.len() {
                    return Err(Error::new(
                        SqlState::SyntaxError,
                        format!("wrong number of parameters for prepared statement \"{name}\""),
                    )
                    .with_detail(format!(
                        "Expected {} parameters but got {}.",
                        statement.params.len(),
                        args.len()
                    ))
                    .into());
                }
                let bound: Vec<Option<String>> = params.iter().map(value_text).collect();
                let values = args
                    .iter()
                    .enumerate()
                    .map(|(i, arg)| {
                        let text = match arg.resolve(&bound)? {
                            serde_json::Value::Null => None,
                            serde_json::Value::String(s) => Some(s),
                            other => Some(other.to_string()),
                        };
                        statement.bind_value(i, text.as_deref().map(str::as_bytes), false)
                    })
                    .collect::<Result<Vec<_>>>()?;
                let plan = statement.plan.clone();
                Box::pin(self.run_plan(&plan, values, statement.described.clone())).await
            }
            plan => Ok(self.session.execute(plan, params, described).await?),
        }
    }

    fn deallocate(&mut self, name: Option<&str>) -> Result<Outcome> {
        let tag = match name {
            None => {
                self.statements.clear();
                "DEALLOCATE ALL"
            }
            Some(name) => {
                self.statements
                    .remove(name)
                    .ok_or_else(|| missing_statement(name))?;
                "DEALLOCATE"
            }
        };
        Ok(Outcome::Command { tag: tag.into() })
    }

    async fn close(&mut self, close: Close) -> Result<(), Failure> {
        let name = close.name.unwrap_or_default();
        if close.target_type == b'S' {
            self.statements.remove(&name);
        } else {
            self.portals.remove(&name);
        }
        self.send(PgWireBackendMessage::CloseComplete(CloseComplete::new()))
            .await?;
        Ok(())
    }
}

fn missing_statement(name: &str) -> Error {
    Error::new(
        SqlState::InvalidSqlStatementName,
        format!("prepared statement \"{name}\" does not exist"),
    )
}

fn missing_portal(name: &str) -> Error {
    Error::new(
        SqlState::InvalidCursorName,
        format!("portal \"{name}\" does not exist"),
    )
}

/// Why handling a message stopped: a SQL error (reported, session goes on) or
/// an I/O error (connection ends).
pub(super) enum Failure {
    Sql(Error),
    Io(std::io::Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Sql(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Io(e)
    }
}
