//! SQL functions and the collation litewire registers on every SQLite connection.
//! They are the runtime half of the translator: `translate` rewrites Postgres
//! operators and functions into calls to these (`total::int` -> `lw_cast(...)`,
//! `a + b` on numerics -> `lw_num_add(a, b)`, `now()` -> `lw_now()`).
//! Errors carry their SQLSTATE through [`crate::error::function_error`].

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use rusqlite::functions::{Aggregate, Context, FunctionFlags};
use rusqlite::types::{Value, ValueRef};
use rust_decimal::Decimal;

use crate::catalog::SearchPath;
use crate::error::{Error, function_error};
use crate::types::{ColumnType, PgType, TypeModifier, array, datetime, input, json, numeric};

/// What SQL functions need to know about the session running the current
/// statement, set by the session before each statement on this connection:
/// `now()` (the transaction's start, as in Postgres), `pg_backend_pid()`, and
/// where `pg_notify()` queues its notifications until the session takes them.
#[derive(Clone, Default)]
pub struct StatementContext(Arc<Mutex<ContextState>>);

#[derive(Default)]
struct ContextState {
    now: Option<DateTime<Utc>>,
    pid: i32,
    notifications: Vec<(String, String)>,
    /// Table definition changes ALTER TABLE queued (`lw_alter_table`), for
    /// the store to apply after the statement (see `store::alter`).
    alterations: Vec<(String, String)>,
    /// `set_config(name, value, is_local)` calls, for the session to apply
    /// after the statement (it owns the settings).
    set_configs: Vec<(String, String, bool)>,
    /// The search path as the statement sees it, parsed once for all the rows
    /// that ask (`pg_table_is_visible` over a whole catalog); reset by a
    /// `set_config` of it.
    search_path: Option<SearchPath>,
    listening: Vec<String>,
    /// The user and database of the statement's session (`current_user`,
    /// `current_database()`).
    identity: Option<(String, String)>,
    /// The session's settings (`current_setting()`); none for the HTTP doors.
    settings: Option<Arc<dyn SessionSettings>>,
    /// Advisory locks the statement took so far (key, transaction level),
    /// given back if a later one is busy (see `store::advisory`).
    advisory: Vec<(super::advisory::Key, bool)>,
}

/// A session's settings as `current_setting(name)` reads them (the front end
/// owns them; statements carry a shared handle).
pub trait SessionSettings: Send + Sync {
    fn setting(&self, name: &str) -> Option<String>;
}

impl StatementContext {
    fn state(&self) -> std::sync::MutexGuard<'_, ContextState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a statement of session `pid` whose `now()` is `now` and which
    /// LISTENs on `listening`.
    pub fn begin_statement(&self, now: DateTime<Utc>, pid: i32, listening: Vec<String>) {
        let mut state = self.state();
        state.now = Some(now);
        state.pid = pid;
        state.notifications.clear();
        state.alterations.clear();
        state.set_configs.clear();
        state.search_path = None;
        state.listening = listening;
        state.identity = None;
        state.settings = None;
        state.advisory.clear();
    }

    /// Names the user and database of the statement's session; statements of
    /// the HTTP doors leave them unset and see the defaults, `postgres`.
    pub fn set_identity(&self, user: &str, database: &str) {
        self.state().identity = Some((user.to_string(), database.to_string()));
    }

    /// Lends the statement its session's settings.
    pub fn set_settings(&self, settings: Arc<dyn SessionSettings>) {
        self.state().settings = Some(settings);
    }

    fn identity(&self) -> (String, String) {
        self.state()
            .identity
            .clone()
            .unwrap_or_else(|| ("postgres".into(), "postgres".into()))
    }

    /// The notifications `pg_notify()` queued during the statement.
    pub fn take_notifications(&self) -> Vec<(String, String)> {
        std::mem::take(&mut self.state().notifications)
    }

    /// The table changes `lw_alter_table()` queued: (table, change as JSON).
    pub fn take_alterations(&self) -> Vec<(String, String)> {
        std::mem::take(&mut self.state().alterations)
    }

