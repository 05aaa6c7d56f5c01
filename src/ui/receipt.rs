//! A consent receipt on screen, and its download: as JSON, and as the
//! backend's signed JWS when there is one.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::review::format_date_time;
use crate::i18n::{words, Locale};

/// The key facts of a receipt document (`{receipt, sha256}`) and a button
/// that saves it as a JSON file.
#[component]
pub fn ReceiptView(
    /// The receipt document.
    document: serde_json::Value,
    /// The language.
    locale: Locale,
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
            w.revocation_receipt_heading,
            w.revoked_at_label,
            at.unwrap_or_else(|| text("issuedAt")),
        )
    } else {
        (w.receipt_heading, w.granted_at_label, text("grantedAt"))
    };
    // Japan's time, written as a person reads it; the file keeps RFC 3339.
    let when = crate::rfc3339::own::parse(&when)
        .map(|at| format!("{}{}", format_date_time(at, locale), w.jst_suffix))
        .unwrap_or(when);
    let digest = document["sha256"].as_str().unwrap_or_default().to_owned();
    // A renewal is said on both receipts.
    let renewal_note = if receipt["replacedBy"].is_string() {
        Some(w.receipt_replaced)
    } else if receipt["renews"].is_string() {
        Some(w.receipt_renews)
    } else {
        None
    };
    let file_name = format!("myna-consent-receipt-{}.json", receipt_id);
    let json = serde_json::to_string_pretty(&document).unwrap_or_default();
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
            <p class="hint">{w.signed_receipt_explained}</p>
            <button type="button" class="secondary" on:click=download>{w.download_signed_receipt}</button>
        }
    });
    view! {
        <section class="receipt" aria-label=heading>
            <h4>{heading}</h4>
            <dl class="facts">
                <dt>{w.receipt_id_label}</dt>
                <dd><code>{receipt_id}</code></dd>
                <dt>{when_label}</dt>
                <dd>{when}</dd>
                <dt>{w.receipt_digest}</dt>
                <dd><code class="digest">{digest}</code></dd>
            </dl>
            {renewal_note.map(|note| view! { <p>{note}</p> })}
            <p class="hint">{w.receipt_digest_explained}</p>
            <button type="button" class="secondary" on:click=download>{w.download_receipt}</button>
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
