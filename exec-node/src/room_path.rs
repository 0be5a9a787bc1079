//! The room path: room peers reach the node over iroh (`tandem/exec/1`, see
//! `tandem_shared::exec_wire`), prove their membership with the room's signed statements, and
//! every run of a room is multicast to every peer of that room connected to the node.
//!
//! Who may use the node ([`Access`]): the operator lists interviewer keys and/or organisation
//! keys; a room is served only if one of its interviewers is listed or carries an unexpired
//! endorsement by a listed organisation (in the room's signed run settings). Membership and
//! roles are evaluated with `tandem_room::policy`, the code every peer runs. Candidates and
//! interviewers may run; spectators only if the room's settings allow it.
//!
//! Order: every message of a room goes through one lock that appends it to the room's backlog
//! (the messages of its runs in flight) and queues it to every watcher, so all watchers see one
//! order, and a watcher that arrives mid-run gets the backlog first, with no gap or repeat.
//!
//! Rooms are known by id *and* creator (the room's identity is the creator's signature over
//! it), and an entry exists only once a peer of it was admitted: a stranger who knows a room id
//! creates nothing and blocks nobody. An entry nobody uses (no connection, no run) is dropped
//! after [`ROOM_IDLE`].
//!
//! Submit (the hidden tests) is judged only against the problem an interviewer chose for the
//! room, named in the room's interviewer-signed run settings, and is rate-limited per member and
//! per room on top of the run rates.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tandem_room::exec_access::{verify_endorsement, verify_settings};
use tandem_room::iroh::endpoint::{Connection, RecvStream, SendStream};
use tandem_room::iroh::Endpoint;
use tandem_room::policy::{now_ms, short, Policy};
use tandem_room::wire::{read_exec_frame, write_exec_frame};
use tandem_shared::exec::{RunEvent, RunRequest};
use tandem_shared::exec_wire::{
    ClientMsg, ExecFrame, ServerMsg, SignedExecSettings, PING_INTERVAL_MS, REVISION, VERSION,
};
use tandem_shared::invite::{to_hex, RoomRef};
use tandem_shared::room::Role;
use tandem_shared::room_run::{RoomRunMessage, RunBy, RunKind};
use tokio::sync::mpsc;

use crate::node::Node;
use crate::store::AuditEvent;

/// Frames queued per watcher; one that cannot keep up is dropped (it reconnects and gets the
/// runs in flight again).
const WATCHER_QUEUE: usize = 8192;
const HELLO_TIMEOUT: Duration = Duration::from_secs(15);
/// Rate-limit window.
const WINDOW: Duration = Duration::from_secs(60);
/// A room entry unused for this long (no connection, no run) is forgotten. Longer than
/// [`WINDOW`], so leaving and coming back does not reset a rate limit.
pub const ROOM_IDLE: Duration = Duration::from_secs(600);

/// Who may use the node, and how much.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Hex keys of interviewers allowed directly.
    pub interviewers: Vec<String>,
    /// Hex keys of organisations whose endorsements admit interviewers.
    pub organisations: Vec<String>,
    /// Runs one member may start per minute.
    pub runs_per_minute_per_requester: usize,
    /// Runs one room may start per minute.
    pub runs_per_minute_per_room: usize,
    /// Submits one member may make per minute (they count as runs too).
    pub submits_per_minute_per_member: usize,
    /// Submits one room may make per minute.
    pub submits_per_minute_per_room: usize,
}

impl Access {
    /// Is this room served: one of its interviewers allowed directly or by endorsement?
    pub fn serves(&self, policy: &Policy, settings: Option<&SignedExecSettings>) -> Result<(), String> {
        let interviewers: Vec<String> = policy
            .members()
            .into_iter()
            .filter(|m| m.is_admin())
            .map(|m| m.key)
            .collect();
        if interviewers.iter().any(|k| self.interviewers.contains(k)) {
            return Ok(());
        }
        let now = now_ms();
        if let Some(s) = settings {
            for e in &s.settings.endorsements {
                if self.organisations.contains(&e.body.org)
                    && interviewers.contains(&e.body.interviewer)
                    && verify_endorsement(e, now).is_ok()
                {
                    return Ok(());
                }
            }
        }
        Err("this execution node does not serve this room: none of its interviewers is allowed by the node's operator (listed, or endorsed by a listed organisation)".into())
    }
}

