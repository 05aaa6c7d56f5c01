//! The return screen: what happened after Mynaportal, in plain words, with
//! what to do next; and the progress of the first retrieval.

use leptos::prelude::*;

use crate::backend::BackendError;
use crate::flow::CallbackError;
use crate::i18n::{fill, words, Locale, Words};

/// Why the authorization did not complete, as the citizen needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The citizen chose 同意しない at Mynaportal.
    DeclinedAtPortal,
    /// The transaction took longer than ten minutes.
    Expired,
    /// The callback did not match the transaction (tampered, mixed up).
    Tampered,
    /// The callback was already used (reload, back button, replay).
    Used,
    /// Mynaportal finished, but confirmed none of the items: no consent.
    /// Not the citizen's refusal, and not to be worded as one.
    NothingGranted,
    /// The backend and the authority do not fit (a configuration error):
    /// trying again cannot help; the operator must act.
    Configuration,
    /// Mynaportal or the backend is unavailable for now: try again later.
    Temporary,
    /// The answer to a single-use call was lost: the consent may or may not
    /// exist. Never say that nothing was shared.
    Uncertain,
    /// The operator's backend failed in a way it did not explain.
    Backend,
}

impl Failure {
    /// The failure a callback check reports.
    pub fn from_callback(error: &CallbackError) -> Self {
        match error {
            CallbackError::AccessDenied => Self::DeclinedAtPortal,
            CallbackError::Expired => Self::Expired,
            // A reload of the return page after it removed its callback
            // says the same as a reused callback: the procedure is over.
            CallbackError::UsedState | CallbackError::NoCallback => Self::Used,
            CallbackError::Authority(_) => Self::Backend,
            CallbackError::InvalidUrl
            | CallbackError::MissingState
            | CallbackError::UnknownState
            | CallbackError::IssuerMismatch
            | CallbackError::MissingCode => Self::Tampered,
        }
    }

    /// The failure a backend error reports: by the backend's `cause` when
    /// it gives one, else by its code. Only the completion calls this.
    pub fn from_backend(error: &BackendError) -> Self {
        match error {
            // The completion is single-use, and its answer was lost: the
            // network dropped it, or a 2xx could not be read, or a 5xx is
            // no problem (a gateway's 502 or 504, a crash page). The
            // backend may have stored the consent.
            BackendError::Network => return Self::Uncertain,
            BackendError::Unexpected(status, _)
                if (200..300).contains(status) || *status >= 500 =>
            {
                return Self::Uncertain
            }
            _ => {}
        }
        match error.cause() {
            Some("nothing_granted") => return Self::NothingGranted,
            Some("configuration") => return Self::Configuration,
            Some("uncertain") => return Self::Uncertain,
            Some("temporary") => return Self::Temporary,
            _ => {}
        }
        match error.code() {
            "access_denied" => Self::DeclinedAtPortal,
            "transaction_expired" => Self::Expired,
            "state_used" => Self::Used,
            "state_mismatch" | "issuer_mismatch" | "state_missing" => Self::Tampered,
            _ => Self::Backend,
        }
    }

    /// What happened, in plain words.
    pub fn explain(self, w: &'static Words) -> &'static str {
        match self {
            Self::DeclinedAtPortal => w.declined_at_portal(),
            Self::Expired => w.expired(),
            Self::Tampered => w.tampered(),
            Self::Used => w.used(),
            Self::NothingGranted => w.nothing_granted(),
            Self::Configuration => w.configuration_problem(),
            Self::Temporary => w.temporarily_unavailable(),
            Self::Uncertain => w.outcome_uncertain(),
            Self::Backend => w.backend_problem(),
        }
    }

    /// The `code` of the `error` event, one per outcome a citizen is told
    /// apart; `None` keeps the code that reported it (the callback check's,
    /// or the backend's).
    pub fn code(self) -> Option<&'static str> {
        match self {
            Self::NothingGranted => Some("nothing_granted"),
            Self::Configuration => Some("configuration_error"),
            Self::Temporary => Some("temporarily_unavailable"),
            Self::Uncertain => Some("outcome_uncertain"),
            _ => None,
        }
    }

    /// Whether the citizen can be told that nothing was shared.
    fn nothing_shared(self) -> bool {
        !matches!(self, Self::Used | Self::Uncertain)
    }

    /// What the citizen should do, if there is something to add.
    fn next(self, w: &'static Words) -> Option<&'static str> {
        match self {
            Self::DeclinedAtPortal | Self::Expired | Self::Tampered => Some(w.start_again()),
            Self::NothingGranted | Self::Configuration => Some(w.contact_operator()),
            Self::Temporary | Self::Uncertain | Self::Used | Self::Backend => None,
        }
    }
}

/// Where the return screen stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnState {
    /// Checking the callback and completing at the backend.
    Checking,
    /// Done: the citizen agreed.
    Granted {
        /// The operator's name.
        operator: String,
        /// For a renewal: whether the consent it renewed was withdrawn.
        renewed: Option<bool>,
    },
    /// Not done.
    Failed(Failure),
}

/// The first retrieval's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retrieval {
    /// Not asked for.
    None,
    /// Waiting for Mynaportal.
    Waiting,
    /// Done.
    Done,
    /// Failed.
    Error,
    /// Mynaportal did not answer in time.
    Timeout,
}

/// The return screen.
#[component]
pub fn ReturnScreen(
    /// The language.
    locale: Locale,
    /// Where the authorization stands.
    state: RwSignal<ReturnState>,
    /// The first retrieval's progress.
    retrieval: RwSignal<Retrieval>,
) -> impl IntoView {
    let w = words(locale);
    let body = move || {
        match state.get() {
        ReturnState::Checking => view! {
            <p role="status" class="progress">{w.returning()}</p>
        }
        .into_any(),
        ReturnState::Granted { operator, renewed } => view! {
            <div role="status">
                <h2 id="myna-return-title">{w.granted_title()}</h2>
                <p class="text">{fill(w.granted_body(), &[&operator])}</p>
                {renewed.map(|withdrawn| view! {
                    <p>{if withdrawn { w.renewal_withdrew_old() } else { w.renewal_old_still_active() }}</p>
                })}
            </div>
        }
        .into_any(),
        ReturnState::Failed(failure) => view! {
            <div role="alert">
                <h2 id="myna-return-title">{w.not_completed_title()}</h2>
                <p>{failure.explain(w)}</p>
                {failure.nothing_shared().then(|| view! { <p>{w.nothing_shared()}</p> })}
                {failure.next(w).map(|next| view! { <p>{next}</p> })}
            </div>
        }
        .into_any(),
    }
    };
    let progress = move || {
        let (text, busy) = match retrieval.get() {
            Retrieval::None => return None,
            Retrieval::Waiting => (w.retrieval_waiting(), true),
            Retrieval::Done => (w.retrieval_done(), false),
            Retrieval::Error => (w.retrieval_error(), false),
            Retrieval::Timeout => (w.retrieval_timeout(), false),
        };
        Some(view! {
            <section aria-labelledby="myna-retrieval-title" class="retrieval">
                <h3 id="myna-retrieval-title">{w.retrieval_heading()}</h3>
                <p role="status" aria-busy=busy.to_string()>{text}</p>
            </section>
        })
    };
    view! {
        <article class="screen return" lang=locale.code()>
            {body}
            {progress}
        </article>
    }
}
