//! Job records and the audit log, kept in sled so they survive restarts.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::Digest;
use tandem_shared::exec::{RunRequest, RunResult, Verdict};

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

/// One line of the audit log: when, and what happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at_ms: u64,
    #[serde(flatten)]
    pub event: AuditEvent,
}

/// What the audit log records: every run as it is accepted and as it ends, and room peers
/// joining and leaving the room path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AuditEvent {
    /// A run was accepted. `requester` is who asked (`key:<name>` for an API key, a member's
    /// key on the room path, the address of a local caller); `tenant` whose turn it waits for
    /// (the room on the room path, the key otherwise).
    Run {
        job_id: String,
        requester: String,
        tenant: String,
        language: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        problem: Option<String>,
        #[serde(default)]
        submit: bool,
        files: usize,
        source_bytes: usize,
        /// SHA-256 of the files (name, NUL, content, NUL, …).
        source_sha256: String,
    },
    /// A run ended.
    Verdict {
        job_id: String,
        requester: String,
        tenant: String,
        verdict: Verdict,
        /// The judge's overall verdict of a problem run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tests: Option<tandem_shared::exec::TestVerdict>,
    },
    /// A member was admitted to a room on the room path.
    Join { room: String, member: String, role: String },
    /// A member's room-path connection ended.
    Leave { room: String, member: String },
}

/// Which audit entries to read; every field left out matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// A room id (room path) or any run's tenant.
    pub room: Option<String>,
    /// A run's requester or a room member.
    pub requester: Option<String>,
    pub since_ms: Option<u64>,
    pub until_ms: Option<u64>,
}

impl AuditFilter {
    pub fn matches(&self, e: &AuditEntry) -> bool {
        let (room, who) = match &e.event {
            AuditEvent::Run { tenant, requester, .. } | AuditEvent::Verdict { tenant, requester, .. } => {
                (tenant, requester)
            }
            AuditEvent::Join { room, member, .. } | AuditEvent::Leave { room, member } => (room, member),
        };
        self.room.as_ref().is_none_or(|r| r == room)
            && self.requester.as_ref().is_none_or(|r| r == who)
            && self.since_ms.is_none_or(|t| e.at_ms >= t)
            && self.until_ms.is_none_or(|t| e.at_ms <= t)
    }
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

    /// Appends to the audit log (keyed by time, then a counter, so it reads in order).
    pub fn audit(&self, event: AuditEvent) -> Result<(), StoreError> {
        let entry = AuditEntry { at_ms: now_ms(), event };
        let mut key = entry.at_ms.to_be_bytes().to_vec();
        key.extend_from_slice(&self.db.generate_id()?.to_be_bytes());
        self.audit.insert(key, serde_json::to_vec(&entry)?)?;
        Ok(())
    }

    /// The audit entry of an accepted run.
    pub fn run_entry(job_id: &str, requester: &str, tenant: &str, req: &RunRequest, prep: &PreparedRun) -> AuditEvent {
        let mut hash = sha2::Sha256::new();
        for (name, data) in &prep.files {
            hash.update(name.as_bytes());
            hash.update([0]);
            hash.update(data);
            hash.update([0]);
        }
        AuditEvent::Run {
            job_id: job_id.into(),
            requester: requester.into(),
            tenant: tenant.into(),
            language: prep.language.id.clone(),
            problem: req.problem.clone(),
            submit: req.submit,
            files: prep.files.len(),
            source_bytes: prep.source_bytes,
            source_sha256: hash.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// The audit entries that `filter` matches, oldest first.
    pub fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let from = filter.since_ms.unwrap_or(0).to_be_bytes();
        let mut out = Vec::new();
        for kv in self.audit.range(from.as_slice()..) {
            let entry: AuditEntry = serde_json::from_slice(&kv?.1)?;
            if filter.until_ms.is_some_and(|t| entry.at_ms > t) {
                break;
            }
            if filter.matches(&entry) {
                out.push(entry);
            }
        }
        Ok(out)
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

    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(room: &str, member: &str) -> AuditEvent {
        AuditEvent::Join {
            room: room.into(),
            member: member.into(),
            role: "candidate".into(),
        }
    }

    #[test]
    fn the_audit_log_reads_back_in_order_and_filters_by_room_requester_and_time() {
        let dir = std::env::temp_dir().join(format!("tandem-audit-{}", uuid::Uuid::new_v4().simple()));
        let store = Store::open(&dir).unwrap();
        store.audit(join("r1", "alice")).unwrap();
        store
            .audit(AuditEvent::Verdict {
                job_id: "j1".into(),
                requester: "alice".into(),
                tenant: "r1".into(),
                verdict: Verdict::Ok,
                tests: Some(tandem_shared::exec::TestVerdict::Accepted),
            })
            .unwrap();
        store.audit(join("r2", "bob")).unwrap();
        store
            .audit(AuditEvent::Leave {
                room: "r1".into(),
                member: "alice".into(),
            })
            .unwrap();
        let all = store.audit_log(&AuditFilter::default()).unwrap();
        assert_eq!(all.len(), 4);
        assert!(all.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        assert_eq!(all[0].event, join("r1", "alice"));
        let r1 = AuditFilter {
            room: Some("r1".into()),
            ..Default::default()
        };
        assert_eq!(store.audit_log(&r1).unwrap().len(), 3);
        let bob = AuditFilter {
            requester: Some("bob".into()),
            ..Default::default()
        };
        assert_eq!(store.audit_log(&bob).unwrap(), vec![all[2].clone()]);
        let future = AuditFilter {
            since_ms: Some(all[3].at_ms + 1),
            ..Default::default()
        };
        assert!(store.audit_log(&future).unwrap().is_empty());
        let past = AuditFilter {
            until_ms: Some(all[0].at_ms.saturating_sub(1)),
            ..Default::default()
        };
        assert!(store.audit_log(&past).unwrap().is_empty());
        // JSON lines: one object per entry, the event named.
        let line = serde_json::to_string(&all[1]).unwrap();
        assert!(
            line.contains("\"event\":\"verdict\"") && line.contains("\"tests\":\"accepted\""),
            "{line}"
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