/// Hex SHA-256 over the files (name, NUL, content, NUL each): what the run history records.
pub fn code_hash(req: &RunRequest) -> String {
    let mut h = Sha256::new();
    for f in &req.files {
        h.update(f.name.as_deref().unwrap_or("").as_bytes());
        h.update([0]);
        h.update(f.content.as_bytes());
        h.update([0]);
    }
    to_hex(&h.finalize())
}

struct Watcher {
    member: String,
    tx: mpsc::Sender<Arc<Vec<u8>>>,
    conn: Connection,
}

struct RoomEntry {
    policy: Policy,
    settings: Option<SignedExecSettings>,
    watchers: HashMap<u64, Watcher>,
    /// Encoded messages of the runs in flight, in node order.
    backlog: Vec<(String, Arc<Vec<u8>>)>,
    /// Run id → requester.
    active: HashMap<String, String>,
    runs: Rate,
    submits: Rate,
    /// Last time a peer of the room connected, left, or started something.
    last_used: Instant,
}

/// Why a member may not start a run now. Sent to the peer as its sentence (`run_rejected`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0} is not a member of this room")]
    NotMember(String),
    #[error("{0} was revoked from this room")]
    Revoked(String),
    #[error("an interviewer turned runs off in this room")]
    RunsDisabled,
    #[error("spectators cannot run code in this room (an interviewer can allow it in the room's settings)")]
    Spectator,
    #[error("a submission names the room's problem")]
    SubmitWithoutProblem,
    #[error("no interviewer has chosen a problem for this room, so there is nothing to submit to")]
    NoProblemChosen,
    #[error("submissions in this room are for the problem an interviewer chose ({chosen}), not {asked}")]
    OtherProblem { chosen: String, asked: String },
    #[error("rate limit: {whose} can start at most {limit} {what} per minute; try again in {wait_s} s")]
    RateLimited {
        /// "you" or "this room".
        whose: &'static str,
        limit: usize,
        /// "runs" or "submissions".
        what: &'static str,
        wait_s: u64,
    },
}

/// Starts within the last [`WINDOW`], per member and for the whole room.
#[derive(Default)]
struct Rate {
    by_member: HashMap<String, VecDeque<Instant>>,
    room: VecDeque<Instant>,
}

impl Rate {
    /// Whether `member` may start one more now: its count and the room's are under their
    /// limits. `what` names what is counted.
    fn check(
        &mut self,
        member: &str,
        per_member: usize,
        per_room: usize,
        what: &'static str,
        now: Instant,
    ) -> Result<(), Refusal> {
        let expire = |q: &mut VecDeque<Instant>| {
            while q.front().is_some_and(|t| now.duration_since(*t) > WINDOW) {
                q.pop_front();
            }
        };
        expire(&mut self.room);
        self.by_member.retain(|_, q| {
            expire(q);
            !q.is_empty()
        });
        let limited = |whose, limit, q: &VecDeque<Instant>| Refusal::RateLimited {
            whose,
            limit,
            what,
            wait_s: WINDOW.saturating_sub(now.duration_since(q[0])).as_secs() + 1,
        };
        if let Some(q) = self.by_member.get(member).filter(|q| q.len() >= per_member) {
            return Err(limited("you", per_member, q));
        }
        if self.room.len() >= per_room {
            return Err(limited("this room", per_room, &self.room));
        }
        Ok(())
    }

    fn count(&mut self, member: &str, now: Instant) {
        self.by_member.entry(member.to_string()).or_default().push_back(now);
        self.room.push_back(now);
    }
}

impl RoomEntry {
    fn new(room: RoomRef) -> Self {
        Self {
            policy: Policy::new(room),
            settings: None,
            watchers: HashMap::new(),
            backlog: Vec::new(),
            active: HashMap::new(),
            runs: Rate::default(),
            submits: Rate::default(),
            last_used: Instant::now(),
        }
    }

