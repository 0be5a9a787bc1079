//! The line commands of the headless peer.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_json::{json, Value};
use tandem_room::core::Edit;
use tandem_room::{Node, Room};
use tandem_shared::exec::{LimitsRequest, RunRequest, SourceFile};
use tandem_shared::exec_wire::Endorsement;
use tandem_shared::room::{Cursor, Presence, Role, RunEntry};
use tandem_shared::room_run::{RoomRunMessage, RunKind};

pub struct Ctx<'a> {
    pub node: &'a Node,
    pub room: &'a Room,
    pub name: String,
    /// Every run message this peer received, in order (also printed as `{"event":"run",…}`).
    pub runs: &'a RunLog,
}

/// The run messages a peer received, for `run_log` and `run {wait}`.
#[derive(Default)]
pub struct RunLog {
    pub messages: std::sync::Mutex<Vec<RoomRunMessage>>,
    pub changed: tokio::sync::Notify,
}

impl RunLog {
    pub fn push(&self, m: RoomRunMessage) {
        self.messages.lock().unwrap_or_else(|e| e.into_inner()).push(m);
        self.changed.notify_waiters();
    }

    /// The messages of one run; with `wait`, once its final message is in (or the deadline passes).
    async fn of_run(&self, run_id: &str, wait: bool, timeout: Duration) -> Result<Vec<RoomRunMessage>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let msgs: Vec<RoomRunMessage> = self
                .messages
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .filter(|m| m.run_id() == Some(run_id))
                .cloned()
                .collect();
            if !wait || msgs.iter().any(|m| m.is_final()) {
                return Ok(msgs);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                bail!(
                    "timed out waiting for run {run_id} to end ({} messages so far)",
                    msgs.len()
                );
            }
        }
    }
}

pub enum Outcome {
    Reply(Value),
    Quit,
}

#[derive(Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
enum Cmd {
    Insert {
        file: String,
        pos: u32,
        text: String,
        #[serde(default)]
        force: bool,
    },
    Delete {
        file: String,
        pos: u32,
        len: u32,
        #[serde(default)]
        force: bool,
    },
    Text {
        file: String,
    },
    Files,
    Invite {
        role: Role,
        #[serde(default = "yes")]
        can_edit: bool,
        #[serde(default = "hour")]
        ttl: u64,
    },
    SetRole {
        member: String,
        role: Role,
        #[serde(default = "yes")]
        can_edit: bool,
    },
    Revoke {
        member: String,
    },
    RevokeInvite {
        nonce: String,
    },
    PresenceSet {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        colour: Option<String>,
        #[serde(default)]
        file: Option<String>,
        #[serde(default)]
        pos: Option<u32>,
        #[serde(default)]
        typing: bool,
        #[serde(default)]
        away: bool,
    },
    Presence,
    Peers,
    /// The addresses the peer remembers and dials.
    Known,
    Members,
    Status,
    WaitText {
        file: String,
        text: String,
        #[serde(default = "default_wait")]
        timeout_ms: u64,
    },
    WaitPeers {
        count: usize,
        #[serde(default = "default_wait")]
        timeout_ms: u64,
    },
    Offline,
    Online,
    SetLanguage {
        language: String,
    },
    AddRun {
        language: String,
        verdict: String,
    },
    Record,
    /// Name the room's execution node (interviewers).
    SetExecNode {
        ticket: String,
        #[serde(default)]
        spectators_may_run: bool,
        #[serde(default)]
        endorsements: Vec<Endorsement>,
    },
    ExecStatus,
    /// Run code through the room's execution node; `wait` returns every message of the run.
    Run {
        language: String,
        code: String,
        #[serde(default)]
        file: Option<String>,
        #[serde(default)]
        stdin: String,
        #[serde(default)]
        kind: Option<RunKind>,
        /// A problem of the node's bank: Run judges the examples, Submit the hidden tests.
        #[serde(default)]
        problem: Option<String>,
        #[serde(default)]
        request_id: Option<String>,
        #[serde(default)]
        limits: LimitsRequest,
        #[serde(default)]
        wait: bool,
        #[serde(default = "default_wait")]
        timeout_ms: u64,
    },
    Cancel {
        run_id: String,
    },
    /// The messages of a run received so far (`wait`: until it ended).
    RunLog {
        run_id: String,
        #[serde(default)]
        wait: bool,
        #[serde(default = "default_wait")]
        timeout_ms: u64,
    },
    /// The ids of every run this peer has seen accepted, in order.
    Runs,
    RunHistory,
    /// The problems the room's execution node offers.
    Problems,
    /// The room's problem as this peer's document has it.
    Problem,
    // Interview reads (the writes are `INTERVIEW_CALLS`, see `execute`).
    Controls,
    Chat,
    Private,
    /// The last history time and the files then (what `replay_at` of that time must return).
    FilesNow,
    ReplayAt {
        at_ms: u64,
    },
    Export {
        #[serde(default)]
        path: Option<String>,
    },
    Sleep {
        ms: u64,
    },
    Quit,
}

