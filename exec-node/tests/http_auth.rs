//! The HTTP API as an anonymous caller and as other key holders would try it: the real
//! `tandem-exec serve` binary with API keys in its config.

mod common;

use std::process::Command;
use std::time::Duration;

use common::http::{free_port, serve_with};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tandem_exec::auth::hash_key;

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tandem-auth-test-{}", common::uuid_like()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

const ALICE: &str = "tdx_alice_runs_and_watches_0123456789abcdef";
const ALICE_DASHBOARD: &str = "tdx_alice_watches_only_0123456789abcdef";
const BOB: &str = "tdx_bob_runs_only_0123456789abcdef";
const ADMIN: &str = "tdx_admin_0123456789abcdef";
const FLOOD: &str = "tdx_flood_0123456789abcdef";

fn keys_config() -> String {
    let key = |name: &str, key: &str, scopes: &str| {
        format!(
            "[[api_keys]]\nname = \"{name}\"\nsha256 = \"{}\"\nscopes = [{scopes}]\n",
            hash_key(key)
        )
    };
    [
        "http_requests_per_minute_per_key = 20\n".to_string(),
        key("alice", ALICE, "\"run\", \"watch\""),
        key("alice", ALICE_DASHBOARD, "\"watch\""),
        key("bob", BOB, "\"run\""),
        key("ops", ADMIN, "\"admin\""),
        key("flood", FLOOD, "\"watch\""),
    ]
    .concat()
}

