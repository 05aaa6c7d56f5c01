//! The consent screen's part of the JavaScript API (feature
//! `consent-screen`): `mountConsent` and `validate`.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use leptos::callback::UnsyncCallback;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;

use super::{
    error, keep, now, parse_locale, resolve_target, to_js, Event, MountHandle, MynaConsent, Sdk,
};
use crate::backend::{BackendError, StartChoice};
use crate::flow::PendingTransaction;
use crate::i18n::{words, Locale};
use crate::request;
use crate::ui::consent::{ConsentScreen, Stage};
use crate::ui::error_panel::InvalidRequestPanel;
use crate::ui::mount_in_shadow;

#[wasm_bindgen]
impl MynaConsent {
    /// Shows the consent screen in `target` for `options.request`: the id
    /// of a request defined on the operator backend (`"phr-90d"`), or a
    /// request token its server made. The SDK fetches the request, checks
    /// it against every rule and shows it; agreeing sends back only the
    /// citizen's choice. `options.draft` instead shows a request written in
    /// the page, for authoring only: it is marked as a preview and never
    /// sent. An invalid request is never shown to the citizen: a panel
    /// lists every problem instead, and `error` fires.
    #[wasm_bindgen(js_name = mountConsent)]
    pub fn mount_consent(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | Element")] target: JsValue,
        #[wasm_bindgen(unchecked_param_type = "MountConsentOptions")] options: JsValue,
    ) -> Result<MountHandle, JsValue> {
        let host = resolve_target(&target)?;
        let read = |key: &str| {
            if options.is_object() {
                js_sys::Reflect::get(&options, &key.into()).unwrap_or(JsValue::UNDEFINED)
            } else {
                JsValue::UNDEFINED
            }
        };
        let (reference, draft) = (read("request"), read("draft"));
        // The consent this screen renews (the `renew` event's consent id).
        let renews = read("renews").as_string().filter(|id| !id.is_empty());
        match (reference.as_string(), draft.is_undefined() || draft.is_null()) {
            (Some(reference), true) if !reference.is_empty() => {
                // The package entry's early call for this request, if it
                // made one (index.js).
                let early = read("answer").dyn_into::<js_sys::Promise>().ok();
                self.mount_defined(&host, reference, renews, early)
            }
            (None, false) if reference.is_undefined() => self.mount_draft(&host, &draft),
            _ => Err(error(
                "invalid_options",
                "mountConsent() takes { request: \"<id or token>\" } for a request defined on the backend, or { draft: request } to preview a draft.",
                Some("request"),
            )),
        }
    }

    /// Checks a consent request against every rule and reports every problem
    /// at once. Messages are in `locale`, else the request's own locale,
    /// else Japanese.
    #[wasm_bindgen(unchecked_return_type = "ValidationResult")]
    pub fn validate(
        #[wasm_bindgen(unchecked_param_type = "ConsentRequest")] request: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Locale | undefined")] locale: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let explicit = match locale.as_deref() {
            Some(code) => Some(parse_locale(Some(code))?),
            None => None,
        };
        to_js(&validation_result(request, explicit))
    }
}

/// Where a consent screen's request came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Loaded {
    /// Being fetched from the backend.
    Loading,
    /// Fetched and valid: shown.
    Ready(Box<request::ValidRequest>),
    /// Fetched but breaking the rules: every problem listed.
    Invalid(request::ValidationErrors),
    /// The backend knows no such request (or token).
    NotFound,
    /// The backend could not be reached or failed.
    Unavailable,
}

