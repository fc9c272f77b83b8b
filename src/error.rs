//! The crate error. Every failure a client can see carries a Postgres SQLSTATE
//! (<https://www.postgresql.org/docs/15/errcodes-appendix.html>) and a message in
//! Postgres style: lowercase, no trailing period.
//!
//! SQLite errors are mapped precisely (extended result codes, not message text),
//! and our own SQL functions report typed failures through a `LW<sqlstate>:` prefix
//! in their error message (the only channel SQLite gives a user function), which
//! [`Error::from_sqlite`] turns back into the right code.

use std::fmt;

macro_rules! sqlstates {
    ($($name:ident => $code:literal,)*) => {
        /// A Postgres SQLSTATE. Only the codes litewire emits are named, so a new
        /// one is a deliberate addition.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum SqlState {
            $($name,)*
        }

        impl SqlState {
            const ALL: &'static [SqlState] = &[$(SqlState::$name,)*];

            /// The five-character code sent in the `C` field of an ErrorResponse.
            pub fn code(self) -> &'static str {
                match self {
                    $(SqlState::$name => $code,)*
                }
            }
        }
    };
}

sqlstates! {
    SuccessfulCompletion => "00000",
    FeatureNotSupported => "0A000",
    InvalidParameterValue => "22023",
    NullValueNotAllowed => "22004",
    InvalidTextRepresentation => "22P02",
    NumericValueOutOfRange => "22003",
    SequenceGeneratorLimitExceeded => "2200H",
    DivisionByZero => "22012",
    StringDataRightTruncation => "22001",
    InvalidDatetimeFormat => "22007",
    InvalidRegularExpression => "2201B",
    InvalidArgumentForLogarithm => "2201E",
    InvalidArgumentForPowerFunction => "2201F",
    DatetimeFieldOverflow => "22008",
    IntervalFieldOverflow => "22015",
    UniqueViolation => "23505",
    NotNullViolation => "23502",
    ForeignKeyViolation => "23503",
    CheckViolation => "23514",
    IntegrityConstraintViolation => "23000",
    InFailedSqlTransaction => "25P02",
    ActiveSqlTransaction => "25001",
    NoActiveSqlTransaction => "25P01",
    InvalidTransactionState => "25000",
    InvalidSavepointSpecification => "3B001",
    SyntaxError => "42601",
    UndefinedTable => "42P01",
    UndefinedColumn => "42703",
    UndefinedFunction => "42883",
    UndefinedObject => "42704",
    UndefinedParameter => "42P02",
    DuplicateFunction => "42723",
    DependentObjectsStillExist => "2BP01",
    DuplicateSchema => "42P06",
    ReservedName => "42939",
    InvalidSchemaName => "3F000",
    DuplicateTable => "42P07",
    WrongObjectType => "42809",
    InvalidTableDefinition => "42P16",
    DuplicateObject => "42710",
    DuplicateColumn => "42701",
    DuplicatePreparedStatement => "42P05",
    InvalidCursorName => "34000",
    InvalidSqlStatementName => "26000",
    DuplicateCursor => "42P03",
    DatatypeMismatch => "42804",
    ProtocolViolation => "08P01",
    LockNotAvailable => "55P03",
    ObjectNotInPrerequisiteState => "55000",
    InvalidAuthorizationSpecification => "28000",
    InsufficientPrivilege => "42501",
    ConfigurationLimitExceeded => "53400",
    InvalidPassword => "28P01",
    TooManyConnections => "53300",
    ProgramLimitExceeded => "54000",
    AdminShutdown => "57P01",
    QueryCanceled => "57014",
    DiskFull => "53100",
    BadCopyFileFormat => "22P04",
    IoError => "58030",
    InternalError => "XX000",
}

impl SqlState {
    /// Inverse of [`SqlState::code`], for codes carried through SQLite function errors.
    pub fn from_code(code: &str) -> Option<SqlState> {
        Self::ALL.iter().copied().find(|s| s.code() == code)
    }
}

/// Prefix our SQLite functions put in front of an error message so the SQLSTATE
/// survives the trip through SQLite (`LW22P02:invalid input syntax ...`).
pub const FUNCTION_ERROR_PREFIX: &str = "LW";

/// Builds the message a SQLite user function returns to raise a Postgres error.
pub fn function_error(state: SqlState, message: impl fmt::Display) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(
        format!("{FUNCTION_ERROR_PREFIX}{}:{message}", state.code()).into(),
    )
}

