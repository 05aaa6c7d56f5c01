//! The revocation dialog (撤回): what stops, what happens to data already
//! shared, one confirmation, then the receipt. A failure is shown as a
//! failure with a retry, never as done. Focus stays inside the dialog,
//! Escape closes it, and focus returns to the button that opened it.

use leptos::callback::UnsyncCallback;
use leptos::html::Dialog;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::receipt::{receipt_checks, ReceiptView};
use crate::backend::{Backend, BackendError, ConsentView};
use crate::i18n::{fill, words, Locale};

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Confirm,
    Revoking,
    Failed,
    /// The receipt document, and whether its check value is its own.
    Done(serde_json::Value, bool),
}

/// The dialog; open while `target` holds a consent.
#[component]
pub fn RevocationDialog(
    locale: Locale,
    backend: Backend,
    /// The consent to revoke; `None` closes the dialog.
    target: RwSignal<Option<ConsentView>>,
    /// Called after the backend confirmed the revocation.
    on_revoked: UnsyncCallback<(String, serde_json::Value)>,
    /// Called when the revocation failed.
    on_error: UnsyncCallback<(BackendError, Option<&'static str>)>,
) -> impl IntoView {
    let w = words(locale);
    let backend = StoredValue::new(backend);
    let step = RwSignal::new(Step::Confirm);
    let dialog_ref = NodeRef::<Dialog>::new();
    // The element that had focus before the dialog opened (not Send: local).
    let opener = StoredValue::new_local(None::<web_sys::HtmlElement>);

    Effect::new(move |_| {
        let Some(dialog) = dialog_ref.get() else {
            return;
        };
        if target.get().is_some() {
            if !dialog.open() {
                opener.set_value(active_element(&dialog));
                step.set(Step::Confirm);
                let _ = dialog.show_modal();
                // The dialog's content renders in the same tick: focus it
                // once the browser has laid it out.
                request_animation_frame(move || {
                    if let Some(dialog) = dialog_ref.get_untracked() {
                        focus_first(&dialog);
                    }
                });
            }
        } else if dialog.open() {
            dialog.close();
            if let Some(opener) = opener.get_value() {
                let _ = opener.focus();
            }
        }
    });

    let close = move || {
        if step.get_untracked() != Step::Revoking {
            target.set(None);
        }
    };
    let revoke = move || {
        let Some(consent) = target.get_untracked() else {
            return;
        };
        if step.get_untracked() == Step::Revoking {
            return;
        }
        step.set(Step::Revoking);
        let backend = backend.get_value();
        spawn_local(async move {
            let id = consent.consent.id.clone();
            match backend.revoke(&id).await {
                Ok(document) => {
                    on_revoked.run((id, document.clone()));
                    let checks = receipt_checks(&document, locale, on_error).await;
                    step.try_set(Step::Done(document, checks));
                }
                Err(error) => {
                    step.try_set(Step::Failed);
                    on_error.run((error, Some(w.revoke_failed())));
                }
            }
            if let Some(dialog) = dialog_ref.get_untracked() {
                focus_first(&dialog);
            }
        });
    };

    let on_keydown = move |ev: web_sys::KeyboardEvent| {
        if ev.key() == "Tab" {
            if let Some(dialog) = dialog_ref.get_untracked() {
                trap_tab(&dialog, &ev);
            }
        }
    };

    let content = move || {
        let consent = target.get()?;
        let operator = consent.consent.operator.name.clone();
        let retention = consent.consent.retention.clone();
        Some(match step.get() {
            Step::Done(document, checks) => view! {
                <h2 id="myna-revoke-title">{w.revoked_title()}</h2>
                <p role="status" class="text">{fill(w.revoked_body(), &[&operator])}</p>
                <ReceiptView document=document locale=locale checks=checks />
                <div class="actions single">
                    <button type="button" class="primary" on:click=move |_| close()>{w.close()}</button>
                </div>
            }
            .into_any(),
            current => {
                let revoking = current == Step::Revoking;
                let failed = current == Step::Failed;
                view! {
                    <h2 id="myna-revoke-title">{w.revoke_title()}</h2>
                    <p class="text">{fill(w.revoke_what_stops(), &[&operator])}</p>
                    <h3>{w.revoke_retrieved()}</h3>
                    <p class="text">{retention}</p>
                    {failed.then(|| view! { <p role="alert" class="failure">{w.revoke_failed()}</p> })}
                    {revoking.then(|| view! { <p role="status">{w.revoking()}</p> })}
                    <div class="actions">
                        <button type="button" class="secondary" on:click=move |_| close() disabled=revoking>
                            {w.revoke_cancel()}
                        </button>
                        <button type="button" class="danger" on:click=move |_| revoke() disabled=revoking>
                            {if failed { w.revoke_retry() } else { w.revoke_confirm() }}
                        </button>
                    </div>
                }
                .into_any()
            }
        })
    };

    view! {
        <dialog
            node_ref=dialog_ref
            class="revocation"
            aria-labelledby="myna-revoke-title"
            on:cancel=move |ev: web_sys::Event| {
                // Escape: close through our own state, so focus goes back.
                ev.prevent_default();
                close();
            }
            on:keydown=on_keydown
        >
            {content}
        </dialog>
    }
}

fn focusable(dialog: &web_sys::HtmlDialogElement) -> Vec<web_sys::HtmlElement> {
    let Ok(nodes) = dialog
        .query_selector_all("button:not([disabled]), a[href], input:not([disabled]), summary")
    else {
        return Vec::new();
    };
    (0..nodes.length())
        .filter_map(|i| nodes.item(i))
        .filter_map(|node| node.dyn_into::<web_sys::HtmlElement>().ok())
        .collect()
}

fn focus_first(dialog: &web_sys::HtmlDialogElement) {
    if let Some(first) = focusable(dialog).first() {
        let _ = first.focus();
    }
}

/// The focused element, looked up in the dialog's own root: inside a shadow
/// root, `document.activeElement` is only the host.
fn active_element(dialog: &web_sys::HtmlDialogElement) -> Option<web_sys::HtmlElement> {
    let root = dialog.get_root_node();
    let active = match root.dyn_ref::<web_sys::ShadowRoot>() {
        Some(shadow) => shadow.active_element(),
        None => dialog.owner_document()?.active_element(),
    };
    active?.dyn_into::<web_sys::HtmlElement>().ok()
}

/// Keeps Tab and Shift+Tab inside the dialog.
fn trap_tab(dialog: &web_sys::HtmlDialogElement, ev: &web_sys::KeyboardEvent) {
    let items = focusable(dialog);
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        ev.prevent_default();
        return;
    };
    let active = active_element(dialog);
    let inside = active
        .as_ref()
        .is_some_and(|a| items.iter().any(|i| i == a));
    if ev.shift_key() {
        if !inside || active.as_ref() == Some(first) {
            ev.prevent_default();
            let _ = last.focus();
        }
    } else if !inside || active.as_ref() == Some(last) {
        ev.prevent_default();
        let _ = first.focus();
    }
}
