//! The framing between the execution node and `tandem-agent`, the small program that is the
//! entry point of every sandbox.
//!
//! Why an agent: a sandbox can be created and started before any job exists (the node's pool
//! keeps some warm), and the job then arrives over the container's attached stdin with no
//! `exec` round trip. The agent writes the files, runs each phase under its limits, streams
//! output, and reports each phase's exit status itself, so the node never waits for the
//! engine's slow `wait` on the hot path.
//!
//! Node → agent: one job, `u32` big-endian length + JSON [`AgentJob`].
//! Agent → node: frames of `u8` kind + `u32` big-endian length + payload ([`FrameKind`]).

use serde::{Deserialize, Serialize};

use crate::exec::Phase;

/// Version of the agent protocol; the agent refuses a job of another version.
pub const AGENT_PROTOCOL_VERSION: u32 = 2;
/// Largest job the agent accepts (files + stdin, base64-encoded, plus JSON).
pub const MAX_JOB_BYTES: usize = 16 * 1024 * 1024;
/// Largest frame payload the agent sends; output is cut into chunks of at most this.
pub const MAX_FRAME_PAYLOAD: usize = 64 * 1024;
/// Where the node mounts the agent binary inside the sandbox.
pub const AGENT_PATH_IN_SANDBOX: &str = "/opt/tandem-agent/tandem-agent";
/// The sandbox's writable work dir.
pub const WORK_DIR: &str = "/work";

/// Kinds of agent → node frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameKind {
    /// JSON [`AgentHello`]: the agent is up and reports the limits its sandbox really has.
    Hello = 1,
    /// Raw stdout bytes of the current phase.
    Stdout = 2,
    /// Raw stderr bytes of the current phase.
    Stderr = 3,
    /// JSON [`PhaseReport`]: the current phase ended.
    PhaseEnd = 4,
    /// UTF-8 text: the agent could not carry out the job (bad job, I/O error).
    Fatal = 5,
    /// Empty: every phase that should run has run; the agent exits next.
    Done = 6,
    /// A piece of a compile artefact ([`ArtifactChunk`]), sent after a successful compile
    /// phase and before its `PhaseEnd`, so the run phase cannot have touched it.
    Artifact = 7,
    /// Empty: the next phase's process is about to start. The node starts that phase's wall
    /// clock here and ends the phase itself at its wall limit, whatever the agent does (a
    /// program can stop or kill the agent, which shares its uid).
    PhaseStart = 8,
}

impl FrameKind {
    pub fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            1 => Self::Hello,
            2 => Self::Stdout,
            3 => Self::Stderr,
            4 => Self::PhaseEnd,
            5 => Self::Fatal,
            6 => Self::Done,
            7 => Self::Artifact,
            8 => Self::PhaseStart,
            _ => return None,
        })
    }
}

/// Limits the agent reads from its own cgroup: what the kernel really enforces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedLimits {
    /// Memory limit in bytes; `None` if unlimited or unreadable.
    pub memory_bytes: Option<u64>,
    /// Memory+swap limit in bytes (v1 `memsw`, v2 `memory.max + swap.max`).
    pub memory_swap_bytes: Option<u64>,
    /// pids limit; `None` if unlimited or unreadable.
    pub pids: Option<u64>,
    /// CPU quota in thousandths of a CPU; `None` if unlimited or unreadable.
    pub cpu_millis: Option<u64>,
    /// The cgroup version seen (1 or 2), 0 when none was found.
    pub cgroup_version: u8,
    /// The lowest host uid any uid of the sandbox maps to (`/proc/self/uid_map`); `None` if
    /// unreadable. Without a user namespace this is 0 (the identity map), and the sandbox's
    /// uid 1000 is the host's uid 1000.
    #[serde(default)]
    pub lowest_host_uid: Option<u64>,
}

/// Host uids below this belong to the host's own accounts; a sandbox's uids must map above it.
pub const HOST_UID_FLOOR: u64 = 65_536;

/// The lowest host uid in a `/proc/<pid>/uid_map` text (`inside outside count` per line).
pub fn lowest_host_uid(uid_map: &str) -> Option<u64> {
    uid_map
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .min()
}

/// First frame of every sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentHello {
    pub version: u32,
    pub limits: ObservedLimits,
    pub uid: u32,
}

/// A file to write into the work dir.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentFile {
    /// Relative path inside the work dir, already validated by the node.
    pub path: String,
    /// Content, base64.
    pub data: String,
    /// Whether to make it executable (a cached compiled program).
    #[serde(default)]
    pub executable: bool,
}

/// One phase to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentPhase {
    pub phase: Phase,
    pub argv: Vec<String>,
    pub wall_ms: u64,
    pub cpu_ms: u64,
    /// Memory allowed to this phase. When lower than the sandbox's cgroup limit the agent
    /// enforces it by watching the cgroup's usage.
    pub memory_bytes: u64,
    /// Cap per output stream.
    pub output_bytes: u64,
    /// Standard input, base64.
    #[serde(default)]
    pub stdin: String,
    /// When the sandbox pre-started this phase's program (the agent's `--prestart`), the
    /// argv to hand it (the main file and the program's arguments) instead of `argv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prestarted: Option<Vec<String>>,
}

/// The job the node sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentJob {
    pub version: u32,
    pub files: Vec<AgentFile>,
    /// `[from, to]`: directories copied from the image into the work dir first.
    #[serde(default)]
    pub seed_dirs: Vec<[String; 2]>,
    /// `KEY=value` environment for every phase.
    #[serde(default)]
    pub env: Vec<String>,
    /// Phases in order; the agent stops after the first one that does not exit 0.
    pub phases: Vec<AgentPhase>,
    /// Files the compile phase produces for the run phase (`main`, `*.class`), sent back as
    /// [`FrameKind::Artifact`] frames so the node can cache the build.
    #[serde(default)]
    pub artifacts: Vec<String>,
}

