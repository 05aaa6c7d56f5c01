//! The JavaScript API: `MynaConsent`, its screens and events, and its
//! TypeScript declarations.
//!
//! Nothing here panics across the wasm boundary: bad input comes back as a
//! typed error object (`code`, `message`, `field`), and every failure of the
//! flow is reported through the `error` event as well.

use std::cell::RefCell;
use std::rc::Rc;

use leptos::callback::UnsyncCallback;
use leptos::prelude::*;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;

use crate::backend::{Backend, BackendError, ConsentView, RetrievalView, StartChoice};
use crate::catalogue;
use crate::flow::{self, PendingTransaction};
use crate::i18n::{words, Locale};
use crate::request;
use crate::ui::consent::{ConsentScreen, Stage};
use crate::ui::error_panel::InvalidRequestPanel;
use crate::ui::outcome::{Failure, Retrieval, ReturnScreen, ReturnState};
use crate::ui::review::ReviewScreen;
use crate::ui::{mount_in_shadow, Mounted};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A locale the SDK speaks; Japanese is the default. */
export type Locale = "ja" | "en";

/** An error from the SDK: a stable code, a message, and the field it concerns. */
export interface MynaConsentError extends Error {
  code: string;
  field?: string;
}

/** Someone the operator passes the data on to, accountable as the operator is. */
export interface Recipient {
  name: string;
  contact: string;
  privacyPolicyUrl: string;
  /** The recipient's own Mynaportal API approval id, where it has one. */
  approvalId?: string;
  purposeCategory: PurposeCategory;
  purpose: string;
}

/** Which consent screen mountConsent() shows. */
export type MountConsentOptions =
  /** A request defined on the operator backend: its id, or a request token its server made. */
  | { request: string; draft?: undefined }
  /** A request written in the page, shown as a preview for authoring; agreeing sends nothing. */
  | { draft: ConsentRequest; request?: undefined };

/** What an operator asks a citizen to agree to. */
export interface ConsentRequest {
  operator: {
    name: string;
    contact: string;
    privacyPolicyUrl: string;
    approvalId: string;
  };
  items: { required?: string[]; optional?: string[] };
  purposes: { category: PurposeCategory; description: string }[];
  period: { kind: "oneTime" } | { kind: "linkage"; days: number };
  recipients?: Recipient[];
  retention: string;
  locale?: Locale;
  /** Admit items not yet offered to operators (sandbox and playground only). */
  preview?: boolean;
}

export type PurposeCategory =
  | "serviceProvision" | "healthManagement" | "identityVerification"
  | "creditScreening" | "employment" | "welfare" | "research"
  | "advertising" | "marketing" | "other";

/** One problem with a request. */
export interface ValidationError {
  code: string;
  /** JSON path such as "items.required[2]"; empty for the whole request. */
  field: string;
  message: string;
}

/** The options of MynaConsent.create(). */
export interface MynaConsentOptions {
  /** The operator backend's base path on this origin, e.g. "/myna". */
  backend: string;
  /** The language of the screens; Japanese by default. */
  locale?: Locale;
  /** How to leave for Mynaportal; location.assign by default. */
  navigate?: (url: string) => void;
  /**
   * The operator's sign-in token (a JWT), sent as `Authorization: Bearer` on
   * every call to the backend. Leave it out when the backend reads the
   * operator's own session cookie, or uses anonymous sessions.
   */
  userToken?: () => string | Promise<string>;
}

/** A consent as the operator backend reports it. */
export interface Consent {
  id: string;
  operator: ConsentRequest["operator"];
  items: string[];
  purposes: ConsentRequest["purposes"];
  recipients: Recipient[];
  period: ConsentRequest["period"];
  retention: string;
  grantedAt: string;
  revokedAt?: string | null;
  suspendedAt?: string | null;
  status: "active" | "endingSoon" | "expired" | "revoked" | "suspended";
  daysLeft?: number | null;
  endDate?: string | null;
  lastRetrievalAt?: string | null;
  /** When the linkage's next automatic retrieval is due (active linkages only). */
  nextRetrievalAt?: string | null;
  /** Automatic retrievals that failed in a row; the review card says so. */
  retrievalFailures?: number;
}

