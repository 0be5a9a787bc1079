//! The room state and the enforcement of roles on everything that arrives. No network here:
//! the node feeds frames in and sends what comes out, so this is unit-testable end to end.
//!
//! Enforcement, applied identically by every peer (not only the first hop):
//! - live updates are [`SignedUpdate`]s: the author's signature must verify, the author must
//!   currently have the edit right, and every insertion in it must carry one of the author's
//!   client ids; forwarded updates keep the author's signature, so each hop re-checks;
//! - catch-up (sync step 2) may mix many authors: each insertion's client id must belong to a
//!   member who may edit, or fall under the clock frozen when that member lost the right;
//!   deletions from a sender without edit rights are dropped (they cannot be attributed);
//! - session-record (automerge) changes are signed by their actor (the member key) over the
//!   change hash, and each must be allowed for that member's role (`interview::check_record_change`);
//! - awareness entries must belong to members.

use std::collections::{HashMap, HashSet, VecDeque};
use std::panic::AssertUnwindSafe;

use iroh::SecretKey;
use tandem_shared::invite::{Invite, PeerAddr, RoomRef, SignedStatement, Statement, StatementBody};
use tandem_shared::protocol::{RecordSync, SignedChange, SignedUpdate};
use tandem_shared::room::{summarize_update, CodeDoc, Presence, Role, SessionRecord, PRESENCE_TIMEOUT_MS};
use yrs::sync::{Awareness, AwarenessUpdate, Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{ReadTxn, StateVector, Transact};

use tandem_shared::interview::{AwayEvent, HistoryUpdate};

use crate::identity::{key_hex, verify_hex};
use crate::policy::{make_invite, now_ms, short, sign_statement, Policy};
use crate::store::{Loaded, RoomStore};
use crate::RoomError;

/// How many recent update signatures are remembered to stop forwarding loops in the mesh.
const SEEN_CAPACITY: usize = 16_384;

/// Runs a decoder on untrusted bytes; a panic inside a dependency becomes an error.
pub(crate) fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, RoomError>) -> Result<T, RoomError> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err(RoomError::Rejected(format!("malformed {what}"))),
    }
}

/// Merges local updates into one and signs it: the part of sending that is pure CPU, so the
/// node can run it without holding the room's lock.
pub fn sign_updates(key: &SecretKey, room: &RoomRef, mut updates: Vec<Vec<u8>>) -> Result<SignedUpdate, RoomError> {
    let update = match updates.len() {
        0 => return Err(RoomError::Rejected("nothing to sign".into())),
        1 => updates.pop().unwrap_or_default(),
        _ => {
            let parts: Vec<&[u8]> = updates.iter().map(Vec::as_slice).collect();
            yrs::merge_updates_v1(&parts).map_err(|e| RoomError::Rejected(format!("merging local updates: {e}")))?
        }
    };
    let signature = key.sign(&SignedUpdate::signing_bytes(room, &update)).to_bytes();
    Ok(SignedUpdate {
        author: *key.public().as_bytes(),
        signature,
        update,
    })
}

/// Signs a batch of local updates as live frames, ready to send: one merged frame normally.
/// When the merge fails, or the merged frame would exceed the wire's frame limit (a huge paste
/// plus typing), the batch is halved until each part fits, so a big batch costs a few frames.
/// Returns each signed update with its encoded frame, and how many single updates fit no frame
/// at all (over 8 MiB by themselves; a local client's message is limited below that).
pub fn sign_frames(key: &SecretKey, room: &RoomRef, updates: &[Vec<u8>]) -> (Vec<(SignedUpdate, Vec<u8>)>, usize) {
    let mut frames = Vec::new();
    let mut unsent = 0;
    // Parts still to sign, last first, so frames keep the edits' order.
    let mut todo = vec![updates];
    while let Some(part) = todo.pop() {
        if part.is_empty() {
            continue;
        }
        let attempt = sign_updates(key, room, part.to_vec()).and_then(|signed| {
            tandem_shared::protocol::Frame::Update(signed.clone())
                .encode()
                .map(|bytes| (signed, bytes))
                .map_err(|e| RoomError::Rejected(e.to_string()))
        });
        match attempt {
            Ok(frame) => frames.push(frame),
            Err(_) if part.len() > 1 => {
                let (first, second) = part.split_at(part.len() / 2);
                todo.push(second);
                todo.push(first);
            }
            Err(e) => {
                tracing::warn!(error = %e, "a local edit does not fit in one frame and is not sent");
                unsent += 1;
            }
        }
    }
    (frames, unsent)
}

/// One entry of the signed log: a verified (or own) signed update and what catch-up needs to
/// know of it without decoding it again.
struct Logged {
    signed: SignedUpdate,
    /// Client id → end of its insertions in this update.
    ends: Vec<(u64, u32)>,
    has_deletes: bool,
}

impl Logged {
    fn new(signed: SignedUpdate) -> Result<Self, RoomError> {
        let summary = guarded("update", || summarize_update(&signed.update).map_err(RoomError::from))?;
        Ok(Self::summarized(signed, &summary))
    }

    /// For an update whose summary is at hand (the live path decodes it once, not twice).
    fn summarized(signed: SignedUpdate, summary: &tandem_shared::room::UpdateSummary) -> Self {
        Self {
            ends: summary.clients.iter().map(|(c, _, end)| (*c, *end)).collect(),
            has_deletes: summary.has_deletes,
            signed,
        }
    }

    /// Could a peer at state vector `sv` lack some of it? (Deletions cannot be told apart by
    /// state vector, so an update with deletions is always offered.)
    fn maybe_missing_at(&self, sv: &StateVector) -> bool {
        self.has_deletes
            || self
                .ends
                .iter()
                .any(|(c, end)| *end > sv.get(&yrs::block::ClientID::new(*c)))
    }
}

/// A document edit.
#[derive(Debug, Clone)]
pub enum Edit {
    Insert { file: String, index: u32, text: String },
    Delete { file: String, index: u32, len: u32 },
}

/// What a y-sync message asks the node to do.
pub enum SyncOutcome {
    /// Send this y-sync message back to the sender.
    Reply(Vec<u8>),
    /// Answer a sync step 1 with these snapshots (frame kind 7), then these signed updates
    /// (frame kind 6).
    CatchUp {
        snapshots: Vec<SignedUpdate>,
        updates: Vec<SignedUpdate>,
    },
    /// Awareness changed: forward the original bytes to the other peers.
    ForwardAwareness,
    Nothing,
}

/// One room's state.
pub struct RoomCore {
    room: RoomRef,
    key: SecretKey,
    me: String,
    code: CodeDoc,
    awareness: Awareness,
    record: SessionRecord,
    policy: Policy,
    store: Option<RoomStore>,
    seen: VecDeque<[u8; 64]>,
    seen_set: HashSet<[u8; 64]>,
    /// Bumped on every change, so waiters can tell something happened.
    version: u64,
    /// The interviewers' private record (notes, scorecards): synced only between interviewers
    /// (frame kind 5), see `interview.rs`.
    pub(crate) private: automerge::AutoCommit,
    /// Every code update this peer applied, with when and whose (the replay).
    pub(crate) history: Vec<HistoryUpdate>,
    /// Members' focus changes as this peer saw them (the replay's absences).
    pub(crate) away_log: Vec<AwayEvent>,
    away_now: std::collections::HashMap<String, bool>,
    /// Signatures of session-record changes by change hash (see [`RoomCore::receive_record`]).
    record_sigs: HashMap<automerge::ChangeHash, [u8; 64]>,
    /// The newest snapshot each interviewer signed (see [`RoomCore::receive_snapshot`]).
    snapshots: HashMap<String, Logged>,
    /// A snapshot this peer just signed, for the node to send to every peer.
    fresh_snapshot: Option<SignedUpdate>,
    /// This peer's own join while its policy cannot evaluate it yet (the invite's issuer is an
    /// interviewer it has not heard of): sent in every hello until the admitting peer's
    /// statements make it count.
    pending_join: Option<SignedStatement>,
    /// Every signed update this peer made or accepted, in the order applied: the only content
    /// catch-up sends, so every byte a late joiner applies carries its author's signature.
    signed_log: Vec<Logged>,
}

