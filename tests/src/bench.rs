//! The room benchmarks (run by the `room-bench` binary; results in `docs/benchmarks.md`).
//!
//! Everything runs on loopback: peers are in-process [`Node`]s (each with its own iroh endpoint
//! and sled database), the relay is the real `tandem-relay` code in a child process.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use tandem_room::core::{Edit, RoomCore};
use tandem_room::{Node, NodeConfig, Room};
use tandem_shared::invite::RoomRef;
use tandem_shared::room::{CodeDoc, Role};

use crate::harness::{Relay, TempDir};
use crate::traces::{load_sequential, utf16_offset};

pub const F: &str = "main.rs";

/// Percentile of sorted durations, in microseconds.
pub fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

/// Starts a node in `dir`.
pub async fn node(dir: &Path, relay: Option<&str>, direct: bool) -> Result<Node> {
    let mut c = NodeConfig::new(dir);
    c.relay_url = relay.map(String::from);
    c.direct = direct;
    Ok(Node::start(c).await?)
}

/// Waits until `room`'s file reaches `len` UTF-16 units.
pub async fn wait_len(room: &Room, len: u32, timeout: Duration) -> Result<()> {
    let mut rx = room.subscribe();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if room.with_core(|c| c.code().len_utf16(F)) >= len {
            return Ok(());
        }
        if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
            bail!("timed out at length {}", room.with_core(|c| c.code().len_utf16(F)));
        }
    }
}

/// A room with a creator and `n` joined peers (first `editors` as candidates, rest spectators).
pub struct Cluster {
    pub dirs: Vec<TempDir>,
    pub nodes: Vec<Node>,
    pub rooms: Vec<Room>,
}

pub async fn cluster(n: usize, editors: usize, relay: Option<&str>, direct: bool) -> Result<Cluster> {
    let mut dirs = Vec::new();
    let mut nodes = Vec::new();
    let mut rooms = Vec::new();
    let d = TempDir::new("bench");
    let a = node(d.path(), relay, direct).await?;
    dirs.push(d);
    let room = a.create_room()?;
    nodes.push(a);
    rooms.push(room.clone());
    for i in 0..n {
        let role = if i < editors { Role::Candidate } else { Role::Spectator };
        let inv = room.invite(role, true, 3600)?;
        let d = TempDir::new("bench");
        let t = std::time::Instant::now();
        let b = node(d.path(), relay, direct).await?;
        let started = t.elapsed();
        dirs.push(d);
        let r = b.join(&inv, Duration::from_secs(60)).await?;
        if std::env::var("BENCH_VERBOSE").is_ok() {
            eprintln!("peer {i}: start {started:?}, join {:?}", t.elapsed() - started);
        }
        nodes.push(b);
        rooms.push(r);
    }
    Ok(Cluster { dirs, nodes, rooms })
}

/// Keystroke propagation from peer 0 to all others: per keystroke, the time until the last
/// peer has it. Sequential (one keystroke in flight), like typing.
pub async fn propagation(c: &Cluster, keystrokes: usize) -> Result<Vec<Duration>> {
    let a = &c.rooms[0];
    // Warm up: the mesh forms and every link has synced.
    a.insert(F, 0, "warm")?;
    for r in &c.rooms[1..] {
        wait_len(r, 4, Duration::from_secs(60)).await?;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut samples = Vec::with_capacity(keystrokes);
    for i in 0..keystrokes {
        let len = a.with_core(|c| c.code().len_utf16(F));
        let t0 = Instant::now();
        a.insert(F, len, if i % 10 == 9 { "\n" } else { "x" })?;
        let waits = c.rooms[1..].iter().map(|r| {
            let r = r.clone();
            async move { wait_len(&r, len + 1, Duration::from_secs(30)).await }
        });
        for r in futures_join(waits).await {
            r?;
        }
        samples.push(t0.elapsed());
    }
    samples.sort();
    Ok(samples)
}

async fn futures_join<F: std::future::Future<Output = Result<()>> + Send + 'static>(
    futs: impl Iterator<Item = F>,
) -> Vec<Result<()>> {
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap_or_else(|e| Err(anyhow::anyhow!(e))));
    }
    out
}

