//! The OAuth 2.0 endpoints: RFC 8414 metadata, PAR (RFC 9126), the token
//! endpoint (codes with PKCE S256, single-use refresh tokens with reuse
//! detection), revocation (RFC 7009), and client authentication
//! (`client_secret_basic`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use myna_consent::request::Period;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::assertion::{Assertion, JWT_BEARER};
use crate::details::{self, ConsentDetails, DETAILS_TYPE};
use crate::secret::{self, Secret};
use crate::store::{self, Grant, GrantStatus, TokenKind};
use crate::{Authority, ClientAuth, ClientConfig};

/// How long a pushed request_uri lives, in seconds.
pub(crate) const REQUEST_URI_LIFETIME: i64 = 90;
/// The prefix RFC 9126 §2.2 gives request_uris.
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// An error answer of the token, PAR, revocation and retrieval endpoints
/// (RFC 6749 §5.2, RFC 6750 §3), with `grant_status` where a grant ended.
#[derive(Debug)]
pub(crate) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    grant_status: Option<GrantStatus>,
    www_authenticate: Option<String>,
    retry_after: Option<u64>,
}

impl OAuthError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            grant_status: None,
            www_authenticate: None,
            retry_after: None,
        }
    }

    /// 400 `invalid_request`.
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 400 `invalid_grant`.
    fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    /// 401 `invalid_client`, with the challenge RFC 6749 §5.2 asks for.
    fn invalid_client(description: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description);
        error.www_authenticate = Some(r#"Basic realm="myna-authority""#.into());
        error
    }

    /// 401 `invalid_token` for a Bearer request (RFC 6750 §3.1).
    pub(crate) fn invalid_token(description: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description);
        error.www_authenticate =
            Some(r#"Bearer realm="myna-authority", error="invalid_token""#.into());
        error
    }

    /// 403 `insufficient_scope` for a Bearer request (RFC 6750 §3.1).
    pub(crate) fn insufficient_scope(description: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::FORBIDDEN, "insufficient_scope", description);
        error.www_authenticate =
            Some(r#"Bearer realm="myna-authority", error="insufficient_scope""#.into());
        error
    }

    /// 429 with `Retry-After` in whole seconds.
    pub(crate) fn rate_limited(retry_after: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            "too many requests for this client; retry after the time in Retry-After",
        );
        error.retry_after = Some(retry_after);
        error
    }

    /// 500 `server_error`; the cause stays in the server.
    pub(crate) fn server(cause: impl std::fmt::Display) -> Self {
        eprintln!("myna-authority: internal error: {cause}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the authority failed; try again",
        )
    }

    fn with_grant_status(mut self, status: GrantStatus) -> Self {
        self.grant_status = Some(status);
        self
    }
}

impl From<rusqlite::Error> for OAuthError {
    fn from(error: rusqlite::Error) -> Self {
        Self::server(error)
    }
}

impl OAuthError {
    /// The JSON body: `error`, `error_description` and, where a grant
    /// ended, `grant_status`.
    pub(crate) fn fields(&self) -> Value {
        let mut body = json!({
            "error": self.error,
            "error_description": self.description,
        });
        if let Some(status) = self.grant_status {
            body["grant_status"] = json!(status.code());
        }
        body
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = self.fields();
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        no_store(headers);
        if let Some(challenge) = self
            .www_authenticate
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// RFC 6749 §5.1: token responses must not be cached.
pub(crate) fn no_store(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// JSON with `Cache-Control: no-store`.
pub(crate) fn json_no_store(status: StatusCode, body: Value) -> Response {
    let mut response = (status, Json(body)).into_response();
    no_store(response.headers_mut());
    response
}

/// Form or query parameters, read so that a repeated parameter is an error
/// (RFC 6749 §3.1) and an empty one counts as absent.
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Reads `application/x-www-form-urlencoded` bytes.
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The parameter's value; `Err` when it appears more than once.
    pub(crate) fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(OAuthError::invalid_request(format!("{name} is repeated")));
        }
        Ok(first)
    }

    /// The parameter's value; `Err` when it is missing or repeated.
    pub(crate) fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    }
}

/// What a client asked for at the authorization endpoint, checked; kept
/// with a pushed request and with a flow through the pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AuthorizationRequest {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: String,
    pub(crate) state: Option<String>,
    pub(crate) nonce: Option<String>,
    pub(crate) code_challenge: String,
    pub(crate) details: ConsentDetails,
}

