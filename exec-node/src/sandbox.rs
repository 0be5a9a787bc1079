//! One sandbox: a throw-away container whose entry point is `tandem-agent`, created with
//! every limit applied, attached before it starts so no byte of output is lost.
//!
//! A sandbox is used for exactly one job and then destroyed. Containers carry labels naming
//! the node, so a node that crashed can sweep its leftovers when it starts again.

use std::collections::HashMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use bollard::models::{ContainerCreateBody, HostConfig, ResourcesUlimits};
use bollard::query_parameters::{
    AttachContainerOptions, CreateContainerOptions, ListContainersOptions, RemoveContainerOptions,
    StartContainerOptions,
};
use futures_util::{Stream, StreamExt};
use tandem_shared::sandbox::{
    encode_job, AgentHello, AgentJob, FrameDecoder, FrameError, FrameKind, AGENT_PATH_IN_SANDBOX,
    AGENT_PROTOCOL_VERSION, WORK_DIR,
};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::engine::Engine;

/// Label on every sandbox; its value is the node id.
pub const NODE_LABEL: &str = "io.tandem.exec.node";
/// Label carrying the job id.
pub const JOB_LABEL: &str = "io.tandem.exec.job";
/// The unprivileged user programs run as.
pub const SANDBOX_USER: &str = "1000:1000";

/// A sandbox could not be made or talked to.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("container engine refused the sandbox: {0}")]
    Engine(#[from] bollard::errors::Error),
    #[error("sandbox agent sent a malformed stream: {0}")]
    Frame(#[from] FrameError),
    #[error(
        "sandbox agent did not say hello within {0:?} (is the runner image built? `scripts/build-runner-image.sh`)"
    )]
    NoHello(Duration),
    #[error("sandbox agent speaks protocol {0}, this node {AGENT_PROTOCOL_VERSION}")]
    Version(u32),
    #[error("sandbox agent sent a bad hello: {0}")]
    BadHello(String),
    #[error("writing the job to the sandbox failed: {0}")]
    Input(std::io::Error),
    #[error("sandbox output ended before the job finished")]
    Ended,
}

/// The container-level part of a sandbox: image, limits, mounts, the agent's arguments.
/// Sandboxes of one shape are interchangeable, which is what lets the pool start them early.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shape {
    pub image: String,
    pub memory_bytes: u64,
    pub pids: u64,
    pub cpu_millis: u64,
    pub work_dir_bytes: u64,
    pub tmp_bytes: u64,
    pub noexec_work: bool,
    /// Extra arguments for the agent (`--probe`, `--prestart …`).
    pub agent_args: Vec<String>,
}

/// What a sandbox is made with: its shape, and whose it is.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    pub shape: Shape,
    pub node_id: String,
    pub job_id: String,
    pub agent_path: PathBuf,
    /// The engine's user-namespace mode (`auto`: Podman gives the sandbox its own range of host
    /// uids); empty leaves it to the engine (Docker's daemon-wide `userns-remap`).
    pub userns: String,
    /// Whether a sandbox whose uids are host uids counts as a limit not enforced.
    pub require_userns: bool,
}

type Output = Pin<Box<dyn Stream<Item = Result<bollard::container::LogOutput, bollard::errors::Error>> + Send>>;

/// A started sandbox whose agent has said hello.
pub struct Sandbox {
    pub id: String,
    pub hello: AgentHello,
    output: Output,
    input: Pin<Box<dyn AsyncWrite + Send>>,
    decoder: FrameDecoder,
}

