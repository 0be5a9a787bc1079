//! The problem bank's public contract: what a peer may see of a problem.
//!
//! Problems live on the execution node (operator-editable files plus a bundled starter set).
//! Peers only ever get a [`PublicProblem`]: statement, visible examples, constraints, starter
//! code and the signature. Hidden tests stay on the node — they are fed to the sandbox and
//! compared there — so nothing in this module can carry them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a problem is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// LeetCode-style: the candidate writes one function; the node wraps it in a generated
    /// harness that parses the inputs, calls it and prints the result.
    Function,
    /// The candidate writes a whole program reading stdin and writing stdout.
    Stdio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    Easy,
    Medium,
    Hard,
}

/// One line of the problem list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemSummary {
    pub id: String,
    pub title: String,
    pub difficulty: Difficulty,
    #[serde(default)]
    pub tags: Vec<String>,
    pub kind: ProblemKind,
}

/// A visible example: shown to everyone and run by "Run".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// For a function problem `name = value` per parameter, one per line; for a stdio problem
    /// the program's stdin.
    pub input: String,
    pub output: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

/// Everything a peer may see of a problem. Hidden tests are NOT in here, ever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicProblem {
    #[serde(flatten)]
    pub summary: ProblemSummary,
    pub statement_md: String,
    pub examples: Vec<Example>,
    #[serde(default)]
    pub constraints_md: String,
    /// Language id (manifest) -> starter code.
    #[serde(default)]
    pub starter: BTreeMap<String, String>,
    /// Human-readable signature, e.g. `twoSum(nums: int[], target: int) -> int[]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl PublicProblem {
    /// The statement as one markdown document (statement, examples, constraints): what a room
    /// shows in its `problem` text.
    pub fn to_markdown(&self) -> String {
        let mut md = format!("# {}\n\n", self.summary.title);
        md.push_str(&format!(
            "*{}*{}\n\n",
            match self.summary.difficulty {
                Difficulty::Easy => "Easy",
                Difficulty::Medium => "Medium",
                Difficulty::Hard => "Hard",
            },
            if self.summary.tags.is_empty() {
                String::new()
            } else {
                format!(" · {}", self.summary.tags.join(", "))
            }
        ));
        md.push_str(self.statement_md.trim());
        md.push_str("\n\n");
        if let Some(sig) = &self.signature {
            md.push_str(&format!("Signature: `{sig}`\n\n"));
        }
        for (i, e) in self.examples.iter().enumerate() {
            md.push_str(&format!(
                "## Example {}\n\n```text\nInput:\n{}\nOutput:\n{}\n```\n\n",
                i + 1,
                e.input.trim_end(),
                e.output.trim_end()
            ));
            if let Some(x) = &e.explanation {
                md.push_str(&format!("{}\n\n", x.trim()));
            }
        }
        if !self.constraints_md.trim().is_empty() {
            md.push_str("## Constraints\n\n");
            md.push_str(self.constraints_md.trim());
            md.push('\n');
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_problem_is_flat_json() {
        let p = PublicProblem {
            summary: ProblemSummary {
                id: "two-sum".into(),
                title: "Two Sum".into(),
                difficulty: Difficulty::Easy,
                tags: vec!["array".into()],
                kind: ProblemKind::Function,
            },
            statement_md: "Find two.".into(),
            examples: vec![Example {
                input: "nums = [1,2]".into(),
                output: "[0,1]".into(),
                explanation: None,
            }],
            constraints_md: String::new(),
            starter: BTreeMap::new(),
            signature: Some("twoSum(nums: int[], target: int) -> int[]".into()),
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["id"], "two-sum");
        assert_eq!(v["difficulty"], "easy");
        assert_eq!(v["kind"], "function");
        assert_eq!(serde_json::from_value::<PublicProblem>(v).unwrap(), p);
        assert!(p.to_markdown().contains("## Example 1"));
    }
}

/// Root `Y.Text` of a room's code document holding the problem statement (markdown).
pub const PROBLEM_TEXT: &str = "problem";
/// Root `Y.Map` of a room's code document with room-wide values (`language`, `file`, …).
pub const META_MAP: &str = "meta";
/// `meta` key: the id of the room's problem.
pub const META_PROBLEM: &str = "problem";
/// `meta` key: the room's [`PublicProblem`] as JSON.
pub const META_PROBLEM_JSON: &str = "problem_json";