impl RoomCore {
    /// Opens a room from its stored state (if any). Every session gets a fresh yrs client id
    /// bound to this key, claimed by a signed statement so others can attribute its insertions.
    pub fn open(
        key: SecretKey,
        room: RoomRef,
        store: Option<RoomStore>,
        loaded: Option<Loaded>,
    ) -> Result<Self, RoomError> {
        let me = key_hex(&key.public());
        // A client id bound to this key (see `policy::bound_client_id`), new for every session.
        let nonce = rand::random::<u64>();
        let code = CodeDoc::new(crate::policy::bound_client_id(key.public().as_bytes(), nonce));
        let mut policy = Policy::new(room.clone());
        let mut record = None;
        let actor = automerge::ActorId::from(key.public().as_bytes().as_slice());
        let mut private = automerge::AutoCommit::new().with_actor(actor.clone());
        let mut history = Vec::new();
        let mut away_log = Vec::new();
        let mut record_sigs = HashMap::new();
        let mut signed_log = Vec::new();
        let mut snapshots = HashMap::new();
        if let Some(l) = loaded {
            for u in l.snapshots {
                if let Ok(entry) = Logged::new(u) {
                    snapshots.insert(tandem_shared::invite::to_hex(&entry.signed.author), entry);
                }
            }
            for u in l.signed_log {
                match Logged::new(u) {
                    Ok(entry) => signed_log.push(entry),
                    Err(e) => tracing::warn!(error = %e, "skipping a stored signed update"),
                }
            }
            record_sigs = l
                .record_signatures
                .into_iter()
                .map(|(h, s)| (automerge::ChangeHash(h), s))
                .collect();
            if let Some(bytes) = &l.private {
                match automerge::AutoCommit::load(bytes) {
                    Ok(d) => private = d.with_actor(actor.clone()),
                    Err(e) => tracing::warn!(error = %e, "could not load the private record"),
                }
            }
            history = l.history;
            away_log = l.away;
            if history.is_empty() && !l.updates.is_empty() {
                // A room from before the replay history: its stored state is the base.
                for u in &l.updates {
                    history.push(HistoryUpdate {
                        at_ms: 0,
                        author: String::new(),
                        update: u.clone(),
                    });
                }
            }
            for u in &l.updates {
                if let Err(e) = guarded("stored update", || code.apply(u).map_err(RoomError::from)) {
                    tracing::warn!(error = %e, "skipping a stored update that does not apply");
                }
            }
            let (_, errors) = policy.merge(l.statements);
            for e in errors {
                tracing::warn!(error = %e, "skipping a stored statement");
            }
            if let Some(bytes) = l.record {
                record = SessionRecord::load(&bytes, key.public().as_bytes()).ok();
            }
        }
        let record = record.unwrap_or_else(|| SessionRecord::new(key.public().as_bytes()));
        let awareness = Awareness::new(code.doc().clone());
        let mut core = Self {
            room,
            key,
            me,
            code,
            awareness,
            record,
            policy,
            store,
            seen: VecDeque::new(),
            seen_set: HashSet::new(),
            version: 0,
            private,
            history,
            away_log,
            away_now: Default::default(),
            record_sigs,
            signed_log,
            snapshots,
            fresh_snapshot: None,
            pending_join: None,
        };
        crate::interview::init_record(&mut core);
        if let Some(s) = &core.store {
            s.compact(&core.code.snapshot())?;
        }
        let claim = core.sign(StatementBody::ClientId {
            client_id: core.code.client_id(),
            nonce: Some(nonce),
        });
        core.add_statements(vec![claim]);
        core.persist_record();
        Ok(core)
    }

    pub fn room(&self) -> &RoomRef {
        &self.room
    }
    pub fn me(&self) -> &str {
        &self.me
    }
    pub fn key(&self) -> &SecretKey {
        &self.key
    }
    pub fn code(&self) -> &CodeDoc {
        &self.code
    }
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
    pub fn record(&self) -> &SessionRecord {
        &self.record
    }
    pub fn version(&self) -> u64 {
        self.version
    }
    fn bump(&mut self) {
        self.version = self.version.wrapping_add(1);
    }
    pub(crate) fn bump_version(&mut self) {
        self.bump();
    }
    /// The session record's document, for writers that enforce their own rules (`interview.rs`);
    /// the caller persists with `persist_record`.
    pub(crate) fn record_mut_unchecked(&mut self) -> &mut automerge::AutoCommit {
        self.record.doc_mut()
    }

    /// Signs a statement about this room, made now. The time is kept strictly after every
    /// statement already known, so a statement always sorts after what its signer had seen
    /// (a Lamport clock on top of wall time).
    pub fn sign(&self, body: StatementBody) -> SignedStatement {
        let at_ms = now_ms().max(self.policy.latest_at_ms() + 1);
        sign_statement(
            &self.key,
            Statement {
                room: self.room.clone(),
                at_ms,
                body,
            },
        )
    }

    /// Signs this peer's join with `invite` and keeps it until the policy holds it (see
    /// `pending_join`).
    pub fn join_with(&mut self, invite: &Invite) {
        let join = self.sign(StatementBody::Join { invite: invite.clone() });
        self.add_statements(vec![join.clone()]);
        if !self.policy.contains(&join) {
            self.pending_join = Some(join);
        }
    }

    /// What a hello carries: every statement known, and this peer's join if still pending.
    pub fn hello_statements(&self) -> Vec<SignedStatement> {
        let mut out = self.policy.statements();
        if let Some(join) = self.pending_join.as_ref().filter(|j| !self.policy.contains(j)) {
            out.push(join.clone());
        }
        out
    }

    /// Adds statements (verified); returns the new ones (to forward) and the refused ones.
    pub fn add_statements(&mut self, s: Vec<SignedStatement>) -> (Vec<SignedStatement>, Vec<RoomError>) {
        let (added, errors) = self.policy.merge(s);
        if !added.is_empty() {
            self.bump();
            if let Some(store) = &self.store {
                if let Err(e) = store.save_statements(&self.policy.statements()) {
                    tracing::warn!(error = %e, "could not persist statements");
                }
            }
            // Mirror roles into the session record for display: interviewers only, and only
            // what changed (every write is an automerge change that syncs to everyone).
            if self.policy.member(&self.me).is_some_and(|m| m.is_admin()) {
                let shown: std::collections::HashMap<String, String> = self.record.roles().into_iter().collect();
                let mut changed = false;
                for m in self.policy.members() {
                    let role = if m.revoked { "revoked" } else { m.role.as_str() };
                    if shown.get(&m.key).map(String::as_str) != Some(role) {
                        changed |= self.record.record_role_str(&m.key, role).is_ok();
                    }
                }
                if changed {
                    self.persist_record();
                }
            }
        }
        (added, errors)
    }

    fn persist_update(&self, update: &[u8]) {
        if let Some(store) = &self.store {
            if let Err(e) = store.append_update(update) {
                tracing::warn!(error = %e, "could not persist an update");
            }
        }
    }