    /// Setting `name` as the statement sees it: its own `set_config()`
    /// calls first, then its session's settings.
    fn setting(&self, name: &str) -> Option<String> {
        let (set, session) = {
            let state = self.state();
            let set = state
                .set_configs
                .iter()
                .rev()
                .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v, _)| v.clone());
            (set, state.settings.clone())
        };
        set.or_else(|| session.and_then(|s| s.setting(name)))
    }

    /// Where schema `name` is on the statement's search path (0 first).
    fn search_position(&self, name: &str) -> Option<usize> {
        if let Some(path) = &self.state().search_path {
            return path.position(name);
        }
        let path = self
            .setting("search_path")
            .map_or_else(SearchPath::default, |s| SearchPath::parse(&s));
        let position = path.position(name);
        self.state().search_path = Some(path);
        position
    }

    /// The settings `set_config()` changed: (name, value, is_local).
    pub fn take_set_configs(&self) -> Vec<(String, String, bool)> {
        std::mem::take(&mut self.state().set_configs)
    }

    pub(super) fn note_advisory(&self, key: super::advisory::Key, xact: bool) {
        self.state().advisory.push((key, xact));
    }

    pub(super) fn take_advisory(&self) -> Vec<(super::advisory::Key, bool)> {
        std::mem::take(&mut self.state().advisory)
    }

    /// The backend pid of the statement's session.
    pub fn pid(&self) -> i32 {
        self.state().pid
    }

    fn now(&self) -> DateTime<Utc> {
        self.state().now.unwrap_or_else(Utc::now)
    }
}

pub(super) fn to_sqlite(err: Error) -> rusqlite::Error {
    function_error(err.state, err.message)
}

fn type_arg(ctx: &Context<'_>, idx: usize) -> rusqlite::Result<ColumnType> {
    let name: String = ctx.get(idx)?;
    ColumnType::parse(&name)
        .ok_or_else(|| to_sqlite(Error::internal(format!("unknown type {name}"))))
}

fn decimal_arg(ctx: &Context<'_>, idx: usize) -> rusqlite::Result<Option<Decimal>> {
    Ok(match ctx.get_raw(idx) {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(Decimal::from(i)),
        ValueRef::Real(f) => {
            Some(Decimal::try_from(f).map_err(|_| to_sqlite(numeric::overflow()))?)
        }
        ValueRef::Text(t) | ValueRef::Blob(t) => {
            Some(numeric::parse(&String::from_utf8_lossy(t)).map_err(to_sqlite)?)
        }
    })
}