/// Why an authorization request was refused.
pub(crate) enum RequestProblem {
    /// The client or the redirect URI cannot be trusted, or PKCE is missing
    /// or plain: show an error page, never redirect.
    NoRedirect(OAuthError),
    /// The redirect URI is registered: the error may travel back to it.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: Box<OAuthError>,
    },
}

/// Checks the authorization parameters of `client` (at PAR, or at
/// `/authorize` when PAR is not required).
pub(crate) fn check_request(
    params: &Params,
    client: &ClientConfig,
) -> Result<AuthorizationRequest, RequestProblem> {
    let fatal = RequestProblem::NoRedirect;
    if let Some(client_id) = params.get("client_id").map_err(fatal)? {
        if client_id != client.client_id {
            return Err(fatal(OAuthError::invalid_request(
                "client_id does not match the authenticated client",
            )));
        }
    }
    let redirect_uri = params.require("redirect_uri").map_err(fatal)?;
    // Exact string comparison (RFC 9700 §4.1.3): no prefix, no pattern.
    if !client.redirect_uris.iter().any(|uri| uri == redirect_uri) {
        return Err(fatal(OAuthError::invalid_request(
            "redirect_uri is not registered for this client",
        )));
    }
    let challenge = params.get("code_challenge").map_err(fatal)?;
    let method = params.get("code_challenge_method").map_err(fatal)?;
    let code_challenge = match (challenge, method) {
        (Some(challenge), Some("S256")) if secret::is_s256_challenge(challenge) => challenge,
        (Some(_), Some("S256")) => {
            return Err(fatal(OAuthError::invalid_request(
                "code_challenge is not a base64url SHA-256 digest",
            )))
        }
        (None, _) => {
            return Err(fatal(OAuthError::invalid_request(
                "code_challenge is required (PKCE S256)",
            )))
        }
        // A missing method means `plain` (RFC 7636 §4.3), which is refused.
        (Some(_), _) => {
            return Err(fatal(OAuthError::invalid_request(
                "code_challenge_method must be S256",
            )))
        }
    };
    let state = params.get("state").map_err(fatal)?.map(str::to_owned);
    let redirect = |error: OAuthError| RequestProblem::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error: Box::new(error),
    };
    match params.get("response_type").map_err(redirect)? {
        Some("code") => {}
        Some(_) => {
            return Err(redirect(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_response_type",
                "only response_type=code is supported",
            )))
        }
        None => {
            return Err(redirect(OAuthError::invalid_request(
                "response_type is required",
            )))
        }
    }
    let nonce = params.get("nonce").map_err(redirect)?.map(str::to_owned);
    let details = params.require("authorization_details").map_err(redirect)?;
    let details = details::parse(details).map_err(|description| {
        redirect(OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_authorization_details",
            description,
        ))
    })?;
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state,
        nonce,
        code_challenge: code_challenge.to_owned(),
        details,
    })
}

/// Decodes one half of a Basic credential: RFC 6749 §2.3.1 form-encodes
/// client id and secret before base64.
fn form_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// Authenticates the client of a back-channel request and takes one token
/// from its rate-limit bucket.
pub(crate) fn authenticate<'a>(
    authority: &'a Authority,
    headers: &HeaderMap,
    params: &Params,
) -> Result<&'a ClientConfig, OAuthError> {
    if params.get("client_secret")?.is_some() {
        return Err(OAuthError::invalid_client(
            "client_secret_post is not supported; use client_secret_basic or private_key_jwt",
        ));
    }
    let assertion = params.get("client_assertion")?;
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, rest) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(rest.trim())
        });
    let client = match (basic, assertion) {
        // RFC 6749 §2.3: one method per request.
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ))
        }
        (Some(basic), None) => authenticate_basic(authority, basic)?,
        (None, Some(assertion)) => authenticate_assertion(authority, params, assertion)?,
        (None, None) => {
            return Err(OAuthError::invalid_client(
                "client authentication is required",
            ))
        }
    };
    if let Some(body_id) = params.get("client_id")? {
        if body_id != client.client_id {
            return Err(OAuthError::invalid_client(
                "client_id does not match the authenticated client",
            ));
        }
    }
    authority.limit(client)?;
    Ok(client)
}

