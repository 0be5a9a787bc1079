//! The real `tandem-exec serve` binary: Piston v2 compatibility, the streaming endpoint, bad
//! input, records that survive a restart, and metrics.

mod common;

use std::process::Command;
use std::time::Duration;

use common::http::serve;

use serde_json::{json, Value};

fn tempdir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tandem-http-test-{}", common::uuid_like()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn post(url: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new().post(url).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn piston_clients_work_unchanged_and_records_survive_a_restart() {
    let dir = tempdir();
    let node_id = format!("http-{}", common::uuid_like());
    let server = serve(&dir, &node_id).await;

    let runtimes: Value = reqwest::get(format!("{}/api/v2/runtimes", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let langs: Vec<&str> = runtimes
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["language"].as_str().unwrap())
        .collect();
    for l in ["javascript", "python", "java", "cpp", "go"] {
        assert!(langs.contains(&l), "{runtimes}");
    }
    let py = runtimes
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["language"] == "python")
        .unwrap();
    assert!(py["aliases"].as_array().unwrap().contains(&json!("py")));

    // Exactly what a Piston client sends: alias, version selector, unnamed file, stdin.
    let (status, body) = post(
        &format!("{}/api/v2/execute", server.url),
        json!({"language": "py", "version": "3.x", "files": [{"content": "print(input()[::-1])"}], "stdin": "abc"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["language"], "python");
    assert_eq!(body["run"]["stdout"], "cba\n");
    assert_eq!(body["run"]["output"], "cba\n");
    assert_eq!(body["run"]["code"], 0);
    assert_eq!(body["run"]["signal"], Value::Null);
    assert_eq!(body["run"]["status"], Value::Null);
    assert!(
        body.get("compile").is_none(),
        "interpreted languages have no compile stage: {body}"
    );

    // Compiled, failing at run time.
    let (status, body) = post(
        &format!("{}/api/v2/execute", server.url),
        json!({"language": "c++", "version": "*", "files": [{"name": "x.cpp", "content": "int main(){return 7;}"}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["compile"]["code"], 0);
    assert_eq!(body["run"]["code"], 7);
    assert_eq!(body["run"]["status"], "RE");

    // A time limit, Piston style.
    let (status, body) = post(
        &format!("{}/api/v2/execute", server.url),
        json!({"language": "python", "version": "*", "files": [{"content": "import time\ntime.sleep(10)"}], "run_timeout": 500}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["run"]["status"], "TO");
    assert_eq!(body["run"]["signal"], "SIGKILL");

    // The streaming endpoint: events in order, output while it runs, then the verdict.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/tandem/v1/runs", server.url))
        .json(&json!({"language": "python", "files": [{"content": "for i in range(3): print(i)"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"queued"), "{kinds:?}");
    assert_eq!(kinds.get(1), Some(&"started"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"finished"), "{kinds:?}");
    let out: String = events
        .iter()
        .filter(|e| e["type"] == "output")
        .map(|e| e["data"].as_str().unwrap())
        .collect();
    assert_eq!(out, "0\n1\n2\n");
    let job_id = events.last().unwrap()["result"]["job_id"].as_str().unwrap().to_string();

    // Metrics count what happened.
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tandem_exec_runs_total{language=\"python\",verdict=\"ok\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("tandem_exec_run_latency_seconds_bucket"), "{metrics}");

    // The record survives a restart of the node.
    drop(server);
    let server = serve(&dir, &node_id).await;
    let rec: Value = reqwest::get(format!("{}/api/tandem/v1/runs/{job_id}", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rec["verdict"], "ok");
    assert_eq!(rec["language"], "python");
    assert_eq!(rec["stdout"], "0\n1\n2\n");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_and_nothing_runs() {
    let dir = tempdir();
    let node_id = format!("http-bad-{}", common::uuid_like());
    let server = serve(&dir, &node_id).await;
    let exec = format!("{}/api/v2/execute", server.url);
    let many: Vec<Value> = (0..40)
        .map(|i| json!({"name": format!("f{i}.py"), "content": "x"}))
        .collect();
    let cases = vec![
        (
            json!({"language": "cobol", "version": "*", "files": [{"content": "x"}]}),
            "unknown language",
        ),
        (
            json!({"language": "python", "version": "*", "files": [{"content": "   "}]}),
            "empty",
        ),
        (
            json!({"language": "python", "version": "*", "files": [{"content": "x".repeat(1_100_000)}]}),
            "bytes",
        ),
        (
            json!({"language": "python", "version": "*", "files": many}),
            "too many files",
        ),
        (
            json!({"language": "python", "version": "*", "files": [{"name": "../x.py", "content": "print(1)"}]}),
            "not allowed",
        ),
        (
            json!({"language": "python", "version": "*", "files": [{"content": "print(1)"}], "stdin": "y".repeat(1_100_000)}),
            "stdin",
        ),
        (
            json!({"language": "python", "version": "9", "files": [{"content": "print(1)"}]}),
            "unknown",
        ),
        (
            json!({"version": "*", "files": [{"content": "print(1)"}]}),
            "language is required",
        ),
        (
            json!({"language": "python", "files": [{"content": "print(1)"}], "run_timeout": 999999999}),
            "run_timeout",
        ),
        // Hex with a multi-byte character where a digit pair is read: a 400, not a panic.
        (
            json!({"language": "python", "files": [{"content": "aé1", "encoding": "hex"}]}),
            "not valid hex",
        ),
        (
            json!({"language": "python", "files": [{"content": "éé", "encoding": "hex"}]}),
            "not valid hex",
        ),
    ];
    for (body, expect) in cases {
        let (status, answer) = post(&exec, body.clone()).await;
        assert!((400..500).contains(&status), "{status} for {body}");
        let msg = answer["message"].as_str().unwrap_or_default();
        assert!(msg.contains(expect), "message {msg:?} should mention {expect:?}");
    }
    // Malformed JSON.
    let resp = reqwest::Client::new()
        .post(&exec)
        .header("content-type", "application/json")
        .body("{\"language\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let answer: Value = resp.json().await.unwrap();
    assert!(answer["message"].as_str().unwrap().contains("malformed JSON"));
    // A body over the limit, sent at once and sent slowly in chunks (no length declared): the
    // node answers 413 after reading the rest, so the sender sees the answer and not a broken
    // pipe.
    let at_once = reqwest::Body::from(vec![b' '; 5 * 1024 * 1024]);
    let slowly = reqwest::Body::wrap_stream(futures_util::stream::unfold(0, |i| async move {
        if i == 6 {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        Some((Ok::<_, std::io::Error>(vec![b' '; 1024 * 1024]), i + 1))
    }));
    for body in [at_once, slowly] {
        let resp = reqwest::Client::new()
            .post(&exec)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the 413 answer, not a broken connection");
        assert_eq!(resp.status(), 413);
        let answer: Value = resp.json().await.unwrap();
        let msg = answer["message"].as_str().unwrap_or_default();
        assert!(msg.contains("larger than the node accepts"), "{msg:?}");
    }

    // Nothing of the above ran.
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!metrics.contains("tandem_exec_runs_total{"), "{metrics}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

async fn count_sandboxes(node_id: &str) -> usize {
    let engine = tandem_exec::Engine::connect(std::env::var("TANDEM_ENGINE").ok().as_deref())
        .await
        .unwrap();
    for _ in 0..20 {
        if let Ok(list) = tandem_exec::sandbox::list(&engine, node_id).await {
            return list.len();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the engine did not list containers");
}

#[tokio::test]
async fn sandboxes_of_a_crashed_node_are_swept_when_it_starts_again() {
    let dir = tempdir();
    let node_id = format!("http-crash-{}", common::uuid_like());
    let mut server = serve(&dir, &node_id).await;
    // A run that is still going when the node dies.
    let url = format!("{}/api/tandem/v1/runs", server.url);
    let run = tokio::spawn(async move {
        let resp = reqwest::Client::new()
            .post(url)
            .json(&json!({"language": "python", "files": [{"content": "import time\nprint('up', flush=True)\ntime.sleep(30)"}]}))
            .send()
            .await
            .unwrap();
        let mut stream = resp.bytes_stream();
        use futures_util::StreamExt;
        // Wait until the program runs.
        while let Some(Ok(chunk)) = stream.next().await {
            if String::from_utf8_lossy(&chunk).contains("up") {
                return;
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .unwrap()
        .unwrap();
    // kill -9: no chance to clean up.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert!(
        count_sandboxes(&node_id).await >= 1,
        "the running sandbox outlived its node"
    );
    let server2 = serve(&dir, &node_id).await;
    // The pool refills after the sweep; only its fresh sandboxes may exist now.
    let engine = tandem_exec::Engine::connect(std::env::var("TANDEM_ENGINE").ok().as_deref())
        .await
        .unwrap();
    let left: Vec<_> = tandem_exec::sandbox::list(&engine, &node_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, job)| !job.starts_with("pool-"))
        .collect();
    assert!(left.is_empty(), "leftovers of the crashed node: {left:?}");
    drop(server2);
    std::mem::forget(server); // already dead and reaped
                              // SIGTERM removed the new node's pool.
    assert_eq!(count_sandboxes(&node_id).await, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_engine_is_a_one_line_error_naming_what_was_tried() {
    let dir = tempdir();
    let prog = dir.join("x.py");
    std::fs::write(&prog, "print(1)").unwrap();
    // An explicit URL that answers nothing.
    let out = Command::new(env!("CARGO_BIN_EXE_tandem-exec"))
        .args(["--engine", "unix:///nonexistent/podman.sock", "run", "--lang", "py"])
        .arg(&prog)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unix:///nonexistent/podman.sock"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_problem_bank_over_http_shows_public_parts_only_and_judges_submissions() {
    let dir = tempdir();
    let node_id = format!("http-{}", common::uuid_like());
    let server = serve(&dir, &node_id).await;
    let list: Value = reqwest::get(format!("{}/api/tandem/v1/problems", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = list["problems"].as_array().unwrap();
    assert!(list.len() >= 12, "{list:?}");
    assert!(list.iter().any(|p| p["id"] == "two-sum" && p["difficulty"] == "easy"));

    let resp = reqwest::get(format!("{}/api/tandem/v1/problems/two-sum", server.url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let p: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(p["signature"], "twoSum(nums: int[], target: int) -> int[]");
    assert!(p["starter"]["go"]
        .as_str()
        .unwrap()
        .contains("func twoSum(nums []int, target int) []int"));
    assert!(p.get("tests").is_none() && p.get("solutions").is_none(), "{text}");
    // A hidden test's input of the bundled file is nowhere in the answer.
    assert!(!text.contains("1000000000"), "{text}");
    let resp = reqwest::get(format!("{}/api/tandem/v1/problems/nope", server.url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);

    let (status, body) = post(
        &format!("{}/api/tandem/v1/runs", server.url),
        json!({"language": "python", "files": [{"content": "x"}], "problem": "nope", "submit": true}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(body["message"].as_str().unwrap().contains("nope"));

    let solution = "class Solution:\n    def twoSum(self, nums, target):\n        print(nums)\n        seen = {}\n        for i, x in enumerate(nums):\n            if target - x in seen:\n                return [seen[target - x], i]\n            seen[x] = i\n";
    let resp = reqwest::Client::new()
        .post(format!("{}/api/tandem/v1/runs", server.url))
        .json(&json!({"language": "python", "files": [{"content": solution}], "problem": "two-sum", "submit": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(!text.contains("1000000000"), "a hidden input left the node: {text}");
    let events: Vec<Value> = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert!(events.iter().all(|e| e["type"] != "output"), "{text}");
    let result = &events.last().unwrap()["result"];
    assert_eq!(result["tests"]["verdict"], "accepted", "{result}");
    assert_eq!(result["tests"]["passed"], result["tests"]["total"]);
    let job_id = result["job_id"].as_str().unwrap();
    let rec: Value = reqwest::get(format!("{}/api/tandem/v1/runs/{job_id}", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rec["stdout"], "", "{rec}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
