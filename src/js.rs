//! The JavaScript API: `MynaConsent` and its TypeScript declarations.
//!
//! So far the static half: `MynaConsent.catalogue(locale)` and
//! `MynaConsent.validate(request, locale)`. Nothing here panics across the
//! wasm boundary: bad input comes back as a typed error object
//! (`code`, `message`, `field`).

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::catalogue;
use crate::i18n::Locale;
use crate::request;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A locale the SDK speaks; Japanese is the default. */
export type Locale = "ja" | "en";

/** An error from the SDK: a stable code, a message, and the field it concerns. */
export interface MynaConsentError extends Error {
  code: string;
  field?: string;
}

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
  recipients?: { name: string; purpose: string }[];
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
pub struct MynaConsent {}

#[wasm_bindgen]
impl MynaConsent {
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
