//! Judging a problem run on the node: the harness's marker lines are read back from the run
//! phase's stdout and compared with the expected values, which never entered the sandbox.
//!
//! What a report says of a hidden case is its verdict and time only; the program's output of
//! a submission is dropped by the node before anything leaves it (see exec-node's `judge`).

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

/// Marker lines by case index (the first line for an index wins).
fn parse_lines(stdout: &str) -> HashMap<usize, Line> {
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
            "tle" => Line::Tle { us },
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

/// Exception names a hidden case may report. A program chooses its exception's name (Python can
/// create a class named after its input, JavaScript can throw any object), so for a hidden case
/// only a standard library name passes; anything else reads `exception`.
const STANDARD_ERRORS: &[&str] = &[
    // Python
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "Exception",
    "IndexError",
    "KeyError",
    "MemoryError",
    "NameError",
    "NotImplementedError",
    "OverflowError",
    "RecursionError",
    "RuntimeError",
    "StopIteration",
    "TypeError",
    "UnboundLocalError",
    "ValueError",
    "ZeroDivisionError",
    // JavaScript
    "Error",
    "RangeError",
    "ReferenceError",
    "SyntaxError",
    // Java
    "ArithmeticException",
    "ArrayIndexOutOfBoundsException",
    "ClassCastException",
    "ConcurrentModificationException",
    "IllegalArgumentException",
    "IllegalStateException",
    "IndexOutOfBoundsException",
    "NegativeArraySizeException",
    "NoSuchElementException",
    "NullPointerException",
    "NumberFormatException",
    "OutOfMemoryError",
    "RuntimeException",
    "StackOverflowError",
    "StringIndexOutOfBoundsException",
    "UnsupportedOperationException",
    // Go, C++ (the harness's own names)
    "panic",
    "exception",
];

/// What a hidden case may say about its exception: a standard name, never the program's choice.
fn hidden_error_name(kind: &str) -> String {
    if STANDARD_ERRORS.contains(&kind) {
        kind.to_string()
    } else {
        "exception".to_string()
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
        Some(r) if !compile_failed => parse_lines(&r.stdout),
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
                // A hidden case's exception message may quote its input: a standard type name only.
                case.message = Some(if meta.hidden {
                    hidden_error_name(kind)
                } else if message.is_empty() {
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
                case.message = Some(match (&run_message, meta.hidden) {
                    (Some(m), false) => m.clone(),
                    _ => why.to_string(),
                });
            }
            _ => {}
        }
        cases.push(case);
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
        let l = parse_lines(out);
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
    fn a_hidden_case_reports_only_standard_exception_names() {
        assert_eq!(hidden_error_name("ValueError"), "ValueError");
        assert_eq!(hidden_error_name("StackOverflowError"), "StackOverflowError");
        // `raise type(s, (Exception,), {})()` names the exception after the hidden input.
        assert_eq!(hidden_error_name("HIDDEN-INPUT-42"), "exception");
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
