//! Runs from the room: every peer of a room that knows the room's execution node (named in the
//! session record, signed by an interviewer) connects to it over iroh (`tandem/exec/1`) and
//! watches the room's runs. Output therefore reaches every peer from the node itself, in the
//! node's order; no peer re-broadcasts what it saw, so nobody can forge another's output.
//!
//! What a peer does on its own: it resolves its requests (`request_run`), keeps the runs in
//! flight so a local subscriber that starts late gets what it missed, appends finished runs to
//! the room's run history (if it may edit the record; deduplicated by run id), and — when the
//! node goes silent for [`NODE_TIMEOUT_MS`] or the connection drops — ends every run in flight
//! with an `error` event and reports the node as disconnected, so nothing hangs.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use iroh::endpoint::{Connection, RecvStream, SendStream};
use iroh::Endpoint;
use serde::Serialize;
use tandem_shared::exec::{RunEvent, RunRequest};
use tandem_shared::exec_wire::{
    ClientMsg, Endorsement, ExecFrame, ExecSettings, ExecTicket, ServerMsg, SignedExecSettings, EXEC_ALPN,
    EXEC_SETTINGS_KEY, NODE_TIMEOUT_MS,
};
use tandem_shared::room::{RunRecord, RUN_RECORD_OUTPUT};
use tandem_shared::room_run::{RoomRunMessage, RunKind};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::exec_access::{sign_settings, verify_settings};
use crate::node::{to_endpoint_addr, Room};
use crate::policy::now_ms;
use crate::wire::{read_exec_frame, write_exec_frame};
use crate::RoomError;

/// How long a request waits for the node's answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a request waits for a connection to the node being set up.
const CONNECT_WAIT: Duration = Duration::from_secs(15);
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages a local subscriber may fall behind by, beyond the backlog it starts with, before it
/// sees `Lagged` (a lagging subscriber misses output chunks, never a run's final result).
///
/// Why not more: tokio's broadcast channel allocates and initialises every slot up front, and a
/// slot holds a whole `RoomRunMessage` (~640 bytes). At 16 Ki slots each subscriber — the desktop
/// app, every browser session on a relay — kept 10 MiB resident for nothing (found in the desktop
/// benchmark's memory breakdown, docs/benchmarks.md).
const SUBSCRIBER_LIVE_BUFFER: usize = 1024;
/// The most slots one subscriber's channel gets, however long the backlog of runs in flight.
const SUBSCRIBER_MAX_BUFFER: usize = 16 * 1024;

/// A subscriber's channel size: the backlog it is handed plus room to fall behind live output.
fn subscriber_buffer(backlog: usize) -> usize {
    (backlog + SUBSCRIBER_LIVE_BUFFER)
        .next_power_of_two()
        .min(SUBSCRIBER_MAX_BUFFER)
}

/// The room's view of its execution node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExecNodeStatus {
    /// The ticket named by the (verified) run settings, if any.
    pub ticket: Option<String>,
    /// Connected and admitted.
    pub connected: bool,
    /// The node's id once admitted.
    pub node: Option<String>,
    /// Why the node is not connected (went away, refused us), if it is not.
    pub error: Option<String>,
    /// The node refused this peer (not retried quickly; requests fail at once with this reason).
    pub refused: Option<String>,
}

struct InFlight {
    accepted: RoomRunMessage,
    output: String,
    truncated: bool,
    /// Events of this run already published (a replay after a reconnect skips them).
    published: usize,
}

#[derive(Default)]
struct State {
    subscribers: Vec<broadcast::Sender<RoomRunMessage>>,
    /// Messages of the runs in flight, for local subscribers that start late.
    backlog: Vec<RoomRunMessage>,
    in_flight: HashMap<String, InFlight>,
    /// Events per run received in the current connection (the node replays what is in flight).
    session_seen: HashMap<String, usize>,
    outbound: Option<mpsc::Sender<ClientMsg>>,
    pending: HashMap<String, oneshot::Sender<Result<String, String>>>,
    /// Requests other than runs (the problem bank), by request id.
    answers: HashMap<String, oneshot::Sender<ServerMsg>>,
    /// The node's message revision (`welcome.revision`).
    revision: u32,
    status: ExecNodeStatus,
    name: String,
    connecting: bool,
}