fn authenticate_basic<'a>(
    authority: &'a Authority,
    basic: &str,
) -> Result<&'a ClientConfig, OAuthError> {
    let decoded = STANDARD
        .decode(basic)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| OAuthError::invalid_client("the Basic credentials are malformed"))?;
    let (id, secret_given) = decoded
        .split_once(':')
        .ok_or_else(|| OAuthError::invalid_client("the Basic credentials are malformed"))?;
    let (id, secret_given) = (form_decode(id), form_decode(secret_given));
    let client = authority.config().client(&id);
    // Compare against something even for an unknown client, so the time
    // taken does not tell which client ids exist.
    let expected = match client.map(|c| &c.auth) {
        Some(ClientAuth::ClientSecretBasic { secret }) => secret.expose(),
        _ => "no client has this secret",
    };
    let matches = secret::same(&secret_given, expected);
    match client {
        Some(client) if matches && matches!(client.auth, ClientAuth::ClientSecretBasic { .. }) => {
            Ok(client)
        }
        _ => Err(OAuthError::invalid_client("client authentication failed")),
    }
}

fn authenticate_assertion<'a>(
    authority: &'a Authority,
    params: &Params,
    jwt: &str,
) -> Result<&'a ClientConfig, OAuthError> {
    if params.get("client_assertion_type")? != Some(JWT_BEARER) {
        return Err(OAuthError::invalid_client(format!(
            "client_assertion_type must be {JWT_BEARER}"
        )));
    }
    let assertion = Assertion::parse(jwt)
        .ok_or_else(|| OAuthError::invalid_client("the client assertion is malformed"))?;
    let client_id = params
        .get("client_id")?
        .or_else(|| assertion.issuer())
        .ok_or_else(|| OAuthError::invalid_client("the client assertion has no iss"))?;
    let client = authority
        .config()
        .client(client_id)
        .ok_or_else(|| OAuthError::invalid_client("client authentication failed"))?;
    let ClientAuth::PrivateKeyJwt { jwks } = &client.auth else {
        return Err(OAuthError::invalid_client("client authentication failed"));
    };
    assertion
        .verify(authority, &client.client_id, jwks)
        .map_err(OAuthError::invalid_client)?;
    Ok(client)
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub(crate) async fn metadata(State(authority): State<Authority>) -> Response {
    let issuer = authority.issuer();
    let body = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "pushed_authorization_request_endpoint": format!("{issuer}/par"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "retrieval_endpoint": format!("{issuer}/retrievals"),
        "require_pushed_authorization_requests":
            authority.config().authority.require_pushed_authorization_requests,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "revocation_endpoint_auth_signing_alg_values_supported": ["ES256"],
        "authorization_details_types_supported": [DETAILS_TYPE],
    });
    (StatusCode::OK, Json(body)).into_response()
}

/// `POST /par` (RFC 9126).
pub(crate) async fn par(
    State(authority): State<Authority>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match par_inner(&authority, &headers, &body) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

fn par_inner(
    authority: &Authority,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let params = Params::parse(body);
    let client = authenticate(authority, headers, &params)?;
    if params.get("request_uri")?.is_some() {
        return Err(OAuthError::invalid_request(
            "request_uri must not be pushed (RFC 9126 §2.1)",
        ));
    }
    let request = match check_request(&params, client) {
        Ok(request) => request,
        Err(RequestProblem::NoRedirect(error)) => return Err(error),
        Err(RequestProblem::Redirect { error, .. }) => return Err(*error),
    };
    let now = authority.now();
    let request_uri = format!("{REQUEST_URI_PREFIX}{}", Secret::generate().expose());
    let stored = serde_json::to_string(&request).map_err(OAuthError::server)?;
    store::insert_request(
        &authority.db(),
        &secret::hash(&request_uri),
        &client.client_id,
        &stored,
        now + Duration::seconds(REQUEST_URI_LIFETIME),
    )?;
    Ok(json_no_store(
        StatusCode::CREATED,
        json!({ "request_uri": request_uri, "expires_in": REQUEST_URI_LIFETIME }),
    ))
}

/// `POST /token`.
pub(crate) async fn token(
    State(authority): State<Authority>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    let result = authenticate(&authority, &headers, &params).and_then(|client| {
        match params.require("grant_type")? {
            "authorization_code" => exchange_code(&authority, client, &params),
            "refresh_token" => refresh(&authority, client, &params),
            _ => Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token",
            )),
        }
    });
    match result {
        Ok(body) => json_no_store(StatusCode::OK, body),
        Err(error) => error.into_response(),
    }
}

