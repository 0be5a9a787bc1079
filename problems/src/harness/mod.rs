//! Per-language harnesses generated from one signature.
//!
//! The candidate writes only the function (LeetCode-style: a `Solution` class in Python, Java
//! and C++, a plain function in JavaScript and Go). The node adds a generated `main` that reads
//! the cases from stdin — the number of cases on the first line, then one compact JSON value
//! per parameter per line — calls the function on each, catches what the language lets it
//! catch, and prints one marker line per case:
//!
//! ```text
//! @@tandem@@ <case> ok <µs> <result as JSON>
//! @@tandem@@ <case> err <µs> ["ExceptionType","message"]
//! @@tandem@@ <case> tle <µs> null                        (stdio driver only)
//! ```
//!
//! All the cases of a run share one sandbox and one compile. The expected values never enter
//! the sandbox, so a program that forges marker lines can only lie about its own results.
//! Stdio problems run the candidate's program once per case under a small driver
//! (`tandem_stdio.py`, Python being in the runner image for every language), which prints the
//! same marker lines with the program's stdout as a JSON string.

mod cpp;
mod go;
mod java;
mod javascript;
mod python;

use serde_json::Value;
use tandem_shared::problem::ProblemKind;

use crate::format::{Case, Problem};
use crate::signature::Signature;
use crate::BankError;

/// Languages (manifest ids) the harness supports.
pub const LANGUAGES: &[&str] = &["javascript", "python", "java", "cpp", "go"];
/// Start of every result line.
pub const MARKER: &str = "@@tandem@@";
/// The stdio driver's file name.
pub const STDIO_DRIVER: &str = "tandem_stdio.py";

/// What one case of a run is, as the judge needs it. Lives on the node only.
#[derive(Clone)]
pub struct CaseMeta {
    pub hidden: bool,
    /// For people (visible cases only ever leave the node).
    pub input_display: String,
    /// `None` for custom input.
    pub expected: Option<Value>,
}

/// A problem run ready for the sandbox: the files (the candidate's first), stdin carrying the
/// cases' inputs, and what the judge needs afterwards. Deliberately not `Debug`: it holds
/// hidden tests and must not end up in a log.
#[derive(Clone)]
pub struct Build {
    pub problem: String,
    pub kind: ProblemKind,
    pub submit: bool,
    /// `(name, content)`; a `None` name takes the language's default main file name.
    pub files: Vec<(Option<String>, String)>,
    pub stdin: String,
    /// Put in front of the language's run command (the stdio driver).
    pub run_prefix: Vec<String>,
    pub cases: Vec<CaseMeta>,
    /// CPU and wall time for the run phase (all cases together).
    pub cpu_ms: u64,
    pub wall_ms: u64,
    pub(crate) compare: crate::format::Compare,
}

/// Starter code for `lang`: from the signature for function problems, a stdin skeleton for
/// stdio problems.
pub fn starter(lang: &str, sig: Option<&Signature>) -> String {
    match (lang, sig) {
        ("python", Some(s)) => python::starter(s),
        ("javascript", Some(s)) => javascript::starter(s),
        ("java", Some(s)) => java::starter(s),
        ("cpp", Some(s)) => cpp::starter(s),
        ("go", Some(s)) => go::starter(s),
        ("python", None) => "import sys\n\n\ndef main() -> None:\n    data = sys.stdin.read().split()\n    # solve, then print the answer\n\n\nif __name__ == \"__main__\":\n    main()\n".into(),
        ("javascript", None) => "const data = require(\"fs\").readFileSync(0, \"utf8\").split(/\\s+/).filter(Boolean);\n// solve, then console.log the answer\n".into(),
        ("java", None) => "import java.util.*;\nimport java.io.*;\n\npublic class Main {\n    public static void main(String[] args) throws IOException {\n        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));\n        // solve, then print the answer\n    }\n}\n".into(),
        ("cpp", None) => "#include <bits/stdc++.h>\nusing namespace std;\n\nint main() {\n    ios::sync_with_stdio(false);\n    cin.tie(nullptr);\n    // solve, then print the answer\n    return 0;\n}\n".into(),
        ("go", None) => "package main\n\nimport (\n\t\"bufio\"\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n\tin := bufio.NewReader(os.Stdin)\n\t_ = in\n\t// solve, then print the answer\n\tfmt.Println()\n}\n".into(),
        _ => String::new(),
    }
}

/// Parses custom input for a function problem: one JSON value per parameter, one per line,
/// each optionally written `name = value` (as the examples show them).
fn custom_args(sig: &Signature, text: &str) -> Result<Value, BankError> {
    let mut args = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let i = args.len();
        let Some(p) = sig.params.get(i) else {
            return Err(BankError::BadCustomInput(format!(
                "{} takes {} values, one per line; there are more lines",
                sig.name,
                sig.params.len()
            )));
        };
        let value = match line.split_once('=') {
            Some((name, v)) if name.trim() == p.name => v.trim(),
            _ => line,
        };
        let v: Value = serde_json::from_str(value).map_err(|e| {
            BankError::BadCustomInput(format!(
                "line {} (`{}: {}`) is not JSON: {e}",
                i + 1,
                p.name,
                p.ty.neutral()
            ))
        })?;
        if !p.ty.accepts(&v) {
            return Err(BankError::BadCustomInput(format!(
                "line {}: `{}` must be a {}",
                i + 1,
                p.name,
                p.ty.neutral()
            )));
        }
        args.push(v);
    }
    if args.len() != sig.params.len() {
        return Err(BankError::BadCustomInput(format!(
            "{} takes {} values, one per line (as in the examples); got {}",
            sig.name,
            sig.params.len(),
            args.len()
        )));
    }
    Ok(Value::Array(args))
}