/// Per-room run state (held by [`Room`]).
#[derive(Default)]
pub struct Runs {
    state: Mutex<State>,
}

impl Runs {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn publish(st: &mut State, msg: &RoomRunMessage) {
    st.subscribers.retain(|tx| tx.receiver_count() > 0);
    for tx in &st.subscribers {
        let _ = tx.send(msg.clone());
    }
}

impl Room {
    /// Send `request` to the room's execution node (named in the session record) on behalf of this
    /// peer. Ok(run_id) once the node accepted it; Err with a clear reason when refused.
    pub async fn request_run(
        &self,
        request_id: &str,
        mut request: RunRequest,
        kind: RunKind,
    ) -> Result<String, RoomError> {
        request.room = Some(self.id().to_string());
        if !self.controls().runs_enabled {
            return Err(RoomError::Rejected(
                "an interviewer turned runs off in this room".into(),
            ));
        }
        let runs = self.runs_state();
        let outbound = self.exec_outbound().await?;
        let (tx, rx) = oneshot::channel();
        runs.lock().pending.insert(request_id.to_string(), tx);
        let msg = ClientMsg::Run {
            request_id: request_id.to_string(),
            kind,
            request,
        };
        if outbound.send(msg).await.is_err() {
            runs.lock().pending.remove(request_id);
            return Err(RoomError::Rejected(
                "the connection to the execution node closed".into(),
            ));
        }
        match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
            Ok(Ok(Ok(run_id))) => Ok(run_id),
            Ok(Ok(Err(message))) => Err(RoomError::Rejected(message)),
            Ok(Err(_)) => Err(RoomError::Rejected(
                "the execution node went away before answering".into(),
            )),
            Err(_) => {
                runs.lock().pending.remove(request_id);
                Err(RoomError::Rejected("the execution node did not answer in time".into()))
            }
        }
    }

    /// Sends a request other than a run (revision 2: the problem bank) and waits for the answer
    /// with the same `request_id`.
    pub(crate) async fn exec_request(&self, request_id: &str, msg: ClientMsg) -> Result<ServerMsg, RoomError> {
        let runs = self.runs_state();
        let outbound = self.exec_outbound().await?;
        let revision = runs.lock().revision;
        if revision < 2 {
            return Err(RoomError::Rejected(format!(
                "the room's execution node is too old for the problem bank (message revision {revision}, needs 2)"
            )));
        }
        let (tx, rx) = oneshot::channel();
        runs.lock().answers.insert(request_id.to_string(), tx);
        if outbound.send(msg).await.is_err() {
            runs.lock().answers.remove(request_id);
            return Err(RoomError::Rejected(
                "the connection to the execution node closed".into(),
            ));
        }
        match tokio::time::timeout(REQUEST_TIMEOUT, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(RoomError::Rejected(
                "the execution node went away before answering".into(),
            )),
            Err(_) => {
                runs.lock().answers.remove(request_id);
                Err(RoomError::Rejected("the execution node did not answer in time".into()))
            }
        }
    }

    /// The connection to the room's execution node, waiting (a while) for one being set up.
    async fn exec_outbound(&self) -> Result<mpsc::Sender<ClientMsg>, RoomError> {
        let runs = self.runs_state();
        let mut changes = self.subscribe();
        let deadline = tokio::time::Instant::now() + CONNECT_WAIT;
        loop {
            // Read before taking the runs lock (lock order: room state, then runs).
            let has_settings = self.exec_settings().is_some();
            {
                let st = runs.lock();
                if let Some(tx) = st.outbound.clone().filter(|_| st.status.connected) {
                    return Ok(tx);
                }
                if !has_settings {
                    return Err(RoomError::Rejected(
                        "no execution node is set for this room (an interviewer sets one)".into(),
                    ));
                }
                if let Some(r) = &st.status.refused {
                    return Err(RoomError::Rejected(r.clone()));
                }
            }
            if tokio::time::timeout_at(deadline, changes.changed()).await.is_err() {
                let why = runs.lock().status.error.clone().unwrap_or_else(|| "no answer".into());
                return Err(RoomError::Rejected(format!("the execution node is unreachable: {why}")));
            }
        }
    }

