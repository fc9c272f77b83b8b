//! Request bodies: JSON only (415, PGRST102, for any other declared type,
//! checked before a byte is read), no larger than `[rest] max_body_bytes`
//! (413, 54000, from axum's `DefaultBodyLimit` on the REST routes), and
//! well-formed (400, 22P02).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde_json::Value as Json;

use super::Rest;
use super::error::{ApiError, ApiResult, bad_request};
use crate::error::{Error, SqlState};

/// A request body parsed as JSON.
pub struct JsonBody(pub Json);

impl FromRequest<Arc<Rest>> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, rest: &Arc<Rest>) -> ApiResult<JsonBody> {
        let json_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json_type {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(request, rest)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::Sql(too_large(rest)),
                _ => bad_request(e.body_text()),
            })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            ApiError::Sql(Error::new(
                SqlState::InvalidTextRepresentation,
                format!("invalid JSON in request body: {e}"),
            ))
        })
    }
}

fn too_large(rest: &Rest) -> Error {
    Error::new(
        SqlState::ProgramLimitExceeded,
        format!(
            "request body is larger than the limit of {} bytes",
            rest.limits.max_body_bytes
        ),
    )
    .with_hint("send less per request, or raise [rest] max_body_bytes")
}
