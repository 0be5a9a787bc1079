//! Judging a problem run on the node: the harness's marker lines are read back from the run
//! phase's stdout and compared with the expected values, which never entered the sandbox.
//!
//! **What a program can make a report say.** The harness shares its process with the
//! candidate's code, so the program can read anything the harness knows (a per-run secret
//! included) and write result lines of its own. The judge is built so that this buys nothing:
//!
//! - A result line is read as the program's answer for that case. A forged line can state only
//!   what the program could have returned itself (the expected values are not in the sandbox),
//!   so forging is no more powerful than answering.
//! - Of a hidden case, the report carries its verdict only: no time (the `<µs>` field is the
//!   program's to choose, and so is any time measured from outside, since the program can
//!   sleep), no exception name or message (the program chooses its exception's type), no data.
//!   Messages are fixed per verdict ([`hidden_message`]).
//! - A `tle` line counts only for stdio problems, where the driver ends a slow case and goes
//!   on; a function program that spins is ended with the rest of its cases `not_run`, so a
//!   forged `tle` would be a pattern of verdicts it could not produce itself.
//! - A run phase that did not end well (crash, exit code, limit) is never `accepted`: when
//!   every case has a line, the last case takes the phase's verdict, as if the program had
//!   failed there.
//!
//! What remains is the verdicts themselves: a program can fail on purpose when an input has
//! some property, as on every judge. The node withholds the figures of a submission's run
//! phase (exit code, signal, times, memory; see exec-node's `judge`).

use std::collections::HashMap;

use serde_json::Value;
use tandem_shared::exec::{RunResult, TestCase, TestReport, TestVerdict, Verdict};
use tandem_shared::problem::ProblemKind;

use crate::format::Compare;
use crate::harness::{Build, MARKER};

/// One marker line.
#[derive(Debug, Clone, PartialEq)]
enum Line {
    Ok { us: u64, payload: String },
    Err { us: u64, kind: String, message: String },
    Tle { us: u64 },
}

/// Marker lines by case index (the first line for an index wins). `tle` lines count only when
/// `tle_allowed` (the stdio driver writes them).
fn parse_lines(stdout: &str, tle_allowed: bool) -> HashMap<usize, Line> {
    let mut out = HashMap::new();
    for line in stdout.lines() {
        let Some(at) = line.find(MARKER) else { continue };
        let mut parts = line[at + MARKER.len()..].trim_start().splitn(4, ' ');
        let (Some(i), Some(status), Some(us)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(i), Ok(us)) = (i.parse::<usize>(), us.parse::<u64>()) else {
            continue;
        };
        let payload = parts.next().unwrap_or("").to_string();
        let parsed = match status {
            "ok" => Line::Ok { us, payload },
            "err" => {
                let (kind, message) = match serde_json::from_str::<Vec<String>>(&payload) {
                    Ok(v) => (
                        v.first().cloned().unwrap_or_default(),
                        v.get(1).cloned().unwrap_or_default(),
                    ),
                    Err(_) => ("error".into(), String::new()),
                };
                Line::Err { us, kind, message }
            }
            "tle" if tle_allowed => Line::Tle { us },
            _ => continue,
        };
        out.entry(i).or_insert(parsed);
    }
    out
}

/// JSON equality with a tolerance for non-integral numbers, and `null` standing for an
/// empty array (Go marshals a nil slice as `null`).
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => {
                let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
                (x - y).abs() <= 1e-6 * x.abs().max(y.abs()).max(1.0)
            }
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| values_equal(a, b)),
        (Value::Null, Value::Array(y)) | (Value::Array(y), Value::Null) => y.is_empty(),
        (a, b) => a == b,
    }
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.clone();
            items.sort_by_key(|x| x.to_string());
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// Stdio outputs are equal line by line, ignoring trailing whitespace and trailing empty lines.
pub fn text_equal(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let mut lines: Vec<&str> = s.lines().map(str::trim_end).collect();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines.join("\n")
    };
    norm(a) == norm(b)
}