    /// Asks the node to cancel a run (the requester's or, for an interviewer, anyone's).
    pub async fn cancel_run(&self, run_id: &str) -> Result<(), RoomError> {
        let me_may = self.with_core(|c| c.policy().member(c.me()).is_some_and(|m| m.is_admin()));
        let me = self.with_core(|c| c.me().to_string());
        let outbound = {
            let st = self.runs_state().lock();
            if let Some(f) = st.in_flight.get(run_id) {
                if let RoomRunMessage::RunAccepted { by, .. } = &f.accepted {
                    if by.member != me && !me_may {
                        return Err(RoomError::Forbidden(
                            "only the member who started a run or an interviewer can cancel it".into(),
                        ));
                    }
                }
            }
            st.outbound.clone()
        };
        let tx = outbound.ok_or_else(|| RoomError::Rejected("not connected to the execution node".into()))?;
        tx.send(ClientMsg::Cancel {
            run_id: run_id.to_string(),
        })
        .await
        .map_err(|_| RoomError::Rejected("the connection to the execution node closed".into()))
    }

    /// Every RoomRunMessage of every run in the room as the node multicasts it (accepted, events in
    /// node order). A subscriber that starts mid-run first gets what it missed.
    pub fn run_messages(&self) -> broadcast::Receiver<RoomRunMessage> {
        let mut st = self.runs_state().lock();
        let (tx, rx) = broadcast::channel(subscriber_buffer(st.backlog.len()));
        for m in &st.backlog {
            let _ = tx.send(m.clone());
        }
        st.subscribers.push(tx);
        rx
    }

    /// The room's execution node as this peer sees it.
    pub fn exec_node_status(&self) -> ExecNodeStatus {
        self.runs_state().lock().status.clone()
    }

    /// The name sent to the node with this peer's runs (shown as `by.name`).
    pub fn set_display_name(&self, name: &str) {
        self.runs_state().lock().name = name.to_string();
    }

    /// Names the room's execution node (interviewers only): signed run settings in the session
    /// record. Every peer then connects to that node.
    pub fn set_exec_node(
        &self,
        ticket: &str,
        spectators_may_run: bool,
        endorsements: Vec<Endorsement>,
    ) -> Result<(), RoomError> {
        ExecTicket::decode(ticket).map_err(|e| RoomError::Rejected(e.to_string()))?;
        let problem = self.exec_settings().and_then(|s| s.settings.problem);
        let signed = self.with_core(|c| {
            if !c.policy().member(c.me()).is_some_and(|m| m.is_admin()) {
                return Err(RoomError::Forbidden(
                    "only an interviewer can set the room's execution node".into(),
                ));
            }
            Ok(sign_settings(
                c.key(),
                ExecSettings {
                    room: c.room().clone(),
                    ticket: ticket.trim().to_string(),
                    spectators_may_run,
                    endorsements,
                    at_ms: now_ms(),
                    runs_disabled: !c.controls().runs_enabled,
                    problem,
                },
            ))
        })?;
        let json = serde_json::to_string(&signed).map_err(|e| RoomError::Rejected(e.to_string()))?;
        self.change_record(|r| r.set_setting(EXEC_SETTINGS_KEY, &json))
    }

    /// Re-signs the room's run settings with `runs_disabled` (interviewers only), so the
    /// execution node refuses runs too.
    pub(crate) fn set_exec_settings_runs_disabled(&self, disabled: bool) -> Result<(), RoomError> {
        self.resign_exec_settings(|s| s.runs_disabled = disabled)
    }

    /// Re-signs the room's run settings with the chosen problem (interviewers only): the
    /// execution node judges this room's Submits against that problem only.
    pub(crate) fn set_exec_settings_problem(&self, problem: &str) -> Result<(), RoomError> {
        self.resign_exec_settings(|s| s.problem = Some(problem.to_string()))
    }