    /// Adds an applied update to the replay history. Times are strictly increasing per room,
    /// so "the text at the time of entry N" is exact even for a burst within one millisecond.
    pub(crate) fn log_history(&mut self, author: &str, update: &[u8]) {
        let at_ms = now_ms().max(self.history.last().map_or(0, |h| h.at_ms + 1));
        let h = HistoryUpdate {
            at_ms,
            author: author.to_string(),
            update: update.to_vec(),
        };
        if let Some(store) = &self.store {
            if let Err(e) = store.append_history(&h) {
                tracing::warn!(error = %e, "could not persist a history entry");
            }
        }
        self.history.push(h);
    }

    /// Records focus changes in everyone's presence (the replay flags long absences).
    fn note_away(&mut self) {
        let now = now_ms();
        let mut events = Vec::new();
        for (_, p) in self.presence() {
            let before = self.away_now.insert(p.member.clone(), p.away);
            if before.unwrap_or(false) != p.away {
                events.push(AwayEvent {
                    at_ms: now,
                    member: p.member.clone(),
                    away: p.away,
                });
            }
        }
        for e in events {
            if let Some(store) = &self.store {
                let _ = store.append_away(&e);
            }
            self.away_log.push(e);
        }
    }

    pub(crate) fn store(&self) -> Option<&RoomStore> {
        self.store.as_ref()
    }

    pub(crate) fn persist_record(&mut self) {
        if let Some(store) = &self.store {
            let bytes = self.record.save();
            if let Err(e) = store.save_record(&bytes) {
                tracing::warn!(error = %e, "could not persist the session record");
            }
        }
    }

    pub fn persist_peers(&self, peers: &[PeerAddr]) {
        if let Some(store) = &self.store {
            let _ = store.save_peers(peers);
        }
    }

    fn remember(&mut self, sig: [u8; 64]) -> bool {
        if !self.seen_set.insert(sig) {
            return false;
        }
        self.seen.push_back(sig);
        if self.seen.len() > SEEN_CAPACITY {
            if let Some(old) = self.seen.pop_front() {
                self.seen_set.remove(&old);
            }
        }
        true
    }

    /// A local edit, signed on its own. Refused without the edit right unless `force` (tests use
    /// `force` to play a misbehaving client and check that the others refuse the result).
    pub fn edit(&mut self, edit: &Edit, force: bool) -> Result<SignedUpdate, RoomError> {
        let update = self.apply_local(edit, force)?;
        self.sign_local(vec![update])
    }

    /// Applies a local edit and returns its (unsigned) lib0 v1 update. The node collects these
    /// and signs them in batches with [`RoomCore::sign_local`]: one ed25519 signature costs more
    /// than applying a keystroke, so a burst of keystrokes shares one signature, while a lone
    /// keystroke is still signed and sent at once.
    pub fn apply_local(&mut self, edit: &Edit, force: bool) -> Result<Vec<u8>, RoomError> {
        if !force && !self.policy.may_edit(&self.me) {
            return Err(RoomError::Forbidden(
                "you do not have the edit right in this room".into(),
            ));
        }
        let update = match edit {
            Edit::Insert { file, index, text } => self.code.insert(file, *index, text)?,
            Edit::Delete { file, index, len } => self.code.delete(file, *index, *len)?,
        };
        self.persist_update(&update);
        let me = self.me.clone();
        self.log_history(&me, &update);
        self.bump();
        Ok(update)
    }

    /// Signs local updates (from [`RoomCore::apply_local`]) as one live update.
    pub fn sign_local(&mut self, updates: Vec<Vec<u8>>) -> Result<SignedUpdate, RoomError> {
        let signed = sign_updates(&self.key, &self.room, updates)?;
        self.log_own(signed.clone());
        Ok(signed)
    }

    /// Keeps an own update signed outside the lock (see [`sign_updates`]) for catch-up, and
    /// remembers its signature so that it is not applied or forwarded again when echoed.
    pub fn log_own(&mut self, signed: SignedUpdate) {
        self.remember(signed.signature);
        match Logged::new(signed) {
            Ok(entry) => self.log_signed(entry),
            Err(e) => tracing::warn!(error = %e, "an own update does not decode"),
        }
    }

    fn log_signed(&mut self, entry: Logged) {
        if let Some(store) = &self.store {
            if let Err(e) = store.append_signed(&entry.signed) {
                tracing::warn!(error = %e, "could not persist a signed update");
            }
        }
        self.signed_log.push(entry);
    }

    /// The signed updates a peer at state vector `sv` may lack, in the order this peer applied
    /// them: the answer to its sync step 1. Updates every peer would refuse now (deletions by a
    /// member who has lost the edit right since) are left out: the interviewer's snapshot taken
    /// when the right was lost ([`RoomCore::snapshots_for`]) carries what they did.
    pub fn catch_up_for(&self, sv: &StateVector) -> Vec<SignedUpdate> {
        self.signed_log
            .iter()
            .filter(|e| e.maybe_missing_at(sv))
            .filter(|e| !e.has_deletes || self.policy.may_edit(&tandem_shared::invite::to_hex(&e.signed.author)))
            .map(|e| e.signed.clone())
            .collect()
    }

    /// The interviewers' newest snapshots a peer at `sv` may lack (sent before the catch-up).
    pub fn snapshots_for(&self, sv: &StateVector) -> Vec<SignedUpdate> {
        self.snapshots
            .values()
            .filter(|e| e.maybe_missing_at(sv))
            .filter(|e| {
                self.policy
                    .member(&tandem_shared::invite::to_hex(&e.signed.author))
                    .is_some_and(|m| m.is_admin())
            })
            .map(|e| e.signed.clone())
            .collect()
    }

    /// Signs the whole document as a snapshot (interviewers, when they change an edit right):
    /// what the member wrote until then, deletions included, stays loadable by late joiners
    /// although that member's own signed deletions are refused from now on.
    fn take_snapshot(&mut self) {
        let update = self.code.snapshot();
        let signature = self
            .key
            .sign(&SignedUpdate::snapshot_signing_bytes(&self.room, &update))
            .to_bytes();
        let snap = SignedUpdate {
            author: *self.key.public().as_bytes(),
            signature,
            update,
        };
        self.keep_snapshot(snap.clone());
        self.fresh_snapshot = Some(snap);
    }

    /// A snapshot signed just now, to send to every peer.
    pub fn take_fresh_snapshot(&mut self) -> Option<SignedUpdate> {
        self.fresh_snapshot.take()
    }

    fn keep_snapshot(&mut self, snap: SignedUpdate) {
        let Ok(entry) = Logged::new(snap) else { return };
        let signer = tandem_shared::invite::to_hex(&entry.signed.author);
        let size = |e: &Logged| e.ends.iter().map(|(_, end)| u64::from(*end)).sum::<u64>();
        if self.snapshots.get(&signer).is_some_and(|old| size(old) > size(&entry)) {
            return; // an older snapshot replayed: keep the newer one
        }
        if let Some(store) = &self.store {
            if let Err(e) = store.save_snapshot(&entry.signed) {
                tracing::warn!(error = %e, "could not persist a snapshot");
            }
        }
        self.snapshots.insert(signer, entry);
    }

