//! The consent screen (同意画面): who asks, for which data, why, shared with
//! whom, for how long, what happens on withdrawal, and what comes next.
//! Nothing is pre-ticked; special-care data is confirmed separately; agree
//! and decline are equally easy.

use leptos::callback::UnsyncCallback;
use leptos::prelude::*;
use time::{Duration, OffsetDateTime};

use super::groups::{group, Group};
use super::recipients::RecipientList;
use crate::catalogue::Sensitivity;
use crate::consent::jst_date;
use crate::i18n::{self, fill, words, Locale};
use crate::request::{Period, ValidRequest};

/// Where the citizen is on the consent screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Reading and choosing.
    Choosing,
    /// Agreed: the transaction is being created and the page will leave for
    /// Mynaportal.
    Starting,
    /// The transaction could not be created; the citizen can try again.
    Failed,
    /// The transaction could not be created because the backend and the
    /// authority do not fit: trying again will not help until the operator
    /// acts, and the citizen is told so.
    Misconfigured,
    /// The citizen declined: nothing is shared.
    Declined,
}

/// The consent screen for a validated request.
#[component]
pub fn ConsentScreen(
    /// The request, validated.
    request: ValidRequest,
    /// The language of the screen.
    locale: Locale,
    /// Now, to print the absolute end date of a linkage.
    now: OffsetDateTime,
    /// Where the citizen is; the caller moves it to `Starting` and `Failed`.
    stage: RwSignal<Stage>,
    /// Called once with the chosen optional items when the citizen agrees.
    on_agree: UnsyncCallback<Vec<String>>,
    /// Called once when the citizen declines.
    on_decline: UnsyncCallback<()>,
    /// A draft shown for authoring: marked as a preview, nothing is sent.
    #[prop(optional)]
    draft: bool,
) -> impl IntoView {
    let w = words(locale);
    let req = request.request().clone();
    let required = group(&req.items.required);
    let optional = group(&req.items.optional);

    // One signal per optional group: nothing is pre-ticked.
    let choices: Vec<(Group, RwSignal<bool>)> = optional
        .into_iter()
        .map(|g| (g, RwSignal::new(false)))
        .collect();
    let confirmed = RwSignal::new(false);
    // Research with medical data: the ethics review, confirmed separately.
    let ethics_review = req
        .ethics_review
        .clone()
        .filter(|_| request.request().health_research_item().is_some());
    let needs_research_confirmation = ethics_review.is_some();
    let research_confirmed = RwSignal::new(false);

    let chosen_ids = {
        let choices = choices.clone();
        move || -> Vec<String> {
            choices
                .iter()
                .filter(|(_, on)| on.get())
                .flat_map(|(g, _)| g.items.iter().map(|item| item.id.to_owned()))
                .collect()
        }
    };
    let required_special: Vec<&'static str> = required
        .iter()
        .flat_map(|g| g.items.iter())
        .filter(|item| item.sensitivity == Sensitivity::SpecialCare)
        .map(|item| item.label.get(locale))
        .collect();
    // Special-care labels among what would be shared right now: computed
    // where they are read (a handful of items), with no Memo, whose
    // machinery would be in the module for this one list.
    let special_care = StoredValue::new_local((required_special, choices.clone()));
    let special_labels = move || {
        special_care.with_value(|(required, choices)| {
            let mut labels = required.clone();
            for (g, on) in choices {
                if on.get() {
                    labels.extend(
                        g.items
                            .iter()
                            .filter(|item| item.sensitivity == Sensitivity::SpecialCare)
                            .map(|item| item.label.get(locale)),
                    );
                }
            }
            labels
        })
    };
    let needs_confirmation = move || !special_labels().is_empty();
    let busy = move || matches!(stage.get(), Stage::Starting | Stage::Declined);
    let can_agree = move || {
        !busy()
            && (!needs_confirmation() || confirmed.get())
            && (!needs_research_confirmation || research_confirmed.get())
    };

    let agree = {
        let chosen_ids = chosen_ids.clone();
        move |_| {
            // A double click lands here twice; only the first one starts.
            if !can_agree() {
                return;
            }
            stage.set(Stage::Starting);
            on_agree.run(chosen_ids());
        }
    };
    let declined = move || stage.get() == Stage::Declined;
    // One button declines and, once declined, goes back to the choice: it
    // stays the same element, so the keyboard focus stays on it. The second
    // click of a double click (detail 2) does not undo the first.
    let decline_or_choose_again = move |ev: leptos::ev::MouseEvent| match stage.get_untracked() {
        Stage::Declined if ev.detail() < 2 => stage.set(Stage::Choosing),
        Stage::Declined | Stage::Starting => {}
        _ => {
            stage.set(Stage::Declined);
            on_decline.run(());
        }
    };

    let period_text = match req.period {
        Period::OneTime => w.period_one_time().to_owned(),
        Period::Linkage { days } => {
            let end = jst_date(now + Duration::days(i64::from(days)));
            fill(
                w.period_linkage(),
                &[&i18n::format_date(end, locale), &days.to_string()],
            )
        }
    };
    let title = fill(w.consent_title(), &[&req.operator.name]);
    let operator = req.operator.clone();

    let optional_view = (!choices.is_empty()).then(|| {
        let rows = choices
            .iter()
            .map(|(g, on)| {
                let on = *on;
                let label = if g.items.len() == 1 {
                    g.items[0].label.get(locale).to_owned()
                } else {
                    fill(w.category_summary(), &[g.category.label.get(locale), &g.items.len().to_string()])
                };
                let special = g.items.iter().any(|item| item.sensitivity == Sensitivity::SpecialCare);
                view! {
                    <li class="choice">
                        <label>
                            <input
                                type="checkbox"
                                prop:checked=move || on.get()
                                on:change=move |ev| on.set(event_target_checked(&ev))
                                disabled=busy
                            />
                            <span>{label}</span>
                            {special.then(|| view! { " " <span class="badge special">{w.special_care_badge()}</span> })}
                        </label>
                        <GroupDetails group=g.clone() locale=locale />
                    </li>
                }
            })
            .collect_view();
        view! {
            <fieldset class="optional">
                <legend>{w.optional_items()}</legend>
                <p class="hint">{w.optional_hint()}</p>
                <ul class="choices">{rows}</ul>
            </fieldset>
        }
    });

    let purposes = req
        .purposes
        .iter()
        .map(|p| {
            view! {
                <li>
                    <strong>{p.category.label(locale)}</strong>
                    <p class="text">{p.description.clone()}</p>
                </li>
            }
        })
        .collect_view();

    let required_view = (!required.is_empty()).then(|| {
        let groups = required
            .iter()
            .map(|g| view! { <li><GroupDetails group=g.clone() locale=locale summary=true /></li> })
            .collect_view();
        view! {
            <h4>{w.required_items()}</h4>
            <ul class="groups">{groups}</ul>
        }
    });

    view! {
        <article class="screen consent" aria-labelledby="myna-consent-title" lang=locale.code()>
            <p class="eyebrow">{w.consent_eyebrow()}</p>
            <h2 id="myna-consent-title" class="text">{title}</h2>
            <p>{w.consent_intro()}</p>
            {draft.then(|| view! { <p class="draft" role="note">{w.draft_notice()}</p> })}

            <section aria-labelledby="myna-operator">
                <h3 id="myna-operator">{w.operator_heading()}</h3>
                <dl class="facts">
                    <dt>{w.operator_name()}</dt>
                    <dd class="text">{operator.name.clone()}</dd>
                    <dt>{w.approval_id()}</dt>
                    <dd class="text">{operator.approval_id.clone()}</dd>
                    <dt>{w.contact()}</dt>
                    <dd class="text">{operator.contact.clone()}</dd>
                    <dt>{w.privacy_policy()}</dt>
                    <dd>
                        <a href=operator.privacy_policy_url.clone() target="_blank" rel="noopener noreferrer">
                            {w.privacy_policy_link()}
                        </a>
                    </dd>
                </dl>
            </section>

            <section aria-labelledby="myna-items">
                <h3 id="myna-items">{w.items_heading()}</h3>
                {required_view}
                {optional_view}
            </section>

            <section aria-labelledby="myna-purposes">
                <h3 id="myna-purposes">{w.purposes_heading()}</h3>
                <ul class="plain">{purposes}</ul>
            </section>

            <section aria-labelledby="myna-recipients">
                <h3 id="myna-recipients">{w.recipients_heading()}</h3>
                <RecipientList recipients=req.recipients.clone() locale=locale intro=w.recipients_intro() none=w.no_recipients() />
            </section>

            <section aria-labelledby="myna-period">
                <h3 id="myna-period">{w.period_heading()}</h3>
                <p class="period">{period_text}</p>
            </section>

            <section aria-labelledby="myna-retention">
                <h3 id="myna-retention">{w.retention_heading()}</h3>
                <h4>{w.retention_label()}</h4>
                <p class="text">{req.retention.clone()}</p>
                <p>{w.withdraw_how()}</p>
            </section>

            <section aria-labelledby="myna-next">
                <h3 id="myna-next">{w.next_heading()}</h3>
                <div class="notice">
                    <p>{w.next_step()}</p>
                    <p>{w.next_step_smartphone()}</p>
                </div>
            </section>

            // Hidden, not unmounted, while no special-care data is among
            // what would be shared: a hidden attribute costs the module less
            // code than a <Show> (docs/size.md).
            <fieldset class="special-care" hidden=move || !needs_confirmation()>
                <legend>{w.special_care_heading()}</legend>
                <p>{w.special_care_explain()}</p>
                <ul class="plain">
                    {move || special_labels().into_iter().map(|label| view! { <li>{label}</li> }).collect_view()}
                </ul>
                <Confirmation checked=confirmed busy=busy label=w.special_care_confirm() />
            </fieldset>

            {ethics_review.map(|review| view! {
                <fieldset class="special-care research">
                    <legend>{w.research_heading()}</legend>
                    <p>{w.research_explain()}</p>
                    <p><span class="item-label">{w.research_review_label()}</span>" "<span class="text">{review}</span></p>
                    <Confirmation checked=research_confirmed busy=busy label=w.research_confirm() />
                </fieldset>
            })}

            // The live region stays in the page and its content appears in
            // it, which screen readers announce; a region inserted or shown
            // with its content already in it is often not announced.
            <div role="status">
                <div class="outcome" hidden=move || !declined()>
                    <p class="outcome-title">{w.declined_title()}</p>
                    <p>{w.declined_body()}</p>
                </div>
            </div>
            <div class="actions" class:single=declined>
                <button
                    type="button"
                    class="secondary"
                    on:click=decline_or_choose_again
                    disabled=move || stage.get() == Stage::Starting
                >
                    {move || if declined() { w.choose_again() } else { w.decline() }}
                </button>
                <button
                    type="button"
                    class="primary"
                    on:click=agree.clone()
                    disabled=move || !can_agree()
                    hidden=declined
                    aria-describedby="myna-agree-hint"
                >
                    {w.agree()}
                </button>
            </div>
            <p
                id="myna-agree-hint"
                class="hint"
                hidden=move || {
                    declined()
                        || ((!needs_confirmation() || confirmed.get())
                            && (!needs_research_confirmation || research_confirmed.get()))
                }
            >
                {w.agree_hint()}
            </p>
            <p class="status" role="status">
                {move || match stage.get() {
                    Stage::Starting => w.starting(),
                    Stage::Failed if draft => w.draft_not_sent(),
                    Stage::Failed => w.start_failed(),
                    Stage::Misconfigured => w.start_misconfigured(),
                    _ => "",
                }}
            </p>
        </article>
    }
}

