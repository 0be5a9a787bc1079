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

fn hello_request(lang: &str, file: &str, source: &str) -> RunRequest {
    RunRequest {
        language: lang.into(),
        files: vec![SourceFile {
            name: Some(file.into()),
            content: source.into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// A comment that makes each source unique, so a compiled language really compiles.
fn unique(lang: &str, source: &str, n: usize) -> String {
    match lang {
        "python" => format!("{source}# run {n}\n"),
        _ => format!("{source}// run {n}\n"),
    }
}

async fn timed(node: &Node, req: &RunRequest) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let r = node.run(req, "bench").await?;
    let d = t.elapsed();
    if r.verdict != Verdict::Ok {
        anyhow::bail!(
            "{}: verdict {:?}: {:?}",
            req.language,
            r.verdict,
            r.run.or(r.compile).and_then(|p| p.message)
        );
    }
    Ok(d)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Runs the benchmark and returns a Markdown report.
pub async fn run(
    node: &Node,
    runs: usize,
    baseline_runs: usize,
    languages: &[String],
    pace: Duration,
) -> anyhow::Result<String> {
    let mut report = String::new();
    writeln!(
        report,
        "### Request → verdict, hello world ({runs} runs each, {} ms apart; baseline {baseline_runs} runs)\n",
        pace.as_millis()
    )?;
    writeln!(
        report,
        "| language | first run p50 / p95 ms | cached re-run p50 / p95 ms | `podman run --rm` p50 / p95 ms | first run ÷ baseline (p50) |"
    )?;
    writeln!(report, "| --- | --- | --- | --- | --- |")?;
    let mut counter = 0usize;
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
        let compiled = node.manifest().find(lang).is_some_and(|l| l.compile.is_some());
        // One warm-up each, not counted (page cache, the engine's own caches).
        timed(node, &hello_request(lang, file, source)).await?;
        let _ = tokio::task::spawn_blocking({
            let image = image.clone();
            move || baseline_once(&image, lang, file, source)
        })
        .await?;
        let mut first = Vec::with_capacity(runs);
        for _ in 0..runs {
            counter += 1;
            tokio::time::sleep(pace).await;
            first.push(timed(node, &hello_request(lang, file, &unique(lang, source, counter))).await?);
        }
        let mut cached = Vec::new();
        if compiled {
            let req = hello_request(lang, file, source); // built by the warm-up
            for _ in 0..runs {
                tokio::time::sleep(pace).await;
                cached.push(timed(node, &req).await?);
            }
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
        first.sort();
        cached.sort();
        base.sort();
        let pair = |v: &[Duration]| {
            if v.is_empty() {
                "–".to_string()
            } else {
                format!("{} / {}", ms(percentile(v, 50.0)), ms(percentile(v, 95.0)))
            }
        };
        writeln!(
            report,
            "| {lang} | {} | {} | {} | {:.2} |",
            pair(&first),
            pair(&cached),
            pair(&base),
            percentile(&first, 50.0).as_secs_f64() / percentile(&base, 50.0).as_secs_f64().max(1e-9)
        )?;
        eprintln!("{lang}: done");
    }

    // Streaming: time from the program printing a line to the chunk reaching the consumer.
    // The sandbox shares the host's clock, so the program prints its own timestamp.
    let code = "import time\nfor i in range(200):\n    print(time.time_ns(), flush=True)\n    time.sleep(0.005)\n";
    let mut handle = node.submit(&hello_request("python", "main.py", code), "bench")?;
    let mut lags = Vec::new();
    let mut pending = String::new();
    while let Some(ev) = handle.events.recv().await {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos() as i128;
        match ev {
            tandem_shared::exec::RunEvent::Output { data, .. } => {
                pending.push_str(&data);
                while let Some(nl) = pending.find('\n') {
                    let line: String = pending.drain(..=nl).collect();
                    if let Ok(printed) = line.trim().parse::<i128>() {
                        lags.push(Duration::from_nanos((now - printed).max(0) as u64));
                    }
                }
            }
            tandem_shared::exec::RunEvent::Finished { .. } => break,
            _ => {}
        }
    }
    lags.sort();
    writeln!(
        report,
        "\n### Output streaming: program prints a line → chunk at the consumer ({} lines)\n",
        lags.len()
    )?;
    writeln!(report, "| p50 ms | p99 ms | max ms |\n| --- | --- | --- |")?;
    writeln!(
        report,
        "| {} | {} | {} |",
        ms(percentile(&lags, 50.0)),
        ms(percentile(&lags, 99.0)),
        ms(lags.last().copied().unwrap_or_default())
    )?;

    // A burst: 200 Python runs submitted at once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = rss_kib();
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(idle_rss));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let burst = 200;
    let t = Instant::now();
    let mut handles = Vec::with_capacity(burst);
    for i in 0..burst {
        let req = hello_request("python", "main.py", &format!("print({i} * 2)\n"));
        handles.push((i, node.submit(&req, "bench")?));
    }
    let mut errors = 0;
    for (i, h) in handles {
        match h.result().await {
            Some(r)
                if r.verdict == Verdict::Ok && r.run.as_ref().is_some_and(|p| p.stdout == format!("{}\n", i * 2)) => {}
            _ => errors += 1,
        }
    }
    let wall = t.elapsed();
    sampler.abort();
    writeln!(report, "\n### Burst: {burst} Python runs submitted at once\n")?;
    writeln!(
        report,
        "| correct | errors | wall s | runs/s | node RSS idle MiB | node RSS peak MiB |"
    )?;
    writeln!(report, "| --- | --- | --- | --- | --- | --- |")?;
    writeln!(
        report,
        "| {} | {errors} | {:.2} | {:.1} | {:.1} | {:.1} |",
        burst - errors,
        wall.as_secs_f64(),
        burst as f64 / wall.as_secs_f64(),
        idle_rss as f64 / 1024.0,
        peak.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1024.0
    )?;
    Ok(report)
}

/// One HTTP/1.1 request on a fresh connection (as a Piston client makes it); the status and
/// the body.
async fn http_once(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: &str,
) -> anyhow::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{auth}Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no HTTP status in {text:?}"))?;
    Ok((status, text))
}

/// What the HTTP gate (API key + per-IP and per-key rate limits) costs: the same node served
/// twice on loopback, once without keys and once with one, Python hello world through
/// `POST /api/v2/execute` alternating between the two, and a cheap route alone.
pub async fn run_http(node: &Node, runs: usize, cheap_runs: usize) -> anyhow::Result<String> {
    let key = crate::auth::new_key();
    let mut keyed_cfg = node.config().clone();
    keyed_cfg.api_keys = vec![crate::auth::ApiKey {
        name: "bench".into(),
        sha256: crate::auth::hash_key(&key),
        scopes: vec![crate::auth::Scope::Run],
    }];
    // Rates high enough that the bench measures the check, not a refusal.
    keyed_cfg.http_requests_per_minute_per_ip = 1_000_000;
    keyed_cfg.http_requests_per_minute_per_key = 1_000_000;
    let mut open_cfg = keyed_cfg.clone();
    open_cfg.api_keys.clear();
    let mut servers = Vec::new();
    let mut addrs = Vec::new();
    for cfg in [&open_cfg, &keyed_cfg] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        addrs.push(listener.local_addr()?);
        let app = crate::http::router_with(node.clone(), crate::http::Gate::new(cfg)?);
        servers.push(tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
        }));
    }
    let keys = [None, Some(key.as_str())];
    let hello = |n: usize| {
        serde_json::json!({"language": "python", "version": "*", "files": [{"content": format!("print('Hello, World!')\n# run {n}\n")}]})
            .to_string()
    };
    // Warm-up, one each.
    for (addr, key) in addrs.iter().zip(keys) {
        http_once(*addr, "POST", "/api/v2/execute", key, &hello(0)).await?;
    }
    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for i in 0..runs {
        // Alternate which goes first, so drift on the machine hits both alike.
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for which in order {
            let t = Instant::now();
            let (status, text) = http_once(
                addrs[which],
                "POST",
                "/api/v2/execute",
                keys[which],
                &hello(i * 2 + which + 1),
            )
            .await?;
            let d = t.elapsed();
            if status != 200 || !text.contains("Hello, World!") {
                anyhow::bail!("HTTP {status}: {text}");
            }
            times[which].push(d);
        }
    }
    let mut cheap: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    for i in 0..cheap_runs * 2 {
        let which = i % 2;
        let t = Instant::now();
        let (status, _) = http_once(addrs[which], "GET", "/api/v2/runtimes", keys[which], "").await?;
        cheap[which].push(t.elapsed());
        if status != 200 {
            anyhow::bail!("GET /api/v2/runtimes: HTTP {status}");
        }
    }
    for s in &servers {
        s.abort();
    }
    for v in times.iter_mut().chain(cheap.iter_mut()) {
        v.sort();
    }
    let mut report = String::new();
    writeln!(
        report,
        "### HTTP gate: API key + rate limits ({runs} Python hello runs each, alternating; {cheap_runs} `GET /api/v2/runtimes` each)\n"
    )?;
    writeln!(
        report,
        "| route | without keys p50 / p95 ms | with a key p50 / p95 ms | p50 difference ms |"
    )?;
    writeln!(report, "| --- | --- | --- | --- |")?;
    for (name, v) in [
        ("`POST /api/v2/execute` (Python hello)", &times),
        ("`GET /api/v2/runtimes`", &cheap),
    ] {
        let (a, b) = (percentile(&v[0], 50.0), percentile(&v[1], 50.0));
        writeln!(
            report,
            "| {name} | {} / {} | {} / {} | {:+.2} |",
            ms(a),
            ms(percentile(&v[0], 95.0)),
            ms(b),
            ms(percentile(&v[1], 95.0)),
            (b.as_secs_f64() - a.as_secs_f64()) * 1000.0
        )?;
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