    /// A snapshot from a peer: signed (as a snapshot) by a current interviewer, and each
    /// insertion it brings must be allowed for its owner (edit right, or below a frozen clock),
    /// as in every update. Deletions are the interviewer's word. Returns whether it was new.
    pub fn receive_snapshot(&mut self, u: &SignedUpdate) -> Result<bool, RoomError> {
        let author = tandem_shared::invite::to_hex(&u.author);
        // Every catch-up offers the interviewers' snapshots again: one already held costs nothing.
        if self
            .snapshots
            .get(&author)
            .is_some_and(|e| e.signed.signature == u.signature)
        {
            return Ok(false);
        }
        verify_hex(
            &author,
            &SignedUpdate::snapshot_signing_bytes(&self.room, &u.update),
            &tandem_shared::invite::to_hex(&u.signature),
        )
        .map_err(|_| RoomError::Rejected("snapshot signature does not verify".into()))?;
        if !self.policy.member(&author).is_some_and(|m| m.is_admin()) {
            return Err(RoomError::Forbidden(format!(
                "a snapshot signed by {}, who is not an interviewer",
                short(&author)
            )));
        }
        let summary = guarded("snapshot", || summarize_update(&u.update).map_err(RoomError::from))?;
        let have = self.code.doc().transact().state_vector();
        for (client, _, end) in &summary.clients {
            if *end > have.get(&yrs::block::ClientID::new(*client)) {
                self.policy
                    .insertion_allowed(*client, *end)
                    .map_err(|why| RoomError::Forbidden(format!("snapshot by {} refused: {why}", short(&author))))?;
            }
        }
        let before = self.code.snapshot();
        guarded("snapshot", || self.code.apply(&u.update).map_err(RoomError::from))?;
        self.keep_snapshot(u.clone());
        if self.code.snapshot() == before {
            return Ok(false);
        }
        self.persist_update(&u.update);
        self.log_history(&author, &u.update);
        self.bump();
        Ok(true)
    }

    /// An update made by a Yjs client in this peer's care (see `local.rs`): applied and stored
    /// as this peer's own edit; the node signs it with the other local edits (see
    /// [`RoomCore::apply_local`]). The caller has checked the edit right and the client ids.
    pub fn apply_own_update(&mut self, update: &[u8]) -> Result<(), RoomError> {
        guarded("update", || self.code.apply(update).map_err(RoomError::from))?;
        self.persist_update(update);
        let me = self.me.clone();
        self.log_history(&me, update);
        self.bump();
        Ok(())
    }

    pub(crate) fn awareness_mut(&mut self) -> &mut Awareness {
        &mut self.awareness
    }

    /// A signed update from a peer, live or catch-up. Returns whether it was new (and, if live,
    /// should be forwarded). Every peer checks, whoever sent it:
    /// - the signature, by the author named in it;
    /// - every insertion carries one of the author's client ids;
    /// - the author may edit now; or, for a member who lost the edit right, the update only
    ///   inserts below the clocks frozen when it was lost, and deletes nothing (old text, replayed
    ///   by catch-up; a deletion cannot be dated, so it needs the edit right now).
    pub fn receive_update(&mut self, u: &SignedUpdate) -> Result<bool, RoomError> {
        if self.seen_set.contains(&u.signature) {
            return Ok(false);
        }
        let author = tandem_shared::invite::to_hex(&u.author);
        verify_hex(
            &author,
            &SignedUpdate::signing_bytes(&self.room, &u.update),
            &tandem_shared::invite::to_hex(&u.signature),
        )
        .map_err(|_| RoomError::Rejected("update signature does not verify".into()))?;
        let summary = guarded("update", || summarize_update(&u.update).map_err(RoomError::from))?;
        for (client, _, _) in &summary.clients {
            if self.policy.owner_of(*client) != Some(author.as_str()) {
                return Err(RoomError::Forbidden(format!(
                    "update from {} carries client id {client} that is not theirs",
                    short(&author)
                )));
            }
        }
        if !self.policy.may_edit(&author) {
            let role = self
                .policy
                .member(&author)
                .map(|m| m.role.as_str())
                .unwrap_or("not a member");
            let refuse = || {
                RoomError::Forbidden(format!(
                    "update from {} ({role}) without the edit right",
                    short(&author)
                ))
            };
            if summary.has_deletes || summary.clients.is_empty() {
                return Err(refuse());
            }
            for (client, _, end) in &summary.clients {
                self.policy.insertion_allowed(*client, *end).map_err(|_| refuse())?;
            }
        }
        guarded("update", || self.code.apply(&u.update).map_err(RoomError::from))?;
        self.remember(u.signature);
        self.persist_update(&u.update);
        self.log_history(&author, &u.update);
        self.log_signed(Logged::summarized(u.clone(), &summary));
        self.bump();
        Ok(true)
    }

    /// Content a local client (a browser that reconnected) holds and this peer lacks, some of
    /// it by other members: applied if each insertion's owner may edit (or it falls under a
    /// frozen clock), as the peers who sent it originally checked. Returns the part this peer
    /// signs as its own (its own client ids and the deletions) — the rest reaches the other
    /// peers from its authors' signed updates, never unsigned from here.
    pub fn apply_local_catch_up(&mut self, update: &[u8]) -> Result<Vec<u8>, RoomError> {
        let summary = guarded("sync step 2", || summarize_update(update).map_err(RoomError::from))?;
        let before = self.code.doc().transact().state_vector();
        for (client, _, end) in &summary.clients {
            if *end > before.get(&yrs::block::ClientID::new(*client)) {
                self.policy
                    .insertion_allowed(*client, *end)
                    .map_err(|why| RoomError::Forbidden(format!("a local client's catch-up refused: {why}")))?;
            }
        }
        guarded("sync step 2", || self.code.apply(update).map_err(RoomError::from))?;
        self.persist_update(update);
        // Ours = everything after `before` for our own ids; every other id counts as fully known.
        let mine: HashSet<u64> = self.policy.client_ids_of(&self.me).into_iter().collect();
        let mut known = StateVector::default();
        for (client, clock) in self.code.doc().transact().state_vector().iter() {
            let clock = if mine.contains(&client.get()) {
                before.get(client)
            } else {
                *clock
            };
            if clock > 0 {
                known.set_max(*client, clock);
            }
        }
        let own = self.code.doc().transact().encode_state_as_update_v1(&known);
        let me = self.me.clone();
        self.log_history(&me, &own);
        self.bump();
        Ok(own)
    }

    /// Sync step 1 to send on connect.
    pub fn sync_step1(&self) -> Vec<u8> {
        Message::Sync(SyncMessage::SyncStep1(self.code.doc().transact().state_vector())).encode_v1()
    }

    /// Handles a y-sync message (kind 2) from `sender`.
    pub fn receive_ysync(&mut self, sender: &str, bytes: &[u8]) -> Result<SyncOutcome, RoomError> {
        let msg = guarded("y-sync message", || {
            Message::decode_v1(bytes).map_err(|e| RoomError::Rejected(format!("malformed y-sync message: {e}")))
        })?;
        match msg {
            Message::Sync(SyncMessage::SyncStep1(sv)) => Ok(SyncOutcome::CatchUp {
                snapshots: self.snapshots_for(&sv),
                updates: self.catch_up_for(&sv),
            }),
            Message::Sync(SyncMessage::SyncStep2(_)) | Message::Sync(SyncMessage::Update(_)) => {
                Err(RoomError::Forbidden(format!(
                    "unsigned document content from {} refused: between peers, catch-up is signed (frame kind 6)",
                    short(sender)
                )))
            }
            Message::Awareness(update) => {
                if self.receive_awareness(update)? {
                    Ok(SyncOutcome::ForwardAwareness)
                } else {
                    Ok(SyncOutcome::Nothing)
                }
            }
            Message::AwarenessQuery => Ok(SyncOutcome::Reply(self.awareness_message()?)),
            Message::Auth(_) | Message::Custom(..) => Ok(SyncOutcome::Nothing),
        }
    }

