//! The command logic, as plain Rust that the Tauri commands (`commands.rs`) call and the unit
//! tests drive without a window. Holds the room peer (`Node`), the settings and the open sessions.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tandem_room::{Node, NodeConfig, Room};
use tandem_shared::invite::RoomRef;
use tandem_shared::room::Role;
use tokio::sync::{mpsc, oneshot, OnceCell};

use crate::error::IpcError;
use crate::session::{self, ConnState, Inbound, PolicyView, Sink};
use crate::settings::{Files, RecentRoom, Settings, SettingsInput};
use crate::validate;

/// How long joining waits for the invite's peer to admit us.
const JOIN_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a new invite stays valid.
const INVITE_TTL_SECS: u64 = 7 * 24 * 3600;

#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub settings: Settings,
    /// True until a display name was chosen.
    pub first_run: bool,
    /// Our member id (hex public key), once the peer runs.
    pub member: String,
}

/// What the app was started for (`tandem://join/…` link, or `--open <room-id>`), by this
/// process's arguments or by a later launch that handed it over (`crate::instance`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Launch {
    pub link: Option<String>,
    pub open_room: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoomSummary {
    pub id: String,
    pub creator: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Opened {
    pub session: u32,
    pub room_id: String,
    pub policy: PolicyView,
    pub state: ConnState,
}

/// Delivers later launches to the page; returns false once nobody listens.
pub type LaunchSink = Arc<dyn Fn(Launch) -> bool + Send + Sync>;

struct Session {
    room: Room,
    inbound: mpsc::Sender<Inbound>,
    task: tokio::task::JoinHandle<()>,
}

pub struct Desktop {
    data_dir: PathBuf,
    files: Files,
    bind: SocketAddr,
    node: OnceCell<Arc<Node>>,
    sessions: Mutex<HashMap<u32, Session>>,
    next_session: AtomicU32,
    /// What the app was started for, until the UI takes it.
    launch: Mutex<Launch>,
    /// The page's listener for launches handed over by later processes.
    launch_watch: Mutex<Option<LaunchSink>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Desktop {
    /// `bind`: the UDP address for direct paths (all interfaces in the product; loopback in tests).
    pub fn new(data_dir: impl Into<PathBuf>, bind: SocketAddr) -> Self {
        let data_dir = data_dir.into();
        Self {
            files: Files::new(&data_dir),
            data_dir,
            bind,
            node: OnceCell::new(),
            sessions: Mutex::new(HashMap::new()),
            next_session: AtomicU32::new(1),
            launch: Mutex::new(Launch::default()),
            launch_watch: Mutex::new(None),
        }
    }

    /// The room peer, started on first use (the relay URL from the settings applies).
    pub async fn node(&self) -> Result<&Arc<Node>, IpcError> {
        self.node
            .get_or_try_init(|| async {
                let settings = self.files.settings();
                let mut config = NodeConfig::new(self.data_dir.join("peer"));
                config.bind = self.bind;
                config.relay_url = settings.relay_url.clone();
                Node::start(config)
                    .await
                    .map(Arc::new)
                    .map_err(|e| IpcError::NodeUnavailable(e.to_string()))
            })
            .await
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.data_dir
    }

    pub fn set_launch(&self, launch: Launch) {
        *lock(&self.launch) = launch;
    }

    /// The launch request, once (a reload of the page does not repeat it).
    pub fn take_launch(&self) -> Launch {
        std::mem::take(&mut *lock(&self.launch))
    }

    /// The page listens for launches handed over while it runs (one listener: a reload replaces it).
    pub fn watch_launch(&self, sink: LaunchSink) {
        *lock(&self.launch_watch) = Some(sink);
    }

    /// A launch handed over by another process: straight to the page if it listens, else kept
    /// for `take_launch` (the page has not loaded yet).
    pub fn forwarded_launch(&self, launch: Launch) {
        let watcher = lock(&self.launch_watch).clone();
        if let Some(w) = watcher {
            if w(launch.clone()) {
                return;
            }
            *lock(&self.launch_watch) = None;
        }
        *lock(&self.launch) = launch;
    }

    pub async fn profile(&self) -> Result<Profile, IpcError> {
        let settings = self.files.settings();
        Ok(Profile {
            first_run: settings.name.is_empty(),
            member: self.node().await?.id(),
            settings,
        })
    }

    /// Saves validated settings; returns whether a restart is needed (the relay changed).
    pub fn save_settings(&self, input: SettingsInput) -> Result<bool, IpcError> {
        let new = input.validate()?;
        let old = self.files.settings();
        self.files.save_settings(&new)?;
        Ok(self.node.initialized() && old.relay_url != new.relay_url)
    }

    fn remember(&self, room: &RoomRef) {
        if let Err(e) = self
            .files
            .touch_recent(&room.id, &room.creator, tandem_room::policy::now_ms())
        {
            tracing::warn!(error = %e, "could not update the recent rooms");
        }
    }

    pub async fn create_room(&self) -> Result<RoomSummary, IpcError> {
        let room = self.node().await?.create_room()?;
        let r = room.room_ref().clone();
        self.remember(&r);
        Ok(RoomSummary {
            id: r.id,
            creator: r.creator,
        })
    }

    /// Joins with an invite link; needs the inviting peer (or another member) reachable.
    pub async fn join_room(&self, link: &str) -> Result<RoomSummary, IpcError> {
        let invite = validate::invite(link)?;
        let room = self.node().await?.join(&invite, JOIN_TIMEOUT).await?;
        let r = room.room_ref().clone();
        self.remember(&r);
        Ok(RoomSummary {
            id: r.id,
            creator: r.creator,
        })
    }

    /// Rooms stored on this machine, most recently opened first (they open offline).
    pub async fn recent_rooms(&self) -> Result<Vec<RecentRoom>, IpcError> {
        let stored = self.node().await?.stored_rooms()?;
        let mut recent = self.files.recent();
        recent.retain(|r| stored.iter().any(|s| s.id == r.id));
        for s in stored {
            if !recent.iter().any(|r| r.id == s.id) {
                recent.push(RecentRoom {
                    id: s.id,
                    creator: s.creator,
                    last_opened_ms: 0,
                });
            }
        }
        Ok(recent)
    }

    fn find_room(&self, node: &Node, room_id: &str) -> Result<Room, IpcError> {
        let id = validate::room_id(room_id)?;
        if let Some(r) = node.room(&id) {
            return Ok(r);
        }
        let stored = node.stored_rooms()?;
        let r = stored
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| IpcError::invalid(format!("no room {id} on this machine")))?;
        Ok(node.open(r)?)
    }

    /// Opens a room for the webview: attaches a local Yjs client whose messages go to `sink`.
    pub async fn open_room(&self, room_id: &str, sink: Sink) -> Result<Opened, IpcError> {
        let node = self.node().await?.clone();
        let room = self.find_room(&node, room_id)?;
        self.remember(room.room_ref());
        let ticket = self.files.settings().exec_ticket;
        if let Err(e) = crate::runs::apply_exec_ticket(&room, ticket.as_deref()) {
            tracing::warn!(error = %e, "could not name the execution node in the room");
        }
        let client = room.attach_local();
        let (tx, rx) = mpsc::channel(256);
        let session = self.next_session.fetch_add(1, Ordering::Relaxed);
        let policy = session::policy_view(&room);
        let state = session::connection_state(&node, &room).await;
        let task = tokio::spawn(session::run_session(node, room.clone(), client, rx, sink));
        lock(&self.sessions).insert(
            session,
            Session {
                room: room.clone(),
                inbound: tx,
                task,
            },
        );
        Ok(Opened {
            session,
            room_id: room.id().to_string(),
            policy,
            state,
        })
    }

    pub fn close_room(&self, session: u32) -> Result<(), IpcError> {
        let s = lock(&self.sessions)
            .remove(&session)
            .ok_or(IpcError::NoSession(session))?;
        s.task.abort();
        Ok(())
    }

    pub(crate) fn room(&self, session: u32) -> Result<Room, IpcError> {
        lock(&self.sessions)
            .get(&session)
            .map(|s| s.room.clone())
            .ok_or(IpcError::NoSession(session))
    }

    /// One y-protocols message from the webview (base64).
    pub async fn send(&self, session: u32, data_b64: &str) -> Result<(), IpcError> {
        let message = validate::message(data_b64)?;
        let inbound = lock(&self.sessions)
            .get(&session)
            .map(|s| s.inbound.clone())
            .ok_or(IpcError::NoSession(session))?;
        let (reply, rx) = oneshot::channel();
        inbound
            .send(Inbound { message, reply })
            .await
            .map_err(|_| IpcError::NoSession(session))?;
        rx.await.map_err(|_| IpcError::NoSession(session))??;
        Ok(())
    }

    pub fn set_role(&self, session: u32, member: &str, role: &str) -> Result<(), IpcError> {
        let member = validate::member(member)?;
        let role = validate::role(role)?;
        self.room(session)?.set_role(&member, role, role.edits_by_default())?;
        Ok(())
    }

    pub fn set_read_only(&self, session: u32, member: &str, read_only: bool) -> Result<(), IpcError> {
        let member = validate::member(member)?;
        let room = self.room(session)?;
        let current = room
            .members()
            .into_iter()
            .find(|m| m.key == member)
            .ok_or_else(|| IpcError::invalid(format!("{member} is not a member")))?;
        if current.role == Role::Spectator && !read_only {
            return Err(IpcError::invalid("a spectator cannot be given the edit right"));
        }
        room.set_role(&member, current.role, !read_only)?;
        Ok(())
    }

    pub fn revoke(&self, session: u32, member: &str) -> Result<(), IpcError> {
        let member = validate::member(member)?;
        let room = self.room(session)?;
        if member == room.with_core(|c| c.me().to_string()) {
            return Err(IpcError::invalid("you cannot revoke yourself"));
        }
        room.revoke(&member)?;
        Ok(())
    }

    /// A `tandem://join/…` link for `role`, naming this peer as the one to contact.
    pub fn create_invite(&self, session: u32, role: &str) -> Result<String, IpcError> {
        let role = validate::role(role)?;
        let invite = self
            .room(session)?
            .invite(role, role.edits_by_default(), INVITE_TTL_SECS)?;
        Ok(invite.to_link())
    }

    /// A run of the room's code through its execution node (input checked in `runs`).
    pub async fn request_run(
        &self,
        session: u32,
        request_id: &str,
        request: serde_json::Value,
        kind: &str,
    ) -> Result<String, IpcError> {
        let room = self.room(session)?;
        crate::runs::request_run(&room, request_id, request, kind).await
    }

    pub async fn cancel_run(&self, session: u32, run_id: &str) -> Result<(), IpcError> {
        let room = self.room(session)?;
        crate::runs::cancel_run(&room, run_id).await
    }

    /// Closes every session and the peer (on app exit).
    pub async fn shutdown(&self) {
        for (_, s) in lock(&self.sessions).drain() {
            s.task.abort();
        }
        if let Some(node) = self.node.get() {
            for r in node.stored_rooms().unwrap_or_default() {
                if let Some(room) = node.room(&r.id) {
                    room.close();
                }
            }
            node.endpoint().close().await;
        }
    }
}
