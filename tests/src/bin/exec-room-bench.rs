//! Runs from the room, measured beside the node's own HTTP path, in one run.
//!
//! `cargo build --release -p tandem-tests --bins -p tandem-agent && target/release/exec-room-bench`
//!
//! - print → peer: a Python program prints lines carrying `time.time_ns()`; each peer notes
//!   the wall clock when the chunk arrives (same machine, same clock). Rooms of 3 and of 20
//!   in-process peers (each its own iroh endpoint, loopback), beside the same program's lines
//!   arriving on the node's HTTP stream (SSE).
//! - request → verdict for Python hello world: through the room (a peer's `request_run` until
//!   its `finished` message) and through `POST /api/tandem/v1/runs` of the same node,
//!   alternating, paced so the sandbox pool refills as it would between an interview's runs.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use tandem_exec::room_path::Access;
use tandem_exec::{Engine, Node as ExecNode, NodeConfig as ExecConfig};
use tandem_room::Room;
use tandem_shared::exec::{RunEvent, RunRequest, SourceFile};
use tandem_shared::exec_wire::{ExecTicket, EXEC_ALPN};
use tandem_shared::language::Manifest;
use tandem_shared::room_run::{RoomRunMessage, RunKind};
use tandem_tests::bench::{cluster, pct, Cluster};

/// Percentile `p` (0–100) of sorted samples, in ms.
fn q(sorted: &[Duration], p: f64) -> f64 {
    pct(sorted, p / 100.0) / 1000.0
}
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const LINES: usize = 200;

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

