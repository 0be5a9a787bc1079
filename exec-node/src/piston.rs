//! Piston's v2 API shapes (`/api/v2/runtimes`, `/api/v2/execute`), so existing Piston clients
//! work unchanged against a Tandem node.
//!
//! Piston's fields, statuses (`RE`, `SG`, `TO`, `OL`, `EL`, `XX`) and quirks (a trailing
//! newline added to stdin, `-1` meaning "the maximum" for memory) are kept; Tandem adds a
//! `verdict` field per stage, which Piston clients ignore.

use serde::{Deserialize, Serialize};
use tandem_shared::exec::{LimitsRequest, PhaseResult, RunRequest, RunResult, SourceFile, Verdict};
use tandem_shared::language::Language;

#[derive(Debug, Serialize)]
pub struct Runtime {
    pub language: String,
    pub version: String,
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
}

impl From<&Language> for Runtime {
    fn from(l: &Language) -> Self {
        Self {
            language: l.id.clone(),
            version: l.version.clone(),
            aliases: l.aliases.clone(),
            runtime: l.runtime.clone(),
        }
    }
}

/// `POST /api/v2/execute` body. Numbers are taken leniently (Piston clients send `-1`).
#[derive(Debug, Deserialize)]
pub struct ExecuteRequest {
    pub language: Option<String>,
    pub version: Option<String>,
    pub files: Option<Vec<SourceFile>>,
    #[serde(default)]
    pub stdin: Option<String>,
    #[serde(default)]
    pub args: Option<Vec<String>>,
    pub compile_timeout: Option<i64>,
    pub run_timeout: Option<i64>,
    pub compile_cpu_time: Option<i64>,
    pub run_cpu_time: Option<i64>,
    pub compile_memory_limit: Option<i64>,
    pub run_memory_limit: Option<i64>,
}

/// A request Piston itself would refuse.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PistonError(pub String);

fn positive(v: Option<i64>) -> Option<u64> {
    v.filter(|&v| v >= 0).map(|v| v as u64)
}

impl ExecuteRequest {
    pub fn into_run_request(self) -> Result<RunRequest, PistonError> {
        let language = self
            .language
            .filter(|l| !l.is_empty())
            .ok_or_else(|| PistonError("language is required as a string".into()))?;
        let files = self
            .files
            .ok_or_else(|| PistonError("files is required as an array".into()))?;
        let mut stdin = self.stdin.unwrap_or_default();
        if !stdin.ends_with('\n') {
            stdin.push('\n'); // Piston does this; programs reading lines rely on it
        }
        Ok(RunRequest {
            language,
            version: self.version,
            files,
            stdin,
            args: self.args.unwrap_or_default(),
            limits: LimitsRequest {
                compile_wall_ms: positive(self.compile_timeout),
                compile_cpu_ms: positive(self.compile_cpu_time),
                run_wall_ms: positive(self.run_timeout),
                run_cpu_ms: positive(self.run_cpu_time),
                compile_memory_bytes: positive(self.compile_memory_limit),
                run_memory_bytes: positive(self.run_memory_limit),
                pids: None,
                output_bytes: None,
            },
            room: None,
            problem: None,
            submit: false,
        })
    }
}

#[derive(Debug, Serialize)]
pub struct Stage {
    pub stdout: String,
    pub stderr: String,
    pub output: String,
    pub code: Option<i32>,
    pub signal: Option<String>,
    pub message: Option<String>,
    pub status: Option<&'static str>,
    pub cpu_time: u64,
    pub wall_time: u64,
    pub memory: Option<u64>,
    pub verdict: Verdict,
}

impl From<&PhaseResult> for Stage {
    fn from(p: &PhaseResult) -> Self {
        let status = match p.verdict {
            Verdict::Ok => None,
            Verdict::CompileError | Verdict::RuntimeError if p.signal.is_some() => Some("SG"),
            Verdict::CompileError | Verdict::RuntimeError => Some("RE"),
            Verdict::CpuTimeLimit | Verdict::WallTimeLimit => Some("TO"),
            Verdict::MemoryLimit => Some("SG"),
            Verdict::OutputLimit if p.message.as_deref().is_some_and(|m| m.starts_with("stderr")) => Some("EL"),
            Verdict::OutputLimit => Some("OL"),
            Verdict::Cancelled | Verdict::InternalError => Some("XX"),
        };
        // Like Piston: a limit kill reports SIGKILL and no code.
        let killed = matches!(
            p.verdict,
            Verdict::CpuTimeLimit | Verdict::WallTimeLimit | Verdict::OutputLimit | Verdict::MemoryLimit
        );
        Self {
            stdout: p.stdout.clone(),
            stderr: p.stderr.clone(),
            output: p.output.clone(),
            code: if killed { None } else { p.exit_code },
            signal: if killed {
                Some("SIGKILL".into())
            } else {
                p.signal.clone()
            },
            message: p.message.clone(),
            status,
            cpu_time: p.cpu_ms,
            wall_time: p.wall_ms,
            memory: p.memory_bytes,
            verdict: p.verdict,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ExecuteResponse {
    pub language: String,
    pub version: String,
    pub run: Option<Stage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compile: Option<Stage>,
}

impl From<&RunResult> for ExecuteResponse {
    fn from(r: &RunResult) -> Self {
        Self {
            language: r.language.clone(),
            version: r.version.clone(),
            run: r.run.as_ref().map(Stage::from),
            compile: r.compile.as_ref().map(Stage::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piston_request_maps_to_ours() {
        let req: ExecuteRequest = serde_json::from_str(
            r#"{"language":"py","version":"3.x","files":[{"content":"print(input())"}],"stdin":"hi","run_timeout":2000,"run_memory_limit":-1}"#,
        )
        .unwrap();
        let r = req.into_run_request().unwrap();
        assert_eq!(r.stdin, "hi\n");
        assert_eq!(r.limits.run_wall_ms, Some(2000));
        assert_eq!(r.limits.run_memory_bytes, None);
    }

    #[test]
    fn missing_language_is_piston_message() {
        let req: ExecuteRequest = serde_json::from_str(r#"{"files":[]}"#).unwrap();
        assert_eq!(
            req.into_run_request().unwrap_err().0,
            "language is required as a string"
        );
    }
}
