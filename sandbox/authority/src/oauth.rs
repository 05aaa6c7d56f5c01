//! The OAuth 2.0 endpoints: RFC 8414 metadata, PAR (RFC 9126, with a DPoP
//! proof or `dpop_jkt` binding the code to a key), the token endpoint (codes
//! with PKCE S256, single-use refresh tokens with reuse detection and a short
//! grace for a retried rotation, DPoP-bound tokens),
//! revocation (RFC 7009), client authentication (`client_secret_basic` and
//! `private_key_jwt`, behind the lock-out after failures), and the check of
//! an access token at the retrieval API (Bearer, or DPoP with a proof).

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
use crate::dpop::{self, DpopError, Proof, Thumbprint};
use crate::lockout::Peer;
use crate::secret::{self, Secret};
use crate::store::{self, Grant, GrantStatus, NewToken, StoredToken, TokenKind};
use crate::{Authority, ClientAuth, ClientConfig};

/// How long a pushed request_uri lives, in seconds.
pub(crate) const REQUEST_URI_LIFETIME: i64 = 90;
/// The prefix RFC 9126 §2.2 gives request_uris.
const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How an access token is presented at the retrieval API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `Authorization: Bearer` (RFC 6750), for a token bound to no key.
    Bearer,
    /// `Authorization: DPoP` with a `DPoP` proof (RFC 9449 §7), for a token
    /// bound to a key.
    Dpop,
}

impl Scheme {
    /// The `WWW-Authenticate` challenge, with `error` when credentials came.
    fn challenge(self, error: Option<&str>) -> String {
        let mut challenge = match self {
            Self::Bearer => String::from(r#"Bearer realm="myna-authority""#),
            Self::Dpop => String::from(r#"DPoP realm="myna-authority", algs="ES256""#),
        };
        if let Some(error) = error {
            challenge.push_str(&format!(r#", error="{error}""#));
        }
        challenge
    }
}

/// An error answer of the token, PAR, revocation and retrieval endpoints
/// (RFC 6749 §5.2, RFC 6750 §3, RFC 9449 §7.1), with `grant_status` where a
/// grant ended.
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

    /// 401 `invalid_token` at a resource (RFC 6750 §3.1, RFC 9449 §7.1).
    pub(crate) fn invalid_token(scheme: Scheme, description: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description);
        error.www_authenticate = Some(scheme.challenge(Some("invalid_token")));
        error
    }

    /// 403 `insufficient_scope` at a resource (RFC 6750 §3.1).
    pub(crate) fn insufficient_scope(scheme: Scheme, description: impl Into<String>) -> Self {
        let mut error = Self::new(StatusCode::FORBIDDEN, "insufficient_scope", description);
        error.www_authenticate = Some(scheme.challenge(Some("insufficient_scope")));
        error
    }

    /// 400 `invalid_dpop_proof` at the token endpoint (RFC 9449 §5).
    fn invalid_dpop_proof(error: DpopError) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_dpop_proof",
            error.to_string(),
        )
    }