impl MynaConsent {
    /// The consent screen of a request defined on the backend: fetched,
    /// checked, then shown; a failed fetch can be retried. `early` is the
    /// fetch the package entry started while this module downloaded: the
    /// first load reads it, a retry asks again.
    fn mount_defined(
        &self,
        host: &web_sys::Element,
        reference: String,
        renews: Option<String>,
        early: Option<js_sys::Promise>,
    ) -> Result<MountHandle, JsValue> {
        let locale = self.sdk.locale;
        let w = words(locale);
        let loaded = RwSignal::new(Loaded::Loading);
        let load = {
            let sdk = Rc::clone(&self.sdk);
            let reference = reference.clone();
            let early = std::cell::Cell::new(early);
            move || {
                let sdk = Rc::clone(&sdk);
                let reference = reference.clone();
                let early = early.take();
                loaded.try_set(Loaded::Loading);
                // Not Leptos's spawner: the first load starts before the
                // screen (and with it Leptos's executor) is mounted.
                wasm_bindgen_futures::spawn_local(async move {
                    let next = match sdk.backend.request(&reference, locale, early).await {
                        Ok(value) => match request::parse(&value) {
                            Ok(valid) => {
                                preload_agreement_for(&sdk);
                                Loaded::Ready(Box::new(valid.with_locale(locale)))
                            }
                            Err(errors) => {
                                sdk.emit_invalid(&errors);
                                Loaded::Invalid(errors)
                            }
                        },
                        Err(e) => {
                            sdk.emit_backend_error(&e, Some(w.request_unavailable_title()));
                            match e {
                                BackendError::Problem { status: 404, .. } => Loaded::NotFound,
                                _ => Loaded::Unavailable,
                            }
                        }
                    };
                    loaded.try_set(next);
                });
            }
        };
        load();
        let sdk = Rc::clone(&self.sdk);
        let mounted = mount_in_shadow(host, move || {
            // The view re-renders from a reactive closure, which must be
            // Send: it holds arena handles to the (browser-only) SDK and
            // retry, owned by this screen.
            let sdk = StoredValue::new_local(sdk);
            let retry = StoredValue::new_local(load);
            move || match loaded.get() {
                Loaded::Loading => view! {
                    <p class="screen" role="status" lang=locale.code()>{w.request_loading()}</p>
                }
                .into_any(),
                Loaded::Ready(valid) => consent_screen(
                    &sdk.get_value(),
                    *valid,
                    Some(reference.clone()),
                    renews.clone(),
                )
                .into_any(),
                Loaded::Invalid(errors) => {
                    view! { <InvalidRequestPanel errors=errors locale=locale /> }.into_any()
                }
                Loaded::NotFound | Loaded::Unavailable => {
                    let body = if loaded.get_untracked() == Loaded::NotFound {
                        w.request_not_found()
                    } else {
                        w.request_unavailable()
                    };
                    view! {
                        <article class="screen unavailable" role="alert" aria-labelledby="myna-unavailable-title" lang=locale.code()>
                            <h2 id="myna-unavailable-title">{w.request_unavailable_title()}</h2>
                            <p>{body}</p>
                            <button type="button" class="secondary" on:click=move |_| retry.with_value(|load| load())>{w.retry()}</button>
                        </article>
                    }
                    .into_any()
                }
            }
        })?;
        Ok(keep(&self.sdk, mounted))
    }

    /// A request written in the page, shown for authoring: validated like
    /// any, marked as a preview, never sent.
    fn mount_draft(
        &self,
        host: &web_sys::Element,
        draft: &JsValue,
    ) -> Result<MountHandle, JsValue> {
        let locale = self.sdk.locale;
        let value = crate::wire::from_js(draft).unwrap_or(serde_json::Value::Null);
        let mounted = match request::parse(&value) {
            Ok(valid) => {
                let sdk = Rc::clone(&self.sdk);
                mount_in_shadow(host, move || consent_screen(&sdk, valid, None, None))?
            }
            Err(errors) => {
                self.sdk.emit_invalid(&errors);
                mount_in_shadow(
                    host,
                    move || view! { <InvalidRequestPanel errors=errors locale=locale /> },
                )?
            }
        };
        Ok(keep(&self.sdk, mounted))
    }
}

