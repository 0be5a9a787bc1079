//! One open room in the webview: a `LocalClient` of the room plus a watcher that reports the
//! connection state and the policy. Everything goes to the webview through one event sink (a
//! Tauri channel in the app, a plain closure in tests).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde::Serialize;
use tandem_room::iroh::endpoint::TransportAddrUsage;
use tandem_room::iroh::{PublicKey, TransportAddr};
use tandem_room::{LocalClient, Node, Room, RoomError};
use tandem_shared::room_run::RoomRunMessage;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, oneshot};

/// The connection state the UI shows (`ConnectionState` in ui/src/room/connection.ts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnState {
    Direct,
    Relayed,
    Offline,
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberPolicy {
    pub member: String,
    pub role: String,
    pub read_only: bool,
    pub revoked: bool,
}

/// `Policy` in ui/src/room/connection.ts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyView {
    pub you: String,
    pub members: Vec<MemberPolicy>,
}

/// What the webview receives for an open room.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RoomEvent {
    /// One y-protocols message (base64).
    Message {
        data: String,
    },
    State {
        state: ConnState,
    },
    Policy {
        policy: PolicyView,
    },
    /// One message about the room's runs (docs/ui.md type-100 shape), as the execution node
    /// multicast it: accepted, queued/started/output/finished/error events, or a rejection.
    Run {
        message: RoomRunMessage,
    },
    /// The room was closed (session ended).
    Closed,
}

/// Delivers events to the webview; returns false once nobody listens (window gone).
pub type Sink = Arc<dyn Fn(RoomEvent) -> bool + Send + Sync>;

pub fn policy_view(room: &Room) -> PolicyView {
    room.with_core(|c| {
        let members = c
            .policy()
            .members()
            .into_iter()
            .map(|m| MemberPolicy {
                read_only: !m.can_edit && m.role != tandem_shared::room::Role::Spectator,
                role: m.role.as_str().to_string(),
                revoked: m.revoked,
                member: m.key,
            })
            .collect();
        PolicyView {
            you: c.me().to_string(),
            members,
        }
    })
}

/// Direct when some connected peer is reached over an IP path, relayed when only through the
/// relay, offline when no peer is connected.
pub async fn connection_state(node: &Node, room: &Room) -> ConnState {
    let me = room.with_core(|c| c.me().to_string());
    let revoked = room.with_core(|c| c.policy().member(&me).is_some_and(|m| m.revoked));
    if revoked {
        return ConnState::Refused;
    }
    let peers = room.peers();
    if !room.is_online() || peers.is_empty() {
        return ConnState::Offline;
    }
    let mut relayed = false;
    for p in peers {
        let Ok(key) = p.id.parse::<PublicKey>() else { continue };
        match node.endpoint().remote_info(key).await {
            Some(info) => {
                for a in info.addrs() {
                    if !matches!(a.usage(), TransportAddrUsage::Active) {
                        continue;
                    }
                    match a.addr() {
                        TransportAddr::Relay(_) => relayed = true,
                        _ => return ConnState::Direct,
                    }
                }
            }
            None => relayed = true,
        }
    }
    if relayed {
        ConnState::Relayed
    } else {
        ConnState::Direct
    }
}

/// A request from a command to the session task.
pub struct Inbound {
    pub message: Vec<u8>,
    pub reply: oneshot::Sender<Result<(), RoomError>>,
}

/// Runs until the sink is gone, the room closes or `inbound` is dropped. The task owns the
/// `LocalClient`: `recv` needs it mutably while `receive` is called from commands. Run messages
/// of the room go to the webview as they come (a run started before the room was opened here is
/// replayed from its start by `run_messages`).
pub async fn run_session(
    node: Arc<Node>,
    room: Room,
    mut client: LocalClient,
    mut inbound: mpsc::Receiver<Inbound>,
    sink: Sink,
) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut changed = room.subscribe();
    let mut runs = room.run_messages();
    let mut runs_open = true;
    let mut last_state = None;
    let mut last_policy = None;
    // The state also changes without room events (paths upgrade from relay to direct).
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tokio::select! {
            m = client.recv() => match m {
                Some(bytes) => {
                    if !sink(RoomEvent::Message { data: b64.encode(bytes) }) {
                        break;
                    }
                }
                None => {
                    sink(RoomEvent::Closed);
                    break;
                }
            },
            req = inbound.recv() => match req {
                Some(Inbound { message, reply }) => {
                    let _ = reply.send(client.receive(&message));
                }
                None => break,
            },
            m = runs.recv(), if runs_open => {
                match m {
                    Ok(message) => {
                        if !sink(RoomEvent::Run { message }) {
                            break;
                        }
                    }
                    // Fell behind by thousands of chunks: the rest still comes; the UI shows
                    // what it got (the run's record in the history has the whole output).
                    Err(RecvError::Lagged(n)) => tracing::warn!(skipped = n, "run messages lagged"),
                    Err(RecvError::Closed) => runs_open = false,
                }
                // Run output says nothing about the policy or the connection.
                continue;
            }
            r = changed.changed() => {
                if r.is_err() {
                    break;
                }
            }
            _ = tick.tick() => {}
        }
        let policy = policy_view(&room);
        if last_policy.as_ref() != Some(&policy) {
            last_policy = Some(policy.clone());
            if !sink(RoomEvent::Policy { policy }) {
                break;
            }
        }
        let state = connection_state(&node, &room).await;
        if last_state != Some(state) {
            last_state = Some(state);
            if !sink(RoomEvent::State { state }) {
                break;
            }
        }
    }
}
