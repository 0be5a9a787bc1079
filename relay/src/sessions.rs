//! The in-process room peers that stand in for bridged browsers (one per browser member).
//!
//! Each browser session joins the room as a member of its own, with the invite's role: the
//! relay runs a `tandem-room` [`Node`] with a member key for it and attaches the browser to that
//! node's room as a local client. The key is derived from the relay's secret, the room, the
//! invite's nonce and the `client` token the UI keeps in localStorage and passes as a query
//! parameter:
//! - a reload (or a second tab) of the same browser with the same invite is the same member,
//!   reusing the same node and its sled state, and keeps its Yjs client id's claim;
//! - two browsers sharing one invite link are two members (their own names, roles, revocation);
//! - a client without a usable `client` token (a stock y-websocket client) is the invite's
//!   member: every such connection with that invite is the same member. A random key per
//!   connection would break reconnects, since the Yjs client id a reconnecting client keeps is
//!   then claimed by the previous member.
//! The token is not a secret credential (the invite is): guessing another browser's 128-bit
//! token would only make you a participant you could already be with the invite.
//!
//! A node lives while one of its sockets is open, plus [`GRACE`] after the last one closes, so a
//! reload does not rejoin and the node has time to hand its last edits to the other peers.
//!
//! Each node costs an iroh endpoint, a sled store and a room's documents in memory, so their
//! number is capped ([`Limits`]): per relay, and per room so that one busy (or hostile) room
//! cannot take every slot. A browser over a cap is told to try again later (close 1013); members
//! whose node already runs (a second tab, a reload) are never refused.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tandem_room::iroh::SecretKey;
use tandem_room::{Node, NodeConfig};
use tokio::sync::Mutex;

use crate::access::Acl;

/// How long a session's node outlives its last socket.
pub const GRACE: Duration = Duration::from_secs(20);

/// Caps on the session nodes (`tandem-relay --max-web-sessions`, `--max-web-sessions-per-room`,
/// `--max-web-sessions-unadmitted`, `--web-sockets-per-minute-per-ip`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub total: usize,
    pub per_room: usize,
    /// Sessions whose member no room peer has admitted yet. Anyone can make an invite that
    /// verifies (for a room of their own), so until a real peer admits the member a session is
    /// a stranger's: these get a small pool of their own and cannot crowd out real members.
    pub unadmitted: usize,
    /// New sockets one IP address may open per minute (a burst of as many, then one every
    /// 60/n seconds).
    pub sockets_per_minute_per_ip: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            total: 256,
            per_room: 64,
            unadmitted: 16,
            sockets_per_minute_per_ip: 60,
        }
    }
}

/// Members' directories under `--web-data` unused for this long are deleted
/// (`--web-data-keep-days`); a member who returns later simply joins afresh with a valid invite.
pub const DEFAULT_KEEP: Duration = Duration::from_secs(30 * 24 * 3600);

/// Why a browser session got no room peer.
#[derive(Debug, thiserror::Error)]
pub enum AcquireError {
    #[error("the relay already serves {0} browser sessions, its limit; try again later")]
    RelayFull(usize),
    #[error("this room already has {0} browser sessions on this relay, its limit; try again later")]
    RoomFull(usize),
    #[error("{0} browser sessions are already waiting to be admitted to their rooms; try again later")]
    WaitingFull(usize),
    #[error("starting the session's room peer: {0:#}")]
    Start(anyhow::Error),
}

/// Who a browser session is.
pub struct SessionKey {
    pub key: SecretKey,
}

impl SessionKey {
    /// A usable `client` token: 16 to 128 URL-safe characters.
    pub fn valid_client(token: &str) -> bool {
        (16..=128).contains(&token.len())
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    pub fn derive(secret: &[u8; 32], room: &str, invite_nonce: &str, client: Option<&str>) -> SessionKey {
        let client = client.filter(|c| Self::valid_client(c)).unwrap_or("");
        let mut h = blake3::Hasher::new_keyed(secret);
        for part in ["tandem-relay-bridge-v1", room, invite_nonce, client] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        SessionKey {
            key: SecretKey::from_bytes(h.finalize().as_bytes()),
        }
    }
}

struct Entry {
    node: Arc<Node>,
    room: String,
    users: usize,
    generation: u64,
    /// A room peer admitted this member (see [`Limits::unadmitted`]).
    admitted: bool,
}

/// The running session nodes, by member key.
pub struct Sessions {
    dir: PathBuf,
    secret: [u8; 32],
    relay_url: String,
    relay_token: Option<String>,
    acl: Arc<Acl>,
    active: Mutex<HashMap<String, Entry>>,
    next_generation: std::sync::atomic::AtomicU64,
    limits: Limits,
    sockets: std::sync::Mutex<crate::rate::PerIp>,
    /// `(room id, interviewer key)` pairs seen in rooms whose members this relay has admitted:
    /// invites they issue are trusted enough to skip the strangers' pool.
    vouched: std::sync::Mutex<std::collections::HashSet<(String, String)>>,
}

/// Vouched-for issuers remembered at most (then the set starts again).
const MAX_VOUCHED: usize = 100_000;

impl Sessions {
    /// `dir` holds the relay's bridge secret and one directory per stable member.
    pub fn new(
        dir: PathBuf,
        relay_url: String,
        relay_token: Option<String>,
        acl: Arc<Acl>,
        limits: Limits,
    ) -> Result<Arc<Self>> {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let secret = load_or_create_secret(&dir.join("bridge.secret"))?;
        Ok(Arc::new(Self {
            dir,
            secret,
            relay_url,
            relay_token,
            acl,
            active: Mutex::new(HashMap::new()),
            next_generation: Default::default(),
            sockets: std::sync::Mutex::new(crate::rate::PerIp::new(limits.sockets_per_minute_per_ip)),
            vouched: Default::default(),
            limits,
        }))
    }

