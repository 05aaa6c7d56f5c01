//! The panel shown instead of a consent screen when the request is invalid:
//! a plain apology for the citizen, and every problem for the operator's
//! developers, so a non-compliant screen never reaches anyone.

use leptos::prelude::*;

use crate::i18n::{words, Locale};
use crate::request::ValidationErrors;

/// Every validation problem, as a list.
#[component]
pub fn InvalidRequestPanel(
    /// The problems.
    errors: ValidationErrors,
    /// The language.
    locale: Locale,
) -> impl IntoView {
    let w = words(locale);
    let rows = errors
        .iter()
        .map(|error| {
            let field = if error.field.is_empty() {
                "(request)".to_owned()
            } else {
                error.field.clone()
            };
            view! {
                <li>
                    <code>{error.code()}</code>" "<code class="text">{field}</code>
                    <p class="text">{error.message(locale)}</p>
                </li>
            }
        })
        .collect_view();
    view! {
        <article class="screen invalid" role="alert" aria-labelledby="myna-invalid-title" lang=locale.code()>
            <h2 id="myna-invalid-title">{w.invalid_title()}</h2>
            <p>{w.invalid_citizen()}</p>
            <section class="developer">
                <p>{w.invalid_operator()}</p>
                <ul class="errors">{rows}</ul>
            </section>
        </article>
    }
}
