//! Turning a client's [`RunRequest`] into a [`PreparedRun`]: language resolved, files decoded
//! and named safely, limits resolved against the operator's bounds, command lines expanded.
//!
//! Everything a client can get wrong is caught here, before a sandbox exists, and reported as
//! a [`RequestError`] the HTTP layer turns into a 4xx answer.

use base64::Engine as _;
use tandem_shared::exec::{Encoding, LimitsRequest, PhaseLimits, ResolvedLimits, RunRequest};
use tandem_shared::language::{Language, Manifest};

use crate::config::NodeConfig;

/// A request that cannot be run as given. Nothing was run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("unknown language `{0}`; GET /api/v2/runtimes lists the languages this node runs")]
    UnknownLanguage(String),
    #[error("{language}-{version} runtime is unknown; this node has {language} {have}")]
    UnknownVersion {
        language: String,
        version: String,
        have: String,
    },
    #[error("files must contain at least one file")]
    NoFiles,
    #[error("too many files: {count} (at most {max})")]
    TooManyFiles { count: usize, max: usize },
    #[error("file name {0:?} is not allowed: use letters, digits, `.`, `_`, `-` and `/` between names, no `..`")]
    BadFileName(String),
    #[error("file name {0:?} appears twice")]
    DuplicateFileName(String),
    #[error("files[{index}].content is not valid {encoding}")]
    BadEncoding { index: usize, encoding: &'static str },
    #[error("the program is empty")]
    EmptyProgram,
    #[error("the program is {size} bytes; at most {max} bytes are accepted")]
    ProgramTooLarge { size: usize, max: usize },
    #[error("stdin is {size} bytes; at most {max} bytes are accepted")]
    StdinTooLarge { size: usize, max: usize },
    #[error("too many arguments: {count} (at most {max})")]
    TooManyArgs { count: usize, max: usize },
    #[error("{field} must be positive and at most {max} (got {got})")]
    LimitOutOfRange { field: &'static str, got: u64, max: u64 },
}

/// A request ready for a sandbox.
#[derive(Debug, Clone)]
pub struct PreparedRun {
    pub language: Language,
    /// Files with safe relative paths, decoded.
    pub files: Vec<(String, Vec<u8>)>,
    pub compile_argv: Option<Vec<String>>,
    pub run_argv: Vec<String>,
    pub stdin: Vec<u8>,
    pub limits: ResolvedLimits,
    /// Bytes of source, for the audit log.
    pub source_bytes: usize,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && !part.starts_with('-')
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        })
}

