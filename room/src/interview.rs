//! The interview around the code, enforced by every peer:
//!
//! - **Controls** (timer, runs on/off, editor lock) are [`SignedControls`] in the session-record
//!   map `controls`, keyed by signer. Every peer reads the newest one that verifies and whose
//!   signer is an interviewer, and refuses session-record changes to that map by anyone who is
//!   not an interviewer ([`check_record_change`]), so a candidate can neither forge nor delete
//!   them. Locking the editor makes the candidates read-only with ordinary signed `set_role`
//!   statements, so it is enforced like any read-only member (live updates and catch-up). Turning
//!   runs off is refused by every peer's `request_run` and by the execution node (signed run
//!   settings carry `runs_disabled`).
//! - **Chat** is the session-record list `chat`. Any member may append (also spectators and
//!   read-only candidates: their changes may only insert new entries there); the author shown
//!   is the actor of the change, not a field anyone can type.
//! - **Private notes and scorecards** live in a second automerge document that is synced only
//!   between two interviewers' peers (frame kind 5): it is never sent to, and refused from,
//!   anyone else, so a candidate's peer never receives or stores it. Each interviewer writes
//!   only their own entries (`notes:<member>`, `scorecard:<member>`).
//! - **Replay**: every code update this peer applies is kept with its time and author (see
//!   `RoomCore::log_history`); the text at time t is the history up to t applied in order.

use std::collections::{BTreeMap, HashSet};

use automerge::{transaction::Transactable, ObjId as ExId, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use tandem_shared::interview::{
    build_tracks, summary_markdown, ChatMessage, Controls, HistoryUpdate, Marker, PrivateEntry, RunFact, Scorecard,
    SessionSummary, SignedControls, Timeline, TimerState, UpdateFacts, CHAT_KEY, CONTROLS_KEY, MAX_CHAT_LEN,
    MAX_NOTES_LEN,
};
use tandem_shared::room::{summarize_update, CodeDoc, Role};
use yrs::{Map, ReadTxn, Transact};

use crate::core::RoomCore;
use crate::identity::{sign_hex, verify_hex};
use crate::policy::{now_ms, short, Policy};
use crate::{Room, RoomError};

fn am(e: impl std::fmt::Display) -> RoomError {
    RoomError::Rejected(format!("automerge: {e}"))
}

/// The room's creator opens the chat list once, so later writers never race to create it.
pub(crate) fn init_record(core: &mut RoomCore) {
    if core.room().creator != core.me() {
        return;
    }
    let missing = !matches!(
        core.record().doc().get(ROOT, CHAT_KEY),
        Ok(Some((Value::Object(ObjType::List), _)))
    );
    if missing
        && core
            .record_mut_unchecked()
            .put_object(ROOT, CHAT_KEY, ObjType::List)
            .is_ok()
    {
        core.persist_record();
    }
}

fn obj_of(doc: &automerge::AutoCommit, key: &str) -> Option<(u64, automerge::ActorId)> {
    match doc.get(ROOT, key).ok()?? {
        (Value::Object(_), ExId::Id(counter, actor, _)) => Some((counter, actor)),
        _ => None,
    }
}

/// Whether one session-record change may be applied, given its author's role:
/// interviewers may change anything; members who may edit anything but the `controls` map;
/// other members (spectators, read-only candidates) may only append chat messages.
pub(crate) fn check_record_change(
    policy: &Policy,
    fork: &automerge::AutoCommit,
    change: &automerge::Change,
) -> Result<(), RoomError> {
    use automerge::legacy::{Key, ObjectId, OpType};
    let actor = tandem_shared::invite::to_hex(change.actor_id().to_bytes());
    let Some(member) = policy.member(&actor).filter(|m| !m.revoked) else {
        return Err(RoomError::Forbidden(format!(
            "session-record change by {}, who is not a member",
            short(&actor)
        )));
    };
    if member.is_admin() {
        return Ok(());
    }
    let editor = member.may_edit();
    let controls = obj_of(fork, CONTROLS_KEY);
    let chat = obj_of(fork, CHAT_KEY);
    let expanded = change.decode();
    let start = expanded.start_op.get();
    let mut created: HashSet<u64> = HashSet::new();
    let refuse = |why: &str| {
        Err(RoomError::Forbidden(format!(
            "session-record change by {} ({}): {why}",
            short(&actor),
            member.role.as_str()
        )))
    };
    for (i, op) in expanded.operations.iter().enumerate() {
        if matches!(op.action, OpType::Make(_)) {
            created.insert(start + i as u64);
        }
        match &op.obj {
            ObjectId::Root => {
                let key = match &op.key {
                    Key::Map(k) => k.as_str(),
                    Key::Seq(_) => "",
                };
                if key == CONTROLS_KEY {
                    return refuse("only interviewers change the controls");
                }
                if !editor {
                    return refuse("without the edit right only chat messages may be added");
                }
            }
            ObjectId::Id(id) => {
                let target = (id.0, id.1.clone());
                let own_new = id.1 == expanded.actor_id && created.contains(&id.0);
                if controls.as_ref() == Some(&target) {
                    return refuse("only interviewers change the controls");
                }
                if editor || own_new {
                    continue;
                }
                let append_to_chat =
                    chat.as_ref() == Some(&target) && op.insert && matches!(op.action, OpType::Make(_));
                if !append_to_chat {
                    return refuse("without the edit right only chat messages may be added");
                }
            }
        }
    }
    Ok(())
}

fn scalar_u64(doc: &automerge::AutoCommit, obj: &ExId, key: &str) -> u64 {
    match doc.get(obj, key).ok().flatten() {
        Some((Value::Scalar(s), _)) => match s.as_ref() {
            ScalarValue::Uint(n) => *n,
            ScalarValue::Int(n) => (*n).max(0) as u64,
            _ => 0,
        },
        _ => 0,
    }
}

fn scalar_str(doc: &automerge::AutoCommit, obj: &ExId, key: &str) -> Option<String> {
    match doc.get(obj, key).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    }
}

