//! `tandem-agent`: the entry point of every Tandem sandbox.
//!
//! It says hello (with the limits its cgroup really has), reads one job from stdin, writes the
//! job's files into the work dir, runs each phase under its limits while streaming output as
//! frames on stdout, reports how each phase ended, and exits. The sandbox is then destroyed.
//!
//! The agent runs as the same unprivileged user as the program it runs, so it makes itself
//! non-dumpable: the program can then neither ptrace it nor open its stdout through `/proc`
//! to forge frames. It can still signal the agent: killed, the stream ends without a report and
//! the node reports an internal error at once; stopped, the node ends the phase itself at its
//! wall limit (it starts its own clock at the agent's `PhaseStart` frame).

mod cgroup;
mod phase;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::FromRawFd;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tandem_shared::exec::Phase;
use tandem_shared::sandbox::{
    artifact_matches, encode_frame, AgentHello, AgentJob, ArtifactChunk, FrameKind, AGENT_PROTOCOL_VERSION,
    MAX_JOB_BYTES, WORK_DIR,
};

/// The agent's frame writer, shared by the output readers of a phase.
#[derive(Clone)]
pub struct Out(Arc<Mutex<File>>);

impl Out {
    pub fn send(&self, kind: FrameKind, payload: &[u8]) {
        let mut buf = Vec::with_capacity(payload.len() + 5);
        encode_frame(kind, payload, &mut buf);
        let mut f = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // If the node went away there is nobody to tell; the phase will be killed anyway.
        let _ = f.write_all(&buf);
    }
}

fn main() {
    // SAFETY: plain prctl calls with constant arguments.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    // SAFETY: fd 1 is our stdout, owned by this process for its whole life.
    let out = Out(Arc::new(Mutex::new(unsafe { File::from_raw_fd(1) })));
    let cg = cgroup::Cgroup::detect();
    let mut limits = cg.limits();
    // Whether the sandbox's uids are host uids: the node checks it like the cgroup's limits.
    limits.lowest_host_uid = std::fs::read_to_string("/proc/self/uid_map")
        .ok()
        .and_then(|m| tandem_shared::sandbox::lowest_host_uid(&m));
    let hello = AgentHello {
        version: AGENT_PROTOCOL_VERSION,
        limits,
        // SAFETY: getuid cannot fail.
        uid: unsafe { libc::getuid() },
    };
    out.send(FrameKind::Hello, &serde_json::to_vec(&hello).expect("hello serializes"));
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    // Started now, before any job, so its start-up is not on the run's path.
    let env: Vec<String> = flag("--env")
        .and_then(|j| serde_json::from_str(j).ok())
        .unwrap_or_default();
    let prestarted = flag("--prestart")
        .and_then(|j| serde_json::from_str::<Vec<String>>(j).ok())
        .and_then(|argv| phase::Prestarted::start(&argv, &env).ok());
    if args.iter().any(|a| a == "--probe") {
        out.send(FrameKind::Done, b"");
        return;
    }
    let code = match read_job().and_then(|job| run(job, prestarted, &out, &cg)) {
        Ok(()) => {
            out.send(FrameKind::Done, b"");
            0
        }
        Err(msg) => {
            out.send(FrameKind::Fatal, msg.as_bytes());
            1
        }
    };
    std::process::exit(code);
}

fn read_job() -> Result<AgentJob, String> {
    let mut stdin = std::io::stdin().lock();
    let mut len = [0u8; 4];
    stdin
        .read_exact(&mut len)
        .map_err(|e| format!("reading job length: {e}"))?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_JOB_BYTES {
        return Err(format!("job of {len} bytes exceeds {MAX_JOB_BYTES}"));
    }
    let mut buf = vec![0u8; len];
    stdin.read_exact(&mut buf).map_err(|e| format!("reading job: {e}"))?;
    let job: AgentJob = serde_json::from_slice(&buf).map_err(|e| format!("malformed job: {e}"))?;
    if job.version != AGENT_PROTOCOL_VERSION {
        return Err(format!(
            "job protocol {} but agent speaks {AGENT_PROTOCOL_VERSION}",
            job.version
        ));
    }
    Ok(job)
}