/// A rounding function by name, on exact numerics and on floats.
type Rounding = (&'static str, fn(&Decimal) -> Decimal, fn(f64) -> f64);

pub(super) const PURE: FunctionFlags =
    FunctionFlags::SQLITE_UTF8.union(FunctionFlags::SQLITE_DETERMINISTIC);
const VOLATILE: FunctionFlags = FunctionFlags::SQLITE_UTF8;

/// Registers everything on `conn`.
/// Where `litewire.presence` reads the realtime presence from: set once by the
/// server to the presence hub (a layer above the store), read at query time.
pub type PresenceSource = Arc<std::sync::OnceLock<Box<dyn Fn() -> String + Send + Sync>>>;

pub fn register(
    conn: &Connection,
    context: StatementContext,
    presence: PresenceSource,
) -> rusqlite::Result<()> {
    conn.create_collation("lw_numeric", numeric::compare_text)?;
    conn.create_collation("lw_jsonb", json::compare_text)?;
    // A JSON array of {channel, key, state, joined_at}.
    conn.create_scalar_function("lw_presence", 0, VOLATILE, move |_| {
        Ok(presence
            .get()
            .map_or_else(|| "[]".to_string(), |rows| rows()))
    })?;

    let now = context.clone();
    conn.create_scalar_function("lw_now", 0, VOLATILE, move |_| {
        Ok(datetime::format_timestamptz(now.now()))
    })?;
    let user = context.clone();
    conn.create_scalar_function("lw_current_user", 0, VOLATILE, move |_| {
        Ok(user.identity().0)
    })?;
    let database = context.clone();
    conn.create_scalar_function("lw_current_database", 0, VOLATILE, move |_| {
        Ok(database.identity().1)
    })?;
    let pid = context.clone();
    conn.create_scalar_function("lw_backend_pid", 0, VOLATILE, move |_| Ok(pid.state().pid))?;
    conn.create_aggregate_function(
        "lw_publish_batch",
        2,
        VOLATILE,
        PublishBatch(context.clone()),
    )?;
    let listening = context.clone();
    conn.create_scalar_function("lw_listening_channels", 0, VOLATILE, move |_| {
        Ok(serde_json::to_string(&listening.state().listening).unwrap_or_else(|_| "[]".into()))
    })?;
    // current_setting(name [, missing_ok]): 42704 for a name no session has.
    for arity in [1, 2] {
        let settings = context.clone();
        conn.create_scalar_function("current_setting", arity, VOLATILE, move |ctx| {
            let name: String = ctx.get(0)?;
            let missing_ok = arity == 2 && ctx.get::<Option<bool>>(1)?.unwrap_or(false);
            match settings.setting(&name) {
                Some(value) => Ok(Some(value)),
                None if missing_ok => Ok(None),
                None => Err(to_sqlite(Error::new(
                    crate::error::SqlState::UndefinedObject,
                    format!("unrecognized configuration parameter \"{name}\""),
                ))),
            }
        })?;
    }
    // Where schema `name` is on the session's search_path (0 first); NULL
    // when it is not on it. The HTTP doors search the default path.
    let path = context.clone();
    conn.create_scalar_function("lw_search_position", 1, VOLATILE, move |ctx| {
        let name: String = ctx.get(0)?;
        Ok(path.search_position(&name).map(|p| p as i64))
    })?;
    // set_config(name, value, is_local): queued for the session, which owns
    // the settings (is_local is SET LOCAL).
    let set = context.clone();
    conn.create_scalar_function("set_config", 3, VOLATILE, move |ctx| {
        let name: String = ctx.get(0)?;
        let value: String = ctx.get::<Option<String>>(1)?.unwrap_or_default();
        let local = ctx.get::<Option<bool>>(2)?.unwrap_or(false);
        let mut state = set.state();
        if name.eq_ignore_ascii_case("search_path") {
            state.search_path = None;
        }
        state.set_configs.push((name, value.clone(), local));
        Ok(value)
    })?;
    let alter = context.clone();
    conn.create_scalar_function("lw_alter_table", 2, VOLATILE, move |ctx| {
        alter.state().alterations.push((ctx.get(0)?, ctx.get(1)?));
        Ok(true)
    })?;
    // pg_notify(channel, payload): queued with the statement, delivered by the
    // session at commit. Returns void (an empty value).
    conn.create_scalar_function("lw_notify", 2, VOLATILE, move |ctx| {
        let channel: Option<String> = ctx.get(0)?;
        let payload: Option<String> = ctx.get(1)?;
        let channel = channel.unwrap_or_default();
        let payload = payload.unwrap_or_default();
        crate::translate::validate_notification(&channel, &payload).map_err(to_sqlite)?;
        context.state().notifications.push((channel, payload));
        Ok(String::new())
    })?;
    conn.create_scalar_function("lw_uuid", 0, VOLATILE, |_| {
        Ok(uuid::Uuid::new_v4().hyphenated().to_string())
    })?;
    conn.create_scalar_function("lw_in", 2, PURE, |ctx| {
        let ct = type_arg(ctx, 1)?;
        input::coerce(ct, ctx.get_raw(0)).map_err(to_sqlite)
    })?;
    conn.create_scalar_function("lw_cast", 3, PURE, |ctx| {
        let from: String = ctx.get(1)?;
        let to = type_arg(ctx, 2)?;
        cast(ctx.get_raw(0), PgType::from_sql_name(&from), to).map_err(to_sqlite)
    })?;
    // Postgres string functions SQLite lacks, under their Postgres names.
    conn.create_scalar_function("repeat", 2, PURE, |ctx| {
        let text: Option<String> = ctx.get(0)?;
        let times: i64 = ctx.get(1)?;
        Ok(text.map(|t| t.repeat(times.max(0) as usize)))
    })?;
    register_numeric(conn)?;
    register_json(conn)?;
    super::datetime_functions::register(conn)?;
    super::text_functions::register(conn)?;
    super::math_functions::register(conn)?;
    Ok(())
}

/// `value::type`. Numeric sources round into integers (Postgres rounds half away
/// from zero); text sources parse with the target's input function.
fn cast(value: ValueRef<'_>, from: Option<PgType>, to: ColumnType) -> Result<Value, Error> {
    // An explicit cast to varchar(n)/char(n) truncates; assignment refuses (22001).
    if let (ValueRef::Text(t), TypeModifier::Length(n)) = (value, to.modifier) {
        let text: String = String::from_utf8_lossy(t)
            .chars()
            .take(n as usize)
            .collect();
        return input::from_text(to, &text);
    }
    match (from, value) {
        (Some(PgType::Numeric), ValueRef::Text(t)) if to.ty.is_integer() => {
            let d = numeric::parse(&String::from_utf8_lossy(t))?;
            input::coerce(to, ValueRef::Integer(numeric::to_i64(d)?))
        }
        (Some(PgType::Numeric), ValueRef::Text(t)) if to.ty.is_float() => {
            let d = numeric::parse(&String::from_utf8_lossy(t))?;
            Ok(Value::Real(d.to_string().parse().unwrap_or(f64::NAN)))
        }
        (Some(PgType::Bool), ValueRef::Integer(i)) if to.ty.is_textual() => {
            Ok(Value::Text(if i != 0 { "true" } else { "false" }.into()))
        }
        (Some(PgType::Bool), ValueRef::Integer(i)) if to.ty.is_integer() => Ok(Value::Integer(i)),
        (Some(PgType::Bytea), ValueRef::Blob(b)) if to.ty.is_textual() => {
            let mut out = bytes::BytesMut::new();
            crate::types::output::format_bytea(b, &mut out);
            Ok(Value::Text(String::from_utf8_lossy(&out).into_owned()))
        }
        (Some(PgType::Timestamptz), ValueRef::Text(t)) if to.ty == PgType::Date => {
            let ts = datetime::parse_timestamptz(&String::from_utf8_lossy(t))?;
            Ok(Value::Text(datetime::format_date(ts.date_naive())))
        }
        (Some(PgType::Timestamptz | PgType::Timestamp), ValueRef::Text(t))
            if to.ty == PgType::Time =>
        {
            let ts = datetime::parse_timestamp(&String::from_utf8_lossy(t))?;
            Ok(Value::Text(datetime::format_time(ts.time())))
        }
        _ => input::coerce(to, value),
    }
}

fn binary_numeric(
    conn: &Connection,
    name: &str,
    op: fn(Decimal, Decimal) -> Result<Decimal, Error>,
) -> rusqlite::Result<()> {
    conn.create_scalar_function(name, 2, PURE, move |ctx| {
        match (decimal_arg(ctx, 0)?, decimal_arg(ctx, 1)?) {
            (Some(a), Some(b)) => Ok(Some(op(a, b).map_err(to_sqlite)?.to_string())),
            _ => Ok(None),
        }
    })
}

fn register_numeric(conn: &Connection) -> rusqlite::Result<()> {
    binary_numeric(conn, "lw_num_add", |a, b| {
        a.checked_add(b).ok_or_else(numeric::overflow)
    })?;
    binary_numeric(conn, "lw_num_sub", |a, b| {
        a.checked_sub(b).ok_or_else(numeric::overflow)
    })?;
    binary_numeric(conn, "lw_num_mul", |a, b| {
        a.checked_mul(b).ok_or_else(numeric::overflow)
    })?;
    binary_numeric(conn, "lw_num_div", numeric::divide)?;
    binary_numeric(conn, "lw_num_mod", |a, b| {
        if b.is_zero() {
            Err(numeric::division_by_zero())
        } else {
            Ok(a % b)
        }
    })?;
    conn.create_scalar_function("lw_num_cmp", 2, PURE, |ctx| {
        Ok(match (decimal_arg(ctx, 0)?, decimal_arg(ctx, 1)?) {
            (Some(a), Some(b)) => Some(a.cmp(&b) as i64),
            _ => None,
        })
    })?;
    // Integer division and modulo: SQLite yields NULL for a zero divisor,
    // Postgres raises 22012.
    // ceil/floor/trunc keep their argument's type: numeric stays exact.
    let rounding: [Rounding; 3] = [
        ("ceil", Decimal::ceil, f64::ceil),
        ("floor", Decimal::floor, f64::floor),
        ("trunc", Decimal::trunc, f64::trunc),
    ];
    for (name, exact, float) in rounding {
        conn.create_scalar_function(name, 1, PURE, move |ctx| {
            Ok(match ctx.get_raw(0) {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(i) => Value::Integer(i),
                ValueRef::Real(f) => Value::Real(float(f)),
                _ => match decimal_arg(ctx, 0)? {
                    Some(d) => Value::Text(exact(&d).to_string()),
                    None => Value::Null,
                },
            })
        })?;
    }
    conn.create_scalar_function("lw_div", 2, PURE, |ctx| int_op(ctx, IntOp::Div))?;
    conn.create_scalar_function("lw_mod", 2, PURE, |ctx| int_op(ctx, IntOp::Mod))?;
    conn.create_aggregate_function("lw_num_sum", 1, PURE, DecimalSum { average: false })?;
    conn.create_aggregate_function("lw_num_avg", 1, PURE, DecimalSum { average: true })?;
    Ok(())
}

#[derive(Clone, Copy)]
enum IntOp {
    Div,
    Mod,
}

fn int_op(ctx: &Context<'_>, op: IntOp) -> rusqlite::Result<Value> {
    let (a, b) = (ctx.get_raw(0), ctx.get_raw(1));
    match (a, b) {
        (ValueRef::Null, _) | (_, ValueRef::Null) => Ok(Value::Null),
        (_, ValueRef::Integer(0)) => Err(to_sqlite(numeric::division_by_zero())),
        (_, ValueRef::Real(0.0)) => Err(to_sqlite(numeric::division_by_zero())),
        (ValueRef::Integer(x), ValueRef::Integer(y)) => match op {
            IntOp::Div => x.checked_div(y),
            IntOp::Mod => x.checked_rem(y),
        }
        .map(Value::Integer)
        .ok_or_else(|| {
            to_sqlite(Error::new(
                crate::error::SqlState::NumericValueOutOfRange,
                "integer out of range",
            ))
        }),
        (x, y) => {
            let f = |v: ValueRef<'_>| {
                v.as_f64()
                    .or_else(|_| v.as_i64().map(|i| i as f64))
                    .unwrap_or(f64::NAN)
            };
            let (x, y) = (f(x), f(y));
            Ok(Value::Real(match op {
                IntOp::Div => x / y,
                IntOp::Mod => x % y,
            }))
        }
    }
}