    /// Appends to the backlog (while the run is in flight) and queues to every watcher.
    fn multicast(&mut self, run_id: &str, msg: &RoomRunMessage) {
        let Ok(bytes) = ExecFrame::Run(msg.clone()).encode() else {
            return;
        };
        let bytes = Arc::new(bytes);
        if msg.is_final() {
            self.backlog.retain(|(id, _)| id != run_id);
            self.active.remove(run_id);
        } else {
            self.backlog.push((run_id.to_string(), bytes.clone()));
        }
        let mut slow = Vec::new();
        for (id, w) in &self.watchers {
            if w.tx.try_send(bytes.clone()).is_err() {
                slow.push(*id);
            }
        }
        for id in slow {
            if let Some(w) = self.watchers.remove(&id) {
                tracing::warn!(member = short(&w.member), "dropping a watcher that cannot keep up");
                w.conn.close(1u32.into(), b"too slow");
            }
        }
    }

    /// Merges statements and settings; then closes watchers that are no longer members.
    fn learn(&mut self, statements: Vec<tandem_shared::invite::SignedStatement>, settings: Option<SignedExecSettings>) {
        let _ = self.policy.merge(statements);
        if let Some(s) = settings {
            let newer = self
                .settings
                .as_ref()
                .is_none_or(|cur| s.settings.at_ms >= cur.settings.at_ms);
            if newer && verify_settings(&self.policy, &s).is_ok() {
                self.settings = Some(s);
            }
        }
        let gone: Vec<u64> = self
            .watchers
            .iter()
            .filter(|(_, w)| !self.policy.is_member(&w.member))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            if let Some(w) = self.watchers.remove(&id) {
                if let Ok(b) = ExecFrame::Server(ServerMsg::Refused {
                    message: "you are no longer a member of this room".into(),
                })
                .encode()
                {
                    let _ = w.tx.try_send(Arc::new(b));
                }
            }
        }
    }

    /// May `member` start a run of this kind (and, for a Submit, of this problem) now? Counts
    /// it if so.
    fn check_run(
        &mut self,
        member: &str,
        kind: RunKind,
        problem: Option<&str>,
        access: &Access,
    ) -> Result<(), Refusal> {
        let Some(m) = self.policy.member(member) else {
            return Err(Refusal::NotMember(short(member).to_string()));
        };
        if m.revoked {
            return Err(Refusal::Revoked(short(member).to_string()));
        }
        if self.settings.as_ref().is_some_and(|s| s.settings.runs_disabled) {
            return Err(Refusal::RunsDisabled);
        }
        if m.role == Role::Spectator && !self.settings.as_ref().is_some_and(|s| s.settings.spectators_may_run) {
            return Err(Refusal::Spectator);
        }
        if kind == RunKind::Submit {
            check_submit_problem(self.settings.as_ref(), problem)?;
        }
        let now = Instant::now();
        self.last_used = now;
        // A Submit is a run too: it must pass both rates, and counts in both.
        self.runs.check(
            member,
            access.runs_per_minute_per_requester,
            access.runs_per_minute_per_room,
            "runs",
            now,
        )?;
        if kind == RunKind::Submit {
            self.submits.check(
                member,
                access.submits_per_minute_per_member,
                access.submits_per_minute_per_room,
                "submissions",
                now,
            )?;
            self.submits.count(member, now);
        }
        self.runs.count(member, now);
        Ok(())
    }
}

/// A Submit is judged only against the problem the room's interviewer chose (signed settings).
fn check_submit_problem(settings: Option<&SignedExecSettings>, problem: Option<&str>) -> Result<(), Refusal> {
    let Some(problem) = problem else {
        return Err(Refusal::SubmitWithoutProblem);
    };
    match settings.and_then(|s| s.settings.problem.as_deref()) {
        Some(chosen) if chosen == problem => Ok(()),
        Some(chosen) => Err(Refusal::OtherProblem {
            chosen: chosen.to_string(),
            asked: problem.to_string(),
        }),
        None => Err(Refusal::NoProblemChosen),
    }
}

/// Rooms by id and creator.
type Rooms = HashMap<(String, String), Arc<Mutex<RoomEntry>>>;

fn room_key(room: &RoomRef) -> (String, String) {
    (room.id.clone(), room.creator.clone())
}

/// Drops entries nobody holds (no connection, no run in flight) that were last used more than
/// [`ROOM_IDLE`] before `now`.
fn forget_idle(rooms: &mut Rooms, now: Instant) {
    rooms.retain(|_, entry| Arc::strong_count(entry) > 1 || now.duration_since(lock(entry).last_used) <= ROOM_IDLE);
}

