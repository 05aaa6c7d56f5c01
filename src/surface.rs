//! The closed vocabularies of the JavaScript surface: its event names and
//! every error `code` a page can meet (from the SDK, the callback checks,
//! the operator backend and the authority), with who reads each. The
//! package's typings (`pkg-template/generated.d.ts`) and
//! `docs/reference/errors.md` are generated from here by
//! `tests/generated.rs`; the operator backend's tests check that every
//! problem it answers is listed.

/// The SDK's events, in the order the docs list them.
pub const EVENTS: [&str; 5] = ["granted", "denied", "revoked", "renew", "error"];

/// Where an error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The SDK itself, in the page: options, loading, the browser.
    Sdk,
    /// The checks of the callback from Mynaportal, in the page or at the
    /// backend.
    Callback,
    /// An operator backend's problem answer (RFC 9457).
    Backend,
    /// Mynaportal's own error on the callback (RFC 6749 §4.1.2.1, OpenID
    /// Connect Core §3.1.2.6), passed on by the backend.
    Authority,
}

impl Origin {
    /// The name the docs use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sdk => "SDK",
            Self::Callback => "callback",
            Self::Backend => "backend",
            Self::Authority => "Mynaportal",
        }
    }
}

/// One error code of the surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    /// The stable code.
    pub code: &'static str,
    /// Where it comes from (several places can say the same thing).
    pub origins: &'static [Origin],
    /// Whether a citizen is shown words for it on a screen; then the error
    /// carries them as `citizenMessage`, apart from the developer's
    /// `message`.
    pub citizen: bool,
    /// What it means and what to do, for an operator's engineer.
    pub meaning: &'static str,
}

const fn code(
    code: &'static str,
    origins: &'static [Origin],
    citizen: bool,
    meaning: &'static str,
) -> ErrorCode {
    ErrorCode {
        code,
        origins,
        citizen,
        meaning,
    }
}

use Origin::{Authority as A, Backend as B, Callback as C, Sdk as S};