/// An error as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub state: SqlState,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(state: SqlState, message: impl Into<String>) -> Self {
        Error {
            state,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn code(&self) -> SqlState {
        self.state
    }

    /// A construct we do not translate; the message names it, as the issue asks.
    pub fn unsupported(construct: impl fmt::Display) -> Self {
        Error::new(
            SqlState::FeatureNotSupported,
            format!("{construct} is not supported by litewire"),
        )
    }

    /// 42703 for a column that `table` lacks.
    pub fn undefined_column(column: &str, table: &str) -> Self {
        Error::new(
            SqlState::UndefinedColumn,
            format!("column \"{column}\" of relation \"{table}\" does not exist"),
        )
    }

    pub fn syntax(message: impl Into<String>) -> Self {
        Error::new(SqlState::SyntaxError, message)
    }

    pub fn internal(message: impl fmt::Display) -> Self {
        Error::new(SqlState::InternalError, message.to_string())
    }

    pub fn protocol(message: impl Into<String>) -> Self {
        Error::new(SqlState::ProtocolViolation, message)
    }

    pub fn in_failed_transaction() -> Self {
        Error::new(
            SqlState::InFailedSqlTransaction,
            "current transaction is aborted, commands ignored until end of transaction block",
        )
    }

    /// Maps a SQLite error to the Postgres error a client expects.
    pub fn from_sqlite(err: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode;
        match &err {
            rusqlite::Error::SqliteFailure(failure, message) => {
                let message = message.clone().unwrap_or_default();
                if let Some(own) = Self::from_function_message(&message) {
                    return own;
                }
                match failure.code {
                    ErrorCode::ConstraintViolation => {
                        Self::constraint(failure.extended_code, &message)
                    }
                    ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Error::new(
                        SqlState::LockNotAvailable,
                        "could not obtain lock on the database",
                    ),
                    ErrorCode::DiskFull => Error::new(
                        SqlState::DiskFull,
                        "could not extend file: no space left on device",
                    ),
                    ErrorCode::OperationInterrupted => Error::new(
                        SqlState::QueryCanceled,
                        "canceling statement due to user request",
                    ),
                    ErrorCode::TooBig => {
                        Error::new(SqlState::InvalidParameterValue, "value too large")
                    }
                    _ => Self::from_message(&message),
                }
            }
            rusqlite::Error::UserFunctionError(e) => {
                Self::from_function_message(&e.to_string()).unwrap_or_else(|| Error::internal(e))
            }
            rusqlite::Error::SqlInputError { msg, .. } => Self::from_message(msg),
            other => Self::from_message(&other.to_string()),
        }
    }

    fn from_function_message(message: &str) -> Option<Self> {
        let rest = message.strip_prefix(FUNCTION_ERROR_PREFIX)?;
        let (code, text) = rest.split_once(':')?;
        Some(Error::new(SqlState::from_code(code)?, text))
    }

    /// SQLite reports `UNIQUE constraint failed: orders.id`; Postgres names the
    /// constraint and puts the key in the detail. We keep SQLite's column list in
    /// the detail, which is what drivers show users.
    fn constraint(extended: i32, message: &str) -> Self {
        use rusqlite::ffi;
        let what = message.split_once(": ").map(|(_, w)| w).unwrap_or(message);
        match extended {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => Error::new(
                SqlState::UniqueViolation,
                format!(
                    "duplicate key value violates unique constraint \"{}\"",
                    constraint_name(what)
                ),
            )
            .with_detail(format!("Key ({}) already exists.", columns_of(what))),
            ffi::SQLITE_CONSTRAINT_NOTNULL => {
                let (table, column) = what.split_once('.').unwrap_or(("", what));
                Error::new(
                    SqlState::NotNullViolation,
                    format!(
                        "null value in column \"{column}\" of relation \"{table}\" violates not-null constraint"
                    ),
                )
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Error::new(
                SqlState::ForeignKeyViolation,
                "insert or update on table violates foreign key constraint",
            ),
            ffi::SQLITE_CONSTRAINT_CHECK => Error::new(
                SqlState::CheckViolation,
                format!("new row violates check constraint \"{what}\""),
            ),
            _ => Error::new(SqlState::IntegrityConstraintViolation, message.to_string()),
        }
    }

    /// Last resort for errors SQLite only describes in text.
    fn from_message(message: &str) -> Self {
        if let Some(table) = message.strip_prefix("no such table: ") {
            let table = table.rsplit('.').next().unwrap_or(table);
            return Error::new(
                SqlState::UndefinedTable,
                format!("relation \"{table}\" does not exist"),
            );
        }
        if let Some(column) = message.strip_prefix("no such column: ") {
            let column = column.rsplit('.').next().unwrap_or(column);
            return Error::new(
                SqlState::UndefinedColumn,
                format!("column \"{column}\" does not exist"),
            );
        }
        // SQLite quotes a table's name in this message but not an index's.
        if let Some(rest) = message
            .strip_prefix("table ")
            .or_else(|| message.strip_prefix("index "))
            && let Some(name) = rest.strip_suffix(" already exists")
        {
            let name = name.trim_matches('"');
            return Error::new(
                SqlState::DuplicateTable,
                format!("relation \"{name}\" already exists"),
            );
        }
        if let Some(name) = message.strip_prefix("no such function: ") {
            return Error::new(
                SqlState::UndefinedFunction,
                format!("function {name} does not exist"),
            );
        }
        if message.contains("syntax error") {
            return Error::syntax(message.to_string());
        }
        if message.starts_with("duplicate column name") {
            return Error::new(SqlState::DuplicateColumn, message.to_string());
        }
        if message.starts_with("no such index") {
            return Error::new(SqlState::UndefinedObject, message.to_string());
        }
        Error::internal(message)
    }
}

/// `orders.id` -> `orders_pkey`-like name; SQLite does not name constraints.
fn constraint_name(what: &str) -> String {
    let mut parts = what.split(", ");
    let first = parts.next().unwrap_or(what);
    let (table, column) = first.split_once('.').unwrap_or(("", first));
    format!("{table}_{column}_key")
}

fn columns_of(what: &str) -> String {
    what.split(", ")
        .map(|c| c.split_once('.').map(|(_, c)| c).unwrap_or(c))
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<rusqlite::Error> for Error {
    fn from(err: rusqlite::Error) -> Self {
        Error::from_sqlite(err)
    }
}
