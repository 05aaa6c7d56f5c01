//! The `myna-operator` binary as an operator runs it: its own configuration
//! file with `--check-config`, the token key from a file or the
//! environment (never beside the data), any listen address, `/healthz` and
//! `/readyz`, a whole grant against the stand-in authority, JSON logs with
//! audit events, and a graceful stop on SIGTERM.

mod common;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const BINARY: &str = env!("CARGO_BIN_EXE_myna-operator");
/// A token key for these tests only (base64 of 32 bytes).
const TEST_KEY: &str = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

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
    let config = json!({
        "listen": listen,
        "storage": { "kind": "sqlite", "path": dir.join("data").join("operator.sqlite") },
        "tokenKey": key,
        "log": "json",
        "operators": [entry],
    });
    std::fs::create_dir_all(dir.join("data")).expect("data dir");
    let path = dir.join("config.json");
    std::fs::write(&path, config.to_string()).expect("config");
    path
}

fn key_file(dir: &Path) -> std::path::PathBuf {
    let keys = dir.join("secrets");
    std::fs::create_dir_all(&keys).expect("secrets dir");
    let path = keys.join("token-key");
    std::fs::write(&path, TEST_KEY).expect("key");
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