/// Every error code, sorted by code.
pub const ERROR_CODES: &[ErrorCode] = &[
    code("access_denied", &[C, B, A], true, "The citizen chose 「同意しない」 at Mynaportal. The `denied` event fires instead of `error`."),
    code("account_selection_required", &[A], true, "Mynaportal needs the citizen to choose an account."),
    code("authority_error", &[C, B], true, "Mynaportal answered an error that is not a plain standard error code."),
    code("authority_unavailable", &[B], true, "The backend could not reach Mynaportal or Mynaportal failed; `cause` says whether to wait or to fix the configuration."),
    code("backend_unexpected", &[S], true, "The operator backend answered something outside the contract (the package README, step 2: Your backend)."),
    code("configuration_error", &[S], true, "The backend and Mynaportal do not fit (`cause: configuration`); trying again will not help until the operator fixes the configuration."),
    code("consent_required", &[A], true, "Mynaportal needs the citizen's consent on its own page."),
    code("csrf", &[B], false, "A POST came without `X-Myna-Request: 1` or from another origin."),
    code("destroyed", &[S], false, "The SDK was destroyed; create a new one."),
    code("digest_unavailable", &[S], true, "SubtleCrypto is not available (the page is not a secure context), so the request's digest cannot be computed."),
    code("draft_request", &[S], true, "The citizen agreed on a draft preview; a draft never reaches the backend."),
    code("grant_ended", &[B], false, "Mynaportal ended the grant (revoked, expired or compromised); the citizen renews."),
    code("inline_request_refused", &[B], false, "The page sent a request object; the backend takes only a request id or token."),
    code("insufficient_scope", &[B], false, "Mynaportal refused the retrieval of an item that was not granted."),
    code("interaction_required", &[A], true, "Mynaportal needs the citizen to act on its own page."),
    code("internal", &[S, B], false, "An unexpected failure; the backend logged the cause."),
    code("invalid_authorization_url", &[S], true, "The backend answered an authorization URL that is not http(s)."),
    code("invalid_body", &[B], false, "The body of a call is not the JSON the contract expects."),
    code("invalid_callback", &[C], true, "The redirect page's address has neither a code nor an error, or is not a URL."),
    code("invalid_options", &[S], false, "An option or argument is missing or of the wrong type; `field` names it."),
    code("invalid_request", &[S, B, A], true, "The consent request breaks the rules (`errors` lists every problem), or a call or Mynaportal's authorization request was malformed."),
    code("invalid_request_object", &[A], true, "Mynaportal refused the pushed authorization request."),
    code("invalid_request_uri", &[A], true, "Mynaportal refused the request_uri (PAR): used or expired."),
    code("invalid_scope", &[A], true, "Mynaportal refused the scope or the authorization details."),
    code("invalid_server_key", &[B], false, "A server-to-server call carried a wrong server API key."),
    code("invalid_target", &[S], false, "The target is not an element, or a CSS selector that finds none."),
    code("issuer_mismatch", &[C, B], true, "The callback's `iss` is not the authority's issuer (RFC 9207): possibly a mix-up attack."),
    code("item_not_offered", &[B], false, "The citizen's choice names an optional item the request does not offer."),
    code("load_failed", &[S], true, "One of the SDK's modules could not be fetched, or is not of this build: the widget offers a retry, or, for the agreement's module, the agree button tries again."),
    code("login_required", &[A], true, "Mynaportal needs the citizen to sign in."),
    code("method_not_allowed", &[B], false, "The backend has no such method on this path."),
    code("navigation_failed", &[S], true, "`options.navigate` threw, or the browser refused to leave for Mynaportal."),
    code("network", &[S], true, "The operator backend could not be reached (offline, DNS, CORS, aborted)."),
    code("no_callback", &[C], true, "The page has no callback to complete (a reload after completion, or a direct visit)."),
    code("no_window", &[S], true, "There is no browser window to leave for Mynaportal from."),
    code("not_found", &[B], false, "No consent, retrieval or route with this id belongs to this citizen."),
    code("nothing_granted", &[S, B], true, "Mynaportal confirmed none of the items; nothing was recorded and the tokens were revoked."),
    code("outcome_uncertain", &[S], true, "The answer to the code exchange was lost (`cause: uncertain`); the citizen checks the review screen."),
    code("par_failed", &[B], true, "Pushing the authorization request to Mynaportal failed."),
    code("rate_limited", &[B], true, "Mynaportal limited this operator's calls; try again after `Retry-After`."),
    code("receipt_mismatch", &[S], true, "A receipt document's `sha256` is not the SHA-256 of its receipt's RFC 8785 form: the screen shows a warning in place of the value, and the backend needs fixing."),
    code("refresh_busy", &[B], false, "Another call is refreshing this consent's token; try again shortly."),
    code("registration_not_supported", &[A], true, "Mynaportal does not support the registration parameter."),
    code("renewal_unknown", &[B], false, "`renews` names no consent of this citizen."),
    code("request_changed", &[B], true, "The request changed between the screen and the start; the citizen reads it again."),
    code("request_invalid", &[B], true, "The request defined on the backend breaks the rules; `errors` lists every problem."),
    code("request_not_found", &[B], true, "No request with this id, or the token is unknown or another citizen's."),
    code("request_not_supported", &[A], true, "Mynaportal does not support the request parameter."),
    code("request_token_expired", &[B], true, "The request token expired; the operator's server makes a new one."),
    code("request_token_used", &[B], true, "The request token was used already."),
    code("request_uri_not_supported", &[A], true, "Mynaportal does not support the request_uri parameter."),
    code("research_not_confirmed", &[B], false, "Research with medical data was not confirmed separately on the screen."),
    code("retrieval_failed", &[S, B], true, "A retrieval could not start or did not finish."),
    code("revocation_failed", &[B], true, "Mynaportal could not be reached; nothing changed and the revocation can be retried."),
    code("server_error", &[A], true, "Mynaportal failed while handling the authorization."),
    code("sign_in_unavailable", &[S], false, "`options.userToken` threw or answered no token; the call was not made."),
    code("special_care_not_confirmed", &[B], false, "Special-care items were chosen without their separate confirmation."),
    code("state_mismatch", &[C, B], true, "The callback's `state` matches no transaction of this citizen: tampered, or from another browser."),
    code("state_missing", &[C], true, "The callback has no `state`."),
    code("state_used", &[C, B], true, "The callback was completed already; a replay is refused."),
    code("storage_unavailable", &[S], true, "sessionStorage is not available, so the transaction cannot be kept."),
    code("temporarily_unavailable", &[S, A], true, "Mynaportal or the backend is temporarily unavailable (`cause: temporary`); try again later."),
    code("theme_rejected", &[S], false, "A `--myna-*` variable would make text unreadable; the screen uses its own value. `field` names it."),
    code("token_exchange_failed", &[B], true, "Mynaportal refused the code exchange; `cause` says why."),
    code("token_refresh_failed", &[B], false, "Mynaportal refused the refresh; `cause` says why."),
    code("too_many_starts", &[B], true, "Too many authorizations started from this address or citizen; try again after `Retry-After`."),
    code("transaction_expired", &[C, B], true, "The authorization took longer than 10 minutes."),
    code("unauthenticated", &[B], false, "The backend needs the operator's sign-in (a JWT or a gateway header) and found none."),
    code("unauthorized_client", &[A], true, "Mynaportal does not allow this client to ask for a code."),
    code("unknown_event", &[S], false, "An event name that does not exist."),
    code("unknown_locale", &[S, B], false, "A locale other than \"ja\" or \"en\"."),
    code("unsupported_response_type", &[A], true, "Mynaportal does not support the response type."),
    code("wasm_blocked", &[S], true, "The page's Content-Security-Policy forbids WebAssembly: add 'wasm-unsafe-eval' to script-src."),
    code("wasm_unavailable", &[S], true, "The browser runs no WebAssembly (switched off or missing)."),
];

