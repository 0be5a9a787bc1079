//! The network side: an iroh endpoint, one QUIC connection (one bidirectional stream) per pair
//! of peers, and a mesh in which every peer serves the room to the others.
//!
//! Why a mesh rather than a star: the room must keep working with its creator offline, so
//! peers tell each other the addresses they know (`Peers` control frames) and connect to each
//! other directly (or through the relay). To avoid two connections per pair, a peer only dials
//! a gossiped address whose id is greater than its own (or any, when it has no connection at
//! all, e.g. after a restart), and at most [`MESH_DEGREE`] of them; the invite's address is
//! always dialled. Live updates are forwarded hop by hop, each hop re-checking the signature.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use iroh::endpoint::{presets, Connection, RecvStream, SendStream};
use iroh::{Endpoint, EndpointAddr, RelayConfig, RelayMap, RelayMode, RelayUrl, SecretKey, TransportAddr};
use tandem_shared::invite::{Invite, PeerAddr, RoomRef, SignedStatement, StatementBody};
use tandem_shared::protocol::{Control, ErrorCode, Frame, Hello, RecordSync, SignedUpdate, ALPN};
use tandem_shared::room::{Presence, Role, SessionRecord};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::core::{Edit, RoomCore, SyncOutcome};
use crate::identity::{key_hex, parse_key};
use crate::policy::{now_ms, short, Member, MAX_STATEMENTS_PER_ROOM};
use crate::store::Store;
use crate::wire::{read_frame, write_frame, write_raw, Read};
use crate::RoomError;

/// Frames queued per connection before the peer is considered too slow and dropped (it then
/// reconnects and catches up by state vector, which is cheaper than an unbounded queue).
const LINK_QUEUE: usize = 4096;
/// How long the other side has to send its hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait for a dial.
const DIAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Mesh maintenance period.
const TICK: Duration = Duration::from_millis(250);
/// Connections below which a peer dials gossiped addresses. Enough for a connected mesh with a
/// diameter of a few hops in a 60-person room (updates are forwarded hop by hop), without the n²
/// connections of a full mesh; every extra link carries a duplicate of every update, which is
/// what dominated the 50-peer benchmark at 8 (docs/benchmarks.md).
const MESH_DEGREE: usize = 4;
/// Longest pause between redials of an unreachable peer.
const MAX_BACKOFF: Duration = Duration::from_secs(3);

/// How a node is set up.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Where the key and the sled database live.
    pub data_dir: PathBuf,
    /// Our relay (e.g. `http://127.0.0.1:3340` in dev); `None` disables relaying.
    pub relay_url: Option<String>,
    /// Bearer token presented to the relay, if it requires one.
    pub relay_token: Option<String>,
    /// PEM certificate(s) to trust for the relay's HTTPS instead of the system's roots (a relay
    /// in `--self-signed` mode). `None`: the usual web PKI.
    pub relay_ca: Option<PathBuf>,
    /// Use direct UDP paths; `false` makes the node relay-only.
    pub direct: bool,
    /// Local UDP address for direct paths (loopback by default).
    pub bind: SocketAddr,
}

impl NodeConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            relay_url: None,
            relay_token: None,
            relay_ca: None,
            direct: true,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

