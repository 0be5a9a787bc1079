//! The problem file: one TOML file per problem (see docs/exec-node.md, "Problem bank").
//!
//! ```toml
//! title = "Two Sum"
//! difficulty = "easy"            # easy | medium | hard
//! tags = ["array", "hash map"]
//! kind = "function"              # function | stdio
//! statement = """markdown"""
//! constraints = """markdown"""
//! time_limit_ms = 4000           # CPU for all cases of a run together (optional)
//! compare = "exact"              # exact | unordered (top-level array in any order)
//!
//! [function]                      # function problems only
//! name = "twoSum"
//! params = ["nums: int[]", "target: int"]
//! returns = "int[]"
//!
//! [[examples]]                    # visible: shown to everyone, run by Run
//! input = [[2, 7, 11, 15], 9]     # one value per parameter (stdio: a string)
//! output = [0, 1]                 # (stdio: a string)
//! explanation = "…"
//!
//! [[tests]]                       # hidden: only ever on the node
//! input = [[3, 3], 6]
//! output = [0, 1]
//!
//! [starter]                       # optional; generated from the signature when left out
//! python = "…"
//! [solutions]                     # reference solutions, one per language id
//! python = "…"
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use tandem_shared::problem::{Difficulty, Example, ProblemKind, ProblemSummary, PublicProblem};

use crate::harness;
use crate::signature::Signature;
use crate::BankError;

/// How results are compared with the expected values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compare {
    /// Equal as JSON values (numbers with a 1e-6 tolerance when not integers); for stdio,
    /// equal line by line ignoring trailing whitespace.
    #[default]
    Exact,
    /// The top-level array may come in any order.
    Unordered,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionFile {
    name: String,
    #[serde(default)]
    params: Vec<String>,
    returns: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    input: Value,
    output: Value,
    #[serde(default)]
    explanation: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProblemFile {
    #[serde(default)]
    id: Option<String>,
    title: String,
    difficulty: Difficulty,
    #[serde(default)]
    tags: Vec<String>,
    kind: ProblemKind,
    statement: String,
    #[serde(default)]
    constraints: String,
    #[serde(default)]
    time_limit_ms: Option<u64>,
    #[serde(default)]
    compare: Compare,
    #[serde(default)]
    function: Option<FunctionFile>,
    #[serde(default)]
    examples: Vec<CaseFile>,
    #[serde(default)]
    tests: Vec<CaseFile>,
    #[serde(default)]
    starter: BTreeMap<String, String>,
    #[serde(default)]
    solutions: BTreeMap<String, String>,
}

/// One test case: for a function problem `input` is an array (one value per parameter) and
/// `output` the expected return value; for a stdio problem both are strings.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub input: Value,
    pub output: Value,
    pub explanation: Option<String>,
}

/// A problem as the node holds it, hidden tests included.
#[derive(Debug, Clone)]
pub struct Problem {
    pub summary: ProblemSummary,
    pub statement_md: String,
    pub constraints_md: String,
    pub signature: Option<Signature>,
    pub examples: Vec<Case>,
    /// Hidden tests. Never in a [`PublicProblem`], never in a report.
    pub tests: Vec<Case>,
    pub starter: BTreeMap<String, String>,
    pub solutions: BTreeMap<String, String>,
    pub time_limit_ms: u64,
    pub compare: Compare,
}

/// Default CPU time for all the cases of one run together.
pub const DEFAULT_TIME_LIMIT_MS: u64 = 4000;