impl RoomCore {
    fn is_admin(&self, member: &str) -> bool {
        self.policy().member(member).is_some_and(|m| m.is_admin())
    }

    pub(crate) fn require_interviewer(&self) -> Result<(), RoomError> {
        if self.is_admin(self.me()) {
            Ok(())
        } else {
            Err(RoomError::Forbidden("only an interviewer can do this".into()))
        }
    }

    // ---- controls ----

    /// The room's controls: the newest that verifies and was signed by an interviewer.
    pub fn controls(&self) -> Controls {
        self.signed_controls()
            .map(|s| s.controls)
            .unwrap_or_else(|| Controls::initial(&self.room().id))
    }

    fn signed_controls(&self) -> Option<SignedControls> {
        let doc = self.record().doc();
        let (_, map) = doc.get(ROOT, CONTROLS_KEY).ok()??;
        let mut best: Option<SignedControls> = None;
        for key in doc.keys(&map) {
            let Some(json) = scalar_str(doc, &map, &key) else {
                continue;
            };
            let Ok(s) = serde_json::from_str::<SignedControls>(&json) else {
                continue;
            };
            let valid = s.signer == key
                && s.controls.room == self.room().id
                && self.is_admin(&s.signer)
                && verify_hex(&s.signer, &s.controls.signing_bytes(), &s.signature).is_ok();
            if !valid {
                tracing::debug!(signer = short(&key), "ignoring controls that do not verify");
                continue;
            }
            let newer = best
                .as_ref()
                .is_none_or(|b| (s.controls.at_ms, &s.signer) > (b.controls.at_ms, &b.signer));
            if newer {
                best = Some(s);
            }
        }
        best
    }

    /// Signs new controls derived from the current ones (interviewers only).
    pub fn update_controls(&mut self, f: impl FnOnce(&mut Controls, u64)) -> Result<Controls, RoomError> {
        self.require_interviewer()?;
        let mut c = self.controls();
        let now = now_ms();
        f(&mut c, now);
        c.room = self.room().id.clone();
        c.at_ms = now.max(c.at_ms + 1);
        let signed = SignedControls {
            signature: sign_hex(self.key(), &c.signing_bytes()),
            signer: self.me().to_string(),
            controls: c.clone(),
        };
        let json = serde_json::to_string(&signed).map_err(|e| RoomError::Rejected(e.to_string()))?;
        let me = self.me().to_string();
        let doc = self.record_mut_unchecked();
        let map = match doc.get(ROOT, CONTROLS_KEY).map_err(am)? {
            Some((Value::Object(ObjType::Map), id)) => id,
            _ => doc.put_object(ROOT, CONTROLS_KEY, ObjType::Map).map_err(am)?,
        };
        doc.put(&map, me.as_str(), json.as_str()).map_err(am)?;
        self.persist_record();
        self.bump_version();
        Ok(c)
    }

    // ---- chat ----