    fn resign_exec_settings(&self, change: impl FnOnce(&mut ExecSettings)) -> Result<(), RoomError> {
        let Some(current) = self.exec_settings() else {
            return Ok(());
        };
        let signed = self.with_core(|c| {
            c.require_interviewer()?;
            let mut s = current.settings.clone();
            change(&mut s);
            s.at_ms = now_ms().max(s.at_ms + 1);
            Ok::<_, RoomError>(sign_settings(c.key(), s))
        })?;
        let json = serde_json::to_string(&signed).map_err(|e| RoomError::Rejected(e.to_string()))?;
        self.change_record(|r| r.set_setting(EXEC_SETTINGS_KEY, &json))
    }

    /// The room's run settings, if set and signed by one of its interviewers.
    pub fn exec_settings(&self) -> Option<SignedExecSettings> {
        self.with_core(|c| {
            let json = c.record().setting(EXEC_SETTINGS_KEY)?;
            let s: SignedExecSettings = serde_json::from_str(&json).ok()?;
            match verify_settings(c.policy(), &s) {
                Ok(()) => Some(s),
                Err(e) => {
                    tracing::debug!(error = %e, "ignoring run settings");
                    None
                }
            }
        })
    }

    /// Finished runs of the room (session record), oldest first.
    pub fn run_history(&self) -> Vec<RunRecord> {
        self.record(|r| r.run_history())
    }

    fn set_status(&self, f: impl FnOnce(&mut ExecNodeStatus)) {
        let changed = {
            let mut st = self.runs_state().lock();
            let before = st.status.clone();
            f(&mut st.status);
            st.status != before
        };
        if changed {
            self.notify_changed();
        }
    }

    /// A message from the node.
    fn dispatch(&self, msg: RoomRunMessage) {
        let me = self.with_core(|c| c.me().to_string());
        let mut finished = None;
        {
            let mut st = self.runs_state().lock();
            let st = &mut *st;
            match &msg {
                RoomRunMessage::RunAccepted {
                    run_id, request_id, by, ..
                } => {
                    if by.member == me {
                        if let Some(p) = st.pending.remove(request_id) {
                            let _ = p.send(Ok(run_id.clone()));
                        }
                    }
                    if st.in_flight.contains_key(run_id) {
                        return; // replayed after a reconnect
                    }
                    st.in_flight.insert(
                        run_id.clone(),
                        InFlight {
                            accepted: msg.clone(),
                            output: String::new(),
                            truncated: false,
                            published: 0,
                        },
                    );
                    st.backlog.push(msg.clone());
                    publish(st, &msg);
                }
                RoomRunMessage::RunRejected { request_id, message } => {
                    if let Some(p) = st.pending.remove(request_id) {
                        let _ = p.send(Err(message.clone()));
                    }
                    publish(st, &msg);
                }
                RoomRunMessage::Event { run_id, event } => {
                    let n = {
                        let seen = st.session_seen.entry(run_id.clone()).or_default();
                        *seen += 1;
                        *seen
                    };
                    let Some(f) = st.in_flight.get_mut(run_id) else {
                        return; // a run that already ended here
                    };
                    if n <= f.published {
                        return;
                    }
                    f.published = n;
                    if let RunEvent::Output { data, .. } = event {
                        append_capped(&mut f.output, &mut f.truncated, data);
                    }
                    st.backlog.push(msg.clone());
                    publish(st, &msg);
                    if msg.is_final() {
                        let verdict = match event {
                            RunEvent::Finished { result } => result.verdict.as_str().to_string(),
                            _ => "error".to_string(),
                        };
                        if let Some(f) = st.in_flight.remove(run_id) {
                            finished = record_of(&f, &verdict);
                        }
                        st.backlog.retain(|m| m.run_id() != Some(run_id.as_str()));
                        st.session_seen.remove(run_id);
                    }
                }
            }
        }
        if let Some(r) = finished {
            self.append_history(r);
        }
    }

