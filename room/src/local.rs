//! A Yjs client in this process's care (the desktop webview, or a browser bridged by the relay)
//! speaking y-protocols messages with a [`Room`] (contract: `Room::attach_local`).
//!
//! Why here and not in the UI: the room enforces roles and signs edits with this peer's key, so
//! the client's edits must enter through the same checks as `Room::insert`; the client itself
//! stays a stock Yjs document.
//!
//! NOTE (branch `desktop`): a minimal implementation of the shared contract so the desktop app
//! compiles and is tested; branch `web` owns the real one and the lead keeps one at merge.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tandem_shared::invite::StatementBody;
use tandem_shared::protocol::{Control, Frame, SignedUpdate};
use tandem_shared::room::summarize_update;
use tokio::sync::{mpsc, watch};
use yrs::sync::awareness::AwarenessUpdateEntry;
use yrs::sync::{AwarenessUpdate, Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ReadTxn, Transact};

use crate::node::Room;
use crate::RoomError;

/// Largest message a local client may send (same order as the peer wire limit).
pub const MAX_LOCAL_MESSAGE: usize = 8 * 1024 * 1024;
/// Client ids one local client may claim (a Yjs client normally uses one per page load).
const MAX_CLAIMS: usize = 16;

static NEXT_OBSERVER: AtomicU64 = AtomicU64::new(1);

/// A Yjs client attached to a room. See the module docs.
pub struct LocalClient {
    room: Room,
    observer: String,
    out_tx: mpsc::UnboundedSender<Vec<u8>>,
    out_rx: mpsc::UnboundedReceiver<Vec<u8>>,
    changed: watch::Receiver<u64>,
    /// Awareness entries already sent to the client: client id → (clock, json).
    sent_awareness: BTreeMap<u64, (u32, Arc<str>)>,
    /// Awareness entries the client introduced: client id → last clock.
    introduced: Arc<std::sync::Mutex<BTreeMap<u64, u32>>>,
    claimed: Arc<std::sync::Mutex<HashSet<u64>>>,
}

impl Room {
    /// Attach a local client. It immediately gets (via `recv`) sync step 1 (the room's state
    /// vector) and the room's current awareness, as a y-websocket server sends on connect.
    pub fn attach_local(&self) -> LocalClient {
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let observer = format!("tandem-local-{}", NEXT_OBSERVER.fetch_add(1, Ordering::Relaxed));
        let tx = out_tx.clone();
        let step1 = self.with_core(|c| {
            // Every update applied to the room's document, whatever its source, goes to the client.
            let r = c.code().doc().observe_update_v1(observer.clone(), move |_, e| {
                let _ = tx.send(Message::Sync(SyncMessage::Update(e.update.clone())).encode_v1());
            });
            if let Err(e) = r {
                tracing::warn!(error = %e, "could not observe the room document");
            }
            c.sync_step1()
        });
        let _ = out_tx.send(step1);
        let mut client = LocalClient {
            room: self.clone(),
            observer,
            out_tx,
            out_rx,
            changed: self.subscribe(),
            sent_awareness: BTreeMap::new(),
            introduced: Default::default(),
            claimed: Default::default(),
        };
        client.changed.borrow_and_update();
        if let Some(msg) = client.awareness_delta() {
            let _ = client.out_tx.send(msg);
        }
        client
    }
}