fn yes() -> bool {
    true
}
fn hour() -> u64 {
    3600
}
fn default_wait() -> u64 {
    30_000
}

fn ok(mut v: Value) -> Result<Outcome> {
    if let Value::Object(m) = &mut v {
        m.insert("ok".into(), Value::Bool(true));
    }
    Ok(Outcome::Reply(v))
}

/// Commands that are interview calls under the same name and parameters: forwarded to
/// `tandem_room::interview_api::interview_call`, the one implementation the relay's bridge and
/// the desktop app use too (`{"cmd":"timer_set","duration_ms":…}` is the call
/// `{"method":"timer_set","params":{"duration_ms":…}}`).
const INTERVIEW_CALLS: &[&str] = &[
    "timer_set",
    "timer_start",
    "timer_pause",
    "timer_extend",
    "runs_enabled",
    "lock_editor",
    "chat_send",
    "notes_set",
    "scorecard_set",
    "timeline",
    "choose_problem",
];

pub async fn execute(ctx: &mut Ctx<'_>, line: &str) -> Result<Outcome> {
    if let Ok(Value::Object(mut params)) = serde_json::from_str::<Value>(line) {
        let method = params.get("cmd").and_then(Value::as_str).map(str::to_string);
        if let Some(method) = method.filter(|m| INTERVIEW_CALLS.contains(&m.as_str())) {
            params.remove("cmd");
            let call = json!({ "method": method, "params": params });
            return ok(tandem_room::interview_api::interview_call(ctx.room, call, &ctx.name).await?);
        }
    }
    let cmd: Cmd = serde_json::from_str(line).with_context(|| format!("not a command: {line}"))?;
    let room = ctx.room;
    match cmd {
        Cmd::Insert { file, pos, text, force } => {
            room.edit(Edit::Insert { file, index: pos, text }, force)?;
            ok(json!({}))
        }
        Cmd::Delete { file, pos, len, force } => {
            room.edit(Edit::Delete { file, index: pos, len }, force)?;
            ok(json!({}))
        }
        Cmd::Text { file } => ok(json!({ "text": room.text(&file) })),
        Cmd::Files => ok(json!({ "files": room.files() })),
        Cmd::Invite { role, can_edit, ttl } => {
            let inv = room.invite(role, can_edit, ttl)?;
            // The same invite as a web link: the relay serves the web client on its own URL.
            let link = inv.to_link();
            let web = inv.body.peer.relay.as_ref().map(|r| {
                let token = link
                    .strip_prefix(tandem_shared::invite::INVITE_LINK_PREFIX)
                    .unwrap_or(&link);
                format!("{}/room/{}?invite={token}", r.trim_end_matches('/'), inv.body.room.id)
            });
            ok(json!({ "invite": link, "web": web, "nonce": inv.body.nonce }))
        }
        Cmd::SetRole { member, role, can_edit } => {
            room.set_role(&member, role, can_edit)?;
            ok(json!({}))
        }
        Cmd::Revoke { member } => {
            room.revoke(&member)?;
            ok(json!({}))
        }
        Cmd::RevokeInvite { nonce } => {
            room.revoke_invite(&nonce)?;
            ok(json!({}))
        }
        Cmd::PresenceSet {
            name,
            colour,
            file,
            pos,
            typing,
            away,
        } => {
            let me = ctx.node.id();
            let role = room
                .members()
                .into_iter()
                .find(|m| m.key == me)
                .map(|m| m.role)
                .unwrap_or(Role::Spectator);
            let cursor = file.map(|f| Cursor {
                file: f,
                anchor: pos.unwrap_or(0),
                head: pos.unwrap_or(0),
            });
            if let Some(n) = name {
                ctx.name = n;
            }
            let p = Presence {
                name: ctx.name.clone(),
                colour: colour.unwrap_or_else(|| "#3f51b5".into()),
                role,
                member: me,
                cursor,
                selection: None,
                typing,
                away,
            };
            room.set_presence(&p)?;
            ok(json!({}))
        }
        Cmd::Presence => {
            let list: Vec<Value> = room
                .presence()
                .into_iter()
                .map(|(c, p)| json!({ "client": c, "presence": p }))
                .collect();
            ok(json!({ "presence": list }))
        }
        Cmd::Peers => ok(json!({ "peers": room.peers() })),
        Cmd::Known => ok(json!({ "known": room.known_peers() })),
        Cmd::Members => {
            let list: Vec<Value> = room
                .members()
                .into_iter()
                .map(|m| json!({ "id": m.key, "role": m.role, "can_edit": m.can_edit, "revoked": m.revoked }))
                .collect();
            ok(json!({ "members": list }))
        }
        Cmd::Status => ok(json!({
            "id": ctx.node.id(),
            "room": room.room_ref(),
            "addr": ctx.node.addr(),
            "online": room.is_online(),
            "peers": room.peers().len(),
            "refused": room.refused_count(),
            "errors": room.errors().into_iter().map(|(c, m)| json!({ "code": c, "message": m })).collect::<Vec<_>>(),
            "state_vector": tandem_shared::invite::to_hex(&room.state_vector()),
        })),
        Cmd::WaitText { file, text, timeout_ms } => {
            let mut rx = room.subscribe();
            let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
            loop {
                let now = room.text(&file);
                if now == text {
                    return ok(json!({ "text": now }));
                }
                if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                    bail!("timed out; text is {now:?}");
                }
            }
        }
        Cmd::WaitPeers { count, timeout_ms } => {
            let mut rx = room.subscribe();
            let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms);
            loop {
                let n = room.peers().len();
                if n >= count {
                    return ok(json!({ "peers": n }));
                }
                if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                    bail!("timed out with {n} peers");
                }
            }
        }
        Cmd::Offline => {
            room.set_online(false);
            ok(json!({}))
        }
        Cmd::Online => {
            room.set_online(true);
            ok(json!({}))
        }
        Cmd::SetLanguage { language } => {
            room.change_record(|r| r.set_language(&language))?;
            ok(json!({}))
        }
        Cmd::AddRun { language, verdict } => {
            let by = ctx.node.id();
            let at_ms = tandem_room::policy::now_ms();
            room.change_record(|r| {
                r.push_run(&RunEntry {
                    at_ms,
                    by,
                    language,
                    verdict,
                })
            })?;
            ok(json!({}))
        }
        Cmd::Record => {
            let (language, runs, roles) = room.record(|r| (r.language(), r.runs(), r.roles()));
            ok(json!({ "language": language, "runs": runs, "roles": roles }))
        }
        Cmd::SetExecNode {
            ticket,
            spectators_may_run,
            endorsements,
        } => {
            room.set_exec_node(&ticket, spectators_may_run, endorsements)?;
            ok(json!({}))
        }
        Cmd::ExecStatus => ok(json!({ "status": room.exec_node_status() })),
        Cmd::Run {
            language,
            code,
            file,
            stdin,
            kind,
            problem,
            request_id,
            limits,
            wait,
            timeout_ms,
        } => {
            let request_id = request_id.unwrap_or_else(|| format!("{}-{}", ctx.name, tandem_room::policy::now_ms()));
            let req = RunRequest {
                language,
                files: vec![SourceFile {
                    name: file,
                    content: code,
                    ..Default::default()
                }],
                stdin,
                limits,
                problem,
                ..Default::default()
            };
            let run_id = room.request_run(&request_id, req, kind.unwrap_or(RunKind::Run)).await?;
            if wait {
                let msgs = ctx
                    .runs
                    .of_run(&run_id, true, Duration::from_millis(timeout_ms))
                    .await?;
                ok(json!({ "run_id": run_id, "request_id": request_id, "messages": msgs }))
            } else {
                ok(json!({ "run_id": run_id, "request_id": request_id }))
            }
        }
        Cmd::Cancel { run_id } => {
            room.cancel_run(&run_id).await?;
            ok(json!({}))
        }
        Cmd::RunLog {
            run_id,
            wait,
            timeout_ms,
        } => {
            let msgs = ctx
                .runs
                .of_run(&run_id, wait, Duration::from_millis(timeout_ms))
                .await?;
            ok(json!({ "messages": msgs }))
        }
        Cmd::Runs => {
            let ids: Vec<String> = ctx
                .runs
                .messages
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .filter(|m| matches!(m, RoomRunMessage::RunAccepted { .. }))
                .filter_map(|m| m.run_id().map(str::to_string))
                .collect();
            ok(json!({ "runs": ids }))
        }
        Cmd::RunHistory => ok(json!({ "history": room.run_history() })),
        Cmd::Problems => ok(json!({ "problems": room.list_problems().await? })),
        Cmd::Problem => ok(json!({ "problem": room.current_problem(), "statement": room.problem_statement() })),
        Cmd::Controls => ok(json!({ "controls": room.controls() })),
        Cmd::Chat => ok(json!({ "chat": room.chat() })),
        Cmd::Private => ok(json!({ "private": room.private_entries()? })),
        Cmd::FilesNow => {
            let (at_ms, files) = room.files_now();
            ok(json!({ "at_ms": at_ms, "files": files }))
        }
        Cmd::ReplayAt { at_ms } => ok(json!({ "files": room.replay_at(at_ms) })),
        Cmd::Export { path } => {
            let md = room.export_markdown();
            match path {
                Some(p) => {
                    std::fs::write(&p, &md).with_context(|| format!("writing {p}"))?;
                    ok(json!({ "path": p, "bytes": md.len() }))
                }
                None => ok(json!({ "markdown": md })),
            }
        }
        Cmd::Sleep { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ok(json!({}))
        }
        Cmd::Quit => Ok(Outcome::Quit),
    }
    .map_err(|e: anyhow::Error| anyhow!(e))
}
