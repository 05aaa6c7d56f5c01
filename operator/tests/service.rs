//! The `myna-operator` binary as an operator runs it: its own configuration
//! file with `--check-config`, the token key from a file or the
//! environment (never beside the data), any listen address, `/healthz` and
//! `/readyz`, a whole grant against the stand-in authority, JSON logs with
//! audit events, a graceful stop on SIGTERM, and a token key rotation with
//! `reseal` while the binary runs.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const BINARY: &str = env!("CARGO_BIN_EXE_myna-operator");
/// A token key for these tests only (base64 of 32 bytes).
const TEST_KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
/// The key a rotation moves to.
const TEST_KEY_B: &str = "ESIzRFVmd4iZqrvM3e7/ABEiM0RVZneImaq7zN3u/wA=";

fn operator_entry(issuer: &str, origin: &str) -> Value {
    json!({
        "basePath": BASE_PATH,
        "issuer": issuer,
        "clientId": CLIENT_ID,
        "clientSecretEnv": "MYNA_TEST_CLIENT_SECRET",
        "redirectUri": format!("{origin}/site/callback.html"),
        "origin": origin,
        "operator": {
            "name": "テスト事業者株式会社",
            "contact": "03-0000-0000",
            "privacyPolicyUrl": "https://operator.example/privacy",
            "approvalId": "MPA-TEST-0001"
        },
        "recipients": { "partner": {
            "name": "提携アプリ株式会社", "contact": "03-0000-2222",
            "privacyPolicyUrl": "https://partner.example/privacy"
        } },
        "requests": requests(),
    })
}

fn write_config(dir: &Path, listen: &str, entry: Value, key: Value) -> std::path::PathBuf {
    write_config_with_keys(dir, listen, entry, json!({ "tokenKey": key }))
}

/// A configuration whose key fields (`tokenKey`, or `tokenKeys` and
/// `activeKey`) are the members of `keys`.
fn write_config_with_keys(
    dir: &Path,
    listen: &str,
    entry: Value,
    keys: Value,
) -> std::path::PathBuf {
    let mut config = json!({
        "listen": listen,
        "storage": { "kind": "sqlite", "path": dir.join("data").join("operator.sqlite") },
        "log": "json",
        "operators": [entry],
    });
    for (field, value) in keys.as_object().expect("key fields") {
        config[field] = value.clone();
    }
    std::fs::create_dir_all(dir.join("data")).expect("data dir");
    let path = dir.join("config.json");
    std::fs::write(&path, config.to_string()).expect("config");
    path
}

fn key_file(dir: &Path) -> std::path::PathBuf {
    key_file_named(dir, "token-key", TEST_KEY)
}

fn key_file_named(dir: &Path, name: &str, key: &str) -> std::path::PathBuf {
    let keys = dir.join("secrets");
    std::fs::create_dir_all(&keys).expect("secrets dir");
    let path = keys.join(name);
    std::fs::write(&path, key).expect("key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("0600");
    }
    path
}