/// Replays a sequential trace through the room's local-edit path (apply, encode, sign) and the
/// receiving path (verify, check, apply) — one keystroke per transaction — and through plain
/// yrs as the baseline. Returns (room edits/s, receive edits/s, yrs edits/s, final text ok).
pub struct Replay {
    pub edits: usize,
    /// Plain yrs: index-based apply + lib0 v1 encode, no room.
    pub yrs_rate: f64,
    /// The room's local path with one signature per keystroke.
    pub signed_each_rate: f64,
    /// The room's local path as the node runs it: signatures shared by the keystrokes that
    /// arrive while the previous batch is signed (modelled as one signature per elapsed ms).
    pub batched_rate: f64,
    pub batches: usize,
    /// Receiving side of the per-keystroke updates: verify + authorise + apply.
    pub recv_each_rate: f64,
    /// Receiving side of the batches.
    pub recv_batched_rate: f64,
    /// The path real keystrokes take: updates from the editor's own Yjs document (the desktop
    /// webview, a browser through the bridge) checked, applied by id and signed in batches.
    pub local_client_rate: f64,
    /// Plain yrs applying the same updates, no room.
    pub yrs_apply_rate: f64,
    pub ok: bool,
}

pub fn replay(trace_name: &str) -> Result<Replay> {
    let trace = load_sequential(trace_name)?;
    let edits = to_edits(&trace)?;
    let n = edits.len();

    // Baseline: yrs alone (apply + encode the update), no signatures.
    let base = CodeDoc::new(1);
    let t = Instant::now();
    for e in &edits {
        match e {
            Edit::Insert { index, text, .. } => drop(base.insert(F, *index, text)?),
            Edit::Delete { index, len, .. } => drop(base.delete(F, *index, *len)?),
        }
    }
    let yrs_rate = n as f64 / t.elapsed().as_secs_f64();

    let key = tandem_room::iroh::SecretKey::generate();
    let room = RoomRef {
        id: "00".repeat(16),
        creator: tandem_room::identity::key_hex(&key.public()),
    };
    let mut sender = RoomCore::open(key.clone(), room.clone(), None, None)?;
    let mut updates = Vec::with_capacity(n);
    let t = Instant::now();
    for e in &edits {
        updates.push(sender.edit(e, false)?);
    }
    let signed_each_rate = n as f64 / t.elapsed().as_secs_f64();

    let mut batcher = RoomCore::open(key.clone(), room.clone(), None, None)?;
    let mut batches = Vec::new();
    let mut pending = Vec::new();
    let t = Instant::now();
    let mut last = Instant::now();
    for e in &edits {
        pending.push(batcher.apply_local(e, false)?);
        if last.elapsed() >= Duration::from_millis(1) {
            batches.push(batcher.sign_local(std::mem::take(&mut pending))?);
            last = Instant::now();
        }
    }
    if !pending.is_empty() {
        batches.push(batcher.sign_local(pending)?);
    }
    let batched_rate = n as f64 / t.elapsed().as_secs_f64();

    let receive = |list: &[tandem_shared::protocol::SignedUpdate],
                   statements: Vec<tandem_shared::invite::SignedStatement>|
     -> Result<(f64, String)> {
        let mut receiver = RoomCore::open(tandem_room::iroh::SecretKey::generate(), room.clone(), None, None)?;
        receiver.add_statements(statements);
        let t = Instant::now();
        for u in list {
            receiver.receive_update(u)?;
        }
        Ok((n as f64 / t.elapsed().as_secs_f64(), receiver.code().text(F)))
    };
    let (recv_each_rate, each_text) = receive(&updates, sender.policy().statements())?;
    let (recv_batched_rate, batched_text) = receive(&batches, batcher.policy().statements())?;
    // The editor's updates (what the webview or browser sends), made outside the timing.
    let editor = CodeDoc::new(7);
    let mut client_updates = Vec::with_capacity(n);
    for e in &edits {
        client_updates.push(match e {
            Edit::Insert { index, text, .. } => editor.insert(F, *index, text)?,
            Edit::Delete { index, len, .. } => editor.delete(F, *index, *len)?,
        });
    }
    let plain = CodeDoc::new(8);
    let t = Instant::now();
    for u in &client_updates {
        plain.apply(u)?;
    }
    let yrs_apply_rate = n as f64 / t.elapsed().as_secs_f64();
    let mut local = RoomCore::open(key.clone(), room.clone(), None, None)?;
    let mut batches_local = 0usize;
    let mut pending = Vec::new();
    let t = Instant::now();
    let mut last = Instant::now();
    for u in &client_updates {
        // What `LocalClient::receive` checks before applying: the update's client ids.
        let summary = tandem_shared::room::summarize_update(u)?;
        std::hint::black_box(&summary);
        local.apply_own_update(u)?;
        pending.push(u.clone());
        if last.elapsed() >= Duration::from_millis(1) {
            local.sign_local(std::mem::take(&mut pending))?;
            batches_local += 1;
            last = Instant::now();
        }
    }
    if !pending.is_empty() {
        local.sign_local(pending)?;
        batches_local += 1;
    }
    let local_client_rate = n as f64 / t.elapsed().as_secs_f64();
    std::hint::black_box(batches_local);
    let ok = [
        sender.code().text(F),
        batcher.code().text(F),
        each_text,
        batched_text,
        local.code().text(F),
    ]
    .iter()
    .all(|t| *t == trace.end_content);
    Ok(Replay {
        edits: n,
        yrs_rate,
        signed_each_rate,
        batched_rate,
        batches: batches.len(),
        recv_each_rate,
        recv_batched_rate,
        local_client_rate,
        yrs_apply_rate,
        ok,
    })
}

