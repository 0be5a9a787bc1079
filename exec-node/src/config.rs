//! The node's operator settings: default limits, the maximums a request may ask for, queue
//! sizes and where things live.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

const MIB: u64 = 1024 * 1024;

/// Limits one phase gets when a request says nothing, and the most it may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseBounds {
    pub default_wall_ms: u64,
    pub max_wall_ms: u64,
    pub default_cpu_ms: u64,
    pub max_cpu_ms: u64,
}

/// Operator configuration (`--config FILE`, TOML; every field optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Identifies this node's sandboxes so start-up can sweep only its own leftovers.
    pub node_id: String,
    /// Where sled keeps job records and the audit log.
    pub data_dir: PathBuf,
    /// The `tandem-agent` binary mounted into every sandbox.
    pub agent_path: PathBuf,
    /// Runs executing at once.
    pub max_parallel: usize,
    /// Runs waiting for a slot before new ones are refused as busy.
    pub max_queue: usize,
    pub compile: PhaseBounds,
    pub run: PhaseBounds,
    pub default_memory_bytes: u64,
    pub max_memory_bytes: u64,
    pub default_pids: u64,
    pub max_pids: u64,
    pub default_output_bytes: u64,
    pub max_output_bytes: u64,
    /// CPU quota per sandbox, in thousandths of a CPU.
    pub cpu_millis: u64,
    /// Size of the sandbox's writable work dir (tmpfs), in bytes.
    pub work_dir_bytes: u64,
    /// Size of the sandbox's /tmp (tmpfs), in bytes.
    pub tmp_bytes: u64,
    pub max_files: usize,
    pub max_source_bytes: usize,
    pub max_stdin_bytes: usize,
    pub max_args: usize,
    /// Run even if the engine does not enforce limits. Dangerous: logs a loud warning.
    pub allow_unenforced_limits: bool,
    /// User namespace of every sandbox: `auto` (Podman: a range of host uids of its own, from
    /// the `containers` entries of /etc/subuid and /etc/subgid), or empty (the default) to
    /// leave it to the engine (Docker's daemon-wide `userns-remap`, Podman's `remap-uids` in
    /// storage.conf). Podman 4.3 deadlocks its API service when `auto` sandboxes are created
    /// concurrently (reproduced with `tests/languages.rs`: the service holds its storage,
    /// layers, images and userns locks and answers nothing), so `auto` wants a newer Podman.
    pub sandbox_userns: String,
    /// Refuse to start (like an unenforced limit) unless the probe sandbox's uids map to host
    /// uids of no host account (at least 65536). Off: the node warns at start-up instead.
    pub require_user_namespace: bool,
    /// Pre-started sandboxes kept per language even with no demand (0 allowed).
    pub pool_floor: usize,
    /// Most pre-started sandboxes per language under demand.
    pub pool_ceiling: usize,
    /// Languages that get pre-started sandboxes; empty means all.
    pub pool_languages: Vec<String>,
    /// Where compiled builds are cached; none disables the cache. `serve` defaults it to
    /// `<data_dir>/compile-cache`.
    pub compile_cache_dir: Option<PathBuf>,
    /// Size bound of the compile cache, in bytes (least recently used builds go first).
    pub compile_cache_bytes: u64,
    /// Room path: hex keys of interviewers whose rooms this node serves.
    pub room_interviewers: Vec<String>,
    /// Room path: hex keys of organisations whose endorsed interviewers' rooms this node serves.
    pub room_organisations: Vec<String>,
    /// Room path: runs one member may start per minute.
    pub room_runs_per_minute_per_requester: usize,
    /// Room path: runs one room may start per minute.
    pub room_runs_per_minute_per_room: usize,
    /// Room path: Submits (hidden tests) one member may make per minute, on top of the run rate.
    pub room_submits_per_minute_per_member: usize,
    /// Room path: Submits one room may make per minute.
    pub room_submits_per_minute_per_room: usize,
    /// The problem bank: a directory of problem files (`*.toml`); unset or empty means the
    /// bundled starter set.
    pub problems_dir: Option<PathBuf>,
    /// HTTP API keys (hashed; see `auth`). None: the HTTP API listens on loopback only.
    pub api_keys: Vec<crate::auth::ApiKey>,
    /// HTTP requests one client IP may make per minute (before its key is looked at).
    pub http_requests_per_minute_per_ip: u32,
    /// HTTP requests one API key (by name) may make per minute.
    pub http_requests_per_minute_per_key: u32,
}

impl Default for NodeConfig {
    fn default() -> Self {
        Self {
            node_id: "default".into(),
            data_dir: PathBuf::from("/var/lib/tandem/exec"),
            agent_path: default_agent_path(),
            max_parallel: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .max(2),
            max_queue: 256,
            compile: PhaseBounds {
                default_wall_ms: 10_000,
                max_wall_ms: 30_000,
                default_cpu_ms: 10_000,
                max_cpu_ms: 30_000,
            },
            // A busy loop ends as a CPU-time verdict at 3 s; a sleeper as a wall-time verdict at 5 s.
            run: PhaseBounds {
                default_wall_ms: 5_000,
                max_wall_ms: 20_000,
                default_cpu_ms: 3_000,
                max_cpu_ms: 20_000,
            },
            default_memory_bytes: 256 * MIB,
            max_memory_bytes: 1024 * MIB,
            default_pids: 64,
            max_pids: 256,
            default_output_bytes: 64 * 1024,
            max_output_bytes: MIB,
            cpu_millis: 1000,
            work_dir_bytes: 64 * MIB,
            tmp_bytes: 16 * MIB,
            max_files: 32,
            max_source_bytes: MIB as usize,
            max_stdin_bytes: MIB as usize,
            max_args: 64,
            allow_unenforced_limits: false,
            sandbox_userns: String::new(),
            require_user_namespace: false,
            pool_floor: 1,
            pool_ceiling: 4,
            pool_languages: Vec::new(),
            compile_cache_dir: None,
            compile_cache_bytes: 512 * MIB,
            room_interviewers: Vec::new(),
            room_organisations: Vec::new(),
            room_runs_per_minute_per_requester: 30,
            room_runs_per_minute_per_room: 90,
            room_submits_per_minute_per_member: 3,
            room_submits_per_minute_per_room: 6,
            problems_dir: None,
            api_keys: Vec::new(),
            http_requests_per_minute_per_ip: 1200,
            http_requests_per_minute_per_key: 600,
        }
    }
}

/// `tandem-agent` next to the running executable, where `cargo build` and the packages put it.
pub fn default_agent_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            let dir = exe.parent()?;
            // Test binaries live one level down, in target/<profile>/deps.
            [dir.join("tandem-agent"), dir.parent()?.join("tandem-agent")]
                .into_iter()
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| PathBuf::from("/usr/lib/tandem/tandem-agent"))
}

impl NodeConfig {
    /// Reads an operator config file (TOML); fields left out keep their defaults.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}
