//! The execution contract, version 1: what a client asks the execution node to run, the
//! limits it runs under, and the events it streams back.
//!
//! The same types serve the node's HTTP streaming endpoint and, later, the room transport,
//! so a run looks the same to every consumer. Output is carried as text cut at UTF-8
//! boundaries (invalid bytes become U+FFFD) because every consumer displays it.

use serde::{Deserialize, Serialize};

/// Version of this contract; bumped on any incompatible change.
pub const EXEC_PROTOCOL_VERSION: u32 = 1;

/// How a file's `content` is encoded (Piston's `files[].encoding`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    #[default]
    Utf8,
    Base64,
    Hex,
}

/// One source file of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// File name; the first file may omit it and gets the language's default name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub content: String,
    #[serde(default)]
    pub encoding: Encoding,
}

/// Limits a request may ask for; anything left out takes the node's default, and everything
/// is capped by the operator's maximums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitsRequest {
    pub compile_wall_ms: Option<u64>,
    pub compile_cpu_ms: Option<u64>,
    pub run_wall_ms: Option<u64>,
    pub run_cpu_ms: Option<u64>,
    pub compile_memory_bytes: Option<u64>,
    pub run_memory_bytes: Option<u64>,
    pub pids: Option<u64>,
    pub output_bytes: Option<u64>,
}

/// A run request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequest {
    /// Language id or alias from the manifest.
    pub language: String,
    /// Optional version selector (`*`, `3.13`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub files: Vec<SourceFile>,
    /// Standard input for the program.
    #[serde(default)]
    pub stdin: String,
    /// Arguments appended to the run command.
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub limits: LimitsRequest,
    /// The room the run belongs to: the node shares its slots fairly between rooms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// A problem of the node's bank (its id): the files are the candidate's solution, wrapped
    /// by the node in the problem's harness. Without `submit`, the visible examples run (plus
    /// `stdin`, when not empty, as one extra case); with it, the hidden tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Judge against the problem's hidden tests (only with `problem`). On the room path the
    /// node sets it from the run's kind (`submit`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub submit: bool,
}

/// The limits one phase actually runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseLimits {
    pub wall_ms: u64,
    pub cpu_ms: u64,
    pub memory_bytes: u64,
    /// Cap per output stream (stdout and stderr each).
    pub output_bytes: u64,
}

/// The limits a whole run resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedLimits {
    pub compile: PhaseLimits,
    pub run: PhaseLimits,
    /// Processes and threads, for the whole sandbox.
    pub pids: u64,
    /// CPU quota for the sandbox, in thousandths of a CPU.
    pub cpu_millis: u64,
}

/// Which phase an event or result belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Compile,
    Run,
}

/// Which output stream a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// The outcome of a phase or a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    CompileError,
    RuntimeError,
    CpuTimeLimit,
    WallTimeLimit,
    MemoryLimit,
    OutputLimit,
    Cancelled,
    InternalError,
}

impl Verdict {
    /// Every verdict, for metrics and documentation.
    pub const ALL: [Verdict; 9] = [
        Verdict::Ok,
        Verdict::CompileError,
        Verdict::RuntimeError,
        Verdict::CpuTimeLimit,
        Verdict::WallTimeLimit,
        Verdict::MemoryLimit,
        Verdict::OutputLimit,
        Verdict::Cancelled,
        Verdict::InternalError,
    ];

    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::CompileError => "compile_error",
            Verdict::RuntimeError => "runtime_error",
            Verdict::CpuTimeLimit => "cpu_time_limit",
            Verdict::WallTimeLimit => "wall_time_limit",
            Verdict::MemoryLimit => "memory_limit",
            Verdict::OutputLimit => "output_limit",
            Verdict::Cancelled => "cancelled",
            Verdict::InternalError => "internal_error",
        }
    }
}