    /// 401 `invalid_dpop_proof` at a resource (RFC 9449 §7.1).
    fn invalid_dpop_proof_at_resource(error: DpopError) -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_dpop_proof",
            error.to_string(),
        );
        error.www_authenticate = Some(Scheme::Dpop.challenge(Some("invalid_dpop_proof")));
        error
    }

    /// 429 with `Retry-After` while failed authentications lock a client id
    /// out.
    pub(crate) fn locked_out(retry_after: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            "too many failed client authentications; retry after the time in Retry-After",
        );
        error.retry_after = Some(retry_after);
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
    /// The thumbprint of the DPoP key the code will be bound to (RFC 9449
    /// §10): `dpop_jkt`, or the key of the pushed request's proof. A request
    /// pushed before the field existed has none.
    #[serde(default)]
    pub(crate) dpop_jkt: Option<String>,
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
        (Some(challenge), Some("S256")) if secret::is_sha256_base64url(challenge) => challenge,
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
    let dpop_jkt = match params.get("dpop_jkt").map_err(redirect)? {
        Some(jkt) if secret::is_sha256_base64url(jkt) => Some(jkt.to_owned()),
        Some(_) => {
            return Err(redirect(OAuthError::invalid_request(
                "dpop_jkt must be a base64url SHA-256 JWK thumbprint (RFC 7638)",
            )))
        }
        None => None,
    };
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
        dpop_jkt,
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
/// from its rate-limit bucket. A failed authentication counts towards the
/// lock-out of the claimed client id (from `peer`); while that id is locked
/// out, its credentials are not even checked.
pub(crate) fn authenticate<'a>(
    authority: &'a Authority,
    headers: &HeaderMap,
    params: &Params,
    peer: Peer,
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
    let credentials = match (basic, assertion) {
        // RFC 6749 §2.3: one method per request.
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "use one client authentication method, not two",
            ))
        }
        (Some(basic), None) => Credentials::basic(basic)?,
        (None, Some(assertion)) => Credentials::assertion(params, assertion)?,
        (None, None) => {
            return Err(OAuthError::invalid_client(
                "client authentication is required",
            ))
        }
    };
    // The lock-out answers before the credentials are checked, so that a
    // right secret during a lock-out gets the same 429 as a wrong one: the
    // lock-out is no oracle.
    let client = authority.behind_lockout(credentials.client_id(), peer, || {
        credentials.verify(authority)
    })?;
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

/// The credentials of a back-channel request, read but not yet checked.
/// Deliberately not `Debug`: it holds a secret.
enum Credentials<'p> {
    /// `client_secret_basic`: the decoded client id and secret.
    Basic { client_id: String, secret: String },
    /// `private_key_jwt`: the claimed client id (`client_id` in the body,
    /// else the assertion's `iss`) and the assertion.
    Assertion {
        client_id: String,
        assertion: Assertion<'p>,
    },
}

impl<'p> Credentials<'p> {
    fn basic(basic: &str) -> Result<Self, OAuthError> {
        let decoded = STANDARD
            .decode(basic)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| OAuthError::invalid_client("the Basic credentials are malformed"))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| OAuthError::invalid_client("the Basic credentials are malformed"))?;
        Ok(Self::Basic {
            client_id: form_decode(id),
            secret: form_decode(secret),
        })
    }

    fn assertion(params: &'p Params, jwt: &'p str) -> Result<Self, OAuthError> {
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
            .ok_or_else(|| OAuthError::invalid_client("the client assertion has no iss"))?
            .to_owned();
        Ok(Self::Assertion {
            client_id,
            assertion,
        })
    }

    /// The client the request claims to come from, known or not.
    fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. } => client_id,
            Self::Assertion { client_id, .. } => client_id,
        }
    }

    fn verify<'a>(&self, authority: &'a Authority) -> Result<&'a ClientConfig, OAuthError> {
        let client = authority.config().client(self.client_id());
        match self {
            Self::Basic { secret: given, .. } => {
                // Compare against something even for an unknown client, so
                // the time taken does not tell which client ids exist.
                let expected = match client.map(|c| &c.auth) {
                    Some(ClientAuth::ClientSecretBasic { secret }) => secret.expose(),
                    _ => "no client has this secret",
                };
                let matches = secret::same(given, expected);
                match client {
                    Some(client)
                        if matches
                            && matches!(client.auth, ClientAuth::ClientSecretBasic { .. }) =>
                    {
                        Ok(client)
                    }
                    _ => Err(OAuthError::invalid_client("client authentication failed")),
                }
            }
            Self::Assertion { assertion, .. } => {
                let client = client
                    .ok_or_else(|| OAuthError::invalid_client("client authentication failed"))?;
                let ClientAuth::PrivateKeyJwt { jwks } = &client.auth else {
                    return Err(OAuthError::invalid_client("client authentication failed"));
                };
                assertion
                    .verify(authority, &client.client_id, jwks)
                    .map_err(OAuthError::invalid_client)?;
                Ok(client)
            }
        }
    }
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
        "dpop_signing_alg_values_supported": ["ES256"],
    });
    (StatusCode::OK, Json(body)).into_response()
}

