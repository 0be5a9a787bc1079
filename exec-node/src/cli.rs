//! `tandem-exec`: the execution node's command line (the binary is a thin wrapper, so the
//! cross-process tests can build the same program under another name).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use crate::{Engine, Node, NodeConfig};
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
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
        /// Where job records, the audit log and the node's iroh key live.
        #[arg(long)]
        data: Option<PathBuf>,
        /// Local UDP address of the room path (iroh, `tandem/exec/1`); a fixed port keeps the
        /// ticket valid across restarts.
        #[arg(long, default_value = "127.0.0.1:0")]
        iroh_bind: std::net::SocketAddr,
        /// Relay URL, the same one the rooms use (e.g. http://127.0.0.1:3340).
        #[arg(long, env = "TANDEM_RELAY_URL")]
        relay: Option<String>,
        /// Bearer token for the relay.
        #[arg(long, env = "TANDEM_RELAY_TOKEN")]
        relay_token: Option<String>,
        /// Serve rooms of this interviewer (hex key; repeatable; adds to the config's list).
        #[arg(long = "allow-interviewer")]
        allow_interviewers: Vec<String>,
        /// Serve rooms of interviewers endorsed by this organisation (hex key; repeatable).
        #[arg(long = "allow-org")]
        allow_orgs: Vec<String>,
        /// Do not listen on iroh (HTTP only).
        #[arg(long)]
        no_room_path: bool,
        /// The problem bank: a directory of problem files (`*.toml`, see docs/exec-node.md);
        /// unset or empty means the bundled starter set.
        #[arg(long, env = "TANDEM_PROBLEMS")]
        problems: Option<PathBuf>,
    },
    /// Sign an endorsement: the organisation (its key in DIR/identity.key, created if missing)
    /// allows an interviewer to use the execution nodes that list the organisation.
    Endorse {
        #[arg(long)]
        org_dir: PathBuf,
        /// The interviewer's hex key.
        #[arg(long)]
        interviewer: String,
        #[arg(long, default_value_t = 365)]
        days: u64,
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
    /// HTTP API keys.
    Key {
        #[command(subcommand)]
        cmd: KeyCmd,
    },
    /// Print the audit log as JSON lines (runs, submissions, room joins and leaves), oldest
    /// first. Reads the data directory, so the node must be stopped; a running node answers
    /// the same at `GET /api/tandem/v1/audit` (admin key).
    Audit {
        /// The node's data directory (as `serve --data`).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Only this room (room path) or run tenant (`key:<name>`).
        #[arg(long)]
        room: Option<String>,
        /// Only this requester or room member.
        #[arg(long)]
        requester: Option<String>,
        /// From this time on: Unix milliseconds, or an age like `90s`, `30m`, `12h`, `7d`.
        #[arg(long)]
        since: Option<String>,
        /// Up to this time (same forms).
        #[arg(long)]
        until: Option<String>,
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
        /// Measure the HTTP gate instead: Python hello through `POST /api/v2/execute` with and
        /// without an API key (and rate limits), alternating, on the same node.
        #[arg(long)]
        http_gate: bool,
    },
}

