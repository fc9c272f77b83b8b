//! The COPY sub-protocol of a connection: CopyInResponse then CopyData until
//! CopyDone (each row inserted through the same translated, prepared INSERT,
//! all in one transaction), or CopyOutResponse, CopyData per row, CopyDone.

use bytes::{Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use pgwire::messages::copy::{CopyData, CopyDone, CopyInResponse, CopyOutResponse};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use rusqlite::types::{Value, ValueRef};

use super::connection::{Connection, Failure};
use super::session::Outcome;
use crate::error::{Error, SqlState};
use crate::live::LiveEvent;
use crate::translate::Plan;
use crate::translate::copy::{self, CopyFormat};
use crate::types::{ColumnType, PgType, binary, input, output};

impl Connection {
    pub(super) async fn copy_in(
        &mut self,
        table: &str,
        columns: &[String],
        format: &CopyFormat,
    ) -> Result<Outcome, Failure> {
        let catalog = self.session.catalog();
        let known = catalog.table(table).ok_or_else(|| {
            Error::new(
                SqlState::UndefinedTable,
                format!("relation \"{table}\" does not exist"),
            )
        })?;
        let columns: Vec<String> = if columns.is_empty() {
            known.columns.iter().map(|c| c.name.clone()).collect()
        } else {
            columns.to_vec()
        };
        let params: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        let insert = format!(
            "INSERT INTO \"{}\" ({}) VALUES ({})",
            known.name,
            quoted.join(", "),
            params.join(", ")
        );
        let plans = self.session.plan(&insert)?;
        let plan = plans
            .first()
            .cloned()
            .ok_or_else(|| Error::internal("empty COPY plan"))?;
        let Plan::Sql(sql) = &plan else {
            return Err(Error::internal("COPY plan is not SQL").into());
        };
        let types: Vec<ColumnType> = sql
            .params
            .iter()
            .map(|t| {
                t.filter(|t| t.ty != PgType::Unknown)
                    .unwrap_or(ColumnType::plain(PgType::Text))
            })
            .collect();

        self.session.begin_implicit();
        let code = i16::from(format.binary);
        let response =
            CopyInResponse::new(code as i8, columns.len() as i16, vec![code; columns.len()]);
        self.socket_mut()
            .send(PgWireBackendMessage::CopyInResponse(response))
            .await?;

        let mut pending: Vec<u8> = Vec::new();
        let mut binary = copy::BinaryReader::default();
        let mut state = Rows {
            count: 0,
            header: format.header,
            error: None,
            ended: false,
        };
        loop {
            match self.socket_mut().next().await {
                Some(Ok(PgWireFrontendMessage::CopyData(data))) if format.binary => {
                    binary.push(&data.data);
                    self.copy_binary_rows(&mut binary, &plan, &types, &mut state)
                        .await;
                }
                Some(Ok(PgWireFrontendMessage::CopyDone(_))) if format.binary => {
                    if binary.incomplete() && state.error.is_none() {
                        state.error = Some(Error::new(
                            SqlState::BadCopyFileFormat,
                            "unexpected EOF in COPY data",
                        ));
                    }
                    break;
                }
                Some(Ok(PgWireFrontendMessage::CopyData(data))) => {
                    pending.extend_from_slice(&data.data);
                    while let Some(end) = pending.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = pending.drain(..=end).collect();
                        self.copy_row(&line[..line.len() - 1], &plan, &types, format, &mut state)
                            .await;
                    }
                }
                Some(Ok(PgWireFrontendMessage::CopyDone(_))) => {
                    if !pending.is_empty() {
                        let line = std::mem::take(&mut pending);
                        self.copy_row(&line, &plan, &types, format, &mut state)
                            .await;
                    }
                    break;
                }
                Some(Ok(PgWireFrontendMessage::CopyFail(fail))) => {
                    state.error = Some(Error::new(
                        SqlState::QueryCanceled,
                        format!("COPY from stdin failed: {}", fail.message),
                    ));
                    break;
                }
                Some(Ok(PgWireFrontendMessage::Flush(_) | PgWireFrontendMessage::Sync(_))) => {}
                Some(Ok(other)) => {
                    state.error = Some(Error::protocol(format!(
                        "unexpected message {other:?} during COPY"
                    )));
                    break;
                }
                Some(Err(e)) => return Err(Error::protocol(e.to_string()).into()),
                None => return Err(Failure::Io(std::io::ErrorKind::UnexpectedEof.into())),
            }
        }
        match state.error {
            Some(e) => Err(e.into()),
            None => Ok(Outcome::Command {
                tag: format!("COPY {}", state.count),
            }),
        }
    }

    /// Inserts the binary rows that arrived whole; as with text, the input
    /// after the first error is read and ignored.
    async fn copy_binary_rows(
        &mut self,
        reader: &mut copy::BinaryReader,
        plan: &Plan,
        types: &[ColumnType],
        state: &mut Rows,
    ) {
        while state.error.is_none() {
            let tuple = match reader.next_tuple() {
                Ok(Some(tuple)) => tuple,
                Ok(None) => return,
                Err(e) => {
                    state.error = Some(e);
                    return;
                }
            };
            let values = check_width(tuple.len(), types.len()).and_then(|()| {
                tuple
                    .iter()
                    .zip(types)
                    .map(|(field, ty)| match field {
                        None => Ok(Value::Null),
                        Some(bytes) => binary::read_binary(ty.ty, bytes),
                    })
                    .collect::<Result<Vec<_>, Error>>()
            });
            self.insert_row(plan, values, state).await;
        }
    }

    /// Runs the COPY's INSERT for one row's values, counting it or keeping
    /// the first error.
    async fn insert_row(
        &mut self,
        plan: &Plan,
        values: Result<Vec<Value>, Error>,
        state: &mut Rows,
    ) {
        let result = match values {
            Ok(values) => self.session.execute(plan, values, None).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(_) => state.count += 1,
            Err(e) => state.error = Some(e),
        }
    }

    /// Inserts one input line; after the first error the rest of the input is
    /// read and ignored (the client keeps sending until CopyDone).
    async fn copy_row(
        &mut self,
        line: &[u8],
        plan: &Plan,
        types: &[ColumnType],
        format: &CopyFormat,
        state: &mut Rows,
    ) {
        if state.error.is_some() || state.ended {
            return;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line == b"\\." {
            state.ended = true;
            return;
        }
        if std::mem::take(&mut state.header) {
            return;
        }
        let values = (|| {
            let text = std::str::from_utf8(line).map_err(|_| {
                Error::new(
                    SqlState::InvalidTextRepresentation,
                    "invalid byte sequence for encoding \"UTF8\"",
                )
            })?;
            let fields = copy::parse_line(text, format)?;
            check_width(fields.len(), types.len())?;
            fields
                .iter()
                .zip(types)
                .map(|(f, ty)| match f {
                    None => Ok(Value::Null),
                    Some(text) => input::from_text(*ty, text),
                })
                .collect::<Result<Vec<_>, Error>>()
        })();
        self.insert_row(plan, values, state).await;
    }

    pub(super) async fn copy_out(
        &mut self,
        query: &str,
        format: &CopyFormat,
    ) -> Result<Outcome, Failure> {
        let plans = self.session.plan(query)?;
        let plan = plans
            .first()
            .cloned()
            .ok_or_else(|| Error::internal("empty COPY query"))?;
        let Outcome::Rows { columns, rows, .. } =
            self.session.execute(&plan, Vec::new(), None).await?
        else {
            return Err(Error::syntax("COPY query must return rows").into());
        };
        let response = CopyOutResponse::new(0, columns.len() as i16, vec![0; columns.len()]);
        self.socket_mut()
            .feed(PgWireBackendMessage::CopyOutResponse(response))
            .await?;
        let count = rows.len();
        let mut rendered = BytesMut::new();
        for row in rows {
            let mut line = String::new();
            for (i, (value, column)) in row.iter().zip(columns.iter()).enumerate() {
                if i > 0 {
                    line.push(format.delimiter);
                }
                let value = ValueRef::from(value);
                if value == ValueRef::Null {
                    copy::write_field(&mut line, None, format);
                } else {
                    rendered.clear();
                    output::write_text(column.ty, value, &mut rendered);
                    copy::write_field(&mut line, Some(&String::from_utf8_lossy(&rendered)), format);
                }
            }
            line.push('\n');
            self.socket_mut()
                .feed(PgWireBackendMessage::CopyData(CopyData::new(Bytes::from(
                    line,
                ))))
                .await?;
        }
        self.socket_mut()
            .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
            .await?;
        Ok(Outcome::Command {
            tag: format!("COPY {count}"),
        })
    }
}

impl Connection {
    /// `COPY (SUBSCRIBE (SELECT ...)) TO STDOUT`, as Materialize streams it:
    /// columns `mz_timestamp` (the LSN), `mz_diff` (+1 a row enters, -1 it
    /// leaves; an update is both), then the query's; the snapshot first
    /// (+1 each, at its LSN), then every change, until the client cancels
    /// (57014) or goes away (noticed when the next row cannot be written).
    /// The socket is not read meanwhile: an extended-protocol client has
    /// already sent its Sync, which is answered after the COPY ends.
    pub(super) async fn copy_subscribe(&mut self, query: &str) -> Result<Outcome, Failure> {
        let (id, mut events) = self.session.stream_live(query)?;
        let result = self.stream(&mut events).await;
        self.session.end_stream(id);
        result
    }

    async fn stream(
        &mut self,
        events: &mut tokio::sync::mpsc::Receiver<LiveEvent>,
    ) -> Result<Outcome, Failure> {
        let format = CopyFormat::default();
        let columns = match events.recv().await {
            Some(LiveEvent::Snapshot {
                lsn, columns, rows, ..
            }) => {
                let width = columns.len() as i16 + 2;
                let response = CopyOutResponse::new(0, width, vec![0; width as usize]);
                self.socket_mut()
                    .feed(PgWireBackendMessage::CopyOutResponse(response))
                    .await?;
                for row in &rows {
                    self.feed_line(lsn, 1, &columns, row, &format).await?;
                }
                columns
            }
            Some(LiveEvent::Failed(e)) => return Err(e.into()),
            _ => return Err(Error::internal("the subscription produced no snapshot").into()),
        };
        let cancel = self.session.cancel.clone();
        loop {
            self.socket_mut().flush().await?;
            let event = tokio::select! {
                event = events.recv() => event,
                _ = cancel.cancelled() => {
                    return Err(Error::new(SqlState::QueryCanceled, "canceling statement due to user request").into());
                }
            };
            match event {
                Some(LiveEvent::Diff(diff)) => {
                    let lines = [(diff.old.as_ref(), -1), (diff.row.as_ref(), 1)];
                    for (row, sign) in lines {
                        if let Some(serde_json::Value::Object(row)) = row {
                            self.feed_line(diff.lsn, sign, &columns, row, &format)
                                .await?;
                        }
                    }
                }
                Some(LiveEvent::Failed(e)) => return Err(e.into()),
                Some(_) => {}
                // The engine dropped it: too slow, or the server is stopping.
                None => {
                    return Err(Error::new(
                        SqlState::ProgramLimitExceeded,
                        "COPY (SUBSCRIBE ...) ended: it fell too far behind, or the server is stopping",
                    )
                    .into());
                }
            }
        }
    }

    async fn feed_line(
        &mut self,
        lsn: i64,
        diff: i64,
        columns: &[String],
        row: &serde_json::Map<String, serde_json::Value>,
        format: &CopyFormat,
    ) -> Result<(), Failure> {
        let mut line = format!("{lsn}{d}{diff}", d = format.delimiter);
        for column in columns {
            line.push(format.delimiter);
            let text = match row.get(column) {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(serde_json::Value::Bool(b)) => Some(if *b { "t" } else { "f" }.to_string()),
                Some(n @ serde_json::Value::Number(_)) => Some(n.to_string()),
                Some(json) => Some(crate::types::json::to_jsonb_text(json)),
            };
            copy::write_field(&mut line, text.as_deref(), format);
        }
        line.push('\n');
        self.socket_mut()
            .feed(PgWireBackendMessage::CopyData(CopyData::new(Bytes::from(
                line,
            ))))
            .await?;
        Ok(())
    }
}

/// Progress of a COPY FROM.
struct Rows {
    count: u64,
    /// A header line still to skip.
    header: bool,
    error: Option<Error>,
    /// `\.` seen: the rest is ignored.
    ended: bool,
}

/// A row of `got` fields for `want` columns: Postgres's 22P04 otherwise.
fn check_width(got: usize, want: usize) -> Result<(), Error> {
    match got.cmp(&want) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less => Err(Error::new(
            SqlState::BadCopyFileFormat,
            "missing data for column",
        )),
        std::cmp::Ordering::Greater => Err(Error::new(
            SqlState::BadCopyFileFormat,
            "extra data after last expected column",
        )),
    }
}