/// What one phase did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseResult {
    pub phase: Phase,
    pub verdict: Verdict,
    /// Exit code, when the process exited.
    pub exit_code: Option<i32>,
    /// Signal name (`SIGKILL`, `SIGSEGV`, …), when the process was killed by one.
    pub signal: Option<String>,
    pub cpu_ms: u64,
    pub wall_ms: u64,
    /// Peak memory of the sandbox, when the engine reports it.
    pub memory_bytes: Option<u64>,
    /// Output kept for the result (each stream capped).
    pub stdout: String,
    pub stderr: String,
    /// stdout and stderr interleaved in arrival order.
    pub output: String,
    /// A human explanation of a non-ok verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The final result of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunResult {
    pub job_id: String,
    pub language: String,
    pub version: String,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compile: Option<PhaseResult>,
    /// Absent when the run never started (compile error, cancelled, internal error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<PhaseResult>,
    pub limits: ResolvedLimits,
    /// Milliseconds from accepting the request to the verdict.
    pub total_ms: u64,
    /// Per-test verdicts of a problem run (a request with `problem`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestReport>,
}

/// The verdict of one test case of a problem run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestVerdict {
    Accepted,
    WrongAnswer,
    TimeLimit,
    MemoryLimit,
    RuntimeError,
    CompileError,
    /// The program wrote more than its output limit.
    OutputLimit,
    /// The case ran and there is nothing to compare with (custom input).
    Ran,
    /// Not reached: an earlier case ended the program (crash, time limit).
    NotRun,
    /// The node could not judge it (sandbox failure, cancelled).
    InternalError,
}

impl TestVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            TestVerdict::Accepted => "accepted",
            TestVerdict::WrongAnswer => "wrong_answer",
            TestVerdict::TimeLimit => "time_limit",
            TestVerdict::MemoryLimit => "memory_limit",
            TestVerdict::RuntimeError => "runtime_error",
            TestVerdict::CompileError => "compile_error",
            TestVerdict::OutputLimit => "output_limit",
            TestVerdict::Ran => "ran",
            TestVerdict::NotRun => "not_run",
            TestVerdict::InternalError => "internal_error",
        }
    }
}

/// One test case's outcome. `input`, `expected` and `actual` are only ever filled for
/// visible cases; a hidden case carries its verdict and time, nothing of its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCase {
    /// 0-based position in the run's cases.
    pub index: usize,
    pub hidden: bool,
    pub verdict: TestVerdict,
    /// Time the case took as measured inside the sandbox, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// A short explanation (the exception, the limit). For hidden cases never derived from
    /// the case's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Per-test verdicts of a problem run and their summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestReport {
    pub problem: String,
    /// `false` for Run (visible examples), `true` for Submit (hidden tests).
    pub submit: bool,
    /// The overall verdict: the first non-accepted case's, or accepted (`ran` for a run with
    /// custom input only).
    pub verdict: TestVerdict,
    pub passed: usize,
    pub total: usize,
    pub cases: Vec<TestCase>,
    /// The first failing visible case (its index), LeetCode's "first differing case".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<usize>,
}

/// One event of a run's stream, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    /// Waiting for a slot; `position` 0 means next.
    Queued { job_id: String, position: usize },
    /// A sandbox took the job.
    Started {
        job_id: String,
        language: String,
        version: String,
    },
    /// A chunk of output; `seq` counts chunks of the whole run from 0.
    Output {
        seq: u64,
        phase: Phase,
        stream: Stream,
        data: String,
    },
    /// A phase ended. (Boxed, as `Finished`'s result: the two are the large variants, and every
    /// channel slot of every event stream — per run, per room subscriber, per relay browser
    /// session — is as large as the largest variant. Same JSON.)
    PhaseFinished { result: Box<PhaseResult> },
    /// The run ended; always the last event of a run that started.
    Finished { result: Box<RunResult> },
    /// The run could not be carried out; always the last event.
    Error { message: String },
}

/// Signal number to its conventional name.
pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        n => return format!("SIG{n}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_snake_case() {
        let e = RunEvent::Output {
            seq: 3,
            phase: Phase::Run,
            stream: Stream::Stderr,
            data: "x".into(),
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"type":"output","seq":3,"phase":"run","stream":"stderr","data":"x"}"#
        );
        assert_eq!(serde_json::from_str::<RunEvent>(&json).unwrap(), e);
    }

    #[test]
    fn verdict_names_match_serde() {
        for v in Verdict::ALL {
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{}\"", v.as_str()));
        }
    }

    #[test]
    fn minimal_request_parses() {
        let r: RunRequest = serde_json::from_str(r#"{"language":"py","files":[{"content":"print(1)"}]}"#).unwrap();
        assert_eq!(r.files[0].encoding, Encoding::Utf8);
        assert_eq!(r.limits, LimitsRequest::default());
    }
}
