//! Helpers for tests that run real sandboxes on the real container engine.
#![allow(dead_code)]

use tandem_exec::{Engine, Node, NodeConfig};
use tandem_shared::exec::{RunRequest, RunResult, SourceFile, Verdict};
use tandem_shared::language::Manifest;

/// A node with its own id, so its sandboxes can be counted and nothing else is swept.
pub async fn node() -> Node {
    node_with(NodeConfig::default()).await
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

pub fn req(lang: &str, code: &str) -> RunRequest {
    RunRequest {
        language: lang.into(),
        files: vec![SourceFile {
            name: None,
            content: code.into(),
            ..Default::default()
        }],
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
            shown.push_str("…");
        }
        panic!("expected {v:?}, got {:?}; result: {shown}", r.verdict);
    }
}

/// Asserts that no sandbox of this node is left.
pub async fn assert_no_leftovers(node: &Node) {
    let left = tandem_exec::sandbox::list(node.engine(), &node.config().node_id)
        .await
        .unwrap();
    assert!(left.is_empty(), "sandboxes left behind: {left:?}");
}
