//! Yjs clients in this process's care: a browser bridged by the relay, or the desktop webview.
//!
//! Such a client speaks y-protocols (y-sync step 1 / step 2 / update, awareness; lib0 v1; one
//! message per call, exactly the bytes of one y-websocket frame) with a [`Room`], and the room
//! treats what it writes as **this peer's own edits**: checked against this peer's current role,
//! signed with this peer's key and forwarded to the other peers, who check them again.
//!
//! Why the local client keeps its own yrs client id instead of this peer's: Yjs clients assign
//! their client id themselves and cannot be told which one to use. So the first time a local
//! client inserts (or publishes presence) with an id nobody owns, this peer claims that id with a
//! signed `client_id` statement, sent to the other peers *before* the update, so they can
//! attribute the insertions. An id another member already owns is refused.
//!
//! Outgoing messages come from two observers installed once per room (on the yrs document and
//! on the awareness), so a local client sees every change whatever its source: remote peers,
//! other local clients, [`Room::insert`]. A client does not get its own changes echoed back.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tandem_shared::invite::StatementBody;
use tandem_shared::protocol::{Control, Frame};
use tandem_shared::room::summarize_update;
use tokio::sync::mpsc;
use yrs::block::ClientID;
use yrs::sync::{AwarenessUpdate, Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ReadTxn, Transact};

use crate::core::guarded;
use crate::node::{broadcast, lock, State};
use crate::policy::short;
use crate::{Room, RoomError};

/// Messages queued for one local client before it counts as too slow; it is then detached
/// (`recv` returns `None`) and reattaching resyncs it by state vector, which is cheaper than an
/// unbounded queue.
pub const LOCAL_QUEUE: usize = 4096;
/// Largest message a local client may send (the same limit as a frame between peers).
/// (A little under it: the signed update sent on adds an author, a signature and a header.)
pub const MAX_LOCAL_MESSAGE: usize = tandem_shared::protocol::MAX_FRAME_LEN as usize - 1024;
/// Yjs client ids one local client may have claimed for this peer. A Yjs document uses one,
/// and picks a new one only when it detects a clash; more than a few is abuse.
pub const MAX_CLAIMS: usize = 8;

const OBSERVER: &str = "tandem-local";

/// The local clients of one room (one per room, in `RoomInner`).
#[derive(Default)]
pub(crate) struct LocalHub {
    inner: Arc<HubInner>,
}

#[derive(Default)]
struct HubInner {
    clients: Mutex<HashMap<u64, mpsc::Sender<Vec<u8>>>>,
    next: AtomicU64,
    /// The local client whose message is being applied (0: none), so it gets no echo. Only
    /// changed under the room's state lock, like every change to the document.
    applying: AtomicU64,
    installed: AtomicBool,
    closed: AtomicBool,
}

impl HubInner {
    fn send_all(&self, bytes: Vec<u8>) {
        let skip = self.applying.load(Ordering::Relaxed);
        let mut clients = lock(&self.clients);
        clients.retain(|id, tx| *id == skip || tx.try_send(bytes.clone()).is_ok());
    }

    fn send_to(&self, id: u64, bytes: Vec<u8>) {
        let mut clients = lock(&self.clients);
        if let Some(tx) = clients.get(&id) {
            if tx.try_send(bytes).is_err() {
                clients.remove(&id);
            }
        }
    }
}

impl LocalHub {
    /// Installs the document and awareness observers (once per room). Runs under the state lock.
    fn install(&self, st: &mut State) {
        if self.inner.installed.swap(true, Ordering::SeqCst) {
            return;
        }
        let hub = self.inner.clone();
        let doc = st.core.code().doc().clone();
        if let Err(e) = doc.observe_update_v1(OBSERVER, move |_, e| {
            hub.send_all(Message::Sync(SyncMessage::Update(e.update.clone())).encode_v1());
        }) {
            tracing::warn!(error = %e, "could not observe the document for local clients");
        }
        let hub = self.inner.clone();
        st.core.awareness_mut().on_update(OBSERVER, move |awareness, e, _| {
            if let Ok(u) = awareness.update_with_clients(e.all_changes()) {
                hub.send_all(Message::Awareness(u).encode_v1());
            }
        });
    }

    /// Detaches every local client (their `recv` returns `None`): the room closed.
    pub(crate) fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        lock(&self.inner.clients).clear();
    }
}