fn run(job: AgentJob, mut prestarted: Option<phase::Prestarted>, out: &Out, cg: &cgroup::Cgroup) -> Result<(), String> {
    let work = Path::new(WORK_DIR);
    for [from, to] in &job.seed_dirs {
        let to = safe_join(work, to)?;
        copy_tree(Path::new(from), &to).map_err(|e| format!("seeding {from}: {e}"))?;
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    for file in &job.files {
        let path = safe_join(work, &file.path)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        let data = b64
            .decode(&file.data)
            .map_err(|e| format!("file {}: bad base64: {e}", file.path))?;
        std::fs::write(&path, data).map_err(|e| format!("writing {}: {e}", file.path))?;
        if file.executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("chmod {}: {e}", file.path))?;
        }
    }
    let reaper = phase::Reaper::start();
    for (i, p) in job.phases.iter().enumerate() {
        let stdin = b64.decode(&p.stdin).map_err(|e| format!("stdin: bad base64: {e}"))?;
        let pre = if p.phase == Phase::Run && p.prestarted.is_some() {
            prestarted.take()
        } else {
            None
        };
        out.send(FrameKind::PhaseStart, b"");
        let report = phase::run_phase(p, pre, &stdin, &job.env, i == 0, out, cg, &reaper);
        let ok = report.exit_code == Some(0) && report.limit.is_none() && !report.oom_killed;
        if ok && p.phase == Phase::Compile && !job.artifacts.is_empty() {
            // Before the run phase exists, so what the node caches is the compiler's output.
            send_artifacts(work, &job.artifacts, out);
        }
        out.send(
            FrameKind::PhaseEnd,
            &serde_json::to_vec(&report).expect("report serializes"),
        );
        if !ok {
            break;
        }
    }
    Ok(())
}

/// Largest total of artefacts sent back; a bigger build is simply not cached.
const MAX_ARTIFACT_BYTES: u64 = 64 * 1024 * 1024;

fn send_artifacts(work: &Path, patterns: &[String], out: &Out) {
    let mut files = Vec::new();
    collect(work, work, patterns, &mut files);
    let total: u64 = files
        .iter()
        .filter_map(|(p, _)| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    if total > MAX_ARTIFACT_BYTES {
        return;
    }
    for (path, rel) in files {
        use std::os::unix::fs::PermissionsExt;
        let Ok(data) = std::fs::read(&path) else { continue };
        let executable = std::fs::metadata(&path)
            .map(|m| m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false);
        let max = ArtifactChunk::max_data(&rel);
        let mut first = true;
        let mut chunks = data.chunks(max).peekable();
        if chunks.peek().is_none() {
            let c = ArtifactChunk {
                path: rel.clone(),
                executable,
                first: true,
                data: vec![],
            };
            out.send(FrameKind::Artifact, &c.encode());
        }
        for piece in chunks {
            let c = ArtifactChunk {
                path: rel.clone(),
                executable,
                first,
                data: piece.to_vec(),
            };
            out.send(FrameKind::Artifact, &c.encode());
            first = false;
        }
    }
}

fn collect(base: &Path, dir: &Path, patterns: &[String], found: &mut Vec<(PathBuf, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        let Ok(rel) = path.strip_prefix(base) else { continue };
        let rel = rel.to_string_lossy().into_owned();
        if ft.is_dir() && !rel.starts_with('.') {
            collect(base, &path, patterns, found);
        } else if ft.is_file() && patterns.iter().any(|p| artifact_matches(p, &rel)) {
            found.push((path, rel));
        }
    }
}

/// `base` joined with a relative path that must stay inside it.
fn safe_join(base: &Path, rel: &str) -> Result<PathBuf, String> {
    let p = Path::new(rel);
    if rel.is_empty() || !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(format!(
            "refusing path {rel:?}: must be relative and stay inside the work dir"
        ));
    }
    Ok(base.join(p))
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    if !from.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_stay_inside_the_work_dir() {
        let base = Path::new("/work");
        assert_eq!(safe_join(base, "a/b.py").unwrap(), Path::new("/work/a/b.py"));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "./x"] {
            assert!(safe_join(base, bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn artefacts_are_found_by_pattern_and_links_are_not_followed() {
        let dir = std::env::temp_dir().join(format!("tandem-agent-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("pkg")).unwrap();
        std::fs::create_dir_all(dir.join(".cache")).unwrap();
        std::fs::write(dir.join("main"), b"bin").unwrap();
        std::fs::write(dir.join("pkg/A.class"), b"cafe").unwrap();
        std::fs::write(dir.join(".cache/B.class"), b"cache").unwrap();
        std::fs::write(dir.join("main.go"), b"src").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.join("C.class")).unwrap();
        let mut found = Vec::new();
        collect(&dir, &dir, &["main".into(), "*.class".into()], &mut found);
        let mut names: Vec<String> = found.into_iter().map(|(_, rel)| rel).collect();
        names.sort();
        assert_eq!(names, vec!["main", "pkg/A.class"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
