//! The JavaScript API: `MynaConsent`, its screens and events, and its
//! TypeScript declarations.
//!
//! Nothing here panics across the wasm boundary: bad input comes back as a
//! typed error object (`code`, `message`, `field`), and every failure of the
//! flow is reported through the `error` event as well.

use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;

use crate::backend::{Backend, BackendError};
use crate::flow::PendingTransaction;
use crate::i18n::Locale;
use crate::ui::Mounted;
#[cfg(feature = "consent-screen")]
use crate::{i18n::words, request};

#[cfg(feature = "account-screens")]
mod account;
#[cfg(feature = "consent-screen")]
mod consent;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
import type { ApiId, CategoryId, ErrorCode, ItemId, PurposeCategory, ValidationErrorCode } from "./generated.js";
export type { ApiId, CategoryId, CssVariable, ErrorCode, EventName, ItemId, PurposeCategory, ValidationErrorCode } from "./generated.js";

/** A locale the SDK speaks; Japanese is the default. */
export type Locale = "ja" | "en";

/**
 * An error from the SDK: a stable code, a message for developers (English),
 * the field it concerns, and, where a citizen is shown words for it, those
 * words in the screen's language.
 */
export interface MynaConsentError extends Error {
  code: ErrorCode;
  field?: string;
  citizenMessage?: string;
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
  /**
   * A request defined on the operator backend: its id, or a request token
   * its server made. `renews`: the id of the consent this one renews (from
   * the `renew` event); the backend withdraws it once this one is granted.
   */
  | { request: string; renews?: string; draft?: undefined }
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
  items: { required?: ItemId[]; optional?: ItemId[] };
  purposes: { category: PurposeCategory; description: string }[];
  period: { kind: "oneTime" } | { kind: "linkage"; days: number };
  recipients?: Recipient[];
  retention: string;
  /**
   * The ethics review that approved research with medical or special-care
   * data (the committee and the approval number). Required when the
   * operator or a recipient uses such data for research; the screen shows
   * it and asks for a separate confirmation.
   */
  ethicsReview?: string;
  locale?: Locale;
  /** Admit items not yet offered to operators (sandbox and playground only). */
  preview?: boolean;
}

/** One problem with a request. */
export interface ValidationError {
  code: ValidationErrorCode;
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
  /**
   * Makes the calls to the backend instead of the browser's `fetch`, with
   * the same signature: for tests, the fake backend of
   * `myna-consent/testing`.
   */
  fetch?: (request: Request) => Promise<Response>;
  /**
   * Whether a consent screen that shows a request a citizen can agree to
   * then downloads the account module in the background, so that the
   * return page after Mynaportal finds it in the HTTP cache. True by
   * default; never when the browser asks to save data. Set false when the
   * return page is on another origin, or to download nothing unasked.
   */
  prefetch?: boolean;
}

/** A consent as the operator backend reports it. */
export interface Consent {
  id: string;
  operator: ConsentRequest["operator"];
  items: ItemId[];
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
  /** On the answer to a renewal: the consent it renewed, and whether it was withdrawn. */
  renewed?: { consentId: string; withdrawn: boolean };
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
  items: { item: ItemId; count: number }[];
}