    /// Appends a chat message (any member).
    pub fn post_chat(&mut self, name: &str, text: &str) -> Result<ChatMessage, RoomError> {
        let text = text.trim_end();
        if text.trim().is_empty() {
            return Err(RoomError::Rejected("an empty message".into()));
        }
        if text.len() > MAX_CHAT_LEN || name.len() > 200 {
            return Err(RoomError::Rejected(format!(
                "a chat message has at most {MAX_CHAT_LEN} bytes"
            )));
        }
        if !self.policy().is_member(self.me()) {
            return Err(RoomError::Forbidden("not a member of this room".into()));
        }
        let may_edit = self.policy().may_edit(self.me());
        let id = format!("{:016x}", rand::random::<u64>());
        // After every message the writer has seen, so a reply never sorts before what it answers.
        let at_ms = now_ms().max(self.chat().last().map_or(0, |m| m.at_ms + 1));
        let doc = self.record_mut_unchecked();
        let list = match doc.get(ROOT, CHAT_KEY).map_err(am)? {
            Some((Value::Object(ObjType::List), l)) => l,
            _ if may_edit => doc.put_object(ROOT, CHAT_KEY, ObjType::List).map_err(am)?,
            _ => {
                return Err(RoomError::Rejected(
                    "the chat is not open yet (it opens when the room's creator syncs)".into(),
                ))
            }
        };
        let at = doc.length(&list);
        let e = doc.insert_object(&list, at, ObjType::Map).map_err(am)?;
        doc.put(&e, "id", id.as_str()).map_err(am)?;
        doc.put(&e, "at_ms", at_ms).map_err(am)?;
        doc.put(&e, "name", name).map_err(am)?;
        doc.put(&e, "text", text).map_err(am)?;
        self.persist_record();
        self.bump_version();
        Ok(ChatMessage {
            id,
            at_ms,
            by: self.me().to_string(),
            name: name.to_string(),
            text: text.to_string(),
        })
    }

    /// The chat, oldest first; `by` is the change's author.
    pub fn chat(&self) -> Vec<ChatMessage> {
        let doc = self.record().doc();
        let Some((_, list)) = doc.get(ROOT, CHAT_KEY).ok().flatten() else {
            return Vec::new();
        };
        let mut out: Vec<ChatMessage> = (0..doc.length(&list))
            .filter_map(|i| {
                let (_, e) = doc.get(&list, i).ok()??;
                let ExId::Id(_, actor, _) = &e else { return None };
                let mut text = scalar_str(doc, &e, "text")?;
                if text.len() > MAX_CHAT_LEN {
                    let mut cut = MAX_CHAT_LEN;
                    while !text.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    text.truncate(cut);
                }
                Some(ChatMessage {
                    id: scalar_str(doc, &e, "id").unwrap_or_default(),
                    at_ms: scalar_u64(doc, &e, "at_ms"),
                    by: tandem_shared::invite::to_hex(actor.to_bytes()),
                    name: scalar_str(doc, &e, "name").unwrap_or_default(),
                    text,
                })
            })
            .collect();
        out.sort_by(|a, b| (a.at_ms, &a.id).cmp(&(b.at_ms, &b.id)));
        out
    }

    // ---- private record ----

    /// Whether this peer shares the private record with `remote`: both must be interviewers.
    pub(crate) fn shares_private_with(&self, remote: &str) -> bool {
        self.is_admin(self.me()) && self.is_admin(remote)
    }

    pub(crate) fn private_sync_message(&mut self, state: &mut automerge::sync::State) -> Option<Vec<u8>> {
        use automerge::sync::SyncDoc;
        self.private.sync().generate_sync_message(state).map(|m| m.encode())
    }

    /// A private-record sync message from `sender`: refused unless both are interviewers and
    /// every change writes only its own author's entries. Returns whether it changed.
    pub(crate) fn receive_private_sync(
        &mut self,
        sender: &str,
        state: &mut automerge::sync::State,
        bytes: &[u8],
    ) -> Result<bool, RoomError> {
        use automerge::sync::SyncDoc;
        if !self.shares_private_with(sender) {
            return Err(RoomError::Forbidden(format!(
                "private notes from {}: only interviewers exchange them",
                short(sender)
            )));
        }
        let decode = || {
            automerge::sync::Message::decode(bytes)
                .map_err(|e| RoomError::Rejected(format!("malformed private message: {e}")))
        };
        let msg = crate::core::guarded("private message", decode)?;
        let before = self.private.get_heads();
        let mut fork = self.private.fork();
        let mut trial = state.clone();
        crate::core::guarded("private message", || {
            fork.sync().receive_sync_message(&mut trial, msg).map_err(am)
        })?;
        for change in fork.get_changes(&before) {
            check_private_change(self.policy(), &change)?;
        }
        let msg = crate::core::guarded("private message", decode)?;
        self.private.sync().receive_sync_message(state, msg).map_err(am)?;
        let changed = self.private.get_heads() != before;
        if changed {
            self.persist_private();
            self.bump_version();
        }
        Ok(changed)
    }

    fn persist_private(&mut self) {
        let bytes = self.private.save();
        if let Some(s) = self.store() {
            if let Err(e) = s.save_private(&bytes) {
                tracing::warn!(error = %e, "could not persist the private record");
            }
        }
    }