fn check(config: &Path) -> (bool, String) {
    let output = Command::new(BINARY)
        .args([
            "--config",
            config.to_str().expect("utf-8"),
            "--check-config",
        ])
        .env("MYNA_TEST_CLIENT_SECRET", CLIENT_SECRET)
        .output()
        .expect("run myna-operator");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn check_config_says_whether_the_file_can_start_and_names_what_is_wrong() {
    let dir = tempfile::tempdir().expect("dir");
    let entry = operator_entry("https://auth.example", "https://www.example.jp");
    let key = json!({ "file": key_file(dir.path()) });
    let good = write_config(dir.path(), "0.0.0.0:8443", entry.clone(), key.clone());
    let (ok, text) = check(&good);
    assert!(ok, "{text}");
    assert!(
        text.contains("/site/myna → https://auth.example as test-client"),
        "{text}"
    );

    // A key beside the database: a copy of data/ alone would open the tokens.
    let beside = dir.path().join("data").join("token-key");
    std::fs::copy(dir.path().join("secrets/token-key"), &beside).expect("copy");
    let path = write_config(
        dir.path(),
        "0.0.0.0:8443",
        entry.clone(),
        json!({ "file": beside }),
    );
    let (ok, text) = check(&path);
    assert!(!ok);
    assert!(text.contains("tokenKey.file"), "{text}");
    // Nor anywhere below it.
    let nested = dir.path().join("data").join("keys");
    std::fs::create_dir_all(&nested).expect("dir");
    std::fs::copy(&beside, nested.join("token-key")).expect("copy");
    let path = write_config(
        dir.path(),
        "0.0.0.0:8443",
        entry.clone(),
        json!({ "file": nested.join("token-key") }),
    );
    let (ok, text) = check(&path);
    assert!(!ok, "a key below the data directory is refused too");
    assert!(text.contains("tokenKey.file"), "{text}");

    // A broken request is named by its path, with the domain's code.
    let mut broken = entry.clone();
    broken["requests"]["drugs-90d"]["period"] = json!({ "kind": "linkage", "days": 0 });
    let path = write_config(dir.path(), "0.0.0.0:8443", broken, key.clone());
    let (ok, text) = check(&path);
    assert!(!ok);
    assert!(text.contains("requests.drugs-90d.period"), "{text}");

    // Preview items and inline keys are the sandbox's, not production's.
    let mut inline = entry.clone();
    inline["dpop"] = json!({ "privateKeyPem": std::fs::read_to_string(
        format!("{}/tests/keys/dpop-p256.pem", env!("CARGO_MANIFEST_DIR"))).expect("pem") });
    let path = write_config(dir.path(), "0.0.0.0:8443", inline, key.clone());
    let (ok, text) = check(&path);
    assert!(!ok);
    assert!(text.contains("dpop.privateKeyPem"), "{text}");

    // An unknown top-level field, and a key that is not set.
    let path = dir.path().join("typo.json");
    std::fs::write(&path, json!({ "listn": "x" }).to_string()).expect("write");
    assert!(!check(&path).0);
    let path = write_config(
        dir.path(),
        "0.0.0.0:8443",
        entry,
        json!({ "env": "MYNA_TEST_UNSET_KEY" }),
    );
    let (ok, text) = check(&path);
    assert!(!ok);
    assert!(text.contains("MYNA_TEST_UNSET_KEY"), "{text}");
}

/// A running binary whose stderr is collected line by line.
struct Running {
    child: Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Running {
    fn start(config: &Path) -> Self {
        let mut child = Command::new(BINARY)
            .args(["--config", config.to_str().expect("utf-8")])
            .env("MYNA_TEST_CLIENT_SECRET", CLIENT_SECRET)
            .env("MYNA_TEST_TOKEN_KEY", TEST_KEY)
            .env("MYNA_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start myna-operator");
        let stderr = child.stderr.take().expect("stderr");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lock(&sink).push(line);
            }
        });
        Self { child, lines }
    }

    fn lines(&self) -> Vec<String> {
        lock(&self.lines).clone()
    }

    /// Kills the process and waits until it is gone, its port free again.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_health_a_whole_grant_audit_lines_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let authority = myna_authority::test_support::start(
        &authority_config(
            "http://placeholder",
            &format!("{origin}/site/callback.html"),
            50,
        ),
        &dir.path().join("authority.sqlite"),
        myna_authority::system_clock(),
    )
    .await;
    let config = write_config(
        dir.path(),
        &format!("127.0.0.1:{port}"),
        operator_entry(&authority.issuer, &origin),
        json!({ "env": "MYNA_TEST_TOKEN_KEY" }),
    );
    let mut running = Running::start(&config);
    let http = browser_client(None);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = http.get(format!("{origin}/healthz")).send().await {
            assert_eq!(response.status(), 200);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the binary never answered /healthz"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ready = http
        .get(format!("{origin}/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);

    // A whole grant through the binary.
    let post = |path: &str, body: Value| {
        http.post(format!("{origin}{BASE_PATH}{path}"))
            .header("origin", &origin)
            .header("x-myna-request", "1")
            .json(&body)
            .send()
    };
    let started: Value = post("/authorizations", body("drugs-90d"))
        .await
        .expect("start")
        .json()
        .await
        .expect("json");
    let url = started["authorizationUrl"].as_str().expect("url");
    let callback = approve_at_authority(url).await;
    let completed = post("/authorizations/complete", callback)
        .await
        .expect("complete");
    assert_eq!(completed.status(), 201);
    let consent: Value = completed.json().await.expect("json");
    let consent_id = consent["id"].as_str().expect("id").to_owned();

    // JSON logs, with an audit line for the grant and no secret in any line.
    let deadline = Instant::now() + Duration::from_secs(5);
    let audit = loop {
        let lines = running.lines();
        let found = lines
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| line["target"] == "myna_operator::audit" && line["event"] == "grant");
        if let Some(found) = found {
            break found;
        }
        assert!(Instant::now() < deadline, "no audit line: {lines:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(audit["consent_id"], consent_id.as_str());
    assert_eq!(audit["client_id"], CLIENT_ID);
    assert_eq!(audit["items"], "insurance.drugs");
    for line in running.lines() {
        assert!(
            serde_json::from_str::<Value>(&line).is_ok(),
            "not JSON: {line}"
        );
        for secret in [CLIENT_SECRET, TEST_KEY, "refresh_token\":\"", "code="] {
            assert!(!line.contains(secret), "a secret in the log: {line}");
        }
    }

    // SIGTERM: the binary stops by itself, successfully.
    let pid = running.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(25);
    let status = loop {
        if let Some(status) = running.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the binary did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(
        running
            .lines()
            .iter()
            .any(|line| line.contains("myna-operator stopped")),
        "it says it stopped"
    );
}

#[test]
fn check_config_accepts_a_key_ring_and_names_what_is_wrong_with_it() {
    let dir = tempfile::tempdir().expect("dir");
    let entry = operator_entry("https://auth.example", "https://www.example.jp");
    let a = key_file(dir.path());
    let b = key_file_named(dir.path(), "token-key-b", TEST_KEY_B);
    let ring = |keys: Value, active: Value| {
        let path = write_config_with_keys(
            dir.path(),
            "0.0.0.0:8443",
            entry.clone(),
            json!({ "tokenKeys": keys, "activeKey": active }),
        );
        check(&path)
    };
    let (ok, text) = ring(
        json!([{ "id": "2026-05", "file": a }, { "id": "2026-11", "file": b }]),
        json!("2026-11"),
    );
    assert!(ok, "{text}");
    assert!(
        text.contains("token keys: 2026-05, 2026-11 (active: 2026-11)"),
        "{text}"
    );
    for secret in [TEST_KEY, TEST_KEY_B] {
        assert!(!text.contains(secret), "key material printed: {text}");
    }

    let refused = [
        // Two keys with one id: which one opens a value would be a guess.
        (
            ring(
                json!([{ "id": "k", "file": a }, { "id": "k", "file": b }]),
                json!("k"),
            ),
            "tokenKeys.id",
        ),
        (
            ring(json!([{ "id": "a b", "file": a }]), json!("a b")),
            "tokenKeys.id",
        ),
        // The active key must be one of them, and must be named.
        (
            ring(json!([{ "id": "k", "file": a }]), json!("other")),
            "activeKey",
        ),
        (
            ring(json!([{ "id": "k", "file": a }]), Value::Null),
            "activeKey",
        ),
        (ring(json!([]), json!("k")), "tokenKeys"),
        (
            ring(json!([{ "id": "k", "file": a, "env": "X" }]), json!("k")),
            "tokenKeys",
        ),
        // A key file that cannot be read is found before the start.
        (
            ring(
                json!([{ "id": "k", "file": dir.path().join("secrets/missing") }]),
                json!("k"),
            ),
            "secrets/missing",
        ),
    ];
    for ((ok, text), expected) in refused {
        assert!(!ok, "accepted: {text}");
        assert!(text.contains(expected), "{expected}: {text}");
    }

    // A ring key beside the database, like a single one.
    let beside = dir.path().join("data").join("token-key-b");
    std::fs::copy(&b, &beside).expect("copy");
    let (ok, text) = ring(
        json!([{ "id": "2026-05", "file": a }, { "id": "2026-11", "file": beside }]),
        json!("2026-11"),
    );
    assert!(!ok);
    assert!(text.contains("tokenKeys.file"), "{text}");
    assert!(text.contains("2026-11"), "{text}");

    // Exactly one of tokenKey and tokenKeys; activeKey only with tokenKeys.
    let both = write_config_with_keys(
        dir.path(),
        "0.0.0.0:8443",
        entry.clone(),
        json!({ "tokenKey": { "file": a }, "tokenKeys": [{ "id": "k", "file": b }], "activeKey": "k" }),
    );
    let (ok, text) = check(&both);
    assert!(!ok);
    assert!(text.contains("tokenKey"), "{text}");
    let single_with_active = write_config_with_keys(
        dir.path(),
        "0.0.0.0:8443",
        entry,
        json!({ "tokenKey": { "file": a }, "activeKey": "default" }),
    );
    let (ok, text) = check(&single_with_active);
    assert!(!ok);
    assert!(text.contains("activeKey"), "{text}");
}

/// The browser's side of the backend's contract, through the binary.
struct Site {
    origin: String,
    http: reqwest::Client,
}

impl Site {
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(format!("{}{BASE_PATH}{path}", self.origin))
            .header("origin", &self.origin)
            .header("x-myna-request", "1")
            .json(&body)
            .send()
            .await
            .expect("POST")
    }

    async fn wait_until_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self
            .http
            .get(format!("{}/healthz", self.origin))
            .send()
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "the binary never answered /healthz"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A linkage granted at the stand-in authority: its consent id.
    async fn grant(&self) -> String {
        let response = self.post("/authorizations", body("drugs-90d")).await;
        let status = response.status();
        let started: Value = response.json().await.expect("json");
        assert_eq!(status, 201, "POST /authorizations: {started}");
        let url = started["authorizationUrl"].as_str().expect("url");
        let callback = approve_at_authority(url).await;
        let completed = self.post("/authorizations/complete", callback).await;
        assert_eq!(completed.status(), 201);
        let consent: Value = completed.json().await.expect("json");
        consent["id"].as_str().expect("id").to_owned()
    }

    /// A retrieval of the consent, polled until it ends: its status.
    async fn retrieve(&self, consent_id: &str) -> String {
        let response = self
            .post(&format!("/consents/{consent_id}/retrievals"), json!({}))
            .await;
        let status = response.status();
        let started: Value = response.json().await.expect("json");
        assert_eq!(status, 202, "POST retrievals: {started}");
        let id = started["id"].as_str().expect("id");
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let state: Value = self
                .http
                .get(format!(
                    "{}{BASE_PATH}/consents/{consent_id}/retrievals/{id}",
                    self.origin
                ))
                .send()
                .await
                .expect("GET")
                .json()
                .await
                .expect("json");
            if state["status"] != "waiting" {
                return state["status"].as_str().unwrap_or_default().to_owned();
            }
        }
        panic!("the retrieval never ended");
    }
}

/// The key id of every sealed value in the database: any non-empty blob
/// of any `operator_` table, read as `MK1\0 || id length || id || …`
/// (`None` for a value that names no key).
fn sealed_key_ids(database: &Path) -> Vec<Option<String>> {
    let db = rusqlite::Connection::open(database).expect("open the database");
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'operator_%'")
        .expect("tables")
        .query_map([], |row| row.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("tables");
    let mut ids = Vec::new();
    for table in tables {
        let columns: Vec<String> = db
            .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .expect("columns")
            .query_map([], |row| row.get(0))
            .expect("columns")
            .collect::<Result<_, _>>()
            .expect("columns");
        for column in columns {
            let mut statement = db
                .prepare(&format!(
                    "SELECT \"{column}\" FROM \"{table}\" \
                     WHERE typeof(\"{column}\") = 'blob' AND length(\"{column}\") > 0"
                ))
                .expect("blobs");
            let blobs = statement
                .query_map([], |row| row.get::<_, Vec<u8>>(0))
                .expect("blobs");
            for blob in blobs {
                let blob = blob.expect("blob");
                let id = blob.strip_prefix(b"MK1\0").and_then(|rest| {
                    let len = usize::from(*rest.first()?);
                    String::from_utf8(rest.get(1..1 + len)?.to_vec()).ok()
                });
                ids.push(id);
            }
        }
    }
    ids
}

/// Runs `myna-operator reseal`: whether it succeeded, its stdout, and its
/// stderr lines (the logs).
fn run_reseal(config: &Path) -> (bool, String, Vec<String>) {
    let output = Command::new(BINARY)
        .args(["reseal", "--config", config.to_str().expect("utf-8")])
        .env("MYNA_TEST_CLIENT_SECRET", CLIENT_SECRET)
        .env("MYNA_LOG", "info")
        .output()
        .expect("run myna-operator reseal");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

/// A whole key rotation as an operator runs it: consents granted under the
/// single `tokenKey`; a restart with that key (id `default`) and a new one
/// active; `reseal` while that instance runs; a restart with the new key
/// only. Every consent keeps working, and no value stays under the old key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotation_with_reseal_keeps_every_consent_working_and_drops_the_old_key() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{port}");
    let authority = myna_authority::test_support::start(
        &authority_config(
            "http://placeholder",
            &format!("{origin}/site/callback.html"),
            50,
        ),
        &dir.path().join("authority.sqlite"),
        myna_authority::system_clock(),
    )
    .await;
    let mut entry = operator_entry(&authority.issuer, &origin);
    // Two grants and a retrieval in a few seconds.
    entry["limits"] = json!({ "authorityTps": 50 });
    let database = dir.path().join("data").join("operator.sqlite");
    let key_a = key_file(dir.path());
    let key_b = key_file_named(dir.path(), "token-key-b", TEST_KEY_B);
    let site = Site {
        origin,
        http: browser_client(None),
    };

    // 1. One key, as deployments had it before key ids.
    let single = write_config(dir.path(), &listen, entry.clone(), json!({ "file": key_a }));
    let running = Running::start(&single);
    site.wait_until_healthy().await;
    let first = site.grant().await;
    let second = site.grant().await;
    assert_eq!(site.retrieve(&first).await, "done");
    running.kill();

    // 2. The old key stays in the ring; the new one seals.
    let ring = write_config_with_keys(
        dir.path(),
        &listen,
        entry.clone(),
        json!({
            "tokenKeys": [{ "id": "default", "file": key_a }, { "id": "2026-11", "file": key_b }],
            "activeKey": "2026-11",
        }),
    );
    let (ok, text) = check(&ring);
    assert!(ok, "{text}");
    let running = Running::start(&ring);
    site.wait_until_healthy().await;
    assert_eq!(
        site.retrieve(&first).await,
        "done",
        "a token sealed under the old key opens"
    );
    let before = sealed_key_ids(&database);
    assert!(
        before.contains(&Some("default".into())) && before.contains(&Some("2026-11".into())),
        "values under both keys before the re-seal: {before:?}"
    );

    // Re-sealed while the instance runs.
    let (ok, stdout, logs) = run_reseal(&ring);
    assert!(ok, "{stdout}\n{logs:?}");
    assert!(
        stdout.contains("re-sealed under the key 2026-11:"),
        "{stdout}"
    );
    // The second consent's refresh token and the first retrieval's records
    // were still under `default`.
    assert!(stdout.contains("  refresh_tokens: 1\n"), "{stdout}");
    assert!(stdout.contains("  retrieval_records: 1\n"), "{stdout}");
    assert!(stdout.contains("left under another key: 0"), "{stdout}");
    let audit = logs
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["target"] == "myna_operator::audit" && line["event"] == "key_rotation")
        .unwrap_or_else(|| panic!("no key_rotation audit line: {logs:?}"));
    assert_eq!(audit["active_key"], "2026-11");
    assert_eq!(audit["left_behind"], 0);
    assert!(
        audit["resealed"]
            .as_str()
            .is_some_and(|counts| counts.contains("refresh_tokens=1")),
        "{audit}"
    );
    for text in logs.iter().chain([&stdout]) {
        for secret in [TEST_KEY, TEST_KEY_B, CLIENT_SECRET] {
            assert!(!text.contains(secret), "a secret in the output: {text}");
        }
    }
    let after = sealed_key_ids(&database);
    assert!(!after.is_empty());
    assert!(
        after.iter().all(|id| id.as_deref() == Some("2026-11")),
        "every value under the new key: {after:?}"
    );
    running.kill();

    // 3. The old key is gone: every consent still works.
    let only_b = write_config_with_keys(
        dir.path(),
        &listen,
        entry,
        json!({ "tokenKeys": [{ "id": "2026-11", "file": key_b }], "activeKey": "2026-11" }),
    );
    let (ok, text) = check(&only_b);
    assert!(ok, "{text}");
    let running = Running::start(&only_b);
    site.wait_until_healthy().await;
    assert_eq!(site.retrieve(&first).await, "done");
    assert_eq!(site.retrieve(&second).await, "done");
    assert!(sealed_key_ids(&database)
        .iter()
        .all(|id| id.as_deref() == Some("2026-11")));
    running.kill();
}

/// A database of its own on the test cluster, or `None` (said loudly) when
/// the test command's cluster is not there.
async fn fresh_postgres_database() -> Option<String> {
    let Ok(url) = std::env::var("MYNA_TEST_POSTGRES_URL") else {
        eprintln!(
            "NOTE: MYNA_TEST_POSTGRES_URL is not set: the two-instance PostgreSQL test did not run (scripts/test sets it)"
        );
        return None;
    };
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect to the test cluster");
    tokio::spawn(connection);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_nanos();
    let name = format!("fleet_{}_{nanos}", std::process::id());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a database");
    let (base, _) = url.rsplit_once('/').expect("a database URL");
    Some(format!("{base}/{name}"))
}

/// Polls a retrieval through the instance at `origin` until it is done;
/// it may only be waiting meanwhile.
async fn until_done(
    http: &reqwest::Client,
    origin: &str,
    consent: &str,
    retrieval: &str,
    deadline: Instant,
) {
    loop {
        let state: Value = http
            .get(format!(
                "{origin}{BASE_PATH}/consents/{consent}/retrievals/{retrieval}"
            ))
            .send()
            .await
            .expect("poll")
            .json()
            .await
            .expect("json");
        if state["status"] == "done" {
            return;
        }
        assert_eq!(state["status"], "waiting", "{state}");
        assert!(Instant::now() < deadline, "never done: {state}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn wait_healthy(http: &reqwest::Client, origin: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while http
        .get(format!("{origin}/readyz"))
        .send()
        .await
        .map_or(true, |r| r.status() != reqwest::StatusCode::OK)
    {
        assert!(Instant::now() < deadline, "{origin} never became ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_postgresql_share_the_work_and_one_resumes_what_a_crashed_one_left() {
    let Some(database_url) = fresh_postgres_database().await else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (port_a, port_b) = (free_port(), free_port());
    // Both instances serve the one public origin (a load balancer's).
    let origin = format!("http://127.0.0.1:{port_a}");
    let authority = myna_authority::test_support::start(
        &authority_config(
            "http://placeholder",
            &format!("{origin}/site/callback.html"),
            50,
        ),
        &dir.path().join("authority.sqlite"),
        myna_authority::system_clock(),
    )
    .await;
    let url_file = dir.path().join("database-url");
    std::fs::write(&url_file, &database_url).expect("url file");
    let key = key_file(dir.path());
    let mut entry = operator_entry(&authority.issuer, &origin);
    // The authority allows this client 50 calls a second; starts in quick
    // succession need room beyond the default share kept for citizens.
    entry["limits"] = json!({ "authorityTps": 50 });
    let config = |name: &str, port: u16| {
        let config = json!({
            "listen": format!("127.0.0.1:{port}"),
            "storage": { "kind": "postgres", "urlFile": url_file, "maxConnections": 4 },
            "tokenKey": { "file": key },
            "log": "json",
            "operators": [entry.clone()],
        });
        let path = dir.path().join(name);
        std::fs::write(&path, config.to_string()).expect("config");
        path
    };
    let a = Running::start(&config("a.json", port_a));
    let b = Running::start(&config("b.json", port_b));
    let http = browser_client(None);
    let (at_a, at_b) = (origin.clone(), format!("http://127.0.0.1:{port_b}"));
    wait_healthy(&http, &at_a).await;
    wait_healthy(&http, &at_b).await;

    let post = |base: &str, path: &str, body: Value| {
        http.post(format!("{base}{BASE_PATH}{path}"))
            .header("origin", &origin)
            .header("x-myna-request", "1")
            .json(&body)
            .send()
    };
    // Three citizens' consents, granted through either instance.
    let mut consents = Vec::new();
    for i in 0..3 {
        let base = if i % 2 == 0 { &at_a } else { &at_b };
        let started: Value = post(base, "/authorizations", body("drugs-90d"))
            .await
            .expect("start")
            .json()
            .await
            .expect("json");
        let url = started["authorizationUrl"]
            .as_str()
            .unwrap_or_else(|| panic!("{started}"));
        let callback = approve_at_authority(url).await;
        let completed = post(base, "/authorizations/complete", callback)
            .await
            .expect("complete");
        assert_eq!(completed.status(), 201);
        let consent: Value = completed.json().await.expect("json");
        consents.push(consent["id"].as_str().expect("id").to_owned());
    }
    // Retrievals of every consent through both instances at once, then A
    // dies mid-poll (SIGKILL: no chance to tidy up).
    let mut started = Vec::new();
    for (i, id) in consents.iter().enumerate() {
        for base in [&at_a, &at_b] {
            let response = post(base, &format!("/consents/{id}/retrievals"), json!({}))
                .await
                .expect("retrieval");
            assert_eq!(response.status(), 202, "consent {i} through {base}");
            let value: Value = response.json().await.expect("json");
            started.push((id.clone(), value["id"].as_str().expect("id").to_owned()));
        }
    }
    let a_lines = a.lines();
    a.kill();

    // B finishes every job, A's included, once its lease runs out.
    let deadline = Instant::now() + Duration::from_secs(60);
    for (consent, retrieval) in &started {
        until_done(&http, &at_b, consent, retrieval, deadline).await;
    }
    // Counts: each job finished exactly once across both instances…
    let finished = |lines: &[String], retrieval: &str| {
        lines
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| {
                line["event"] == "retrieval_finished" && line["retrieval_id"] == retrieval
            })
            .count()
    };
    let b_lines = b.lines();
    for (_, retrieval) in &started {
        assert_eq!(
            finished(&a_lines, retrieval) + finished(&b_lines, retrieval),
            1,
            "retrieval {retrieval} finished once"
        );
    }
    assert!(
        b_lines
            .iter()
            .any(|line| line.contains("resuming a retrieval another instance left")),
        "B took over what A left"
    );
    // …no grant suspended, and every rotation stored: the chains go on.
    let list: Value = http
        .get(format!("{at_b}{BASE_PATH}/consents"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let statuses: Vec<&Value> = list["consents"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| &c["status"])
        .collect();
    assert_eq!(statuses, [&json!("active"); 3], "0 grants suspended");
    for id in &consents {
        let response = post(&at_b, &format!("/consents/{id}/retrievals"), json!({}))
            .await
            .expect("retrieval");
        assert_eq!(
            response.status(),
            202,
            "the refresh chain of {id} is intact"
        );
    }
}

/// The stand-in authority behind the recording proxy, its issuer the
/// proxy's address: answers can be held on their way back.
async fn authority_behind_proxy(dir: &Path, redirect_uri: &str) -> (String, Arc<ProxyState>) {
    let proxy_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let authority_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let issuer = format!("http://{}", proxy_listener.local_addr().expect("addr"));
    let mut config =
        myna_authority::AuthorityConfig::from_json(&authority_config(&issuer, redirect_uri, 50))
            .expect("authority config");
    config.set_issuer(&issuer).expect("issuer");
    let authority = myna_authority::Authority::open(
        config,
        &dir.join("authority.sqlite"),
        myna_authority::system_clock(),
        true,
    )
    .expect("authority");
    let upstream = format!("http://{}", authority_listener.local_addr().expect("addr"));
    std::mem::forget(serve(authority_listener, myna_authority::router(authority)).await);
    let proxy = ProxyState::new(&upstream);
    proxy.serve(proxy_listener).await;
    (issuer, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_the_refresh_answer_and_its_write_loses_no_consent() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let (issuer, proxy) =
        authority_behind_proxy(dir.path(), &format!("{origin}/site/callback.html")).await;
    let config = write_config(
        dir.path(),
        &format!("127.0.0.1:{port}"),
        operator_entry(&issuer, &origin),
        json!({ "env": "MYNA_TEST_TOKEN_KEY" }),
    );
    let database = dir.path().join("data").join("operator.sqlite");
    let running = Running::start(&config);
    let http = browser_client(None);
    wait_healthy(&http, &origin).await;
    let post = |path: &str, body: Value| {
        http.post(format!("{origin}{BASE_PATH}{path}"))
            .header("origin", &origin)
            .header("x-myna-request", "1")
            .json(&body)
            .send()
    };
    let started: Value = post("/authorizations", body("drugs-90d"))
        .await
        .expect("start")
        .json()
        .await
        .expect("json");
    let callback = approve_at_authority(started["authorizationUrl"].as_str().expect("url")).await;
    let completed = post("/authorizations/complete", callback)
        .await
        .expect("complete");
    assert_eq!(completed.status(), 201);
    let id = completed.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();

    // A retrieval: the authority rotates the refresh token, and its answer
    // is held on the way back…
    proxy
        .hold_token_answer
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let retrieval = tokio::spawn(post(&format!("/consents/{id}/retrievals"), json!({})));
    tokio::time::timeout(Duration::from_secs(10), proxy.held.notified())
        .await
        .expect("the refresh reached the authority");
    // …the database is made to wait, the answer goes on, and the process is
    // killed while it waits to store the new token.
    let lock = rusqlite::Connection::open(&database).expect("open");
    lock.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    proxy.release.notify_one();
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.kill();
    let _ = retrieval.await;
    lock.execute_batch("ROLLBACK").expect("unlock");
    let issued = proxy.refresh_tokens();
    assert_eq!(
        issued.len(),
        2,
        "the code exchange's, and the successor the crash lost"
    );

    // Started again: the consent is there, active, and retrieves. The old
    // refresh token, presented again within the authority's reuse grace,
    // brings back the same successor.
    let running = Running::start(&config);
    wait_healthy(&http, &origin).await;
    let deadline = Instant::now() + Duration::from_secs(40);
    let retrieval_id = loop {
        let response = post(&format!("/consents/{id}/retrievals"), json!({}))
            .await
            .expect("retrieval");
        if response.status() == 202 {
            break response.json::<Value>().await.expect("json")["id"]
                .as_str()
                .expect("id")
                .to_owned();
        }
        // 503 refresh_busy while the dead process's lease runs out.
        assert_eq!(response.status(), 503, "{:?}", response.text().await);
        assert!(Instant::now() < deadline, "never retrieved again");
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let issued = proxy.refresh_tokens();
    assert_eq!(issued.len(), 3);
    assert_eq!(issued[2], issued[1], "the same successor came back");
    until_done(&http, &origin, &id, &retrieval_id, deadline).await;
    let list: Value = http
        .get(format!("{origin}{BASE_PATH}/consents"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(
        list["consents"][0]["status"], "active",
        "no consent lost or suspended"
    );
    drop(running);
}