#[derive(Subcommand)]
enum KeyCmd {
    /// Make a key: prints the key (give it to the client) and the config lines that let it in
    /// (only its hash goes into the config).
    New {
        /// Who the runs belong to (letters, digits, `.`, `_`, `-`).
        #[arg(long)]
        name: String,
        /// `run`, `watch` and/or `admin` (repeatable).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
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

/// Parses the arguments and runs the command (what `main` of `tandem-exec` calls).
pub fn main_entry() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> Result<()> {
    let mut cfg = load_config(&cli)?;
    let manifest = Manifest::bundled();
    if let Cmd::Languages = cli.cmd {
        for l in manifest.languages() {
            println!("{:<12} {:<10} {}", l.id, l.version, l.aliases.join(", "));
        }
        return Ok(());
    }
    if let Cmd::Endorse {
        org_dir,
        interviewer,
        days,
    } = &cli.cmd
    {
        let org = tandem_room::identity::load_or_create(org_dir)?;
        tandem_room::identity::parse_key(interviewer).context("--interviewer must be a hex public key")?;
        let expires = tandem_room::policy::now_ms() / 1000 + days * 86_400;
        let e = tandem_room::exec_access::make_endorsement(&org, interviewer, expires);
        println!(
            "{}",
            serde_json::json!({ "org": tandem_room::identity::key_hex(&org.public()), "endorsement": e })
        );
        return Ok(());
    }
    if let Cmd::Audit {
        data,
        room,
        requester,
        since,
        until,
    } = &cli.cmd
    {
        let dir = data.clone().unwrap_or_else(|| cfg.data_dir.clone());
        let store = crate::store::Store::open(&dir).with_context(|| {
            format!(
                "opening the audit log in {} (is the node still running? then ask it: GET /api/tandem/v1/audit)",
                dir.display()
            )
        })?;
        let now = tandem_room::policy::now_ms();
        let filter = crate::store::AuditFilter {
            room: room.clone(),
            requester: requester.clone(),
            since_ms: since.as_deref().map(|t| parse_time(t, now)).transpose()?,
            until_ms: until.as_deref().map(|t| parse_time(t, now)).transpose()?,
        };
        let mut out = std::io::stdout().lock();
        for entry in store.audit_log(&filter)? {
            writeln!(out, "{}", serde_json::to_string(&entry)?)?;
        }
        return Ok(());
    }
    if let Cmd::Key {
        cmd: KeyCmd::New { name, scopes },
    } = &cli.cmd
    {
        let scopes: Vec<crate::auth::Scope> = scopes
            .iter()
            .map(|s| serde_json::from_value(serde_json::Value::String(s.to_lowercase())))
            .collect::<Result<_, _>>()
            .context("--scope: one of run, watch, admin")?;
        let key = crate::auth::new_key();
        let entry = crate::auth::ApiKey {
            name: name.clone(),
            sha256: crate::auth::hash_key(&key),
            scopes,
        };
        crate::auth::Keys::from_config(std::slice::from_ref(&entry))?;
        // The name is checked to be plain ASCII, so JSON's quoting is TOML's.
        let scopes: Vec<String> = entry
            .scopes
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?;
        eprintln!("the key (give it to the client; it is not stored anywhere):");
        println!("{key}");
        eprintln!(
            "\nadd to the node's config:\n[[api_keys]]\nname = {}\nsha256 = \"{}\"\nscopes = [{}]",
            serde_json::to_string(&entry.name)?,
            entry.sha256,
            scopes.join(", ")
        );
        return Ok(());
    }
    let engine = Engine::connect(cli.engine.as_deref()).await?;
    match &cli.cmd {
        Cmd::Serve {
            http,
            data,
            iroh_bind,
            relay,
            relay_token,
            allow_interviewers,
            allow_orgs,
            no_room_path,
            problems,
        } => {
            if let Some(d) = data {
                cfg.data_dir = d.clone();
            }
            if let Some(p) = problems {
                cfg.problems_dir = Some(p.clone());
            }
            std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("creating {}", cfg.data_dir.display()))?;
            let store = crate::store::Store::open(&cfg.data_dir)?;
            if cfg.compile_cache_dir.is_none() {
                cfg.compile_cache_dir = Some(cfg.data_dir.join("compile-cache"));
            }
            let access = crate::room_path::Access {
                interviewers: cfg
                    .room_interviewers
                    .iter()
                    .chain(allow_interviewers)
                    .map(|k| k.to_lowercase())
                    .collect(),
                organisations: cfg
                    .room_organisations
                    .iter()
                    .chain(allow_orgs)
                    .map(|k| k.to_lowercase())
                    .collect(),
                runs_per_minute_per_requester: cfg.room_runs_per_minute_per_requester,
                runs_per_minute_per_room: cfg.room_runs_per_minute_per_room,
                submits_per_minute_per_member: cfg.room_submits_per_minute_per_member,
                submits_per_minute_per_room: cfg.room_submits_per_minute_per_room,
            };
            // Before anything starts: a node without keys listens on loopback only.
            let listener = tokio::net::TcpListener::bind(http)
                .await
                .with_context(|| format!("binding {http}"))?;
            let http_addr = listener.local_addr()?;
            crate::http::check_exposure(http_addr, &cfg)?;
            crate::auth::Keys::from_config(&cfg.api_keys).context("the config's api_keys")?;
            let key = tandem_room::identity::load_or_create(&cfg.data_dir)?;
            let node = Node::start(engine, cfg, manifest, Some(store)).await?;
            tracing::info!("tandem-exec serving on http://{http_addr}");
            let mut ticket = None;
            let mut endpoint = None;
            if !no_room_path {
                let relay_url: Option<tandem_room::iroh::RelayUrl> = match relay {
                    Some(u) => Some(u.parse().with_context(|| format!("relay url {u:?}"))?),
                    None => None,
                };
                let ep = tandem_room::bind_endpoint(
                    key,
                    vec![tandem_shared::exec_wire::EXEC_ALPN.to_vec()],
                    relay_url.as_ref(),
                    relay_token.as_deref(),
                    Some(*iroh_bind),
                )
                .await?;
                let t = tandem_shared::exec_wire::ExecTicket(tandem_room::endpoint_peer_addr(&ep, relay_url.as_ref()));
                if access.interviewers.is_empty() && access.organisations.is_empty() {
                    tracing::warn!("room path: no interviewer or organisation is allowed, so every room is refused");
                }
                tracing::info!(ticket = %t.encode(), "room path listening (tandem/exec/1)");
                ticket = Some(t.encode());
                tokio::spawn(crate::room_path::serve(node.clone(), ep.clone(), access));
                endpoint = Some(ep);
            }
            println!(
                "{}",
                serde_json::json!({
                    "http_addr": http_addr.to_string(),
                    "ticket": ticket,
                    "node_id": endpoint.as_ref().map(|e| tandem_shared::invite::to_hex(e.id().as_bytes())),
                })
            );
            let shutdown = async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                tracing::info!("shutting down: finishing runs in progress");
            };
            crate::http::serve(node.clone(), listener, shutdown).await?;
            node.shutdown(Duration::from_secs(30)).await;
            if let Some(ep) = endpoint {
                ep.close().await;
            }
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
            let seen = crate::node::probe_limits(&engine, &cfg, &manifest.languages()[0].image).await?;
            println!("{}", serde_json::to_string_pretty(&seen)?);
        }
        Cmd::Sweep => {
            let n = crate::sandbox::sweep(&engine, &cfg.node_id).await?;
            println!("removed {n} sandboxes");
        }
        Cmd::Bench {
            runs,
            baseline_runs,
            languages,
            pace_ms,
            http_gate,
        } => {
            cfg.node_id = format!("bench-{}", std::process::id());
            let cache_dir = std::env::temp_dir().join(format!("tandem-bench-cache-{}", std::process::id()));
            cfg.compile_cache_dir = Some(cache_dir.clone());
            let node = Node::start(engine, cfg, manifest, None).await?;
            let report = if *http_gate {
                crate::bench::run_http(&node, *runs, 500).await
            } else {
                crate::bench::run(&node, *runs, *baseline_runs, languages, Duration::from_millis(*pace_ms)).await
            };
            node.shutdown(Duration::from_secs(30)).await;
            let _ = std::fs::remove_dir_all(&cache_dir);
            println!("{}", report?);
        }
        Cmd::Languages | Cmd::Endorse { .. } | Cmd::Key { .. } | Cmd::Audit { .. } => unreachable!("handled above"),
    }
    Ok(())
}