/// `litewire.publish_batch(channel, payload)`: an aggregate that publishes a
/// whole result set as one batch (one hub wake-up at commit, like NOTIFY) and
/// returns how many notifications it queued.
struct PublishBatch(StatementContext);

impl Aggregate<i64, i64> for PublishBatch {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<i64> {
        Ok(0)
    }

    fn step(&self, ctx: &mut Context<'_>, count: &mut i64) -> rusqlite::Result<()> {
        let channel: Option<String> = ctx.get(0)?;
        let payload: Option<String> = ctx.get(1)?;
        let (channel, payload) = (channel.unwrap_or_default(), payload.unwrap_or_default());
        crate::translate::validate_notification(&channel, &payload).map_err(to_sqlite)?;
        self.0.state().notifications.push((channel, payload));
        *count += 1;
        Ok(())
    }

    fn finalize(&self, _: &mut Context<'_>, count: Option<i64>) -> rusqlite::Result<i64> {
        Ok(count.unwrap_or(0))
    }
}

/// `sum`/`avg` over numeric text, exact.
struct DecimalSum {
    average: bool,
}

impl Aggregate<(Decimal, i64), Option<String>> for DecimalSum {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<(Decimal, i64)> {
        Ok((Decimal::ZERO, 0))
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut (Decimal, i64)) -> rusqlite::Result<()> {
        if let Some(d) = decimal_arg(ctx, 0)? {
            acc.0 = acc
                .0
                .checked_add(d)
                .ok_or_else(|| to_sqlite(numeric::overflow()))?;
            acc.1 += 1;
        }
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut Context<'_>,
        acc: Option<(Decimal, i64)>,
    ) -> rusqlite::Result<Option<String>> {
        match acc {
            Some((sum, n)) if n > 0 => Ok(Some(if self.average {
                numeric::average(sum, n).map_err(to_sqlite)?.to_string()
            } else {
                sum.to_string()
            })),
            _ => Ok(None),
        }
    }
}