    /// The node went away (or we left it): every run in flight ends here, as failed.
    fn disconnected(&self, reason: &str) {
        let mut records = Vec::new();
        {
            let mut st = self.runs_state().lock();
            let st = &mut *st;
            st.outbound = None;
            for (_, p) in st.pending.drain() {
                let _ = p.send(Err(format!("the execution node went away before answering: {reason}")));
            }
            st.answers.clear();
            let mut ids: Vec<String> = st.in_flight.keys().cloned().collect();
            ids.sort();
            for run_id in ids {
                let Some(f) = st.in_flight.remove(&run_id) else {
                    continue;
                };
                let msg = RoomRunMessage::Event {
                    run_id: run_id.clone(),
                    event: RunEvent::Error {
                        message: format!("the execution node went away ({reason}); this run failed"),
                    },
                };
                publish(st, &msg);
                if let Some(r) = record_of(&f, "error") {
                    records.push(r);
                }
            }
            st.backlog.clear();
            st.session_seen.clear();
        }
        self.set_status(|s| {
            s.connected = false;
            s.node = None;
            s.error = Some(reason.to_string());
        });
        for r in records {
            self.append_history(r);
        }
    }

    fn append_history(&self, r: RunRecord) {
        let may = self.with_core(|c| c.policy().may_edit(c.me()) && !c.record().has_run_record(&r.run_id));
        if may {
            if let Err(e) = self.change_record(|rec| rec.put_run_record(&r)) {
                tracing::debug!(error = %e, "could not append the run to the history");
            }
        }
    }
}

fn append_capped(out: &mut String, truncated: &mut bool, data: &str) {
    if *truncated {
        return;
    }
    let room = RUN_RECORD_OUTPUT.saturating_sub(out.len());
    if data.len() <= room {
        out.push_str(data);
        return;
    }
    let mut end = room;
    while !data.is_char_boundary(end) {
        end -= 1;
    }
    out.push_str(&data[..end]);
    *truncated = true;
}

fn record_of(f: &InFlight, verdict: &str) -> Option<RunRecord> {
    let RoomRunMessage::RunAccepted {
        run_id,
        by,
        kind,
        language,
        code_hash,
        at_ms,
        ..
    } = &f.accepted
    else {
        return None;
    };
    Some(RunRecord {
        run_id: run_id.clone(),
        at_ms: *at_ms,
        by: by.member.clone(),
        name: by.name.clone(),
        kind: kind.as_str().to_string(),
        language: language.clone(),
        code_hash: code_hash.clone(),
        verdict: verdict.to_string(),
        output: f.output.clone(),
        truncated: f.truncated,
    })
}

/// An admitted connection to an execution node.
pub struct ExecConnection {
    pub conn: Connection,
    pub send: SendStream,
    pub recv: RecvStream,
    /// The node's id.
    pub node: String,
    /// The node's message revision (see `tandem_shared::exec_wire`).
    pub revision: u32,
}

/// Dials an execution node and says hello. `Err(Rejected(reason))` when the node refuses.
/// Used by every room peer; public so tools and tests can speak the protocol directly.
pub async fn connect_exec(endpoint: &Endpoint, ticket: &str, hello: ClientMsg) -> Result<ExecConnection, RoomError> {
    let t = ExecTicket::decode(ticket).map_err(|e| RoomError::Rejected(e.to_string()))?;
    let addr = to_endpoint_addr(&t.0)?;
    let conn = tokio::time::timeout(DIAL_TIMEOUT, endpoint.connect(addr, EXEC_ALPN))
        .await
        .map_err(|_| RoomError::Net("dialing the execution node timed out".into()))?
        .map_err(|e| RoomError::Net(format!("dialing the execution node: {e}")))?;
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| RoomError::Net(e.to_string()))?;
    write_exec_frame(&mut send, &ExecFrame::Client(hello)).await?;
    match tokio::time::timeout(DIAL_TIMEOUT, read_exec_frame(&mut recv)).await {
        Ok(Ok(Some(Ok(ExecFrame::Server(ServerMsg::Welcome { node, revision, .. }))))) => Ok(ExecConnection {
            conn,
            send,
            recv,
            node,
            revision,
        }),
        Ok(Ok(Some(Ok(ExecFrame::Server(ServerMsg::Refused { message }))))) => Err(RoomError::Rejected(message)),
        Ok(Ok(other)) => Err(RoomError::Net(format!(
            "unexpected answer from the execution node: {other:?}"
        ))),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(RoomError::Net("the execution node did not answer the hello".into())),
    }
}