/// The trace as room edits (UTF-16 offsets), one per patch.
pub fn to_edits(trace: &crate::traces::SequentialTrace) -> Result<Vec<Edit>> {
    let mut text: Vec<char> = trace.start_content.chars().collect();
    let mut out = Vec::new();
    if !trace.start_content.is_empty() {
        out.push(Edit::Insert {
            file: F.into(),
            index: 0,
            text: trace.start_content.clone(),
        });
    }
    for txn in &trace.txns {
        for (pos, del, ins) in &txn.patches {
            let s: String = text.iter().collect();
            let index = utf16_offset(&s, *pos);
            if *del > 0 {
                let removed: String = text[*pos..*pos + *del].iter().collect();
                out.push(Edit::Delete {
                    file: F.into(),
                    index,
                    len: removed.encode_utf16().count() as u32,
                });
                text.drain(*pos..*pos + *del);
            }
            if !ins.is_empty() {
                out.push(Edit::Insert {
                    file: F.into(),
                    index,
                    text: ins.clone(),
                });
                let chars: Vec<char> = ins.chars().collect();
                text.splice(*pos..*pos, chars);
            }
        }
    }
    Ok(out)
}

/// Resident memory of this process, in bytes (Linux).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Memory of a peer holding a trace's room: RSS growth after replaying it into a room.
pub fn memory_of_trace_room(trace_name: &str) -> Result<(u64, usize)> {
    let trace = load_sequential(trace_name)?;
    let edits = to_edits(&trace)?;
    // The trace and the edit list stay alive while measuring, so the allocator cannot hand
    // their memory to the room and hide its growth.
    let before = rss_bytes();
    let key = tandem_room::iroh::SecretKey::generate();
    let room = RoomRef {
        id: "00".repeat(16),
        creator: tandem_room::identity::key_hex(&key.public()),
    };
    let mut core = RoomCore::open(key, room, None, None)?;
    for e in &edits {
        core.edit(e, false)?;
    }
    let after = rss_bytes();
    let len = core.code().text(F).len();
    drop(core);
    drop(edits);
    drop(trace);
    Ok((after.saturating_sub(before), len))
}

/// Reconnect after `n` offline edits: time from going online until both peers hold the same text.
pub async fn reconnect(relay: Option<&str>, n: usize) -> Result<Duration> {
    let c = cluster(1, 1, relay, true).await?;
    let (a, b) = (&c.rooms[0], &c.rooms[1]);
    a.insert(F, 0, "base")?;
    wait_len(b, 4, Duration::from_secs(60)).await?;
    b.set_online(false);
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in 0..n {
        let len = b.with_core(|c| c.code().len_utf16(F));
        b.insert(F, len, if i % 20 == 19 { "\n" } else { "y" })?;
    }
    let target = b.with_core(|c| c.code().len_utf16(F));
    let t0 = Instant::now();
    b.set_online(true);
    wait_len(a, target, Duration::from_secs(60)).await?;
    let took = t0.elapsed();
    if a.text(F) != b.text(F) {
        bail!("texts differ after reconnect");
    }
    Ok(took)
}

/// Finds a sibling binary of the running executable (tests and benches live side by side).
pub fn sibling_bin(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("exe dir")?;
    for d in [dir.to_path_buf(), dir.join("..")] {
        let p = d.join(name);
        if p.exists() {
            return Ok(p);
        }
    }
    bail!("{name} not found next to {}", exe.display())
}

/// Starts the relay binary that sits next to this one.
pub fn start_relay() -> Result<Relay> {
    let bin = sibling_bin("tt-relay")?;
    Relay::start(&bin.to_string_lossy())
}
