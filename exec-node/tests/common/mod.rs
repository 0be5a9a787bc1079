//! Helpers for tests that run real sandboxes on the real container engine.
#![allow(dead_code)]

pub mod http;

use tandem_exec::{Engine, Node, NodeConfig};
use tandem_shared::exec::{RunRequest, RunResult, SourceFile, Verdict};
use tandem_shared::language::Manifest;

/// A node with its own id, so its sandboxes can be counted and nothing else is swept.
/// Python runs take pre-started sandboxes (so the hostile programs meet the pooled path);
/// other languages start theirs cold.
pub async fn node() -> Node {
    node_with(NodeConfig {
        pool_languages: vec!["python".into()],
        ..NodeConfig::default()
    })
    .await
}

/// A node with a compile cache in a fresh directory.
pub async fn node_with_cache() -> (Node, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("tandem-cache-{}", uuid_like()));
    let cfg = NodeConfig {
        pool_languages: vec!["python".into()],
        compile_cache_dir: Some(dir.clone()),
        ..NodeConfig::default()
    };
    (node_with(cfg).await, dir)
}

pub async fn node_with(mut cfg: NodeConfig) -> Node {
    cfg.node_id = format!("test-{}", uuid_like());
    let engine = Engine::connect(std::env::var("TANDEM_ENGINE").ok().as_deref())
        .await
        .expect("container engine");
    Node::start(engine, cfg, Manifest::bundled(), None)
        .await
        .expect("node starts")
}

pub fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("{:x}{:x}", n, std::process::id())
}

/// A request with the most compile time the node allows: tests share two cores with other
/// work, and a slow compile is not what they test (the limit tests set their own).
pub fn req(lang: &str, code: &str) -> RunRequest {
    RunRequest {
        language: lang.into(),
        files: vec![SourceFile {
            name: None,
            content: code.into(),
            ..Default::default()
        }],
        limits: tandem_shared::exec::LimitsRequest {
            compile_wall_ms: Some(30_000),
            compile_cpu_ms: Some(30_000),
            ..Default::default()
        },
        ..Default::default()
    }
}

pub async fn run(node: &Node, r: &RunRequest) -> RunResult {
    node.run(r, "test").await.expect("run accepted")
}

pub async fn run_code(node: &Node, lang: &str, code: &str) -> RunResult {
    run(node, &req(lang, code)).await
}

pub fn stdout(r: &RunResult) -> &str {
    r.run.as_ref().map(|p| p.stdout.as_str()).unwrap_or("")
}

/// Fails with everything the run said, so a red test explains itself.
#[track_caller]
pub fn expect_verdict(r: &RunResult, v: Verdict) {
    if r.verdict != v {
        let mut shown = format!("{r:#?}");
        if shown.len() > 4000 {
            let mut end = 4000;
            while !shown.is_char_boundary(end) {
                end -= 1;
            }
            shown.truncate(end);
            shown.push('…');
        }
        panic!("expected {v:?}, got {:?}; result: {shown}", r.verdict);
    }
}

/// Asserts that no sandbox of a finished run is left (pre-started ones may wait; `finish`
/// checks those). The verdict is delivered before the sandbox is removed, so removal gets a
/// moment.
pub async fn assert_no_leftovers(node: &Node) {
    let mut left = vec![("?".to_string(), "engine never answered".to_string())];
    for _ in 0..100 {
        // Listing while the engine removes a container can fail transiently: ask again.
        let Ok(all) = tandem_exec::sandbox::list(node.engine(), &node.config().node_id).await else {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        left = all.into_iter().filter(|(_, job)| !job.starts_with("pool-")).collect();
        if left.is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("sandboxes left behind: {left:?}");
}

/// Shuts the node down and asserts that nothing of it is left.
pub async fn finish(node: Node) {
    node.shutdown(std::time::Duration::from_secs(30)).await;
    for _ in 0..50 {
        match tandem_exec::sandbox::list(node.engine(), &node.config().node_id).await {
            Ok(left) if left.is_empty() => return,
            Ok(left) => panic!("sandboxes left after shutdown: {left:?}"),
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    panic!("the engine did not list containers");
}