    /// Replaces this interviewer's private notes.
    pub fn set_notes(&mut self, notes: &str) -> Result<(), RoomError> {
        self.require_interviewer()?;
        if notes.len() > MAX_NOTES_LEN {
            return Err(RoomError::Rejected(format!("notes have at most {MAX_NOTES_LEN} bytes")));
        }
        let key = format!("notes:{}", self.me());
        self.private.put(ROOT, key.as_str(), notes).map_err(am)?;
        self.persist_private();
        self.bump_version();
        Ok(())
    }

    /// Replaces this interviewer's scorecard.
    pub fn set_scorecard(&mut self, card: &Scorecard) -> Result<(), RoomError> {
        self.require_interviewer()?;
        card.validate().map_err(RoomError::Rejected)?;
        let key = format!("scorecard:{}", self.me());
        let json = serde_json::to_string(card).map_err(|e| RoomError::Rejected(e.to_string()))?;
        self.private.put(ROOT, key.as_str(), json.as_str()).map_err(am)?;
        self.persist_private();
        self.bump_version();
        Ok(())
    }

    /// Every interviewer's notes and scorecard (interviewers only).
    pub fn private_entries(&self) -> Result<Vec<PrivateEntry>, RoomError> {
        self.require_interviewer()?;
        let mut by: BTreeMap<String, PrivateEntry> = BTreeMap::new();
        for key in self.private.keys(ROOT) {
            let Some((kind, member)) = key.split_once(':') else {
                continue;
            };
            let Ok(Some((Value::Scalar(v), _))) = self.private.get(ROOT, key.as_str()) else {
                continue;
            };
            let ScalarValue::Str(v) = v.as_ref() else { continue };
            let e = by.entry(member.to_string()).or_insert_with(|| PrivateEntry {
                member: member.to_string(),
                ..Default::default()
            });
            match kind {
                "notes" => e.notes = v.to_string(),
                "scorecard" => e.scorecard = serde_json::from_str(v).ok(),
                _ => {}
            }
        }
        Ok(by.into_values().collect())
    }

    // ---- replay ----

    /// Every code update this peer applied, oldest first.
    pub fn history(&self) -> &[HistoryUpdate] {
        &self.history
    }

    /// The files as they were at `t_ms` on this peer: the history up to `t_ms`, in order.
    pub fn replay_at(&self, t_ms: u64) -> BTreeMap<String, String> {
        replay(&self.history, t_ms)
    }

    /// The last history time and the files right then (what `replay_at` of that time returns).
    pub fn files_now(&self) -> (u64, BTreeMap<String, String>) {
        let at = self.history.last().map_or(0, |h| h.at_ms);
        let files = self
            .code()
            .files()
            .into_iter()
            .map(|f| (f.clone(), self.code().text(&f)))
            .collect();
        (at, files)
    }
}

/// Applies `history` up to `t_ms` to a fresh document and returns its files.
pub fn replay(history: &[HistoryUpdate], t_ms: u64) -> BTreeMap<String, String> {
    let doc = CodeDoc::new(1);
    for h in history.iter().take_while(|h| h.at_ms <= t_ms) {
        if let Err(e) = doc.apply(&h.update) {
            tracing::warn!(error = %e, "skipping a history entry that does not apply");
        }
    }
    doc.files().into_iter().map(|f| (f.clone(), doc.text(&f))).collect()
}

/// Each private-record change writes only its author's `notes:` / `scorecard:` keys, and its
/// author is an interviewer.
fn check_private_change(policy: &Policy, change: &automerge::Change) -> Result<(), RoomError> {
    use automerge::legacy::{Key, ObjectId};
    let actor = tandem_shared::invite::to_hex(change.actor_id().to_bytes());
    if !policy.member(&actor).is_some_and(|m| m.is_admin()) {
        return Err(RoomError::Forbidden(format!(
            "private-record change by {}, who is not an interviewer",
            short(&actor)
        )));
    }
    for op in change.decode().operations {
        let ok = matches!(op.obj, ObjectId::Root)
            && matches!(&op.key, Key::Map(k) if k.as_str() == format!("notes:{actor}") || k.as_str() == format!("scorecard:{actor}"));
        if !ok {
            return Err(RoomError::Forbidden(format!(
                "private-record change by {} writes someone else's entry",
                short(&actor)
            )));
        }
    }
    Ok(())
}

/// How a room's participants are named on the timeline and in the summary.
fn people(room: &Room) -> Vec<(String, String, String)> {
    let presence = room.presence();
    let runs = room.run_history();
    room.members()
        .into_iter()
        .map(|m| {
            let name = presence
                .iter()
                .find(|(_, p)| p.member == m.key)
                .map(|(_, p)| p.name.clone())
                .or_else(|| runs.iter().find(|r| r.by == m.key).map(|r| r.name.clone()))
                .unwrap_or_default();
            let role = if m.revoked {
                "revoked".to_string()
            } else {
                m.role.as_str().to_string()
            };
            (m.key, name, role)
        })
        .collect()
}