pub(crate) fn decode(content: &str, encoding: Encoding, index: usize) -> Result<Vec<u8>, RequestError> {
    match encoding {
        Encoding::Utf8 => Ok(content.as_bytes().to_vec()),
        Encoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(content.trim())
            .map_err(|_| RequestError::BadEncoding {
                index,
                encoding: "base64",
            }),
        // Pairs of bytes, not of `char`s: any non-ASCII byte is simply not a hex digit.
        Encoding::Hex => {
            let bad = || RequestError::BadEncoding { index, encoding: "hex" };
            let pairs = content.trim().as_bytes().chunks_exact(2);
            if !pairs.remainder().is_empty() {
                return Err(bad());
            }
            pairs
                .map(|pair| Some(hex_digit(pair[0])? << 4 | hex_digit(pair[1])?))
                .collect::<Option<_>>()
                .ok_or_else(bad)
        }
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn bounded(field: &'static str, asked: Option<u64>, default: u64, max: u64) -> Result<u64, RequestError> {
    match asked {
        None => Ok(default.min(max)),
        Some(v) if v == 0 || v > max => Err(RequestError::LimitOutOfRange { field, got: v, max }),
        Some(v) => Ok(v),
    }
}

/// Resolves requested limits against the language's and the operator's defaults and maximums.
pub fn resolve_limits(
    asked: &LimitsRequest,
    lang: &Language,
    cfg: &NodeConfig,
) -> Result<ResolvedLimits, RequestError> {
    let mib = 1024 * 1024;
    let default_memory = lang
        .limits
        .memory_mib
        .map(|m| m * mib)
        .unwrap_or(cfg.default_memory_bytes);
    let default_compile_memory = lang
        .limits
        .compile_memory_mib
        .map(|m| m * mib)
        .unwrap_or(default_memory);
    let default_pids = lang.limits.pids.unwrap_or(cfg.default_pids);
    let output = bounded(
        "output_bytes",
        asked.output_bytes,
        cfg.default_output_bytes,
        cfg.max_output_bytes,
    )?;
    let phase = |wall: (&'static str, Option<u64>),
                 cpu: (&'static str, Option<u64>),
                 mem: (&'static str, Option<u64>, u64),
                 b: &crate::config::PhaseBounds| {
        Ok::<_, RequestError>(PhaseLimits {
            wall_ms: bounded(wall.0, wall.1, b.default_wall_ms, b.max_wall_ms)?,
            cpu_ms: bounded(cpu.0, cpu.1, b.default_cpu_ms, b.max_cpu_ms)?,
            memory_bytes: bounded(mem.0, mem.1, mem.2, cfg.max_memory_bytes)?,
            output_bytes: output,
        })
    };
    Ok(ResolvedLimits {
        compile: phase(
            ("compile_timeout", asked.compile_wall_ms),
            ("compile_cpu_time", asked.compile_cpu_ms),
            (
                "compile_memory_limit",
                asked.compile_memory_bytes,
                default_compile_memory,
            ),
            &cfg.compile,
        )?,
        run: phase(
            ("run_timeout", asked.run_wall_ms),
            ("run_cpu_time", asked.run_cpu_ms),
            ("run_memory_limit", asked.run_memory_bytes, default_memory),
            &cfg.run,
        )?,
        pids: bounded("pids", asked.pids, default_pids, cfg.max_pids)?,
        cpu_millis: cfg.cpu_millis,
    })
}

/// Finds the class a Java program starts from, and the public class that names its file.
///
/// A light scan, not a parser: good enough for the single-file programs of interviews, and
/// the compiler has the final word on anything odd.
pub fn java_classes(source: &str) -> (Option<String>, Option<String>) {
    let words: Vec<&str> = source
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut public_class = None;
    let mut current_class: Option<&str> = None;
    let mut main_class = None;
    for (i, w) in words.iter().enumerate() {
        if matches!(*w, "class" | "interface" | "enum" | "record") {
            if let Some(name) = words.get(i + 1) {
                current_class = Some(name);
                if public_class.is_none() && words[..i].iter().rev().take(3).any(|p| *p == "public") {
                    public_class = Some(name.to_string());
                }
            }
        }
        if *w == "main"
            && i >= 2
            && words[i - 1] == "void"
            && words[..i].iter().rev().take(4).any(|p| *p == "static")
            && main_class.is_none()
        {
            main_class = current_class.map(str::to_string);
        }
    }
    (main_class, public_class)
}

/// Checks and prepares a request.
pub fn prepare(req: &RunRequest, manifest: &Manifest, cfg: &NodeConfig) -> Result<PreparedRun, RequestError> {
    let lang = manifest
        .find(&req.language)
        .ok_or_else(|| RequestError::UnknownLanguage(req.language.clone()))?;
    if let Some(v) = req.version.as_deref() {
        if !lang.version_matches(v) {
            return Err(RequestError::UnknownVersion {
                language: lang.id.clone(),
                version: v.into(),
                have: lang.version.clone(),
            });
        }
    }
    if req.files.is_empty() {
        return Err(RequestError::NoFiles);
    }
    if req.files.len() > cfg.max_files {
        return Err(RequestError::TooManyFiles {
            count: req.files.len(),
            max: cfg.max_files,
        });
    }
    if req.args.len() > cfg.max_args {
        return Err(RequestError::TooManyArgs {
            count: req.args.len(),
            max: cfg.max_args,
        });
    }
    if req.stdin.len() > cfg.max_stdin_bytes {
        return Err(RequestError::StdinTooLarge {
            size: req.stdin.len(),
            max: cfg.max_stdin_bytes,
        });
    }
    let mut files = Vec::with_capacity(req.files.len());
    let mut size = 0;
    for (i, f) in req.files.iter().enumerate() {
        let data = decode(&f.content, f.encoding, i)?;
        size += data.len();
        if size > cfg.max_source_bytes {
            return Err(RequestError::ProgramTooLarge {
                size,
                max: cfg.max_source_bytes,
            });
        }
        let name = match f.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            Some(n) => n.trim_start_matches("./").to_string(),
            None if i == 0 => lang.file_name.clone(),
            None => format!("file{i}{}", lang.extension),
        };
        if !valid_name(&name) {
            return Err(RequestError::BadFileName(name));
        }
        files.push((name, data));
    }
    if files[0].1.iter().all(u8::is_ascii_whitespace) {
        return Err(RequestError::EmptyProgram);
    }

    // Java: name the main file after its public class, and find the class with `main`.
    let mut class = String::from("Main");
    if lang.id == "java" {
        let source = String::from_utf8_lossy(&files[0].1).into_owned();
        let (main_class, public_class) = java_classes(&source);
        if let Some(public) = public_class {
            let wanted = format!("{public}.java");
            let dir = files[0]
                .0
                .rsplit_once('/')
                .map(|(d, _)| format!("{d}/"))
                .unwrap_or_default();
            files[0].0 = format!("{dir}{wanted}");
        }
        class = main_class.unwrap_or_else(|| {
            files[0]
                .0
                .trim_end_matches(".java")
                .rsplit('/')
                .next()
                .unwrap_or("Main")
                .to_string()
        });
    }
    // Main file of a language with an extension gets it, so compilers recognise it.
    if !files[0].0.ends_with(&lang.extension) && lang.compile.is_some() {
        files[0].0.push_str(&lang.extension);
    }
    let mut seen = std::collections::HashSet::new();
    for (name, _) in &files {
        if !seen.insert(name.clone()) {
            return Err(RequestError::DuplicateFileName(name.clone()));
        }
    }

    let main = files[0].0.clone();
    let sources: Vec<String> = files
        .iter()
        .filter(|(n, _)| n.ends_with(&lang.extension))
        .map(|(n, _)| n.clone())
        .collect();
    let expand = |argv: &[String]| -> Vec<String> {
        argv.iter()
            .flat_map(|a| match a.as_str() {
                "{main}" => vec![main.clone()],
                "{sources}" => sources.clone(),
                "{class}" => vec![class.clone()],
                _ => vec![a.clone()],
            })
            .collect()
    };
    let mut run_argv = expand(&lang.run);
    run_argv.extend(req.args.iter().cloned());
    Ok(PreparedRun {
        language: lang.clone(),
        compile_argv: lang.compile.as_deref().map(expand),
        run_argv,
        files,
        stdin: req.stdin.as_bytes().to_vec(),
        limits: resolve_limits(&req.limits, lang, cfg)?,
        source_bytes: size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_shared::exec::SourceFile;

    fn req(lang: &str, files: Vec<SourceFile>) -> RunRequest {
        RunRequest {
            language: lang.into(),
            files,
            ..Default::default()
        }
    }

    fn file(name: Option<&str>, content: &str) -> SourceFile {
        SourceFile {
            name: name.map(Into::into),
            content: content.into(),
            encoding: Encoding::Utf8,
        }
    }

    #[test]
    fn unnamed_first_file_gets_the_default_name() {
        let p = prepare(
            &req("py", vec![file(None, "print(1)")]),
            &Manifest::bundled(),
            &NodeConfig::default(),
        )
        .unwrap();
        assert_eq!(p.files[0].0, "main.py");
        assert_eq!(p.run_argv, vec!["python3", "main.py"]);
    }

    #[test]
    fn java_file_is_named_after_its_public_class() {
        let src = "import java.util.*;\npublic class Solution {\n  public static void main(String[] a) {}\n}\n";
        let p = prepare(
            &req("java", vec![file(Some("main"), src)]),
            &Manifest::bundled(),
            &NodeConfig::default(),
        )
        .unwrap();
        assert_eq!(p.files[0].0, "Solution.java");
        assert_eq!(p.run_argv.last().unwrap(), "Solution");
        assert!(p.compile_argv.unwrap().contains(&"Solution.java".to_string()));
    }

    #[test]
    fn java_main_in_non_public_class() {
        let (main, public) = java_classes("class Helper {}\nclass Prog { static public void main(String[] a) {} }");
        assert_eq!(main.as_deref(), Some("Prog"));
        assert_eq!(public, None);
    }

    #[test]
    fn traversal_and_absolute_names_are_refused() {
        for bad in ["../x.py", "/etc/passwd", "a/../../b", "a//b", "-rf", "a b.py"] {
            let r = prepare(
                &req("py", vec![file(Some(bad), "print(1)")]),
                &Manifest::bundled(),
                &NodeConfig::default(),
            );
            assert!(matches!(r, Err(RequestError::BadFileName(_))), "{bad}: {r:?}");
        }
    }

    #[test]
    fn bad_requests_are_refused_before_running() {
        let m = Manifest::bundled();
        let cfg = NodeConfig::default();
        assert!(matches!(
            prepare(&req("cobol", vec![file(None, "x")]), &m, &cfg),
            Err(RequestError::UnknownLanguage(_))
        ));
        assert_eq!(
            prepare(&req("py", vec![]), &m, &cfg).unwrap_err(),
            RequestError::NoFiles
        );
        assert_eq!(
            prepare(&req("py", vec![file(None, "  \n")]), &m, &cfg).unwrap_err(),
            RequestError::EmptyProgram
        );
        let big = "x".repeat(cfg.max_source_bytes + 1);
        assert!(matches!(
            prepare(&req("py", vec![file(None, &big)]), &m, &cfg),
            Err(RequestError::ProgramTooLarge { .. })
        ));
        let many = (0..40).map(|i| file(Some(&format!("f{i}.py")), "x")).collect();
        assert!(matches!(
            prepare(&req("py", many), &m, &cfg),
            Err(RequestError::TooManyFiles { .. })
        ));
        let mut r = req("py", vec![file(None, "x")]);
        r.stdin = "y".repeat(cfg.max_stdin_bytes + 1);
        assert!(matches!(prepare(&r, &m, &cfg), Err(RequestError::StdinTooLarge { .. })));
        let mut r = req("py", vec![file(None, "x")]);
        r.limits.run_wall_ms = Some(cfg.run.max_wall_ms + 1);
        assert!(matches!(
            prepare(&r, &m, &cfg),
            Err(RequestError::LimitOutOfRange {
                field: "run_timeout",
                ..
            })
        ));
    }

    #[test]
    fn base64_and_hex_files_decode() {
        let m = Manifest::bundled();
        let cfg = NodeConfig::default();
        let mut f = file(None, "cHJpbnQoMSk=");
        f.encoding = Encoding::Base64;
        assert_eq!(prepare(&req("py", vec![f]), &m, &cfg).unwrap().files[0].1, b"print(1)");
        let mut f = file(None, "7072696e74283129");
        f.encoding = Encoding::Hex;
        assert_eq!(prepare(&req("py", vec![f]), &m, &cfg).unwrap().files[0].1, b"print(1)");
        for bad in ["zz", "é1", "aé1", "1é", "éé", "+1", "7", "0x"] {
            let mut f = file(None, bad);
            f.encoding = Encoding::Hex;
            assert!(
                matches!(
                    prepare(&req("py", vec![f]), &m, &cfg),
                    Err(RequestError::BadEncoding { encoding: "hex", .. })
                ),
                "{bad:?}"
            );
        }
        let mut f = file(None, "7072696E74283129");
        f.encoding = Encoding::Hex;
        assert_eq!(prepare(&req("py", vec![f]), &m, &cfg).unwrap().files[0].1, b"print(1)");
    }

    #[test]
    fn language_limit_defaults_apply() {
        let p = prepare(
            &req("java", vec![file(None, "class Main{}")]),
            &Manifest::bundled(),
            &NodeConfig::default(),
        )
        .unwrap();
        assert_eq!(p.limits.pids, 128);
        assert_eq!(p.limits.run.memory_bytes, 512 * 1024 * 1024);
    }
}

/// The decoder meets whatever a client or a room peer sends: no input may panic it, and every
/// refusal is a typed [`RequestError`] (a 4xx, never a dropped connection).
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use tandem_shared::exec::SourceFile;

    fn encoding() -> impl Strategy<Value = Encoding> {
        prop_oneof![Just(Encoding::Utf8), Just(Encoding::Base64), Just(Encoding::Hex)]
    }

    /// Text biased towards what trips decoders: hex and base64 alphabets mixed with multi-byte
    /// characters, whitespace and path separators.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[0-9a-fA-F]{0,16}",
            "[0-9a-fé€𝄞 ]{0,16}",
            "[A-Za-z0-9+/=é\n ]{0,24}",
            "[a-z./ -]{0,12}",
        ]
    }

    fn file() -> impl Strategy<Value = SourceFile> {
        (proptest::option::of(text()), text(), encoding()).prop_map(|(name, content, encoding)| SourceFile {
            name,
            content,
            encoding,
        })
    }

    fn request() -> impl Strategy<Value = RunRequest> {
        (
            prop_oneof![
                Just("py".to_string()),
                Just("java".to_string()),
                Just("cpp".to_string()),
                text()
            ],
            proptest::option::of(text()),
            proptest::collection::vec(file(), 0..4),
            text(),
            proptest::collection::vec(text(), 0..3),
            proptest::option::of(any::<u64>()),
        )
            .prop_map(|(language, version, files, stdin, args, wall)| RunRequest {
                language,
                version,
                files,
                stdin,
                args,
                limits: LimitsRequest {
                    run_wall_ms: wall,
                    ..Default::default()
                },
                ..Default::default()
            })
    }

    proptest! {
        #[test]
        fn decoding_any_content_never_panics(content in text(), encoding in encoding()) {
            if let Err(e) = decode(&content, encoding, 0) {
                let typed = matches!(e, RequestError::BadEncoding { index: 0, .. });
                prop_assert!(typed, "{:?}", e);
            }
        }

        #[test]
        fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            prop_assert_eq!(decode(&text, Encoding::Hex, 0).unwrap(), bytes);
        }

        #[test]
        fn preparing_any_request_never_panics(req in request()) {
            let _ = prepare(&req, &Manifest::bundled(), &NodeConfig::default());
        }

        #[test]
        fn any_json_body_is_a_request_or_an_error(body in any::<Vec<u8>>()) {
            if let Ok(req) = serde_json::from_slice::<RunRequest>(&body) {
                let _ = prepare(&req, &Manifest::bundled(), &NodeConfig::default());
            }
        }
    }
}