/// A Yjs client in this process's care (the desktop webview, or a browser bridged by the relay)
/// speaking y-protocols messages: y-sync (step 1, step 2, update) and awareness, lib0 v1,
/// one message per call, exactly the bytes of one y-websocket frame.
pub struct LocalClient {
    room: Room,
    id: u64,
    rx: mpsc::Receiver<Vec<u8>>,
    /// Awareness client ids this client published (removed when it is dropped).
    introduced: Mutex<HashSet<u64>>,
    /// Yjs client ids claimed for this peer on behalf of this client.
    claimed: Mutex<HashSet<u64>>,
}

impl Room {
    /// Attach a local client. It immediately gets (via `recv`) sync step 1 (the room's state vector)
    /// and the room's current awareness, as a y-websocket server sends on connect.
    pub fn attach_local(&self) -> LocalClient {
        let hub = &self.inner.locals;
        let (tx, rx) = mpsc::channel(LOCAL_QUEUE);
        let id = hub.inner.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut st = lock(&self.inner.state);
        hub.install(&mut st);
        if !hub.inner.closed.load(Ordering::SeqCst) {
            let _ = tx.try_send(st.core.sync_step1());
            let anyone = st.core.awareness_mut().iter().any(|(_, s)| s.data.is_some());
            if anyone {
                if let Ok(a) = st.core.awareness_message() {
                    let _ = tx.try_send(a);
                }
            }
            // Registered under the state lock: nothing can change the document between the
            // initial messages and the first observed change.
            lock(&hub.inner.clients).insert(id, tx);
        }
        drop(st);
        LocalClient {
            room: self.clone(),
            id,
            rx,
            introduced: Mutex::new(HashSet::new()),
            claimed: Mutex::new(HashSet::new()),
        }
    }
}

/// Resets the "applying" marker however the apply ends.
struct Applying<'a>(&'a HubInner);
impl<'a> Applying<'a> {
    fn new(hub: &'a HubInner, id: u64) -> Self {
        hub.applying.store(id, Ordering::Relaxed);
        Applying(hub)
    }
}
impl Drop for Applying<'_> {
    fn drop(&mut self) {
        self.0.applying.store(0, Ordering::Relaxed);
    }
}

