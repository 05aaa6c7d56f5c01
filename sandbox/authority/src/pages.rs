//! The authorization endpoint and its pages: sign-in with a test citizen's
//! card PIN, then the authority's own consent page, then the redirect back
//! to the client with a code (or `access_denied`).
//!
//! A flow through the pages is bound to the authority's session cookie and
//! carries a per-form token; both are stored as hashes. Anything that could
//! make the authority an open redirector ends on an error page instead.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use myna_consent::catalogue::{self, Sensitivity};
use myna_consent::consent::jst_date;
use myna_consent::i18n::{fill, format_date, words, Locale};
use myna_consent::request::Period;
use time::Duration;

use crate::details::ConsentDetails;
use crate::html::{escape, page};
use crate::oauth::{check_request, AuthorizationRequest, OAuthError, Params, RequestProblem};
use crate::secret::{self, Secret};
use crate::store::{self, Flow};
use crate::{Authority, ClientConfig};

/// The authority's session cookie.
pub(crate) const SESSION_COOKIE: &str = "myna_authority_session";
/// How long a citizen has to get through the pages.
const FLOW_LIFETIME_MINUTES: i64 = 10;
/// Wrong PINs in a row that lock a card.
pub(crate) const PIN_ATTEMPTS: u32 = 3;

/// `GET /static/authority.css`.
pub(crate) async fn stylesheet() -> Response {
    let mut response = include_str!("../static/authority.css").into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// Why a page cannot go on. Each ends on an error page with status 400 and
/// no redirect.
#[derive(Debug)]
enum PageError {
    /// `client_id` is missing or not registered.
    UnknownClient,
    /// PAR is required and no request_uri came.
    ParRequired,
    /// The request_uri is unknown, expired, used or another client's.
    BadRequestUri,
    /// The request cannot be trusted (redirect URI, PKCE, …).
    BadRequest(OAuthError),
    /// The flow is unknown, expired, or belongs to another browser.
    FlowExpired,
    /// The form token does not match.
    BadFormToken,
    /// The database failed.
    Server,
}

impl PageError {
    fn code(&self) -> &'static str {
        match self {
            Self::UnknownClient => "unknown_client",
            Self::ParRequired => "par_required",
            Self::BadRequestUri => "invalid_request_uri",
            Self::BadRequest(_) => "invalid_request",
            Self::FlowExpired => "flow_expired",
            Self::BadFormToken => "invalid_form_token",
            Self::Server => "server_error",
        }
    }

    fn message(&self, locale: Locale) -> String {
        let (ja, en) = match self {
            Self::UnknownClient => (
                "このサービスはマイナポータル（サンドボックス）に登録されていません。",
                "This service is not registered with Mynaportal (sandbox).",
            ),
            Self::ParRequired => (
                "このリクエストは受け付けられません。サービスは事前にリクエストを登録する必要があります（PAR）。",
                "This request cannot be accepted: the service must register it in advance (PAR).",
            ),
            Self::BadRequestUri => (
                "このリクエストは有効期限が切れたか、すでに使われています。",
                "This request has expired or has already been used.",
            ),
            Self::BadRequest(_) => (
                "このリクエストには誤りがあるため、受け付けられません。",
                "This request has an error and cannot be accepted.",
            ),
            Self::FlowExpired => (
                "この画面の有効期限が切れたか、別のブラウザーで開かれました。",
                "This page has expired, or it was opened in another browser.",
            ),
            Self::BadFormToken => (
                "画面の情報が古くなっています。",
                "This page is out of date.",
            ),
            Self::Server => (
                "マイナポータル（サンドボックス）で問題が発生しました。",
                "Something went wrong at Mynaportal (sandbox).",
            ),
        };
        match locale {
            Locale::Ja => ja.into(),
            Locale::En => en.into(),
        }
    }
}

impl From<rusqlite::Error> for PageError {
    fn from(error: rusqlite::Error) -> Self {
        eprintln!("myna-authority: internal error: {error}");
        Self::Server
    }
}

/// The language of a page: `?lang=en` (or the form field), else Japanese.
fn locale_of(params: &Params) -> Locale {
    match params.get("lang") {
        Ok(Some("en")) => Locale::En,
        _ => Locale::Ja,
    }
}

