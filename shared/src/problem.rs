//! Problems of the execution node's bank (contract types; branch `bank` owns this file and its
//! version replaces this one at merge).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    Function,
    Stdio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    Easy,
    Medium,
    Hard,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemSummary {
    pub id: String,
    pub title: String,
    pub difficulty: Difficulty,
    pub tags: Vec<String>,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub input: String,
    pub output: String,
    pub explanation: Option<String>,
}

/// Everything a peer may see of a problem. Hidden tests are NOT in here, ever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicProblem {
    #[serde(flatten)]
    pub summary: ProblemSummary,
    pub statement_md: String,
    pub examples: Vec<Example>,
    pub constraints_md: String,
    /// Language id (manifest) -> starter code.
    pub starter: BTreeMap<String, String>,
    /// Human-readable signature, e.g. `twoSum(nums: int[], target: int) -> int[]`.
    pub signature: Option<String>,
}