/// A category with its items: the category's line, and the item list
/// behind a disclosure when there is more than one item.
#[component]
fn GroupDetails(
    /// The group.
    group: Group,
    /// The language.
    locale: Locale,
    /// Print the category as the summary line (required items); optional
    /// items already name it in their checkbox label.
    #[prop(optional)]
    summary: bool,
) -> impl IntoView {
    let w = words(locale);
    let items = group
        .items
        .iter()
        .map(|item| {
            let special = item.sensitivity == Sensitivity::SpecialCare;
            view! {
                <li>
                    <span class="item-label">{item.label.get(locale)}</span>
                    {special.then(|| view! { <span class="badge special">{w.special_care_badge()}</span> })}
                    <p class="explanation">{item.explanation.get(locale)}</p>
                </li>
            }
        })
        .collect_view();
    if group.items.len() == 1 {
        let item = group.items[0];
        let special = item.sensitivity == Sensitivity::SpecialCare;
        return view! {
            <div class="group single">
                {summary.then(|| view! {
                    <span class="item-label">{item.label.get(locale)}</span>
                    {special.then(|| view! { <span class="badge special">{w.special_care_badge()}</span> })}
                })}
                <p class="explanation">{item.explanation.get(locale)}</p>
            </div>
        }
        .into_any();
    }
    let label = fill(
        w.category_summary(),
        &[
            group.category.label.get(locale),
            &group.items.len().to_string(),
        ],
    );
    view! {
        <details class="group">
            <summary>{if summary { label } else { fill(w.show_items(), &[group.category.label.get(locale)]) }}</summary>
            <p class="explanation">{group.category.explanation.get(locale)}</p>
            <ul class="items">{items}</ul>
        </details>
    }
    .into_any()
}

/// A separate confirmation (special-care data, research use): a checkbox
/// the citizen ticks before 同意 is possible, never pre-ticked.
#[component]
fn Confirmation(
    /// Whether it is ticked.
    checked: RwSignal<bool>,
    /// While the screen is busy, it cannot change. A plain closure, not a
    /// `Signal`: a derived signal would bring its own machinery into the
    /// module for this one use.
    busy: impl Fn() -> bool + Copy + Send + Sync + 'static,
    /// What the citizen confirms.
    label: &'static str,
) -> impl IntoView {
    view! {
        <label>
            <input
                type="checkbox"
                prop:checked=move || checked.get()
                on:change=move |ev| checked.set(event_target_checked(&ev))
                disabled=busy
            />
            <span>{label}</span>
        </label>
    }
}