    /// May `ip` open another socket now? (The per-IP rate limit on new sockets.)
    pub fn allow_socket(&self, ip: std::net::IpAddr) -> Result<(), Duration> {
        self.sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .allow(ip, std::time::Instant::now())
    }

    /// A room peer admitted member `id` to `room`, whose interviewers are `interviewers`: its
    /// session leaves the pool of strangers, and their invites for that room skip it from now on.
    pub async fn admitted(&self, id: &str, room: &str, interviewers: Vec<String>) {
        if let Some(e) = self.active.lock().await.get_mut(id) {
            e.admitted = true;
        }
        let mut v = self.vouched.lock().unwrap_or_else(|e| e.into_inner());
        if v.len() > MAX_VOUCHED {
            v.clear();
        }
        v.extend(interviewers.into_iter().map(|k| (room.to_string(), k)));
    }

    /// Did an interviewer this relay has seen admitted in `room` issue the invite?
    pub fn vouched(&self, room: &str, issuer: &str) -> bool {
        self.vouched
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&(room.to_string(), issuer.to_string()))
    }

    /// This relay's URL, the only relay a session peer dials.
    pub fn relay_url(&self) -> &str {
        &self.relay_url
    }

    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// Has this member been here before (its node runs, or its state is on disk)?
    pub fn known(&self, key: &SessionKey) -> bool {
        let id = tandem_shared::invite::to_hex(key.key.public().as_bytes());
        self.dir.join("members").join(id).join("rooms.sled").exists()
    }

    /// The node for `key` (a member of `room`), started if needed and within the limits. Pair
    /// every successful call with [`Sessions::release`].
    /// `trusted`: the invite comes from an interviewer this relay has seen admitted in the room
    /// (else a newcomer waits in the small pool of [`Limits::unadmitted`]).
    pub async fn acquire(
        self: &Arc<Self>,
        key: &SessionKey,
        room: &str,
        trusted: bool,
    ) -> Result<(String, Arc<Node>), AcquireError> {
        let id = tandem_shared::invite::to_hex(key.key.public().as_bytes());
        let mut active = self.active.lock().await;
        if let Some(e) = active.get_mut(&id) {
            e.users += 1;
            e.generation = self.next_generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Ok((id, e.node.clone()));
        }
        if active.len() >= self.limits.total {
            return Err(AcquireError::RelayFull(self.limits.total));
        }
        if active.values().filter(|e| e.room == room).count() >= self.limits.per_room {
            return Err(AcquireError::RoomFull(self.limits.per_room));
        }
        // A member with state on disk was admitted on an earlier visit.
        let admitted = self.known(key);
        if !admitted && !trusted && active.values().filter(|e| !e.admitted).count() >= self.limits.unadmitted {
            return Err(AcquireError::WaitingFull(self.limits.unadmitted));
        }
        let node = self.start_node(key, &id).await.map_err(AcquireError::Start)?;
        active.insert(
            id.clone(),
            Entry {
                node: node.clone(),
                room: room.to_string(),
                users: 1,
                generation: self.next_generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
                admitted,
            },
        );
        crate::metrics::BRIDGE_NODES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok((id, node))
    }

    async fn start_node(&self, key: &SessionKey, id: &str) -> Result<Arc<Node>> {
        let dir = self.dir.join("members").join(id);
        std::fs::create_dir_all(&dir)?;
        // The directory's mtime says when the member was last here (see `prune`).
        let _ = std::fs::File::open(&dir).and_then(|f| f.set_modified(std::time::SystemTime::now()));
        write_private(
            &dir.join(tandem_room::identity::KEY_FILE),
            tandem_shared::invite::to_hex(&key.key.to_bytes()).as_bytes(),
        )?;
        self.acl.allow_bridged(*key.key.public().as_bytes());
        let mut config = NodeConfig::new(&dir);
        config.relay_url = Some(self.relay_url.clone());
        config.relay_token = self.relay_token.clone();
        Ok(Arc::new(
            Node::start(config).await.context("starting the session's room peer")?,
        ))
    }