/** A consent receipt document: the receipt and the SHA-256 of its RFC 8785 form. */
export interface ReceiptDocument {
  receipt: Record<string, unknown> & { receiptId: string; event: "grant" | "revocation" };
  sha256: string;
}

/** Options of completeAuthorization(). */
export interface CompleteOptions {
  /** Where to show the outcome (a CSS selector or an element). */
  target?: string | Element;
  /** Start a first retrieval and show its progress. */
  retrieve?: boolean;
}

/** The outcome of retrieve(). */
export interface RetrievalResult {
  id: string;
  status: "done" | "error" | "timeout";
  items: { item: string; count: number }[];
}

/** What each event passes to its listeners. */
export interface MynaConsentEvents {
  granted: Consent;
  denied: { stage: "consent" | "mynaportal" };
  revoked: { consentId: string; receipt: ReceiptDocument };
  renew: Consent;
  error: {
    code: string;
    message: string;
    field?: string;
    errors?: ValidationError[];
    /**
     * Why a call to the operator backend failed, when it says:
     * `configuration` (the backend and the authority do not fit; retrying
     * will not help), `nothing_granted` (the authority confirmed none of the
     * items), `grant_ended`, `temporary` (try again later), or `uncertain`
     * (the authority's answer to a single-use call was lost: it may have
     * acted on it).
     */
    cause?: "configuration" | "nothing_granted" | "grant_ended" | "temporary" | "uncertain";
  };
}

export type ValidationResult =
  | { ok: true; request: ConsentRequest; needsSeparateConfirmation: boolean; specialCareItems: string[] }
  | { ok: false; errors: ValidationError[] };

export type Availability =
  | "offered" | "offeredWithLinkage" | "notYetOffered" | "institutionsOnly" | "portalOnly";
export type Sensitivity = "general" | "health" | "specialCare";

export interface Catalogue {
  locale: Locale;
  apis: { id: string; number: number; name: string; provides: string }[];
  categories: {
    id: string;
    label: string;
    explanation: string;
    items: {
      id: string;
      label: string;
      explanation: string;
      api: string | null;
      availability: Availability;
      sensitivity: Sensitivity;
    }[];
  }[];
}
"#;

/// The SDK's entry point in JavaScript.
#[wasm_bindgen]
pub struct MynaConsent {
    sdk: Rc<Sdk>,
}

/// A mounted screen; `unmount()` removes every node, listener and effect.
///
/// Dropping the handle (or the JS garbage collector collecting it) leaves
/// the screen in place, as any rendered content: only `unmount()` or
/// `destroy()` removes it.
#[wasm_bindgen]
pub struct MountHandle {
    id: u32,
}

#[wasm_bindgen]
impl MountHandle {
    /// Removes the screen. Calling it twice does nothing more.
    pub fn unmount(&self) {
        unmount(self.id);
    }
}

thread_local! {
    /// Every mounted screen, by id: the screens live here, not in their
    /// handles, so that a handle collected by JS does not take its screen
    /// away.
    static SCREENS: RefCell<(u32, std::collections::HashMap<u32, Mounted>)> = RefCell::default();
}

fn keep(mounted: Mounted) -> MountHandle {
    SCREENS.with(|screens| {
        let mut screens = screens.borrow_mut();
        screens.0 = screens.0.wrapping_add(1);
        let id = screens.0;
        screens.1.insert(id, mounted);
        MountHandle { id }
    })
}

