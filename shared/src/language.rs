//! The language manifest: which languages exist, how to compile and run them, and the
//! starter template each editor opens with.
//!
//! The manifest is one TOML file (`shared/languages.toml`) compiled into this crate, so the
//! node, the UI and the tests can never disagree about a language's name or command line.

use serde::{Deserialize, Serialize};

/// The manifest shipped with this build.
pub const BUNDLED_MANIFEST: &str = include_str!("../languages.toml");

/// Why a manifest could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("language manifest is not valid TOML: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("language manifest has schema {found}; this build reads schema {expected}")]
    Schema { found: u32, expected: u32 },
    #[error("language manifest names `{0}` twice (as an id or alias)")]
    Duplicate(String),
    #[error("language `{0}` has an empty run command")]
    EmptyRun(String),
    #[error("language `{0}`: `prestart` must be a prefix of `run` and needs no compile phase")]
    BadPrestart(String),
}

/// Per-language limit defaults, for toolchains that need more than the node's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageLimits {
    /// Memory for the run phase (and compile phase unless `compile_memory_mib` says), in MiB.
    pub memory_mib: Option<u64>,
    /// Memory for the compile phase, in MiB (compilers often need more than programs).
    pub compile_memory_mib: Option<u64>,
    /// Maximum number of processes and threads in the sandbox.
    pub pids: Option<u64>,
}

/// One language of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Language {
    /// Stable identifier (`python`, `cpp`, …): what requests and rooms store.
    pub id: String,
    /// Human name for menus.
    pub display_name: String,
    /// Toolchain version inside the runner image.
    pub version: String,
    /// Other names accepted in requests (Piston-compatible).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Piston's optional `runtime` field (e.g. `node` for JavaScript).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Monaco's language id, for highlighting.
    pub monaco: String,
    /// Default name of the main file.
    pub file_name: String,
    /// Extension of source files (with the dot).
    pub extension: String,
    /// Container image holding the toolchain.
    pub image: String,
    /// Compile command (argv with placeholders), if the language has a compile phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compile: Option<Vec<String>>,
    /// Run command (argv with placeholders); request arguments are appended.
    pub run: Vec<String>,
    /// A prefix of `run` that the sandbox starts before the job arrives; the program then
    /// receives the rest of `run` (the main file and arguments) on fd 3. For languages whose
    /// start-up dominates a small run and that have no compile phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prestart: Option<Vec<String>>,
    /// Extra environment (`KEY=value`) for both phases.
    #[serde(default)]
    pub env: Vec<String>,
    /// Directories copied from the image into the work dir before compiling
    /// (`[from, to]`), e.g. a warm build cache that must be writable.
    #[serde(default)]
    pub seed_dirs: Vec<[String; 2]>,
    /// What the compile phase produces for the run phase (`main`, `*.class`): what the
    /// node's compile cache keeps.
    #[serde(default)]
    pub artifacts: Vec<String>,
    /// Whether the work dir can be mounted `noexec` (interpreted languages).
    #[serde(default)]
    pub noexec_work: bool,
    /// Per-language limit defaults.
    #[serde(default)]
    pub limits: LanguageLimits,
    /// Starter code for a new editor.
    pub template: String,
}

impl Language {
    /// Whether `name` (case-insensitive) is this language's id or one of its aliases.
    pub fn answers_to(&self, name: &str) -> bool {
        self.id.eq_ignore_ascii_case(name) || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }

    /// Whether a Piston-style version selector (`*`, `3`, `3.13`, `3.13.5`, `3.x`) matches.
    pub fn version_matches(&self, selector: &str) -> bool {
        let selector = selector.trim();
        if selector.is_empty() || selector == "*" || selector == "latest" {
            return true;
        }
        let mut have = self.version.split('.');
        selector.split('.').all(|part| match have.next() {
            Some(v) => part == "x" || part == "*" || part == v,
            None => false,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    schema: u32,
    #[serde(rename = "language")]
    languages: Vec<Language>,
}

/// The parsed manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    languages: Vec<Language>,
}

impl Manifest {
    /// The schema version this build understands.
    pub const SCHEMA: u32 = 1;

    /// The manifest compiled into this build.
    pub fn bundled() -> Self {
        Self::parse(BUNDLED_MANIFEST).expect("the bundled manifest is checked by a unit test")
    }

    /// Parses and checks a manifest.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let file: ManifestFile = toml::from_str(text)?;
        if file.schema != Self::SCHEMA {
            return Err(ManifestError::Schema {
                found: file.schema,
                expected: Self::SCHEMA,
            });
        }
        let mut seen = std::collections::HashSet::new();
        for lang in &file.languages {
            if lang.run.is_empty() {
                return Err(ManifestError::EmptyRun(lang.id.clone()));
            }
            if let Some(pre) = &lang.prestart {
                if lang.compile.is_some() || pre.is_empty() || !lang.run.starts_with(pre) {
                    return Err(ManifestError::BadPrestart(lang.id.clone()));
                }
            }
            let mut names: Vec<String> = lang.aliases.iter().map(|a| a.to_ascii_lowercase()).collect();
            names.push(lang.id.to_ascii_lowercase());
            names.sort();
            names.dedup();
            for name in names {
                if !seen.insert(name.clone()) {
                    return Err(ManifestError::Duplicate(name));
                }
            }
        }
        Ok(Self {
            languages: file.languages,
        })
    }

    /// All languages, in manifest order.
    pub fn languages(&self) -> &[Language] {
        &self.languages
    }

    /// The language called `name` (id or alias), if any.
    pub fn find(&self, name: &str) -> Option<&Language> {
        self.languages.iter().find(|l| l.answers_to(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_manifest_parses_and_has_the_five_languages() {
        let m = Manifest::parse(BUNDLED_MANIFEST).unwrap();
        for id in ["javascript", "python", "java", "cpp", "go"] {
            assert!(m.find(id).is_some(), "{id} missing");
        }
    }

    #[test]
    fn piston_aliases_resolve() {
        let m = Manifest::bundled();
        assert_eq!(m.find("py").unwrap().id, "python");
        assert_eq!(m.find("JS").unwrap().id, "javascript");
        assert_eq!(m.find("node").unwrap().id, "javascript");
        assert_eq!(m.find("c++").unwrap().id, "cpp");
        assert_eq!(m.find("golang").unwrap().id, "go");
        assert!(m.find("brainfuck").is_none());
    }

    #[test]
    fn version_selectors() {
        let m = Manifest::bundled();
        let py = m.find("python").unwrap();
        assert!(py.version_matches("*"));
        assert!(py.version_matches("3"));
        assert!(py.version_matches("3.x"));
        assert!(py.version_matches(&py.version));
        assert!(!py.version_matches("2.7"));
        assert!(!py.version_matches("3.13.5.1"));
    }

    #[test]
    fn duplicate_alias_is_rejected() {
        let text = BUNDLED_MANIFEST.replace("aliases = [\"go\", \"golang\"]", "aliases = [\"py\"]");
        assert!(matches!(Manifest::parse(&text), Err(ManifestError::Duplicate(n)) if n == "py"));
    }

    #[test]
    fn unknown_schema_is_rejected() {
        let text = BUNDLED_MANIFEST.replace("schema = 1", "schema = 9");
        assert!(matches!(
            Manifest::parse(&text),
            Err(ManifestError::Schema { found: 9, .. })
        ));
    }
}