/// Sets up a run of `problem` in `lang` with the candidate's `solution`: the examples (plus
/// `custom_stdin` when not empty) for a Run, the hidden tests for a Submit.
pub fn build(
    problem: &Problem,
    lang: &str,
    solution_name: Option<&str>,
    solution: &str,
    custom_stdin: &str,
    submit: bool,
) -> Result<Build, BankError> {
    if !LANGUAGES.contains(&lang) {
        return Err(BankError::UnsupportedLanguage {
            problem: problem.summary.id.clone(),
            language: lang.to_string(),
        });
    }
    let meta = |c: &Case, hidden: bool| CaseMeta {
        hidden,
        input_display: if hidden {
            String::new()
        } else {
            problem.display_input(&c.input)
        },
        expected: Some(c.output.clone()),
    };
    let mut inputs: Vec<Value> = Vec::new();
    let mut cases = Vec::new();
    if submit {
        for c in &problem.tests {
            inputs.push(c.input.clone());
            cases.push(meta(c, true));
        }
    } else {
        for c in &problem.examples {
            inputs.push(c.input.clone());
            cases.push(meta(c, false));
        }
        if !custom_stdin.trim().is_empty() {
            let input = match &problem.signature {
                Some(sig) => custom_args(sig, custom_stdin)?,
                None => Value::String(custom_stdin.to_string()),
            };
            cases.push(CaseMeta {
                hidden: false,
                input_display: problem.display_input(&input),
                expected: None,
            });
            inputs.push(input);
        }
    }
    let n = inputs.len() as u64;
    let tl = problem.time_limit_ms;
    let (files, stdin, run_prefix, cpu_ms) = match &problem.signature {
        Some(sig) => {
            let mut stdin = format!("{}\n", inputs.len());
            for input in &inputs {
                for v in input.as_array().into_iter().flatten() {
                    stdin.push_str(&v.to_string());
                    stdin.push('\n');
                }
            }
            let files = match lang {
                "python" => python::files(sig, solution),
                "javascript" => javascript::files(sig, solution),
                "java" => java::files(sig, solution),
                "cpp" => cpp::files(sig, solution),
                _ => go::files(sig, solution),
            };
            (files, stdin, Vec::new(), tl + 1000)
        }
        None => {
            let mut stdin = format!("{}\n", inputs.len());
            for input in &inputs {
                let s = input.as_str().unwrap_or_default();
                stdin.push_str(&format!("{}\n{s}", s.len()));
            }
            let files = vec![
                (solution_name.map(str::to_string), solution.to_string()),
                (Some(STDIO_DRIVER.to_string()), STDIO_DRIVER_PY.to_string()),
            ];
            let prefix = vec!["python3".into(), STDIO_DRIVER.into(), tl.to_string(), "--".into()];
            (files, stdin, prefix, tl + 400 * n + 1000)
        }
    };
    Ok(Build {
        problem: problem.summary.id.clone(),
        kind: problem.summary.kind,
        submit,
        files,
        stdin,
        run_prefix,
        cases,
        cpu_ms,
        wall_ms: cpu_ms * 2 + 2000,
        compare: problem.compare,
    })
}

/// Runs the program once per case; see the module doc for the lines it prints.
const STDIO_DRIVER_PY: &str = r#"import json, subprocess, sys, time

limit = int(sys.argv[1]) / 1000.0
argv = sys.argv[3:]
data = sys.stdin.buffer.read()
nl = data.index(b"\n")
n = int(data[:nl])
pos = nl + 1
out = sys.stdout
for i in range(n):
    nl = data.index(b"\n", pos)
    size = int(data[pos:nl])
    case = data[nl + 1:nl + 1 + size]
    pos = nl + 1 + size
    t0 = time.perf_counter()
    try:
        p = subprocess.run(argv, input=case, stdout=subprocess.PIPE, timeout=limit)
        us = int((time.perf_counter() - t0) * 1e6)
        if p.returncode == 0:
            line = "ok %d %s" % (us, json.dumps(p.stdout.decode("utf-8", "replace")))
        elif p.returncode < 0:
            line = "err %d %s" % (us, json.dumps(["signal", "killed by signal %d" % -p.returncode]))
        else:
            line = "err %d %s" % (us, json.dumps(["exit", "exited with code %d" % p.returncode]))
    except subprocess.TimeoutExpired:
        line = "tle %d null" % int((time.perf_counter() - t0) * 1e6)
    out.write("\n@@tandem@@ %d %s\n" % (i, line))
    out.flush()
"#;