/// `POST /par` (RFC 9126).
pub(crate) async fn par(
    State(authority): State<Authority>,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match par_inner(&authority, peer, &headers, &body) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

fn par_inner(
    authority: &Authority,
    peer: Peer,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, OAuthError> {
    let params = Params::parse(body);
    let client = authenticate(authority, headers, &params, peer)?;
    if params.get("request_uri")?.is_some() {
        return Err(OAuthError::invalid_request(
            "request_uri must not be pushed (RFC 9126 §2.1)",
        ));
    }
    let mut request = match check_request(&params, client) {
        Ok(request) => request,
        Err(RequestProblem::NoRedirect(error)) => return Err(error),
        Err(RequestProblem::Redirect { error, .. }) => return Err(*error),
    };
    // RFC 9449 §10.1: a proof binds the code to its key, as `dpop_jkt`
    // does; when both come, they must name the same key.
    if let Some(proof) = request_proof(authority, headers, "/par")? {
        let jkt = proof.thumbprint().as_str();
        match request.dpop_jkt.as_deref() {
            Some(named) if named != jkt => {
                return Err(OAuthError::invalid_dpop_proof(DpopError::NotDpopJkt))
            }
            Some(_) => {}
            None => request.dpop_jkt = Some(jkt.to_owned()),
        }
        remember_proof(authority, Some(&proof))?;
    }
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
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    let result = authenticate(&authority, &headers, &params, peer).and_then(|client| {
        let grant: GrantHandler = match params.require("grant_type")? {
            "authorization_code" => exchange_code,
            "refresh_token" => refresh,
            _ => {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "unsupported_grant_type",
                    "grant_type must be authorization_code or refresh_token",
                ))
            }
        };
        let proof = request_proof(&authority, &headers, "/token")?;
        if proof.is_none() && client.dpop_bound_access_tokens {
            return Err(OAuthError::invalid_dpop_proof(DpopError::Missing));
        }
        grant(&authority, client, &params, proof.as_ref())
    });
    match result {
        Ok(body) => json_no_store(StatusCode::OK, body),
        Err(error) => error.into_response(),
    }
}

/// A grant type at the token endpoint: the authority, the authenticated
/// client, the parameters and the DPoP proof, checked but not yet
/// remembered: the handler remembers it ([`remember_proof`]) once the code
/// or refresh token is found and the proof's key is the one it is bound to.
type GrantHandler =
    fn(&Authority, &ClientConfig, &Params, Option<&Proof>) -> Result<Value, OAuthError>;

/// The DPoP proof of a request to `path` (`/par` or `/token`), checked but
/// not yet remembered; `None` without one.
fn request_proof(
    authority: &Authority,
    headers: &HeaderMap,
    path: &str,
) -> Result<Option<Proof>, OAuthError> {
    let Some(proof) = dpop::proof_header(headers).map_err(OAuthError::invalid_dpop_proof)? else {
        return Ok(None);
    };
    let url = format!("{}{path}", authority.issuer());
    let target = dpop::Target {
        method: "POST",
        url: &url,
        access_token: None,
    };
    dpop::check(proof, &target)
        .map(Some)
        .map_err(OAuthError::invalid_dpop_proof)
}

/// Remembers the `jti` of a request's proof: the last check of the proof,
/// made only once everything else it depends on has passed, so that a
/// proof refused for another reason takes no room in the memory.
fn remember_proof(authority: &Authority, proof: Option<&Proof>) -> Result<(), OAuthError> {
    match proof {
        Some(proof) => proof
            .remember(authority.dpop_proofs())
            .map_err(OAuthError::invalid_dpop_proof),
        None => Ok(()),
    }
}

