//! A consent receipt on screen, and its download: as JSON, and as the
//! backend's signed JWS when there is one.

use leptos::callback::UnsyncCallback;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::review::format_date_time;
use crate::backend::BackendError;
use crate::i18n::{words, Locale};

/// Whether a receipt document's `sha256` is the SHA-256 of its receipt's
/// RFC 8785 form, which the citizen is told it is: a value that checks a
/// saved receipt. Without SubtleCrypto (not a secure context) it cannot be
/// computed, and is taken as the backend gave it; a receipt with no RFC
/// 8785 form (a fraction, a huge number) is outside the contract and does
/// not check. A mismatch is reported through `on_error`.
pub async fn receipt_checks(
    document: &serde_json::Value,
    locale: Locale,
    on_error: UnsyncCallback<(BackendError, Option<&'static str>)>,
) -> bool {
    let checks = match crate::digest::canonical_value(&document["receipt"]) {
        Some(text) => crate::digest::subtle_sha256_hex(&text)
            .await
            .is_none_or(|computed| document["sha256"] == computed.as_str()),
        None => false,
    };
    if !checks {
        on_error.run((
            BackendError::ReceiptMismatch,
            Some(words(locale).receipt_mismatch()),
        ));
    }
    checks
}

/// The key facts of a receipt document (`{receipt, sha256}`) and a button
/// that saves it as a JSON file.
#[component]
pub fn ReceiptView(
    /// The receipt document.
    document: serde_json::Value,
    /// The language.
    locale: Locale,
    /// Whether its `sha256` is the receipt's ([`receipt_checks`]): if not,
    /// a warning is shown in place of the value.
    checks: bool,
) -> impl IntoView {
    let w = words(locale);
    let receipt = &document["receipt"];
    let text = |key: &str| receipt[key].as_str().unwrap_or_default().to_owned();
    let receipt_id = text("receiptId");
    // A revocation receipt is headed and dated as one: when the consent was
    // withdrawn, not when it was given.
    let revocation = receipt["event"] == "revocation";
    let (heading, when_label, when) = if revocation {
        let at = Some(text("revokedAt")).filter(|t| !t.is_empty());
        (
            w.revocation_receipt_heading(),
            w.revoked_at_label(),
            at.unwrap_or_else(|| text("issuedAt")),
        )
    } else {
        (w.receipt_heading(), w.granted_at_label(), text("grantedAt"))
    };
    // Japan's time, written as a person reads it; the file keeps RFC 3339.
    let when = crate::rfc3339::own::parse(&when)
        .map(|at| format!("{}{}", format_date_time(at, locale), w.jst_suffix()))
        .unwrap_or(when);
    let digest = document["sha256"].as_str().unwrap_or_default().to_owned();
    // A renewal is said on both receipts.
    let renewal_note = if receipt["replacedBy"].is_string() {
        Some(w.receipt_replaced())
    } else if receipt["renews"].is_string() {
        Some(w.receipt_renews())
    } else {
        None
    };
    let file_name = format!("myna-consent-receipt-{}.json", receipt_id);
    let json = crate::wire::stringify(&document, Some(2)).unwrap_or_default();
    let download = move |_| {
        // Saving is a convenience: if the browser refuses, the facts stay on screen.
        let _ = save(&file_name, &json, "application/json");
    };
    // The backend's signature over the receipt (JWS), for a third party.
    let signed = document["jws"].as_str().map(str::to_owned).map(|jws| {
        let file_name = format!("myna-consent-receipt-{}.jws", text("receiptId"));
        let download = move |_| {
            let _ = save(&file_name, &jws, "application/jose");
        };
        view! {
            <p class="hint">{w.signed_receipt_explained()}</p>
            <button type="button" class="secondary" on:click=download>{w.download_signed_receipt()}</button>
        }
    });
    let section = NodeRef::<leptos::html::Section>::new();
    let print = move |_| {
        if let Some(section) = section.get() {
            let _ = print_receipt(&section);
        }
    };
    view! {
        <section class="receipt" aria-label=heading node_ref=section>
            <h4>{heading}</h4>
            <dl class="facts">
                <dt>{w.receipt_id_label()}</dt>
                <dd><code>{receipt_id}</code></dd>
                <dt>{when_label}</dt>
                <dd>{when}</dd>
                <dt>{w.receipt_digest()}</dt>
                <dd>{if checks {
                    view! { <code class="digest">{digest}</code> }.into_any()
                } else {
                    view! { <span class="failure">{w.receipt_mismatch()}</span> }.into_any()
                }}</dd>
            </dl>
            {renewal_note.map(|note| view! { <p>{note}</p> })}
            {checks.then(|| view! { <p class="hint">{w.receipt_digest_explained()}</p> })}
            <button type="button" class="secondary" on:click=print>{w.print_receipt()}</button>
            <button type="button" class="secondary" on:click=download>{w.download_receipt()}</button>
            {signed}
        </section>
    }
}

fn save(file_name: &str, content: &str, media_type: &str) -> Result<(), wasm_bindgen::JsValue> {
    let parts = js_sys::Array::of1(&content.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(media_type);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let anchor: web_sys::HtmlAnchorElement = document.create_element("a")?.unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url)
}

/// Prints this receipt alone: the receipt, its screen and its host element
/// are marked for the print stylesheets (the screen's own, and a page-level
/// one that hides the rest of the operator's page), the browser's print
/// dialog opens, and the marks are removed once it closes.
fn print_receipt(section: &web_sys::HtmlElement) -> Result<(), wasm_bindgen::JsValue> {
    let window = web_sys::window().ok_or("no window")?;
    let document = window.document().ok_or("no document")?;
    adopt_page_print_sheet(&document)?;
    let container = section.closest(".myna")?;
    let host = section
        .get_root_node()
        .dyn_into::<web_sys::ShadowRoot>()
        .map(|root| root.host())
        .ok();
    let marks = |on: bool| {
        let toggle = |element: &web_sys::Element, class: &str| {
            let list = element.class_list();
            let _ = if on {
                list.add_1(class)
            } else {
                list.remove_1(class)
            };
        };
        toggle(section, "printing");
        if let Some(container) = &container {
            toggle(container, "printing");
        }
        if let Some(host) = &host {
            let _ = if on {
                host.set_attribute("data-myna-printing", "")
            } else {
                host.remove_attribute("data-myna-printing")
            };
        }
    };
    marks(true);
    let result = window.print();
    // print() returns once the dialog closed (or at once where printing is
    // not offered): the page looks as before either way.
    marks(false);
    result
}

thread_local! {
    static PAGE_SHEET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The page-level print sheet, adopted once through CSSOM (a strict CSP
/// allows it): while a receipt prints, nothing else of the operator's page
/// does.
fn adopt_page_print_sheet(document: &web_sys::Document) -> Result<(), wasm_bindgen::JsValue> {
    if PAGE_SHEET.with(std::cell::Cell::get) {
        return Ok(());
    }
    let sheet = web_sys::CssStyleSheet::new()?;
    sheet.replace_sync(
        "@media print { body:has([data-myna-printing]) * { visibility: hidden !important; } \
         [data-myna-printing] { visibility: visible !important; position: absolute !important; \
         top: 0 !important; left: 0 !important; width: 100% !important; } }",
    )?;
    let sheets = js_sys::Reflect::get(document, &"adoptedStyleSheets".into())?;
    let list = js_sys::Array::from(&sheets);
    list.push(&sheet);
    js_sys::Reflect::set(document, &"adoptedStyleSheets".into(), &list)?;
    PAGE_SHEET.with(|adopted| adopted.set(true));
    Ok(())
}