impl LocalClient {
    /// One y-protocols message from the client. Never panics on malformed input.
    pub fn receive(&self, message: &[u8]) -> Result<(), RoomError> {
        if message.len() > MAX_LOCAL_MESSAGE {
            return Err(RoomError::Rejected(format!(
                "message of {} bytes exceeds the limit of {MAX_LOCAL_MESSAGE}",
                message.len()
            )));
        }
        let msg = std::panic::catch_unwind(|| Message::decode_v1(message))
            .map_err(|_| RoomError::Rejected("malformed y-protocols message".into()))?
            .map_err(|e| RoomError::Rejected(format!("malformed y-protocols message: {e}")))?;
        match msg {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                let diff = self
                    .room
                    .with_core(|c| c.code().doc().transact().encode_state_as_update_v1(&sv));
                let _ = self
                    .out_tx
                    .send(Message::Sync(SyncMessage::SyncStep2(diff)).encode_v1());
                Ok(())
            }
            Message::Sync(SyncMessage::SyncStep2(u)) | Message::Sync(SyncMessage::Update(u)) => self.apply_update(&u),
            Message::Awareness(update) => self.apply_awareness(update),
            Message::AwarenessQuery => {
                let all = self.room.with_core(|c| c.awareness_message())?;
                let _ = self.out_tx.send(all);
                Ok(())
            }
            Message::Auth(_) | Message::Custom(..) => Ok(()),
        }
    }

    /// The next y-protocols message for the client; `None` once the room is closed.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Ok(m) = self.out_rx.try_recv() {
                return Some(m);
            }
            if self.room.is_closed() {
                return None;
            }
            tokio::select! {
                m = self.out_rx.recv() => return m,
                r = self.changed.changed() => {
                    if r.is_err() {
                        return None;
                    }
                    if let Some(m) = self.awareness_delta() {
                        return Some(m);
                    }
                }
            }
        }
    }

    /// Claims `client` for this peer with a signed statement (sent to every peer) unless it is
    /// ours already; refused if another member owns it.
    fn claim(&self, client: u64) -> Result<(), RoomError> {
        let statement = self.room.with_core(|c| {
            let me = c.me().to_string();
            match c.policy().owner_of(client) {
                Some(owner) if owner == me => Ok(None),
                Some(owner) => Err(RoomError::Forbidden(format!(
                    "client id {client} belongs to {}",
                    crate::policy::short(owner)
                ))),
                None => {
                    let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
                    if claimed.len() >= MAX_CLAIMS && !claimed.contains(&client) {
                        return Err(RoomError::Rejected("too many client ids from one local client".into()));
                    }
                    claimed.insert(client);
                    let s = c.sign(StatementBody::ClientId { client_id: client });
                    let (added, mut errors) = c.add_statements(vec![s]);
                    if let Some(e) = errors.pop() {
                        return Err(e);
                    }
                    Ok(Some(added))
                }
            }
        })?;
        if let Some(statements) = statement.filter(|s| !s.is_empty()) {
            self.room
                .broadcast_frame(&Frame::Control(Control::Policy { statements }))?;
        }
        Ok(())
    }

    fn apply_update(&self, update: &[u8]) -> Result<(), RoomError> {
        let summary = std::panic::catch_unwind(|| summarize_update(update))
            .map_err(|_| RoomError::Rejected("malformed update".into()))??;
        let (me, may_edit, have) = self.room.with_core(|c| {
            let sv = c.code().doc().transact().state_vector();
            let have: Vec<u32> = summary
                .clients
                .iter()
                .map(|(client, _, _)| sv.get(&yrs::block::ClientID::new(*client)))
                .collect();
            (c.me().to_string(), c.policy().may_edit(c.me()), have)
        });
        let new_clients: Vec<u64> = summary
            .clients
            .iter()
            .zip(&have)
            .filter(|((_, _, end), have)| end > have)
            .map(|((c, _, _), _)| *c)
            .collect();
        if new_clients.is_empty() && !summary.has_deletes {
            return Ok(()); // nothing the room lacks (e.g. step 2 of a read-only client)
        }
        if !may_edit {
            return Err(RoomError::Forbidden(
                "you do not have the edit right in this room".into(),
            ));
        }
        for c in &new_clients {
            self.claim(*c)?;
        }
        let all_mine = self.room.with_core(|c| {
            summary
                .clients
                .iter()
                .all(|(client, _, _)| c.policy().owner_of(*client) == Some(me.as_str()))
        });
        if all_mine {
            // The normal live case: a signed update, checked and forwarded like `Room::insert`.
            let signed = self.room.with_core(|c| {
                let signature = c.key().sign(&SignedUpdate::signing_bytes(c.room(), update)).to_bytes();
                let su = SignedUpdate {
                    author: *c.key().public().as_bytes(),
                    signature,
                    update: update.to_vec(),
                };
                c.receive_update(&su).map(|_| su)
            })?;
            self.room.broadcast_frame(&Frame::Update(signed))
        } else {
            // Catch-up that mixes others' content the room already has: apply as catch-up and
            // pass on only what is new, as peers do for catch-up (they check attribution).
            let diff = self.room.with_core(|c| {
                let before = c.code().state_vector();
                c.receive_catch_up(&me, update)?;
                c.code().diff(&before).map_err(RoomError::from)
            })?;
            let msg = Message::Sync(SyncMessage::Update(diff)).encode_v1();
            self.room.broadcast_frame(&Frame::YSync(msg))
        }
    }

    fn apply_awareness(&self, update: AwarenessUpdate) -> Result<(), RoomError> {
        let own = self.room.with_core(|c| c.code().client_id());
        for c in update.clients.keys() {
            if c.get() == own {
                return Err(RoomError::Forbidden(
                    "the room peer's own presence is not the client's".into(),
                ));
            }
            self.claim(c.get())?;
        }
        {
            let mut introduced = self.introduced.lock().unwrap_or_else(|e| e.into_inner());
            for (c, e) in &update.clients {
                let clock = introduced.entry(c.get()).or_default();
                *clock = (*clock).max(e.clock);
            }
        }
        let bytes = Message::Awareness(update).encode_v1();
        let me = self.room.with_core(|c| c.me().to_string());
        let outcome = self.room.with_core(|c| c.receive_ysync(&me, &bytes))?;
        if matches!(outcome, crate::core::SyncOutcome::ForwardAwareness) {
            self.room.broadcast_frame(&Frame::YSync(bytes))?;
        }
        Ok(())
    }

    /// Awareness entries (other than the client's own) that changed since last sent.
    fn awareness_delta(&mut self) -> Option<Vec<u8>> {
        let bytes = self.room.with_core(|c| c.awareness_message()).ok()?;
        let Ok(Message::Awareness(all)) = Message::decode_v1(&bytes) else {
            return None;
        };
        let introduced = self.introduced.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut now: BTreeMap<u64, (u32, Arc<str>)> = all
            .clients
            .into_iter()
            .filter(|(c, _)| !introduced.contains_key(&c.get()))
            .map(|(c, e)| (c.get(), (e.clock, e.json)))
            .collect();
        let mut delta = std::collections::HashMap::new();
        for (c, (clock, json)) in &now {
            if self.sent_awareness.get(c).map(|(k, j)| (k, j)) != Some((clock, json)) {
                delta.insert(
                    yrs::block::ClientID::new(*c),
                    AwarenessUpdateEntry {
                        clock: *clock,
                        json: json.clone(),
                    },
                );
            }
        }
        for (c, (clock, _)) in &self.sent_awareness {
            if !now.contains_key(c) {
                // Gone from the room: tell the client it left.
                let json: Arc<str> = Arc::from("null");
                delta.insert(
                    yrs::block::ClientID::new(*c),
                    AwarenessUpdateEntry { clock: clock + 1, json },
                );
            }
        }
        now.retain(|_, (_, j)| &**j != "null");
        self.sent_awareness = now;
        if delta.is_empty() {
            None
        } else {
            Some(Message::Awareness(AwarenessUpdate { clients: delta }).encode_v1())
        }
    }
}

impl Drop for LocalClient {
    fn drop(&mut self) {
        let _ = self
            .room
            .with_core(|c| c.code().doc().unobserve_update_v1(self.observer.clone()));
        let introduced = std::mem::take(&mut *self.introduced.lock().unwrap_or_else(|e| e.into_inner()));
        if introduced.is_empty() || self.room.is_closed() {
            return;
        }
        let clients = introduced
            .into_iter()
            .map(|(c, clock)| {
                (
                    yrs::block::ClientID::new(c),
                    AwarenessUpdateEntry {
                        clock: clock + 1,
                        json: Arc::from("null"),
                    },
                )
            })
            .collect();
        let bytes = Message::Awareness(AwarenessUpdate { clients }).encode_v1();
        let me = self.room.with_core(|c| c.me().to_string());
        if let Ok(crate::core::SyncOutcome::ForwardAwareness) = self.room.with_core(|c| c.receive_ysync(&me, &bytes)) {
            let _ = self.room.broadcast_frame(&Frame::YSync(bytes));
        }
    }
}