    pub(crate) fn receive_awareness(&mut self, update: AwarenessUpdate) -> Result<bool, RoomError> {
        let mine = self.code.client_id();
        let mut update = update;
        update.clients.retain(|c, _| c.get() != mine);
        for c in update.clients.keys() {
            match self.policy.owner_of(c.get()) {
                Some(owner) if self.policy.is_member(owner) => {}
                _ => {
                    return Err(RoomError::Forbidden(format!(
                        "presence for client {} that belongs to no member",
                        c.get()
                    )))
                }
            }
        }
        let summary = self
            .awareness
            .apply_update_summary(update)
            .map_err(|e| RoomError::Rejected(format!("awareness: {e}")))?;
        let changed = summary.is_some_and(|s| !s.all_changes().is_empty());
        if changed {
            self.note_away();
            self.bump();
        }
        Ok(changed)
    }

    /// The full awareness state as a y-sync message.
    pub fn awareness_message(&self) -> Result<Vec<u8>, RoomError> {
        let u = self
            .awareness
            .update()
            .map_err(|e| RoomError::Rejected(format!("awareness: {e}")))?;
        Ok(Message::Awareness(u).encode_v1())
    }

    /// Publishes this peer's presence; returns the y-sync message to broadcast.
    pub fn set_presence(&mut self, p: &Presence) -> Result<Vec<u8>, RoomError> {
        self.awareness
            .set_local_state(p)
            .map_err(|e| RoomError::Rejected(format!("awareness: {e}")))?;
        let u = self
            .awareness
            .update_with_clients([yrs::block::ClientID::new(self.code.client_id())])
            .map_err(|e| RoomError::Rejected(format!("awareness: {e}")))?;
        self.note_away();
        self.bump();
        Ok(Message::Awareness(u).encode_v1())
    }

    /// Re-publishes the local presence (so it does not expire elsewhere), if there is one.
    pub fn renew_presence(&mut self) -> Option<Vec<u8>> {
        let json = self.awareness.local_state_raw()?;
        self.awareness.set_local_state_raw(json);
        let u = self
            .awareness
            .update_with_clients([yrs::block::ClientID::new(self.code.client_id())])
            .ok()?;
        Some(Message::Awareness(u).encode_v1())
    }

    /// Drops remote presence not renewed within [`PRESENCE_TIMEOUT_MS`].
    pub fn expire_presence(&mut self) {
        let now = now_ms();
        let mine = self.code.client_id();
        let stale: Vec<yrs::block::ClientID> = self
            .awareness
            .iter()
            .filter(|(c, s)| {
                c.get() != mine && s.data.is_some() && now.saturating_sub(s.last_updated) > PRESENCE_TIMEOUT_MS
            })
            .map(|(c, _)| c)
            .collect();
        for c in stale {
            self.awareness.remove_state(c);
            self.bump();
        }
    }

    /// Everyone's presence, by client id.
    pub fn presence(&self) -> Vec<(u64, Presence)> {
        let mut out: Vec<(u64, Presence)> = self
            .awareness
            .iter()
            .filter_map(|(c, s)| Some((c.get(), serde_json::from_str(s.data.as_deref()?).ok()?)))
            .collect();
        out.sort_by_key(|(c, _)| *c);
        out
    }

    /// The session record's heads, as sent in a [`RecordSync`].
    pub fn record_heads(&mut self) -> Vec<[u8; 32]> {
        self.record.doc_mut().get_heads().into_iter().map(|h| h.0).collect()
    }

    /// What to send a peer whose record heads are `their_heads`: our heads and every signed change
    /// they do not have. Heads we do not know are left out of the comparison (the peer has
    /// something we lack; it sends that itself), so at worst a change is sent twice.
    pub fn record_sync_for(&mut self, their_heads: &[[u8; 32]]) -> RecordSync {
        let doc = self.record.doc_mut();
        let known: Vec<automerge::ChangeHash> = their_heads
            .iter()
            .map(|h| automerge::ChangeHash(*h))
            .filter(|h| doc.get_change_by_hash(h).is_some())
            .collect();
        let changes = doc.get_changes(&known);
        let mut signed = Vec::with_capacity(changes.len());
        for change in changes {
            match self.record_signature(&change) {
                Some(signature) => signed.push(SignedChange {
                    signature,
                    change: change.raw_bytes().to_vec(),
                }),
                // Only possible for a record stored by an older build: it cannot be proven, so
                // it is not passed on (every peer would refuse it).
                None => {
                    tracing::warn!(hash = %change.hash(), "a session-record change without a signature is not sent")
                }
            }
        }
        RecordSync {
            heads: self.record_heads(),
            changes: signed,
        }
    }

    /// The signature of a change: the one it arrived with, or ours (signed once, kept).
    fn record_signature(&mut self, change: &automerge::Change) -> Option<[u8; 64]> {
        let hash = change.hash();
        if let Some(sig) = self.record_sigs.get(&hash) {
            return Some(*sig);
        }
        if change.actor_id().to_bytes() != self.key.public().as_bytes().as_slice() {
            return None;
        }
        let sig = self
            .key
            .sign(&SignedChange::signing_bytes(&self.room, &hash.0))
            .to_bytes();
        self.keep_record_signature(hash, sig);
        Some(sig)
    }

    fn keep_record_signature(&mut self, hash: automerge::ChangeHash, sig: [u8; 64]) {
        if let Some(store) = &self.store {
            if let Err(e) = store.save_record_signature(&hash.0, &sig) {
                tracing::warn!(error = %e, "could not persist a session-record signature");
            }
        }
        self.record_sigs.insert(hash, sig);
    }

    /// Signed session-record changes from a peer. Each change must be signed by its actor (a
    /// member key) and allowed for that member's role now ([`crate::interview::check_record_change`]);
    /// one refused change refuses the whole message, and nothing of it is applied. Changes whose
    /// dependencies are missing are left for a later message (they are never queued unchecked).
    /// Returns whether the record changed.
    pub fn receive_record(&mut self, sync: &RecordSync) -> Result<bool, RoomError> {
        let mut fresh: Vec<(automerge::Change, [u8; 64])> = Vec::new();
        let mut batch: HashSet<automerge::ChangeHash> = HashSet::new();
        for signed in &sync.changes {
            let change = guarded("session-record change", || {
                automerge::Change::from_bytes(signed.change.clone())
                    .map_err(|e| RoomError::Rejected(format!("malformed session-record change: {e}")))
            })?;
            let hash = change.hash();
            if batch.contains(&hash) || self.record.doc_mut().get_change_by_hash(&hash).is_some() {
                continue;
            }
            let actor = change.actor_id().to_bytes();
            let author = tandem_shared::invite::to_hex(actor);
            if actor.len() != 32
                || verify_hex(
                    &author,
                    &SignedChange::signing_bytes(&self.room, &hash.0),
                    &tandem_shared::invite::to_hex(&signed.signature),
                )
                .is_err()
            {
                return Err(RoomError::Forbidden(format!(
                    "session-record change {hash} is not signed by its actor {}",
                    short(&author)
                )));
            }
            let deps_present = change
                .deps()
                .iter()
                .all(|d| batch.contains(d) || self.record.doc_mut().get_change_by_hash(d).is_some());
            if !deps_present {
                continue;
            }
            batch.insert(hash);
            fresh.push((change, signed.signature));
        }
        if fresh.is_empty() {
            return Ok(false);
        }
        // Check on a fork first, so a refused change never touches the real record.
        let before = self.record.doc_mut().get_heads();
        let mut fork = self.record.doc_mut().fork();
        let changes: Vec<automerge::Change> = fresh.iter().map(|(c, _)| c.clone()).collect();
        guarded("session-record change", || {
            fork.apply_changes(changes.clone())
                .map_err(|e| RoomError::Rejected(format!("automerge: {e}")))
        })?;
        for change in fork.get_changes(&before) {
            crate::interview::check_record_change(&self.policy, &fork, &change)?;
        }
        guarded("session-record change", || {
            self.record
                .doc_mut()
                .apply_changes(changes)
                .map_err(|e| RoomError::Rejected(format!("automerge: {e}")))
        })?;
        for (change, sig) in fresh {
            self.keep_record_signature(change.hash(), sig);
        }
        let changed = self.record.doc_mut().get_heads() != before;
        if changed {
            self.persist_record();
            self.bump();
        }
        Ok(changed)
    }

