//! Errors as HTTP responses, the way PostgREST sends them: a status chosen
//! from the SQLSTATE and a JSON body `{"code","message","details","hint"}`.
//! The SQLSTATE -> status map is one exhaustive `match`, so a new SQLSTATE
//! forces a decision here.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::{Error, SqlState};

/// A failed request. Most carry a SQLSTATE; the HTTP-only conditions have
/// PostgREST's own codes (`PGRST...`) and statuses.
#[derive(Debug)]
pub enum ApiError {
    Sql(Error),
    /// `Accept: application/vnd.pgrst.object+json` and not exactly one row.
    NotSingular {
        rows: usize,
    },
    /// A body that is not `application/json`.
    UnsupportedMediaType,
    /// A document or collection that does not exist (404, `P0002`).
    NotFound(String),
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Sql(e)
    }
}

/// Shorthand for a 400 with SQLSTATE 22023 (a malformed request parameter).
pub fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::Sql(Error::new(SqlState::InvalidParameterValue, message))
}

/// PostgREST's status for a SQLSTATE.
pub fn status(state: SqlState) -> StatusCode {
    use SqlState::*;
    match state {
        SuccessfulCompletion => StatusCode::OK,
        UniqueViolation
        | ForeignKeyViolation
        | DuplicateTable
        | DuplicateObject
        | DuplicateFunction
        | DuplicateSchema
        | DependentObjectsStillExist => StatusCode::CONFLICT,
        NotNullViolation
        | CheckViolation
        | IntegrityConstraintViolation
        | InvalidTextRepresentation
        | InvalidParameterValue
        | NullValueNotAllowed
        | NumericValueOutOfRange
        | SequenceGeneratorLimitExceeded
        | DivisionByZero
        | StringDataRightTruncation
        | InvalidDatetimeFormat
        | InvalidRegularExpression
        | InvalidArgumentForLogarithm
        | InvalidArgumentForPowerFunction
        | InvalidSchemaName
        | ReservedName
        | DatetimeFieldOverflow
        | IntervalFieldOverflow
        | BadCopyFileFormat
        | UndefinedColumn
        | UndefinedFunction
        | UndefinedObject
        | UndefinedParameter
        | DuplicateColumn
        | SyntaxError
        | DatatypeMismatch
        | DuplicatePreparedStatement
        | InvalidCursorName
        | InvalidSqlStatementName
        | DuplicateCursor
        | InFailedSqlTransaction
        | ActiveSqlTransaction
        | NoActiveSqlTransaction
        | InvalidTransactionState
        | InvalidSavepointSpecification
        | ProtocolViolation
        | FeatureNotSupported
        | ObjectNotInPrerequisiteState
        | WrongObjectType
        | InvalidTableDefinition => StatusCode::BAD_REQUEST,
        UndefinedTable => StatusCode::NOT_FOUND,
        InsufficientPrivilege => StatusCode::FORBIDDEN,
        InvalidAuthorizationSpecification | InvalidPassword => StatusCode::UNAUTHORIZED,
        ProgramLimitExceeded => StatusCode::PAYLOAD_TOO_LARGE,
        // The SQLSTATE of the WebSocket gateway's rate limit too.
        ConfigurationLimitExceeded => StatusCode::TOO_MANY_REQUESTS,
        LockNotAvailable | TooManyConnections | AdminShutdown => StatusCode::SERVICE_UNAVAILABLE,
        QueryCanceled => StatusCode::GATEWAY_TIMEOUT,
        DiskFull | IoError | InternalError => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn body(
    code: &str,
    message: &str,
    details: Option<&str>,
    hint: Option<&str>,
) -> Json<serde_json::Value> {
    Json(json!({"code": code, "message": message, "details": details, "hint": hint}))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Sql(e) => (
                status(e.state),
                body(
                    e.state.code(),
                    &e.message,
                    e.detail.as_deref(),
                    e.hint.as_deref(),
                ),
            )
                .into_response(),
            ApiError::NotSingular { rows } => (
                StatusCode::NOT_ACCEPTABLE,
                body(
                    "PGRST116",
                    "JSON object requested, multiple (or no) rows returned",
                    Some(&format!("The result contains {rows} rows")),
                    None,
                ),
            )
                .into_response(),
            ApiError::NotFound(what) => {
                (StatusCode::NOT_FOUND, body("P0002", &what, None, None)).into_response()
            }
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                body(
                    "PGRST102",
                    "request body must be application/json",
                    None,
                    None,
                ),
            )
                .into_response(),
        }
    }
}