/// While the editor is locked, candidates who join (or are promoted) later are locked too.
///
/// Why a task: the lock is carried out as signed read-only statements for the candidates of the
/// moment (so every peer enforces it like any read-only member); a candidate admitted afterwards
/// would otherwise be able to type. Every interviewer's peer watches for that and signs the
/// missing statements; two doing it at once sign the same thing, which is harmless.
pub(crate) async fn keep_lock(room: Room) {
    let mut changed = room.subscribe();
    let mut seen = None;
    while changed.changed().await.is_ok() {
        // Most changes are keystrokes: only the controls and the members matter here.
        let revision = room.interview_revision();
        if seen == Some(revision) {
            continue;
        }
        seen = Some(revision);
        if room.with_core(|c| c.require_interviewer()).is_err() {
            continue;
        }
        let controls = room.controls();
        if !controls.editor_locked {
            continue;
        }
        // Only candidates the lock has not covered yet: one it covered may edit again because an
        // unlock is under way (its statements can arrive before the controls saying so), and
        // re-locking it would undo the unlock.
        let newcomers: Vec<String> = room
            .members()
            .iter()
            .filter(|m| m.role == Role::Candidate && m.can_edit && !m.revoked)
            .filter(|m| !controls.locked_members.contains(&m.key))
            .map(|m| m.key.clone())
            .collect();
        if !newcomers.is_empty() {
            if let Err(e) = room.lock_candidates(newcomers) {
                tracing::warn!(error = %e, "could not lock a newly admitted candidate");
            }
        }
    }
}