/// What a hidden case's verdict says, the same for every case: nothing of the program's choosing.
pub fn hidden_message(v: TestVerdict) -> Option<&'static str> {
    match v {
        TestVerdict::RuntimeError => Some("runtime error"),
        TestVerdict::TimeLimit => Some("time limit exceeded"),
        TestVerdict::MemoryLimit => Some("memory limit exceeded"),
        TestVerdict::OutputLimit => Some("output limit exceeded"),
        TestVerdict::CompileError => Some("compilation failed"),
        TestVerdict::InternalError => Some("the run did not complete"),
        TestVerdict::Accepted | TestVerdict::WrongAnswer | TestVerdict::Ran | TestVerdict::NotRun => None,
    }
}

/// The verdict for the case the program was in when the run phase ended without reporting it.
fn phase_verdict(v: Verdict) -> (TestVerdict, &'static str) {
    match v {
        Verdict::CpuTimeLimit | Verdict::WallTimeLimit => (TestVerdict::TimeLimit, "time limit exceeded"),
        Verdict::MemoryLimit => (TestVerdict::MemoryLimit, "memory limit exceeded"),
        Verdict::OutputLimit => (TestVerdict::OutputLimit, "output limit exceeded"),
        Verdict::RuntimeError => (TestVerdict::RuntimeError, "the program crashed"),
        Verdict::Ok => (TestVerdict::RuntimeError, "the program ended before this case"),
        Verdict::CompileError => (TestVerdict::CompileError, "compilation failed"),
        Verdict::Cancelled | Verdict::InternalError => (TestVerdict::InternalError, "the run did not complete"),
    }
}

