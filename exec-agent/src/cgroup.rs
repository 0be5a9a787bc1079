//! Reading the sandbox's own cgroup: the limits the kernel really enforces, CPU used, memory
//! peak and OOM kills.
//!
//! Container engines mount the container's cgroup at `/sys/fs/cgroup` (read-only). On cgroup
//! v1 each controller has its own directory; on v2 it is one unified directory.

use std::fs;
use std::path::{Path, PathBuf};

use tandem_shared::sandbox::ObservedLimits;

/// Values above this are "unlimited" (v1 writes a page-rounded i64::MAX).
const UNLIMITED: u64 = 1 << 60;

pub enum Cgroup {
    V1 { root: PathBuf },
    V2 { dir: PathBuf },
    None,
}

fn read_u64(path: impl AsRef<Path>) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn read_key(path: impl AsRef<Path>, key: &str) -> Option<u64> {
    let text = fs::read_to_string(path).ok()?;
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next() == Some(key)).then(|| it.next()?.parse().ok()).flatten()
    })
}

fn limited(v: Option<u64>) -> Option<u64> {
    v.filter(|&v| v < UNLIMITED)
}

impl Cgroup {
    pub fn detect() -> Self {
        let root = PathBuf::from("/sys/fs/cgroup");
        if root.join("cgroup.controllers").exists() {
            Cgroup::V2 { dir: root }
        } else if root.join("memory").is_dir() {
            Cgroup::V1 { root }
        } else {
            Cgroup::None
        }
    }

    pub fn limits(&self) -> ObservedLimits {
        match self {
            Cgroup::V1 { root } => {
                let quota = fs::read_to_string(root.join("cpu/cpu.cfs_quota_us"))
                    .ok()
                    .and_then(|s| s.trim().parse::<i64>().ok());
                let period = read_u64(root.join("cpu/cpu.cfs_period_us"));
                let cpu_millis = match (quota, period) {
                    (Some(q), Some(p)) if q > 0 && p > 0 => Some(q as u64 * 1000 / p),
                    _ => None,
                };
                ObservedLimits {
                    memory_bytes: limited(read_u64(root.join("memory/memory.limit_in_bytes"))),
                    memory_swap_bytes: limited(read_u64(root.join("memory/memory.memsw.limit_in_bytes"))),
                    pids: limited(read_u64(root.join("pids/pids.max"))),
                    cpu_millis,
                    cgroup_version: 1,
                    lowest_host_uid: None,
                }
            }
            Cgroup::V2 { dir } => {
                let cpu_millis = fs::read_to_string(dir.join("cpu.max")).ok().and_then(|s| {
                    let mut it = s.split_whitespace();
                    let q: u64 = it.next()?.parse().ok()?;
                    let p: u64 = it.next()?.parse().ok()?;
                    (p > 0).then(|| q * 1000 / p)
                });
                let mem = limited(read_u64(dir.join("memory.max")));
                let swap = read_u64(dir.join("memory.swap.max"));
                ObservedLimits {
                    memory_bytes: mem,
                    memory_swap_bytes: match (mem, swap) {
                        (Some(m), Some(s)) if s < UNLIMITED => Some(m + s),
                        _ => None,
                    },
                    pids: limited(read_u64(dir.join("pids.max"))),
                    cpu_millis,
                    cgroup_version: 2,
                    lowest_host_uid: None,
                }
            }
            Cgroup::None => ObservedLimits::default(),
        }
    }

    /// CPU time used by the whole sandbox so far, in nanoseconds.
    pub fn cpu_ns(&self) -> Option<u64> {
        match self {
            Cgroup::V1 { root } => read_u64(root.join("cpuacct/cpuacct.usage")),
            Cgroup::V2 { dir } => read_key(dir.join("cpu.stat"), "usage_usec").map(|us| us * 1000),
            Cgroup::None => None,
        }
    }

    /// Memory in use by the sandbox now.
    pub fn memory_now(&self) -> Option<u64> {
        match self {
            Cgroup::V1 { root } => read_u64(root.join("memory/memory.usage_in_bytes")),
            Cgroup::V2 { dir } => read_u64(dir.join("memory.current")),
            Cgroup::None => None,
        }
    }

    /// Peak memory of the sandbox since it started.
    pub fn memory_peak(&self) -> Option<u64> {
        match self {
            Cgroup::V1 { root } => read_u64(root.join("memory/memory.max_usage_in_bytes")),
            Cgroup::V2 { dir } => read_u64(dir.join("memory.peak")),
            Cgroup::None => None,
        }
    }

    /// How many times the kernel's OOM killer has fired in the sandbox.
    pub fn oom_kills(&self) -> u64 {
        match self {
            Cgroup::V1 { root } => read_key(root.join("memory/memory.oom_control"), "oom_kill"),
            Cgroup::V2 { dir } => read_key(dir.join("memory.events"), "oom_kill"),
            Cgroup::None => None,
        }
        .unwrap_or(0)
    }
}