/// Admits `remote` to `room` with what its hello carries, on a trial copy of what the node
/// knows of the room, so a refused peer changes nothing, and creates the room's entry only
/// then. Returns the entry and the peer's role.
fn admit(
    rooms: &Mutex<Rooms>,
    access: &Access,
    room: &RoomRef,
    remote: &str,
    statements: Vec<tandem_shared::invite::SignedStatement>,
    settings: Option<SignedExecSettings>,
) -> Result<(Arc<Mutex<RoomEntry>>, Role), String> {
    let known = {
        let mut rooms = lock(rooms);
        forget_idle(&mut rooms, Instant::now());
        rooms.get(&room_key(room)).cloned()
    };
    let (policy, known_settings) = match &known {
        Some(e) => {
            let e = lock(e);
            (e.policy.clone(), e.settings.clone())
        }
        None => (Policy::new(room.clone()), None),
    };
    let mut trial = policy;
    let _ = trial.merge(statements.clone());
    let trial_settings = settings
        .clone()
        .filter(|s| verify_settings(&trial, s).is_ok())
        .or(known_settings);
    access.serves(&trial, trial_settings.as_ref())?;
    let role = match trial.member(remote) {
        None => return Err(format!("{} is not a member of this room", short(remote))),
        Some(m) if m.revoked => return Err(format!("{} was revoked from this room", short(remote))),
        Some(m) => m.role,
    };
    let entry = lock(rooms)
        .entry(room_key(room))
        .or_insert_with(|| Arc::new(Mutex::new(RoomEntry::new(room.clone()))))
        .clone();
    {
        let mut e = lock(&entry);
        e.learn(statements, settings);
        e.last_used = Instant::now();
    }
    Ok((entry, role))
}