fn json_key(value: ValueRef<'_>) -> Option<json::JsonKey> {
    match value {
        ValueRef::Integer(i) => Some(json::JsonKey::Index(i)),
        ValueRef::Text(t) => Some(json::JsonKey::Field(
            String::from_utf8_lossy(t).into_owned(),
        )),
        _ => None,
    }
}

fn json_step(ctx: &Context<'_>) -> rusqlite::Result<Option<serde_json::Value>> {
    let ValueRef::Text(doc) = ctx.get_raw(0) else {
        return Ok(None);
    };
    let Some(key) = json_key(ctx.get_raw(1)) else {
        return Ok(None);
    };
    let doc: serde_json::Value = serde_json::from_slice(doc)
        .map_err(|_| to_sqlite(json::invalid("json", &String::from_utf8_lossy(doc))))?;
    Ok(json::get(&doc, &key).cloned())
}

/// `json_agg` / `jsonb_agg` over JSON texts: NULL over no rows (unlike
/// SQLite's `json_group_array`), elements joined as Postgres prints them.
struct JsonAgg {
    jsonb: bool,
}

impl Aggregate<Vec<String>, Option<String>> for JsonAgg {
    fn init(&self, _: &mut Context<'_>) -> rusqlite::Result<Vec<String>> {
        Ok(Vec::new())
    }