/// The entry for `code`, if the surface has one.
pub fn find(code: &str) -> Option<&'static ErrorCode> {
    ERROR_CODES
        .binary_search_by(|entry| entry.code.cmp(code))
        .ok()
        .map(|at| &ERROR_CODES[at])
}

/// Whether `code` is one of Mynaportal's own error codes (OAuth 2.0 and
/// OpenID Connect) that the backend passes on from a callback.
pub fn is_authority_error(code: &str) -> bool {
    find(code).is_some_and(|entry| entry.origins.contains(&Origin::Authority))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::CallbackError;

    #[test]
    fn codes_are_sorted_unique_and_say_something() {
        for pair in ERROR_CODES.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} before {}",
                pair[0].code,
                pair[1].code
            );
        }
        for entry in ERROR_CODES {
            assert!(
                !entry.origins.is_empty() && entry.meaning.ends_with('.'),
                "{}",
                entry.code
            );
            assert!(entry
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }

    #[test]
    fn every_callback_refusal_is_listed_as_a_callback_code() {
        let every = [
            CallbackError::InvalidUrl,
            CallbackError::NoCallback,
            CallbackError::MissingState,
            CallbackError::UnknownState,
            CallbackError::UsedState,
            CallbackError::Expired,
            CallbackError::IssuerMismatch,
            CallbackError::AccessDenied,
            CallbackError::Authority("server_error".into()),
            CallbackError::MissingCode,
        ];
        for error in &every {
            // Fails to compile when a variant is added and not listed above.
            match error {
                CallbackError::InvalidUrl
                | CallbackError::NoCallback
                | CallbackError::MissingState
                | CallbackError::UnknownState
                | CallbackError::UsedState
                | CallbackError::Expired
                | CallbackError::IssuerMismatch
                | CallbackError::AccessDenied
                | CallbackError::Authority(_)
                | CallbackError::MissingCode => {}
            }
            let entry = find(error.code()).unwrap_or_else(|| panic!("{} is listed", error.code()));
            assert!(
                entry.origins.contains(&Origin::Callback) && entry.citizen,
                "{}",
                entry.code
            );
        }
    }

    #[test]
    fn the_standard_authority_errors_are_known_and_others_are_not() {
        for code in [
            "access_denied",
            "server_error",
            "temporarily_unavailable",
            "invalid_scope",
            "login_required",
        ] {
            assert!(is_authority_error(code), "{code}");
        }
        for code in ["state_used", "made_up_error", "csrf"] {
            assert!(!is_authority_error(code), "{code}");
        }
    }
}