/// The consent screen of a valid request. With a `reference` (a request
/// defined on the backend) agreeing starts the authorization; without one
/// (a draft) it is a preview: marked as such, and agreeing sends nothing.
fn consent_screen(
    sdk: &Rc<Sdk>,
    valid: request::ValidRequest,
    reference: Option<String>,
    renews: Option<String>,
) -> impl IntoView {
    let locale = sdk.locale;
    let stage = RwSignal::new(Stage::Choosing);
    let draft = reference.is_none();
    let for_agree = valid.clone();
    let agreeing = Rc::clone(sdk);
    let on_agree = UnsyncCallback::new(move |chosen: Vec<String>| {
        let sdk = Rc::clone(&agreeing);
        let valid = for_agree.clone();
        let Some(reference) = reference.clone() else {
            stage.try_set(Stage::Failed);
            sdk.emit_failure(
                "draft_request",
                "A draft is a preview and sends nothing; mount { request } to start.",
                Some(words(sdk.locale).draft_not_sent()),
                None,
            );
            return;
        };
        let renews = renews.clone();
        leptos::task::spawn_local(async move {
            // Without SubtleCrypto there is no request digest: said as such,
            // before the agreement's module (which needs it too) is loaded.
            let started = if subtle_available() {
                agree(sdk.clone(), reference, renews, valid, chosen).await
            } else {
                Err(StartFailure::new("digest_unavailable", DIGEST_UNAVAILABLE))
            };
            if let Err(StartFailure {
                code,
                message,
                cause,
            }) = started
            {
                let misconfigured = cause.as_deref() == Some("configuration");
                stage.try_set(if misconfigured {
                    Stage::Misconfigured
                } else {
                    Stage::Failed
                });
                let w = words(sdk.locale);
                let citizen = if misconfigured {
                    w.start_misconfigured()
                } else {
                    w.start_failed()
                };
                sdk.emit_failure(&code, &message, Some(citizen), cause.as_deref());
            }
        });
    });
    let declining = Rc::clone(sdk);
    let on_decline = UnsyncCallback::new(move |()| {
        declining.emit(Event::Denied, &serde_json::json!({ "stage": "consent" }));
    });
    view! {
        <ConsentScreen request=valid locale=locale now=now() stage=stage on_agree=on_agree on_decline=on_decline draft=draft />
    }
}

/// [`start`], which only 同意 runs. In the npm package (`--cfg
/// split_agreement`) `wasm-split-cli` moves it, and the code only it
/// reaches, into a module of its own (`split_agree.wasm`) after linking, so
/// that the consent screen is shown without it. The screen preloads that
/// module once it is shown ([`preload_agreement`]); a module that cannot be
/// loaded is a failed start, which the citizen can try again.
#[cfg_attr(
    split_agreement,
    leptos::wasm_split::wasm_split(
        agree,
        fallible,
        wasm_split_path = ::leptos::wasm_split,
        preload(preload_agreement),
        return_wrapper(let future = _; { future.await } -> Result<(), StartFailure>)
    )
)]
fn agree(
    sdk: Rc<Sdk>,
    reference: String,
    renews: Option<String>,
    valid: request::ValidRequest,
    chosen: Vec<String>,
) -> Pin<Box<dyn Future<Output = Result<(), StartFailure>>>> {
    Box::pin(async move { start(&sdk, &reference, renews.as_deref(), &valid, &chosen).await })
}

/// Without the split, the agreement is in the module already.
#[cfg(not(split_agreement))]
async fn preload_agreement() -> Result<(), std::convert::Infallible> {
    Ok(())
}

/// The developers' message when the agreement's module cannot be loaded.
/// The entry (`index.js`) adds the loader's reason in brackets: a URL and
/// HTTP status, a failed fetch, or a file of another build.
const AGREEMENT_UNLOADED: &str = "The SDK's agreement module (split_agree.wasm, or the name your bundler gave it) could not be loaded; the agree button tries again.";

/// The developers' message when the page has no SubtleCrypto.
const DIGEST_UNAVAILABLE: &str = "SubtleCrypto is unavailable: the page is not a secure context.";

/// Whether the page has SubtleCrypto (secure contexts only), which the
/// request digest needs, as does the check of the agreement's module.
fn subtle_available() -> bool {
    web_sys::window()
        .and_then(|window| window.crypto().ok())
        .is_some_and(|crypto| !JsValue::from(crypto.subtle()).is_undefined())
}

/// Starts fetching the agreement's module while the citizen reads, so that
/// 同意 does not wait for it. A failure is tried again on 同意, and said
/// at once, so that a file missing from a deployment shows before a
/// citizen agrees. Without SubtleCrypto, 同意 cannot start at all, and
/// says so then.
fn preload_agreement_for(sdk: &Rc<Sdk>) {
    if !subtle_available() {
        return;
    }
    let sdk = Rc::clone(sdk);
    wasm_bindgen_futures::spawn_local(async move {
        if preload_agreement().await.is_err() {
            sdk.emit_failure("load_failed", AGREEMENT_UNLOADED, None, None);
        }
    });
}

#[cfg(split_agreement)]
impl From<leptos::wasm_split::SplitLoaderError> for StartFailure {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        StartFailure::new("load_failed", AGREEMENT_UNLOADED)
    }
}

