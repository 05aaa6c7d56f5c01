//! The review screen (確認画面): every consent of this citizen with this
//! operator — items, purposes, dates, days left, last retrieval, status —
//! with renewal, revocation and the receipt.

use leptos::callback::UnsyncCallback;
use leptos::prelude::*;
use leptos::task::spawn_local;
use time::OffsetDateTime;

use super::groups::group;
use super::receipt::{receipt_checks, ReceiptView};
use super::recipients::RecipientList;
use super::revocation::RevocationDialog;
use crate::backend::{Backend, BackendError, ConsentView};
use crate::consent::{jst_date, ConsentStatus, JST};
use crate::i18n::{self, fill, words, Locale};
use crate::request::Period;

/// What the list holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Load {
    /// Fetching.
    Loading,
    /// The fetch failed; the citizen can retry.
    Failed,
    /// The consents.
    Loaded(Vec<ConsentView>),
}

/// The review screen.
#[component]
pub fn ReviewScreen(
    /// The language.
    locale: Locale,
    /// The operator backend.
    backend: Backend,
    /// Called after a revocation succeeded, with the consent id and the
    /// receipt document.
    on_revoked: UnsyncCallback<(String, serde_json::Value)>,
    /// Called when the citizen asks to renew a consent.
    on_renew: UnsyncCallback<ConsentView>,
    /// Called when a call to the backend failed, with the words the
    /// screen shows the citizen for it, if any.
    on_error: UnsyncCallback<(BackendError, Option<&'static str>)>,
) -> impl IntoView {
    let w = words(locale);
    let load = RwSignal::new(Load::Loading);
    let to_revoke: RwSignal<Option<ConsentView>> = RwSignal::new(None);

    let fetch = {
        let backend = backend.clone();
        move || {
            load.set(Load::Loading);
            let backend = backend.clone();
            spawn_local(async move {
                match backend.consents().await {
                    Ok(consents) => load.try_set(Load::Loaded(consents)),
                    Err(error) => {
                        on_error.run((error, Some(w.load_failed())));
                        load.try_set(Load::Failed)
                    }
                };
            });
        }
    };
    fetch();

    let revoked = move |(id, receipt): (String, serde_json::Value)| {
        // Show the new status at once; the backend is the source of truth
        // for the next load.
        load.update(|load| {
            if let Load::Loaded(consents) = load {
                for consent in consents.iter_mut().filter(|c| c.consent.id == id) {
                    consent.status = ConsentStatus::Revoked;
                    consent.days_left = None;
                }
            }
        });
        on_revoked.run((id, receipt));
    };

    let list = {
        let backend = backend.clone();
        let fetch = fetch.clone();
        move || match load.get() {
            Load::Loading => view! { <p role="status">{w.loading()}</p> }.into_any(),
            Load::Failed => {
                let fetch = fetch.clone();
                view! {
                    <div role="alert">
                        <p>{w.load_failed()}</p>
                        <button type="button" class="secondary" on:click=move |_| fetch()>{w.retry()}</button>
                    </div>
                }
                .into_any()
            }
            Load::Loaded(consents) if consents.is_empty() => {
                view! { <p>{w.review_empty()}</p> }.into_any()
            }
            Load::Loaded(consents) => {
                let cards = consents
                    .into_iter()
                    .map(|consent| {
                        view! {
                            <li>
                                <ConsentCard
                                    consent=consent
                                    locale=locale
                                    backend=backend.clone()
                                    on_revoke=UnsyncCallback::new(move |c| to_revoke.set(Some(c)))
                                    on_renew=on_renew
                                    on_error=on_error
                                />
                            </li>
                        }
                    })
                    .collect_view();
                view! { <ul class="consents">{cards}</ul> }.into_any()
            }
        }
    };

    view! {
        <article class="screen review" aria-labelledby="myna-review-title" lang=locale.code()>
            <h2 id="myna-review-title">{w.review_title()}</h2>
            <p>{w.review_intro()}</p>
            {list}
            <RevocationDialog
                locale=locale
                backend=backend
                target=to_revoke
                on_revoked=UnsyncCallback::new(revoked)
                on_error=on_error
            />
        </article>
    }
}

/// One consent.
#[component]
fn ConsentCard(
    consent: ConsentView,
    locale: Locale,
    backend: Backend,
    on_revoke: UnsyncCallback<ConsentView>,
    on_renew: UnsyncCallback<ConsentView>,
    on_error: UnsyncCallback<(BackendError, Option<&'static str>)>,
) -> impl IntoView {
    let w = words(locale);
    let c = &consent.consent;
    let status = consent.status;
    let heading_id = format!("myna-consent-{}", sanitize_id(&c.id));
    let explain = match status {
        ConsentStatus::Suspended => Some(w.suspended_explain()),
        ConsentStatus::Expired => Some(w.expired_explain()),
        ConsentStatus::EndingSoon => Some(w.ending_soon_explain()),
        ConsentStatus::Active | ConsentStatus::Revoked => None,
    };
    let ends = match c.period {
        Period::OneTime => w.one_time().to_owned(),
        Period::Linkage { .. } => c
            .end_date()
            .map(|date| i18n::format_date(date, locale))
            .or_else(|| consent.end_date.clone())
            .unwrap_or_default(),
    };
    let days_left = match (status, consent.days_left) {
        (ConsentStatus::Active | ConsentStatus::EndingSoon, Some(0)) => {
            Some(w.last_day().to_owned())
        }
        (ConsentStatus::Active | ConsentStatus::EndingSoon, Some(days)) => {
            Some(fill(w.days_left_value(), &[&days.to_string()]))
        }
        _ => None,
    };
    let last = consent
        .last_retrieval_at
        .map(|at| format_date_time(at, locale))
        .unwrap_or_else(|| w.never_retrieved().to_owned());
    // Automatic retrievals that keep failing are said plainly, with when
    // the next try is, so that an old date does not go unexplained.
    let retry = match (consent.retrieval_failures, consent.next_retrieval_at) {
        (1.., Some(next)) => Some(fill(
            w.retrieval_retry(),
            &[&format_date_time(next, locale)],
        )),
        _ => None,
    };
    let purposes = c
        .purposes
        .iter()
        .map(|p| view! { <li><strong>{p.category.label(locale)}</strong>" "<span class="text">{p.description.clone()}</span></li> })
        .collect_view();
    let items = group(&c.items)
        .into_iter()
        .map(|g| {
            if let [item] = g.items.as_slice() {
                return view! { <li>{item.label.get(locale)}</li> }.into_any();
            }
            let count = g.items.len();
            let labels = g.items.iter().map(|item| view! { <li>{item.label.get(locale)}</li> }).collect_view();
            view! {
                <li>
                    <details class="group">
                        <summary>{fill(w.category_summary(), &[g.category.label.get(locale), &count.to_string()])}</summary>
                        <ul class="items">{labels}</ul>
                    </details>
                </li>
            }
            .into_any()
        })
        .collect_view();
    // A live consent shares now; an ended one shared before.
    let ended = matches!(status, ConsentStatus::Expired | ConsentStatus::Revoked);
    let (items_heading, recipients_intro, no_recipients) = if ended {
        (
            w.items_shared_before(),
            w.recipients_intro_before(),
            w.no_recipients_before(),
        )
    } else {
        (
            w.items_shared_now(),
            w.recipients_intro(),
            w.no_recipients(),
        )
    };
    let can_renew = matches!(
        status,
        ConsentStatus::EndingSoon | ConsentStatus::Expired | ConsentStatus::Suspended
    );
    let can_revoke = status != ConsentStatus::Revoked;
    // The receipt once fetched; `Err` when it could not be, which the card
    // says (the button tries again).
    let receipt: RwSignal<Option<Result<(serde_json::Value, bool), ()>>> = RwSignal::new(None);
    let show_receipt = {
        let backend = backend.clone();
        let id = c.id.clone();
        move |_| {
            let backend = backend.clone();
            let id = id.clone();
            // A second failure is a new alert, announced again.
            receipt.set(None);
            spawn_local(async move {
                let fetched = match backend.receipt(&id).await {
                    Ok(document) => {
                        let checks = receipt_checks(&document, locale, on_error).await;
                        Ok((document, checks))
                    }
                    Err(error) => {
                        on_error.run((error, Some(w.receipt_unavailable())));
                        Err(())
                    }
                };
                receipt.try_set(Some(fetched));
            });
        }
    };
    let for_renew = consent.clone();
    let for_revoke = consent.clone();
    let labelled_by = heading_id.clone();
    view! {
        <article class=format!("consent-card status-{}", status.code()) aria-labelledby=labelled_by>
            <h3 id=heading_id class="text">{c.operator.name.clone()}</h3>
            <p class="status-line">
                <span class="status-label">{w.status()}": "</span>
                <strong class=format!("badge status {}", status.code())>{status.label(locale)}</strong>
            </p>
            {explain.map(|text| view! { <p class="status-explain">{text}</p> })}
            <dl class="facts">
                <dt>{w.granted_on()}</dt>
                <dd>{i18n::format_date(jst_date(c.granted_at), locale)}</dd>
                <dt>{w.ends_on()}</dt>
                <dd>{ends}</dd>
                {days_left.map(|text| view! { <dt>{w.days_left()}</dt><dd>{text}</dd> })}
                <dt>{w.last_retrieval()}</dt>
                <dd>{last}{retry.map(|text| view! { <span class="retry">{text}</span> })}</dd>
            </dl>
            <h4>{items_heading}</h4>
            <ul class="groups">{items}</ul>
            <h4>{w.purposes_heading()}</h4>
            <ul class="plain">{purposes}</ul>
            // Who else receives the data, always said, even when no one does.
            <h4>{w.recipients_heading()}</h4>
            <RecipientList recipients=c.recipients.clone() locale=locale intro=recipients_intro none=no_recipients />
            <h4>{w.retention_label()}</h4>
            <p class="text">{c.retention.clone()}</p>
            <div class="card-actions">
                {can_renew.then(|| view! {
                    <button type="button" class="primary" on:click=move |_| on_renew.run(for_renew.clone())>{w.renew()}</button>
                })}
                {can_revoke.then(|| view! {
                    <button type="button" class="secondary" on:click=move |_| on_revoke.run(for_revoke.clone())>{w.revoke()}</button>
                })}
                <button type="button" class="secondary" on:click=show_receipt>{w.show_receipt()}</button>
            </div>
            {move || receipt.get().map(|fetched| match fetched {
                Ok((document, checks)) => view! { <ReceiptView document=document locale=locale checks=checks /> }.into_any(),
                Err(()) => view! { <p role="alert" class="failure">{w.receipt_unavailable()}</p> }.into_any(),
            })}
        </article>
    }
}

/// `2026年11月24日 10:05` / `24 November 2026 10:05`, in JST.
pub fn format_date_time(at: OffsetDateTime, locale: Locale) -> String {
    let at = at.to_offset(JST);
    format!(
        "{} {:02}:{:02}",
        i18n::format_date(at.date(), locale),
        at.hour(),
        at.minute()
    )
}

/// An id fit for an HTML id attribute.
fn sanitize_id(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