fn python(code: &str) -> RunRequest {
    RunRequest {
        language: "python".into(),
        files: vec![SourceFile {
            name: None,
            content: code.into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn stamped_program() -> String {
    format!("import time\nfor i in range({LINES}):\n    print(i, time.time_ns(), flush=True)\n    time.sleep(0.01)\n")
}

/// Collects print → arrival latencies: a line counts when the chunk that completes it (its
/// newline) arrives, since the program may write a line in several pieces.
#[derive(Default)]
struct Stamps {
    pending: String,
    samples: Vec<Duration>,
}

impl Stamps {
    fn chunk(&mut self, data: &str, at_ns: u128) {
        self.pending.push_str(data);
        while let Some(pos) = self.pending.find('\n') {
            let line: String = self.pending.drain(..=pos).collect();
            if let Some(ns) = line.split_whitespace().nth(1).and_then(|s| s.parse::<u128>().ok()) {
                self.samples.push(Duration::from_nanos(at_ns.saturating_sub(ns) as u64));
            }
        }
    }
}

/// `POST /api/tandem/v1/runs`, calling `on_event` with each event and its arrival time.
async fn http_run(addr: &str, req: &RunRequest, mut on_event: impl FnMut(&RunEvent, u128)) -> Result<()> {
    let body = serde_json::to_vec(req)?;
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    s.write_all(
        format!(
            "POST /api/tandem/v1/runs HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await?;
    s.write_all(&body).await?;
    let mut lines = BufReader::new(s).lines();
    while let Some(line) = lines.next_line().await? {
        let Some(json) = line.strip_prefix("data:") else {
            continue;
        };
        let Ok(ev) = serde_json::from_str::<RunEvent>(json.trim()) else {
            continue;
        };
        let at = now_ns();
        let end = matches!(ev, RunEvent::Finished { .. } | RunEvent::Error { .. });
        on_event(&ev, at);
        if end {
            return Ok(());
        }
    }
    bail!("the HTTP stream ended without a verdict")
}

async fn wait_connected(rooms: &[Room]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !rooms.iter().all(|r| r.exec_node_status().connected) {
        if Instant::now() > deadline {
            bail!("peers did not connect to the execution node");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Print → arrival at every peer of the cluster, for one run of the stamped program.
async fn room_print_latency(c: &Cluster) -> Result<Vec<Duration>> {
    let mut tasks = Vec::new();
    for r in &c.rooms {
        let mut rx = r.run_messages();
        tasks.push(tokio::spawn(async move {
            let mut stamps = Stamps::default();
            loop {
                match rx.recv().await {
                    Ok(RoomRunMessage::Event {
                        event: RunEvent::Output { data, .. },
                        ..
                    }) => stamps.chunk(&data, now_ns()),
                    Ok(m) if m.is_final() => break,
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => break,
                }
            }
            stamps.samples
        }));
    }
    c.rooms[0]
        .request_run(&format!("bench-{}", now_ns()), python(&stamped_program()), RunKind::Run)
        .await?;
    let mut all = Vec::new();
    for t in tasks {
        all.extend(tokio::time::timeout(Duration::from_secs(60), t).await??);
    }
    all.sort();
    Ok(all)
}

async fn http_print_latency(addr: &str) -> Result<Vec<Duration>> {
    let mut stamps = Stamps::default();
    http_run(addr, &python(&stamped_program()), |ev, at| {
        if let RunEvent::Output { data, .. } = ev {
            stamps.chunk(data, at);
        }
    })
    .await?;
    let mut samples = stamps.samples;
    samples.sort();
    Ok(samples)
}

fn ms(d: f64) -> String {
    format!("{d:.2} ms")
}

fn row(figure: &str, measured: String, target: &str, baseline: String) {
    println!("| {figure} | {measured} | {target} | {baseline} |");
}

fn main() -> Result<()> {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let engine = Engine::connect(std::env::var("TANDEM_ENGINE").ok().as_deref()).await?;
        let cfg = ExecConfig {
            node_id: format!("bench-room-{}", std::process::id()),
            pool_languages: vec!["python".into()],
            ..ExecConfig::default()
        };
        let node = ExecNode::start(engine, cfg, Manifest::bundled(), None)
            .await
            .context("starting the execution node")?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let http = listener.local_addr()?.to_string();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(tandem_exec::http::serve(node.clone(), listener, async {
            let _ = stop_rx.await;
        }));

        let small = cluster(2, 0, None, true).await?;
        let large = cluster(19, 0, None, true).await?;
        let ep = tandem_room::bind_endpoint(
            tandem_room::iroh::SecretKey::generate(),
            vec![EXEC_ALPN.to_vec()],
            None,
            None,
            Some("127.0.0.1:0".parse()?),
        )
        .await?;
        let ticket = ExecTicket(tandem_room::endpoint_peer_addr(&ep, None)).encode();
        let access = Access {
            interviewers: vec![small.nodes[0].id(), large.nodes[0].id()],
            organisations: vec![],
            runs_per_minute_per_requester: 10_000,
            runs_per_minute_per_room: 10_000,
            submits_per_minute_per_member: 10_000,
            submits_per_minute_per_room: 10_000,
        };
        tokio::spawn(tandem_exec::room_path::serve(node.clone(), ep.clone(), access));
        for c in [&small, &large] {
            c.rooms[0].set_exec_node(&ticket, false, vec![])?;
            wait_connected(&c.rooms).await?;
        }
        // Warm-up: the pool, the interpreter's page cache, the connections.
        http_run(&http, &python("print('warm')"), |_, _| {}).await?;
        small.rooms[0]
            .request_run("warm", python("print('warm')"), RunKind::Run)
            .await?;
        tokio::time::sleep(Duration::from_millis(500)).await;

        println!("| figure | measured | target | baseline |");
        println!("| --- | --- | --- | --- |");
        let base = http_print_latency(&http).await?;
        for (name, c) in [("3 peers", &small), ("20 peers", &large)] {
            let s = room_print_latency(c).await?;
            row(
                &format!("print → chunk at each peer, {name} ({} samples)", s.len()),
                format!("p50 {} / p99 {}", ms(q(&s, 50.0)), ms(q(&s, 99.0))),
                "p99 ≤ 10 ms",
                format!(
                    "HTTP SSE of the same node ({} samples): p50 {} / p99 {}",
                    base.len(),
                    ms(q(&base, 50.0)),
                    ms(q(&base, 99.0))
                ),
            );
        }

        // Request → verdict, alternating room and HTTP, paced like an interview's runs.
        let hello = python("print('hello, world')");
        let mut room_t = Vec::new();
        let mut http_t = Vec::new();
        let requester = &small.rooms[0];
        let mut rx = requester.run_messages();
        for i in 0..runs {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let t0 = Instant::now();
            let id = requester
                .request_run(&format!("hello-{i}"), hello.clone(), RunKind::Run)
                .await?;
            loop {
                let m = tokio::time::timeout(Duration::from_secs(60), rx.recv()).await??;
                if m.run_id() == Some(id.as_str()) && m.is_final() {
                    break;
                }
            }
            room_t.push(t0.elapsed());
            tokio::time::sleep(Duration::from_millis(300)).await;
            let t0 = Instant::now();
            http_run(&http, &hello, |_, _| {}).await?;
            http_t.push(t0.elapsed());
        }
        room_t.sort();
        http_t.sort();
        let diff = q(&room_t, 50.0) - q(&http_t, 50.0);
        row(
            &format!("Python hello world, request → verdict through the room ({runs} runs)"),
            format!("p50 {} / p99 {}", ms(q(&room_t, 50.0)), ms(q(&room_t, 99.0))),
            "within 10 ms of HTTP",
            format!(
                "HTTP of the same node: p50 {} / p99 {} (room − HTTP at p50: {:+.2} ms)",
                ms(q(&http_t, 50.0)),
                ms(q(&http_t, 99.0)),
                diff
            ),
        );

        let _ = stop_tx.send(());
        let _ = server.await;
        ep.close().await;
        node.shutdown(Duration::from_secs(30)).await;
        for c in [small, large] {
            let closing: Vec<_> = c.nodes.into_iter().map(|n| tokio::spawn(n.shutdown())).collect();
            for h in closing {
                let _ = tokio::time::timeout(Duration::from_secs(20), h).await;
            }
        }
        Ok(())
    })
}