enum SessionEnd {
    /// Reconnect soon.
    Lost(String),
    /// The node refused us: retry slowly.
    Refused(String),
    /// Settings changed or the room went offline: re-evaluate at once.
    Changed,
}

/// Keeps this peer connected to the room's execution node for as long as the room is open.
pub(crate) async fn supervise(room: Room) {
    let mut changes = room.subscribe();
    let mut failures: u32 = 0;
    loop {
        let settings = room.exec_settings().filter(|_| room.is_online());
        let Some(settings) = settings else {
            room.set_status(|s| {
                *s = ExecNodeStatus::default();
            });
            let _ = tokio::time::timeout(Duration::from_secs(1), changes.changed()).await;
            continue;
        };
        room.set_status(|s| {
            if s.ticket.as_deref() != Some(settings.settings.ticket.as_str()) {
                *s = ExecNodeStatus {
                    ticket: Some(settings.settings.ticket.clone()),
                    ..Default::default()
                };
            }
        });
        room.runs_state().lock().connecting = true;
        let end = session(&room, &settings).await;
        room.runs_state().lock().connecting = false;
        let pause = match end {
            SessionEnd::Lost(reason) => {
                failures = failures.saturating_add(1);
                room.disconnected(&reason);
                Duration::from_millis(200u64.saturating_mul(1 << failures.min(4)))
            }
            SessionEnd::Refused(reason) => {
                room.disconnected(&format!("refused by the execution node: {reason}"));
                room.set_status(|s| s.refused = Some(reason));
                Duration::from_secs(3)
            }
            SessionEnd::Changed => {
                room.disconnected("the room's execution node changed");
                Duration::ZERO
            }
        };
        let _ = tokio::time::timeout(pause, async {
            // Wake early when the settings change.
            loop {
                if changes.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
                let now = room.exec_settings().filter(|_| room.is_online());
                if now.as_ref() != Some(&settings) {
                    return;
                }
            }
        })
        .await;
    }
}

