//! `tandem-exec`: the execution node's command line.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use tandem_exec::{Engine, Node, NodeConfig};
use tandem_shared::exec::{RunEvent, RunRequest, SourceFile, Stream};
use tandem_shared::language::Manifest;

#[derive(Parser)]
#[command(
    name = "tandem-exec",
    version,
    about = "Tandem's execution node: runs code in sandboxed containers"
)]
struct Cli {
    /// Docker-API URL of the container engine (default: DOCKER_HOST, then the usual Podman and Docker sockets).
    #[arg(long, global = true, env = "TANDEM_ENGINE")]
    engine: Option<String>,
    /// Operator config file (TOML).
    #[arg(long, global = true, env = "TANDEM_EXEC_CONFIG")]
    config: Option<PathBuf>,
    /// Run even if the engine does not enforce limits (unsafe; logs a loud warning).
    #[arg(long, global = true)]
    allow_unenforced_limits: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the HTTP API (Piston v2 compatible, plus Tandem's streaming endpoint).
    Serve {
        #[arg(long, default_value = "127.0.0.1:2000")]
        http: String,
        /// Where job records and the audit log live.
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Run files once and stream the output to this terminal.
    Run {
        #[arg(long = "lang", short = 'l')]
        language: String,
        /// Source files; the first is the main file.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// File to feed as standard input (`-` for this terminal's stdin).
        #[arg(long)]
        stdin: Option<PathBuf>,
        /// Arguments for the program.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Start one sandbox and print the limits it really has.
    Probe,
    /// Remove sandboxes this node left behind.
    Sweep,
    /// List the languages this node runs.
    Languages,
    /// Measure request → verdict latency for hello world beside a `podman run --rm` baseline.
    Bench {
        /// Runs per language through the node.
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// Baseline runs per language.
        #[arg(long, default_value_t = 30)]
        baseline_runs: usize,
        /// Only these languages (default: all five).
        #[arg(long = "lang")]
        languages: Vec<String>,
        /// Pause before each run, in ms (0: back to back; an interview's runs are seconds apart).
        #[arg(long, default_value_t = 0)]
        pace_ms: u64,
    },
}

fn load_config(cli: &Cli) -> Result<NodeConfig> {
    let mut cfg = match &cli.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            NodeConfig::from_toml(&text).with_context(|| format!("parsing {}", path.display()))?
        }
        None => NodeConfig::default(),
    };
    cfg.allow_unenforced_limits |= cli.allow_unenforced_limits;
    Ok(cfg)
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut cfg = load_config(&cli)?;
    let manifest = Manifest::bundled();
    if let Cmd::Languages = cli.cmd {
        for l in manifest.languages() {
            println!("{:<12} {:<10} {}", l.id, l.version, l.aliases.join(", "));
        }
        return Ok(());
    }
    let engine = Engine::connect(cli.engine.as_deref()).await?;
    match &cli.cmd {
        Cmd::Serve { http, data } => {
            if let Some(d) = data {
                cfg.data_dir = d.clone();
            }
            std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("creating {}", cfg.data_dir.display()))?;
            let store = tandem_exec::store::Store::open(&cfg.data_dir)?;
            if cfg.compile_cache_dir.is_none() {
                cfg.compile_cache_dir = Some(cfg.data_dir.join("compile-cache"));
            }
            let node = Node::start(engine, cfg, manifest, Some(store)).await?;
            let listener = tokio::net::TcpListener::bind(http)
                .await
                .with_context(|| format!("binding {http}"))?;
            tracing::info!("tandem-exec serving on http://{}", listener.local_addr()?);
            let shutdown = async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                tracing::info!("shutting down: finishing runs in progress");
            };
            tandem_exec::http::serve(node.clone(), listener, shutdown).await?;
            node.shutdown(Duration::from_secs(30)).await;
        }
        Cmd::Run {
            language,
            files,
            stdin,
            args,
        } => {
            // A CLI run is its own node: its own id (so it sweeps nothing of a server's) and no store.
            cfg.node_id = format!("cli-{}", std::process::id());
            cfg.pool_ceiling = 0; // one run: nothing to pre-start
            let node = Node::start(engine, cfg, manifest, None).await?;
            let mut req = RunRequest {
                language: language.clone(),
                args: args.clone(),
                ..Default::default()
            };
            for (i, path) in files.iter().enumerate() {
                let content = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                req.files.push(SourceFile {
                    name: if i == 0 {
                        name
                    } else {
                        name.or(Some(format!("file{i}")))
                    },
                    content,
                    ..Default::default()
                });
            }
            req.stdin = match stdin {
                Some(p) if p.as_os_str() == "-" => {
                    let mut s = String::new();
                    std::io::stdin().read_to_string(&mut s)?;
                    s
                }
                Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
                None => String::new(),
            };
            let mut handle = node.submit(&req, "cli")?;
            let mut exit = 1;
            while let Some(ev) = handle.events.recv().await {
                match ev {
                    RunEvent::Output {
                        stream: Stream::Stdout,
                        data,
                        ..
                    } => {
                        let mut out = std::io::stdout().lock();
                        out.write_all(data.as_bytes())?;
                        out.flush()?;
                    }
                    RunEvent::Output {
                        stream: Stream::Stderr,
                        data,
                        ..
                    } => {
                        std::io::stderr().write_all(data.as_bytes())?;
                    }
                    RunEvent::Finished { result } => {
                        let last = result.run.as_ref().or(result.compile.as_ref());
                        let (cpu, wall, mem) = last
                            .map(|p| (p.cpu_ms, p.wall_ms, p.memory_bytes.unwrap_or(0)))
                            .unwrap_or_default();
                        eprintln!(
                            "\n[tandem] verdict: {}  cpu {cpu} ms  wall {wall} ms  memory {} KiB  total {} ms{}",
                            result.verdict.as_str(),
                            mem / 1024,
                            result.total_ms,
                            last.and_then(|p| p.message.as_deref())
                                .map(|m| format!("  ({m})"))
                                .unwrap_or_default()
                        );
                        exit = match result.run.as_ref() {
                            Some(r) if result.verdict == tandem_shared::exec::Verdict::Ok => r.exit_code.unwrap_or(0),
                            Some(r) => r.exit_code.filter(|c| *c != 0).unwrap_or(1),
                            None => 1,
                        };
                    }
                    RunEvent::Error { message } => bail!("{message}"),
                    _ => {}
                }
            }
            std::process::exit(exit);
        }
        Cmd::Probe => {
            let seen = tandem_exec::node::probe_limits(&engine, &cfg, &manifest.languages()[0].image).await?;
            println!("{}", serde_json::to_string_pretty(&seen)?);
        }
        Cmd::Sweep => {
            let n = tandem_exec::sandbox::sweep(&engine, &cfg.node_id).await?;
            println!("removed {n} sandboxes");
        }
        Cmd::Bench {
            runs,
            baseline_runs,
            languages,
            pace_ms,
        } => {
            cfg.node_id = format!("bench-{}", std::process::id());
            let cache_dir = std::env::temp_dir().join(format!("tandem-bench-cache-{}", std::process::id()));
            cfg.compile_cache_dir = Some(cache_dir.clone());
            let node = Node::start(engine, cfg, manifest, None).await?;
            let report =
                tandem_exec::bench::run(&node, *runs, *baseline_runs, languages, Duration::from_millis(*pace_ms)).await;
            node.shutdown(Duration::from_secs(30)).await;
            let _ = std::fs::remove_dir_all(&cache_dir);
            println!("{}", report?);
        }
        Cmd::Languages => unreachable!("handled above"),
    }
    Ok(())
}
