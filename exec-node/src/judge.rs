//! Problem runs on the node: a request naming a problem of the bank is turned into the
//! problem's harness around the candidate's code, its cases go to the sandbox on stdin, and the
//! result is judged here ([`tandem_problems::judge`]).
//!
//! **Hidden tests never leave the node, nor does any number the program chose while it had
//! them.** A submission's program holds the hidden inputs and can turn any figure the node
//! reports into a copy of them: the time field of a result line it forges, its exit code, the
//! signal it kills itself with, the memory it allocates, the CPU or wall time it spends. So a
//! submission reports per-case verdicts and the overall verdict, and nothing measured:
//!
//! - the run phase's output is neither streamed nor kept (it could print its stdin);
//! - the run phase's exit code, signal, CPU and wall time and peak memory are withheld, and its
//!   message is a fixed sentence per verdict; the run's total time is withheld too;
//! - the judge ([`tandem_problems::judge`]) compares outputs here, reports no time and no
//!   exception of a hidden case, and is built so that result lines the program forges (it shares
//!   the harness's process, so no secret of the harness is safe from it) can state only what it
//!   could have returned.
//!
//! Peers, HTTP clients and the node's own job records all get this sanitized result. A visible
//! run (the examples, which are public) keeps every figure; its harness's marker lines are taken
//! out of the console output, so people see what the candidate printed.
//!
//! Left: the time at which the verdict arrives follows the program's run time, bounded by the
//! problem's wall limit; and the verdicts themselves (fail on purpose when an input has some
//! property), as on every judge.

use std::sync::Arc;

use tandem_problems::harness::{Build, MARKER};
use tandem_problems::{Bank, BankError};
use tandem_shared::exec::{PhaseResult, RunRequest, RunResult, SourceFile, Verdict};
use tandem_shared::language::Manifest;

use crate::config::NodeConfig;
use crate::request::{decode, PreparedRun, RequestError};

/// A problem run in progress: what the judge needs afterwards. Holds hidden tests: not `Debug`.
pub(crate) struct ProblemRun {
    build: Build,
}

impl ProblemRun {
    /// The request to actually run (harness files, cases on stdin, the problem's limits), and
    /// the judge's half. Errors are the request's (unknown problem or language, bad custom input).
    pub fn derive(
        bank: &Bank,
        req: &RunRequest,
        manifest: &Manifest,
        cfg: &NodeConfig,
    ) -> Result<Option<(RunRequest, ProblemRun)>, ProblemError> {
        let Some(id) = req.problem.as_deref() else {
            return Ok(None);
        };
        let lang = manifest
            .find(&req.language)
            .ok_or_else(|| RequestError::UnknownLanguage(req.language.clone()))?;
        let problem = bank.get(id)?;
        let first = req.files.first().ok_or(RequestError::NoFiles)?;
        let source = String::from_utf8(decode(&first.content, first.encoding, 0)?)
            .map_err(|_| ProblemError::Bank(BankError::BadCustomInput("the solution is not UTF-8 text".into())))?;
        if source.trim().is_empty() {
            return Err(RequestError::EmptyProgram.into());
        }
        let build = tandem_problems::harness::build(
            problem,
            &lang.id,
            first.name.as_deref(),
            &source,
            &req.stdin,
            req.submit,
        )?;
        let mut run = req.clone();
        run.files = build
            .files
            .iter()
            .map(|(name, content)| SourceFile {
                name: name.clone(),
                content: content.clone(),
                ..Default::default()
            })
            .collect();
        run.stdin = build.stdin.clone();
        run.args.clear();
        // The problem's limits, not the request's: a candidate cannot buy more time.
        run.limits.run_cpu_ms = Some(build.cpu_ms.min(cfg.run.max_cpu_ms));
        run.limits.run_wall_ms = Some(build.wall_ms.min(cfg.run.max_wall_ms));
        run.limits.output_bytes = Some(cfg.max_output_bytes);
        Ok(Some((run, ProblemRun { build })))
    }

    /// Puts the stdio driver in front of the language's run command.
    pub fn adjust(&self, prep: &mut PreparedRun) {
        if !self.build.run_prefix.is_empty() {
            let mut argv = self.build.run_prefix.clone();
            argv.append(&mut prep.run_argv);
            prep.run_argv = argv;
        }
    }