/// The headers every page carries: CSP, no sniffing, no referrer, no cache.
fn page_response(authority: &Authority, status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(csp) = HeaderValue::from_str(authority.page_csp()) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn error_page(authority: &Authority, locale: Locale, error: &PageError) -> Response {
    let (title, again, detail_label) = match locale {
        Locale::Ja => (
            "手続を続けられません",
            "利用中のサービスの画面に戻って、もう一度はじめからお試しください。",
            "サービス提供者向けの情報",
        ),
        Locale::En => (
            "The procedure cannot continue",
            "Go back to the service you were using and start again.",
            "Information for the service provider",
        ),
    };
    let detail = match error {
        PageError::BadRequest(oauth) => format!("{}: {}", error.code(), oauth_description(oauth)),
        _ => error.code().to_owned(),
    };
    let body = format!(
        r#"<div class="error" role="alert"><p>{message}</p><p>{again}</p></div>
<p class="detail">{detail_label}: <code>{detail}</code></p>"#,
        message = escape(&error.message(locale)),
        again = escape(again),
        detail_label = escape(detail_label),
        detail = escape(&detail),
    );
    let status = match error {
        PageError::Server => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    page_response(authority, status, page(locale, title, &body, None))
}

fn oauth_description(error: &OAuthError) -> String {
    // The description is meant for the client's engineer; the page shows it
    // under the plain message.
    error.fields()["error_description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The session cookie's value, when the browser sent a well-formed one.
fn session_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| {
            *name == SESSION_COOKIE
                && value.len() == 43
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(|(_, value)| value.to_owned())
}

/// `GET /authorize`: checks the request (a pushed request_uri, or the plain
/// parameters when PAR is not required), opens a flow bound to the session
/// cookie, and sends the browser to the sign-in page.
pub(crate) async fn authorize(
    State(authority): State<Authority>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let locale = locale_of(&params);
    match authorize_inner(&authority, &headers, &params, locale) {
        Ok(response) => response,
        Err(error) => error_page(&authority, locale, &error),
    }
}

fn authorize_inner(
    authority: &Authority,
    headers: &HeaderMap,
    params: &Params,
    locale: Locale,
) -> Result<Response, PageError> {
    let client = params
        .get("client_id")
        .ok()
        .flatten()
        .and_then(|id| authority.config().client(id))
        .ok_or(PageError::UnknownClient)?;
    let now = authority.now();
    let request_uri = params.get("request_uri").map_err(PageError::BadRequest)?;
    let request = match request_uri {
        Some(request_uri) => {
            let stored = store::take_request(&authority.db(), &secret::hash(request_uri), now)?
                .filter(|r| {
                    r.client_id == client.client_id && r.used_at.is_none() && now < r.expires_at
                })
                .ok_or(PageError::BadRequestUri)?;
            serde_json::from_str::<AuthorizationRequest>(&stored.params)
                .map_err(|_| PageError::BadRequestUri)?
        }
        None if authority
            .config()
            .authority
            .require_pushed_authorization_requests =>
        {
            return Err(PageError::ParRequired)
        }
        None => match check_request(params, client) {
            Ok(request) => request,
            Err(RequestProblem::NoRedirect(error)) => return Err(PageError::BadRequest(error)),
            Err(RequestProblem::Redirect {
                redirect_uri,
                state,
                error,
            }) => {
                let fields = error.fields();
                let code = fields["error"].as_str().unwrap_or("invalid_request");
                let description = fields["error_description"].as_str().unwrap_or_default();
                return Ok(redirect_to_client(
                    authority,
                    &redirect_uri,
                    &[("error", code), ("error_description", description)],
                    state.as_deref(),
                ));
            }
        },
    };
    let (session, new_session) = match session_of(headers) {
        Some(session) => (session, false),
        None => (Secret::generate().expose().to_owned(), true),
    };
    let flow_id = Secret::generate();
    let form_token = Secret::generate();
    let params_json = serde_json::to_string(&request).map_err(|_| PageError::Server)?;
    store::insert_flow(
        &authority.db(),
        &Flow {
            flow_hash: flow_id.hash(),
            session_hash: secret::hash(&session),
            form_token_hash: form_token.hash(),
            client_id: client.client_id.clone(),
            params: params_json,
            citizen_id: None,
            expires_at: now + Duration::minutes(FLOW_LIFETIME_MINUTES),
        },
    )?;
    let mut response = see_other(&format!(
        "/authorize/signin?flow={}&lang={}",
        flow_id.expose(),
        locale.code()
    ));
    if new_session {
        let secure = if authority.issuer().starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax{secure}");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// 303 See Other to a path of the authority.
fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 303 to the client's registered redirect URI with `pairs`, `state` and
/// `iss` (RFC 9207) added to its query.
fn redirect_to_client(
    authority: &Authority,
    redirect_uri: &str,
    pairs: &[(&str, &str)],
    state: Option<&str>,
) -> Response {
    // Registered redirect URIs were checked to be absolute URLs at start-up.
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return error_page(authority, Locale::Ja, &PageError::Server);
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            if !value.is_empty() {
                query.append_pair(name, value);
            }
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", authority.issuer());
    }
    see_other(url.as_str())
}

/// A flow found from the `flow` parameter, checked against the session
/// cookie and its lifetime.
struct OpenFlow {
    flow: Flow,
    request: AuthorizationRequest,
    client: ClientConfig,
}

fn open_flow(
    authority: &Authority,
    headers: &HeaderMap,
    params: &Params,
) -> Result<OpenFlow, PageError> {
    let flow_id = params
        .get("flow")
        .ok()
        .flatten()
        .ok_or(PageError::FlowExpired)?;
    let session = session_of(headers).ok_or(PageError::FlowExpired)?;
    let flow =
        store::flow(&authority.db(), &secret::hash(flow_id))?.ok_or(PageError::FlowExpired)?;
    if !secret::same(&secret::hash(&session), &flow.session_hash)
        || authority.now() >= flow.expires_at
    {
        return Err(PageError::FlowExpired);
    }
    let request: AuthorizationRequest =
        serde_json::from_str(&flow.params).map_err(|_| PageError::FlowExpired)?;
    let client = authority
        .config()
        .client(&flow.client_id)
        .cloned()
        .ok_or(PageError::UnknownClient)?;
    Ok(OpenFlow {
        flow,
        request,
        client,
    })
}

/// Checks the per-form token of a POST.
fn check_form_token(flow: &Flow, params: &Params) -> Result<(), PageError> {
    let token = params
        .get("token")
        .ok()
        .flatten()
        .ok_or(PageError::BadFormToken)?;
    if secret::same(&secret::hash(token), &flow.form_token_hash) {
        Ok(())
    } else {
        Err(PageError::BadFormToken)
    }
}

/// `GET /authorize/signin`.
pub(crate) async fn signin_page(
    State(authority): State<Authority>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let locale = locale_of(&params);
    let result = open_flow(&authority, &headers, &params).and_then(|open| {
        // A GET cannot know the form token, so the page gets a fresh one.
        let form_token = Secret::generate();
        let flow_id = params.get("flow").ok().flatten().unwrap_or_default();
        store::sign_in_flow_token(&authority.db(), &open.flow.flow_hash, &form_token.hash())?;
        Ok(render_signin(
            &authority,
            locale,
            &open,
            flow_id,
            &form_token,
            None,
            None,
        ))
    });
    result.unwrap_or_else(|error| error_page(&authority, locale, &error))
}

/// What went wrong with a sign-in attempt.
enum SignInProblem {
    NoCitizen,
    PinFormat,
    WrongPin { left: u32 },
    LockedNow,
    Locked,
}

impl SignInProblem {
    fn message(&self, locale: Locale) -> String {
        match (self, locale) {
            (Self::NoCitizen, Locale::Ja) => "利用者を選んでください。".into(),
            (Self::NoCitizen, Locale::En) => "Choose a test citizen.".into(),
            (Self::PinFormat, Locale::Ja) => "暗証番号は数字4桁で入力してください。".into(),
            (Self::PinFormat, Locale::En) => "Enter the PIN as 4 digits.".into(),
            (Self::WrongPin { left }, Locale::Ja) => format!(
                "暗証番号が違います。あと{left}回続けて間違えると、カードがロックされます。"
            ),
            (Self::WrongPin { left }, Locale::En) => format!(
                "The PIN is wrong. {left} more wrong {attempts} in a row will lock the card.",
                attempts = if *left == 1 { "attempt" } else { "attempts" }
            ),
            (Self::LockedNow, Locale::Ja) => "暗証番号を3回続けて間違えたため、このカードはロックされました。別の利用者を選んでください（実際のカードでは、お住まいの市区町村の窓口でロックを解除します）。".into(),
            (Self::LockedNow, Locale::En) => "The PIN was wrong 3 times in a row, so this card is now locked. Choose another test citizen (a real card is unlocked at your municipal office).".into(),
            (Self::Locked, Locale::Ja) => "このカードはロックされています。別の利用者を選んでください。".into(),
            (Self::Locked, Locale::En) => "This card is locked. Choose another test citizen.".into(),
        }
    }
}

/// `POST /authorize/signin`: checks the card PIN of the chosen citizen.
pub(crate) async fn signin_submit(
    State(authority): State<Authority>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    let locale = locale_of(&params);
    signin_inner(&authority, &headers, &params, locale)
        .unwrap_or_else(|error| error_page(&authority, locale, &error))
}

fn signin_inner(
    authority: &Authority,
    headers: &HeaderMap,
    params: &Params,
    locale: Locale,
) -> Result<Response, PageError> {
    let open = open_flow(authority, headers, params)?;
    check_form_token(&open.flow, params)?;
    let flow_id = params.get("flow").ok().flatten().unwrap_or_default();
    let chosen = params.get("citizen").ok().flatten();
    let pin = params.get("pin").ok().flatten().unwrap_or_default();
    let citizen = chosen.and_then(|id| authority.config().citizen(id));
    let problem = match citizen {
        None => Some(SignInProblem::NoCitizen),
        Some(citizen) => {
            let db = authority.db();
            let card = store::card(&db, &citizen.id)?;
            if card.locked {
                Some(SignInProblem::Locked)
            } else if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
                // A malformed entry is not a PIN attempt: the card never saw it.
                Some(SignInProblem::PinFormat)
            } else if secret::same(pin, citizen.pin.expose()) {
                store::set_card(&db, &citizen.id, 0, None)?;
                None
            } else {
                let failures = card.failures + 1;
                if failures >= PIN_ATTEMPTS {
                    store::set_card(&db, &citizen.id, failures, Some(authority.now()))?;
                    Some(SignInProblem::LockedNow)
                } else {
                    store::set_card(&db, &citizen.id, failures, None)?;
                    Some(SignInProblem::WrongPin {
                        left: PIN_ATTEMPTS - failures,
                    })
                }
            }
        }
    };
    let form_token = Secret::generate();
    match (problem, citizen) {
        (None, Some(citizen)) => {
            // A new form token after sign-in: the one the sign-in page
            // carried cannot approve.
            store::sign_in_flow(
                &authority.db(),
                &open.flow.flow_hash,
                &citizen.id,
                &form_token.hash(),
            )?;
            Ok(see_other(&format!(
                "/authorize/consent?flow={flow_id}&lang={}",
                locale.code()
            )))
        }
        (problem, _) => {
            store::sign_in_flow_token(&authority.db(), &open.flow.flow_hash, &form_token.hash())?;
            Ok(render_signin(
                authority,
                locale,
                &open,
                flow_id,
                &form_token,
                chosen,
                problem.as_ref(),
            ))
        }
    }
}

fn hidden_fields(flow_id: &str, form_token: &Secret, locale: Locale) -> String {
    format!(
        r#"<input type="hidden" name="flow" value="{}">
<input type="hidden" name="token" value="{}">
<input type="hidden" name="lang" value="{}">"#,
        escape(flow_id),
        escape(form_token.expose()),
        locale.code()
    )
}

fn operator_line(client: &ClientConfig, locale: Locale) -> String {
    match locale {
        Locale::Ja => format!(
            "<p><strong>{}</strong>（承認番号 {}）が、あなたの情報の提供を求めています。</p>",
            escape(client.display_name(locale)),
            escape(&client.approval_id)
        ),
        Locale::En => format!(
            "<p><strong>{}</strong> (approval number {}) asks for your information.</p>",
            escape(client.display_name(locale)),
            escape(&client.approval_id)
        ),
    }
}

fn render_signin(
    authority: &Authority,
    locale: Locale,
    open: &OpenFlow,
    flow_id: &str,
    form_token: &Secret,
    chosen: Option<&str>,
    problem: Option<&SignInProblem>,
) -> Response {
    let ja = locale == Locale::Ja;
    let db = authority.db();
    let mut citizens = String::new();
    for (i, citizen) in authority.config().citizens.iter().enumerate() {
        let locked = store::card(&db, &citizen.id)
            .map(|c| c.locked)
            .unwrap_or(false);
        let note = if locked {
            if ja {
                "（カードはロックされています）"
            } else {
                " (card locked)"
            }
        } else {
            ""
        };
        citizens.push_str(&format!(
            r#"<div class="choice"><input type="radio" name="citizen" id="citizen-{i}" value="{id}"{checked} required><label for="citizen-{i}">{name}{note}</label></div>
"#,
            id = escape(&citizen.id),
            checked = if chosen == Some(citizen.id.as_str()) { " checked" } else { "" },
            name = escape(citizen.display_name(locale)),
            note = escape(note),
        ));
    }
    drop(db);
    let (title, intro, legend, pin_label, pin_hint, submit) = if ja {
        (
            "マイナンバーカードでログイン",
            "テスト用の利用者を選び、カードの暗証番号を入力してください。",
            "テスト用の利用者",
            "利用者証明用電子証明書の暗証番号（数字4桁）",
            "3回続けて間違えると、カードがロックされます。",
            "ログイン",
        )
    } else {
        (
            "Sign in with your My Number card",
            "Choose a test citizen and enter the card's PIN.",
            "Test citizen",
            "PIN of the user certificate (4 digits)",
            "Three wrong PINs in a row lock the card.",
            "Sign in",
        )
    };
    let error = problem
        .map(|p| {
            format!(
                r#"<p class="error" role="alert" id="signin-error">{}</p>"#,
                escape(&p.message(locale))
            )
        })
        .unwrap_or_default();
    let described_by = if problem.is_some() {
        "pin-hint signin-error"
    } else {
        "pin-hint"
    };
    let body = format!(
        r#"{operator}
<p>{intro}</p>
{error}
<form method="post" action="/authorize/signin">
{hidden}
<fieldset>
<legend>{legend}</legend>
{citizens}</fieldset>
<div class="field">
<label for="pin">{pin_label}</label>
<input type="password" id="pin" name="pin" inputmode="numeric" autocomplete="off" pattern="[0-9]{{4}}" maxlength="4" required aria-describedby="{described_by}">
<p class="hint" id="pin-hint">{pin_hint}</p>
</div>
<div class="actions"><button type="submit" class="button primary">{submit}</button></div>
</form>"#,
        operator = operator_line(&open.client, locale),
        intro = escape(intro),
        hidden = hidden_fields(flow_id, form_token, locale),
        legend = escape(legend),
        pin_label = escape(pin_label),
        pin_hint = escape(pin_hint),
        submit = escape(submit),
    );
    let switch = format!(
        "/authorize/signin?flow={}&lang={}",
        flow_id,
        if ja { "en" } else { "ja" }
    );
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page_response(authority, status, page(locale, title, &body, Some(&switch)))
}

/// `GET /authorize/consent`.
pub(crate) async fn consent_page(
    State(authority): State<Authority>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let locale = locale_of(&params);
    let result = open_flow(&authority, &headers, &params).and_then(|open| {
        let flow_id = params.get("flow").ok().flatten().unwrap_or_default();
        let Some(citizen_id) = open.flow.citizen_id.clone() else {
            return Ok(see_other(&format!(
                "/authorize/signin?flow={flow_id}&lang={}",
                locale.code()
            )));
        };
        let form_token = Secret::generate();
        store::sign_in_flow_token(&authority.db(), &open.flow.flow_hash, &form_token.hash())?;
        Ok(render_consent(
            &authority,
            locale,
            &open,
            &citizen_id,
            flow_id,
            &form_token,
        ))
    });
    result.unwrap_or_else(|error| error_page(&authority, locale, &error))
}

/// The items, grouped by catalogue category in the catalogue's order.
fn items_html(details: &ConsentDetails, locale: Locale) -> String {
    // The same words as the SDK's consent screen (one vocabulary).
    let special = words(locale).special_care_badge();
    let mut out = String::new();
    for category in catalogue::categories() {
        let items: Vec<_> = details
            .items
            .iter()
            .filter_map(|id| catalogue::item(id))
            .filter(|item| item.category == category.id)
            .collect();
        if items.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "<section class=\"category\"><h3>{}</h3><ul>\n",
            escape(category.label.get(locale))
        ));
        for item in items {
            let badge = if item.sensitivity == Sensitivity::SpecialCare {
                format!(" <span class=\"badge\">{}</span>", escape(special))
            } else {
                String::new()
            };
            out.push_str(&format!(
                "<li><span class=\"item\">{}</span>{badge}<br><span class=\"explanation\">{}</span></li>\n",
                escape(item.label.get(locale)),
                escape(item.explanation.get(locale)),
            ));
        }
        out.push_str("</ul></section>\n");
    }
    out
}

fn render_consent(
    authority: &Authority,
    locale: Locale,
    open: &OpenFlow,
    citizen_id: &str,
    flow_id: &str,
    form_token: &Secret,
) -> Response {
    let ja = locale == Locale::Ja;
    let details = &open.request.details;
    let citizen_name = authority
        .config()
        .citizen(citizen_id)
        .map(|c| c.display_name(locale).to_owned())
        .unwrap_or_default();
    let operator = open.client.display_name(locale);
    let purposes: String = details
        .purposes
        .iter()
        .map(|p| {
            format!(
                "<li><span class=\"item\">{}</span>: {}</li>\n",
                escape(p.category.label(locale)),
                escape(&p.description)
            )
        })
        .collect();
    // Shared terms come from the domain crate's words, so the authority's
    // page and the SDK's screens cannot word the same thing differently.
    let w = words(locale);
    let recipients = if details.recipients.is_empty() {
        format!("<p>{}</p>", escape(w.no_recipients()))
    } else {
        let list: String = details
            .recipients
            .iter()
            .map(|r| {
                let (contact, approval, purpose) =
                    (w.recipient_contact(), w.recipient_approval(), w.recipient_purpose());
                let approval = r.approval_id.as_deref().map_or(String::new(), |id| {
                    format!("<br>{approval}: {}", escape(id))
                });
                format!(
                    "<li><span class=\"item\">{}</span><br>{contact}: {}{approval}<br>{purpose}: {}（{}）</li>\n",
                    escape(&r.name),
                    escape(&r.contact),
                    escape(&r.purpose),
                    escape(r.purpose_category.label(locale)),
                )
            })
            .collect();
        format!("<ul>\n{list}</ul>")
    };
    let period = match details.period {
        Period::OneTime => w.period_one_time().to_owned(),
        Period::Linkage { days } => {
            let end = format_date(
                jst_date(authority.now() + Duration::days(i64::from(days))),
                locale,
            );
            fill(w.period_linkage(), &[&end, &days.to_string()])
        }
    };
    let retention = if details.retention.trim().is_empty() {
        String::new()
    } else {
        format!(
            "<h2>{}</h2>\n<p>{}</p>\n",
            escape(w.retention_label()),
            escape(&details.retention)
        )
    };
    let t = |ja_text: &'static str, en_text: &'static str| if ja { ja_text } else { en_text };
    let body = format!(
        r#"<p class="who">{signed_in}: {citizen}</p>
{operator_line}
<p>{intro}</p>
<h2>{h_items}</h2>
{items}
<h2>{h_purposes}</h2>
<ul>
{purposes}</ul>
<h2>{h_recipients}</h2>
{recipients}
<h2>{h_period}</h2>
<p>{period}</p>
{retention}<p>{withdraw}</p>
<form method="post" action="/authorize/consent" class="decision">
{hidden}
<div class="buttons">
<button type="submit" name="decision" value="approve" class="button">{approve}</button>
<button type="submit" name="decision" value="refuse" class="button">{refuse}</button>
</div>
</form>"#,
        signed_in = escape(t("ログイン中の利用者", "Signed in as")),
        citizen = escape(&citizen_name),
        operator_line = operator_line(&open.client, locale),
        intro = escape(&if ja {
            format!("次の内容で、あなたの情報を「{operator}」に提供してよいか確認してください。")
        } else {
            format!("Check whether you agree to share your information with {operator} as follows.")
        }),
        h_items = escape(w.items_heading()),
        items = items_html(details, locale),
        h_purposes = escape(w.purposes_heading()),
        h_recipients = escape(w.recipients_heading()),
        h_period = escape(w.period_heading()),
        period = escape(&period),
        withdraw = escape(&if ja {
            format!("同意した後も、「{operator}」のサイトからいつでも撤回できます。同意しなくても、不利益はありません。")
        } else {
            format!("You can withdraw at any time from {operator}'s site. Nothing bad happens if you do not agree.")
        }),
        hidden = hidden_fields(flow_id, form_token, locale),
        approve = escape(t("同意する", "Agree")),
        refuse = escape(t("同意しない", "Do not agree")),
    );
    let switch = format!(
        "/authorize/consent?flow={}&lang={}",
        flow_id,
        if ja { "en" } else { "ja" }
    );
    page_response(
        authority,
        StatusCode::OK,
        page(
            locale,
            t("情報の提供への同意", "Consent to share your information"),
            &body,
            Some(&switch),
        ),
    )
}

/// `POST /authorize/consent`: the citizen's decision. Either way the flow
/// ends, and the browser goes back to the client's redirect URI.
pub(crate) async fn consent_submit(
    State(authority): State<Authority>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::parse(&body);
    let locale = locale_of(&params);
    decide(&authority, &headers, &params)
        .unwrap_or_else(|error| error_page(&authority, locale, &error))
}

fn decide(
    authority: &Authority,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Response, PageError> {
    let open = open_flow(authority, headers, params)?;
    check_form_token(&open.flow, params)?;
    let Some(citizen_id) = open.flow.citizen_id.clone() else {
        return Err(PageError::FlowExpired);
    };
    let approve = match params.get("decision").ok().flatten() {
        Some("approve") => true,
        Some("refuse") => false,
        _ => return Err(PageError::BadFormToken),
    };
    let now = authority.now();
    let request = &open.request;
    let mut db = authority.db();
    let tx = store::write(&mut db)?;
    // The flow is single-use: a second submit (double click, replay) finds
    // nothing.
    if !store::delete_flow(&tx, &open.flow.flow_hash, now)? {
        return Err(PageError::FlowExpired);
    }
    if !approve {
        tx.commit()?;
        drop(db);
        return Ok(redirect_to_client(
            authority,
            &request.redirect_uri,
            &[("error", "access_denied")],
            request.state.as_deref(),
        ));
    }
    // The end of a linkage is fixed now, at grant time; whole seconds keep
    // the instants readable.
    let granted_at = now.replace_nanosecond(0).unwrap_or(now);
    let ends_at = match request.details.period {
        Period::OneTime => None,
        Period::Linkage { days } => Some(granted_at + Duration::days(i64::from(days))),
    };
    let grant_id = secret::random_id();
    store::insert_grant(
        &tx,
        &grant_id,
        &open.client.client_id,
        &citizen_id,
        &request.details,
        granted_at,
        ends_at,
    )?;
    let code = Secret::generate();
    let code_lifetime = i64::from(authority.config().authority.code_lifetime_seconds);
    store::insert_code(
        &tx,
        &store::NewCode {
            hash: &code.hash(),
            grant_id: &grant_id,
            client_id: &open.client.client_id,
            redirect_uri: &request.redirect_uri,
            code_challenge: &request.code_challenge,
            expires_at: now + Duration::seconds(code_lifetime),
            jkt: request.dpop_jkt.as_deref(),
        },
    )?;
    tx.commit()?;
    drop(db);
    Ok(redirect_to_client(
        authority,
        &request.redirect_uri,
        &[("code", code.expose())],
        request.state.as_deref(),
    ))
}
