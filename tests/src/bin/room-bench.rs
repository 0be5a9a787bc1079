//! Room benchmarks: prints each figure next to its target and a baseline.
//!
//! `cargo build --release -p tandem-tests --bins && target/release/room-bench`
//! (the traces are read from `../shared/data/editing-traces`, or `TANDEM_TRACES`).

use std::time::Duration;

use anyhow::Result;
use tandem_tests::bench::*;

fn row(figure: &str, measured: String, target: &str, baseline: String) {
    println!("| {figure} | {measured} | {target} | {baseline} |");
}

fn main() -> Result<()> {
    let keystrokes: usize = std::env::var("BENCH_KEYSTROKES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    println!("| figure | measured | target | baseline |");
    println!("| --- | --- | --- | --- |");

    // First, while the process is small: memory is measured as RSS growth.
    let before = rss_bytes();
    let (bytes, len) = memory_of_trace_room("automerge-paper.json.gz")?;
    row(
        "memory of a peer holding the automerge-paper room (RSS growth)",
        format!(
            "{:.1} MiB (process RSS {:.1} MiB)",
            bytes as f64 / 1048576.0,
            rss_bytes() as f64 / 1048576.0
        ),
        "report",
        format!(
            "final text {} KiB; process RSS before {:.1} MiB",
            len / 1024,
            before as f64 / 1048576.0
        ),
    );

    let r = replay("rustcode.json.gz")?;
    let text = if r.ok {
        "final text = endContent"
    } else {
        "final text WRONG"
    };
    row(
        &format!(
            "replay rustcode.json.gz ({} edits, one per txn): local apply+encode, signed in batches as the node sends",
            r.edits
        ),
        format!("{:.0} edits/s ({} signatures), {text}", r.batched_rate, r.batches),
        "≥ 50,000 edits/s",
        format!("plain yrs apply+encode {:.0} edits/s", r.yrs_rate),
    );
    row(
        "same trace as the editor's updates (webview/browser Yjs → peer): check + apply by id + encode, signed in batches",
        format!("{:.0} edits/s, {text}", r.local_client_rate),
        "≥ 50,000 edits/s",
        format!("plain yrs apply of the same updates {:.0} edits/s", r.yrs_apply_rate),
    );
    row(
        "same, one signature per keystroke",
        format!("{:.0} edits/s", r.signed_each_rate),
        "—",
        format!("plain yrs {:.0} edits/s", r.yrs_rate),
    );
    row(
        "receiving side: verify+authorise+apply, batches / per keystroke",
        format!("{:.0} / {:.0} edits/s", r.recv_batched_rate, r.recv_each_rate),
        "—",
        String::new(),
    );

    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "replay") {
        return Ok(()); // memory and replay only (profiling the edit path)
    }
    let relay = start_relay()?;
    rt.block_on(async {
        let c = cluster(1, 1, None, true).await?;
        let s = propagation(&c, keystrokes).await?;
        row(
            "keystroke A→B, loopback, direct, p50 / p99",
            format!("{:.0} µs / {:.0} µs", pct(&s, 0.5), pct(&s, 0.99)),
            "p99 ≤ 2 ms",
            "iroh loopback RTT ~60 µs".into(),
        );
        drop(c);

        let c = cluster(1, 1, Some(&relay.url), false).await?;
        let s = propagation(&c, keystrokes).await?;
        row(
            "keystroke A→B, relay only, p50 / p99",
            format!("{:.0} µs / {:.0} µs", pct(&s, 0.5), pct(&s, 0.99)),
            "p99 ≤ 5 ms",
            String::new(),
        );
        drop(c);

        let c = cluster(49, 9, Some(&relay.url), true).await?;
        let s = propagation(&c, keystrokes / 5).await?;
        row(
            "room of 50 peers (10 editors, 40 spectators), keystroke reaches all, p50 / p99",
            format!("{:.0} µs / {:.0} µs", pct(&s, 0.5), pct(&s, 0.99)),
            "p99 ≤ 20 ms",
            String::new(),
        );
        drop(c);

        let mut times = Vec::new();
        for _ in 0..5 {
            times.push(reconnect(Some(&relay.url), 1000).await?);
        }
        times.sort();
        row(
            "reconnect after 1,000 offline edits until converged (median of 5)",
            format!("{:.1} ms", times[2].as_secs_f64() * 1e3),
            "≤ 300 ms",
            format!("max {:.1} ms", times[4].as_secs_f64() * 1e3),
        );
        anyhow::Ok(())
    })?;
    drop(relay);

    let _ = Duration::ZERO;
    Ok(())
}
