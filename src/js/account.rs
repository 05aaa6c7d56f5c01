//! The account screens' part of the JavaScript API (feature
//! `account-screens`): the return page, the review screen, revocation and
//! retrieval, and the catalogue for authoring tools (not in the consent
//! module, whose every byte a citizen's phone downloads before the
//! consent screen).

use std::rc::Rc;

use leptos::callback::UnsyncCallback;
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::{
    citizen_error, keep, now, parse_locale, resolve_target, to_js, Event, MountHandle, MynaConsent,
    Sdk,
};
use crate::backend::{Backend, BackendError, ConsentView, RetrievalStatus, RetrievalView};
use crate::catalogue;
use crate::flow;
use crate::i18n::words;
use crate::ui::mount_in_shadow;
use crate::ui::outcome::{Failure, Retrieval, ReturnScreen, ReturnState};
use crate::ui::review::ReviewScreen;

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

    /// On the redirect page: checks the callback in `url`, removes its
    /// parameters from the address bar, completes the authorization at the
    /// backend and resolves with the consent. A refused callback never
    /// reaches the backend. With `options.target` the outcome is shown
    /// there, and with `options.retrieve` the first retrieval's progress.
    #[wasm_bindgen(js_name = completeAuthorization, unchecked_return_type = "Promise<Consent>")]
    pub fn complete_authorization(
        &self,
        url: String,
        #[wasm_bindgen(unchecked_param_type = "CompleteOptions | undefined")] options: JsValue,
    ) -> js_sys::Promise {
        let option = |key: &str| {
            if options.is_object() {
                js_sys::Reflect::get(&options, &key.into()).unwrap_or(JsValue::UNDEFINED)
            } else {
                JsValue::UNDEFINED
            }
        };
        let target = option("target");
        // The same callback again (a framework's effect run twice, a second
        // call on the same page): the first completion's outcome, shown in
        // this target too, and no second call to the backend.
        let base = self.sdk.backend.base().to_owned();
        if let Some(completion) = completion_for(&base, &url) {
            return match show_return(&self.sdk, &target, completion.state, completion.retrieval) {
                Ok(()) => completion.promise,
                Err(e) => js_sys::Promise::reject(&e),
            };
        }
        let (state, retrieval) = (
            RwSignal::new(ReturnState::Checking),
            RwSignal::new(Retrieval::None),
        );
        if let Err(e) = show_return(&self.sdk, &target, state, retrieval) {
            return js_sys::Promise::reject(&e);
        }
        let retrieve = option("retrieve").is_truthy();
        let sdk = Rc::clone(&self.sdk);
        let mut urls = vec![url.clone()];
        let promise =
            future_to_promise(async move { complete(sdk, url, state, retrieval, retrieve).await });
        // The address bar loses the callback now, so that a second call
        // that reads `location.href` again still finds this completion.
        urls.extend(strip_callback_from_address_bar());
        COMPLETIONS.with(|all| {
            all.borrow_mut().push(Completion {
                base,
                urls,
                state,
                retrieval,
                promise: promise.clone(),
            })
        });
        promise
    }

    /// Shows the review screen (with revocation) in `target`.
    #[wasm_bindgen(js_name = mountReview)]
    pub fn mount_review(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | Element")] target: JsValue,
    ) -> Result<MountHandle, JsValue> {
        let host = resolve_target(&target)?;
        let locale = self.sdk.locale;
        let backend = self.sdk.backend.clone();
        let sdk = Rc::clone(&self.sdk);
        let on_revoked = UnsyncCallback::new(move |(id, receipt): (String, serde_json::Value)| {
            sdk.emit(
                Event::Revoked,
                &serde_json::json!({ "consentId": id, "receipt": receipt }),
            );
        });
        let sdk = Rc::clone(&self.sdk);
        let on_renew =
            UnsyncCallback::new(move |consent: ConsentView| sdk.emit(Event::Renew, &consent));
        let sdk = Rc::clone(&self.sdk);
        let on_error = UnsyncCallback::new(move |(e, citizen): (BackendError, Option<&str>)| {
            sdk.emit_backend_error(&e, citizen)
        });
        let mounted = mount_in_shadow(&host, move || {
            view! {
                <ReviewScreen locale=locale backend=backend on_revoked=on_revoked on_renew=on_renew on_error=on_error />
            }
        })?;
        Ok(keep(&self.sdk, mounted))
    }

    /// Revokes a consent at once and resolves with the receipt document.
    #[wasm_bindgen(unchecked_return_type = "Promise<ReceiptDocument>")]
    pub fn revoke(
        &self,
        #[wasm_bindgen(js_name = consentId)] consent_id: String,
    ) -> js_sys::Promise {
        let sdk = Rc::clone(&self.sdk);
        future_to_promise(async move {
            match sdk.backend.revoke(&consent_id).await {
                Ok(receipt) => {
                    sdk.emit(
                        Event::Revoked,
                        &serde_json::json!({ "consentId": consent_id, "receipt": receipt }),
                    );
                    // Withdrawn either way; a receipt whose sha256 is not
                    // its own is said, as the screens say it.
                    let reporting = Rc::clone(&sdk);
                    let on_error =
                        UnsyncCallback::new(move |(e, citizen): (BackendError, Option<&str>)| {
                            reporting.emit_backend_error(&e, citizen)
                        });
                    crate::ui::receipt::receipt_checks(&receipt, sdk.locale, on_error).await;
                    to_js(&receipt)
                }
                Err(e) => {
                    let citizen = words(sdk.locale).revoke_failed();
                    sdk.emit_backend_error(&e, Some(citizen));
                    Err(citizen_error(e.code(), &e.to_string(), citizen))
                }
            }
        })
    }

    /// Retrieves a consent's data now: the backend refreshes its token and
    /// asks Mynaportal; resolves when Mynaportal answered, with the status
    /// (`done`, `error` or `timeout`) and the number of records per item.
    /// The records themselves stay in the backend.
    #[wasm_bindgen(unchecked_return_type = "Promise<RetrievalResult>")]
    pub fn retrieve(
        &self,
        #[wasm_bindgen(js_name = consentId)] consent_id: String,
    ) -> js_sys::Promise {
        let sdk = Rc::clone(&self.sdk);
        future_to_promise(async move {
            match retrieve_until_settled(&sdk.backend, &consent_id).await {
                Ok(view) => to_js(&view),
                Err(e) => {
                    let citizen = words(sdk.locale).retrieval_error();
                    sdk.emit_backend_error(&e, Some(citizen));
                    Err(citizen_error(e.code(), &e.to_string(), citizen))
                }
            }
        })
    }
}