    /// A submission's run output is never shown (it could echo hidden inputs).
    pub fn hides_output(&self) -> bool {
        self.build.submit
    }

    /// What of the run phase may leave the node: for a submission its verdict only.
    pub fn sanitize(&self, pr: &mut PhaseResult) {
        if self.build.submit {
            pr.stdout.clear();
            pr.stderr.clear();
            pr.output.clear();
            pr.exit_code = None;
            pr.signal = None;
            pr.cpu_ms = 0;
            pr.wall_ms = 0;
            pr.memory_bytes = None;
            pr.message = hidden_phase_message(pr.verdict).map(str::to_string);
        } else {
            pr.stdout = strip_markers(&pr.stdout);
            pr.output = strip_markers(&pr.output);
        }
    }

    /// Judges the finished run and sanitizes it.
    pub fn finish(&self, result: &mut RunResult) {
        result.tests = Some(tandem_problems::judge::judge(&self.build, result));
        if let Some(run) = result.run.as_mut() {
            self.sanitize(run);
        }
        if self.build.submit {
            result.total_ms = 0;
        }
    }
}

/// A submission's run phase in a fixed sentence per verdict (the agent's message names exit
/// codes and signals).
fn hidden_phase_message(v: Verdict) -> Option<&'static str> {
    match v {
        Verdict::Ok => None,
        Verdict::CompileError => Some("compilation failed"),
        Verdict::RuntimeError => Some("the program failed"),
        Verdict::CpuTimeLimit => Some("the program exceeded the CPU time limit"),
        Verdict::WallTimeLimit => Some("the program exceeded the wall time limit"),
        Verdict::MemoryLimit => Some("the program exceeded the memory limit"),
        Verdict::OutputLimit => Some("the program exceeded the output limit"),
        Verdict::Cancelled => Some("cancelled"),
        Verdict::InternalError => Some("the run could not be carried out"),
    }
}

/// Drops the harness's result lines (and the blank line the harness writes before each).
pub fn strip_markers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match line.find(MARKER) {
            Some(at) => {
                // Keep what the candidate printed before the marker on the same line.
                let before = &line[..at];
                if !before.is_empty() {
                    out.push_str(before);
                    out.push('\n');
                }
            }
            None => out.push_str(line),
        }
    }
    // The harness opens each result line with a newline; collapse those it left behind.
    out.replace("\n\n", "\n").trim_start_matches('\n').to_string()
}

/// Keeps the harness's lines out of a visible run's live console: complete lines without the
/// marker pass, a partial line waits for its end.
#[derive(Default)]
pub(crate) struct LineFilter {
    partial: String,
}

impl LineFilter {
    pub fn push(&mut self, text: &str) -> String {
        self.partial.push_str(text);
        let Some(end) = self.partial.rfind('\n') else {
            return String::new();
        };
        let rest = self.partial.split_off(end + 1);
        let done = std::mem::replace(&mut self.partial, rest);
        filter_lines(&done)
    }

    pub fn finish(&mut self) -> String {
        filter_lines(&std::mem::take(&mut self.partial))
    }
}

fn filter_lines(text: &str) -> String {
    text.split_inclusive('\n')
        .filter(|l| !l.contains(MARKER) && *l != "\n")
        .collect()
}

/// Why a problem run was refused. Nothing was run.
#[derive(Debug, thiserror::Error)]
pub enum ProblemError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Bank(#[from] BankError),
}

/// The bank, shared by the node's paths.
pub type SharedBank = Arc<Bank>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_lines_are_taken_out_of_visible_output() {
        let text = "hello\n\n@@tandem@@ 0 ok 5 [0,1]\ndebug\n\n@@tandem@@ 1 ok 5 [1,2]\n";
        assert_eq!(strip_markers(text), "hello\ndebug\n");
        let mut f = LineFilter::default();
        let mut shown = f.push("hel");
        shown += &f.push("lo\n\n@@tand");
        shown += &f.push("em@@ 0 ok 1 [1]\nbye");
        shown += &f.finish();
        assert_eq!(shown, "hello\nbye");
    }
}