async fn call(method: reqwest::Method, url: &str, key: Option<&str>) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Starts a run that sleeps, as `key`, and returns its job id once the program runs (the
/// stream stays open in the background so the run is not cancelled by a disconnect).
async fn start_sleeper(url: &str, key: &str, body_extra: Value) -> (String, tokio::task::JoinHandle<String>) {
    let mut body =
        json!({"language": "python", "files": [{"content": "import time\nprint('up', flush=True)\ntime.sleep(30)"}]});
    for (k, v) in body_extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/tandem/v1/runs"))
        .bearer_auth(key)
        .header("x-tandem-requester", "mallory")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut stream = resp.bytes_stream();
    let mut seen = String::new();
    let mut job_id = None;
    while let Some(Ok(chunk)) = stream.next().await {
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if job_id.is_none() {
            job_id = seen
                .lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .filter_map(|d| serde_json::from_str::<Value>(d).ok())
                .find_map(|e| e["job_id"].as_str().map(str::to_string));
        }
        if seen.contains("up") && job_id.is_some() {
            break;
        }
    }
    let rest = tokio::spawn(async move {
        while let Some(Ok(chunk)) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        seen
    });
    (job_id.expect("a job id in the stream"), rest)
}

#[tokio::test]
async fn keys_scopes_and_ownership_decide_who_may_do_what() {
    let dir = tempdir();
    let node_id = format!("auth-{}", common::uuid_like());
    let server = serve_with(&dir, &node_id, &keys_config()).await;
    let url = server.url.clone();
    use reqwest::Method;

    // No key, a wrong key: 401, with the scheme to use.
    let resp = reqwest::get(format!("{url}/api/v2/runtimes")).await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        call(Method::GET, &format!("{url}/api/v2/runtimes"), Some("tdx_wrong"))
            .await
            .0,
        401
    );
    let (status, body) = call(Method::POST, &format!("{url}/api/v2/execute"), None).await;
    assert_eq!(status, 401, "{body}");
    // Health needs no key (load balancers).
    assert_eq!(reqwest::get(format!("{url}/healthz")).await.unwrap().status(), 200);

    // A Piston client configured with a key sends it as the bare Authorization value.
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/v2/execute"))
        .header("authorization", BOB)
        .json(&json!({"language": "py", "version": "*", "files": [{"content": "print(6 * 7)"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["run"]["stdout"], "42\n");
    // A watch-only key cannot run.
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/v2/execute"))
        .bearer_auth(ALICE_DASHBOARD)
        .json(&json!({"language": "py", "files": [{"content": "print(1)"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // Alice's run, claiming a room and a requester in the request: both ignored.
    let (job, rest) = start_sleeper(&url, ALICE, json!({"room": "victim-room"})).await;
    let events = format!("{url}/api/tandem/v1/runs/{job}/events");
    let run = format!("{url}/api/tandem/v1/runs/{job}");
    // Bob (run only) can neither cancel nor watch it.
    let (status, body) = call(Method::DELETE, &run, Some(BOB)).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(call(Method::GET, &events, Some(BOB)).await.0, 403);
    // Alice's dashboard key (same name, watch scope) can watch it.
    let resp = reqwest::Client::new()
        .get(&events)
        .bearer_auth(ALICE_DASHBOARD)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    drop(resp);
    // Metrics are the operator's.
    assert_eq!(call(Method::GET, &format!("{url}/metrics"), Some(ALICE)).await.0, 403);
    assert_eq!(
        reqwest::Client::new()
            .get(format!("{url}/metrics"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Alice cancels her own run.
    assert_eq!(call(Method::DELETE, &run, Some(ALICE)).await.0, 202);
    let seen = tokio::time::timeout(Duration::from_secs(30), rest)
        .await
        .unwrap()
        .unwrap();
    assert!(seen.contains("cancelled"), "{seen}");

    // The record: requester and fairness tenant are the key's, not the request's.
    let mut record = Value::Null;
    for _ in 0..50 {
        let (status, body) = call(Method::GET, &run, Some(ALICE_DASHBOARD)).await;
        if status == 200 {
            record = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(record["requester"], "key:alice", "{record}");
    assert_eq!(record["tenant"], "key:alice", "{record}");
    assert_eq!(call(Method::GET, &run, Some(BOB)).await.0, 403);
    assert_eq!(call(Method::GET, &run, Some(ADMIN)).await.0, 200);

    // Per-key rate: 20 a minute, then 429 with Retry-After; other keys are not affected.
    let mut limited = None;
    for _ in 0..25 {
        let resp = reqwest::Client::new()
            .get(format!("{url}/api/v2/runtimes"))
            .bearer_auth(FLOOD)
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            limited = Some(resp);
            break;
        }
        assert_eq!(resp.status(), 200);
    }
    let limited = limited.expect("the flood was rate limited");
    let retry: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(
        call(Method::GET, &format!("{url}/api/v2/runtimes"), Some(BOB)).await.0,
        200
    );

    // The audit log names the key's holder, the run's tenant, its source and its verdict; an
    // admin reads it from the running node, the operator from the stopped node's data.
    assert_eq!(
        call(Method::GET, &format!("{url}/api/tandem/v1/audit"), Some(ALICE))
            .await
            .0,
        403
    );
    let lines = reqwest::Client::new()
        .get(format!("{url}/api/tandem/v1/audit?requester=key:alice"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    drop(server);
    let out = Command::new(env!("CARGO_BIN_EXE_tandem-exec"))
        .args(["audit", "--requester", "key:alice", "--data"])
        .arg(dir.join("db"))
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), lines);
    let entries: Vec<Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let run = entries
        .iter()
        .find(|e| e["event"] == "run" && e["job_id"] == job.as_str())
        .expect("the run is audited");
    assert_eq!(run["tenant"], "key:alice");
    assert_eq!(run["source_sha256"].as_str().map(str::len), Some(64));
    let verdict = entries
        .iter()
        .find(|e| e["event"] == "verdict" && e["job_id"] == job.as_str())
        .expect("its verdict is audited");
    assert_eq!(verdict["verdict"], "cancelled");
    assert!(entries.iter().all(|e| e["requester"] == "key:alice"), "{lines}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn per_ip_rate_limit_applies_before_any_key() {
    let dir = tempdir();
    let node_id = format!("auth-ip-{}", common::uuid_like());
    let server = serve_with(
        &dir,
        &node_id,
        &format!("http_requests_per_minute_per_ip = 5\n{}", keys_config()),
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(
            call(
                reqwest::Method::GET,
                &format!("{}/api/v2/runtimes", server.url),
                Some("guess"),
            )
            .await
            .0,
        );
    }
    assert_eq!(statuses[..5], [401; 5], "{statuses:?}");
    assert_eq!(statuses[5..], [429; 3], "{statuses:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_keys_the_node_refuses_to_listen_beyond_loopback() {
    let dir = tempdir();
    let out = Command::new(env!("CARGO_BIN_EXE_tandem-exec"))
        .args(["serve", "--no-room-path", "--http", &format!("0.0.0.0:{}", free_port())])
        .arg("--data")
        .arg(dir.join("db"))
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without API keys") && err.contains("127.0.0.1"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