struct Inner {
    node: Node,
    access: Access,
    id: String,
    rooms: Mutex<Rooms>,
    next_conn: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves the room path on `endpoint` (whose ALPNs must include `tandem/exec/1`) until the
/// endpoint closes.
pub async fn serve(node: Node, endpoint: Endpoint, access: Access) {
    let inner = Arc::new(Inner {
        node,
        access,
        id: to_hex(endpoint.id().as_bytes()),
        rooms: Mutex::new(HashMap::new()),
        next_conn: AtomicU64::new(1),
    });
    tandem_room::accept::serve_connections(&endpoint, "exec room path", move |conn| session(inner.clone(), conn)).await;
}

async fn refuse(conn: &Connection, send: &mut SendStream, message: String) {
    tracing::info!(peer = short(&to_hex(conn.remote_id().as_bytes())), %message, "refused a room peer");
    let _ = write_exec_frame(send, &ExecFrame::Server(ServerMsg::Refused { message })).await;
    let _ = send.finish();
    let _ = tokio::time::timeout(Duration::from_secs(2), conn.closed()).await;
    conn.close(0u32.into(), b"refused");
}

async fn session(inner: Arc<Inner>, conn: Connection) -> Result<(), String> {
    let remote = to_hex(conn.remote_id().as_bytes());
    let (mut send, mut recv) = tokio::time::timeout(HELLO_TIMEOUT, conn.accept_bi())
        .await
        .map_err(|_| "no stream opened".to_string())?
        .map_err(|e| e.to_string())?;
    let hello = match tokio::time::timeout(HELLO_TIMEOUT, read_exec_frame(&mut recv)).await {
        Ok(Ok(Some(Ok(ExecFrame::Client(ClientMsg::Hello {
            room,
            statements,
            settings,
            name,
        }))))) => (room, statements, settings, name),
        Ok(Ok(Some(Err(e)))) => {
            refuse(&conn, &mut send, e.to_string()).await;
            return Ok(());
        }
        Ok(Ok(Some(Ok(_)))) => {
            refuse(&conn, &mut send, "the first frame must be a hello".into()).await;
            return Ok(());
        }
        _ => return Ok(()),
    };
    let (room, statements, settings, name) = hello;
    if room.id.len() != 32 || room.creator.len() != 64 {
        refuse(&conn, &mut send, "malformed room reference".into()).await;
        return Ok(());
    }
    let (entry, role) = match admit(&inner.rooms, &inner.access, &room, &remote, statements, settings) {
        Ok(admitted) => admitted,
        Err(message) => {
            refuse(&conn, &mut send, message).await;
            return Ok(());
        }
    };
    write_exec_frame(
        &mut send,
        &ExecFrame::Server(ServerMsg::Welcome {
            node: inner.id.clone(),
            version: VERSION,
            role,
            revision: REVISION,
        }),
    )
    .await
    .map_err(|e| e.to_string())?;
    tracing::info!(room = %room.id, peer = short(&remote), ?role, "room peer connected");
    inner.node.audit(AuditEvent::Join {
        room: room.id.clone(),
        member: remote.clone(),
        role: format!("{role:?}").to_lowercase(),
    });

    let (tx, mut rx) = mpsc::channel::<Arc<Vec<u8>>>(WATCHER_QUEUE);
    let conn_id = inner.next_conn.fetch_add(1, Ordering::Relaxed);
    let writer = async move {
        let mut ping = tokio::time::interval(Duration::from_millis(PING_INTERVAL_MS));
        let ping_bytes = ExecFrame::Server(ServerMsg::Ping).encode().unwrap_or_default();
        loop {
            tokio::select! {
                b = rx.recv() => {
                    let Some(b) = b else { break };
                    if send.write_all(&b).await.is_err() {
                        break;
                    }
                }
                _ = ping.tick() => {
                    if send.write_all(&ping_bytes).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = send.finish();
    };
    let reader = read_loop(
        &inner,
        &entry,
        &room,
        &remote,
        &name,
        conn_id,
        &conn,
        tx.clone(),
        &mut recv,
    );
    tokio::select! {
        _ = writer => {}
        _ = reader => {}
    }
    {
        let mut e = lock(&entry);
        e.watchers.remove(&conn_id);
        e.last_used = Instant::now();
    }
    conn.close(0u32.into(), b"bye");
    tracing::info!(room = %room.id, peer = short(&remote), "room peer left");
    inner.node.audit(AuditEvent::Leave {
        room: room.id.clone(),
        member: remote.clone(),
    });
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn read_loop(
    inner: &Arc<Inner>,
    entry: &Arc<Mutex<RoomEntry>>,
    room: &RoomRef,
    remote: &str,
    name: &str,
    conn_id: u64,
    conn: &Connection,
    tx: mpsc::Sender<Arc<Vec<u8>>>,
    recv: &mut RecvStream,
) {
    let reply = |m: ServerMsg| {
        if let Ok(b) = ExecFrame::Server(m).encode() {
            let _ = tx.try_send(Arc::new(b));
        }
    };
    loop {
        let frame = match read_exec_frame(recv).await {
            Ok(Some(Ok(ExecFrame::Client(m)))) => m,
            Ok(Some(Ok(_))) => {
                reply(ServerMsg::Error {
                    message: "a peer sends client frames only".into(),
                });
                continue;
            }
            Ok(Some(Err(e))) => {
                reply(ServerMsg::Error { message: e.to_string() });
                continue;
            }
            Ok(None) | Err(_) => return,
        };
        match frame {
            ClientMsg::Hello { .. } => reply(ServerMsg::Error {
                message: "already said hello".into(),
            }),
            ClientMsg::Policy { statements } => {
                let mut e = lock(entry);
                e.learn(statements, None);
                if !e.policy.is_member(remote) {
                    return;
                }
            }
            ClientMsg::Settings { settings } => lock(entry).learn(Vec::new(), Some(settings)),
            ClientMsg::Watch => {
                let mut e = lock(entry);
                for (_, b) in &e.backlog {
                    if tx.try_send(b.clone()).is_err() {
                        return;
                    }
                }
                e.watchers.insert(
                    conn_id,
                    Watcher {
                        member: remote.to_string(),
                        tx: tx.clone(),
                        conn: conn.clone(),
                    },
                );
            }
            ClientMsg::Run {
                request_id,
                kind,
                request,
            } => start_run(inner, entry, room, remote, name, &tx, request_id, kind, request),
            // Any member may read the bank's public part; choosing a problem for the room is
            // the room's business (peers enforce that only interviewers do it).
            ClientMsg::ListProblems { request_id } => reply(ServerMsg::Problems {
                request_id,
                problems: inner.node.bank().list(),
            }),
            ClientMsg::GetProblem { request_id, id } => reply(match inner.node.bank().public(&id) {
                Ok(problem) => ServerMsg::Problem {
                    request_id,
                    problem: Box::new(problem),
                },
                Err(e) => ServerMsg::RequestFailed {
                    request_id,
                    message: e.to_string(),
                },
            }),
            ClientMsg::Cancel { run_id } => {
                let allowed = {
                    let e = lock(entry);
                    match e.active.get(&run_id) {
                        None => Err(format!("no run {run_id} in flight in this room")),
                        Some(by) if by == remote => Ok(()),
                        Some(_) if e.policy.member(remote).is_some_and(|m| m.is_admin()) => Ok(()),
                        Some(_) => Err("only the member who started a run or an interviewer can cancel it".into()),
                    }
                };
                match allowed {
                    Ok(()) => {
                        inner.node.cancel(&run_id);
                    }
                    Err(message) => reply(ServerMsg::Error { message }),
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn start_run(
    inner: &Arc<Inner>,
    entry: &Arc<Mutex<RoomEntry>>,
    room: &RoomRef,
    remote: &str,
    name: &str,
    tx: &mpsc::Sender<Arc<Vec<u8>>>,
    request_id: String,
    kind: RunKind,
    mut request: RunRequest,
) {
    let reject = |message: String| {
        tracing::info!(room = %room.id, peer = short(remote), %message, "run refused");
        if let Ok(b) = ExecFrame::Run(RoomRunMessage::RunRejected {
            request_id: request_id.clone(),
            message,
        })
        .encode()
        {
            let _ = tx.try_send(Arc::new(b));
        }
    };
    if let Err(refusal) = lock(entry).check_run(remote, kind, request.problem.as_deref(), &inner.access) {
        return reject(refusal.to_string());
    }
    // Runs of a room share its turn in the fair queue, whatever the request says.
    request.room = Some(room.id.clone());
    // What a run judges follows its kind, which every peer sees in `run_accepted`.
    request.submit = kind == RunKind::Submit;
    let requester = remote.to_string();
    let mut handle = match inner.node.submit(&request, &requester) {
        Ok(h) => h,
        Err(e) => return reject(e.to_string()),
    };
    let run_id = handle.job_id.clone();
    let accepted = RoomRunMessage::RunAccepted {
        run_id: run_id.clone(),
        request_id,
        by: RunBy {
            member: remote.to_string(),
            name: name.chars().take(64).collect(),
        },
        kind,
        language: request.language.clone(),
        code_hash: code_hash(&request),
        at_ms: now_ms(),
    };
    {
        let mut e = lock(entry);
        e.active.insert(run_id.clone(), remote.to_string());
        e.multicast(&run_id, &accepted);
        // The requester hears its answer even if it does not watch.
        if !e.watchers.values().any(|w| w.tx.same_channel(tx)) {
            if let Ok(b) = ExecFrame::Run(accepted).encode() {
                let _ = tx.try_send(Arc::new(b));
            }
        }
    }
    let entry = entry.clone();
    // The run belongs to the room, not to the requester's connection: it goes on if they leave.
    tokio::spawn(async move {
        let mut ended = false;
        while let Some(event) = handle.events.recv().await {
            let last = matches!(event, RunEvent::Finished { .. } | RunEvent::Error { .. });
            lock(&entry).multicast(
                &run_id,
                &RoomRunMessage::Event {
                    run_id: run_id.clone(),
                    event,
                },
            );
            if last {
                ended = true;
                break;
            }
        }
        if !ended {
            lock(&entry).multicast(
                &run_id,
                &RoomRunMessage::Event {
                    run_id: run_id.clone(),
                    event: RunEvent::Error {
                        message: "the run ended without a verdict".into(),
                    },
                },
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_room::exec_access::{make_endorsement, sign_settings};
    use tandem_room::identity::key_hex;
    use tandem_room::iroh::SecretKey;
    use tandem_shared::exec_wire::{ExecSettings, ExecTicket};
    use tandem_shared::invite::PeerAddr;

    fn room() -> (SecretKey, Policy) {
        let creator = SecretKey::generate();
        let r = RoomRef {
            id: "ef".repeat(16),
            creator: key_hex(&creator.public()),
        };
        (creator, Policy::new(r))
    }

    fn access() -> Access {
        Access {
            runs_per_minute_per_requester: 2,
            runs_per_minute_per_room: 3,
            submits_per_minute_per_member: 1,
            submits_per_minute_per_room: 1,
            ..Default::default()
        }
    }

    /// The room's run settings as its creator would sign them, naming the creator's own node.
    fn exec_settings(creator: &SecretKey, policy: &Policy) -> ExecSettings {
        ExecSettings {
            room: policy.room().clone(),
            ticket: ExecTicket(PeerAddr {
                id: key_hex(&creator.public()),
                relay: None,
                addrs: vec![],
            })
            .encode(),
            spectators_may_run: false,
            endorsements: vec![],
            at_ms: 1,
            runs_disabled: false,
            problem: None,
        }
    }

    fn settings_of(creator: &SecretKey, policy: &Policy, problem: Option<&str>) -> SignedExecSettings {
        sign_settings(
            creator,
            ExecSettings {
                problem: problem.map(str::to_string),
                ..exec_settings(creator, policy)
            },
        )
    }

    #[test]
    fn submit_is_only_for_the_problem_the_interviewer_chose_and_has_its_own_rate() {
        let (creator, policy) = room();
        let me = key_hex(&creator.public());
        let mut e = RoomEntry::new(policy.room().clone());
        let a = Access {
            runs_per_minute_per_requester: 4,
            runs_per_minute_per_room: 10,
            submits_per_minute_per_member: 2,
            submits_per_minute_per_room: 5,
            ..Default::default()
        };
        // No problem chosen: nothing to submit to.
        let submit = |e: &mut RoomEntry, problem| e.check_run(&me, RunKind::Submit, problem, &a);
        assert_eq!(submit(&mut e, Some("two-sum")), Err(Refusal::NoProblemChosen));
        e.settings = Some(settings_of(&creator, &policy, Some("two-sum")));
        assert_eq!(
            submit(&mut e, Some("edit-distance")),
            Err(Refusal::OtherProblem {
                chosen: "two-sum".into(),
                asked: "edit-distance".into()
            })
        );
        assert_eq!(submit(&mut e, None), Err(Refusal::SubmitWithoutProblem));
        // A Run of another problem's examples is fine (they are public).
        e.check_run(&me, RunKind::Run, Some("edit-distance"), &a).unwrap();
        submit(&mut e, Some("two-sum")).unwrap();
        submit(&mut e, Some("two-sum")).unwrap();
        let refused = submit(&mut e, Some("two-sum")).unwrap_err();
        assert!(
            matches!(
                refused,
                Refusal::RateLimited {
                    whose: "you",
                    limit: 2,
                    what: "submissions",
                    ..
                }
            ),
            "{refused:?}"
        );
        assert!(
            refused.to_string().contains("at most 2 submissions per minute"),
            "{refused}"
        );
        // Refused submissions are not counted as runs: three so far, the fourth is allowed and
        // the fifth is over the run rate.
        e.check_run(&me, RunKind::Run, None, &a).unwrap();
        assert!(matches!(
            e.check_run(&me, RunKind::Run, None, &a),
            Err(Refusal::RateLimited { what: "runs", .. })
        ));
        // Settings signed by someone who is not an interviewer do not choose anything.
        let stranger = SecretKey::generate();
        let forged = settings_of(&stranger, &policy, Some("edit-distance"));
        e.learn(Vec::new(), Some(forged));
        assert_eq!(
            submit(&mut e, Some("edit-distance")),
            Err(Refusal::OtherProblem {
                chosen: "two-sum".into(),
                asked: "edit-distance".into()
            })
        );
    }

    #[test]
    fn a_room_entry_exists_only_after_admission_and_is_keyed_by_creator() {
        let (creator, policy) = room();
        let me = key_hex(&creator.public());
        let a = Access {
            interviewers: vec![me.clone()],
            ..access()
        };
        let rooms = Mutex::new(Rooms::new());
        // A stranger with the real room's id, its own creator key: refused, and nothing is kept.
        let squatter = SecretKey::generate();
        let fake = RoomRef {
            id: policy.room().id.clone(),
            creator: key_hex(&squatter.public()),
        };
        let Err(err) = admit(&rooms, &a, &fake, &key_hex(&squatter.public()), vec![], None) else {
            panic!("a squatter was admitted");
        };
        assert!(err.contains("does not serve"), "{err}");
        assert!(lock(&rooms).is_empty());
        // A stranger to the real room: refused, nothing kept.
        let outsider = key_hex(&SecretKey::generate().public());
        assert!(admit(&rooms, &a, policy.room(), &outsider, vec![], None).is_err());
        assert!(lock(&rooms).is_empty());
        // The real room's creator is admitted; an entry exists from then on.
        let (entry, role) = admit(&rooms, &a, policy.room(), &me, vec![], None).unwrap();
        assert!(matches!(role, Role::Interviewer), "{role:?}");
        assert_eq!(lock(&rooms).len(), 1);
        // Held by a connection: kept however old; unheld and idle: forgotten.
        let later = Instant::now() + ROOM_IDLE + Duration::from_secs(1);
        forget_idle(&mut lock(&rooms), later);
        assert_eq!(lock(&rooms).len(), 1);
        drop(entry);
        forget_idle(&mut lock(&rooms), Instant::now());
        assert_eq!(lock(&rooms).len(), 1, "recently used entries stay (rate limits hold)");
        forget_idle(&mut lock(&rooms), later);
        assert!(lock(&rooms).is_empty());
    }

    #[test]
    fn a_room_is_served_for_a_listed_or_endorsed_interviewer_only() {
        let (creator, policy) = room();
        let mut a = access();
        assert!(a.serves(&policy, None).unwrap_err().contains("does not serve"));
        a.interviewers.push(key_hex(&creator.public()));
        a.serves(&policy, None).unwrap();

        let org = SecretKey::generate();
        let mut b = access();
        b.organisations.push(key_hex(&org.public()));
        let settings = |endorsements| {
            sign_settings(
                &creator,
                ExecSettings {
                    endorsements,
                    ..exec_settings(&creator, &policy)
                },
            )
        };
        let good = settings(vec![make_endorsement(&org, &key_hex(&creator.public()), 4_000_000_000)]);
        b.serves(&policy, Some(&good)).unwrap();
        let expired = settings(vec![make_endorsement(&org, &key_hex(&creator.public()), 1)]);
        assert!(b.serves(&policy, Some(&expired)).is_err());
        let other_org = settings(vec![make_endorsement(
            &SecretKey::generate(),
            &key_hex(&creator.public()),
            4_000_000_000,
        )]);
        assert!(b.serves(&policy, Some(&other_org)).is_err());
    }

    #[test]
    fn runs_turned_off_by_an_interviewer_are_refused() {
        let (creator, policy) = room();
        let mut e = RoomEntry::new(policy.room().clone());
        let me = key_hex(&creator.public());
        let mut settings = ExecSettings {
            runs_disabled: true,
            ..exec_settings(&creator, &policy)
        };
        e.settings = Some(sign_settings(&creator, settings.clone()));
        let err = e.check_run(&me, RunKind::Run, None, &access()).unwrap_err().to_string();
        assert!(err.contains("turned runs off"), "{err}");
        settings.runs_disabled = false;
        e.settings = Some(sign_settings(&creator, settings));
        e.check_run(&me, RunKind::Run, None, &access()).unwrap();
    }

    #[test]
    fn strangers_are_refused_and_rate_limits_speak_clearly() {
        let (creator, policy) = room();
        let mut e = RoomEntry::new(policy.room().clone());
        let a = access();
        assert!(e
            .check_run(&key_hex(&SecretKey::generate().public()), RunKind::Run, None, &a)
            .unwrap_err()
            .to_string()
            .contains("not a member"));
        let me = key_hex(&creator.public());
        e.check_run(&me, RunKind::Run, None, &a).unwrap();
        e.check_run(&me, RunKind::Run, None, &a).unwrap();
        let err = e.check_run(&me, RunKind::Run, None, &a).unwrap_err().to_string();
        assert!(err.contains("at most 2 runs per minute"), "{err}");
    }
}