fn create_body(spec: &SandboxSpec) -> ContainerCreateBody {
    let shape = &spec.shape;
    let noexec = if shape.noexec_work { ",noexec" } else { "" };
    let tmpfs = HashMap::from([
        (
            WORK_DIR.to_string(),
            format!("rw,nosuid,nodev{noexec},size={},mode=1777", shape.work_dir_bytes),
        ),
        (
            "/tmp".to_string(),
            format!("rw,nosuid,nodev,noexec,size={},mode=1777", shape.tmp_bytes),
        ),
    ]);
    let labels = HashMap::from([
        (NODE_LABEL.to_string(), spec.node_id.clone()),
        (JOB_LABEL.to_string(), spec.job_id.clone()),
    ]);
    let mut cmd = vec![AGENT_PATH_IN_SANDBOX.to_string()];
    cmd.extend(shape.agent_args.iter().cloned());
    ContainerCreateBody {
        image: Some(shape.image.clone()),
        cmd: Some(cmd),
        entrypoint: Some(vec![]),
        user: Some(SANDBOX_USER.into()),
        working_dir: Some(WORK_DIR.into()),
        env: Some(vec![]),
        labels: Some(labels),
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        open_stdin: Some(true),
        stdin_once: Some(true),
        tty: Some(false),
        network_disabled: Some(true),
        host_config: Some(HostConfig {
            binds: Some(vec![format!(
                "{}:{AGENT_PATH_IN_SANDBOX}:ro",
                spec.agent_path.display()
            )]),
            network_mode: Some("none".into()),
            readonly_rootfs: Some(true),
            tmpfs: Some(tmpfs),
            memory: Some(shape.memory_bytes as i64),
            // Equal to memory: no swap, so the memory limit is the real limit.
            memory_swap: Some(shape.memory_bytes as i64),
            pids_limit: Some(shape.pids as i64),
            nano_cpus: Some(shape.cpu_millis as i64 * 1_000_000),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges".into()]),
            init: Some(true),
            ipc_mode: Some("private".into()),
            userns_mode: Some(spec.userns.clone()).filter(|u| !u.is_empty()),
            // nproc is per-user across the host, so it is not how processes are limited (the
            // cgroup's pids limit is); it is only set below the host's hard limit.
            ulimits: Some(vec![
                ResourcesUlimits {
                    name: Some("nofile".into()),
                    soft: Some(1024),
                    hard: Some(1024),
                },
                ResourcesUlimits {
                    name: Some("nproc".into()),
                    soft: Some(8192),
                    hard: Some(8192),
                },
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

impl Sandbox {
    /// Creates, attaches and starts a sandbox, and waits for its agent's hello.
    pub async fn start(engine: &Engine, spec: &SandboxSpec, hello_timeout: Duration) -> Result<Self, SandboxError> {
        let name = format!("tandem-{}", spec.job_id);
        let created = engine
            .docker
            .create_container(
                Some(CreateContainerOptions {
                    name: Some(name),
                    ..Default::default()
                }),
                create_body(spec),
            )
            .await?;
        let id = created.id;
        match Self::attach_and_start(engine, id.clone(), hello_timeout).await {
            Ok(s) => Ok(s),
            Err(e) => {
                destroy(engine.clone(), id).await;
                Err(e)
            }
        }
    }

    async fn attach_and_start(engine: &Engine, id: String, hello_timeout: Duration) -> Result<Self, SandboxError> {
        let attached = engine
            .docker
            .attach_container(
                &id,
                Some(AttachContainerOptions {
                    stdin: true,
                    stdout: true,
                    stderr: true,
                    stream: true,
                    logs: false,
                    detach_keys: None,
                }),
            )
            .await?;
        engine
            .docker
            .start_container(&id, None::<StartContainerOptions>)
            .await?;
        let mut sandbox = Sandbox {
            id,
            hello: AgentHello {
                version: 0,
                limits: Default::default(),
                uid: 0,
            },
            output: attached.output,
            input: attached.input,
            decoder: FrameDecoder::default(),
        };
        let first = tokio::time::timeout(hello_timeout, sandbox.next_frame())
            .await
            .map_err(|_| SandboxError::NoHello(hello_timeout))??;
        match first {
            Some((FrameKind::Hello, payload)) => {
                let hello: AgentHello =
                    serde_json::from_slice(&payload).map_err(|e| SandboxError::BadHello(e.to_string()))?;
                if hello.version != AGENT_PROTOCOL_VERSION {
                    return Err(SandboxError::Version(hello.version));
                }
                sandbox.hello = hello;
                Ok(sandbox)
            }
            Some((kind, _)) => Err(SandboxError::BadHello(format!("first frame was {kind:?}"))),
            None => Err(SandboxError::NoHello(hello_timeout)),
        }
    }

    /// Sends the job; the agent starts at once.
    pub async fn send_job(&mut self, job: &AgentJob) -> Result<(), SandboxError> {
        let bytes = encode_job(job);
        self.input.write_all(&bytes).await.map_err(SandboxError::Input)?;
        self.input.flush().await.map_err(SandboxError::Input)?;
        Ok(())
    }

    /// The next frame from the agent; `None` when the stream ended.
    pub async fn next_frame(&mut self) -> Result<Option<(FrameKind, Vec<u8>)>, SandboxError> {
        loop {
            if let Some(frame) = self.decoder.next_frame()? {
                return Ok(Some(frame));
            }
            match self.output.next().await {
                Some(Ok(bollard::container::LogOutput::StdOut { message }))
                | Some(Ok(bollard::container::LogOutput::Console { message })) => self.decoder.push(&message),
                Some(Ok(bollard::container::LogOutput::StdErr { message })) => {
                    tracing::warn!(sandbox = %self.id, "agent stderr: {}", String::from_utf8_lossy(&message).trim_end());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(None),
            }
        }
    }
}

/// Removes a sandbox and everything in it. Never fails: a sandbox that cannot be removed
/// now is logged and swept at the next start.
pub async fn destroy(engine: Engine, id: String) {
    let opts = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    let mut delay = Duration::from_millis(100);
    for attempt in 0..8 {
        match engine.docker.remove_container(&id, Some(opts.clone())).await {
            Ok(()) => return,
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => return,
            Err(e) if attempt == 7 => tracing::error!(sandbox = %id, "could not remove sandbox: {e}"),
            Err(e) => {
                tracing::debug!(sandbox = %id, "removal failed, retrying: {e}");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// Removes every sandbox of this node left from an earlier life (a crash, a kill -9).
pub async fn sweep(engine: &Engine, node_id: &str) -> Result<usize, SandboxError> {
    let found = list(engine, node_id).await?;
    let n = found.len();
    for (id, _) in found {
        destroy(engine.clone(), id).await;
    }
    Ok(n)
}

/// This node's sandboxes that exist now, as (id, job label); pre-started ones have a job
/// label starting with `pool-`.
pub async fn list(engine: &Engine, node_id: &str) -> Result<Vec<(String, String)>, SandboxError> {
    let filters = HashMap::from([("label".to_string(), vec![format!("{NODE_LABEL}={node_id}")])]);
    let opts = ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..Default::default()
    };
    // Podman's list fails now and then while it removes a container; ask again.
    let mut attempt = 0;
    let list = loop {
        match engine.docker.list_containers(Some(opts.clone())).await {
            Ok(list) => break list,
            Err(e) if attempt >= 4 => return Err(e.into()),
            Err(e) => {
                tracing::debug!("listing sandboxes failed, retrying: {e}");
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
        }
    };
    Ok(list
        .into_iter()
        .filter_map(|c| {
            let job = c
                .labels
                .as_ref()
                .and_then(|l| l.get(JOB_LABEL))
                .cloned()
                .unwrap_or_default();
            Some((c.id?, job))
        })
        .collect())
}

/// Removes finished sandboxes in the background, so a run's slot is free the moment its
/// verdict is known while removal (100–300 ms on Podman) happens beside the next run.
pub struct Remover {
    tx: tokio::sync::mpsc::Sender<String>,
    pending: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    engine: Engine,
    task: tokio::task::JoinHandle<()>,
}

impl Remover {
    /// Removals queued beyond this are done inline by the caller (back-pressure).
    const QUEUE: usize = 1024;
    /// Removals in flight at once.
    const PARALLEL: usize = 2;

    pub fn new(engine: Engine) -> Self {
        let (tx, rx) = tokio::sync::mpsc::channel::<String>(Self::QUEUE);
        let pending = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (e, p) = (engine.clone(), pending.clone());
        let task = tokio::spawn(async move {
            let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|id| (id, rx)) });
            stream
                .for_each_concurrent(Self::PARALLEL, |id| {
                    let (e, p) = (e.clone(), p.clone());
                    async move {
                        destroy(e, id).await;
                        p.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    }
                })
                .await;
        });
        Self {
            tx,
            pending,
            engine,
            task,
        }
    }

    /// Queues a sandbox for removal.
    pub async fn remove(&self, id: String) {
        self.pending.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Err(e) = self.tx.try_send(id) {
            let id = match e {
                tokio::sync::mpsc::error::TrySendError::Full(id)
                | tokio::sync::mpsc::error::TrySendError::Closed(id) => id,
            };
            destroy(self.engine.clone(), id).await;
            self.pending.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Waits until every queued removal is done, up to `timeout`.
    pub async fn flush(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, async {
            while self.pending.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }
}

impl Drop for Remover {
    fn drop(&mut self) {
        self.task.abort();
    }
}
