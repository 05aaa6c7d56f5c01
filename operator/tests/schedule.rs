//! 期間連携 without a browser: the backend retrieves each active linkage on
//! the operator's schedule, tries a failure again after a backoff and says
//! so on the consent, and retrieves nothing after a withdrawal or the end
//! date. The sandbox clock moves time; the upkeep does the work.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn hourly() -> Options {
    Options {
        entry: json!({ "retrievalSchedule": { "everyHours": 1 } }),
        ..Options::default()
    }
}

async fn detail(env: &Env, id: &str) -> Value {
    env.get(&format!("/consents/{id}"))
        .await
        .json()
        .await
        .expect("json")
}

fn instant(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().expect("an instant"), &Rfc3339).expect("rfc 3339")
}

/// Waits (real time) until `done` holds for the consent's detail.
async fn until(env: &Env, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let value = detail(env, id).await;
        if done(&value) {
            return value;
        }
        assert!(Instant::now() < deadline, "never {what}: {value}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn retrievals(value: &Value) -> usize {
    value["retrievals"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linkage_retrieves_on_its_schedule_without_a_browser() {
    let env = Env::start_with(hourly()).await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id").to_owned();
    let first = instant(&consent["nextRetrievalAt"]);
    let expected = env.clock.now() + time::Duration::hours(1);
    assert!(
        (first - expected).abs() < time::Duration::minutes(1),
        "{first} vs {expected}"
    );
    // Not due yet: nothing happens on its own.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(retrievals(&detail(&env, &id).await), 0);

    env.clock.advance(time::Duration::minutes(61));
    let value = until(&env, &id, "retrieved on schedule", |v| {
        v["retrievals"][0]["status"] == "done"
    })
    .await;
    assert_eq!(retrievals(&value), 1, "once, not once per tick");
    assert!(value["lastRetrievalAt"].is_string());
    let next = instant(&value["nextRetrievalAt"]);
    assert!(
        next > env.clock.now() + time::Duration::minutes(55),
        "the next is an hour on: {next}"
    );
    assert_eq!(value["retrievalFailures"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_automatic_retrieval_is_tried_again_after_a_backoff_and_shown() {
    let env = Env::start_with(hourly()).await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id").to_owned();
    env.proxy.down.store(true, Ordering::SeqCst);
    env.clock.advance(time::Duration::minutes(61));
    let value = until(&env, &id, "shown as failed", |v| {
        v["retrievalFailures"] == 1
    })
    .await;
    let next = instant(&value["nextRetrievalAt"]);
    let backoff = next - env.clock.now();
    assert!(
        backoff > time::Duration::minutes(4) && backoff <= time::Duration::minutes(5),
        "tried again in about 5 minutes, not at once: {backoff}"
    );
    assert_eq!(value["status"], "active", "a passing failure ends nothing");

    env.proxy.down.store(false, Ordering::SeqCst);
    env.clock.advance(time::Duration::minutes(6));
    let value = until(&env, &id, "retried", |v| {
        v["retrievals"][0]["status"] == "done"
    })
    .await;
    assert_eq!(value["retrievalFailures"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_retrieved_after_a_withdrawal_or_after_the_end() {
    let env = Env::start_with(hourly()).await;
    let withdrawn = env.grant(linkage_body()).await;
    let withdrawn = withdrawn["id"].as_str().expect("id").to_owned();
    let kept = env.grant(linkage_body()).await;
    let kept = kept["id"].as_str().expect("id").to_owned();
    let one_time = env.grant(body("income-once")).await;
    assert_eq!(
        one_time["nextRetrievalAt"],
        Value::Null,
        "a one-time consent has no schedule"
    );
    let revoked = env
        .post(&format!("/consents/{withdrawn}/revocation"), json!({}))
        .await;
    assert_eq!(revoked.status(), 200);

    env.clock.advance(time::Duration::minutes(61));
    until(&env, &kept, "retrieved", |v| {
        v["retrievals"][0]["status"] == "done"
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let value = detail(&env, &withdrawn).await;
    assert_eq!(retrievals(&value), 0, "withdrawn: never retrieved");
    assert_eq!(value["nextRetrievalAt"], Value::Null);

    // Past the 90 days: the linkage has ended, and stays silent.
    let before = retrievals(&detail(&env, &kept).await);
    env.clock.advance(time::Duration::days(91));
    let value = until(&env, &kept, "seen as ended", |v| v["status"] == "expired").await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let value_after = detail(&env, &kept).await;
    assert_eq!(
        retrievals(&value_after),
        before,
        "nothing after the end: {value}"
    );
    assert_eq!(value_after["nextRetrievalAt"], Value::Null);
}