/// Judges a finished run. Reads only `result`'s verdicts and the run phase's stdout.
pub fn judge(build: &Build, result: &RunResult) -> TestReport {
    let compile_failed = result.compile.as_ref().is_some_and(|c| c.verdict != Verdict::Ok);
    let lines = match &result.run {
        Some(r) if !compile_failed => parse_lines(&r.stdout, build.kind == ProblemKind::Stdio),
        _ => HashMap::new(),
    };
    let run_verdict = if compile_failed {
        Verdict::CompileError
    } else {
        result.run.as_ref().map(|r| r.verdict).unwrap_or(Verdict::InternalError)
    };
    let run_message = result.run.as_ref().and_then(|r| r.message.clone());
    let mut cases = Vec::with_capacity(build.cases.len());
    let mut ended = false;
    for (index, meta) in build.cases.iter().enumerate() {
        let mut case = TestCase {
            index,
            hidden: meta.hidden,
            verdict: TestVerdict::NotRun,
            time_ms: None,
            input: (!meta.hidden).then(|| meta.input_display.clone()),
            expected: None,
            actual: None,
            message: None,
        };
        if !meta.hidden {
            case.expected = meta.expected.as_ref().map(|e| match (build.kind, e) {
                (ProblemKind::Stdio, Value::String(s)) => s.clone(),
                (_, v) => v.to_string(),
            });
        }
        match lines.get(&index) {
            _ if compile_failed => {
                case.verdict = TestVerdict::CompileError;
            }
            Some(Line::Ok { us, payload }) if !ended => {
                case.time_ms = Some(us / 1000);
                let (actual_text, equal) = match build.kind {
                    ProblemKind::Function => {
                        let actual: Option<Value> = serde_json::from_str(payload).ok();
                        let equal = match (&actual, &meta.expected) {
                            (Some(a), Some(e)) if build.compare == Compare::Unordered => {
                                values_equal(&sorted(a), &sorted(e))
                            }
                            (Some(a), Some(e)) => values_equal(a, e),
                            _ => false,
                        };
                        (payload.clone(), equal)
                    }
                    ProblemKind::Stdio => {
                        let text: String = serde_json::from_str(payload).unwrap_or_default();
                        let equal = matches!(&meta.expected, Some(Value::String(e)) if text_equal(&text, e));
                        (text, equal)
                    }
                };
                case.verdict = match (&meta.expected, equal) {
                    (None, _) => TestVerdict::Ran,
                    (Some(_), true) => TestVerdict::Accepted,
                    (Some(_), false) => TestVerdict::WrongAnswer,
                };
                if !meta.hidden {
                    case.actual = Some(actual_text);
                }
            }
            Some(Line::Err { us, kind, message }) if !ended => {
                case.time_ms = Some(us / 1000);
                case.verdict = TestVerdict::RuntimeError;
                case.message = Some(if message.is_empty() {
                    kind.clone()
                } else {
                    format!("{kind}: {message}")
                });
            }
            Some(Line::Tle { us }) if !ended => {
                case.time_ms = Some(us / 1000);
                case.verdict = TestVerdict::TimeLimit;
                case.message = Some("time limit exceeded".into());
            }
            _ if !ended => {
                ended = true;
                let (v, why) = phase_verdict(run_verdict);
                case.verdict = v;
                case.message = Some(run_message.clone().unwrap_or_else(|| why.to_string()));
            }
            _ => {}
        }
        cases.push(case);
    }
    // A run phase that did not end well is never accepted: every case had a line, so the
    // program failed after the last one (or wrote lines ahead of its calls).
    if !compile_failed && !ended && run_verdict != Verdict::Ok {
        if let Some(last) = cases.last_mut() {
            let (v, why) = phase_verdict(run_verdict);
            last.verdict = v;
            last.message = Some(run_message.clone().unwrap_or_else(|| why.to_string()));
        }
    }
    // Of a hidden case, only its verdict leaves the node (see the module doc).
    for case in cases.iter_mut().filter(|c| c.hidden) {
        case.time_ms = None;
        case.message = hidden_message(case.verdict).map(str::to_string);
    }
    let passed = cases.iter().filter(|c| c.verdict == TestVerdict::Accepted).count();
    let judged: Vec<&TestCase> = cases.iter().filter(|c| c.verdict != TestVerdict::Ran).collect();
    let verdict = match judged.iter().find(|c| c.verdict != TestVerdict::Accepted) {
        Some(c) => c.verdict,
        None if judged.is_empty() && !cases.is_empty() => TestVerdict::Ran,
        None if cases.is_empty() => match run_verdict {
            Verdict::Ok => TestVerdict::Accepted,
            v => phase_verdict(v).0,
        },
        None => TestVerdict::Accepted,
    };
    let first_failure = cases
        .iter()
        .find(|c| !c.hidden && !matches!(c.verdict, TestVerdict::Accepted | TestVerdict::Ran))
        .map(|c| c.index);
    TestReport {
        problem: build.problem.clone(),
        submit: build.submit,
        verdict,
        passed,
        total: judged.len(),
        cases,
        first_failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_lines_survive_the_candidate_s_own_output() {
        let out = "debug 1\nno newline@@tandem@@ 0 ok 12 [0,1]\n@@tandem@@ 1 err 3 [\"IndexError\",\"list index out of range\"]\nnoise\n@@tandem@@ 2 tle 2000000 null\n@@tandem@@ 0 ok 1 [9]\n";
        let l = parse_lines(out, true);
        assert_eq!(
            l[&0],
            Line::Ok {
                us: 12,
                payload: "[0,1]".into()
            }
        );
        assert!(matches!(&l[&1], Line::Err { kind, .. } if kind == "IndexError"));
        assert_eq!(l[&2], Line::Tle { us: 2_000_000 });
    }

    #[test]
    fn a_function_program_s_tle_lines_are_not_results() {
        let out = "@@tandem@@ 0 tle 5 null\n@@tandem@@ 0 ok 7 [0,1]\n";
        assert_eq!(
            parse_lines(out, false)[&0],
            Line::Ok {
                us: 7,
                payload: "[0,1]".into()
            }
        );
    }

    fn submission(stdout: &str, verdict: Verdict, exit_code: Option<i32>) -> (Build, RunResult) {
        use tandem_shared::exec::{Phase, PhaseLimits, PhaseResult, ResolvedLimits};
        let bank = crate::Bank::bundled();
        let build = crate::harness::build(bank.get("two-sum").unwrap(), "python", None, "x", "", true).unwrap();
        let limits = PhaseLimits {
            wall_ms: 1,
            cpu_ms: 1,
            memory_bytes: 1,
            output_bytes: 1,
        };
        let result = RunResult {
            job_id: "j".into(),
            language: "python".into(),
            version: "3".into(),
            verdict,
            compile: None,
            run: Some(PhaseResult {
                phase: Phase::Run,
                verdict,
                exit_code,
                signal: None,
                cpu_ms: 1,
                wall_ms: 1,
                memory_bytes: None,
                stdout: stdout.into(),
                stderr: String::new(),
                output: stdout.into(),
                message: exit_code.map(|c| format!("program exited with code {c}")),
            }),
            limits: ResolvedLimits {
                compile: limits,
                run: limits,
                pids: 1,
                cpu_millis: 1,
            },
            total_ms: 1,
            tests: None,
        };
        (build, result)
    }

    const ALL_RIGHT: &str = "@@tandem@@ 0 ok 777006000 [0,1]\n@@tandem@@ 1 ok 1 [2,4]\n@@tandem@@ 2 ok 1 [0,3]\n@@tandem@@ 3 ok 1 [2,3]\n@@tandem@@ 4 err 1 [\"ValueError\",\"secret 100\"]\n";

    #[test]
    fn a_hidden_case_reports_its_verdict_only() {
        let (build, result) = submission(ALL_RIGHT, Verdict::Ok, Some(0));
        let t = judge(&build, &result);
        assert_eq!(t.passed, 4);
        assert_eq!(t.verdict, TestVerdict::RuntimeError);
        assert!(t.cases.iter().all(|c| c.time_ms.is_none()), "{t:?}");
        assert_eq!(t.cases[4].message.as_deref(), Some("runtime error"));
    }

    #[test]
    fn a_run_that_did_not_end_well_is_never_accepted() {
        let right = ALL_RIGHT.replace("err 1 [\"ValueError\",\"secret 100\"]", "ok 1 [1,2]");
        let (build, result) = submission(&right, Verdict::Ok, Some(0));
        assert_eq!(judge(&build, &result).verdict, TestVerdict::Accepted);
        let (build, result) = submission(&right, Verdict::RuntimeError, Some(3));
        let t = judge(&build, &result);
        assert_eq!(t.verdict, TestVerdict::RuntimeError, "{t:?}");
        assert_eq!(t.cases[4].message.as_deref(), Some("runtime error"));
        let (build, result) = submission(&right, Verdict::CpuTimeLimit, None);
        assert_eq!(judge(&build, &result).verdict, TestVerdict::TimeLimit);
    }

    #[test]
    fn comparison_rules() {
        use serde_json::json;
        assert!(values_equal(&json!([1, 2]), &json!([1, 2])));
        assert!(!values_equal(&json!([1, 2]), &json!([2, 1])));
        assert!(values_equal(&sorted(&json!([[2], [1]])), &sorted(&json!([[1], [2]]))));
        assert!(values_equal(&json!(0.30000000000000004), &json!(0.3)));
        assert!(!values_equal(&json!(1), &json!(2)));
        assert!(values_equal(&json!(null), &json!([])));
        assert!(values_equal(&json!([null]), &json!([[]])));
        assert!(!values_equal(&json!(true), &json!(1)));
        assert!(text_equal("6 \n\n", "6"));
        assert!(!text_equal("6\n7", "6"));
    }
}