impl LocalClient {
    /// One y-protocols message from the client. Step 1 is answered with step 2 (via `recv`);
    /// step 2 / update are applied as this peer's edits (refused with RoomError if this peer may not
    /// edit, or if the update inserts with a client id another member owns; a new yrs client id of
    /// the local client is claimed for this peer with a signed `client_id` statement); awareness is
    /// applied and forwarded. Never panics on malformed input: returns an error.
    pub fn receive(&self, message: &[u8]) -> Result<(), RoomError> {
        if message.len() > MAX_LOCAL_MESSAGE {
            return Err(RoomError::Rejected(format!(
                "message of {} bytes is larger than the limit of {MAX_LOCAL_MESSAGE}",
                message.len()
            )));
        }
        let msg = guarded("y-protocols message", || {
            Message::decode_v1(message).map_err(|e| RoomError::Rejected(format!("malformed y-protocols message: {e}")))
        })?;
        let result = match msg {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                let diff = self
                    .room
                    .with_core(|c| c.code().doc().transact().encode_state_as_update_v1(&sv));
                self.hub()
                    .send_to(self.id, Message::Sync(SyncMessage::SyncStep2(diff)).encode_v1());
                Ok(())
            }
            Message::Sync(SyncMessage::SyncStep2(u)) => self.apply_update(&u, true),
            Message::Sync(SyncMessage::Update(u)) => self.apply_update(&u, false),
            Message::Awareness(u) => self.apply_awareness(message, u),
            Message::AwarenessQuery => {
                let a = self.room.with_core(|c| c.awareness_message())?;
                self.hub().send_to(self.id, a);
                Ok(())
            }
            // y-protocols' auth messages go from server to client; custom ones are not ours.
            Message::Auth(_) | Message::Custom(..) => Ok(()),
        };
        self.room.notify();
        result
    }

    /// The next y-protocols message for the client: every update the room applies from any source
    /// (remote peers, other local clients, this peer's own `Room::insert`), awareness changes.
    /// `None` once the room is closed (or this client fell [`LOCAL_QUEUE`] messages behind).
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        self.rx.recv().await
    }

    /// The room this client is attached to.
    pub fn room(&self) -> &Room {
        &self.room
    }

    fn hub(&self) -> &HubInner {
        &self.room.inner.locals.inner
    }

    /// Claims unowned client ids for this peer and sends the statements to the other peers
    /// (before the update that uses them, on the same ordered links).
    fn claim(&self, st: &mut State, ids: &[u64]) -> Result<(), RoomError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut claimed = lock(&self.claimed);
        if claimed.len() + ids.len() > MAX_CLAIMS {
            return Err(RoomError::Forbidden(format!(
                "a local client may use at most {MAX_CLAIMS} Yjs client ids"
            )));
        }
        let statements: Vec<_> = ids
            .iter()
            .map(|c| {
                st.core.sign(StatementBody::ClientId {
                    client_id: *c,
                    nonce: None,
                })
            })
            .collect();
        let (added, errors) = st.core.add_statements(statements);
        if let Some(e) = errors.into_iter().next() {
            return Err(e);
        }
        claimed.extend(ids);
        if !added.is_empty() {
            let bytes = Frame::Control(Control::Policy { statements: added }).encode()?;
            broadcast(st, &Arc::new(bytes), None);
        }
        Ok(())
    }

    fn apply_update(&self, update: &[u8], catch_up: bool) -> Result<(), RoomError> {
        let summary = guarded("update", || summarize_update(update).map_err(RoomError::from))?;
        let mut guard = lock(&self.room.inner.state);
        let st = &mut *guard;
        let me = st.core.me().to_string();
        let sv = st.core.code().doc().transact().state_vector();
        let new: Vec<(u64, u32)> = summary
            .clients
            .iter()
            .filter(|(c, _, end)| *end > sv.get(&ClientID::new(*c)))
            .map(|(c, _, end)| (*c, *end))
            .collect();
        if !st.core.policy().may_edit(&me) {
            if new.is_empty() {
                // Nothing new (e.g. step 2 of a read-only client on connect). Its deletions
                // cannot be this peer's edits, so they are dropped, as peers drop them.
                return Ok(());
            }
            let role = st
                .core
                .policy()
                .member(&me)
                .map(|m| m.role.as_str())
                .unwrap_or("not a member");
            return Err(RoomError::Forbidden(format!(
                "{} ({role}) does not have the edit right in this room",
                short(&me)
            )));
        }
        if new.is_empty() && !summary.has_deletes {
            return Ok(());
        }
        let mut others = false;
        let mut to_claim = Vec::new();
        for (c, end) in &new {
            match st.core.policy().owner_of(*c) {
                Some(owner) if owner == me => {}
                Some(owner) if catch_up => {
                    // Step 2 of a client that holds others' text this peer lacks (it reconnected
                    // before this peer caught up): fine if those authors may edit, as in a peer's
                    // catch-up.
                    st.core.policy().insertion_allowed(*c, *end).map_err(|why| {
                        RoomError::Forbidden(format!("catch-up with client id {c} of {}: {why}", short(owner)))
                    })?;
                    others = true;
                }
                Some(owner) => {
                    return Err(RoomError::Forbidden(format!(
                        "the update inserts with client id {c}, which belongs to {}",
                        short(owner)
                    )))
                }
                None => to_claim.push(*c),
            }
        }
        self.claim(st, &to_claim)?;
        let hub = self.room.inner.locals.inner.clone();
        let _applying = Applying::new(&hub, self.id);
        if others {
            // Only this peer's own part is signed and sent; the others' text reaches the other
            // peers signed by its authors.
            let own = st.core.apply_local_catch_up(update)?;
            self.room.queue_own(st, own);
        } else {
            st.core.apply_own_update(update)?;
            self.room.queue_own(st, update.to_vec());
        }
        Ok(())
    }

    fn apply_awareness(&self, raw: &[u8], update: AwarenessUpdate) -> Result<(), RoomError> {
        let mut guard = lock(&self.room.inner.state);
        let st = &mut *guard;
        let me = st.core.me().to_string();
        let mut to_claim = Vec::new();
        for c in update.clients.keys() {
            match st.core.policy().owner_of(c.get()) {
                Some(owner) if owner == me => {}
                Some(owner) => {
                    return Err(RoomError::Forbidden(format!(
                        "presence for client id {}, which belongs to {}",
                        c.get(),
                        short(owner)
                    )))
                }
                None => to_claim.push(c.get()),
            }
        }
        self.claim(st, &to_claim)?;
        lock(&self.introduced).extend(update.clients.keys().map(|c| c.get()));
        let hub = self.room.inner.locals.inner.clone();
        let _applying = Applying::new(&hub, self.id);
        st.core.receive_awareness(update)?;
        // Forwarded even when unchanged: renewals keep the presence alive at the other peers.
        broadcast(st, &Arc::new(Frame::YSync(raw.to_vec()).encode()?), None);
        Ok(())
    }
}