fn exchange_code(
    authority: &Authority,
    client: &ClientConfig,
    params: &Params,
    proof: Option<&Proof>,
) -> Result<Value, OAuthError> {
    let code = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params.require("code_verifier")?;
    let now = authority.now();
    let mut db = authority.db();
    let tx = store::write(&mut db)?;
    let code_hash = secret::hash(code);
    let stored = store::code(&tx, &code_hash)?
        .filter(|stored| stored.client_id == client.client_id)
        .ok_or_else(|| OAuthError::invalid_grant("the code is not valid"))?;
    // A code bound at PAR is worth nothing without its key. Checked first,
    // so that a party without the key can neither use the code nor end the
    // grant by replaying it, and a refusal leaves the code unused.
    if let Some(bound) = stored.jkt.as_deref() {
        match proof {
            None => return Err(OAuthError::invalid_dpop_proof(DpopError::Missing)),
            Some(proof) if proof.thumbprint().as_str() != bound => {
                return Err(OAuthError::invalid_dpop_proof(DpopError::NotCodeKey))
            }
            Some(_) => {}
        }
    }
    remember_proof(authority, proof)?;
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
    let refresh = match grant.details.period {
        Period::Linkage { .. } => NextRefresh::New(Secret::generate()),
        Period::OneTime => NextRefresh::None,
    };
    let body = issue_tokens(
        authority,
        &tx,
        &grant,
        now,
        proof.map(Proof::thumbprint),
        refresh,
    )?;
    tx.commit()?;
    Ok(body)
}