/// Whether a work-dir-relative path matches an artefact pattern: an exact path, or
/// `*.ext` for any file with that extension at any depth.
pub fn artifact_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(suffix) => path.ends_with(suffix),
        None => pattern == path,
    }
}

/// One piece of an artefact file. Payload: `u16` path length, path, `u8` flags, bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactChunk {
    pub path: String,
    pub executable: bool,
    /// First chunk of this file (the node starts the file anew).
    pub first: bool,
    pub data: Vec<u8>,
}

impl ArtifactChunk {
    /// Room for data in one frame after the header.
    pub fn max_data(path: &str) -> usize {
        MAX_FRAME_PAYLOAD - 3 - path.len()
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 + self.path.len() + self.data.len());
        out.extend_from_slice(&(self.path.len() as u16).to_be_bytes());
        out.extend_from_slice(self.path.as_bytes());
        out.push(u8::from(self.executable) | (u8::from(self.first) << 1));
        out.extend_from_slice(&self.data);
        out
    }

    pub fn decode(payload: &[u8]) -> Option<Self> {
        let len = u16::from_be_bytes([*payload.first()?, *payload.get(1)?]) as usize;
        let path = std::str::from_utf8(payload.get(2..2 + len)?).ok()?.to_string();
        let flags = *payload.get(2 + len)?;
        Some(Self {
            path,
            executable: flags & 1 != 0,
            first: flags & 2 != 0,
            data: payload[3 + len..].to_vec(),
        })
    }
}

/// Which limit ended a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitHit {
    Cpu,
    Wall,
    Memory,
    Stdout,
    Stderr,
}

/// How a phase ended, as the agent saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseReport {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub cpu_ms: u64,
    pub wall_ms: u64,
    /// Peak memory of the sandbox's cgroup, when readable.
    pub memory_peak_bytes: Option<u64>,
    /// The limit the agent or the kernel enforced, if any.
    pub limit: Option<LimitHit>,
    /// Whether the kernel's OOM killer fired in this phase (from the cgroup's counter).
    pub oom_killed: bool,
    /// Failure to start the command (e.g. compiler missing): the OS error text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spawn_error: Option<String>,
}

/// Encodes one agent → node frame.
pub fn encode_frame(kind: FrameKind, payload: &[u8], out: &mut Vec<u8>) {
    out.push(kind as u8);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
}

/// Encodes the node → agent job.
pub fn encode_job(job: &AgentJob) -> Vec<u8> {
    let json = serde_json::to_vec(job).expect("job serializes");
    let mut out = Vec::with_capacity(json.len() + 4);
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(&json);
    out
}

/// A malformed agent stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME_PAYLOAD}")]
    TooLarge(usize),
}

/// Incremental decoder for agent → node frames: feed bytes as they arrive, take frames out.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
}

impl FrameDecoder {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<(FrameKind, Vec<u8>)>, FrameError> {
        if self.buf.len() < 5 {
            return Ok(None);
        }
        let kind = FrameKind::from_u8(self.buf[0]).ok_or(FrameError::UnknownKind(self.buf[0]))?;
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > MAX_FRAME_PAYLOAD {
            return Err(FrameError::TooLarge(len));
        }
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        let payload = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        Ok(Some((kind, payload)))
    }

    /// Bytes received but not yet part of a whole frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_across_arbitrary_splits() {
        let mut wire = Vec::new();
        encode_frame(FrameKind::Stdout, b"hello", &mut wire);
        encode_frame(FrameKind::Done, b"", &mut wire);
        for split in 0..wire.len() {
            let mut d = FrameDecoder::default();
            d.push(&wire[..split]);
            let mut got = Vec::new();
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
            d.push(&wire[split..]);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
            assert_eq!(
                got,
                vec![(FrameKind::Stdout, b"hello".to_vec()), (FrameKind::Done, vec![])]
            );
            assert_eq!(d.pending(), 0);
        }
    }

    #[test]
    fn artifact_chunks_round_trip() {
        let c = ArtifactChunk {
            path: "pkg/Main.class".into(),
            executable: false,
            first: true,
            data: vec![0xca, 0xfe],
        };
        assert_eq!(ArtifactChunk::decode(&c.encode()), Some(c));
        assert_eq!(ArtifactChunk::decode(&[0, 9, b'x']), None);
        assert!(artifact_matches("*.class", "a/B.class"));
        assert!(artifact_matches("main", "main"));
        assert!(!artifact_matches("main", "main.go"));
    }

    #[test]
    fn uid_maps_are_read_for_their_lowest_host_uid() {
        assert_eq!(lowest_host_uid("         0          0 4294967295\n"), Some(0));
        assert_eq!(lowest_host_uid("         0 2147483647      65534\n"), Some(2147483647));
        assert_eq!(lowest_host_uid("0 200000 1000\n1000 300000 1\n"), Some(200000));
        assert_eq!(lowest_host_uid(""), None);
    }

    #[test]
    fn oversized_and_unknown_frames_are_errors() {
        let mut d = FrameDecoder::default();
        d.push(&[2, 0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(d.next_frame(), Err(FrameError::TooLarge(_))));
        let mut d = FrameDecoder::default();
        d.push(&[99, 0, 0, 0, 0]);
        assert_eq!(d.next_frame(), Err(FrameError::UnknownKind(99)));
    }
}
