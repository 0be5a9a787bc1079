//! Job records and the audit log, kept in sled so they survive restarts.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::Digest;
use tandem_shared::exec::{RunResult, Verdict};

use crate::request::PreparedRun;

/// How much of each output stream a record keeps.
const KEPT_OUTPUT: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job store at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: sled::Error,
    },
    #[error("job store: {0}")]
    Sled(#[from] sled::Error),
    #[error("job store holds a record it cannot read: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// What the node remembers about a finished run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    pub job_id: String,
    pub requester: String,
    /// Whose turn the run waited for in the fair queue (a room, an API key, a requester).
    #[serde(default)]
    pub tenant: String,
    pub language: String,
    pub version: String,
    pub verdict: Verdict,
    pub limits: tandem_shared::exec::ResolvedLimits,
    pub finished_at_ms: u64,
    pub total_ms: u64,
    pub compile_wall_ms: Option<u64>,
    pub run_wall_ms: Option<u64>,
    pub run_cpu_ms: Option<u64>,
    pub memory_bytes: Option<u64>,
    pub exit_code: Option<i32>,
    pub signal: Option<String>,
    /// The first 4 KiB of each stream.
    pub stdout: String,
    pub stderr: String,
}

/// Who ran what, appended before the run starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at_ms: u64,
    pub job_id: String,
    pub requester: String,
    pub language: String,
    pub files: usize,
    pub source_bytes: usize,
    /// SHA-256 of the files (name, NUL, content, NUL, …).
    pub source_sha256: String,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn truncate(s: &str) -> String {
    if s.len() <= KEPT_OUTPUT {
        return s.to_string();
    }
    let mut end = KEPT_OUTPUT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    jobs: sled::Tree,
    audit: sled::Tree,
}

impl Store {
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        // Through tandem_memory: sled's unused metric histograms (20 MiB) are given back.
        let db = tandem_memory::opening_sled(|| sled::open(dir)).map_err(|source| StoreError::Open {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(Self {
            jobs: db.open_tree("jobs")?,
            audit: db.open_tree("audit")?,
            db,
        })
    }

    pub fn audit(&self, job_id: &str, requester: &str, prep: &PreparedRun) -> Result<(), StoreError> {
        let mut hash = sha2::Sha256::new();
        for (name, data) in &prep.files {
            hash.update(name.as_bytes());
            hash.update([0]);
            hash.update(data);
            hash.update([0]);
        }
        let entry = AuditEntry {
            at_ms: now_ms(),
            job_id: job_id.into(),
            requester: requester.into(),
            language: prep.language.id.clone(),
            files: prep.files.len(),
            source_bytes: prep.source_bytes,
            source_sha256: hash.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        };
        // Key: time then id, so the log iterates in order.
        let mut key = entry.at_ms.to_be_bytes().to_vec();
        key.extend_from_slice(job_id.as_bytes());
        self.audit.insert(key, serde_json::to_vec(&entry)?)?;
        Ok(())
    }

    pub fn record(&self, requester: &str, tenant: &str, r: &RunResult) -> Result<(), StoreError> {
        let run = r.run.as_ref();
        let rec = JobRecord {
            job_id: r.job_id.clone(),
            requester: requester.into(),
            tenant: tenant.into(),
            language: r.language.clone(),
            version: r.version.clone(),
            verdict: r.verdict,
            limits: r.limits,
            finished_at_ms: now_ms(),
            total_ms: r.total_ms,
            compile_wall_ms: r.compile.as_ref().map(|c| c.wall_ms),
            run_wall_ms: run.map(|p| p.wall_ms),
            run_cpu_ms: run.map(|p| p.cpu_ms),
            memory_bytes: run.and_then(|p| p.memory_bytes),
            exit_code: run.and_then(|p| p.exit_code),
            signal: run.and_then(|p| p.signal.clone()),
            stdout: truncate(run.map(|p| p.stdout.as_str()).unwrap_or("")),
            stderr: truncate(run.or(r.compile.as_ref()).map(|p| p.stderr.as_str()).unwrap_or("")),
        };
        self.jobs.insert(r.job_id.as_bytes(), serde_json::to_vec(&rec)?)?;
        Ok(())
    }

    pub fn job(&self, job_id: &str) -> Result<Option<JobRecord>, StoreError> {
        Ok(match self.jobs.get(job_id.as_bytes())? {
            Some(v) => Some(serde_json::from_slice(&v)?),
            None => None,
        })
    }

    /// The newest `n` audit entries, newest first.
    pub fn recent_audit(&self, n: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit
            .iter()
            .rev()
            .take(n)
            .map(|kv| Ok(serde_json::from_slice(&kv?.1)?))
            .collect()
    }

    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }
}
