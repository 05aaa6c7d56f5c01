//! Who else receives the data (platform onward sharing), accountable as the
//! operator is: name, contact, approval id where there is one, the kind and
//! the words of the purpose, and a link to the recipient's privacy policy.
//! Shown on the consent screen and on every review card.

use leptos::prelude::*;

use crate::i18n::{fill, words, Locale};
use crate::request::Recipient;

/// The recipients, or the sentence that says there are none.
#[component]
pub fn RecipientList(
    /// The recipients.
    recipients: Vec<Recipient>,
    /// The language.
    locale: Locale,
    /// The sentences before the list, and in its place when there is no
    /// one: present tense for a consent that shares, past for one that
    /// ended.
    intro: &'static str,
    none: &'static str,
) -> impl IntoView {
    let w = words(locale);
    if recipients.is_empty() {
        return view! { <p>{none}</p> }.into_any();
    }
    let rows = recipients
        .into_iter()
        .map(|r| {
            let link = fill(w.recipient_policy_link(), &[&r.name]);
            // A consent from the backend is not checked as a request is:
            // a link only to a policy the request rules allow (https), never
            // a javascript: or data: URL.
            let linkable = crate::request::check_policy_url(&r.privacy_policy_url).is_ok();
            let policy = linkable.then(|| {
                view! {
                    <a href=r.privacy_policy_url.clone() target="_blank" rel="noopener noreferrer" class="text">{link}</a>
                }
            });
            let contact = (!r.contact.is_empty()).then(|| {
                view! { <dt>{w.recipient_contact()}</dt><dd class="text">{r.contact.clone()}</dd> }
            });
            let approval = r.approval_id.clone().map(|id| {
                view! { <dt>{w.recipient_approval()}</dt><dd class="text">{id}</dd> }
            });
            view! {
                <li class="recipient">
                    <strong class="text">{r.name.clone()}</strong>
                    <dl class="facts">
                        {contact}
                        {approval}
                        <dt>{w.recipient_purpose()}</dt>
                        <dd>
                            <span class="purpose-category">{r.purpose_category.label(locale)}</span>
                            <span class="text">{r.purpose.clone()}</span>
                        </dd>
                    </dl>
                    {policy}
                </li>
            }
        })
        .collect_view();
    view! {
        <p>{intro}</p>
        <ul class="plain recipients">{rows}</ul>
    }
    .into_any()
}
