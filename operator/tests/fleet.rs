//! Two backend instances on one database, in one test process: citizens'
//! calls land on either, and the single-use refresh token is still
//! presented once per rotation, because refreshes are serialised through
//! the database, not a mutex. (The same with two processes and a crash is
//! in `service.rs`.)

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use common::*;
use myna_operator::{ConsentStore, Operator, SqliteStore};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// A second instance of the env's backend: same configuration, database
/// file and key, its own process-local state, on another port.
async fn second_instance(env: &Env) -> (String, Operator) {
    let store: Arc<dyn ConsentStore> =
        Arc::new(SqliteStore::open(&db_path(&env.dir)).expect("store"));
    let operator = Operator::new(
        env.operator_config(),
        store,
        env.key.clone(),
        env.clock.clock(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let _upkeep = operator.spawn_upkeep();
    let app = Router::new().nest(BASE_PATH, myna_operator::router(operator.clone()));
    tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, service).await;
    });
    (format!("http://{addr}{BASE_PATH}"), operator)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retrievals_through_two_instances_present_each_refresh_token_once() {
    // No reuse grace at the authority: a refresh token presented twice ends
    // the grant at once, so any overlap would show.
    let env = Env::start_with(Options {
        authority: json!({ "refreshTokenReuseGraceSeconds": 0 }),
        ..Options::default()
    })
    .await;
    let consent = env.grant(linkage_body()).await;
    let id = consent["id"].as_str().expect("id").to_owned();
    let (other, _second) = second_instance(&env).await;

    let start = |base: String| {
        let (browser, origin, id) = (env.browser.clone(), env.origin.clone(), id.clone());
        async move {
            browser
                .post(format!("{base}/consents/{id}/retrievals"))
                .header("origin", origin)
                .header("x-myna-request", "1")
                .json(&json!({}))
                .send()
                .await
                .expect("POST")
                .status()
                .as_u16()
        }
    };
    let calls: Vec<_> = (0..6)
        .map(|i| {
            let base = if i % 2 == 0 {
                env.backend.clone()
            } else {
                other.clone()
            };
            tokio::spawn(start(base))
        })
        .collect();
    let mut statuses = Vec::new();
    for call in calls {
        statuses.push(call.await.expect("task"));
    }
    assert_eq!(statuses, [202; 6], "every retrieval started");

    let list: Value = env.get("/consents").await.json().await.expect("json");
    assert_eq!(
        list["consents"][0]["status"], "active",
        "no grant suspended"
    );
    let rotated = env.proxy.refresh_tokens();
    assert_eq!(rotated.len(), 7, "the code exchange and six refreshes");
    let distinct: std::collections::HashSet<_> = rotated.iter().collect();
    assert_eq!(distinct.len(), 7, "every rotation stored exactly once");
    // And the chain still works.
    assert_eq!(env.retrieve(&id).await["status"], "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_database_share_the_authority_tps() {
    let env = Env::start().await;
    let first = env.operator.clone().expect("the env's backend");
    let total = 1000.0; // Options::default()'s authorityTps
    let (_, second) = second_instance(&env).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while (first.authority_share() - total / 2.0).abs() > 1e-9
        || (second.authority_share() - total / 2.0).abs() > 1e-9
    {
        assert!(
            std::time::Instant::now() < deadline,
            "never halved: {} and {}",
            first.authority_share(),
            second.authority_share()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