    /// Changes the session record locally (requires the edit right).
    pub fn change_record(
        &mut self,
        f: impl FnOnce(&mut SessionRecord) -> Result<(), tandem_shared::room::RoomModelError>,
    ) -> Result<(), RoomError> {
        if !self.policy.may_edit(&self.me) {
            return Err(RoomError::Forbidden(
                "you do not have the edit right in this room".into(),
            ));
        }
        f(&mut self.record)?;
        self.persist_record();
        self.bump();
        Ok(())
    }

    fn require_admin(&self) -> Result<(), RoomError> {
        if self.policy.member(&self.me).is_some_and(|m| m.is_admin()) {
            Ok(())
        } else {
            Err(RoomError::Forbidden("only an interviewer can do this".into()))
        }
    }

    /// Issues an invite (interviewers only).
    pub fn invite(&self, role: Role, can_edit: bool, ttl_secs: u64, peer: PeerAddr) -> Result<Invite, RoomError> {
        self.require_admin()?;
        Ok(make_invite(
            &self.key,
            &self.room,
            role,
            can_edit,
            now_ms() / 1000 + ttl_secs,
            peer,
        ))
    }

    /// The insertion clocks of `member` seen so far, to freeze when they lose the edit right:
    /// what the document holds, or any accepted update brings (yrs may still hold an update
    /// back until what it builds on arrives; it was accepted, so it stays acceptable).
    fn frozen_clocks(&self, member: &str) -> Vec<(u64, u32)> {
        let sv: StateVector = self.code.doc().transact().state_vector();
        let ids = self.policy.client_ids_of(member);
        let mut clocks: HashMap<u64, u32> = ids
            .iter()
            .map(|c| (*c, sv.get(&yrs::block::ClientID::new(*c))))
            .collect();
        for entry in &self.signed_log {
            for (c, end) in &entry.ends {
                if let Some(clock) = clocks.get_mut(c) {
                    *clock = (*clock).max(*end);
                }
            }
        }
        let mut out: Vec<(u64, u32)> = clocks.into_iter().collect();
        out.sort();
        out
    }

    /// Changes a member's role (interviewers only); returns the statement to broadcast.
    pub fn set_role(&mut self, member: &str, role: Role, can_edit: bool) -> Result<SignedStatement, RoomError> {
        self.require_admin()?;
        if !self.policy.is_member(member) {
            return Err(RoomError::NotAMember(format!("{} is not a member", short(member))));
        }
        let s = self.sign(StatementBody::SetRole {
            member: member.into(),
            role,
            can_edit,
            frozen: self.frozen_clocks(member),
        });
        self.add_statements(vec![s.clone()]);
        self.take_snapshot();
        Ok(s)
    }

    /// Removes a member (interviewers only) and revokes the invite it joined with, so the same
    /// link cannot bring the person back under a new key. Returns the statements to broadcast.
    pub fn revoke(&mut self, member: &str) -> Result<Vec<SignedStatement>, RoomError> {
        self.require_admin()?;
        let mut out = vec![self.sign(StatementBody::Revoke {
            member: member.into(),
            frozen: self.frozen_clocks(member),
        })];
        if let Some(nonce) = self.policy.join_nonce_of(member) {
            out.push(self.sign(StatementBody::RevokeInvite { nonce }));
        }
        self.add_statements(out.clone());
        self.take_snapshot();
        Ok(out)
    }