    fn step(&self, ctx: &mut Context<'_>, acc: &mut Vec<String>) -> rusqlite::Result<()> {
        acc.push(
            ctx.get::<Option<String>>(0)?
                .unwrap_or_else(|| "null".into()),
        );
        Ok(())
    }

    fn finalize(
        &self,
        _: &mut Context<'_>,
        acc: Option<Vec<String>>,
    ) -> rusqlite::Result<Option<String>> {
        let Some(items) = acc.filter(|items| !items.is_empty()) else {
            return Ok(None);
        };
        let array = format!("[{}]", items.join(", "));
        if !self.jsonb {
            return Ok(Some(array));
        }
        json::normalize_jsonb(&array).map(Some).map_err(to_sqlite)
    }
}

/// Argument `i` as a JSON document (stored json/jsonb text); `None` for NULL.
fn doc_arg(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<serde_json::Value>> {
    match ctx.get_raw(i) {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) => serde_json::from_slice(t)
            .map(Some)
            .map_err(|_| to_sqlite(json::invalid("json", &String::from_utf8_lossy(t)))),
        other => Ok(Some(match other {
            ValueRef::Integer(n) => n.into(),
            ValueRef::Real(f) => f.into(),
            _ => serde_json::Value::Null,
        })),
    }
}

/// Argument `i` as a text array (`{a,b}`): a JSON path or a list of keys.
fn path_arg(ctx: &Context<'_>, i: usize) -> rusqlite::Result<Option<Vec<String>>> {
    Ok(ctx
        .get::<Option<String>>(i)?
        .map(|text| array::elements(&text)))
}

/// A document and a path, for the path operators; `None` if either is NULL.
fn doc_and_path(ctx: &Context<'_>) -> rusqlite::Result<Option<(serde_json::Value, Vec<String>)>> {
    Ok(doc_arg(ctx, 0)?.zip(path_arg(ctx, 1)?))
}