fn refresh(
    authority: &Authority,
    client: &ClientConfig,
    params: &Params,
    proof: Option<&Proof>,
) -> Result<Value, OAuthError> {
    let presented = params.require("refresh_token")?;
    let now = authority.now();
    let mut db = authority.db();
    let tx = store::write(&mut db)?;
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
    // A bound refresh token is worth nothing without its key. Checked
    // first, so that a party without the key can neither use the token nor
    // end the grant by replaying it.
    if let Some(bound) = stored.jkt.as_deref() {
        match proof {
            None => return Err(OAuthError::invalid_dpop_proof(DpopError::Missing)),
            Some(proof) if proof.thumbprint().as_str() != bound => {
                return Err(OAuthError::invalid_grant(
                    "the refresh token is bound to another DPoP key",
                ))
            }
            Some(_) => {}
        }
    }
    remember_proof(authority, proof)?;
    let proof = proof.map(Proof::thumbprint);
    let successor = authority.successor_key().successor(presented);
    if let Some(again) = lost_rotation(authority, &tx, &stored, successor.clone(), proof, now)? {
        let body = issue_tokens(authority, &tx, &grant, now, proof, again)?;
        tx.commit()?;
        return Ok(body);
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
    let body = issue_tokens(
        authority,
        &tx,
        &grant,
        now,
        proof,
        NextRefresh::New(successor),
    )?;
    tx.commit()?;
    Ok(body)
}

/// A refresh token rotated moments ago and presented again by the same
/// client (and, through the successor's binding, the same DPoP key): the
/// answer to the rotation was most likely lost on the way, so its successor
/// is handed out again, as long as nobody has used that successor yet and
/// the grace (`refreshTokenReuseGraceSeconds`) has not passed. `None` when
/// the reuse must count as theft.
fn lost_rotation(
    authority: &Authority,
    db: &rusqlite::Connection,
    stored: &StoredToken,
    successor: Secret,
    proof: Option<&Thumbprint>,
    now: OffsetDateTime,
) -> Result<Option<NextRefresh>, OAuthError> {
    let grace = Duration::seconds(i64::from(
        authority
            .config()
            .authority
            .refresh_token_reuse_grace_seconds,
    ));
    let Some(used_at) = stored.used_at else {
        return Ok(None);
    };
    if stored.revoked_at.is_some() || now >= used_at + grace {
        return Ok(None);
    }
    let unused = store::token(db, &successor.hash())?.is_some_and(|next| {
        next.kind == TokenKind::Refresh
            && next.grant_id == stored.grant_id
            && next.client_id == stored.client_id
            && next.used_at.is_none()
            && next.revoked_at.is_none()
            && next.jkt.as_deref() == proof.map(Thumbprint::as_str)
    });
    Ok(unused.then_some(NextRefresh::Again(successor)))
}

/// The refresh token a token response carries.
enum NextRefresh {
    /// None: a one-time grant has no refresh token.
    None,
    /// A new one, recorded now.
    New(Secret),
    /// The successor recorded at a rotation whose answer was lost, handed
    /// out again and not recorded twice. The access tokens issued with it
    /// before are revoked, so that retries cannot collect live access
    /// tokens: of a rotation, only the newest answer's works.
    Again(Secret),
}

/// A new access token (and, for a linkage, the refresh token `refresh`) for
/// `grant`, bound to the DPoP key `proof` when there is one, and the token
/// response. Neither token outlives the grant.
fn issue_tokens(
    authority: &Authority,
    db: &rusqlite::Connection,
    grant: &Grant,
    now: OffsetDateTime,
    proof: Option<&Thumbprint>,
    refresh: NextRefresh,
) -> Result<Value, OAuthError> {
    let lifetime = Duration::seconds(i64::from(
        authority.config().authority.access_token_lifetime_seconds,
    ));
    let mut access_expires = now + lifetime;
    if let Some(ends_at) = grant.ends_at {
        access_expires = access_expires.min(ends_at);
    }
    let jkt = proof.map(Thumbprint::as_str);
    let refresh_hash = match &refresh {
        NextRefresh::None => None,
        NextRefresh::New(token) | NextRefresh::Again(token) => Some(token.hash()),
    };
    if let (NextRefresh::Again(_), Some(refresh_hash)) = (&refresh, &refresh_hash) {
        store::revoke_access_tokens_issued_with(db, &grant.id, refresh_hash, now)?;
    }
    let access = Secret::generate();
    store::insert_token(
        db,
        &NewToken {
            hash: &access.hash(),
            grant_id: &grant.id,
            client_id: &grant.client_id,
            kind: TokenKind::Access,
            issued_at: now,
            expires_at: Some(access_expires),
            jkt,
            refresh_hash: refresh_hash.as_deref(),
        },
    )?;
    let mut body = json!({
        "access_token": access.expose(),
        "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": (access_expires - now).whole_seconds().max(0),
        "authorization_details": [granted_entry(grant)],
    });
    match refresh {
        NextRefresh::None => {}
        NextRefresh::New(token) => {
            store::insert_token(
                db,
                &NewToken {
                    hash: &token.hash(),
                    grant_id: &grant.id,
                    client_id: &grant.client_id,
                    kind: TokenKind::Refresh,
                    issued_at: now,
                    expires_at: grant.ends_at,
                    jkt,
                    refresh_hash: None,
                },
            )?;
            body["refresh_token"] = json!(token.expose());
        }
        NextRefresh::Again(token) => body["refresh_token"] = json!(token.expose()),
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
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match revoke_inner(&authority, peer, &headers, &body) {
        Ok(()) => {
            let mut response = StatusCode::OK.into_response();
            no_store(response.headers_mut());
            response
        }
        Err(error) => error.into_response(),
    }
}

fn revoke_inner(
    authority: &Authority,
    peer: Peer,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), OAuthError> {
    let params = Params::parse(body);
    // No DPoP proof here: revoking needs only client authentication.
    let client = authenticate(authority, headers, &params, peer)?;
    let presented = params.require("token")?;
    // The hint only speeds up a lookup (RFC 7009 §2.1); one table holds both
    // kinds here, so it is read and ignored.
    let _hint = params.get("token_type_hint")?;
    let now = authority.now();
    let mut db = authority.db();
    let tx = store::write(&mut db)?;
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

/// The grant behind the access token of a resource request, and how the
/// token came.
pub(crate) struct Access {
    pub(crate) grant: Grant,
    pub(crate) scheme: Scheme,
}

/// The grant behind the access token of the request `method` `path` (the
/// path under the issuer), if the token is valid now, after one token from
/// its client's rate-limit bucket. A token bound to a DPoP key must come as
/// `Authorization: DPoP` with a proof by that key for this very request; an
/// unbound one as `Authorization: Bearer`.
///
/// The proof's `jti` is remembered last, once the key, the token and the
/// rate limit have passed: someone who holds a leaked token but not its key
/// must not be able to fill the replay memory with proofs of their own.
pub(crate) fn access_grant(
    authority: &Authority,
    headers: &HeaderMap,
    method: &str,
    path: &str,
) -> Result<Access, OAuthError> {
    let (scheme, token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            let (scheme, rest) = value.split_once(' ')?;
            let scheme = if scheme.eq_ignore_ascii_case("bearer") {
                Scheme::Bearer
            } else if scheme.eq_ignore_ascii_case("dpop") {
                Scheme::Dpop
            } else {
                return None;
            };
            Some((scheme, rest.trim()))
        })
        .ok_or_else(|| {
            let mut error = OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_request",
                "an access token is required (Authorization: Bearer or DPoP)",
            );
            // RFC 6750 §3.1: no error code when no credentials were sent.
            error.www_authenticate = Some(format!(
                "{}, {}",
                Scheme::Bearer.challenge(None),
                Scheme::Dpop.challenge(None)
            ));
            error
        })?;
    let now = authority.now();
    let db = authority.db();
    let stored = store::token(&db, &secret::hash(token))?
        .filter(|t| t.kind == TokenKind::Access)
        .ok_or_else(|| OAuthError::invalid_token(scheme, "the access token is not valid"))?;
    let proof = match (stored.jkt.as_deref(), scheme) {
        (None, Scheme::Bearer) => None,
        (None, Scheme::Dpop) => {
            return Err(OAuthError::invalid_token(
                Scheme::Dpop,
                "the access token is not bound to a DPoP key; send it as Authorization: Bearer",
            ))
        }
        // A bound token without its proof is what a thief would send.
        (Some(_), Scheme::Bearer) => {
            return Err(OAuthError::invalid_token(
                Scheme::Dpop,
                "the access token is bound to a DPoP key; send it as Authorization: DPoP with a DPoP proof",
            ))
        }
        (Some(jkt), Scheme::Dpop) => {
            let url = format!("{}{path}", authority.issuer());
            let target = dpop::Target {
                method,
                url: &url,
                access_token: Some(token),
            };
            let proof = dpop::proof_header(headers)
                .and_then(|proof| proof.ok_or(DpopError::Missing))
                .and_then(|proof| dpop::check(proof, &target))
                .and_then(|proof| {
                    if proof.thumbprint().as_str() == jkt {
                        Ok(proof)
                    } else {
                        Err(DpopError::OtherKey)
                    }
                })
                .map_err(OAuthError::invalid_dpop_proof_at_resource)?;
            Some(proof)
        }
    };
    if stored.revoked_at.is_some() {
        return Err(OAuthError::invalid_token(
            scheme,
            "the access token is revoked",
        ));
    }
    if stored.expires_at.is_some_and(|at| now >= at) {
        return Err(OAuthError::invalid_token(
            scheme,
            "the access token has expired",
        ));
    }
    let grant = store::grant(&db, &stored.grant_id)?
        .ok_or_else(|| OAuthError::invalid_token(scheme, "the access token is not valid"))?;
    drop(db);
    match grant.status(now) {
        GrantStatus::Active => {}
        status => {
            return Err(
                OAuthError::invalid_token(scheme, "the grant has ended").with_grant_status(status)
            )
        }
    }
    let client = authority
        .config()
        .client(&grant.client_id)
        .ok_or_else(|| OAuthError::invalid_token(scheme, "the client is no longer registered"))?;
    authority.limit(client)?;
    if let Some(proof) = proof {
        proof
            .remember(authority.dpop_proofs())
            .map_err(OAuthError::invalid_dpop_proof_at_resource)?;
    }
    Ok(Access { grant, scheme })
}