/** What each event passes to its listeners. */
export interface MynaConsentEvents {
  granted: Consent;
  denied: { stage: "consent" | "mynaportal" };
  revoked: { consentId: string; receipt: ReceiptDocument };
  renew: Consent;
  error: {
    code: ErrorCode;
    /** For developers, in English. */
    message: string;
    /** What the citizen was told on the screen, in its language, where they were told something. */
    citizenMessage?: string;
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
  | { ok: true; request: ConsentRequest; needsSeparateConfirmation: boolean; specialCareItems: ItemId[] }
  | { ok: false; errors: ValidationError[] };

export type Availability =
  | "offered" | "offeredWithLinkage" | "notYetOffered" | "institutionsOnly" | "portalOnly";
export type Sensitivity = "general" | "health" | "specialCare";

export interface Catalogue {
  locale: Locale;
  apis: { id: ApiId; number: number; name: string; provides: string }[];
  categories: {
    id: CategoryId;
    label: string;
    explanation: string;
    items: {
      id: ItemId;
      label: string;
      explanation: string;
      api: ApiId | null;
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
    static SCREENS: RefCell<(u32, Vec<(u32, Mounted)>)> = RefCell::default();
}

/// Keeps a screen, guarding its theme ([`crate::ui::theme`]): a refused
/// variable fires `error` with `theme_rejected` and the variable's name.
fn keep(sdk: &Rc<Sdk>, mounted: Mounted) -> MountHandle {
    let reporter = Rc::clone(sdk);
    let mounted = mounted.guard_theme(move |rejection| {
        reporter.emit(
            Event::Error,
            &serde_json::json!({
                "code": "theme_rejected",
                "message": rejection.message,
                "field": rejection.variable,
            }),
        );
    });
    // One screen per element: a second mount into the same element (a
    // framework's effect run twice, a page that mounts again) replaces the
    // first instead of stacking a second screen under it.
    let host = mounted.wrapper().parent_node();
    let (handle, replaced) = SCREENS.with(|screens| {
        let mut screens = screens.borrow_mut();
        let replaced: Vec<u32> = screens
            .1
            .iter()
            .filter(|(_, held)| host.is_some() && held.wrapper().parent_node() == host)
            .map(|(id, _)| *id)
            .collect();
        screens.0 = screens.0.wrapping_add(1);
        let id = screens.0;
        screens.1.push((id, mounted));
        (MountHandle { id }, replaced)
    });
    for id in replaced {
        unmount(id);
    }
    handle
}

fn unmount(id: u32) {
    // Take the screen out first: unmounting runs cleanup code that must not
    // find the registry borrowed.
    let mounted = SCREENS.with(|screens| {
        let mut screens = screens.borrow_mut();
        let at = screens.1.iter().position(|(held, _)| *held == id)?;
        Some(screens.1.swap_remove(at).1)
    });
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
    #[cfg_attr(not(feature = "consent-screen"), allow(dead_code))]
    navigate: Option<js_sys::Function>,
    listeners: RefCell<Vec<(Event, js_sys::Function)>>,
    /// Screens the SDK mounted on its own (the return screen).
    screens: RefCell<Vec<u32>>,
}

impl Sdk {
    fn emit(&self, event: Event, detail: &impl Serialize) {
        let detail = to_js(detail).unwrap_or(JsValue::NULL);
        // Copy first: a listener may call on() while we go through them.
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

    /// `error`: the code, the developer's `message` (English), what the
    /// citizen was told on the screen (`citizenMessage`), and the backend's
    /// `cause`, where there are.
    fn emit_failure(&self, code: &str, message: &str, citizen: Option<&str>, cause: Option<&str>) {
        let mut detail = serde_json::json!({ "code": code, "message": message });
        if let Some(citizen) = citizen {
            detail["citizenMessage"] = citizen.into();
        }
        if let Some(cause) = cause {
            detail["cause"] = cause.into();
        }
        self.emit(Event::Error, &detail);
    }

    /// `error` for a failed backend call, and the words the citizen was
    /// shown for it, if any.
    fn emit_backend_error(&self, e: &BackendError, citizen: Option<&str>) {
        self.emit_failure(e.code(), &e.to_string(), citizen, e.cause());
    }

    /// `error` with `invalid_request` and every problem.
    #[cfg(feature = "consent-screen")]
    fn emit_invalid(&self, errors: &request::ValidationErrors) {
        let list: Vec<serde_json::Value> = errors.iter().map(|e| e.to_json(self.locale)).collect();
        self.emit(
            Event::Error,
            &serde_json::json!({
                "code": "invalid_request",
                "message": format!("The consent request breaks {} rule(s); `errors` lists each one.", list.len()),
                "citizenMessage": words(self.locale).invalid_operator(),
                "errors": list,
            }),
        );
    }

    fn pending_key(&self) -> String {
        format!("myna-consent:pending:{}", self.backend.base())
    }

    #[cfg(feature = "account-screens")]
    fn load_pending(&self) -> Option<PendingTransaction> {
        let text = session_storage()?.get_item(&self.pending_key()).ok()??;
        crate::wire::parse(&text)
    }

    fn save_pending(&self, pending: &PendingTransaction) -> Result<(), JsValue> {
        let storage = session_storage().ok_or_else(|| {
            error(
                "storage_unavailable",
                "sessionStorage is not available.",
                None,
            )
        })?;
        let text = crate::wire::stringify(pending, None)
            .ok_or_else(|| error("internal", "the transaction could not be written.", None))?;
        storage.set_item(&self.pending_key(), &text)
    }
}

#[wasm_bindgen]
impl MynaConsent {
    /// English on demand: the package entry hands over the table that
    /// `en.js` holds (Japanese to English) before anything is shown in
    /// English. A module built with its English compiled in ignores it.
    #[wasm_bindgen(js_name = useEnglish, skip_typescript)]
    pub fn use_english(table: JsValue) {
        #[cfg(english_on_demand)]
        crate::i18n::english::load(|| match crate::wire::from_js(&table)? {
            serde_json::Value::Object(members) => Some(
                members
                    .into_iter()
                    .filter_map(|(key, en)| Some((key, en.as_str()?.to_owned())))
                    .collect(),
            ),
            _ => None,
        });
        #[cfg(not(english_on_demand))]
        let _ = table;
    }

    /// Creates the SDK for one operator backend.
    #[wasm_bindgen(unchecked_return_type = "Promise<MynaConsent>")]
    pub fn create(
        #[wasm_bindgen(unchecked_param_type = "MynaConsentOptions")] options: JsValue,
    ) -> js_sys::Promise {
        let result = Self::with_options(&options).map(JsValue::from);
        future_to_promise(async move { result })
    }

    /// Adds a listener for `granted`, `denied`, `revoked`, `renew` or `error`.
    /// The package entry (index.js) adds one of each and keeps its callers'
    /// listeners itself, with their `off` and the `locale` getter: the
    /// modules export nothing more for it.
    pub fn on(
        &self,
        #[wasm_bindgen(unchecked_param_type = "keyof MynaConsentEvents")] event: String,
        listener: js_sys::Function,
    ) -> Result<(), JsValue> {
        let event = Event::parse(&event)?;
        self.sdk.listeners.borrow_mut().push((event, listener));
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
            // "//host" and "/\\host" would leave this origin (browsers read a
            // backslash as a slash), taking the sign-in token along; so would
            // "/\t/host", since URL parsing drops tabs and line breaks.
            .filter(|path| {
                path.starts_with('/')
                    && !path.starts_with("//")
                    && !path.contains('\\')
                    && !path.chars().any(char::is_control)
            })
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
        match js_sys::Reflect::get(options, &"fetch".into()) {
            Ok(value) if value.is_undefined() || value.is_null() => {}
            Ok(value) => match value.dyn_into::<js_sys::Function>() {
                Ok(function) => backend = backend.with_fetch(function),
                Err(_) => return Err(error(
                    "invalid_options",
                    "options.fetch must be a function with the signature of the browser's fetch.",
                    Some("fetch"),
                )),
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

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// The browser's clock (`time` cannot read it on wasm32-unknown-unknown).
fn now() -> time::OffsetDateTime {
    // Whole seconds and the milliseconds left, in i64: the nanosecond
    // constructor takes an i128, whose division the module would carry.
    let millis = js_sys::Date::now() as i64;
    time::OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .map(|seconds| seconds + time::Duration::milliseconds(millis.rem_euclid(1000)))
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
    crate::wire::to_js_from(value)
        .ok_or_else(|| error("internal", "a value could not be written as JSON.", None))
}

/// A JS `Error` for a failure the citizen was told about on a screen:
/// `message` for developers, the citizen's words as `citizenMessage`.
#[cfg(feature = "account-screens")]
pub(crate) fn citizen_error(code: &str, message: &str, citizen: &str) -> JsValue {
    let error = error(code, message, None);
    let _ = js_sys::Reflect::set(&error, &"citizenMessage".into(), &citizen.into());
    error
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
