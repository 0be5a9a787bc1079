//! The execution node as a library: a bounded queue in front of a fixed number of sandbox
//! slots, with records, metrics and cancellation.
//!
//! HTTP, the CLI and (later) the room transport all call [`Node::submit`] and consume the same
//! [`RunEvent`] stream.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tandem_shared::exec::{RunEvent, RunRequest, RunResult};
use tandem_shared::language::Manifest;
use tandem_shared::sandbox::ObservedLimits;
use tokio::sync::{mpsc, watch};

use crate::cache::CompileCache;
use crate::config::NodeConfig;
use crate::engine::Engine;
use crate::events::RecentRuns;
use crate::job::{execute, limits_mismatch, spec_for, JobContext};
use crate::judge::{ProblemError, ProblemRun};
use crate::metrics::{Metrics, RunLabels};
use crate::pool::{Pool, PoolTask};
use crate::request::resolve_limits;
use crate::request::{prepare, RequestError};
use crate::sandbox::{self, Remover, Sandbox, SandboxSpec, Shape};
use crate::schedule::Scheduler;
use crate::store::{AuditEvent, JobRecord, Store, StoreError};

/// Runs whose events stay available to late watchers.
const RECENT_RUNS: usize = 256;
/// Events buffered per run before the producer waits for its consumer.
const EVENT_BUFFER: usize = 256;

/// Why the node did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("runner image {0} is missing from the engine; build it with `scripts/build-runner-image.sh`")]
    MissingImage(String),
    #[error("the limits probe could not run a sandbox: {0}")]
    Probe(#[from] sandbox::SandboxError),
    #[error(
        "the container engine does not enforce sandbox limits ({0}); rootless Podman on cgroup v1 ignores them. Use rootful Podman or Docker, or pass --allow-unenforced-limits to run anyway (unsafe)"
    )]
    LimitsNotEnforced(String),
    #[error("compile cache at {0}: {1}")]
    Cache(String, std::io::Error),
    #[error(
        "the sandbox agent is missing at {0}; build it with `cargo build --release -p tandem-agent` or set agent_path"
    )]
    MissingAgent(String),
    #[error("problem bank: {0}")]
    Bank(#[from] tandem_problems::BankError),
}

/// Why a run was not accepted. Nothing was run.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Invalid(#[from] RequestError),
    #[error("the execution node is busy ({0} runs waiting); retry later")]
    Busy(usize),
    #[error("the run was cancelled before it started")]
    CancelledBeforeStart,
    #[error(transparent)]
    Problem(#[from] tandem_problems::BankError),
}

impl From<ProblemError> for SubmitError {
    fn from(e: ProblemError) -> Self {
        match e {
            ProblemError::Request(r) => SubmitError::Invalid(r),
            ProblemError::Bank(b) => SubmitError::Problem(b),
        }
    }
}

/// A run in progress: its events, and the means to cancel it. Dropping it cancels the run.
pub struct RunHandle {
    pub job_id: String,
    pub events: mpsc::Receiver<RunEvent>,
    cancel: watch::Sender<bool>,
}

impl RunHandle {
    pub fn cancel(&self) {
        let _ = self.cancel.send(true);
    }

    /// Waits for the run's result, discarding the events before it.
    pub async fn result(mut self) -> Option<RunResult> {
        while let Some(ev) = self.events.recv().await {
            if let RunEvent::Finished { result } = ev {
                return Some(*result);
            }
        }
        None
    }
}

impl Drop for RunHandle {
    fn drop(&mut self) {
        let _ = self.cancel.send(true);
    }
}

struct Inner {
    engine: Engine,
    cfg: NodeConfig,
    manifest: Manifest,
    store: Option<Store>,
    metrics: Metrics,
    slots: Scheduler,
    waiting: AtomicUsize,
    cancels: Mutex<HashMap<String, watch::Sender<bool>>>,
    limits: ObservedLimits,
    pool: Option<Arc<Pool>>,
    _pool_task: Option<PoolTask>,
    remover: Remover,
    cache: Option<Arc<CompileCache>>,
    recent: RecentRuns,
    bank: Arc<tandem_problems::Bank>,
}