fn register_json(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function("lw_json_get", 2, PURE, |ctx| {
        Ok(json_step(ctx)?.map(|v| json::to_jsonb_text(&v)))
    })?;
    conn.create_scalar_function("lw_json_get_text", 2, PURE, |ctx| {
        Ok(json_step(ctx)?.and_then(|v| json::as_text(&v)))
    })?;
    conn.create_scalar_function("lw_json_path", 2, PURE, |ctx| {
        Ok(doc_and_path(ctx)?
            .and_then(|(doc, path)| json::get_path(&doc, &path).map(json::to_jsonb_text)))
    })?;
    conn.create_scalar_function("lw_json_path_text", 2, PURE, |ctx| {
        Ok(doc_and_path(ctx)?
            .and_then(|(doc, path)| json::get_path(&doc, &path).and_then(json::as_text)))
    })?;
    conn.create_scalar_function("lw_jsonb_contains", 2, PURE, |ctx| {
        Ok(doc_arg(ctx, 0)?
            .zip(doc_arg(ctx, 1)?)
            .map(|(a, b)| json::contains(&a, &b)))
    })?;
    conn.create_scalar_function("lw_jsonb_exists", 2, PURE, |ctx| {
        let key: Option<String> = ctx.get(1)?;
        Ok(doc_arg(ctx, 0)?
            .zip(key)
            .map(|(doc, key)| json::exists(&doc, &key)))
    })?;
    for (name, all) in [
        ("lw_jsonb_exists_any", false),
        ("lw_jsonb_exists_all", true),
    ] {
        conn.create_scalar_function(name, 2, PURE, move |ctx| {
            Ok(doc_and_path(ctx)?.map(|(doc, keys)| {
                let mut found = keys.iter().map(|k| json::exists(&doc, k));
                if all {
                    found.all(|f| f)
                } else {
                    found.any(|f| f)
                }
            }))
        })?;
    }
    conn.create_scalar_function("lw_jsonb_concat", 2, PURE, |ctx| {
        Ok(doc_arg(ctx, 0)?
            .zip(doc_arg(ctx, 1)?)
            .map(|(a, b)| json::to_jsonb_text(&json::concat(a, b))))
    })?;
    conn.create_scalar_function("lw_jsonb_delete", 2, PURE, |ctx| {
        let Some(mut doc) = doc_arg(ctx, 0)? else {
            return Ok(None);
        };
        match ctx.get_raw(1) {
            ValueRef::Null => return Ok(None),
            ValueRef::Integer(i) => json::delete_index(&mut doc, i),
            _ => json::delete_key(&mut doc, &ctx.get::<String>(1)?),
        }
        .map_err(to_sqlite)?;
        Ok(Some(json::to_jsonb_text(&doc)))
    })?;
    conn.create_scalar_function("lw_jsonb_delete_path", 2, PURE, |ctx| {
        let Some((mut doc, path)) = doc_and_path(ctx)? else {
            return Ok(None);
        };
        json::delete_path(&mut doc, &path).map_err(to_sqlite)?;
        Ok(Some(json::to_jsonb_text(&doc)))
    })?;
    for arity in [3, 4] {
        conn.create_scalar_function("lw_jsonb_set", arity, PURE, move |ctx| {
            let create = arity == 3 || ctx.get::<Option<bool>>(3)?.unwrap_or(true);
            let (Some((mut doc, path)), Some(new)) = (doc_and_path(ctx)?, doc_arg(ctx, 2)?) else {
                return Ok(None);
            };
            json::set(&mut doc, &path, new, create).map_err(to_sqlite)?;
            Ok(Some(json::to_jsonb_text(&doc)))
        })?;
    }
    conn.create_scalar_function("lw_jsonb_typeof", 1, PURE, |ctx| {
        Ok(doc_arg(ctx, 0)?.map(|v| json::type_name(&v)))
    })?;
    conn.create_scalar_function("lw_jsonb_array_length", 1, PURE, |ctx| {
        doc_arg(ctx, 0)?
            .map(|v| json::array_length(&v))
            .transpose()
            .map_err(to_sqlite)
    })?;
    conn.create_aggregate_function("lw_json_agg", 1, PURE, JsonAgg { jsonb: false })?;
    conn.create_aggregate_function("lw_jsonb_agg", 1, PURE, JsonAgg { jsonb: true })?;
    conn.create_scalar_function("lw_jsonb_cmp", 2, PURE, |ctx| {
        Ok(doc_arg(ctx, 0)?
            .zip(doc_arg(ctx, 1)?)
            .map(|(a, b)| json::compare(&a, &b) as i64))
    })?;
    Ok(())
}
