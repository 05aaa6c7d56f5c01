//! Every check on the callback from Mynaportal, natively. The browser tests
//! prove the same refusals never reach the backend.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use myna_consent::flow::{
    check_callback, parse_callback, CallbackError, Completion, PendingTransaction,
};
use myna_consent::request;
use time::macros::datetime;
use time::Duration;

const ISSUER: &str = "http://localhost:8081";

fn pending() -> PendingTransaction {
    PendingTransaction {
        state: "s-123".into(),
        issuer: ISSUER.into(),
        request_digest: "d".into(),
        started_at: datetime!(2026-11-24 10:00 +9),
        used: false,
    }
}

fn check(url: &str, pending: Option<&PendingTransaction>) -> Result<Completion, CallbackError> {
    let callback = parse_callback(url).expect("a URL");
    check_callback(&callback, pending, datetime!(2026-11-24 10:03 +9))
}

#[test]
fn accepts_a_callback_with_code_state_and_issuer() {
    let url = "https://op.example/cb?code=c-1&state=s-123&iss=http%3A%2F%2Flocalhost%3A8081";
    let completion = check(url, Some(&pending())).expect("good callback");
    assert_eq!(
        completion,
        Completion {
            code: "c-1".into(),
            state: "s-123".into(),
            iss: ISSUER.into()
        }
    );
}

#[test]
fn an_address_without_any_callback_is_not_a_callback() {
    // The return page reloaded after it removed code and state: nothing to
    // judge, and certainly not "tampered".
    assert_eq!(
        check("https://op.example/cb", Some(&pending())),
        Err(CallbackError::NoCallback)
    );
    assert_eq!(
        check("https://op.example/cb?lang=en", None),
        Err(CallbackError::NoCallback)
    );
}

#[test]
fn refuses_missing_state() {
    let error = check(
        "https://op.example/cb?code=c-1&iss=http%3A%2F%2Flocalhost%3A8081",
        Some(&pending()),
    );
    assert_eq!(error, Err(CallbackError::MissingState));
}

#[test]
fn refuses_unknown_state() {
    let url = "https://op.example/cb?code=c-1&state=s-124&iss=http%3A%2F%2Flocalhost%3A8081";
    assert_eq!(
        check(url, Some(&pending())),
        Err(CallbackError::UnknownState)
    );
    assert_eq!(check(url, None), Err(CallbackError::UnknownState));
}

#[test]
fn refuses_reused_state() {
    let used = PendingTransaction {
        used: true,
        ..pending()
    };
    let url = "https://op.example/cb?code=c-1&state=s-123&iss=http%3A%2F%2Flocalhost%3A8081";
    assert_eq!(check(url, Some(&used)), Err(CallbackError::UsedState));
}

#[test]
fn refuses_a_transaction_older_than_ten_minutes() {
    let url = "https://op.example/cb?code=c-1&state=s-123&iss=http%3A%2F%2Flocalhost%3A8081";
    let callback = parse_callback(url).expect("URL");
    let started = pending().started_at;
    let ten = check_callback(&callback, Some(&pending()), started + Duration::minutes(10));
    assert!(ten.is_ok(), "exactly ten minutes is still in time");
    let late = check_callback(
        &callback,
        Some(&pending()),
        started + Duration::minutes(10) + Duration::seconds(1),
    );
    assert_eq!(late, Err(CallbackError::Expired));
}

#[test]
fn refuses_issuer_mismatch_and_missing_issuer() {
    let other = "https://op.example/cb?code=c-1&state=s-123&iss=https%3A%2F%2Fevil.example";
    assert_eq!(
        check(other, Some(&pending())),
        Err(CallbackError::IssuerMismatch)
    );
    let missing = "https://op.example/cb?code=c-1&state=s-123";
    assert_eq!(
        check(missing, Some(&pending())),
        Err(CallbackError::IssuerMismatch)
    );
}

#[test]
fn reports_access_denied_and_other_authority_errors() {
    let denied =
        "https://op.example/cb?error=access_denied&state=s-123&iss=http%3A%2F%2Flocalhost%3A8081";
    assert_eq!(
        check(denied, Some(&pending())),
        Err(CallbackError::AccessDenied)
    );
    let other =
        "https://op.example/cb?error=server_error&state=s-123&iss=http%3A%2F%2Flocalhost%3A8081";
    let error = check(other, Some(&pending())).expect_err("error");
    assert_eq!(error, CallbackError::Authority("server_error".into()));
    assert_eq!(error.code(), "authority_error");
}

#[test]
fn refuses_a_callback_without_code_or_error() {
    let url = "https://op.example/cb?state=s-123&iss=http%3A%2F%2Flocalhost%3A8081";
    assert_eq!(
        check(url, Some(&pending())),
        Err(CallbackError::MissingCode)
    );
}

#[test]
fn a_repeated_state_parameter_cannot_smuggle_a_second_value() {
    let url =
        "https://op.example/cb?code=c&state=evil&state=s-123&iss=http%3A%2F%2Flocalhost%3A8081";
    assert_eq!(
        check(url, Some(&pending())),
        Err(CallbackError::UnknownState)
    );
}

#[test]
fn refuses_what_is_not_a_url() {
    assert_eq!(parse_callback("not a url"), Err(CallbackError::InvalidUrl));
}

#[test]
fn request_digest_is_stable_and_changes_with_the_request() {
    let a = request::parse(&common::phr_request()).expect("valid");
    let b = request::parse(&common::phr_request()).expect("valid");
    assert_eq!(a.digest(), b.digest());
    assert_eq!(a.digest().len(), 64);
    let changed = common::with(common::phr_request(), "/period/days", serde_json::json!(30));
    let c = request::parse(&changed).expect("valid");
    assert_ne!(a.digest(), c.digest());
}

/// A callback this tab holds no transaction for goes to the backend as it
/// came (issue 12): only its shape is judged here.
#[test]
fn a_callback_without_a_transaction_in_this_tab_is_handed_over_as_it_came() {
    use myna_consent::flow::{hand_over, Handover};
    let handed = |url: &str| hand_over(&parse_callback(url).expect("a URL"));
    assert_eq!(
        handed("https://op.example/cb?code=c1&state=s1&iss=https%3A%2F%2Fauth.example"),
        Ok(Handover {
            code: Some("c1".into()),
            state: "s1".into(),
            iss: Some("https://auth.example".into()),
            error: None,
        })
    );
    assert_eq!(
        handed("https://op.example/cb?error=access_denied&state=s1"),
        Ok(Handover {
            code: None,
            state: "s1".into(),
            iss: None,
            error: Some("access_denied".into()),
        })
    );
    assert_eq!(
        handed("https://op.example/cb"),
        Err(CallbackError::NoCallback)
    );
    assert_eq!(
        handed("https://op.example/cb?code=c1"),
        Err(CallbackError::MissingState)
    );
    assert_eq!(
        handed("https://op.example/cb?code=c1&state="),
        Err(CallbackError::MissingState)
    );
    assert_eq!(
        handed("https://op.example/cb?state=s1"),
        Err(CallbackError::MissingCode)
    );
    // What the backend receives: no empty fields.
    let body =
        serde_json::to_value(handed("https://op.example/cb?code=c1&state=s1").unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({ "code": "c1", "state": "s1" }));
}