fn exchange_code(
    authority: &Authority,
    client: &ClientConfig,
    params: &Params,
) -> Result<Value, OAuthError> {
    let code = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params.require("code_verifier")?;
    let now = authority.now();
    let mut db = authority.db();
    let tx = db.transaction()?;
    let code_hash = secret::hash(code);
    let stored = store::code(&tx, &code_hash)?
        .filter(|stored| stored.client_id == client.client_id)
        .ok_or_else(|| OAuthError::invalid_grant("the code is not valid"))?;
    if stored.used_at.is_some() {
        // RFC 6749 §4.1.2: a code presented twice was probably stolen;
        // everything issued for it is revoked.
        store::end_grant(&tx, &stored.grant_id, GrantStatus::Compromised, now)?;
        tx.commit()?;
        return Err(OAuthError::invalid_grant(
            "the code was already used; the tokens issued for it are revoked",
        )
        .with_grant_status(GrantStatus::Compromised));
    }
    if now >= stored.expires_at {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    if redirect_uri != stored.redirect_uri {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    if !secret::is_pkce_verifier(verifier)
        || !secret::same(&secret::s256(verifier), &stored.code_challenge)
    {
        return Err(OAuthError::invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    let grant = store::grant(&tx, &stored.grant_id)?
        .ok_or_else(|| OAuthError::invalid_grant("the code is not valid"))?;
    let status = grant.status(now);
    if status != GrantStatus::Active {
        return Err(OAuthError::invalid_grant("the grant has ended").with_grant_status(status));
    }
    if !store::use_code(&tx, &code_hash, now)? {
        return Err(OAuthError::invalid_grant("the code was already used"));
    }
    let body = issue_tokens(authority, &tx, &grant, now)?;
    tx.commit()?;
    Ok(body)
}

fn refresh(
    authority: &Authority,
    client: &ClientConfig,
    params: &Params,
) -> Result<Value, OAuthError> {
    let presented = params.require("refresh_token")?;
    let now = authority.now();
    let mut db = authority.db();
    let tx = db.transaction()?;
    let hash = secret::hash(presented);
    let stored = store::token(&tx, &hash)?
        .filter(|t| t.kind == TokenKind::Refresh && t.client_id == client.client_id)
        .ok_or_else(|| OAuthError::invalid_grant("the refresh token is not valid"))?;
    let grant = store::grant(&tx, &stored.grant_id)?
        .ok_or_else(|| OAuthError::invalid_grant("the refresh token is not valid"))?;
    match grant.status(now) {
        GrantStatus::Active => {}
        status => {
            return Err(OAuthError::invalid_grant("the grant has ended").with_grant_status(status))
        }
    }
    // A used refresh token presented again means two parties hold it: the
    // whole grant is revoked, the newest token included.
    if stored.used_at.is_some()
        || stored.revoked_at.is_some()
        || !store::use_token(&tx, &hash, now)?
    {
        store::end_grant(&tx, &grant.id, GrantStatus::Compromised, now)?;
        tx.commit()?;
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used; the grant is revoked",
        )
        .with_grant_status(GrantStatus::Compromised));
    }
    let body = issue_tokens(authority, &tx, &grant, now)?;
    tx.commit()?;
    Ok(body)
}

/// A new access token (and, for a linkage, a new refresh token) for
/// `grant`, and the token response. Neither outlives the grant.
fn issue_tokens(
    authority: &Authority,
    db: &rusqlite::Connection,
    grant: &Grant,
    now: OffsetDateTime,
) -> Result<Value, OAuthError> {
    let lifetime = Duration::seconds(i64::from(
        authority.config().authority.access_token_lifetime_seconds,
    ));
    let mut access_expires = now + lifetime;
    if let Some(ends_at) = grant.ends_at {
        access_expires = access_expires.min(ends_at);
    }
    let access = Secret::generate();
    store::insert_token(
        db,
        &access.hash(),
        &grant.id,
        &grant.client_id,
        TokenKind::Access,
        now,
        Some(access_expires),
    )?;
    let mut body = json!({
        "access_token": access.expose(),
        "token_type": "Bearer",
        "expires_in": (access_expires - now).whole_seconds().max(0),
        "authorization_details": [granted_entry(grant)],
    });
    if let Period::Linkage { .. } = grant.details.period {
        let refresh = Secret::generate();
        store::insert_token(
            db,
            &refresh.hash(),
            &grant.id,
            &grant.client_id,
            TokenKind::Refresh,
            now,
            grant.ends_at,
        )?;
        body["refresh_token"] = json!(refresh.expose());
    }
    Ok(body)
}

/// The authorization details entry of a grant: what was asked, plus
/// `grantId`, `grantedAt` and (linkage only) `endsAt`.
pub(crate) fn granted_entry(grant: &Grant) -> Value {
    let mut entry = details::to_entry(&grant.details);
    entry["grantId"] = json!(grant.id);
    entry["grantedAt"] = json!(rfc3339(grant.granted_at));
    if let Some(ends_at) = grant.ends_at {
        entry["endsAt"] = json!(rfc3339(ends_at));
    }
    entry
}

/// RFC 3339 in UTC.
pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// `POST /revoke` (RFC 7009).
pub(crate) async fn revoke(
    State(authority): State<Authority>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match revoke_inner(&authority, &headers, &body) {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    }
}

fn revoke_inner(authority: &Authority, headers: &HeaderMap, body: &[u8]) -> Result<(), OAuthError> {
    let params = Params::parse(body);
    let client = authenticate(authority, headers, &params)?;
    let presented = params.require("token")?;
    // The hint only speeds up a lookup (RFC 7009 §2.1); one table holds both
    // kinds here, so it is read and ignored.
    let _hint = params.get("token_type_hint")?;
    let now = authority.now();
    let mut db = authority.db();
    let tx = db.transaction()?;
    let hash = secret::hash(presented);
    // A token that is unknown, or belongs to another client, is answered
    // like a revoked one: the answer tells nothing about other clients.
    let Some(stored) = store::token(&tx, &hash)?.filter(|t| t.client_id == client.client_id) else {
        return Ok(());
    };
    // A one-time grant has no refresh token: its access token is the whole
    // grant, so revoking it ends the grant, as revoking a linkage's refresh
    // token does.
    let one_time =
        store::grant(&tx, &stored.grant_id)?.is_some_and(|grant| grant.ends_at.is_none());
    match stored.kind {
        TokenKind::Refresh => store::end_grant(&tx, &stored.grant_id, GrantStatus::Revoked, now)?,
        TokenKind::Access if one_time => {
            store::end_grant(&tx, &stored.grant_id, GrantStatus::Revoked, now)?
        }
        TokenKind::Access => store::revoke_token(&tx, &stored.hash, now)?,
    }
    tx.commit()?;
    Ok(())
}

/// The grant behind a Bearer access token, if the token is valid now.
pub(crate) fn bearer_grant(
    authority: &Authority,
    headers: &HeaderMap,
) -> Result<Grant, OAuthError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, rest) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim())
        })
        .ok_or_else(|| {
            let mut error = OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_request",
                "a Bearer access token is required",
            );
            // RFC 6750 §3.1: no error code when no credentials were sent.
            error.www_authenticate = Some(r#"Bearer realm="myna-authority""#.into());
            error
        })?;
    let now = authority.now();
    let db = authority.db();
    let stored = store::token(&db, &secret::hash(token))?
        .filter(|t| t.kind == TokenKind::Access)
        .ok_or_else(|| OAuthError::invalid_token("the access token is not valid"))?;
    if stored.revoked_at.is_some() {
        return Err(OAuthError::invalid_token("the access token is revoked"));
    }
    if stored.expires_at.is_some_and(|at| now >= at) {
        return Err(OAuthError::invalid_token("the access token has expired"));
    }
    let grant = store::grant(&db, &stored.grant_id)?
        .ok_or_else(|| OAuthError::invalid_token("the access token is not valid"))?;
    match grant.status(now) {
        GrantStatus::Active => Ok(grant),
        status => Err(OAuthError::invalid_token("the grant has ended").with_grant_status(status)),
    }
}