fn unmount(id: u32) {
    // Take the screen out first: unmounting runs cleanup code that must not
    // find the registry borrowed.
    let mounted = SCREENS.with(|screens| screens.borrow_mut().1.remove(&id));
    if let Some(mounted) = mounted {
        mounted.unmount();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Granted,
    Denied,
    Revoked,
    Renew,
    Error,
}

impl Event {
    fn parse(name: &str) -> Result<Self, JsValue> {
        Ok(match name {
            "granted" => Self::Granted,
            "denied" => Self::Denied,
            "revoked" => Self::Revoked,
            "renew" => Self::Renew,
            "error" => Self::Error,
            _ => {
                let message = format!(
                    "Unknown event \"{name}\"; use granted, denied, revoked, renew or error."
                );
                return Err(error("unknown_event", &message, Some("event")));
            }
        })
    }
}

struct Sdk {
    backend: Backend,
    locale: Locale,
    /// `options.navigate`: how to leave for Mynaportal (default
    /// `location.assign`); for single-page apps and tests.
    navigate: Option<js_sys::Function>,
    listeners: RefCell<Vec<(Event, js_sys::Function)>>,
    /// Screens the SDK mounted on its own (the return screen).
    screens: RefCell<Vec<u32>>,
}

impl Sdk {
    fn emit(&self, event: Event, detail: &impl Serialize) {
        let detail = to_js(detail).unwrap_or(JsValue::NULL);
        // Copy first: a listener may call on() or off() while we go through them.
        let listeners: Vec<js_sys::Function> = self
            .listeners
            .borrow()
            .iter()
            .filter(|(e, _)| *e == event)
            .map(|(_, f)| f.clone())
            .collect();
        for listener in listeners {
            // An operator's listener that throws must not break the flow.
            let _ = listener.call1(&JsValue::NULL, &detail);
        }
    }

    fn emit_error(&self, code: &str, message: &str) {
        self.emit_error_because(code, message, None);
    }

    /// `error`, with the backend's `cause` when it gave one.
    fn emit_error_because(&self, code: &str, message: &str, cause: Option<&str>) {
        let mut detail = serde_json::json!({ "code": code, "message": message });
        if let Some(cause) = cause {
            detail["cause"] = cause.into();
        }
        self.emit(Event::Error, &detail);
    }

    /// `error` for a failed backend call.
    fn emit_backend_error(&self, e: &BackendError, message: &str) {
        self.emit_error_because(e.code(), message, e.cause());
    }

    /// `error` with `invalid_request` and every problem.
    fn emit_invalid(&self, errors: &request::ValidationErrors) {
        let list: Vec<serde_json::Value> = errors.iter().map(|e| e.to_json(self.locale)).collect();
        self.emit(
            Event::Error,
            &serde_json::json!({
                "code": "invalid_request",
                "message": words(self.locale).invalid_operator,
                "errors": list,
            }),
        );
    }

    fn pending_key(&self) -> String {
        format!("myna-consent:pending:{}", self.backend.base())
    }

    fn load_pending(&self) -> Option<PendingTransaction> {
        let text = session_storage()?.get_item(&self.pending_key()).ok()??;
        serde_json::from_str(&text).ok()
    }

    fn save_pending(&self, pending: &PendingTransaction) -> Result<(), JsValue> {
        let storage = session_storage().ok_or_else(|| {
            error(
                "storage_unavailable",
                "sessionStorage is not available.",
                None,
            )
        })?;
        let text =
            serde_json::to_string(pending).map_err(|e| error("internal", &e.to_string(), None))?;
        storage.set_item(&self.pending_key(), &text)
    }
}

#[wasm_bindgen]
impl MynaConsent {
    /// Creates the SDK for one operator backend.
    #[wasm_bindgen(unchecked_return_type = "Promise<MynaConsent>")]
    pub fn create(
        #[wasm_bindgen(unchecked_param_type = "MynaConsentOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let result = Self::with_options(&options).map(JsValue::from);
        future_to_promise(async move { result })
    }

    /// The screens' language.
    #[wasm_bindgen(getter, unchecked_return_type = "Locale")]
    pub fn locale(&self) -> String {
        self.sdk.locale.code().to_owned()
    }

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
        match (reference.as_string(), draft.is_undefined() || draft.is_null()) {
            (Some(reference), true) if !reference.is_empty() => {
                self.mount_defined(&host, reference)
            }
            (None, false) if reference.is_undefined() => self.mount_draft(&host, &draft),
            _ => Err(error(
                "invalid_options",
                "mountConsent() takes { request: \"<id or token>\" } for a request defined on the backend, or { draft: request } to preview a draft.",
                Some("request"),
            )),
        }
    }

    /// On the redirect page: checks the callback in `url`, removes its
    /// parameters from the address bar, completes the authorization at the
    /// backend and resolves with the consent. A refused callback never
    /// reaches the backend. With `options.target` the outcome is shown
    /// there, and with `options.retrieve` the first retrieval's progress.
    #[wasm_bindgen(js_name = completeAuthorization, unchecked_return_type = "Promise<Consent>")]
    pub fn complete_authorization(
        &self,
        url: String,
        #[wasm_bindgen(unchecked_param_type = "CompleteOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let sdk = Rc::clone(&self.sdk);
        future_to_promise(async move { complete(sdk, url, options).await })
    }

    /// Shows the review screen (with revocation) in `target`.
    #[wasm_bindgen(js_name = mountReview)]
    pub fn mount_review(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | Element")] target: JsValue,
    ) -> Result<MountHandle, JsValue> {
        let host = resolve_target(&target)?;
        let locale = self.sdk.locale;
        let backend = self.sdk.backend.clone();
        let sdk = Rc::clone(&self.sdk);
        let on_revoked = UnsyncCallback::new(move |(id, receipt): (String, serde_json::Value)| {
            sdk.emit(
                Event::Revoked,
                &serde_json::json!({ "consentId": id, "receipt": receipt }),
            );
        });
        let sdk = Rc::clone(&self.sdk);
        let on_renew =
            UnsyncCallback::new(move |consent: ConsentView| sdk.emit(Event::Renew, &consent));
        let sdk = Rc::clone(&self.sdk);
        let on_error =
            UnsyncCallback::new(move |e: BackendError| sdk.emit_backend_error(&e, &e.to_string()));
        let mounted = mount_in_shadow(&host, move || {
            view! {
                <ReviewScreen locale=locale backend=backend on_revoked=on_revoked on_renew=on_renew on_error=on_error />
            }
        })?;
        Ok(keep(mounted))
    }

    /// Revokes a consent at once and resolves with the receipt document.
    #[wasm_bindgen(unchecked_return_type = "Promise<ReceiptDocument>")]
    pub fn revoke(
        &self,
        #[wasm_bindgen(js_name = consentId)] consent_id: String,
    ) -> js_sys::Promise {
        let sdk = Rc::clone(&self.sdk);
        future_to_promise(async move {
            match sdk.backend.revoke(&consent_id).await {
                Ok(receipt) => {
                    sdk.emit(
                        Event::Revoked,
                        &serde_json::json!({ "consentId": consent_id, "receipt": receipt }),
                    );
                    to_js(&receipt)
                }
                Err(e) => {
                    let message = words(sdk.locale).revoke_failed;
                    sdk.emit_backend_error(&e, message);
                    Err(error(e.code(), message, None))
                }
            }
        })
    }

    /// Retrieves a consent's data now: the backend refreshes its token and
    /// asks Mynaportal; resolves when Mynaportal answered, with the status
    /// (`done`, `error` or `timeout`) and the number of records per item.
    /// The records themselves stay in the backend.
    #[wasm_bindgen(unchecked_return_type = "Promise<RetrievalResult>")]
    pub fn retrieve(
        &self,
        #[wasm_bindgen(js_name = consentId)] consent_id: String,
    ) -> js_sys::Promise {
        let sdk = Rc::clone(&self.sdk);
        future_to_promise(async move {
            match retrieve_until_settled(&sdk.backend, &consent_id).await {
                Ok(view) => to_js(&view),
                Err(e) => {
                    let message = words(sdk.locale).retrieval_error;
                    sdk.emit_backend_error(&e, message);
                    Err(error(e.code(), message, None))
                }
            }
        })
    }

    /// Adds a listener for `granted`, `denied`, `revoked`, `renew` or `error`.
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "keyof MynaConsentEvents")] event: String,
        listener: js_sys::Function,
    ) -> Result<(), JsValue> {
        let event = Event::parse(&event)?;
        self.sdk.listeners.borrow_mut().push((event, listener));
        Ok(())
    }

    /// Removes a listener added with `on`.
    pub fn off(
        &self,
        #[wasm_bindgen(unchecked_param_type = "keyof MynaConsentEvents")] event: String,
        listener: js_sys::Function,
    ) -> Result<(), JsValue> {
        let event = Event::parse(&event)?;
        self.sdk
            .listeners
            .borrow_mut()
            .retain(|(e, f)| !(*e == event && f == &listener));
        Ok(())
    }

    /// Removes every screen the SDK mounted by itself, and every listener.
    pub fn destroy(&self) {
        self.sdk.listeners.borrow_mut().clear();
        let ids: Vec<u32> = self.sdk.screens.borrow_mut().drain(..).collect();
        for id in ids {
            unmount(id);
        }
    }

    /// The catalogue of APIs, categories and data items in `locale`
    /// (default `ja`). Throws `unknown_locale` for any other locale.
    #[wasm_bindgen(unchecked_return_type = "Catalogue")]
    pub fn catalogue(
        #[wasm_bindgen(unchecked_param_type = "Locale | undefined")] locale: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let locale = parse_locale(locale.as_deref())?;
        to_js(&catalogue::to_json(locale))
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

impl MynaConsent {
    /// The SDK for `options`, synchronously: what `create()` resolves to.
    /// For Rust callers and tests.
    pub fn with_options(options: &JsValue) -> Result<Self, JsValue> {
        if !options.is_object() {
            return Err(error(
                "invalid_options",
                "MynaConsent.create() needs an options object.",
                Some("options"),
            ));
        }
        let read = |key: &str| {
            js_sys::Reflect::get(options, &key.into())
                .ok()
                .and_then(|v| v.as_string())
        };
        let backend = read("backend")
            .filter(|path| path.starts_with('/') && !path.starts_with("//"))
            .ok_or_else(|| {
                error(
                    "invalid_options",
                    "options.backend must be a path on this origin, such as \"/myna\".",
                    Some("backend"),
                )
            })?;
        let locale = parse_locale(read("locale").as_deref())?;
        let navigate = js_sys::Reflect::get(options, &"navigate".into())
            .ok()
            .and_then(|f| f.dyn_into().ok());
        let mut backend = Backend::new(&backend);
        match js_sys::Reflect::get(options, &"userToken".into()) {
            Ok(value) if value.is_undefined() || value.is_null() => {}
            Ok(value) => match value.dyn_into::<js_sys::Function>() {
                Ok(function) => backend = backend.with_user_token(function),
                Err(_) => {
                    return Err(error(
                        "invalid_options",
                        "options.userToken must be a function that returns (or resolves to) the operator's sign-in token.",
                        Some("userToken"),
                    ))
                }
            },
            Err(_) => {}
        }
        let sdk = Sdk {
            backend,
            locale,
            navigate,
            listeners: RefCell::new(Vec::new()),
            screens: RefCell::new(Vec::new()),
        };
        Ok(Self { sdk: Rc::new(sdk) })
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
    /// checked, then shown; a failed fetch can be retried.
    fn mount_defined(
        &self,
        host: &web_sys::Element,
        reference: String,
    ) -> Result<MountHandle, JsValue> {
        let locale = self.sdk.locale;
        let w = words(locale);
        let loaded = RwSignal::new(Loaded::Loading);
        let load = {
            let sdk = Rc::clone(&self.sdk);
            let reference = reference.clone();
            move || {
                let sdk = Rc::clone(&sdk);
                let reference = reference.clone();
                loaded.try_set(Loaded::Loading);
                // Not Leptos's spawner: the first load starts before the
                // screen (and with it Leptos's executor) is mounted.
                wasm_bindgen_futures::spawn_local(async move {
                    let next = match sdk.backend.request(&reference, locale).await {
                        Ok(value) => match request::parse(&value) {
                            Ok(valid) => Loaded::Ready(Box::new(valid.with_locale(locale))),
                            Err(errors) => {
                                sdk.emit_invalid(&errors);
                                Loaded::Invalid(errors)
                            }
                        },
                        Err(e) => {
                            sdk.emit_error(e.code(), w.request_unavailable_title);
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
                    <p class="screen" role="status" lang=locale.code()>{w.request_loading}</p>
                }
                .into_any(),
                Loaded::Ready(valid) => {
                    consent_screen(&sdk.get_value(), *valid, Some(reference.clone())).into_any()
                }
                Loaded::Invalid(errors) => {
                    view! { <InvalidRequestPanel errors=errors locale=locale /> }.into_any()
                }
                Loaded::NotFound | Loaded::Unavailable => {
                    let body = if loaded.get_untracked() == Loaded::NotFound {
                        w.request_not_found
                    } else {
                        w.request_unavailable
                    };
                    view! {
                        <article class="screen unavailable" role="alert" aria-labelledby="myna-unavailable-title" lang=locale.code()>
                            <h2 id="myna-unavailable-title">{w.request_unavailable_title}</h2>
                            <p>{body}</p>
                            <button type="button" class="secondary" on:click=move |_| retry.with_value(|load| load())>{w.retry}</button>
                        </article>
                    }
                    .into_any()
                }
            }
        })?;
        Ok(keep(mounted))
    }

    /// A request written in the page, shown for authoring: validated like
    /// any, marked as a preview, never sent.
    fn mount_draft(
        &self,
        host: &web_sys::Element,
        draft: &JsValue,
    ) -> Result<MountHandle, JsValue> {
        let locale = self.sdk.locale;
        let value = serde_wasm_bindgen::from_value::<serde_json::Value>(draft.clone())
            .unwrap_or(serde_json::Value::Null);
        let mounted = match request::parse(&value) {
            Ok(valid) => {
                let sdk = Rc::clone(&self.sdk);
                mount_in_shadow(host, move || consent_screen(&sdk, valid, None))?
            }
            Err(errors) => {
                self.sdk.emit_invalid(&errors);
                mount_in_shadow(
                    host,
                    move || view! { <InvalidRequestPanel errors=errors locale=locale /> },
                )?
            }
        };
        Ok(keep(mounted))
    }
}

/// The consent screen of a valid request. With a `reference` (a request
/// defined on the backend) agreeing starts the authorization; without one
/// (a draft) it is a preview: marked as such, and agreeing sends nothing.
fn consent_screen(
    sdk: &Rc<Sdk>,
    valid: request::ValidRequest,
    reference: Option<String>,
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
            sdk.emit_error("draft_request", words(sdk.locale).draft_not_sent);
            return;
        };
        leptos::task::spawn_local(async move {
            if let Err((code, cause)) = start(&sdk, &reference, &valid, &chosen).await {
                stage.try_set(Stage::Failed);
                sdk.emit_error_because(&code, words(sdk.locale).start_failed, cause.as_deref());
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

/// Creates the transaction at the backend for the request `reference`,
/// remembers it, and leaves for Mynaportal. Answers the failure's code.
async fn start(
    sdk: &Sdk,
    reference: &str,
    valid: &request::ValidRequest,
    chosen: &[String],
) -> Result<(), (String, Option<String>)> {
    let request = valid.request();
    let shared = |id: &str| request.items.required.iter().chain(chosen).any(|x| x == id);
    let special = valid
        .special_care_items()
        .iter()
        .any(|item| shared(item.id));
    let choice = StartChoice {
        request: reference.to_owned(),
        optional_items: chosen.to_vec(),
        special_care_confirmed: special,
        locale: sdk.locale,
        request_digest: valid.digest(),
    };
    let started = sdk
        .backend
        .start_authorization(&choice)
        .await
        .map_err(|e| (e.code().to_owned(), e.cause().map(str::to_owned)))?;
    let invalid_url = || ("invalid_authorization_url".to_owned(), None);
    let target = url::Url::parse(&started.authorization_url).map_err(|_| invalid_url())?;
    if !matches!(target.scheme(), "https" | "http") {
        return Err(invalid_url());
    }
    let pending = PendingTransaction {
        state: started.state,
        issuer: started.issuer,
        request_digest: valid.digest(),
        started_at: now(),
        used: false,
    };
    let failed = |code: &str| (code.to_owned(), None);
    sdk.save_pending(&pending)
        .map_err(|_| failed("storage_unavailable"))?;
    if let Some(navigate) = &sdk.navigate {
        return navigate
            .call1(&JsValue::NULL, &target.as_str().into())
            .map(|_| ())
            .map_err(|_| failed("navigation_failed"));
    }
    let location = web_sys::window()
        .map(|w| w.location())
        .ok_or_else(|| failed("no_window"))?;
    location
        .assign(target.as_str())
        .map_err(|_| failed("navigation_failed"))
}

async fn complete(sdk: Rc<Sdk>, url: String, options: JsValue) -> Result<JsValue, JsValue> {
    let locale = sdk.locale;
    let w = words(locale);
    let state = RwSignal::new(ReturnState::Checking);
    let retrieval = RwSignal::new(Retrieval::None);
    let option = |key: &str| {
        if options.is_object() {
            js_sys::Reflect::get(&options, &key.into()).unwrap_or(JsValue::UNDEFINED)
        } else {
            JsValue::UNDEFINED
        }
    };
    let target = option("target");
    if !target.is_undefined() && !target.is_null() {
        let host = resolve_target(&target)?;
        let mounted = mount_in_shadow(
            &host,
            move || view! { <ReturnScreen locale=locale state=state retrieval=retrieval /> },
        )?;
        let handle = keep(mounted);
        sdk.screens.borrow_mut().push(handle.id);
    }
    strip_callback_from_address_bar();

    let fail_because = |failure: Failure, code: &str, cause: Option<&str>| {
        state.try_set(ReturnState::Failed(failure));
        let message = failure.explain(w);
        if failure == Failure::DeclinedAtPortal {
            sdk.emit(Event::Denied, &serde_json::json!({ "stage": "mynaportal" }));
        } else {
            sdk.emit_error_because(code, message, cause);
        }
        error(code, message, None)
    };
    let fail = |failure: Failure, code: &str| fail_because(failure, code, None);

    let pending = sdk.load_pending();
    let callback = match flow::parse_callback(&url) {
        Ok(callback) => callback,
        Err(e) => return Err(fail(Failure::from_callback(&e), e.code())),
    };
    let checked = flow::check_callback(&callback, pending.as_ref(), now());
    // Whatever the outcome, a callback for this transaction is now spent:
    // a reload or a replay of the same address is refused.
    if let Some(mut pending) =
        pending.filter(|p| callback.state.as_deref() == Some(p.state.as_str()) && !p.used)
    {
        pending.used = true;
        if sdk.save_pending(&pending).is_err() {
            return Err(fail(Failure::Backend, "storage_unavailable"));
        }
    }
    let completion = match checked {
        Ok(completion) => completion,
        Err(e) => return Err(fail(Failure::from_callback(&e), e.code())),
    };
    let consent = match sdk.backend.complete(&completion).await {
        Ok(consent) => consent,
        Err(e) => return Err(fail_because(Failure::from_backend(&e), e.code(), e.cause())),
    };
    state.try_set(ReturnState::Granted {
        operator: consent.consent.operator.name.clone(),
    });
    sdk.emit(Event::Granted, &consent);
    if option("retrieve").is_truthy() {
        retrieval.try_set(Retrieval::Waiting);
        let sdk = Rc::clone(&sdk);
        let id = consent.consent.id.clone();
        leptos::task::spawn_local(async move {
            let outcome = retrieve_first(&sdk.backend, &id).await;
            if outcome != Retrieval::Done {
                sdk.emit_error("retrieval_failed", words(sdk.locale).retrieval_error);
            }
            retrieval.try_set(outcome);
        });
    }
    to_js(&consent)
}

/// Starts a retrieval and polls it once a second, for at most a minute.
async fn retrieve_until_settled(
    backend: &Backend,
    consent_id: &str,
) -> Result<RetrievalView, BackendError> {
    let started = backend.start_retrieval(consent_id).await?;
    let mut view = started.clone();
    for _ in 0..60 {
        if view.status != "waiting" {
            return Ok(view);
        }
        sleep_ms(1000).await;
        view = match backend.retrieval(consent_id, &started.id).await {
            Ok(view) => view,
            // A dropped poll is retried at the next tick.
            Err(BackendError::Network) => continue,
            Err(error) => return Err(error),
        };
    }
    Ok(RetrievalView {
        status: "timeout".to_owned(),
        ..view
    })
}

/// The first retrieval after a grant, as the return screen shows it.
async fn retrieve_first(backend: &Backend, consent_id: &str) -> Retrieval {
    match retrieve_until_settled(backend, consent_id)
        .await
        .map(|view| view.status)
    {
        Ok(status) if status == "done" => Retrieval::Done,
        Ok(status) if status == "timeout" => Retrieval::Timeout,
        _ => Retrieval::Error,
    }
}

async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Removes code, state and the other callback parameters from the address
/// bar, so they are neither bookmarked, shared nor replayed by a reload.
fn strip_callback_from_address_bar() {
    const CALLBACK: [&str; 6] = [
        "code",
        "state",
        "iss",
        "error",
        "error_description",
        "error_uri",
    ];
    let Some(window) = web_sys::window() else {
        return;
    };
    let Ok(href) = window.location().href() else {
        return;
    };
    let Ok(mut url) = url::Url::parse(&href) else {
        return;
    };
    let all = url.query_pairs().count();
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| !CALLBACK.contains(&key.as_ref()))
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    if kept.len() == all {
        return;
    }
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(url.as_str()));
    }
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// The browser's clock (`time` cannot read it on wasm32-unknown-unknown).
fn now() -> time::OffsetDateTime {
    let millis = js_sys::Date::now() as i128;
    time::OffsetDateTime::from_unix_timestamp_nanos(millis * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// An element, from an Element or a CSS selector that finds one.
fn resolve_target(target: &JsValue) -> Result<web_sys::Element, JsValue> {
    if let Some(element) = target.dyn_ref::<web_sys::Element>() {
        return Ok(element.clone());
    }
    let missing = || {
        error(
            "invalid_target",
            "The target must be an element, or a CSS selector that finds one.",
            Some("target"),
        )
    };
    let selector = target.as_string().ok_or_else(missing)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(missing)?;
    document
        .query_selector(&selector)
        .ok()
        .flatten()
        .ok_or_else(missing)
}

fn validation_result(request: JsValue, locale: Option<Locale>) -> serde_json::Value {
    use serde_json::json;
    // Functions, symbols and BigInts are not JSON: the whole request is invalid.
    let value = serde_wasm_bindgen::from_value::<serde_json::Value>(request).ok();
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

fn parse_locale(code: Option<&str>) -> Result<Locale, JsValue> {
    match code {
        None => Ok(Locale::default()),
        Some(code) => Locale::from_code(code).ok_or_else(|| {
            error(
                "unknown_locale",
                &format!("Unsupported locale \"{code}\"; use \"ja\" or \"en\"."),
                Some("locale"),
            )
        }),
    }
}

/// Plain JS objects (not `Map`s) for JSON data.
fn to_js(value: &impl Serialize) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| error("internal", &e.to_string(), None))
}

/// A JS `Error` with `code` and, where it applies, `field`.
pub(crate) fn error(code: &str, message: &str, field: Option<&str>) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name("MynaConsentError");
    let object: &JsValue = error.as_ref();
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(object, &"code".into(), &code.into());
    if let Some(field) = field {
        let _ = js_sys::Reflect::set(object, &"field".into(), &field.into());
    }
    error.into()
}