impl Problem {
    /// Parses and checks a problem file (`file` names it in errors; its stem is the default id).
    pub fn parse(file: &str, text: &str) -> Result<Problem, BankError> {
        let bad = |message: String| BankError::BadFile {
            file: file.to_string(),
            message,
        };
        let f: ProblemFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let id = f.id.unwrap_or_else(|| {
            file.trim_end_matches(".toml")
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string()
        });
        if id.is_empty()
            || id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(bad(format!(
                "id `{id}` must be 1-64 characters of a-z, 0-9, `-` and `_`"
            )));
        }
        let signature = match (f.kind, &f.function) {
            (ProblemKind::Function, Some(func)) => {
                Some(Signature::new(&func.name, &func.params, &func.returns).map_err(bad)?)
            }
            (ProblemKind::Function, None) => return Err(bad("a function problem needs a [function] table".into())),
            (ProblemKind::Stdio, Some(_)) => return Err(bad("a stdio problem has no [function] table".into())),
            (ProblemKind::Stdio, None) => None,
        };
        let check = |what: &str, i: usize, c: CaseFile| -> Result<Case, BankError> {
            let where_ = format!("{what}[{i}]");
            match &signature {
                Some(sig) => {
                    let args = c
                        .input
                        .as_array()
                        .filter(|a| a.len() == sig.params.len())
                        .ok_or_else(|| {
                            bad(format!(
                                "{where_}.input must be an array of {} values",
                                sig.params.len()
                            ))
                        })?;
                    for (v, p) in args.iter().zip(&sig.params) {
                        if !p.ty.accepts(v) {
                            return Err(bad(format!("{where_}: `{}` is not a {}", p.name, p.ty.neutral())));
                        }
                    }
                    if !sig.returns.accepts(&c.output) {
                        return Err(bad(format!("{where_}.output is not a {}", sig.returns.neutral())));
                    }
                }
                None => {
                    if !c.input.is_string() || !c.output.is_string() {
                        return Err(bad(format!("{where_}: a stdio case has a string input and output")));
                    }
                }
            }
            Ok(Case {
                input: c.input,
                output: c.output,
                explanation: c.explanation,
            })
        };
        let examples = f
            .examples
            .into_iter()
            .enumerate()
            .map(|(i, c)| check("examples", i, c))
            .collect::<Result<Vec<_>, _>>()?;
        let tests = f
            .tests
            .into_iter()
            .enumerate()
            .map(|(i, c)| check("tests", i, c))
            .collect::<Result<Vec<_>, _>>()?;
        if tests.is_empty() {
            return Err(bad("a problem needs at least one hidden test ([[tests]])".into()));
        }
        for lang in f.starter.keys().chain(f.solutions.keys()) {
            if !harness::LANGUAGES.contains(&lang.as_str()) {
                return Err(bad(format!(
                    "unknown language `{lang}` (use {})",
                    harness::LANGUAGES.join(", ")
                )));
            }
        }
        let mut starter = f.starter;
        for lang in harness::LANGUAGES {
            if !starter.contains_key(*lang) {
                starter.insert(lang.to_string(), harness::starter(lang, signature.as_ref()));
            }
        }
        Ok(Problem {
            summary: ProblemSummary {
                id,
                title: f.title,
                difficulty: f.difficulty,
                tags: f.tags,
                kind: f.kind,
            },
            statement_md: f.statement,
            constraints_md: f.constraints,
            signature,
            examples,
            tests,
            starter,
            solutions: f.solutions,
            time_limit_ms: f.time_limit_ms.unwrap_or(DEFAULT_TIME_LIMIT_MS).clamp(100, 60_000),
            compare: f.compare,
        })
    }

    /// How a case's input reads for people: `name = value` lines, or the stdin itself.
    pub fn display_input(&self, input: &Value) -> String {
        match (&self.signature, input) {
            (Some(sig), Value::Array(args)) => sig
                .params
                .iter()
                .zip(args)
                .map(|(p, v)| format!("{} = {}", p.name, v))
                .collect::<Vec<_>>()
                .join("\n"),
            (_, Value::String(s)) => s.clone(),
            (_, v) => v.to_string(),
        }
    }

    /// How a value reads for people.
    pub fn display_output(&self, output: &Value) -> String {
        match output {
            Value::String(s) if self.signature.is_none() => s.clone(),
            v => v.to_string(),
        }
    }

    /// What peers may see: no hidden test, no reference solution.
    pub fn public(&self) -> PublicProblem {
        PublicProblem {
            summary: self.summary.clone(),
            statement_md: self.statement_md.clone(),
            examples: self
                .examples
                .iter()
                .map(|c| Example {
                    input: self.display_input(&c.input),
                    output: self.display_output(&c.output),
                    explanation: c.explanation.clone(),
                })
                .collect(),
            constraints_md: self.constraints_md.clone(),
            starter: self.starter.clone(),
            signature: self.signature.as_ref().map(Signature::display),
        }
    }
}