/// One connection to the node, from hello to its end.
async fn session(room: &Room, settings: &SignedExecSettings) -> SessionEnd {
    let statements = room.with_core(|c| c.policy().statements());
    let mut sent_statements = statements.len();
    let name = room.runs_state().lock().name.clone();
    let hello = ClientMsg::Hello {
        room: room.room_ref().clone(),
        statements,
        settings: Some(settings.clone()),
        name,
    };
    let mut c = match connect_exec(room.endpoint(), &settings.settings.ticket, hello).await {
        Ok(c) => c,
        Err(RoomError::Rejected(m)) => return SessionEnd::Refused(m),
        Err(e) => return SessionEnd::Lost(e.to_string()),
    };
    if let Err(e) = write_exec_frame(&mut c.send, &ExecFrame::Client(ClientMsg::Watch)).await {
        return SessionEnd::Lost(e.to_string());
    }
    let (ftx, mut frx) = mpsc::channel::<Result<ExecFrame, String>>(1024);
    let mut recv = c.recv;
    let reader = tokio::spawn(async move {
        loop {
            let r = match read_exec_frame(&mut recv).await {
                Ok(Some(Ok(f))) => Ok(f),
                Ok(Some(Err(e))) => {
                    tracing::info!(error = %e, "bad frame from the execution node");
                    continue;
                }
                Ok(None) => Err("the execution node closed the connection".to_string()),
                Err(e) => Err(format!("connection lost: {e}")),
            };
            let end = r.is_err();
            if ftx.send(r).await.is_err() || end {
                break;
            }
        }
    });
    let (otx, mut orx) = mpsc::channel::<ClientMsg>(256);
    {
        let mut st = room.runs_state().lock();
        st.outbound = Some(otx);
        st.session_seen.clear();
        st.revision = c.revision;
    }
    let node = c.node.clone();
    room.set_status(|s| {
        s.connected = true;
        s.node = Some(node);
        s.error = None;
        s.refused = None;
    });
    tracing::debug!("connected to the execution node");
    let mut changes = room.subscribe();
    let timeout = Duration::from_millis(NODE_TIMEOUT_MS);
    let mut deadline = tokio::time::Instant::now() + timeout;
    let mut send = c.send;
    let mut sent_settings = settings.clone();
    let end = loop {
        tokio::select! {
            m = orx.recv() => {
                let Some(m) = m else { break SessionEnd::Lost("closed".into()) };
                if let Err(e) = write_exec_frame(&mut send, &ExecFrame::Client(m)).await {
                    break SessionEnd::Lost(e.to_string());
                }
            }
            f = frx.recv() => {
                deadline = tokio::time::Instant::now() + timeout;
                match f {
                    Some(Ok(ExecFrame::Run(msg))) => room.dispatch(msg),
                    Some(Ok(ExecFrame::Server(ServerMsg::Refused { message }))) => break SessionEnd::Refused(message),
                    Some(Ok(ExecFrame::Server(ServerMsg::Error { message }))) => {
                        tracing::info!(%message, "the execution node refused a message");
                    }
                    Some(Ok(ExecFrame::Server(
                        m @ (ServerMsg::Problems { .. } | ServerMsg::Problem { .. } | ServerMsg::RequestFailed { .. }),
                    ))) => {
                        let id = match &m {
                            ServerMsg::Problems { request_id, .. }
                            | ServerMsg::Problem { request_id, .. }
                            | ServerMsg::RequestFailed { request_id, .. } => request_id.clone(),
                            _ => String::new(),
                        };
                        if let Some(tx) = room.runs_state().lock().answers.remove(&id) {
                            let _ = tx.send(m);
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break SessionEnd::Lost(e),
                    None => break SessionEnd::Lost("the execution node closed the connection".into()),
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                break SessionEnd::Lost(format!("no word from the execution node for {} s", NODE_TIMEOUT_MS / 1000));
            }
            r = changes.changed() => {
                if r.is_err() {
                    break SessionEnd::Changed;
                }
                let now = room.exec_settings().filter(|_| room.is_online());
                match now {
                    Some(s) if s.settings.ticket == settings.settings.ticket => {
                        if s != sent_settings {
                            sent_settings = s.clone();
                            let _ = write_exec_frame(&mut send, &ExecFrame::Client(ClientMsg::Settings { settings: s })).await;
                        }
                    }
                    _ => break SessionEnd::Changed,
                }
                let statements = room.with_core(|c| c.policy().statements());
                if statements.len() != sent_statements {
                    sent_statements = statements.len();
                    if let Err(e) = write_exec_frame(&mut send, &ExecFrame::Client(ClientMsg::Policy { statements })).await {
                        break SessionEnd::Lost(e.to_string());
                    }
                }
            }
        }
    };
    reader.abort();
    let _ = send.finish();
    c.conn.close(0u32.into(), b"bye");
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_output_is_cut_at_a_char_boundary() {
        let mut out = String::new();
        let mut t = false;
        append_capped(&mut out, &mut t, &"é".repeat(RUN_RECORD_OUTPUT));
        assert!(t);
        assert!(out.len() <= RUN_RECORD_OUTPUT);
        append_capped(&mut out, &mut t, "more");
        assert!(!out.ends_with("more"));
    }

    #[test]
    fn a_subscriber_gets_room_for_its_backlog_and_live_output_within_a_cap() {
        assert_eq!(subscriber_buffer(0), SUBSCRIBER_LIVE_BUFFER);
        // A backlog never leaves it lagging before it starts, however close to a power of two.
        for backlog in [1, 1000, 1024, 5000] {
            assert!(subscriber_buffer(backlog) >= backlog + SUBSCRIBER_LIVE_BUFFER);
        }
        assert_eq!(subscriber_buffer(1 << 20), SUBSCRIBER_MAX_BUFFER);
    }
}