/// One callback's completion: the outcome every call with the same
/// callback shares.
#[derive(Clone)]
struct Completion {
    /// The backend it was completed at.
    base: String,
    /// The callback's address, and the address bar's once stripped of it.
    urls: Vec<String>,
    state: RwSignal<ReturnState>,
    retrieval: RwSignal<Retrieval>,
    /// Resolves with the consent, or rejects with the failure, once.
    promise: js_sys::Promise,
}

thread_local! {
    /// Every callback this page completed or is completing.
    static COMPLETIONS: std::cell::RefCell<Vec<Completion>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn completion_for(base: &str, url: &str) -> Option<Completion> {
    COMPLETIONS.with(|all| {
        all.borrow()
            .iter()
            .find(|completion| {
                completion.base == base && completion.urls.iter().any(|known| known == url)
            })
            .cloned()
    })
}

/// Shows a completion's outcome in `target`, if one was given (replacing
/// what the SDK showed there before).
fn show_return(
    sdk: &Rc<Sdk>,
    target: &JsValue,
    state: RwSignal<ReturnState>,
    retrieval: RwSignal<Retrieval>,
) -> Result<(), JsValue> {
    if target.is_undefined() || target.is_null() {
        return Ok(());
    }
    let host = resolve_target(target)?;
    let locale = sdk.locale;
    let mounted = mount_in_shadow(
        &host,
        move || view! { <ReturnScreen locale=locale state=state retrieval=retrieval /> },
    )?;
    let handle = keep(sdk, mounted);
    sdk.screens.borrow_mut().push(handle.id);
    Ok(())
}

async fn complete(
    sdk: Rc<Sdk>,
    url: String,
    state: RwSignal<ReturnState>,
    retrieval: RwSignal<Retrieval>,
    retrieve: bool,
) -> Result<JsValue, JsValue> {
    let locale = sdk.locale;
    let w = words(locale);

    // The citizen reads the failure's words on the return screen; the
    // developer gets what went wrong, in English.
    let fail_because = |failure: Failure, code: &str, message: &str, cause: Option<&str>| {
        state.try_set(ReturnState::Failed(failure));
        let citizen = failure.explain(w);
        if failure == Failure::DeclinedAtPortal {
            sdk.emit(Event::Denied, &serde_json::json!({ "stage": "mynaportal" }));
        } else {
            sdk.emit_failure(code, message, Some(citizen), cause);
        }
        citizen_error(code, message, citizen)
    };
    let refused = |e: &flow::CallbackError| {
        fail_because(Failure::from_callback(e), e.code(), &e.to_string(), None)
    };

    let pending = sdk.load_pending();
    let callback = match flow::parse_callback(&url) {
        Ok(callback) => callback,
        Err(e) => return Err(refused(&e)),
    };
    // No transaction in this tab: the citizen came back in another tab, or
    // the Mynaportal app opened a new one. The backend's transaction for
    // this session decides (it refuses a state it did not give this
    // citizen, a used or expired one, a wrong issuer), so a genuine return
    // completes in any tab of the same browser and site.
    let answer = if pending.is_none() {
        let handover = match flow::hand_over(&callback) {
            Ok(handover) => handover,
            Err(e) => return Err(refused(&e)),
        };
        sdk.backend.complete_handed_over(&handover).await
    } else {
        let checked = flow::check_callback(&callback, pending.as_ref(), now());
        // Whatever the outcome, a callback for this transaction is now
        // spent: a reload or a replay of the same address is refused.
        if let Some(mut pending) =
            pending.filter(|p| callback.state.as_deref() == Some(p.state.as_str()) && !p.used)
        {
            pending.used = true;
            if sdk.save_pending(&pending).is_err() {
                return Err(fail_because(
                    Failure::Backend,
                    "storage_unavailable",
                    "sessionStorage is unavailable.",
                    None,
                ));
            }
        }
        let completion = match checked {
            Ok(completion) => completion,
            Err(e) => return Err(refused(&e)),
        };
        sdk.backend.complete(&completion).await
    };
    let consent = match answer {
        Ok(consent) => consent,
        Err(e) => {
            let failure = Failure::from_backend(&e);
            let code = failure.code().unwrap_or(e.code());
            // A dropped completion is an uncertain outcome, and said so.
            let cause = if failure == Failure::Uncertain {
                Some("uncertain")
            } else {
                e.cause()
            };
            return Err(fail_because(failure, code, &e.to_string(), cause));
        }
    };
    state.try_set(ReturnState::Granted {
        operator: consent.consent.operator.name.clone(),
        renewed: consent.renewed.as_ref().map(|r| r.withdrawn),
    });
    sdk.emit(Event::Granted, &consent);
    if retrieve {
        retrieval.try_set(Retrieval::Waiting);
        let sdk = Rc::clone(&sdk);
        let id = consent.consent.id.clone();
        leptos::task::spawn_local(async move {
            let settled = retrieve_until_settled(&sdk.backend, &id).await;
            let outcome = match &settled {
                Ok(view) if view.status == RetrievalStatus::Done => Retrieval::Done,
                Ok(view) if view.status == RetrievalStatus::Timeout => Retrieval::Timeout,
                _ => Retrieval::Error,
            };
            let citizen = Some(words(sdk.locale).retrieval_error());
            match settled {
                // A call that failed is said as itself: a backend's problem
                // or an answer outside the contract, not Mynaportal's.
                Err(e) => sdk.emit_backend_error(&e, citizen),
                Ok(_) if outcome != Retrieval::Done => sdk.emit_failure(
                    "retrieval_failed",
                    "The first retrieval after the grant ended in an error or timed out.",
                    citizen,
                    None,
                ),
                Ok(_) => {}
            }
            retrieval.try_set(outcome);
        });
    }
    to_js(&consent)
}

/// Starts a retrieval and polls it once a second, for at most a minute.
async fn retrieve_until_settled(
    backend: &Backend,
    consent_id: &str,
) -> Result<RetrievalView, BackendError> {
    let started = backend.start_retrieval(consent_id).await?;
    let mut view = started.clone();
    // The answer to the start, then to at most 60 polls a second apart;
    // the last poll's answer is read below.
    for _ in 0..60 {
        if view.status != RetrievalStatus::Waiting {
            break;
        }
        sleep_ms(1000).await;
        view = match backend.retrieval(consent_id, &started.id).await {
            Ok(view) => view,
            // A dropped poll is retried at the next tick.
            Err(BackendError::Network) => continue,
            Err(error) => return Err(error),
        };
    }
    if view.status == RetrievalStatus::Waiting {
        view.status = RetrievalStatus::Timeout;
    }
    Ok(view)
}

async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Removes code, state and the other callback parameters from the address
/// bar, so they are neither bookmarked, shared nor replayed by a reload.
/// Answers the address bar's new address, when it held a callback.
fn strip_callback_from_address_bar() -> Option<String> {
    const CALLBACK: [&str; 6] = [
        "code",
        "state",
        "iss",
        "error",
        "error_description",
        "error_uri",
    ];
    let window = web_sys::window()?;
    let href = window.location().href().ok()?;
    let url = web_sys::Url::new(&href).ok()?;
    let params = url.search_params();
    if !CALLBACK.iter().any(|key| params.has(key)) {
        return None;
    }
    for key in CALLBACK {
        params.delete(key);
    }
    let stripped = url.href();
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&stripped));
    }
    Some(stripped)
}
