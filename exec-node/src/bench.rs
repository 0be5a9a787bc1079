//! `tandem-exec bench`: request → verdict latency for hello world in every language, printed
//! beside a baseline measured in the same run (`podman run --rm` of the same image running the
//! same program), because this machine is shared and noisy.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tandem_shared::exec::{RunRequest, SourceFile, Verdict};

use crate::node::Node;

/// Hello world per language: (language id, file name, source).
pub const HELLO: [(&str, &str, &str); 5] = [
    ("python", "main.py", "print('Hello, World!')\n"),
    ("javascript", "main.js", "console.log('Hello, World!');\n"),
    (
        "cpp",
        "main.cpp",
        "#include <iostream>\nint main() { std::cout << \"Hello, World!\" << std::endl; }\n",
    ),
    (
        "java",
        "Main.java",
        "public class Main { public static void main(String[] a) { System.out.println(\"Hello, World!\"); } }\n",
    ),
    (
        "go",
        "main.go",
        "package main\nimport \"fmt\"\nfunc main() { fmt.Println(\"Hello, World!\") }\n",
    ),
];

/// Percentile of sorted samples (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// The shell line the baseline container runs: compile (if any) and run, like the node does.
fn baseline_script(lang: &str, file: &str) -> String {
    match lang {
        "python" => format!("cat > /work/{file} && python3 /work/{file}"),
        "javascript" => format!("cat > /work/{file} && node /work/{file}"),
        "cpp" => format!("cd /work && cat > {file} && g++ -std=gnu++20 -O2 -pipe -o main {file} && ./main"),
        "java" => format!("cd /work && cat > {file} && javac -d . {file} && java -cp . Main"),
        "go" => format!(
            "cd /work && cat > {file} && mkdir -p .cache && cp -r /opt/tandem/go-build-cache .cache/go-build && \
             GOCACHE=/work/.cache/go-build GO111MODULE=off GOTOOLCHAIN=local GOFLAGS=-buildvcs=false CGO_ENABLED=0 GOTELEMETRY=off go build -o main {file} && ./main"
        ),
        _ => unreachable!("bench languages are fixed"),
    }
}

/// One `podman run --rm` with the same image and comparable limits; returns its wall time.
fn baseline_once(image: &str, lang: &str, file: &str, source: &str) -> Result<Duration, String> {
    let start = Instant::now();
    let mut child = Command::new("podman")
        .args([
            "run",
            "--rm",
            "-i",
            "--network",
            "none",
            "--read-only",
            "--tmpfs",
            "/work:rw,exec,size=128m,mode=1777",
            "--tmpfs",
            "/tmp:rw,size=16m,mode=1777",
            "--memory",
            "512m",
            "--memory-swap",
            "512m",
            "--pids-limit",
            "128",
            "--cpus",
            "1",
            "--user",
            "1000:1000",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "-e",
            "HOME=/work",
            image,
            "sh",
            "-c",
        ])
        .arg(baseline_script(lang, file))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("podman: {e}"))?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(source.as_bytes()).map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let elapsed = start.elapsed();
    if String::from_utf8_lossy(&out.stdout) != "Hello, World!\n" {
        return Err(format!(
            "baseline output {:?} {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(elapsed)
}

/// Runs the benchmark and returns a Markdown report.
pub async fn run(node: &Node, runs: usize, baseline_runs: usize, languages: &[String]) -> anyhow::Result<String> {
    let mut report = String::new();
    writeln!(
        report,
        "| language | Tandem p50 ms | Tandem p95 ms | `podman run --rm` p50 ms | p95 ms | Tandem / baseline (p50) |"
    )?;
    writeln!(report, "| --- | --- | --- | --- | --- | --- |")?;
    for (lang, file, source) in HELLO {
        if !languages.is_empty() && !languages.iter().any(|l| l == lang) {
            continue;
        }
        let image = node
            .manifest()
            .find(lang)
            .expect("bench languages are in the manifest")
            .image
            .clone();
        let req = RunRequest {
            language: lang.into(),
            files: vec![SourceFile {
                name: Some(file.into()),
                content: source.into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        // One warm-up each, not counted (page cache, JIT of the engine).
        let _ = node.run(&req, "bench").await?;
        let _ = tokio::task::spawn_blocking({
            let image = image.clone();
            move || baseline_once(&image, lang, file, source)
        })
        .await?;
        let mut ours = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let r = node.run(&req, "bench").await?;
            let d = t.elapsed();
            if r.verdict != Verdict::Ok {
                anyhow::bail!(
                    "{lang}: verdict {:?}: {:?}",
                    r.verdict,
                    r.run.or(r.compile).and_then(|p| p.message)
                );
            }
            ours.push(d);
        }
        let mut base = Vec::with_capacity(baseline_runs);
        for _ in 0..baseline_runs {
            let image = image.clone();
            base.push(
                tokio::task::spawn_blocking(move || baseline_once(&image, lang, file, source))
                    .await?
                    .map_err(anyhow::Error::msg)?,
            );
        }
        ours.sort();
        base.sort();
        let (o50, b50) = (percentile(&ours, 50.0), percentile(&base, 50.0));
        writeln!(
            report,
            "| {lang} | {} | {} | {} | {} | {:.2} |",
            ms(o50),
            ms(percentile(&ours, 95.0)),
            ms(b50),
            ms(percentile(&base, 95.0)),
            o50.as_secs_f64() / b50.as_secs_f64().max(1e-9)
        )?;
        eprintln!("{lang}: done");
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 95.0), Duration::from_millis(95));
        assert_eq!(percentile(&v[..1], 99.0), Duration::from_millis(1));
    }
}
