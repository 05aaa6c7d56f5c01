//! Every error answer of the backend: an RFC 9457 problem with a stable
//! `code`, which the SDK maps to plain words.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

/// An `application/problem+json` answer. Boxed inside, because it travels
/// as the error of nearly every `Result` in the backend.
#[derive(Debug, Clone)]
pub struct Problem(Box<Fields>);

#[derive(Debug, Clone)]
struct Fields {
    status: StatusCode,
    code: String,
    title: &'static str,
    detail: String,
    errors: Option<Vec<Value>>,
    extensions: Map<String, Value>,
    retry_after: Option<u64>,
}

impl Problem {
    /// A problem with `status`, stable `code`, a short `title` and a `detail`.
    pub fn new(
        status: StatusCode,
        code: impl Into<String>,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self(Box::new(Fields {
            status,
            code: code.into(),
            title,
            detail: detail.into(),
            errors: None,
            extensions: Map::new(),
            retry_after: None,
        }))
    }

    /// Adds the `errors` list (`[{code, field, message}]`).
    pub fn with_errors(mut self, errors: Vec<Value>) -> Self {
        self.0.errors = Some(errors);
        self
    }

    /// Adds an extension member.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.extensions.insert(key.to_owned(), value.into());
        self
    }

    /// Adds `Retry-After` (seconds).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.0.retry_after = Some(seconds);
        self
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        &self.0.code
    }

    /// An extension member, e.g. `cause`.
    pub fn extension(&self, key: &str) -> Option<&Value> {
        self.0.extensions.get(key)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// 403 `csrf`.
    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "Cross-site request refused",
            "This call must come from the operator's own pages (Origin and X-Myna-Request: 1).",
        )
    }

    /// 404 `not_found`.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            format!("No {what} with this id belongs to this session."),
        )
    }

    /// 500 `internal`, with the cause logged and not shown.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "operator backend failure");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "The operator backend failed. Try again later.",
        )
    }

    /// 400 `invalid_body`.
    pub fn invalid_body(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "Invalid body",
            detail,
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let problem = *self.0;
        let mut body = Map::new();
        body.insert(
            "type".into(),
            format!("urn:myna-consent:problem:{}", problem.code).into(),
        );
        body.insert("title".into(), problem.title.into());
        body.insert("status".into(), problem.status.as_u16().into());
        body.insert("detail".into(), problem.detail.into());
        body.insert("code".into(), problem.code.into());
        if let Some(errors) = problem.errors {
            body.insert("errors".into(), errors.into());
        }
        for (key, value) in problem.extensions {
            body.entry(key).or_insert(value);
        }
        let mut response = (problem.status, Value::Object(body).to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(seconds) = problem.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
