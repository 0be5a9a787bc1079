//! The headless Tandem peer: creates, joins or reopens a room, then executes commands — one JSON
//! object per line, from `--script FILE` and/or stdin — and answers each with one JSON line on
//! stdout. For tests, demos and debugging.
//!
//! ```text
//! tandem-peer --data DIR [--relay URL] [--no-direct] create
//! tandem-peer --data DIR join 'tandem://join/…'
//! tandem-peer --data DIR open ROOM_ID
//! ```
//!
//! Commands (`{"cmd": …}`): `insert {file,pos,text,force?}`, `delete {file,pos,len,force?}`,
//! `text {file}`, `files`, `invite {role,can_edit?,ttl?}`, `set_role {member,role,can_edit}`,
//! `revoke {member}`, `revoke_invite {nonce}`, `presence_set {name,colour?,file?,pos?,typing?}`,
//! `presence`, `peers`, `members`, `status`, `wait_text {file,text,timeout_ms?}`,
//! `wait_peers {count,timeout_ms?}`, `offline`, `online`, `set_language {language}`,
//! `add_run {language,verdict}`, `record`, `sleep {ms}`, `quit`; runs through the room's
//! execution node: `set_exec_node {ticket,spectators_may_run?,endorsements?}`, `exec_status`,
//! `run {language,code,file?,stdin?,kind?,request_id?,wait?}`, `cancel {run_id}`,
//! `run_log {run_id,wait?}`, `runs`, `run_history`; the interview: `controls`,
//! `timer_set {duration_ms}`, `timer_start`, `timer_pause`, `timer_extend {by_ms}`,
//! `runs_enabled {enabled}`, `lock_editor {locked}`, `chat_send {text}`, `chat`,
//! `notes_set {notes}`, `scorecard_set {scorecard}`, `private`, `files_now`, `replay_at {at_ms}`,
//! `timeline`, `export {path?}` (Markdown), `problems`, `choose_problem {id}`. `presence_set`
//! takes `away` (the window lost focus). Every run message is also printed as it
//! arrives: `{"event":"run","msg":{…docs/ui.md type-100 shape…}}`.
//! Positions and lengths are UTF-16 code units (as in Monaco).

mod commands;

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tandem_room::{Node, NodeConfig, Room};
use tandem_shared::invite::Invite;
use tokio::sync::mpsc;

#[derive(Parser, Debug)]
#[command(name = "tandem-peer", about = "Headless Tandem room peer")]
pub struct Args {
    /// Data directory (identity key and rooms database).
    #[arg(long, env = "TANDEM_PEER_DATA")]
    pub data: PathBuf,
    /// Relay URL, e.g. http://127.0.0.1:3340.
    #[arg(long, env = "TANDEM_RELAY_URL")]
    pub relay: Option<String>,
    /// Bearer token for the relay.
    #[arg(long, env = "TANDEM_RELAY_TOKEN")]
    pub relay_token: Option<String>,
    /// PEM certificate to trust for the relay's HTTPS (a relay in `--self-signed` mode).
    #[arg(long, env = "TANDEM_RELAY_CA")]
    pub relay_ca: Option<PathBuf>,
    /// Disable direct paths: everything goes through the relay.
    #[arg(long)]
    pub no_direct: bool,
    /// Display name for presence.
    #[arg(long, default_value = "peer")]
    pub name: String,
    /// Commands to run before reading stdin.
    #[arg(long)]
    pub script: Option<PathBuf>,
    /// Do not read stdin (exit after the script).
    #[arg(long)]
    pub no_stdin: bool,
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Subcommand, Debug)]
pub enum Action {
    /// Create a room (this peer becomes its first interviewer).
    Create,
    /// Join with an invite link.
    Join {
        link: String,
        #[arg(long, default_value_t = 30)]
        timeout_secs: u64,
    },
    /// Reopen a stored room (works offline).
    Open { room: String },
}

/// Parses arguments, runs, and maps errors to an exit code (used by the binary).
pub fn main_entry() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tandem-peer: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("{}", serde_json::json!({ "event": "fatal", "error": format!("{e:#}") }));
            eprintln!("tandem-peer: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn emit(v: serde_json::Value) {
    println!("{v}");
}

pub async fn run(args: Args) -> Result<()> {
    let mut config = NodeConfig::new(&args.data);
    config.relay_url = args.relay.clone();
    config.relay_token = args.relay_token.clone();
    config.relay_ca = args.relay_ca.clone();
    config.direct = !args.no_direct;
    let node = Node::start(config).await.context("starting the peer")?;
    let room: Room = match &args.action {
        Action::Create => node.create_room()?,
        Action::Join { link, timeout_secs } => {
            let invite = Invite::from_link(link)?;
            node.join(&invite, Duration::from_secs(*timeout_secs)).await?
        }
        Action::Open { room } => {
            let r = node
                .stored_rooms()?
                .into_iter()
                .find(|r| r.id == *room)
                .with_context(|| format!("room {room} is not stored in {}", args.data.display()))?;
            node.open(r)?
        }
    };
    emit(serde_json::json!({
        "event": "ready",
        "id": node.id(),
        "room": room.room_ref(),
        "addr": node.addr(),
    }));

    // Lines come from the script, then stdin, through one bounded channel.
    let (tx, mut rx) = mpsc::channel::<String>(64);
    if let Some(script) = &args.script {
        let text = std::fs::read_to_string(script).with_context(|| format!("reading {}", script.display()))?;
        for line in text.lines() {
            tx.send(line.to_string()).await.ok();
        }
    }
    let _reader = if args.no_stdin {
        drop(tx);
        None
    } else {
        Some(std::thread::spawn(move || {
            let stdin = std::io::stdin();
            for line in stdin.lock().lines() {
                let Ok(line) = line else { break };
                if tx.blocking_send(line).is_err() {
                    break;
                }
            }
        }))
    };
    // Run messages are printed as they arrive (`{"event":"run","msg":…}`) and kept for `run_log`.
    room.set_display_name(&args.name);
    let runs = std::sync::Arc::new(commands::RunLog::default());
    let mut run_rx = room.run_messages();
    let log = runs.clone();
    let printer = tokio::spawn(async move {
        loop {
            match run_rx.recv().await {
                Ok(m) => {
                    emit(serde_json::json!({ "event": "run", "msg": &m }));
                    log.push(m);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    emit(serde_json::json!({ "event": "run_lagged", "missed": n }));
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
    let mut ctx = commands::Ctx {
        node: &node,
        room: &room,
        name: args.name.clone(),
        runs: &runs,
    };
    while let Some(line) = rx.recv().await {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match commands::execute(&mut ctx, line).await {
            Ok(commands::Outcome::Reply(v)) => emit(v),
            Ok(commands::Outcome::Quit) => break,
            Err(e) => emit(serde_json::json!({ "ok": false, "error": format!("{e:#}") })),
        }
    }
    printer.abort();
    room.close();
    node.shutdown().await;
    Ok(())
}