/// The execution node. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
}

impl Node {
    /// Checks the agent and the images, sweeps this node's leftover sandboxes, and proves the
    /// engine enforces limits by starting one sandbox and reading its cgroup from inside.
    pub async fn start(
        engine: Engine,
        cfg: NodeConfig,
        manifest: Manifest,
        store: Option<Store>,
    ) -> Result<Self, StartError> {
        if !cfg.agent_path.is_file() {
            return Err(StartError::MissingAgent(cfg.agent_path.display().to_string()));
        }
        let bank = Arc::new(tandem_problems::Bank::load(cfg.problems_dir.as_deref())?);
        tracing::info!(problems = bank.list().len(), "problem bank loaded");
        let mut images: Vec<&str> = manifest.languages().iter().map(|l| l.image.as_str()).collect();
        images.sort();
        images.dedup();
        for image in &images {
            if engine.docker.inspect_image(image).await.is_err() {
                return Err(StartError::MissingImage(image.to_string()));
            }
        }
        match sandbox::sweep(&engine, &cfg.node_id).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                count = n,
                "removed sandboxes left over from an earlier run of this node"
            ),
            Err(e) => tracing::warn!("could not sweep leftover sandboxes: {e}"),
        }
        let limits = probe_limits(&engine, &cfg, images[0]).await?;
        let cache = match &cfg.compile_cache_dir {
            Some(dir) => Some(Arc::new(
                CompileCache::open(dir, cfg.compile_cache_bytes)
                    .map_err(|e| StartError::Cache(dir.display().to_string(), e))?,
            )),
            None => None,
        };
        let (pool, pool_task) = if cfg.pool_ceiling > 0 {
            let pool = Pool::new(engine.clone(), cfg.pool_floor, cfg.pool_ceiling);
            for lang in manifest.languages() {
                if !cfg.pool_languages.is_empty() && !cfg.pool_languages.iter().any(|l| lang.answers_to(l)) {
                    continue;
                }
                if let Ok(l) = resolve_limits(&Default::default(), lang, &cfg) {
                    pool.register(&spec_for(lang, &l, &cfg, ""));
                }
            }
            let task = pool.spawn();
            (Some(pool), Some(task))
        } else {
            (None, None)
        };
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                _pool_task: pool_task,
                remover: Remover::new(engine.clone()),
                cache,
                recent: RecentRuns::new(RECENT_RUNS),
                bank,
                slots: Scheduler::new(cfg.max_parallel),
                engine,
                cfg,
                manifest,
                store,
                metrics: Metrics::default(),
                waiting: AtomicUsize::new(0),
                cancels: Mutex::new(HashMap::new()),
                limits,
            }),
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }

    pub fn config(&self) -> &NodeConfig {
        &self.inner.cfg
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The problems this node offers (hidden tests included: never send a `Problem` out, only
    /// its [`public`](tandem_problems::Problem::public) part).
    pub fn bank(&self) -> &tandem_problems::Bank {
        &self.inner.bank
    }

    /// The limits the start-up probe saw inside a sandbox.
    pub fn observed_limits(&self) -> ObservedLimits {
        self.inner.limits
    }

    pub fn metrics_text(&self) -> String {
        self.inner
            .metrics
            .queue_depth
            .set(self.inner.waiting.load(Ordering::Relaxed) as i64);
        self.inner.metrics.encode()
    }

    pub fn job_record(&self, job_id: &str) -> Result<Option<JobRecord>, StoreError> {
        match &self.inner.store {
            Some(s) => s.job(job_id),
            None => Ok(None),
        }
    }

    pub fn store(&self) -> Option<&Store> {
        self.inner.store.as_ref()
    }

    /// Cancels a queued or running job. Returns whether it was known.
    pub fn cancel(&self, job_id: &str) -> bool {
        match self.inner.cancels.lock().unwrap_or_else(|e| e.into_inner()).get(job_id) {
            Some(tx) => {
                let _ = tx.send(true);
                true
            }
            None => false,
        }
    }

    /// Accepts a run: checks it, queues it, and returns its event stream at once.
    pub fn submit(&self, req: &RunRequest, requester: &str) -> Result<RunHandle, SubmitError> {
        let inner = &self.inner;
        let (prep, problem) = match ProblemRun::derive(&inner.bank, req, &inner.manifest, &inner.cfg)? {
            Some((derived, problem)) => {
                let mut prep = prepare(&derived, &inner.manifest, &inner.cfg)?;
                problem.adjust(&mut prep);
                (prep, Some(problem))
            }
            None => (prepare(req, &inner.manifest, &inner.cfg)?, None),
        };
        let position = inner.waiting.fetch_add(1, Ordering::SeqCst);
        if position >= inner.cfg.max_queue {
            inner.waiting.fetch_sub(1, Ordering::SeqCst);
            inner.metrics.rejected.inc();
            return Err(SubmitError::Busy(position));
        }
        let accepted = Instant::now();
        let job_id = uuid::Uuid::new_v4().simple().to_string();
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let (cancel_tx, mut cancel_rx) = watch::channel(false);
        inner
            .cancels
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(job_id.clone(), cancel_tx.clone());
        // Runs of one room share that room's turn; a run without a room is its requester's.
        let tenant = req.room.clone().unwrap_or_else(|| requester.to_string());
        self.audit(Store::run_entry(&job_id, requester, &tenant, req, &prep));
        tracing::info!(job = %job_id, requester, language = %prep.language.id, position, "run accepted");

        let this = self.clone();
        let requester = requester.to_string();
        let id = job_id.clone();
        let log = inner.recent.start(&job_id, &requester);
        // Owned by the node: it ends when the run ends (every path below finishes).
        tokio::spawn(async move {
            let inner = &this.inner;
            let queued = RunEvent::Queued {
                job_id: id.clone(),
                position: position.saturating_sub(inner.cfg.max_parallel.saturating_sub(1)),
            };
            log.push(queued.clone());
            let _ = tx.try_send(queued);
            let permit = tokio::select! {
                p = inner.slots.acquire(&tenant) => Some(p),
                _ = cancel_rx.wait_for(|c| *c) => None,
            };
            inner.waiting.fetch_sub(1, Ordering::SeqCst);
            let result = match permit {
                Some(_permit) => {
                    inner.metrics.running.inc();
                    let ctx = JobContext {
                        engine: &inner.engine,
                        pool: inner.pool.as_deref(),
                        remover: &inner.remover,
                        cache: inner.cache.as_ref(),
                        cfg: &inner.cfg,
                        job_id: &id,
                        events: &tx,
                        log: &log,
                        cancel: cancel_rx,
                        accepted,
                        problem: problem.as_ref(),
                    };
                    let r = execute(ctx, &prep).await;
                    inner.metrics.running.dec();
                    Some(r)
                }
                None => {
                    let error = RunEvent::Error {
                        message: "cancelled before it started".into(),
                    };
                    log.push(error.clone());
                    let _ = tx.send(error).await;
                    None
                }
            };
            inner.cancels.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            if let Some(r) = result {
                inner
                    .metrics
                    .runs
                    .get_or_create(&RunLabels {
                        language: r.language.clone(),
                        verdict: r.verdict.as_str().into(),
                    })
                    .inc();
                // Measured here: a submission's result withholds its duration.
                let total = accepted.elapsed();
                inner.metrics.latency.observe(total.as_secs_f64());
                tracing::info!(job = %id, verdict = r.verdict.as_str(), total_ms = total.as_millis() as u64, "run finished");
                if let Some(store) = &inner.store {
                    if let Err(e) = store.record(&requester, &tenant, &r) {
                        tracing::error!("job record write failed: {e}");
                    }
                }
                this.audit(AuditEvent::Verdict {
                    job_id: id.clone(),
                    requester: requester.clone(),
                    tenant: tenant.clone(),
                    verdict: r.verdict,
                    tests: r.tests.as_ref().map(|t| t.verdict),
                });
            }
        });
        Ok(RunHandle {
            job_id,
            events: rx,
            cancel: cancel_tx,
        })
    }

    /// Appends to the audit log, if the node keeps one (a failed write is logged, not fatal).
    pub fn audit(&self, event: AuditEvent) {
        if let Some(store) = &self.inner.store {
            if let Err(e) = store.audit(event) {
                tracing::error!("audit log write failed: {e}");
            }
        }
    }

    /// Runs a request to its end.
    pub async fn run(&self, req: &RunRequest, requester: &str) -> Result<RunResult, SubmitError> {
        let handle = self.submit(req, requester)?;
        handle.result().await.ok_or(SubmitError::CancelledBeforeStart)
    }

    /// Who started a run (its requester): a recent run's, else its record's. `None` for a run
    /// this node does not know.
    pub fn run_owner(&self, job_id: &str) -> Option<String> {
        if let Some(log) = self.inner.recent.get(job_id) {
            return Some(log.owner().to_string());
        }
        self.job_record(job_id).ok().flatten().map(|r| r.requester)
    }

    /// A run's events from its first, then live until it ends: for watchers who join late.
    /// `None` for a job this node does not know (or no longer remembers).
    pub fn watch(&self, job_id: &str) -> Option<impl futures_util::Stream<Item = RunEvent> + Send + 'static> {
        self.inner.recent.get(job_id).map(|log| log.watch())
    }

    /// Ids of pre-started sandboxes waiting for a job.
    pub fn idle_sandboxes(&self) -> Vec<String> {
        self.inner.pool.as_ref().map(|p| p.idle_ids()).unwrap_or_default()
    }

    /// Finishes the runs in progress (up to `timeout`) and removes every pre-started sandbox.
    pub async fn shutdown(&self, timeout: Duration) {
        self.drain(timeout).await;
        if let Some(pool) = &self.inner.pool {
            pool.close().await;
        }
        self.inner.remover.flush(timeout).await;
    }

    /// Waits until no run is queued or running (for shutdown), up to `timeout`.
    pub async fn drain(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, async {
            while self.inner.waiting.load(Ordering::SeqCst) > 0 || self.inner.slots.running() > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        if let Some(store) = &self.inner.store {
            let _ = store.flush().await;
        }
    }
}

/// Starts one sandbox with known limits and compares what its agent reads from its cgroup.
pub async fn probe_limits(engine: &Engine, cfg: &NodeConfig, image: &str) -> Result<ObservedLimits, StartError> {
    let spec = SandboxSpec {
        shape: Shape {
            image: image.into(),
            memory_bytes: cfg.default_memory_bytes,
            pids: cfg.default_pids,
            cpu_millis: cfg.cpu_millis,
            work_dir_bytes: cfg.work_dir_bytes,
            tmp_bytes: cfg.tmp_bytes,
            noexec_work: true,
            agent_args: vec!["--probe".into()],
        },
        node_id: cfg.node_id.clone(),
        job_id: format!("probe-{}", uuid::Uuid::new_v4().simple()),
        agent_path: cfg.agent_path.clone(),
        userns: cfg.sandbox_userns.clone(),
        require_userns: cfg.require_user_namespace,
    };
    let sb = Sandbox::start(engine, &spec, Duration::from_secs(60)).await?;
    let seen = sb.hello.limits;
    let id = sb.id.clone();
    drop(sb);
    sandbox::destroy(engine.clone(), id).await;
    if seen
        .lowest_host_uid
        .is_none_or(|u| u < tandem_shared::sandbox::HOST_UID_FLOOR)
    {
        tracing::warn!(
            lowest_host_uid = ?seen.lowest_host_uid,
            "sandboxes run without a user namespace: their uid 1000 is the host's uid 1000. Map them (sandbox_userns, or the engine's remap) and set require_user_namespace"
        );
    }
    match limits_mismatch(&spec, &seen) {
        None => {
            tracing::info!(?seen, "sandbox limits are enforced by the engine");
            Ok(seen)
        }
        Some(wrong) if cfg.allow_unenforced_limits => {
            tracing::warn!("!!! SANDBOX LIMITS ARE NOT ENFORCED ({wrong}) !!! Running anyway because allow_unenforced_limits is set: untrusted code can exhaust this machine.");
            Ok(seen)
        }
        Some(wrong) => Err(StartError::LimitsNotEnforced(wrong)),
    }
}