impl Room {
    /// A fingerprint of everything [`crate::interview_api::interview_state`] depends on: the
    /// session record's and private record's heads and the policy (which decides whose controls
    /// verify and who sees private entries). Equal fingerprints, equal state; so a bridge that
    /// pushes the state on every change can skip rebuilding it (controls verify signatures, chat
    /// is the whole list) on the far more frequent changes that are keystrokes.
    pub fn interview_revision(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        self.with_core(|c| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            c.record_mut_unchecked().get_heads().hash(&mut h);
            c.private.get_heads().hash(&mut h);
            c.policy().statement_count().hash(&mut h);
            h.finish()
        })
    }

    /// The room's interviewer controls as every peer evaluates them.
    pub fn controls(&self) -> Controls {
        self.with_core(|c| c.controls())
    }

    fn set_controls(&self, f: impl FnOnce(&mut Controls, u64)) -> Result<Controls, RoomError> {
        self.change_core(|c| c.update_controls(f))
    }

    /// Sets the countdown to `duration_ms`, stopped (interviewers only).
    pub fn timer_set(&self, duration_ms: u64) -> Result<Controls, RoomError> {
        self.set_controls(|c, _| c.timer = Some(TimerState::new(duration_ms)))
    }

    pub fn timer_start(&self) -> Result<Controls, RoomError> {
        self.set_controls(|c, now| c.timer.get_or_insert_with(|| TimerState::new(45 * 60_000)).start(now))
    }

    pub fn timer_pause(&self) -> Result<Controls, RoomError> {
        self.set_controls(|c, now| {
            if let Some(t) = c.timer.as_mut() {
                t.pause(now)
            }
        })
    }

    pub fn timer_extend(&self, by_ms: u64) -> Result<Controls, RoomError> {
        self.set_controls(|c, _| c.timer.get_or_insert_with(|| TimerState::new(0)).extend(by_ms))
    }

    /// Turns runs and submits on or off for everyone (interviewers only). Every peer refuses
    /// run requests while off, and the execution node does too (re-signed run settings).
    pub fn set_runs_enabled(&self, enabled: bool) -> Result<Controls, RoomError> {
        let c = self.set_controls(|c, _| c.runs_enabled = enabled)?;
        if let Some(s) = self.exec_settings() {
            if s.settings.runs_disabled == enabled {
                self.set_exec_settings_runs_disabled(!enabled)?;
            }
        }
        Ok(c)
    }

    /// Locks or unlocks the editor (interviewers only): locking makes every candidate who may
    /// edit read-only (signed `set_role`), unlocking gives exactly those the edit right back.
    pub fn lock_editor(&self, locked: bool) -> Result<Controls, RoomError> {
        self.with_core(|c| c.require_interviewer())?;
        let current = self.controls();
        let members = self.members();
        if locked {
            let targets: Vec<String> = members
                .iter()
                .filter(|m| m.role == Role::Candidate && m.can_edit && !m.revoked)
                .map(|m| m.key.clone())
                .collect();
            self.lock_candidates(targets)
        } else {
            for key in &current.locked_members {
                if members
                    .iter()
                    .any(|m| &m.key == key && m.role == Role::Candidate && !m.can_edit && !m.revoked)
                {
                    self.set_role(key, Role::Candidate, true)?;
                }
            }
            self.set_controls(|c, _| {
                c.editor_locked = false;
                c.locked_members.clear();
            })
        }
    }

    /// Makes `targets` (candidates) read-only and records them in the lock's `locked_members`,
    /// so an unlock gives exactly them the edit right back.
    fn lock_candidates(&self, targets: Vec<String>) -> Result<Controls, RoomError> {
        self.with_core(|c| c.require_interviewer())?;
        for m in &targets {
            self.set_role(m, Role::Candidate, false)?;
        }
        let mut all = self.controls().locked_members;
        all.extend(targets);
        all.sort();
        all.dedup();
        self.set_controls(move |c, _| {
            c.editor_locked = true;
            c.locked_members = all;
        })
    }

    /// Posts a chat message as this peer (any member).
    pub fn send_chat(&self, name: &str, text: &str) -> Result<ChatMessage, RoomError> {
        self.change_core(|c| c.post_chat(name, text))
    }

    pub fn chat(&self) -> Vec<ChatMessage> {
        self.with_core(|c| c.chat())
    }

    /// Replaces this interviewer's private notes (synced to the other interviewers only).
    pub fn set_notes(&self, notes: &str) -> Result<(), RoomError> {
        self.change_core(|c| c.set_notes(notes))
    }

    pub fn set_scorecard(&self, card: &Scorecard) -> Result<(), RoomError> {
        self.change_core(|c| c.set_scorecard(card))
    }

    /// Every interviewer's notes and scorecard; an error for anyone else.
    pub fn private_entries(&self) -> Result<Vec<PrivateEntry>, RoomError> {
        self.with_core(|c| c.private_entries())
    }

    /// The files at `t_ms` as this peer had them.
    pub fn replay_at(&self, t_ms: u64) -> BTreeMap<String, String> {
        let history = self.with_core(|c| c.history().to_vec());
        replay(&history, t_ms)
    }

    /// The last history time and the files then (for checking the replay).
    pub fn files_now(&self) -> (u64, BTreeMap<String, String>) {
        self.with_core(|c| c.files_now())
    }

    /// The session as a timeline: per-participant tracks (edits, large pastes, runs and
    /// submits, long absences) and the updates to rebuild the code at any moment.
    pub fn timeline(&self) -> Timeline {
        let (updates, away) = self.with_core(|c| (c.history().to_vec(), c.away_log.clone()));
        let facts: Vec<UpdateFacts> = updates
            .iter()
            .filter_map(|h| {
                let s = summarize_update(&h.update).ok()?;
                Some(UpdateFacts {
                    at_ms: h.at_ms,
                    author: h.author.clone(),
                    inserted: s.clients.iter().map(|(_, lo, hi)| hi - lo).sum(),
                    deleted: s.has_deletes,
                })
            })
            .collect();
        let runs: Vec<RunFact> = self.run_history().into_iter().map(RunFact::from).collect();
        let chat_start = self.chat().first().map(|m| m.at_ms);
        let start_ms = updates
            .iter()
            .map(|u| u.at_ms)
            .find(|t| *t > 0)
            .into_iter()
            .chain(runs.first().map(|r| r.at_ms))
            .chain(away.first().map(|a| a.at_ms))
            .chain(chat_start)
            .min()
            .unwrap_or(0);
        let end_ms = updates
            .last()
            .map(|u| u.at_ms)
            .into_iter()
            .chain(runs.last().map(|r| r.at_ms))
            .chain(away.last().map(|a| a.at_ms))
            .max()
            .unwrap_or(start_ms)
            .max(start_ms);
        let tracks = build_tracks(&people(self), &facts, &runs, &away, end_ms);
        Timeline {
            start_ms,
            end_ms,
            tracks,
            updates,
        }
    }

    /// The session summary (and, for an interviewer, every scorecard and the notes) as Markdown.
    pub fn export_markdown(&self) -> String {
        let timeline = self.timeline();
        let private = self.private_entries().unwrap_or_default();
        let (problem, files) = self.with_core(|c| {
            let doc = c.code().doc();
            let txn = doc.transact();
            let problem = txn.get_map("meta").and_then(|m| {
                let json = m.get(&txn, "problem_json").map(|v| v.to_string(&txn));
                let title = json
                    .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).ok())
                    .and_then(|v| v["title"].as_str().map(str::to_string));
                title.or_else(|| m.get(&txn, "problem").map(|v| v.to_string(&txn)))
            });
            drop(txn);
            let files: Vec<(String, String)> = c
                .code()
                .files()
                .into_iter()
                .map(|f| (f.clone(), c.code().text(&f)))
                .collect();
            (problem, files)
        });
        let runs: Vec<RunFact> = self.run_history().into_iter().map(RunFact::from).collect();
        let flags: Vec<Marker> = timeline
            .tracks
            .iter()
            .flat_map(|t| t.markers.iter())
            .filter(|m| matches!(m, Marker::Paste { .. } | Marker::Away { .. }))
            .cloned()
            .collect();
        let summary = SessionSummary {
            room: self.id().to_string(),
            problem,
            language: self.record(|r| r.language()),
            start_ms: timeline.start_ms,
            end_ms: now_ms().max(timeline.end_ms),
            participants: people(self).into_iter().map(|(m, n, r)| (n, r, m)).collect(),
            runs,
            chat: self.chat(),
            timer: self.controls().timer,
            private,
            flags,
            files,
        };
        summary_markdown(&summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Edit;
    use crate::policy::sign_statement;
    use iroh::SecretKey;
    use tandem_shared::invite::{PeerAddr, RoomRef, SignedStatement, Statement, StatementBody};

    fn addr() -> PeerAddr {
        PeerAddr {
            id: String::new(),
            relay: None,
            addrs: vec![],
        }
    }

    /// Interviewer (creator), candidate, spectator and a second interviewer.
    fn room4() -> Vec<RoomCore> {
        let ck = SecretKey::generate();
        let room = RoomRef {
            id: "ab".repeat(16),
            creator: crate::identity::key_hex(&ck.public()),
        };
        let a = RoomCore::open(ck, room.clone(), None, None).unwrap();
        let mut out = Vec::new();
        for role in [Role::Candidate, Role::Spectator, Role::Interviewer] {
            let k = SecretKey::generate();
            let inv = a.invite(role, role != Role::Spectator, 600, addr()).unwrap();
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
            out.push(core);
        }
        out.insert(0, a);
        let all: Vec<SignedStatement> = out.iter().flat_map(|p| p.policy().statements()).collect();
        for p in out.iter_mut() {
            p.add_statements(all.clone());
        }
        out
    }

    /// Syncs the session record from `from` to `to`; Err when `to` refuses.
    fn sync_record(from: &mut RoomCore, to: &mut RoomCore) -> Result<(), RoomError> {
        let theirs = to.record_heads();
        to.receive_record(&from.record_sync_for(&theirs))?;
        let theirs = from.record_heads();
        from.receive_record(&to.record_sync_for(&theirs))?;
        Ok(())
    }

    #[test]
    fn controls_are_signed_and_a_candidate_cannot_forge_or_remove_them() {
        let mut p = room4();
        let (head, rest) = p.split_at_mut(1);
        let (a, b) = (&mut head[0], &mut rest[0]);
        sync_record(a, b).unwrap();
        a.update_controls(|c, now| {
            c.runs_enabled = false;
            c.timer = Some(TimerState::new(60_000));
            c.timer.as_mut().unwrap().start(now);
        })
        .unwrap();
        sync_record(a, b).unwrap();
        assert_eq!(b.controls(), a.controls(), "both peers read the same controls");
        assert!(!b.controls().runs_enabled);
        // The candidate may not sign controls...
        assert!(b.update_controls(|c, _| c.runs_enabled = true).is_err());
        // ...and writing them into the record by hand is refused by the interviewer's peer.
        let doc = b.record_mut_unchecked();
        let (_, map) = doc.get(ROOT, CONTROLS_KEY).unwrap().unwrap();
        let keys: Vec<String> = doc.keys(&map).collect();
        doc.delete(&map, keys[0].as_str()).unwrap();
        let err = sync_record(b, a).unwrap_err();
        assert!(matches!(err, RoomError::Forbidden(_)), "{err}");
        assert!(!a.controls().runs_enabled, "the interviewer's controls stand");
    }

    #[test]
    fn spectators_may_chat_but_not_change_anything_else() {
        let mut p = room4();
        let (head, rest) = p.split_at_mut(1);
        let a = &mut head[0];
        let s = &mut rest[1];
        sync_record(a, s).unwrap();
        a.post_chat("Ivy", "hello").unwrap();
        sync_record(a, s).unwrap();
        s.post_chat("Sam", "hi | there").unwrap();
        sync_record(s, a).unwrap();
        let chat = a.chat();
        assert_eq!(chat.len(), 2);
        assert_eq!(chat[1].by, s.me(), "the author is the change's actor");
        assert!(a.post_chat("Ivy", "   ").is_err());
        assert!(a.post_chat("Ivy", &"x".repeat(MAX_CHAT_LEN + 1)).is_err());
        // Editing someone else's message (or anything else) is refused.
        let doc = s.record_mut_unchecked();
        let (_, list) = doc.get(ROOT, CHAT_KEY).unwrap().unwrap();
        let (_, first) = doc.get(&list, 0).unwrap().unwrap();
        doc.put(&first, "text", "forged").unwrap();
        assert!(matches!(sync_record(s, a), Err(RoomError::Forbidden(_))));
        assert_eq!(a.chat()[0].text, "hello");
    }

    #[test]
    fn private_notes_go_only_between_interviewers() {
        let mut p = room4();
        let mut i2 = p.pop().unwrap();
        let _spectator = p.pop().unwrap();
        let mut cand = p.pop().unwrap();
        let mut a = p.pop().unwrap();
        a.set_notes("MARKER strong on graphs").unwrap();
        a.set_scorecard(&Scorecard::rubric()).unwrap();
        assert!(cand.set_notes("x").is_err(), "a candidate has no notes");
        assert!(cand.private_entries().is_err());
        assert!(a.shares_private_with(i2.me()));
        assert!(!a.shares_private_with(cand.me()));
        // Interviewer to interviewer.
        let (mut sa, mut sb) = (automerge::sync::State::new(), automerge::sync::State::new());
        for _ in 0..6 {
            if let Some(m) = a.private_sync_message(&mut sa) {
                i2.receive_private_sync(a.me(), &mut sb, &m).unwrap();
            }
            if let Some(m) = i2.private_sync_message(&mut sb) {
                a.receive_private_sync(i2.me(), &mut sa, &m).unwrap();
            }
        }
        let entries = i2.private_entries().unwrap();
        assert_eq!(entries[0].notes, "MARKER strong on graphs");
        assert!(entries[0].scorecard.is_some());
        // A candidate's peer refuses it (it is never sent one; if it were, it would not keep it)...
        let mut s = automerge::sync::State::new();
        let m = a.private_sync_message(&mut automerge::sync::State::new()).unwrap();
        assert!(cand.receive_private_sync(a.me(), &mut s, &m).is_err());
        // ...and an interviewer refuses private changes from a candidate.
        cand.private
            .put(ROOT, format!("notes:{}", cand.me()), "forged")
            .unwrap();
        let m = cand.private_sync_message(&mut automerge::sync::State::new()).unwrap();
        assert!(a
            .receive_private_sync(cand.me(), &mut automerge::sync::State::new(), &m)
            .is_err());
        // An interviewer cannot overwrite another interviewer's notes.
        i2.private
            .put(ROOT, format!("notes:{}", a.me()), "overwritten")
            .unwrap();
        let mut st = automerge::sync::State::new();
        let mut refused = false;
        let mut sa2 = automerge::sync::State::new();
        for _ in 0..6 {
            if let Some(m) = i2.private_sync_message(&mut st) {
                if a.receive_private_sync(i2.me(), &mut sa2, &m).is_err() {
                    refused = true;
                    break;
                }
            }
            if let Some(m) = a.private_sync_message(&mut sa2) {
                let _ = i2.receive_private_sync(a.me(), &mut st, &m);
            }
        }
        assert!(refused);
        assert_eq!(a.private_entries().unwrap()[0].notes, "MARKER strong on graphs");
    }

    #[test]
    fn replay_at_t_is_exactly_the_text_at_t() {
        let mut p = room4();
        let mut a = p.remove(0);
        let mut b = p.remove(0);
        let mut snapshots = Vec::new();
        let edits = [(0, "fn main() {"), (11, "}"), (11, "\n    let x = 1;\n"), (4, "😀")];
        for (i, (pos, text)) in edits.iter().enumerate() {
            let e = Edit::Insert {
                file: "main.rs".into(),
                index: *pos,
                text: text.to_string(),
            };
            let u = if i % 2 == 0 {
                a.edit(&e, false)
            } else {
                b.edit(&e, false)
            }
            .unwrap();
            if i % 2 == 0 {
                b.receive_update(&u).unwrap();
            } else {
                a.receive_update(&u).unwrap();
            }
            snapshots.push(a.files_now());
        }
        let del = a
            .edit(
                &Edit::Delete {
                    file: "main.rs".into(),
                    index: 0,
                    len: 3,
                },
                false,
            )
            .unwrap();
        b.receive_update(&del).unwrap();
        snapshots.push(a.files_now());
        for (t, files) in &snapshots {
            assert_eq!(&a.replay_at(*t), files, "at {t}");
        }
        assert!(a.replay_at(snapshots[0].0 - 1).values().all(|t| t.is_empty()));
        assert_eq!(a.history().len(), 5);
        assert_eq!(a.history()[1].author, b.me(), "authors are kept");
    }
}