impl Drop for LocalClient {
    /// Removes the awareness entries this client introduced, here and at the other peers.
    fn drop(&mut self) {
        lock(&self.hub().clients).remove(&self.id);
        let ids: Vec<ClientID> = lock(&self.introduced).drain().map(ClientID::new).collect();
        if ids.is_empty() {
            return;
        }
        let mut st = lock(&self.room.inner.state);
        for c in &ids {
            st.core.awareness_mut().remove_state(*c);
        }
        if let Ok(u) = st.core.awareness_mut().update_with_clients(ids) {
            if let Ok(b) = Frame::YSync(Message::Awareness(u).encode_v1()).encode() {
                broadcast(&mut st, &Arc::new(b), None);
            }
        }
        drop(st);
        self.room.notify();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Node, NodeConfig};
    use std::time::Duration;
    use tandem_shared::room::{CodeDoc, Role};

    /// A node whose data directory is removed when the test's guard drops.
    struct Tmp(std::path::PathBuf);
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    async fn node(name: &str) -> (Node, Tmp) {
        let d = std::env::temp_dir().join(format!("tandem-local-{name}-{}", rand::random::<u64>()));
        let node = Node::start(NodeConfig::new(&d)).await.unwrap();
        (node, Tmp(d))
    }

    /// A stand-in for a browser's Y.Doc: a yrs document with its own client id.
    struct Browser {
        doc: CodeDoc,
        client: LocalClient,
    }

    impl Browser {
        fn new(room: &Room) -> Self {
            Browser {
                doc: CodeDoc::new(rand::random::<u64>() & ((1 << 53) - 1)),
                client: room.attach_local(),
            }
        }
        fn insert(&self, index: u32, text: &str) -> Result<(), RoomError> {
            let u = self.doc.insert("main.py", index, text).unwrap();
            self.client.receive(&Message::Sync(SyncMessage::Update(u)).encode_v1())
        }
        /// Applies what arrived until the text is `want` (or times out).
        async fn wait_text(&mut self, want: &str) {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            while self.doc.text("main.py") != want {
                let msg = tokio::time::timeout_at(deadline, self.client.recv())
                    .await
                    .unwrap_or_else(|_| panic!("timed out: have {:?}, want {want:?}", self.doc.text("main.py")))
                    .expect("room closed");
                if let Ok(Message::Sync(SyncMessage::SyncStep2(u) | SyncMessage::Update(u))) = Message::decode_v1(&msg)
                {
                    self.doc.apply(&u).unwrap();
                }
            }
        }
    }