    /// One socket of member `id` closed; its node stops [`GRACE`] after the last one.
    pub async fn release(self: &Arc<Self>, id: String, node: Arc<Node>) {
        drop(node);
        let generation = {
            let mut active = self.active.lock().await;
            let Some(e) = active.get_mut(&id) else { return };
            e.users = e.users.saturating_sub(1);
            if e.users > 0 {
                return;
            }
            e.generation
        };
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(GRACE).await;
            let entry = {
                let mut active = this.active.lock().await;
                match active.get(&id) {
                    Some(e) if e.users == 0 && e.generation == generation => active.remove(&id),
                    _ => None,
                }
            };
            if let Some(e) = entry {
                this.stop(e).await;
            }
        });
    }

    async fn stop(&self, e: Entry) {
        crate::metrics::BRIDGE_NODES.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        let dir = self.dir.join("members").join(e.node.id());
        match Arc::try_unwrap(e.node) {
            Ok(node) => node.shutdown().await,
            Err(node) => drop(node), // still borrowed by a closing socket; its Drop closes the rooms
        }
        // Nothing of a member no room admitted is kept (a stranger's invite costs no disk).
        if !e.admitted {
            if let Err(err) = std::fs::remove_dir_all(&dir) {
                tracing::debug!(error = %err, "removing a never-admitted session's directory");
            }
        }
    }

    /// Deletes the directories of members not seen for `keep` whose node is not running; returns
    /// how many. Why: every invite × browser leaves one (its sled state lets a returning member
    /// resync cheaply), and without this a long-running relay's disk only grows.
    pub async fn prune(&self, keep: Duration) -> usize {
        let Ok(entries) = std::fs::read_dir(self.dir.join("members")) else {
            return 0;
        };
        let active = self.active.lock().await;
        let now = std::time::SystemTime::now();
        let mut removed = 0;
        for e in entries.flatten() {
            let id = e.file_name().to_string_lossy().into_owned();
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > keep);
            if old && !active.contains_key(&id) && std::fs::remove_dir_all(e.path()).is_ok() {
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(removed, "removed the web-data of members not seen for a while");
        }
        removed
    }

    /// Stops every session node (relay shutdown).
    pub async fn shutdown(&self) {
        let entries: Vec<Entry> = self.active.lock().await.drain().map(|(_, e)| e).collect();
        for e in entries {
            self.stop(e).await;
        }
    }
}

fn load_or_create_secret(path: &std::path::Path) -> Result<[u8; 32]> {
    match std::fs::read_to_string(path) {
        Ok(t) => {
            tandem_shared::invite::from_hex::<32>(t.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let s: [u8; 32] = rand::random();
            write_private(path, tandem_shared::invite::to_hex(&s).as_bytes())?;
            Ok(s)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path).with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn prune_removes_only_members_unseen_for_long_enough() {
        let dir = std::env::temp_dir().join(format!("tandem-relay-prune-{}", rand::random::<u64>()));
        let acl = Arc::new(Acl::new(&[], &[]).unwrap());
        let s = Sessions::new(dir.clone(), "http://127.0.0.1:1".into(), None, acl, Limits::default()).unwrap();
        let members = dir.join("members");
        for id in ["old", "recent"] {
            std::fs::create_dir_all(members.join(id)).unwrap();
            std::fs::write(members.join(id).join("rooms.sled"), b"x").unwrap();
        }
        let long_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::open(members.join("old"))
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        assert_eq!(s.prune(Duration::from_secs(600)).await, 1);
        assert!(!members.join("old").exists());
        assert!(members.join("recent").exists());
        // The secret is not a member's directory: it stays.
        assert!(dir.join("bridge.secret").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn derived_keys_are_stable_per_browser_and_invite() {
        let secret = [7u8; 32];
        let c = "abcdefghijklmnop1234";
        let a = SessionKey::derive(&secret, "room", "nonce", Some(c));
        let b = SessionKey::derive(&secret, "room", "nonce", Some(c));
        assert_eq!(a.key.public(), b.key.public());
        for other in [
            SessionKey::derive(&secret, "room", "nonce2", Some(c)),
            SessionKey::derive(&secret, "room2", "nonce", Some(c)),
            SessionKey::derive(&[8u8; 32], "room", "nonce", Some(c)),
            SessionKey::derive(&secret, "room", "nonce", Some("abcdefghijklmnop1235")),
        ] {
            assert_ne!(a.key.public(), other.key.public());
        }
        // Too short, or with odd characters: the invite's member, as without a token.
        let plain = SessionKey::derive(&secret, "room", "nonce", None);
        assert_ne!(plain.key.public(), a.key.public());
        for bad in ["short", "has spaces in it......", "ünïcödé-ünïcödé-ünïcödé"] {
            let k = SessionKey::derive(&secret, "room", "nonce", Some(bad));
            assert_eq!(k.key.public(), plain.key.public());
        }
    }
}
