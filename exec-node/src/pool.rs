//! Pre-started sandboxes: per sandbox shape (image and container-level limits), a few
//! containers already created, started, limited and waiting for one job.
//!
//! Why: creating, attaching and starting a container costs ~100 ms on Podman, more than a
//! Python program's whole run. A pooled sandbox is exactly what a cold one would be (same
//! spec, same limits, verified by the same hello); it takes one job and is destroyed
//! afterwards, never reused. The pool refills in the background and sizes itself to demand
//! between the operator's floor and ceiling.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::engine::Engine;
use crate::job::limits_mismatch;
use crate::sandbox::{destroy, Sandbox, SandboxSpec, Shape};

/// How long demand is remembered when sizing a pool.
const DEMAND_WINDOW: Duration = Duration::from_secs(30);
/// Sandboxes being started at once (the engine serialises much of the work anyway).
const PARALLEL_STARTS: usize = 2;
/// A warm sandbox older than this is replaced (keeps long-idle nodes from holding stale ones).
const MAX_IDLE: Duration = Duration::from_secs(600);

struct Warm {
    sandbox: Sandbox,
    since: Instant,
}

#[derive(Default)]
struct Slot {
    /// Template for new sandboxes of this shape.
    spec: Option<SandboxSpec>,
    ready: VecDeque<Warm>,
    starting: usize,
    takes: VecDeque<Instant>,
}

struct State {
    slots: HashMap<Shape, Slot>,
    closed: bool,
}

/// The pool. Its refill task is owned by [`PoolTask`].
pub struct Pool {
    engine: Engine,
    floor: usize,
    ceiling: usize,
    state: Mutex<State>,
    wake: Notify,
}

/// Owns the refill task: dropping it stops refilling.
pub struct PoolTask(tokio::task::JoinHandle<()>);

impl Drop for PoolTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Pool {
    pub fn new(engine: Engine, floor: usize, ceiling: usize) -> Arc<Self> {
        Arc::new(Self {
            engine,
            floor,
            ceiling: ceiling.max(floor),
            state: Mutex::new(State {
                slots: HashMap::new(),
                closed: false,
            }),
            wake: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps sandboxes of this shape ready from now on (at least `floor` of them).
    pub fn register(&self, spec: &SandboxSpec) {
        let mut st = self.lock();
        let slot = st.slots.entry(spec.shape.clone()).or_default();
        if slot.spec.is_none() {
            let mut template = spec.clone();
            template.job_id = String::new();
            slot.spec = Some(template);
        }
        drop(st);
        self.wake.notify_one();
    }

    /// A ready sandbox of the spec's shape, if one is waiting. Counts as demand either way.
    pub fn take(&self, spec: &SandboxSpec) -> Option<Sandbox> {
        let shape = spec.shape.clone();
        let mut st = self.lock();
        let slot = st.slots.get_mut(&shape)?;
        let now = Instant::now();
        slot.takes.push_back(now);
        while slot
            .takes
            .front()
            .is_some_and(|t| now.duration_since(*t) > DEMAND_WINDOW)
        {
            slot.takes.pop_front();
        }
        let got = slot.ready.pop_front().map(|w| w.sandbox);
        drop(st);
        self.wake.notify_one();
        got
    }

    fn target(&self, slot: &Slot) -> usize {
        // Roughly one warm sandbox per four runs in the demand window.
        slot.takes.len().div_ceil(4).clamp(self.floor, self.ceiling)
    }

    /// Ids of the sandboxes waiting now.
    pub fn idle_ids(&self) -> Vec<String> {
        self.lock()
            .slots
            .values()
            .flat_map(|s| s.ready.iter().map(|w| w.sandbox.id.clone()))
            .collect()
    }

    /// Starts the refill task.
    pub fn spawn(self: &Arc<Self>) -> PoolTask {
        let pool = self.clone();
        PoolTask(tokio::spawn(async move { pool.refill_loop().await }))
    }

    async fn refill_loop(self: Arc<Self>) {
        let mut starts = tokio::task::JoinSet::new();
        loop {
            // Pick shapes that are short of their target, and mark their starts in progress.
            let (picks, stale, closed) = {
                let mut st = self.lock();
                let closed = st.closed;
                let mut stale = Vec::new();
                let mut picks = Vec::new();
                let targets: Vec<(Shape, usize)> = st.slots.iter().map(|(k, s)| (k.clone(), self.target(s))).collect();
                for (shape, target) in targets {
                    let slot = st.slots.get_mut(&shape).expect("listed above");
                    while slot.ready.front().is_some_and(|w| w.since.elapsed() > MAX_IDLE) {
                        stale.extend(slot.ready.pop_front().map(|w| w.sandbox.id.clone()));
                    }
                    while slot.ready.len() > target {
                        stale.extend(slot.ready.pop_back().map(|w| w.sandbox.id.clone()));
                    }
                    while !closed
                        && starts.len() + picks.len() < PARALLEL_STARTS
                        && slot.ready.len() + slot.starting < target
                    {
                        let Some(spec) = &slot.spec else { break };
                        slot.starting += 1;
                        picks.push((shape.clone(), spec.clone()));
                    }
                }
                (picks, stale, closed)
            };
            for id in stale {
                destroy(self.engine.clone(), id).await;
            }
            if closed {
                // Let starts in flight finish: each destroys its sandbox when it sees `closed`.
                while starts.join_next().await.is_some() {}
                return;
            }
            for (shape, spec) in picks {
                starts.spawn(self.clone().start_one(shape, spec));
            }
            tokio::select! {
                Some(_) = starts.join_next(), if !starts.is_empty() => {}
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    }

    /// Starts one sandbox of `shape` and puts it in the pool (or removes it if the pool
    /// closed meanwhile or its limits are not what was asked).
    async fn start_one(self: Arc<Self>, shape: Shape, mut spec: SandboxSpec) {
        spec.job_id = format!("pool-{}", uuid::Uuid::new_v4().simple());
        let started = Sandbox::start(&self.engine, &spec, Duration::from_secs(60)).await;
        // Decide under the lock, act (await) after it.
        let discard = {
            let mut st = self.lock();
            let closed = st.closed;
            let slot = st.slots.entry(shape.clone()).or_default();
            match started {
                Ok(sb) if !closed && limits_mismatch(&spec, &sb.hello.limits).is_none() => {
                    slot.starting -= 1;
                    slot.ready.push_back(Warm {
                        sandbox: sb,
                        since: Instant::now(),
                    });
                    Ok(None)
                }
                Ok(sb) => Ok(Some(sb.id.clone())),
                Err(e) => {
                    slot.starting -= 1;
                    Err(e)
                }
            }
        };
        match discard {
            Ok(None) => {}
            Ok(Some(id)) => {
                destroy(self.engine.clone(), id).await;
                // Only now: `close` waits for this count, so the sandbox is gone first.
                if let Some(slot) = self.lock().slots.get_mut(&shape) {
                    slot.starting -= 1;
                }
            }
            Err(e) => {
                tracing::warn!("could not pre-start a sandbox: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    /// Stops refilling and destroys every waiting sandbox.
    pub async fn close(&self) {
        let ids = {
            let mut st = self.lock();
            st.closed = true;
            st.slots
                .values_mut()
                .flat_map(|s| s.ready.drain(..).map(|w| w.sandbox.id.clone()))
                .collect::<Vec<_>>()
        };
        self.wake.notify_one();
        for id in ids {
            destroy(self.engine.clone(), id).await;
        }
        // Starts in flight destroy their sandbox themselves once they see `closed`.
        for _ in 0..1200 {
            if self.lock().slots.values().all(|s| s.starting == 0) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