    async fn wait_room_text(room: &Room, want: &str) {
        let mut rx = room.subscribe();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while room.text("main.py") != want {
            if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
                panic!("room text {:?}, want {want:?}", room.text("main.py"));
            }
        }
    }

    /// Interviewer's node and a node that joined with an invite of `role`.
    async fn pair(role: Role, can_edit: bool) -> (Node, Room, Node, Room, [Tmp; 2]) {
        let (a, ta) = node("a").await;
        let ra = a.create_room().unwrap();
        let (b, tb) = node("b").await;
        let inv = ra.invite(role, can_edit, 600).unwrap();
        let rb = b.join(&inv, Duration::from_secs(20)).await.unwrap();
        (a, ra, b, rb, [ta, tb])
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_local_clients_on_two_peers_converge_with_emoji() {
        let (a, ra, b, rb, _tmp) = pair(Role::Candidate, true).await;
        let mut x = Browser::new(&ra);
        let mut y = Browser::new(&rb);
        x.insert(0, "print('😀')").unwrap();
        y.wait_text("print('😀')").await;
        // UTF-16 offsets: the emoji is two code units, so offset 9 is right after it.
        y.insert(9, "🎉").unwrap();
        x.wait_text("print('😀🎉')").await;
        wait_room_text(&ra, "print('😀🎉')").await;
        // This peer's own edits reach local clients too.
        ra.insert("main.py", 0, "# ").unwrap();
        x.wait_text("# print('😀🎉')").await;
        y.wait_text("# print('😀🎉')").await;
        // The local client's client id is claimed by the peer it is attached to.
        let owner = rb.with_core(|c| c.policy().owner_of(y.doc.client_id()).map(String::from));
        assert_eq!(owner.as_deref(), Some(b.id().as_str()));
        drop((x, y));
        a.shutdown().await;
        b.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn late_client_gets_state_by_sync_step_1() {
        let (a, ra, b, rb, _tmp) = pair(Role::Candidate, true).await;
        ra.insert("main.py", 0, "hello").unwrap();
        wait_room_text(&rb, "hello").await;
        let mut late = Browser::new(&rb);
        // The first message is the room's sync step 1; answer it as y-websocket does, and ask.
        let first = late.client.recv().await.unwrap();
        assert!(matches!(
            Message::decode_v1(&first),
            Ok(Message::Sync(SyncMessage::SyncStep1(_)))
        ));
        let sv = late.doc.doc().transact().state_vector();
        late.client
            .receive(&Message::Sync(SyncMessage::SyncStep1(sv)).encode_v1())
            .unwrap();
        late.wait_text("hello").await;
        drop(late);
        a.shutdown().await;
        b.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn spectators_local_edit_is_refused() {
        let (a, ra, b, rb, _tmp) = pair(Role::Spectator, false).await;
        let s = Browser::new(&rb);
        let err = s.insert(0, "sneaky").unwrap_err();
        assert!(matches!(err, RoomError::Forbidden(_)), "{err}");
        assert_eq!(rb.text("main.py"), "");
        // Presence is fine for spectators.
        let mut aw = yrs::sync::Awareness::new(s.doc.doc().clone());
        aw.set_local_state_raw(r#"{"name":"Sam"}"#);
        let msg = Message::Awareness(aw.update().unwrap()).encode_v1();
        s.client.receive(&msg).unwrap();
        let mut rx = ra.subscribe();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while ra.with_core(|c| c.awareness_mut().iter().filter(|(_, s)| s.data.is_some()).count()) == 0 {
            tokio::time::timeout_at(deadline, rx.changed()).await.unwrap().unwrap();
        }
        assert_eq!(ra.text("main.py"), "");
        // Dropping the client removes its presence at the other peer.
        drop(s);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while ra.with_core(|c| c.awareness_mut().iter().filter(|(_, s)| s.data.is_some()).count()) > 0 {
            tokio::time::timeout_at(deadline, rx.changed()).await.unwrap().unwrap();
        }
        a.shutdown().await;
        b.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn malformed_and_foreign_messages_are_errors() {
        let (a, _tmp) = node("solo").await;
        let ra = a.create_room().unwrap();
        let x = Browser::new(&ra);
        for bytes in [
            &[][..],
            &[0xff, 0xff, 0xff, 0xff][..],
            &[0, 1, 200, 1, 2][..],
            &[0, 2, 5, 1, 2, 3][..],
            &[1, 5, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f][..],
        ] {
            assert!(x.client.receive(bytes).is_err(), "{bytes:?} should be refused");
        }
        assert!(x.client.receive(&vec![0u8; MAX_LOCAL_MESSAGE + 1]).is_err());
        // Still usable after all that.
        x.insert(0, "ok").unwrap();
        assert_eq!(ra.text("main.py"), "ok");
        drop(x);
        a.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn another_members_client_id_is_refused() {
        let (a, ra, b, rb, _tmp) = pair(Role::Candidate, true).await;
        // The candidate's own session client id is claimed by the candidate.
        let theirs = rb.with_core(|c| c.code().client_id());
        let mut deadline_rx = ra.subscribe();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while ra.with_core(|c| c.policy().owner_of(theirs).is_none()) {
            tokio::time::timeout_at(deadline, deadline_rx.changed())
                .await
                .unwrap()
                .unwrap();
        }
        let mut x = Browser::new(&ra);
        x.doc = CodeDoc::new(theirs);
        let err = x.insert(0, "impostor").unwrap_err();
        assert!(matches!(err, RoomError::Forbidden(_)), "{err}");
        assert_eq!(ra.text("main.py"), "");
        a.shutdown().await;
        b.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closing_the_room_ends_recv() {
        let (a, _tmp) = node("close").await;
        let ra = a.create_room().unwrap();
        let mut x = Browser::new(&ra);
        assert!(x.client.recv().await.is_some()); // sync step 1
        ra.close();
        assert!(x.client.recv().await.is_none());
        a.shutdown().await;
    }
}