/// A point in time for `audit`: Unix milliseconds, or an age before `now_ms` (`90s`, `30m`,
/// `12h`, `7d`).
fn parse_time(text: &str, now_ms: u64) -> Result<u64> {
    let text = text.trim();
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(ms);
    }
    let Some(unit) = text.chars().last() else {
        bail!("an empty time: Unix milliseconds or an age like 30m, 12h, 7d");
    };
    let amount: u64 = text[..text.len() - unit.len_utf8()]
        .parse()
        .with_context(|| format!("{text:?}: Unix milliseconds or an age like 30m, 12h, 7d"))?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => bail!("{text:?}: Unix milliseconds or an age like 30m, 12h, 7d"),
    };
    Ok(now_ms.saturating_sub(amount.saturating_mul(seconds * 1000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_times_are_milliseconds_or_ages() {
        assert_eq!(parse_time("1700000000000", 5).unwrap(), 1_700_000_000_000);
        assert_eq!(parse_time("90s", 100_000).unwrap(), 10_000);
        assert_eq!(parse_time("2h", 10_000_000).unwrap(), 10_000_000 - 7_200_000);
        assert_eq!(parse_time("1d", 5).unwrap(), 0);
        assert!(parse_time("2x", 5).is_err());
        assert!(parse_time("é", 5).is_err());
        assert!(parse_time("", 5).is_err());
    }
}
