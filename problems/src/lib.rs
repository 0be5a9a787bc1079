//! Tandem's problem bank, kept on the execution node.
//!
//! - [`format`]: the problem file (one TOML file per problem) and its checks;
//! - [`signature`]: the language-neutral function signature and its types;
//! - [`harness`]: per-language programs generated from the signature that wrap the candidate's
//!   function, feed it every case from stdin and print each result on a marker line;
//! - [`judge`]: reads those lines back and compares them with the expected values **on the
//!   node**, producing a [`TestReport`](tandem_shared::exec::TestReport) that carries nothing of
//!   a hidden case but its verdict and time.
//!
//! Hidden tests never leave this crate's [`Problem`]: peers get a
//! [`PublicProblem`](tandem_shared::problem::PublicProblem), the sandbox gets the inputs (never
//! the expected outputs), and reports of hidden cases carry no input, expected or actual value.

pub mod format;
pub mod harness;
pub mod judge;
pub mod signature;

use std::path::Path;

pub use format::{Case, Problem};
pub use harness::Build;
use tandem_shared::problem::{ProblemSummary, PublicProblem};

/// Why the bank or a problem run could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BankError {
    #[error("problem file {file}: {message}")]
    BadFile { file: String, message: String },
    #[error("problem `{0}` is not in this node's bank")]
    UnknownProblem(String),
    #[error("problem `{problem}` has no harness for language `{language}`")]
    UnsupportedLanguage { problem: String, language: String },
    #[error("custom input: {0}")]
    BadCustomInput(String),
    #[error("reading the problem directory {dir}: {message}")]
    Io { dir: String, message: String },
}

/// The bundled starter set: used when the operator's directory is unset or holds no problem.
pub const BUNDLED: &[(&str, &str)] = &[
    ("two-sum.toml", include_str!("../bank/two-sum.toml")),
    ("valid-parentheses.toml", include_str!("../bank/valid-parentheses.toml")),
    ("fizz-buzz.toml", include_str!("../bank/fizz-buzz.toml")),
    ("valid-anagram.toml", include_str!("../bank/valid-anagram.toml")),
    ("climbing-stairs.toml", include_str!("../bank/climbing-stairs.toml")),
    ("maximum-subarray.toml", include_str!("../bank/maximum-subarray.toml")),
    (
        "longest-substring-without-repeating.toml",
        include_str!("../bank/longest-substring-without-repeating.toml"),
    ),
    ("merge-intervals.toml", include_str!("../bank/merge-intervals.toml")),
    ("number-of-islands.toml", include_str!("../bank/number-of-islands.toml")),
    (
        "product-except-self.toml",
        include_str!("../bank/product-except-self.toml"),
    ),
    (
        "trapping-rain-water.toml",
        include_str!("../bank/trapping-rain-water.toml"),
    ),
    ("edit-distance.toml", include_str!("../bank/edit-distance.toml")),
    ("sum-of-numbers.toml", include_str!("../bank/sum-of-numbers.toml")),
];

/// The problems a node offers.
#[derive(Debug, Clone, Default)]
pub struct Bank {
    problems: Vec<Problem>,
}

impl Bank {
    /// The bundled starter set.
    pub fn bundled() -> Bank {
        let problems = BUNDLED
            .iter()
            .map(|(name, text)| Problem::parse(name, text).expect("bundled problems are checked by a unit test"))
            .collect();
        Bank::from_problems(problems)
    }

    fn from_problems(mut problems: Vec<Problem>) -> Bank {
        problems.sort_by(|a, b| {
            (a.summary.difficulty, a.summary.title.as_str()).cmp(&(b.summary.difficulty, b.summary.title.as_str()))
        });
        Bank { problems }
    }

    /// Every `*.toml` of `dir` (not recursive). A bad file is an error naming the file and the
    /// problem, so an operator's typo never silently removes a problem. An empty directory
    /// gives the bundled set.
    pub fn load_dir(dir: &Path) -> Result<Bank, BankError> {
        let io = |e: std::io::Error| BankError::Io {
            dir: dir.display().to_string(),
            message: e.to_string(),
        };
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        names.sort();
        if names.is_empty() {
            tracing::info!(dir = %dir.display(), "no problem files; using the bundled problems");
            return Ok(Bank::bundled());
        }
        let mut problems: Vec<Problem> = Vec::new();
        for path in names {
            let text = std::fs::read_to_string(&path).map_err(io)?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let p = Problem::parse(&name, &text)?;
            if problems.iter().any(|q| q.summary.id == p.summary.id) {
                return Err(BankError::BadFile {
                    file: name,
                    message: format!("problem id `{}` is used twice", p.summary.id),
                });
            }
            problems.push(p);
        }
        Ok(Bank::from_problems(problems))
    }

    /// `dir` when given (see [`Bank::load_dir`]), else the bundled set.
    pub fn load(dir: Option<&Path>) -> Result<Bank, BankError> {
        match dir {
            Some(d) => Bank::load_dir(d),
            None => Ok(Bank::bundled()),
        }
    }

    pub fn list(&self) -> Vec<ProblemSummary> {
        self.problems.iter().map(|p| p.summary.clone()).collect()
    }

    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    pub fn get(&self, id: &str) -> Result<&Problem, BankError> {
        self.problems
            .iter()
            .find(|p| p.summary.id == id)
            .ok_or_else(|| BankError::UnknownProblem(id.chars().take(80).collect()))
    }

    /// The public part of problem `id`: what peers may see.
    pub fn public(&self, id: &str) -> Result<PublicProblem, BankError> {
        Ok(self.get(id)?.public())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_set_parses_and_is_varied() {
        let bank = Bank::bundled();
        assert!(bank.list().len() >= 12);
        use tandem_shared::problem::{Difficulty, ProblemKind};
        for d in [Difficulty::Easy, Difficulty::Medium, Difficulty::Hard] {
            assert!(bank.list().iter().any(|p| p.difficulty == d), "{d:?}");
        }
        assert!(bank.list().iter().any(|p| p.kind == ProblemKind::Stdio));
        for p in bank.problems() {
            for lang in harness::LANGUAGES {
                assert!(
                    p.solutions.contains_key(*lang),
                    "{} has no {lang} solution",
                    p.summary.id
                );
            }
            assert!(!p.tests.is_empty(), "{} has no hidden tests", p.summary.id);
            let public = serde_json::to_string(&p.public()).unwrap();
            for t in &p.tests {
                // Nothing hidden in what peers get (unless it is also a visible example).
                if let Some(s) = t.input.as_str().filter(|s| s.len() > 12) {
                    assert!(!public.contains(s), "{}: hidden input in public part", p.summary.id);
                }
            }
        }
    }

    #[test]
    fn an_operator_directory_replaces_the_bundled_set_and_bad_files_are_named() {
        let dir = std::env::temp_dir().join(format!("tandem-bank-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(Bank::load_dir(&dir).unwrap().list().len(), Bank::bundled().list().len());
        std::fs::write(dir.join("two-sum.toml"), BUNDLED[0].1).unwrap();
        assert_eq!(Bank::load_dir(&dir).unwrap().list().len(), 1);
        std::fs::write(dir.join("broken.toml"), "title = 1").unwrap();
        let err = Bank::load_dir(&dir).unwrap_err().to_string();
        assert!(err.contains("broken.toml"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