    /// Revokes an invite by nonce (interviewers only).
    pub fn revoke_invite(&mut self, nonce: &str) -> Result<SignedStatement, RoomError> {
        self.require_admin()?;
        let s = self.sign(StatementBody::RevokeInvite { nonce: nonce.into() });
        self.add_statements(vec![s.clone()]);
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::now_ms;

    struct Peer {
        core: RoomCore,
    }

    fn addr() -> PeerAddr {
        PeerAddr {
            id: String::new(),
            relay: None,
            addrs: vec![],
        }
    }

    /// Creator plus a candidate and a spectator, all knowing all statements.
    fn room3() -> (Peer, Peer, Peer) {
        let ck = SecretKey::generate();
        let room = RoomRef {
            id: "cd".repeat(16),
            creator: key_hex(&ck.public()),
        };
        let mut a = RoomCore::open(ck, room.clone(), None, None).unwrap();
        let mut members = Vec::new();
        for role in [Role::Candidate, Role::Spectator] {
            let k = SecretKey::generate();
            let inv = a.invite(role, true, 600, addr()).unwrap();
            let join = sign_statement(
                &k,
                Statement {
                    room: room.clone(),
                    at_ms: now_ms(),
                    body: StatementBody::Join { invite: inv },
                },
            );
            let mut core = RoomCore::open(k, room.clone(), None, None).unwrap();
            core.add_statements(vec![join]);
            members.push(core);
        }
        let mut c = members.pop().unwrap();
        let mut b = members.pop().unwrap();
        let all: Vec<SignedStatement> = [&a, &b, &c].iter().flat_map(|p| p.policy.statements()).collect();
        for p in [&mut a, &mut b, &mut c] {
            p.add_statements(all.clone());
        }
        (Peer { core: a }, Peer { core: b }, Peer { core: c })
    }

    #[test]
    fn a_batch_too_big_for_one_frame_is_sent_as_several_and_converges() {
        let (mut a, mut b, _c) = room3();
        // Nine pastes of 1 MiB: merged they exceed the 8 MiB frame limit.
        let chunk = "x".repeat(1024 * 1024);
        let mut updates = Vec::new();
        for i in 0..9u32 {
            updates.push(
                a.core
                    .apply_local(
                        &Edit::Insert {
                            file: "main.py".into(),
                            index: i * chunk.len() as u32,
                            text: chunk.clone(),
                        },
                        false,
                    )
                    .unwrap(),
            );
        }
        let (frames, unsent) = sign_frames(&a.core.key, &a.core.room, &updates);
        assert_eq!(unsent, 0);
        assert!(frames.len() >= 2, "split into {} frames", frames.len());
        for (_, bytes) in &frames {
            assert!(bytes.len() <= tandem_shared::protocol::MAX_FRAME_LEN as usize + 4);
            let tandem_shared::protocol::Frame::Update(u) =
                tandem_shared::protocol::Frame::decode(&bytes[4..]).unwrap()
            else {
                panic!("an update frame")
            };
            assert!(b.core.receive_update(&u).unwrap());
        }
        assert_eq!(b.core.code().text("main.py"), a.core.code().text("main.py"));
        assert_eq!(b.core.code().text("main.py").len(), 9 * chunk.len());
        // The usual case: one frame for the whole batch.
        let small: Vec<Vec<u8>> = (0..5)
            .map(|i| a.core.apply_local(&ins_at(i, "k"), false).unwrap())
            .collect();
        assert_eq!(sign_frames(&a.core.key, &a.core.room, &small).0.len(), 1);
    }

    fn ins_at(index: u32, text: &str) -> Edit {
        Edit::Insert {
            file: "main.py".into(),
            index,
            text: text.into(),
        }
    }

    fn ins(text: &str) -> Edit {
        Edit::Insert {
            file: "main.rs".into(),
            index: 0,
            text: text.into(),
        }
    }

    #[test]
    fn candidate_edit_reaches_everyone_through_forwarding() {
        let (mut a, mut b, mut c) = room3();
        let u = b.core.edit(&ins("hello"), false).unwrap();
        assert!(a.core.receive_update(&u).unwrap());
        assert!(c.core.receive_update(&u).unwrap());
        assert!(
            !a.core.receive_update(&u).unwrap(),
            "a duplicate is not forwarded again"
        );
        assert_eq!(c.core.code().text("main.rs"), "hello");
    }

    #[test]
    fn spectator_edit_is_refused_locally_and_by_every_peer() {
        let (mut a, mut b, mut c) = room3();
        assert!(matches!(c.core.edit(&ins("x"), false), Err(RoomError::Forbidden(_))));
        let forced = c.core.edit(&ins("x"), true).unwrap();
        assert!(matches!(a.core.receive_update(&forced), Err(RoomError::Forbidden(_))));
        assert!(matches!(b.core.receive_update(&forced), Err(RoomError::Forbidden(_))));
        // Nor does it sneak in through catch-up: signed it is refused the same way, unsigned it
        // is not even looked at.
        let sv = yrs::StateVector::default();
        for u in c.core.catch_up_for(&sv) {
            assert!(matches!(a.core.receive_update(&u), Err(RoomError::Forbidden(_))));
        }
        let diff = c.core.code().diff(&a.core.code().state_vector()).unwrap();
        let step2 = Message::Sync(SyncMessage::SyncStep2(diff)).encode_v1();
        assert!(matches!(
            a.core.receive_ysync(c.core.me(), &step2),
            Err(RoomError::Forbidden(_))
        ));
        assert_eq!(a.core.code().text("main.rs"), "");
    }

    #[test]
    fn read_only_candidate_keeps_earlier_text_but_new_edits_are_refused() {
        let (mut a, mut b, mut c) = room3();
        let u = b.core.edit(&ins("ok "), false).unwrap();
        a.core.receive_update(&u).unwrap();
        let bk = b.core.me().to_string();
        let ro = a.core.set_role(&bk, Role::Candidate, false).unwrap();
        b.core.add_statements(vec![ro.clone()]);
        c.core.add_statements(vec![ro]);
        let late = b.core.edit(&ins("evil "), true).unwrap();
        assert!(a.core.receive_update(&late).is_err());
        assert!(c.core.receive_update(&late).is_err());
        // A late joiner catching up (from anyone) gets the old text: insertions of the read-only
        // candidate below the frozen clock are still accepted, signed by the candidate.
        let mut late_joiner = RoomCore::open(SecretKey::generate(), a.core.room.clone(), None, None).unwrap();
        late_joiner.add_statements(a.core.policy().statements());
        let sv = late_joiner.code().doc().transact().state_vector();
        for u in a.core.catch_up_for(&sv) {
            late_joiner.receive_update(&u).unwrap();
        }
        assert_eq!(late_joiner.code().text("main.rs"), "ok ");
        // What the candidate offers beyond that is refused, whoever forwards it.
        let mut refused = 0;
        for u in b.core.catch_up_for(&sv) {
            match late_joiner.receive_update(&u) {
                Ok(_) => {}
                Err(RoomError::Forbidden(_)) => refused += 1,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(refused, 1);
        assert_eq!(late_joiner.code().text("main.rs"), "ok ");
    }

    #[test]
    fn tampered_update_is_refused() {
        let (mut a, mut b, _) = room3();
        let mut u = b.core.edit(&ins("hi"), false).unwrap();
        u.update = b.core.code().insert("main.rs", 0, "zz").unwrap();
        assert!(a.core.receive_update(&u).is_err());
    }

    #[test]
    fn garbage_sync_messages_are_errors() {
        let (mut a, b, _) = room3();
        for bytes in [
            &[][..],
            &[0xff, 0xff, 0xff, 0xff][..],
            &[0, 1, 200, 1, 2][..],
            &[1, 5, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f][..],
        ] {
            let _ = a.core.receive_ysync(b.core.me(), bytes);
        }
        let junk = RecordSync {
            heads: vec![],
            changes: vec![SignedChange {
                signature: [0; 64],
                change: b"junk".to_vec(),
            }],
        };
        assert!(a.core.receive_record(&junk).is_err());
    }

    #[test]
    fn presence_is_shared_and_spectator_record_changes_are_refused() {
        let (mut a, mut b, mut c) = room3();
        let p = Presence {
            name: "Bea".into(),
            colour: "#ff0000".into(),
            role: Role::Candidate,
            member: b.core.me().into(),
            cursor: None,
            selection: None,
            typing: true,
            away: false,
        };
        let msg = b.core.set_presence(&p).unwrap();
        assert!(matches!(
            a.core.receive_ysync(b.core.me(), &msg).unwrap(),
            SyncOutcome::ForwardAwareness
        ));
        assert_eq!(a.core.presence().len(), 1);
        assert_eq!(a.core.presence()[0].1.name, "Bea");

        assert!(c.core.change_record(|r| r.set_language("go")).is_err());
        // Forge it anyway by writing to the record directly, then sync it to the interviewer.
        c.core.record.set_language("go").unwrap();
        let theirs = a.core.record_heads();
        let forged = c.core.record_sync_for(&theirs);
        assert!(matches!(a.core.receive_record(&forged), Err(RoomError::Forbidden(_))));
        assert_eq!(a.core.record().language(), None);
    }

    /// A change written under another member's actor id, signed with the forger's own key (the
    /// best a modified peer can do).
    fn forge_record_change(
        forger: &mut RoomCore,
        victim: &str,
        write: impl FnOnce(&mut automerge::AutoCommit),
    ) -> RecordSync {
        use automerge::transaction::Transactable;
        let actor = automerge::ActorId::from(crate::identity::parse_key(victim).unwrap().as_bytes().as_slice());
        let mut forged = forger.record.doc_mut().fork().with_actor(actor);
        write(&mut forged);
        forged.put(automerge::ROOT, "forged", true).unwrap();
        let change = forged.get_last_local_change().unwrap();
        let signature = forger
            .key
            .sign(&SignedChange::signing_bytes(&forger.room, &change.hash().0))
            .to_bytes();
        RecordSync {
            heads: vec![],
            changes: vec![SignedChange {
                signature,
                change: change.raw_bytes().to_vec(),
            }],
        }
    }

    #[test]
    fn record_change_forged_as_the_interviewer_is_refused_and_the_real_ones_still_sync() {
        let (mut a, mut b, mut c) = room3();
        let interviewer = a.core.me().to_string();
        // The spectator takes the interviewer's actor id and next sequence number.
        let forged = forge_record_change(&mut c.core, &interviewer, |d| {
            use automerge::transaction::Transactable;
            d.put(automerge::ROOT, "language", "go").unwrap();
        });
        for peer in [&mut a, &mut b] {
            let err = peer.core.receive_record(&forged).unwrap_err();
            assert!(matches!(err, RoomError::Forbidden(_)), "{err}");
            assert!(err.to_string().contains("not signed by its actor"), "{err}");
            assert_eq!(peer.core.record().language(), None);
        }
        // The interviewer's own change (same actor, same sequence number as the forgery) still
        // reaches the candidate directly and, forwarded, the spectator.
        a.core.change_record(|r| r.set_language("rust")).unwrap();
        let theirs = b.core.record_heads();
        assert!(b.core.receive_record(&a.core.record_sync_for(&theirs)).unwrap());
        let theirs = c.core.record_heads();
        assert!(c.core.receive_record(&b.core.record_sync_for(&theirs)).unwrap());
        assert_eq!(b.core.record().language().as_deref(), Some("rust"));
        assert_eq!(c.core.record().language().as_deref(), Some("rust"));
    }

    #[test]
    fn record_change_with_a_signature_that_does_not_match_its_hash_is_refused() {
        let (mut a, mut b, _c) = room3();
        b.core.change_record(|r| r.set_language("go")).unwrap();
        let theirs = a.core.record_heads();
        let mut sync = b.core.record_sync_for(&theirs);
        assert_eq!(sync.changes.len(), 1);
        sync.changes[0].signature[0] ^= 1;
        assert!(matches!(a.core.receive_record(&sync), Err(RoomError::Forbidden(_))));
        assert_eq!(a.core.record().language(), None);
    }

    #[test]
    fn a_backdated_claim_of_the_interviewers_client_id_changes_nothing() {
        let (mut a, mut b, mut c) = room3();
        let stolen = a.core.code().client_id();
        // The spectator claims the interviewer's id, dated before everything, bound and unbound.
        let claims: Vec<SignedStatement> = [None, Some(7)]
            .into_iter()
            .map(|nonce| {
                sign_statement(
                    &c.core.key,
                    Statement {
                        room: c.core.room.clone(),
                        at_ms: 0,
                        body: StatementBody::ClientId {
                            client_id: stolen,
                            nonce,
                        },
                    },
                )
            })
            .collect();
        let owner = a.core.me().to_string();
        for peer in [&mut a, &mut b, &mut c] {
            peer.core.add_statements(claims.clone());
            assert_eq!(peer.core.policy().owner_of(stolen), Some(owner.as_str()));
        }
        let u = a.core.edit(&ins("still mine"), false).unwrap();
        assert!(b.core.receive_update(&u).unwrap());
        assert_eq!(b.core.code().text("main.rs"), "still mine");
    }

    #[test]
    fn removing_a_member_also_revokes_the_link_it_joined_with() {
        let (mut a, b, _c) = room3();
        let bk = b.core.me().to_string();
        let invite = a
            .core
            .policy()
            .statements()
            .into_iter()
            .find_map(|s| match s.statement.body {
                StatementBody::Join { invite } if s.signer == bk => Some(invite),
                _ => None,
            })
            .unwrap();
        a.core.policy().check_invite(&invite, now_ms()).unwrap();
        assert_eq!(a.core.revoke(&bk).unwrap().len(), 2);
        assert!(!a.core.policy().is_member(&bk));
        // The same link opened again (a private window: a new key) no longer admits anyone.
        let err = a.core.policy().check_invite(&invite, now_ms()).unwrap_err();
        assert!(err.to_string().contains("revoked"), "{err}");
    }

    /// The attack of issue 14 (1): a spectator builds a document under the interviewer's client
    /// id and offers it as catch-up. Unsigned it is refused; signed by the spectator it carries
    /// a client id that is not the signer's; "signed by the interviewer" it does not verify.
    #[test]
    fn catch_up_under_another_members_client_id_is_refused_by_every_peer() {
        let (mut a, mut b, mut c) = room3();
        let victim_id = a.core.code().client_id();
        let forged_doc = CodeDoc::new(victim_id);
        let forged = forged_doc.insert("main.rs", 0, "interviewer says: hire").unwrap();
        let step2 = Message::Sync(SyncMessage::SyncStep2(forged.clone())).encode_v1();
        let as_spectator = sign_updates(&c.core.key, &c.core.room, vec![forged.clone()]).unwrap();
        let mut as_interviewer = as_spectator.clone();
        as_interviewer.author = *a.core.key.public().as_bytes();
        for peer in [&mut a, &mut b] {
            assert!(matches!(
                peer.core.receive_ysync(c.core.me(), &step2),
                Err(RoomError::Forbidden(_))
            ));
            let err = peer.core.receive_update(&as_spectator).unwrap_err();
            assert!(err.to_string().contains("not theirs"), "{err}");
            assert!(peer.core.receive_update(&as_interviewer).is_err());
            assert_eq!(peer.core.code().text("main.rs"), "");
        }
        // The candidate's own text still catches up, forwarded by the spectator.
        let u = b.core.edit(&ins("def f(): pass"), false).unwrap();
        c.core.receive_update(&u).unwrap();
        let mut late = RoomCore::open(SecretKey::generate(), a.core.room.clone(), None, None).unwrap();
        late.add_statements(a.core.policy().statements());
        let sv = late.code().doc().transact().state_vector();
        for u in c.core.catch_up_for(&sv) {
            late.receive_update(&u).unwrap();
        }
        assert_eq!(late.code().text("main.rs"), "def f(): pass");
    }

    #[test]
    fn snapshots_come_only_from_interviewers_and_carry_what_a_member_deleted_before_losing_the_right() {
        let (mut a, mut b, mut c) = room3();
        let bk = b.core.me().to_string();
        for u in [
            b.core.edit(&ins("keep gone"), false).unwrap(),
            b.core
                .edit(
                    &Edit::Delete {
                        file: "main.rs".into(),
                        index: 4,
                        len: 5,
                    },
                    false,
                )
                .unwrap(),
        ] {
            a.core.receive_update(&u).unwrap();
        }
        assert_eq!(a.core.code().text("main.rs"), "keep");
        let ro = a.core.set_role(&bk, Role::Candidate, false).unwrap();
        let snap = a.core.take_fresh_snapshot().expect("a snapshot with the role change");
        // A late joiner: the candidate's deletion arrives only through the snapshot.
        let mut late = RoomCore::open(SecretKey::generate(), a.core.room.clone(), None, None).unwrap();
        late.add_statements(a.core.policy().statements());
        late.add_statements(vec![ro]);
        let sv = late.code().doc().transact().state_vector();
        assert!(late.receive_snapshot(&snap).unwrap());
        assert!(
            !late.receive_snapshot(&snap).unwrap(),
            "a snapshot already held changes nothing"
        );
        for u in a.core.catch_up_for(&sv) {
            late.receive_update(&u).unwrap();
        }
        assert_eq!(late.code().text("main.rs"), "keep");
        // A spectator's "snapshot" (signed as one) is refused, whatever it holds.
        let forged = c.core.code().insert("main.rs", 0, "EVIL ").unwrap();
        let mut fake = SignedUpdate {
            author: *c.core.key.public().as_bytes(),
            signature: [0; 64],
            update: forged,
        };
        fake.signature = c
            .core
            .key
            .sign(&SignedUpdate::snapshot_signing_bytes(&c.core.room, &fake.update))
            .to_bytes();
        assert!(matches!(late.receive_snapshot(&fake), Err(RoomError::Forbidden(_))));
        // Nor does an update signature pass as a snapshot's.
        let as_update = sign_updates(&a.core.key, &a.core.room, vec![a.core.code().snapshot()]).unwrap();
        assert!(late.receive_snapshot(&as_update).is_err());
        assert_eq!(late.code().text("main.rs"), "keep");
    }
}