/// Why an authorization could not start: the code, the developer's
/// message, and the backend's cause.
struct StartFailure {
    code: String,
    message: String,
    cause: Option<String>,
}

impl StartFailure {
    fn new(code: &'static str, message: &str) -> Self {
        Self {
            code: code.to_owned(),
            message: message.to_owned(),
            cause: None,
        }
    }
}

/// Creates the transaction at the backend for the request `reference`,
/// remembers it, and leaves for Mynaportal.
async fn start(
    sdk: &Sdk,
    reference: &str,
    renews: Option<&str>,
    valid: &request::ValidRequest,
    chosen: &[String],
) -> Result<(), StartFailure> {
    let request = valid.request();
    let shared = |id: &str| request.items.required.iter().chain(chosen).any(|x| x == id);
    let special = valid
        .special_care_items()
        .iter()
        .any(|item| shared(item.id));
    let digest = request_digest(valid)
        .await
        .ok_or_else(|| StartFailure::new("digest_unavailable", DIGEST_UNAVAILABLE))?;
    let choice = StartChoice {
        request: reference.to_owned(),
        optional_items: chosen.to_vec(),
        special_care_confirmed: special,
        // The screen enables 同意 only once the citizen has confirmed it.
        research_confirmed: request.health_research_item().is_some(),
        locale: sdk.locale,
        request_digest: digest.clone(),
        renews: renews.map(str::to_owned),
    };
    let started = sdk
        .backend
        .start_authorization(&choice)
        .await
        .map_err(|e| StartFailure {
            code: e.code().to_owned(),
            message: e.to_string(),
            cause: e.cause().map(str::to_owned),
        })?;
    let invalid_url = || {
        StartFailure::new(
            "invalid_authorization_url",
            "The backend answered an authorization URL that is not http(s).",
        )
    };
    let target = crate::weburl::parse(&started.authorization_url).ok_or_else(invalid_url)?;
    if !matches!(target.scheme.as_str(), "https" | "http") {
        return Err(invalid_url());
    }
    let pending = PendingTransaction {
        state: started.state,
        issuer: started.issuer,
        request_digest: digest,
        started_at: now(),
        used: false,
    };
    sdk.save_pending(&pending)
        .map_err(|_| StartFailure::new("storage_unavailable", "sessionStorage is unavailable."))?;
    let navigation_failed = |_| {
        StartFailure::new(
            "navigation_failed",
            "options.navigate threw, or the browser refused to navigate.",
        )
    };
    if let Some(navigate) = &sdk.navigate {
        return navigate
            .call1(&JsValue::NULL, &target.href.as_str().into())
            .map(|_| ())
            .map_err(navigation_failed);
    }
    let location = web_sys::window()
        .map(|w| w.location())
        .ok_or_else(|| StartFailure::new("no_window", "No window to navigate from."))?;
    location
        .assign(target.href.as_str())
        .map_err(navigation_failed)
}

fn validation_result(request: JsValue, locale: Option<Locale>) -> serde_json::Value {
    use serde_json::json;
    // Functions, symbols and BigInts are not JSON: the whole request is invalid.
    let value = crate::wire::from_js(&request);
    let locale = locale
        .or_else(|| {
            let code = value.as_ref()?.get("locale")?.as_str()?;
            Locale::from_code(code)
        })
        .unwrap_or_default();
    let result = match &value {
        Some(value) => request::parse(value),
        None => Err(request::ValidationErrors(vec![request::ValidationError {
            field: String::new(),
            kind: request::ErrorKind::InvalidJson,
        }])),
    };
    match result {
        Ok(valid) => json!({
            "ok": true,
            "request": valid.request(),
            "needsSeparateConfirmation": valid.needs_separate_confirmation(),
            "specialCareItems": valid.special_care_items().iter().map(|item| item.id).collect::<Vec<_>>(),
        }),
        Err(errors) => json!({
            "ok": false,
            "errors": errors.iter().map(|e| e.to_json(locale)).collect::<Vec<_>>(),
        }),
    }
}

/// [`request::ValidRequest::digest`], computed by the browser's
/// SubtleCrypto: the same SHA-256 of the same RFC 8785 bytes, without
/// carrying a SHA-256 implementation in the package.
async fn request_digest(valid: &request::ValidRequest) -> Option<String> {
    let canonical = crate::digest::canonical_json(valid.request())?;
    crate::digest::subtle_sha256_hex(&canonical).await
}