/// The certificates in a PEM file as the only roots trusted for the relay's TLS.
fn relay_roots(path: &std::path::Path) -> Result<iroh::tls::CaTlsConfig, RoomError> {
    use rustls_pki_types::pem::PemObject;
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| RoomError::Net(format!("relay certificate {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(RoomError::Net(format!("no certificate in {}", path.display())));
    }
    Ok(iroh::tls::CaTlsConfig::custom_roots(certs))
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock must not take the whole peer down with it.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct NodeInner {
    endpoint: Endpoint,
    key: SecretKey,
    store: Store,
    rooms: Mutex<HashMap<String, Room>>,
    relay: Option<RelayUrl>,
}

/// An installation's peer: one endpoint serving any number of rooms.
pub struct Node {
    inner: Arc<NodeInner>,
    accept: JoinSet<()>,
}

impl Node {
    /// Binds the endpoint (loopback + our relay only: no n0 relays, no DNS/pkarr discovery).
    pub async fn start(config: NodeConfig) -> Result<Node, RoomError> {
        std::fs::create_dir_all(&config.data_dir)?;
        let key = crate::identity::load_or_create(&config.data_dir)?;
        let store = Store::open(&config.data_dir.join("rooms.sled"))?;
        let relay: Option<RelayUrl> = match &config.relay_url {
            Some(u) => Some(u.parse().map_err(|e| RoomError::Net(format!("relay url {u:?}: {e}")))?),
            None => None,
        };
        let endpoint = bind_endpoint_trusting(
            key.clone(),
            vec![ALPN.to_vec()],
            relay.as_ref(),
            config.relay_token.as_deref(),
            config.direct.then_some(config.bind),
            config.relay_ca.as_deref(),
        )
        .await?;
        let inner = Arc::new(NodeInner {
            endpoint,
            key,
            store,
            rooms: Mutex::new(HashMap::new()),
            relay,
        });
        let mut accept = JoinSet::new();
        accept.spawn(accept_loop(inner.clone()));
        Ok(Node { inner, accept })
    }

    pub fn id(&self) -> String {
        key_hex(&self.inner.key.public())
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// How others reach this node.
    pub fn addr(&self) -> PeerAddr {
        own_addr(&self.inner)
    }

    /// Creates a room with this node's key as the first interviewer.
    pub fn create_room(&self) -> Result<Room, RoomError> {
        let room = RoomRef {
            id: tandem_shared::invite::to_hex(&rand::random::<[u8; 16]>()),
            creator: key_hex(&self.inner.key.public()),
        };
        self.open(room)
    }

    /// Rooms stored on this node.
    pub fn stored_rooms(&self) -> Result<Vec<RoomRef>, RoomError> {
        self.inner.store.rooms()
    }

    /// Opens a stored room (or a new one) from disk, without needing the network.
    pub fn open(&self, room: RoomRef) -> Result<Room, RoomError> {
        if let Some(r) = lock(&self.inner.rooms).get(&room.id) {
            return Ok(r.clone());
        }
        let rs = self.inner.store.room(&room)?;
        let loaded = rs.load()?;
        let peers = loaded.peers.clone();
        let core = RoomCore::open(self.inner.key.clone(), room.clone(), Some(rs), Some(loaded))?;
        let r = Room::new(self.inner.clone(), core);
        // Peers from disk are dialled like gossiped ones (bounded), not all at once.
        for p in peers {
            r.add_known(p, false);
        }
        lock(&self.inner.rooms).insert(room.id.clone(), r.clone());
        r.start();
        Ok(r)
    }

    /// Joins a room with an invite: verifies it locally (clear error for a forged or expired
    /// invite), records a signed join, dials the invite's peer and waits to be admitted.
    pub async fn join(&self, invite: &Invite, timeout: Duration) -> Result<Room, RoomError> {
        self.join_via(invite, invite.body.peer.clone(), timeout).await
    }

    /// [`Node::join`], dialling `peer` (the invite's peer reached another way, e.g. only
    /// through this node's relay) instead of the invite's address as given.
    pub async fn join_via(&self, invite: &Invite, peer: PeerAddr, timeout: Duration) -> Result<Room, RoomError> {
        crate::policy::verify_invite_signature(invite)?;
        if invite.body.expires_at.saturating_mul(1000) < now_ms() {
            return Err(RoomError::InviteRefused(format!(
                "the invite expired at {} (unix seconds)",
                invite.body.expires_at
            )));
        }
        let room = self.open(invite.body.room.clone())?;
        let already = room.with_core(|c| c.policy().is_member(c.me()));
        if !already {
            room.with_core(|c| c.join_with(invite));
        }
        room.add_known(peer, true);
        room.wait_admitted(timeout).await?;
        Ok(room)
    }

    pub fn room(&self, id: &str) -> Option<Room> {
        lock(&self.inner.rooms).get(id).cloned()
    }

    /// Closes every room and the endpoint.
    pub async fn shutdown(mut self) {
        let rooms: Vec<Room> = lock(&self.inner.rooms).drain().map(|(_, r)| r).collect();
        for r in rooms {
            r.close();
        }
        self.accept.abort_all();
        self.inner.endpoint.close().await;
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        // Drain, not just close: each Room holds the NodeInner, so rooms left in the map would
        // keep the endpoint and the sled lock alive after the Node is gone.
        let rooms: Vec<Room> = lock(&self.inner.rooms).drain().map(|(_, r)| r).collect();
        for r in rooms {
            r.close();
        }
    }
}

/// Binds an iroh endpoint the way every Tandem endpoint is bound (room peers and the execution
/// node alike): our relay only (no n0 relays, no DNS/pkarr discovery), direct paths on `bind`
/// when given. With a relay, waits (bounded) until it is connected so our address includes it.
pub async fn bind_endpoint(
    key: SecretKey,
    alpns: Vec<Vec<u8>>,
    relay: Option<&RelayUrl>,
    relay_token: Option<&str>,
    bind: Option<SocketAddr>,
) -> Result<Endpoint, RoomError> {
    bind_endpoint_trusting(key, alpns, relay, relay_token, bind, None).await
}

/// [`bind_endpoint`], trusting only the certificate(s) in `relay_ca` for the relay's TLS (a relay
/// in `--self-signed` mode).
pub async fn bind_endpoint_trusting(
    key: SecretKey,
    alpns: Vec<Vec<u8>>,
    relay: Option<&RelayUrl>,
    relay_token: Option<&str>,
    bind: Option<SocketAddr>,
    relay_ca: Option<&std::path::Path>,
) -> Result<Endpoint, RoomError> {
    let mut builder = Endpoint::builder(presets::Minimal)
        .secret_key(key)
        .alpns(alpns)
        .clear_ip_transports();
    if let Some(bind) = bind {
        builder = builder.bind_addr(bind).map_err(|e| RoomError::Net(e.to_string()))?;
    }
    if let Some(path) = relay_ca {
        builder = builder.ca_tls_config(relay_roots(path)?);
    }
    builder = match relay {
        Some(url) => {
            // No QUIC address discovery port: our relay serves HTTP(S) only.
            let mut rc = RelayConfig::new(url.clone(), None);
            if let Some(t) = relay_token {
                rc = rc.with_auth_token(t.to_string());
            }
            builder.relay_mode(RelayMode::Custom(RelayMap::from_iter([rc])))
        }
        None => builder.relay_mode(RelayMode::Disabled),
    };
    let endpoint = builder.bind().await.map_err(|e| RoomError::Net(e.to_string()))?;
    if relay.is_some()
        && tokio::time::timeout(Duration::from_secs(15), endpoint.online())
            .await
            .is_err()
    {
        tracing::warn!("relay not reachable yet; continuing");
    }
    Ok(endpoint)
}

/// The address an endpoint is reachable at, in the form invites and tickets carry.
pub fn endpoint_peer_addr(endpoint: &Endpoint, relay: Option<&RelayUrl>) -> PeerAddr {
    let a = endpoint.addr();
    let mut r = a.relay_urls().next().map(|u| u.to_string());
    if r.is_none() {
        r = relay.map(|u| u.to_string());
    }
    PeerAddr {
        id: key_hex(&a.id),
        relay: r,
        addrs: a.ip_addrs().map(|s| s.to_string()).collect(),
    }
}

fn own_addr(inner: &NodeInner) -> PeerAddr {
    endpoint_peer_addr(&inner.endpoint, inner.relay.as_ref())
}

pub(crate) fn to_endpoint_addr(p: &PeerAddr) -> Result<EndpointAddr, RoomError> {
    let id = parse_key(&p.id)?;
    let mut addrs = Vec::new();
    if let Some(r) = &p.relay {
        if let Ok(u) = r.parse::<RelayUrl>() {
            addrs.push(TransportAddr::Relay(u));
        }
    }
    for a in &p.addrs {
        if let Ok(s) = a.parse::<SocketAddr>() {
            addrs.push(TransportAddr::Ip(s));
        }
    }
    Ok(EndpointAddr::from_parts(id, addrs))
}

async fn accept_loop(inner: Arc<NodeInner>) {
    let endpoint = inner.endpoint.clone();
    crate::accept::serve_connections(&endpoint, "room", move |conn| handle_incoming(inner.clone(), conn)).await;
}

/// Reads the dialer's hello to learn which room it wants, then runs the session in that room.
async fn handle_incoming(inner: Arc<NodeInner>, conn: Connection) -> Result<(), RoomError> {
    let (mut send, mut recv) = tokio::time::timeout(HELLO_TIMEOUT, conn.accept_bi())
        .await
        .map_err(|_| RoomError::Net("no stream opened".into()))?
        .map_err(|e| RoomError::Net(e.to_string()))?;
    let hello = match tokio::time::timeout(HELLO_TIMEOUT, read_frame(&mut recv)).await {
        Ok(Ok(Some(Read::Frame(Frame::Control(Control::Hello(h)))))) => h,
        Ok(Ok(Some(Read::Bad(e)))) => {
            let _ = write_frame(&mut send, &Frame::error(e.code(), e.to_string(), true)).await;
            return finish(conn, send).await;
        }
        Ok(Err(RoomError::Protocol(e))) => {
            let _ = write_frame(&mut send, &Frame::error(e.code(), e.to_string(), true)).await;
            return finish(conn, send).await;
        }
        Ok(Ok(Some(Read::Frame(_)))) => {
            let _ = write_frame(
                &mut send,
                &Frame::error(ErrorCode::Malformed, "the first frame must be a hello", true),
            )
            .await;
            return finish(conn, send).await;
        }
        _ => return Ok(()),
    };
    let room = lock(&inner.rooms).get(&hello.room.id).cloned();
    let Some(room) = room.filter(|r| r.is_online() && *r.room_ref() == hello.room) else {
        let _ = write_frame(
            &mut send,
            &Frame::error(ErrorCode::UnknownRoom, "this peer does not serve that room", true),
        )
        .await;
        return finish(conn, send).await;
    };
    room.clone().session(conn, send, recv, Some(hello)).await
}

async fn finish(conn: Connection, mut send: SendStream) -> Result<(), RoomError> {
    let _ = send.finish();
    // Give the peer a moment to read the error before the connection goes away.
    let _ = tokio::time::timeout(Duration::from_secs(2), conn.closed()).await;
    conn.close(0u32.into(), b"bye");
    Ok(())
}

struct Link {
    remote: String,
    tx: mpsc::Sender<Arc<Vec<u8>>>,
    /// The peer's session-record heads as last heard (or sent to it); `None` until its first
    /// record frame, so nothing is sent blindly.
    record_heads: Option<Vec<[u8; 32]>>,
    /// Sync state of the interviewers' private record (used only when both ends are interviewers).
    private_state: automerge::sync::State,
    conn: Connection,
}

struct Known {
    addr: PeerAddr,
    explicit: bool,
    next_try: Instant,
    failures: u32,
    dialing: bool,
}

pub(crate) struct State {
    pub(crate) core: RoomCore,
    links: HashMap<u64, Link>,
    known: HashMap<String, Known>,
    /// Errors other peers sent us (newest last), e.g. why a join was refused.
    errors: Vec<(ErrorCode, String)>,
    online: bool,
    /// Frames refused from peers, by kind of refusal (for tests and debugging).
    refused: u64,
    /// Local updates applied but not yet signed and sent (see [`Room::flush_local`]).
    outbox: Vec<Vec<u8>>,
    /// [`Room::close`] was called (local clients then end).
    closed: bool,
    /// Our relay's URL: the only relay a gossiped address may name (see [`add_known`]).
    relay: Option<String>,
}

pub(crate) struct RoomInner {
    node: Arc<NodeInner>,
    room: RoomRef,
    pub(crate) state: Mutex<State>,
    /// Yjs clients in this process's care (`Room::attach_local`).
    pub(crate) locals: crate::local::LocalHub,
    changed: watch::Sender<u64>,
    next_link: AtomicU64,
    tasks: Mutex<JoinSet<()>>,
    /// Wakes the task that signs and sends local edits.
    outbox_ready: tokio::sync::Notify,
    runs: crate::runs::Runs,
}

/// A room open on this node. Cloning is cheap; [`Room::close`] stops its tasks.
#[derive(Clone)]
pub struct Room {
    pub(crate) inner: Arc<RoomInner>,
}

/// A connected peer, for display.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeerInfo {
    pub id: String,
    pub role: Option<Role>,
    pub can_edit: bool,
}

impl Room {
    fn new(node: Arc<NodeInner>, core: RoomCore) -> Room {
        let room = core.room().clone();
        let relay = node.relay.as_ref().map(|r| r.to_string());
        let (changed, _) = watch::channel(0);
        Room {
            inner: Arc::new(RoomInner {
                node,
                room,
                state: Mutex::new(State {
                    core,
                    links: HashMap::new(),
                    known: HashMap::new(),
                    errors: Vec::new(),
                    online: true,
                    refused: 0,
                    outbox: Vec::new(),
                    closed: false,
                    relay,
                }),
                locals: crate::local::LocalHub::default(),
                changed,
                next_link: AtomicU64::new(1),
                tasks: Mutex::new(JoinSet::new()),
                outbox_ready: tokio::sync::Notify::new(),
                runs: crate::runs::Runs::default(),
            }),
        }
    }

    fn start(&self) {
        let me = self.clone();
        lock(&self.inner.tasks).spawn(async move { me.maintain().await });
        let me = self.clone();
        lock(&self.inner.tasks).spawn(async move { me.flush_local().await });
        let me = self.clone();
        lock(&self.inner.tasks).spawn(async move { crate::runs::supervise(me).await });
        let me = self.clone();
        lock(&self.inner.tasks).spawn(async move { crate::interview::keep_lock(me).await });
    }

    /// Signs and sends local edits. A lone keystroke is signed and sent as soon as this task
    /// wakes; keystrokes that arrive while it is signing share the next signature, so a burst
    /// (a paste replayed as keystrokes, a fast script) costs one signature per batch instead of
    /// one per keystroke. Signing runs outside the room's lock.
    async fn flush_local(self) {
        loop {
            self.inner.outbox_ready.notified().await;
            loop {
                let updates = std::mem::take(&mut lock(&self.inner.state).outbox);
                if updates.is_empty() {
                    break;
                }
                // Signing is pure CPU: done outside the room's lock.
                let (frames, _unsent) = crate::core::sign_frames(&self.inner.node.key, &self.inner.room, &updates);
                let mut st = lock(&self.inner.state);
                for (signed, bytes) in frames {
                    st.core.log_own(signed);
                    broadcast(&mut st, &Arc::new(bytes), None);
                }
            }
        }
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.inner.node.endpoint
    }

    pub(crate) fn runs_state(&self) -> &crate::runs::Runs {
        &self.inner.runs
    }

    /// A change made directly on the code document (roots other than files, e.g. the problem
    /// statement and the `meta` map; `f` returns its lib0 v1 update), applied, stored, signed
    /// and sent like this peer's keystrokes. Needs the edit right.
    pub(crate) fn change_doc(&self, f: impl FnOnce(&yrs::Doc) -> Vec<u8>) -> Result<(), RoomError> {
        let mut st = lock(&self.inner.state);
        if !st.core.policy().may_edit(st.core.me()) {
            return Err(RoomError::Forbidden(
                "you do not have the edit right in this room".into(),
            ));
        }
        let update = f(st.core.code().doc());
        st.core.apply_own_update(&update)?;
        self.queue_own(&mut st, update);
        drop(st);
        self.notify();
        Ok(())
    }

    pub(crate) fn notify_changed(&self) {
        self.notify();
    }

    /// Stops every task of the room (sessions, dials, maintenance).
    pub fn close(&self) {
        lock(&self.inner.tasks).abort_all();
        self.inner.locals.close();
        let mut st = lock(&self.inner.state);
        st.closed = true;
        for (_, l) in st.links.drain() {
            l.conn.close(0u32.into(), b"closed");
        }
        drop(st);
        self.notify();
    }

    pub fn room_ref(&self) -> &RoomRef {
        &self.inner.room
    }

    pub fn id(&self) -> &str {
        &self.inner.room.id
    }

    pub(crate) fn notify(&self) {
        self.inner.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A receiver that changes whenever anything in the room does.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// Runs `f` on the room state.
    pub fn with_core<T>(&self, f: impl FnOnce(&mut RoomCore) -> T) -> T {
        let mut st = lock(&self.inner.state);
        f(&mut st.core)
    }

    pub fn text(&self, file: &str) -> String {
        self.with_core(|c| c.code().text(file))
    }

    pub fn files(&self) -> Vec<String> {
        self.with_core(|c| c.code().files())
    }

    pub fn presence(&self) -> Vec<(u64, Presence)> {
        self.with_core(|c| c.presence())
    }

    pub fn members(&self) -> Vec<Member> {
        self.with_core(|c| c.policy().members())
    }

    pub fn state_vector(&self) -> Vec<u8> {
        self.with_core(|c| c.code().state_vector())
    }

    pub fn refused_count(&self) -> u64 {
        lock(&self.inner.state).refused
    }

    pub fn errors(&self) -> Vec<(ErrorCode, String)> {
        lock(&self.inner.state).errors.clone()
    }

    /// Connected peers.
    pub fn peers(&self) -> Vec<PeerInfo> {
        let st = lock(&self.inner.state);
        let mut ids: Vec<String> = st.links.values().map(|l| l.remote.clone()).collect();
        ids.sort();
        ids.dedup();
        ids.into_iter()
            .map(|id| {
                let m = st.core.policy().member(&id);
                PeerInfo {
                    role: m.map(|m| m.role),
                    can_edit: m.is_some_and(|m| m.may_edit()),
                    id,
                }
            })
            .collect()
    }

    /// The addresses this peer remembers and dials (for diagnostics and tests).
    pub fn known_peers(&self) -> Vec<PeerAddr> {
        let st = lock(&self.inner.state);
        let mut out: Vec<PeerAddr> = st.known.values().map(|k| k.addr.clone()).collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }

    pub fn is_online(&self) -> bool {
        lock(&self.inner.state).online
    }

    /// Going offline drops every connection and stops dialing; edits keep working locally and
    /// are exchanged by state vector when going online again.
    pub fn set_online(&self, online: bool) {
        let mut st = lock(&self.inner.state);
        st.online = online;
        if !online {
            for (_, l) in st.links.drain() {
                l.conn.close(0u32.into(), b"offline");
            }
        }
        for k in st.known.values_mut() {
            k.next_try = Instant::now();
            k.failures = 0;
        }
        drop(st);
        self.notify();
    }

    /// Applies a local edit; it is signed and sent to every peer right after (see
    /// `flush_local`).
    pub fn edit(&self, edit: Edit, force: bool) -> Result<(), RoomError> {
        let mut st = lock(&self.inner.state);
        let u = st.core.apply_local(&edit, force)?;
        self.queue_own(&mut st, u);
        drop(st);
        self.notify();
        Ok(())
    }

    /// Queues an applied local update for `flush_local` to sign and send.
    pub(crate) fn queue_own(&self, st: &mut State, update: Vec<u8>) {
        st.outbox.push(update);
        self.inner.outbox_ready.notify_one();
    }

    pub fn insert(&self, file: &str, index: u32, text: &str) -> Result<(), RoomError> {
        self.edit(
            Edit::Insert {
                file: file.into(),
                index,
                text: text.into(),
            },
            false,
        )
    }

    pub fn delete(&self, file: &str, index: u32, len: u32) -> Result<(), RoomError> {
        self.edit(
            Edit::Delete {
                file: file.into(),
                index,
                len,
            },
            false,
        )
    }

    /// Publishes this peer's presence.
    pub fn set_presence(&self, p: &Presence) -> Result<(), RoomError> {
        let mut st = lock(&self.inner.state);
        let msg = st.core.set_presence(p)?;
        let bytes = Arc::new(Frame::YSync(msg).encode()?);
        broadcast(&mut st, &bytes, None);
        drop(st);
        self.notify();
        Ok(())
    }

    /// Changes the session record and syncs it.
    pub fn change_record(
        &self,
        f: impl FnOnce(&mut SessionRecord) -> Result<(), tandem_shared::room::RoomModelError>,
    ) -> Result<(), RoomError> {
        let mut st = lock(&self.inner.state);
        st.core.change_record(f)?;
        sync_record_to_all(&mut st, None);
        drop(st);
        self.notify();
        Ok(())
    }

    /// Runs a change on the room's core, then syncs the session record and the private record
    /// to the peers that get them (see `interview.rs`).
    pub(crate) fn change_core<T>(&self, f: impl FnOnce(&mut RoomCore) -> Result<T, RoomError>) -> Result<T, RoomError> {
        let mut st = lock(&self.inner.state);
        let out = f(&mut st.core)?;
        sync_record_to_all(&mut st, None);
        sync_private_to_all(&mut st, None);
        drop(st);
        self.notify();
        Ok(out)
    }

    pub fn record<T>(&self, f: impl FnOnce(&SessionRecord) -> T) -> T {
        self.with_core(|c| f(c.record()))
    }

    /// Issues an invite naming this node as the peer to contact.
    pub fn invite(&self, role: Role, can_edit: bool, ttl_secs: u64) -> Result<Invite, RoomError> {
        let addr = own_addr(&self.inner.node);
        self.with_core(|c| c.invite(role, can_edit, ttl_secs, addr))
    }

    /// Applies a statement this peer made and sends it to everyone.
    fn publish(&self, s: SignedStatement) {
        let mut st = lock(&self.inner.state);
        if let Ok(bytes) = Frame::Control(Control::Policy { statements: vec![s] }).encode() {
            broadcast(&mut st, &Arc::new(bytes), None);
        }
        if let Some(snap) = st.core.take_fresh_snapshot() {
            match Frame::Snapshot(snap).encode() {
                Ok(bytes) => broadcast(&mut st, &Arc::new(bytes), None),
                Err(e) => tracing::warn!(error = %e, "a snapshot too large for one frame is not sent"),
            }
        }
        enforce_membership(&mut st);
        drop(st);
        self.notify();
    }

    pub fn set_role(&self, member: &str, role: Role, can_edit: bool) -> Result<(), RoomError> {
        let s = self.with_core(|c| c.set_role(member, role, can_edit))?;
        self.publish(s);
        Ok(())
    }

    /// Removes a member and revokes the invite it joined with (see [`RoomCore::revoke`]).
    pub fn revoke(&self, member: &str) -> Result<(), RoomError> {
        for s in self.with_core(|c| c.revoke(member))? {
            self.publish(s);
        }
        Ok(())
    }

    pub fn revoke_invite(&self, nonce: &str) -> Result<(), RoomError> {
        let s = self.with_core(|c| c.revoke_invite(nonce))?;
        self.publish(s);
        Ok(())
    }

    /// Remembers how to reach a peer; `explicit` addresses are dialled whatever the id order.
    pub fn add_known(&self, addr: PeerAddr, explicit: bool) {
        let mut st = lock(&self.inner.state);
        add_known(&mut st, addr, explicit);
    }

    /// Dials a peer now (also remembered for redials).
    pub fn connect(&self, addr: PeerAddr) {
        self.add_known(addr, true);
    }

    /// Waits until this peer is a member connected to at least one other member, or until a
    /// peer refused us (returns its reason).
    pub async fn wait_admitted(&self, timeout: Duration) -> Result<(), RoomError> {
        let mut rx = self.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            {
                let st = lock(&self.inner.state);
                if !st.links.is_empty() && st.core.policy().is_member(st.core.me()) {
                    return Ok(());
                }
                if let Some((code, msg)) = st.errors.iter().rev().find(|(c, _)| {
                    matches!(
                        c,
                        ErrorCode::NotAMember | ErrorCode::UnknownRoom | ErrorCode::UnsupportedVersion
                    )
                }) {
                    return Err(RoomError::NotAMember(format!("{code:?}: {msg}")));
                }
            }
            if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                return Err(RoomError::Net("timed out waiting to be admitted".into()));
            }
        }
    }

    async fn maintain(self) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_renew = Instant::now();
        let mut last_expire = Instant::now();
        let mut saved_peers: Vec<PeerAddr> = Vec::new();
        loop {
            tick.tick().await;
            let mut to_dial = Vec::new();
            {
                let mut st = lock(&self.inner.state);
                let me = st.core.me().to_string();
                let online = st.online;
                let connected: Vec<String> = st.links.values().map(|l| l.remote.clone()).collect();
                let now = Instant::now();
                if online {
                    let mut budget = MESH_DEGREE.saturating_sub(connected.len());
                    for (id, k) in st.known.iter_mut() {
                        if *id == me || k.dialing || connected.contains(id) || now < k.next_try {
                            continue;
                        }
                        if k.explicit || ((me < *id || connected.is_empty()) && budget > 0) {
                            budget = budget.saturating_sub(1);
                            k.dialing = true;
                            to_dial.push(k.addr.clone());
                        }
                    }
                }
                if last_expire.elapsed() > Duration::from_secs(5) {
                    last_expire = Instant::now();
                    st.core.expire_presence();
                }
                if last_renew.elapsed() > Duration::from_millis(tandem_shared::room::PRESENCE_RENEW_MS) {
                    last_renew = Instant::now();
                    if let Some(msg) = st.core.renew_presence() {
                        if let Ok(b) = Frame::YSync(msg).encode() {
                            broadcast(&mut st, &Arc::new(b), None);
                        }
                    }
                }
                let mut peers: Vec<PeerAddr> = st.known.values().map(|k| k.addr.clone()).collect();
                peers.sort_by(|a, b| a.id.cmp(&b.id));
                if peers != saved_peers {
                    st.core.persist_peers(&peers);
                    saved_peers = peers;
                }
            }
            for addr in to_dial {
                let me = self.clone();
                lock(&self.inner.tasks).spawn(async move { me.dial(addr).await });
            }
            // Reap finished tasks so the set does not grow.
            let mut tasks = lock(&self.inner.tasks);
            while tasks.try_join_next().is_some() {}
        }
    }

    async fn dial(self, addr: PeerAddr) {
        let id = addr.id.clone();
        let result = async {
            let ea = to_endpoint_addr(&addr)?;
            let conn = tokio::time::timeout(DIAL_TIMEOUT, self.inner.node.endpoint.connect(ea, ALPN))
                .await
                .map_err(|_| RoomError::Net("dial timed out".into()))?
                .map_err(|e| RoomError::Net(e.to_string()))?;
            let (send, recv) = conn.open_bi().await.map_err(|e| RoomError::Net(e.to_string()))?;
            self.clone().session(conn, send, recv, None).await
        }
        .await;
        let mut st = lock(&self.inner.state);
        if let Some(k) = st.known.get_mut(&id) {
            k.dialing = false;
            match &result {
                Ok(()) => k.failures = 0,
                Err(_) => k.failures = k.failures.saturating_add(1),
            }
            let backoff = Duration::from_millis(200u64.saturating_mul(1 << k.failures.min(5))).min(MAX_BACKOFF);
            k.next_try = Instant::now() + backoff;
        }
        if let Err(e) = result {
            tracing::debug!(peer = short(&id), error = %e, "session ended");
        }
    }

    fn hello(&self) -> Frame {
        let statements = self.with_core(|c| c.hello_statements());
        Frame::Control(Control::Hello(Hello {
            room: self.inner.room.clone(),
            statements,
            addr: own_addr(&self.inner.node),
        }))
    }

    /// One connection with one peer, from hello to close. `their_hello` is set when we accepted
    /// (the accept loop already read it); when we dialled, we send ours first.
    async fn session(
        self,
        conn: Connection,
        mut send: SendStream,
        mut recv: RecvStream,
        their_hello: Option<Hello>,
    ) -> Result<(), RoomError> {
        let remote = key_hex(&conn.remote_id());
        let dialer = their_hello.is_none();
        if dialer {
            write_frame(&mut send, &self.hello()).await?;
        }
        let hello = match their_hello {
            Some(h) => h,
            None => match tokio::time::timeout(HELLO_TIMEOUT, read_frame(&mut recv)).await {
                Ok(Ok(Some(Read::Frame(Frame::Control(Control::Hello(h)))))) => h,
                Ok(Ok(Some(Read::Frame(Frame::Control(Control::Error { code, message, .. }))))) => {
                    self.record_error(code, format!("{} refused us: {message}", short(&remote)));
                    return Err(RoomError::NotAMember(message));
                }
                other => return Err(RoomError::Net(format!("no hello from {}: {other:?}", short(&remote)))),
            },
        };
        if hello.room != self.inner.room || hello.addr.id != remote {
            let _ = write_frame(
                &mut send,
                &Frame::error(ErrorCode::UnknownRoom, "hello names another room or peer", true),
            )
            .await;
            return finish(conn, send).await;
        }
        // Admission, cheapest checks first and the expensive merge outside the room's lock.
        let admitted = admit_hello(&self.inner, &remote, &hello);
        let admitted = admitted.and_then(|()| {
            let mut st = lock(&self.inner.state);
            let (added, _) = st.core.add_statements(hello.statements.clone());
            if !added.is_empty() {
                if let Ok(b) = Frame::Control(Control::Policy { statements: added }).encode() {
                    broadcast(&mut st, &Arc::new(b), None);
                }
                enforce_membership(&mut st);
            }
            Ok(())
        });
        if admitted.is_err() {
            lock(&self.inner.state).refused += 1;
        }
        if let Err(e) = admitted {
            tracing::info!(peer = short(&remote), reason = %e, "refused a peer");
            let _ = write_frame(&mut send, &Frame::error(ErrorCode::NotAMember, e.to_string(), true)).await;
            return finish(conn, send).await;
        }
        if !dialer {
            write_frame(&mut send, &self.hello()).await?;
        }
        // Register the link and queue the initial sync.
        let (tx, mut rx) = mpsc::channel::<Arc<Vec<u8>>>(LINK_QUEUE);
        let link_id = self.inner.next_link.fetch_add(1, Ordering::Relaxed);
        {
            let mut st = lock(&self.inner.state);
            if !st.online {
                return Ok(());
            }
            add_known(&mut st, hello.addr.clone(), false);
            let mut initial = vec![Frame::YSync(st.core.sync_step1())];
            if let Ok(a) = st.core.awareness_message() {
                initial.push(Frame::YSync(a));
            }
            initial.push(Frame::Record(RecordSync {
                heads: st.core.record_heads(),
                changes: Vec::new(),
            }));
            let peers: Vec<PeerAddr> = st
                .known
                .values()
                .map(|k| k.addr.clone())
                .filter(|a| a.id != remote)
                .collect();
            initial.push(Frame::Control(Control::Peers { peers }));
            // Tell the others about the newcomer so the mesh forms.
            if let Ok(b) = Frame::Control(Control::Peers {
                peers: vec![hello.addr.clone()],
            })
            .encode()
            {
                broadcast(&mut st, &Arc::new(b), None);
            }
            for f in initial {
                if let Ok(b) = f.encode() {
                    let _ = tx.try_send(Arc::new(b));
                }
            }
            st.links.insert(
                link_id,
                Link {
                    remote: remote.clone(),
                    tx,
                    record_heads: None,
                    private_state: automerge::sync::State::new(),
                    conn: conn.clone(),
                },
            );
            sync_private_to_all(&mut st, None);
        }
        self.notify();
        tracing::debug!(peer = short(&remote), "connected");

        let writer = async {
            while let Some(bytes) = rx.recv().await {
                write_raw(&mut send, &bytes).await?;
            }
            Ok::<(), RoomError>(())
        };
        let reader = self.read_loop(link_id, &remote, &mut recv);
        let result = tokio::select! {
            r = writer => r,
            r = reader => r,
        };
        let mut st = lock(&self.inner.state);
        st.links.remove(&link_id);
        drop(st);
        self.notify();
        conn.close(0u32.into(), b"bye");
        result
    }

    /// Catch-up updates, each checked on its own (a refused one does not stop the others) and
    /// under the room's lock for that one only: a frame of tens of thousands of entries (each a
    /// signature to verify) must not hold the room still for seconds.
    fn receive_catch_up(&self, updates: &[SignedUpdate]) -> Result<(), RoomError> {
        let mut first_error = None;
        for u in updates {
            if let Err(e) = lock(&self.inner.state).core.receive_update(u) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn record_error(&self, code: ErrorCode, message: String) {
        let mut st = lock(&self.inner.state);
        st.errors.push((code, message));
        if st.errors.len() > 100 {
            st.errors.remove(0);
        }
        drop(st);
        self.notify();
    }

    fn reply(&self, link_id: u64, frame: Frame) {
        let mut st = lock(&self.inner.state);
        if let (Some(l), Ok(b)) = (st.links.get(&link_id), frame.encode()) {
            if l.tx.try_send(Arc::new(b)).is_err() {
                drop_link(&mut st, link_id);
            }
        }
    }

    async fn read_loop(&self, link_id: u64, remote: &str, recv: &mut RecvStream) -> Result<(), RoomError> {
        loop {
            let read = match read_frame(recv).await {
                Ok(Some(r)) => r,
                Ok(None) => return Ok(()),
                Err(RoomError::Protocol(e)) => {
                    // Oversized: we cannot skip the body, so say why and close.
                    lock(&self.inner.state).refused += 1;
                    self.reply(link_id, Frame::error(e.code(), e.to_string(), true));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    return Err(RoomError::Protocol(e));
                }
                Err(e) => return Err(e),
            };
            let frame = match read {
                Read::Frame(f) => f,
                Read::Bad(e) => {
                    tracing::info!(peer = short(remote), error = %e, "refused a frame");
                    lock(&self.inner.state).refused += 1;
                    self.reply(link_id, Frame::error(e.code(), e.to_string(), false));
                    continue;
                }
            };
            dump_received(&frame);
            if let Err(e) = self.handle(link_id, remote, frame) {
                tracing::info!(peer = short(remote), error = %e, "refused a message");
                let code = match e {
                    RoomError::Forbidden(_) => ErrorCode::Forbidden,
                    RoomError::NotAMember(_) => ErrorCode::NotAMember,
                    _ => ErrorCode::Malformed,
                };
                lock(&self.inner.state).refused += 1;
                self.reply(link_id, Frame::error(code, e.to_string(), false));
            }
            self.notify();
            if !lock(&self.inner.state).links.contains_key(&link_id) {
                return Ok(()); // dropped (revoked, too slow, offline)
            }
        }
    }

    fn handle(&self, link_id: u64, remote: &str, frame: Frame) -> Result<(), RoomError> {
        let frame = match frame {
            Frame::CatchUp(updates) => return self.receive_catch_up(&updates),
            other => other,
        };
        let mut st = lock(&self.inner.state);
        let st = &mut *st;
        match frame {
            Frame::Update(u) => {
                if st.core.receive_update(&u)? {
                    // Not back to where it came from, nor to its author.
                    let author = tandem_shared::invite::to_hex(&u.author);
                    let bytes = Arc::new(Frame::Update(u).encode()?);
                    let skip: Vec<u64> = st
                        .links
                        .iter()
                        .filter(|(id, l)| **id == link_id || l.remote == author)
                        .map(|(id, _)| *id)
                        .collect();
                    broadcast_except(st, &bytes, &skip);
                }
            }
            Frame::YSync(bytes) => match st.core.receive_ysync(remote, &bytes)? {
                SyncOutcome::Reply(msg) => send_to(st, link_id, Frame::YSync(msg)),
                SyncOutcome::CatchUp { snapshots, updates } => {
                    for s in snapshots {
                        send_to(st, link_id, Frame::Snapshot(s));
                    }
                    for frame in catch_up_frames(updates) {
                        send_to(st, link_id, frame);
                    }
                }
                SyncOutcome::ForwardAwareness => broadcast(st, &Arc::new(Frame::YSync(bytes).encode()?), Some(link_id)),
                SyncOutcome::Nothing => {}
            },
            Frame::Snapshot(u) => {
                st.core.receive_snapshot(&u)?;
            }
            Frame::CatchUp(_) => {} // handled above, outside one long hold of the lock
            Frame::Record(sync) => {
                let result = st.core.receive_record(&sync);
                if let Some(link) = st.links.get_mut(&link_id) {
                    link.record_heads = Some(sync.heads);
                }
                // Whatever was refused, answer with what the peer lacks.
                sync_record_to(st, link_id);
                if result? {
                    sync_record_to_all(st, Some(link_id));
                }
            }
            Frame::Private(bytes) => {
                let Some(link) = st.links.get_mut(&link_id) else {
                    return Ok(());
                };
                // Refused (and never answered) unless both ends are interviewers.
                if !st.core.shares_private_with(remote) {
                    return Err(RoomError::Forbidden(
                        "private notes are exchanged between interviewers only".into(),
                    ));
                }
                let mut state = std::mem::take(&mut link.private_state);
                let result = st.core.receive_private_sync(remote, &mut state, &bytes);
                let reply = st.core.private_sync_message(&mut state);
                if let Some(link) = st.links.get_mut(&link_id) {
                    link.private_state = state;
                }
                if let Some(m) = reply {
                    send_to(st, link_id, Frame::Private(m));
                }
                if result? {
                    sync_private_to_all(st, Some(link_id));
                }
            }
            Frame::Control(Control::Policy { statements }) => {
                let (added, errors) = st.core.add_statements(statements);
                if !added.is_empty() {
                    broadcast(
                        st,
                        &Arc::new(Frame::Control(Control::Policy { statements: added }).encode()?),
                        Some(link_id),
                    );
                    enforce_membership(st);
                }
                if let Some(e) = errors.into_iter().next() {
                    return Err(e);
                }
            }
            Frame::Control(Control::Peers { peers }) => {
                for p in peers.into_iter().take(256) {
                    add_known(st, p, false);
                }
            }
            Frame::Control(Control::Error { code, message, fatal }) => {
                tracing::info!(peer = short(remote), ?code, %message, "peer reported an error");
                st.errors.push((code, message));
                if st.errors.len() > 100 {
                    st.errors.remove(0);
                }
                if fatal {
                    drop_link(st, link_id);
                }
            }
            Frame::Control(Control::Hello(_)) => {}
        }
        Ok(())
    }
}

/// Decides whether a peer's hello admits it: a hello may not carry more statements than a room
/// holds; a peer that is not a member yet must present its own join with an invite valid now
/// (checked before anything else is verified); then everything it sent is merged into a copy of
/// the policy, outside the room's lock, and its membership evaluated there.
fn admit_hello(inner: &RoomInner, remote: &str, hello: &Hello) -> Result<(), RoomError> {
    if hello.statements.len() > MAX_STATEMENTS_PER_ROOM {
        return Err(RoomError::NotAMember(format!(
            "the hello carries {} statements; a room holds at most {MAX_STATEMENTS_PER_ROOM}",
            hello.statements.len()
        )));
    }
    let before = lock(&inner.state).core.policy().clone();
    if before.member(remote).is_none() {
        let join = hello.statements.iter().find_map(|s| match &s.statement.body {
            StatementBody::Join { invite } if s.signer == remote => Some(invite),
            _ => None,
        });
        let Some(invite) = join else {
            return Err(RoomError::NotAMember(format!(
                "{} is not a member of this room and presents no join",
                short(remote)
            )));
        };
        before
            .check_invite(invite, now_ms())
            .map_err(|e| RoomError::NotAMember(e.to_string()))?;
    }
    let mut trial = before.clone();
    let _ = trial.merge(hello.statements.iter().cloned());
    trial.admit(remote, &before, now_ms()).map(|_| ())
}

/// With `TANDEM_DUMP_RECEIVED=FILE`, every frame received from a peer is appended to FILE
/// (length-prefixed, as on the wire, after QUIC decryption). Tests use it to prove what a peer
/// never receives (e.g. the interviewers' private notes on a candidate's peer). Only in debug
/// builds (what the tests run): a release build never writes room traffic to disk, and when the
/// variable is unset nothing is encoded.
#[cfg(debug_assertions)]
fn dump_received(frame: &Frame) {
    static DUMP: std::sync::OnceLock<Option<Mutex<std::fs::File>>> = std::sync::OnceLock::new();
    let dump = DUMP.get_or_init(|| {
        let path = std::env::var_os("TANDEM_DUMP_RECEIVED")?;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path).ok()?;
        Some(Mutex::new(file))
    });
    let Some(file) = dump else { return };
    if let Ok(bytes) = frame.encode() {
        use std::io::Write;
        let _ = lock(file).write_all(&bytes);
    }
}

#[cfg(not(debug_assertions))]
fn dump_received(_: &Frame) {}

/// Packs signed updates into catch-up frames of at most half the frame limit each (an update
/// too large for one frame went out as its own live frame and is offered alone).
fn catch_up_frames(updates: Vec<SignedUpdate>) -> Vec<Frame> {
    const BUDGET: usize = tandem_shared::protocol::MAX_FRAME_LEN as usize / 2;
    let mut frames = Vec::new();
    let mut batch = Vec::new();
    let mut size = 0;
    for u in updates {
        let len = u.update.len() + SignedUpdate::CATCH_UP_OVERHEAD;
        if !batch.is_empty() && size + len > BUDGET {
            frames.push(Frame::CatchUp(std::mem::take(&mut batch)));
            size = 0;
        }
        size += len;
        batch.push(u);
    }
    if !batch.is_empty() {
        frames.push(Frame::CatchUp(batch));
    }
    frames
}

/// Peers this peer remembers and dials, at most (members of the room, so this is never reached
/// in practice; it bounds what gossip can make us keep).
const MAX_KNOWN_PEERS: usize = 256;

/// Remembers how to reach a peer. An `explicit` address (an invite's peer, one given by the
/// user) is taken as it is. A gossiped one only for a member of the room, never beyond
/// [`MAX_KNOWN_PEERS`], and with a relay only if it is ours or an explicit address's: a modified
/// peer cannot make us dial its own relay (which would learn our IP address) or fill memory.
fn add_known(st: &mut State, mut addr: PeerAddr, explicit: bool) {
    if addr.id == st.core.me() || parse_key(&addr.id).is_err() {
        return;
    }
    if !explicit {
        if !st.core.policy().is_member(&addr.id) {
            return;
        }
        let trusted = |r: &String| {
            st.relay.as_ref() == Some(r)
                || st
                    .known
                    .values()
                    .any(|k| k.explicit && k.addr.relay.as_ref() == Some(r))
        };
        if addr.relay.as_ref().is_some_and(|r| !trusted(r)) {
            tracing::debug!(
                peer = short(&addr.id),
                "ignoring a gossiped relay that is not the room's"
            );
            addr.relay = None;
        }
    }
    if !st.known.contains_key(&addr.id) && st.known.len() >= MAX_KNOWN_PEERS {
        return;
    }
    match st.known.get_mut(&addr.id) {
        Some(k) => {
            // Gossip never replaces an address the user or an invite gave.
            if (explicit || !k.explicit) && (addr.relay.is_some() || !addr.addrs.is_empty()) {
                k.addr = addr;
            }
            k.explicit |= explicit;
        }
        None => {
            st.known.insert(
                addr.id.clone(),
                Known {
                    addr,
                    explicit,
                    next_try: Instant::now(),
                    failures: 0,
                    dialing: false,
                },
            );
        }
    }
}

fn send_to(st: &mut State, link_id: u64, frame: Frame) {
    if let (Some(l), Ok(b)) = (st.links.get(&link_id), frame.encode()) {
        if l.tx.try_send(Arc::new(b)).is_err() {
            drop_link(st, link_id);
        }
    }
}

fn drop_link(st: &mut State, link_id: u64) {
    if let Some(l) = st.links.remove(&link_id) {
        l.conn.close(1u32.into(), b"dropped");
    }
}

/// Sends a frame to every link but `except`; a link whose queue is full is dropped.
pub(crate) fn broadcast(st: &mut State, bytes: &Arc<Vec<u8>>, except: Option<u64>) {
    broadcast_except(st, bytes, except.as_slice())
}

fn broadcast_except(st: &mut State, bytes: &Arc<Vec<u8>>, except: &[u64]) {
    let mut slow = Vec::new();
    for (id, l) in &st.links {
        if !except.contains(id) && l.tx.try_send(bytes.clone()).is_err() {
            slow.push(*id);
        }
    }
    for id in slow {
        tracing::warn!("dropping a peer whose queue is full; it will resync on reconnect");
        drop_link(st, id);
    }
}

fn sync_record_to_all(st: &mut State, except: Option<u64>) {
    let ids: Vec<u64> = st.links.keys().copied().filter(|id| Some(*id) != except).collect();
    for id in ids {
        sync_record_to(st, id);
    }
}

/// Sends a link the signed session-record changes its heads do not cover, if any, and from then
/// on counts it as having our heads (a change is not offered twice).
fn sync_record_to(st: &mut State, link_id: u64) {
    let Some(theirs) = st.links.get(&link_id).and_then(|l| l.record_heads.clone()) else {
        return;
    };
    let sync = st.core.record_sync_for(&theirs);
    if sync.changes.is_empty() {
        return;
    }
    if let Some(link) = st.links.get_mut(&link_id) {
        link.record_heads = Some(sync.heads.clone());
    }
    send_to(st, link_id, Frame::Record(sync));
}

/// Offers the private record to every link whose remote is an interviewer (when this peer is
/// one); nobody else is ever sent a private frame.
pub(crate) fn sync_private_to_all(st: &mut State, except: Option<u64>) {
    let ids: Vec<u64> = st
        .links
        .iter()
        .filter(|(id, l)| Some(**id) != except && st.core.shares_private_with(&l.remote))
        .map(|(id, _)| *id)
        .collect();
    for id in ids {
        let Some(link) = st.links.get_mut(&id) else { continue };
        let mut state = std::mem::take(&mut link.private_state);
        let msg = st.core.private_sync_message(&mut state);
        if let Some(link) = st.links.get_mut(&id) {
            link.private_state = state;
        }
        if let Some(m) = msg {
            send_to(st, id, Frame::Private(m));
        }
    }
}

/// After statements changed: closes links to peers that are no longer members (revoked) and
/// syncs the session record (interviewers mirror roles into it).
fn enforce_membership(st: &mut State) {
    sync_record_to_all(st, None);
    sync_private_to_all(st, None);
    let gone: Vec<u64> = st
        .links
        .iter()
        .filter(|(_, l)| !st.core.policy().is_member(&l.remote))
        .map(|(id, _)| *id)
        .collect();
    for id in gone {
        if let Some(l) = st.links.get(&id) {
            if let Ok(b) = Frame::error(ErrorCode::NotAMember, "you were revoked from this room", true).encode() {
                let _ = l.tx.try_send(Arc::new(b));
            }
        }
        drop_link(st, id);
    }
    if !st.core.policy().is_member(st.core.me()) && st.core.policy().member(st.core.me()).is_some() {
        // We were revoked ourselves: stop serving the room.
        st.online = false;
        let ids: Vec<u64> = st.links.keys().copied().collect();
        for id in ids {
            drop_link(st, id);
        }
    }
}
