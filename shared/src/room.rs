//! The room model: what a room *is*, independent of how it travels.
//!
//! - The code lives in a yrs document with one root `Y.Text` per file, named `file:<path>`.
//!   Offsets are UTF-16 code units because that is what Monaco (and Yjs in the browser) use,
//!   and updates are lib0 v1 so a stock Yjs 13 client can apply them.
//! - Presence is Yjs awareness; [`Presence`] is the JSON state each client publishes, with the
//!   usual 30 s expiry ([`PRESENCE_TIMEOUT_MS`]).
//! - The structured session record (settings, language, roles, run history) is an automerge
//!   document, [`SessionRecord`], because it is map/list-shaped and needs per-field merges.
//!
//! Nothing here does I/O; the peer in `tandem-room` owns the documents and moves the bytes.

use automerge::{transaction::Transactable, ActorId, AutoCommit, ObjType, ReadDoc, ScalarValue, Value, ROOT};
use serde::{Deserialize, Serialize};
use yrs::block::ClientID;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{Doc, GetString, OffsetKind, Options, ReadTxn, StateVector, Text, Transact, Update};

/// Prefix of the root `Y.Text` name of every file; the browser client uses the same names.
pub const FILE_PREFIX: &str = "file:";
/// Awareness states not renewed for this long are dropped (y-protocols' `outdatedTimeout`).
pub const PRESENCE_TIMEOUT_MS: u64 = 30_000;
/// How often a peer re-publishes its own presence so it does not expire (half the timeout).
pub const PRESENCE_RENEW_MS: u64 = 15_000;

/// Why the room model refused an operation or a payload.
#[derive(Debug, thiserror::Error)]
pub enum RoomModelError {
    #[error("position {index} is past the end of {file:?} (length {len} UTF-16 units)")]
    OutOfRange { file: String, index: u32, len: u32 },
    #[error("malformed yrs payload: {0}")]
    MalformedUpdate(String),
    #[error("yrs refused the update: {0}")]
    Apply(String),
    #[error("automerge: {0}")]
    Automerge(String),
}

/// Creates a document configured the way every Tandem peer and the browser expect.
pub fn new_doc(client_id: u64) -> Doc {
    // yrs client ids are 53-bit (JavaScript's safe integers).
    let mut options = Options::with_client_id(ClientID::new(client_id & ((1 << 53) - 1)));
    options.offset_kind = OffsetKind::Utf16;
    Doc::with_options(options)
}

/// The code of a room: a yrs document with one `Y.Text` per file.
#[derive(Clone)]
pub struct CodeDoc {
    doc: Doc,
}

impl CodeDoc {
    /// A fresh document whose local edits carry `client_id`.
    pub fn new(client_id: u64) -> Self {
        Self {
            doc: new_doc(client_id),
        }
    }

    /// Wraps an existing document (it must use [`OffsetKind::Utf16`], see [`new_doc`]).
    pub fn from_doc(doc: Doc) -> Self {
        Self { doc }
    }

    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    pub fn client_id(&self) -> u64 {
        self.doc.client_id().get()
    }

    fn text_name(file: &str) -> String {
        format!("{FILE_PREFIX}{file}")
    }

    /// Inserts `text` at UTF-16 offset `index` of `file`; returns the lib0 v1 update to send.
    pub fn insert(&self, file: &str, index: u32, text: &str) -> Result<Vec<u8>, RoomModelError> {
        let t = self.doc.get_or_insert_text(Self::text_name(file).as_str());
        let mut txn = self.doc.transact_mut();
        let len = t.len(&txn);
        if index > len {
            return Err(RoomModelError::OutOfRange {
                file: file.into(),
                index,
                len,
            });
        }
        t.insert(&mut txn, index, text);
        Ok(txn.encode_update_v1())
    }

    /// Deletes `len` UTF-16 units at `index` of `file`; returns the lib0 v1 update to send.
    pub fn delete(&self, file: &str, index: u32, len: u32) -> Result<Vec<u8>, RoomModelError> {
        let t = self.doc.get_or_insert_text(Self::text_name(file).as_str());
        let mut txn = self.doc.transact_mut();
        let total = t.len(&txn);
        if index.checked_add(len).is_none_or(|end| end > total) {
            return Err(RoomModelError::OutOfRange {
                file: file.into(),
                index: index.saturating_add(len),
                len: total,
            });
        }
        t.remove_range(&mut txn, index, len);
        Ok(txn.encode_update_v1())
    }

    /// The current text of `file` (empty if the file does not exist).
    pub fn text(&self, file: &str) -> String {
        let txn = self.doc.transact();
        match txn.get_text(Self::text_name(file).as_str()) {
            Some(t) => t.get_string(&txn),
            None => String::new(),
        }
    }

    /// Length of `file` in UTF-16 code units.
    pub fn len_utf16(&self, file: &str) -> u32 {
        let txn = self.doc.transact();
        txn.get_text(Self::text_name(file).as_str())
            .map(|t| t.len(&txn))
            .unwrap_or(0)
    }

    /// Names of the files present in the document.
    pub fn files(&self) -> Vec<String> {
        let txn = self.doc.transact();
        let mut names: Vec<String> = txn
            .root_refs()
            .filter_map(|(name, _)| name.strip_prefix(FILE_PREFIX).map(str::to_owned))
            .collect();
        names.sort();
        names
    }

    /// The state vector (lib0 v1), sent as sync step 1.
    pub fn state_vector(&self) -> Vec<u8> {
        self.doc.transact().state_vector().encode_v1()
    }

    /// Everything the holder of `remote_sv` is missing (lib0 v1), sent as sync step 2.
    pub fn diff(&self, remote_sv: &[u8]) -> Result<Vec<u8>, RoomModelError> {
        let sv = StateVector::decode_v1(remote_sv).map_err(|e| RoomModelError::MalformedUpdate(e.to_string()))?;
        Ok(self.doc.transact().encode_state_as_update_v1(&sv))
    }

    /// The whole document as one update (what persistence stores as a snapshot).
    pub fn snapshot(&self) -> Vec<u8> {
        self.doc.transact().encode_state_as_update_v1(&StateVector::default())
    }

    /// Applies a lib0 v1 update; malformed bytes are an error, never a panic.
    pub fn apply(&self, update: &[u8]) -> Result<(), RoomModelError> {
        let update = Update::decode_v1(update).map_err(|e| RoomModelError::MalformedUpdate(e.to_string()))?;
        self.doc
            .transact_mut()
            .apply_update(update)
            .map_err(|e| RoomModelError::Apply(e.to_string()))
    }
}

/// Who wrote what in an update: the per-client clock ranges of its insertions and whether it
/// deletes anything. Used to enforce roles, since yrs structs carry only a client id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSummary {
    /// `(client id, first clock, end clock exclusive)` of the structs in the update.
    pub clients: Vec<(u64, u32, u32)>,
    pub has_deletes: bool,
}

/// Summarises a lib0 v1 update without applying it.
pub fn summarize_update(update: &[u8]) -> Result<UpdateSummary, RoomModelError> {
    let u = Update::decode_v1(update).map_err(|e| RoomModelError::MalformedUpdate(e.to_string()))?;
    // Every inserted block (deleted or garbage-collected ones too: they were inserted by
    // someone), as (client, first clock, end clock) over the client's ranges in this update.
    let mut clients: Vec<(u64, u32, u32)> = Vec::new();
    for (client, ranges) in u.insertions(true).iter() {
        let mut lo = u32::MAX;
        let mut hi = 0;
        for r in ranges.iter() {
            lo = lo.min(r.start);
            hi = hi.max(r.end);
        }
        if hi > lo {
            clients.push((client.get(), lo, hi));
        }
    }
    clients.sort();
    Ok(UpdateSummary {
        clients,
        has_deletes: !u.delete_set().is_empty(),
    })
}

/// A participant's role in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the interview: edits, invites, changes roles, revokes.
    Interviewer,
    /// Edits the code unless an interviewer made them read-only.
    Candidate,
    /// Watches; never edits.
    Spectator,
}

impl Role {
    /// Whether this role may edit by default (an interviewer can make a candidate read-only).
    pub fn edits_by_default(self) -> bool {
        !matches!(self, Role::Spectator)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Interviewer => "interviewer",
            Role::Candidate => "candidate",
            Role::Spectator => "spectator",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "interviewer" => Ok(Role::Interviewer),
            "candidate" => Ok(Role::Candidate),
            "spectator" => Ok(Role::Spectator),
            other => Err(format!("unknown role {other:?} (interviewer, candidate or spectator)")),
        }
    }
}

/// A cursor or selection end in a file: UTF-16 offsets, like Monaco.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub file: String,
    pub anchor: u32,
    pub head: u32,
}

/// The awareness state a participant publishes (JSON, readable by the browser client).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub name: String,
    /// CSS colour, e.g. `#e91e63`.
    pub colour: String,
    pub role: Role,
    /// Hex endpoint id of the participant (lets others map presence to a member).
    pub member: String,
    #[serde(default)]
    pub cursor: Option<Cursor>,
    /// The selection, when it is not empty (anchor != head).
    #[serde(default)]
    pub selection: Option<Cursor>,
    #[serde(default)]
    pub typing: bool,
    /// The participant's window lost focus (the replay flags long absences). Optional in the
    /// JSON, so clients that do not publish it stay compatible.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub away: bool,
}

/// One run in the session record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEntry {
    pub at_ms: u64,
    /// Hex endpoint id of who ran it.
    pub by: String,
    pub language: String,
    /// Short outcome, e.g. `accepted`, `runtime_error`.
    pub verdict: String,
}

/// A finished run in the room's run history (session record map `run_history`, keyed by run
/// id, so the peers that each append the same run end up with one entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    /// When the node accepted the run (ms since the Unix epoch).
    pub at_ms: u64,
    /// Hex endpoint id of who ran it.
    pub by: String,
    /// The display name they gave.
    pub name: String,
    /// `run` or `submit`.
    pub kind: String,
    pub language: String,
    /// Hex SHA-256 of the files, as computed by the node.
    pub code_hash: String,
    /// A verdict name (`ok`, `runtime_error`, …) or `error` when the run could not finish.
    pub verdict: String,
    /// The start of the output (stdout and stderr interleaved), at most [`RUN_RECORD_OUTPUT`] bytes.
    pub output: String,
    /// Whether `output` was cut.
    pub truncated: bool,
}

/// Bytes of output a [`RunRecord`] keeps: the history is for the record, the live console
/// shows everything.
pub const RUN_RECORD_OUTPUT: usize = 4096;

/// The structured session record: an automerge document.
///
/// Layout (root map): `settings` (map of strings), `language` (string), `roles` (map from member
/// hex id to role name), `runs` (list of maps with the [`RunEntry`] fields). Later issues add
/// `problem`, `tests`, `chat`, `timer` next to these.
pub struct SessionRecord {
    doc: AutoCommit,
}

fn am_err(e: impl std::fmt::Display) -> RoomModelError {
    RoomModelError::Automerge(e.to_string())
}

impl SessionRecord {
    /// A new record whose changes are authored by `actor` (the member's 32-byte public key, so
    /// every peer can attribute and authorise each change).
    pub fn new(actor: &[u8]) -> Self {
        Self {
            doc: AutoCommit::new().with_actor(ActorId::from(actor)),
        }
    }

    /// Loads a saved record; further changes are authored by `actor`.
    pub fn load(bytes: &[u8], actor: &[u8]) -> Result<Self, RoomModelError> {
        let doc = AutoCommit::load(bytes)
            .map_err(am_err)?
            .with_actor(ActorId::from(actor));
        Ok(Self { doc })
    }

    pub fn doc(&self) -> &AutoCommit {
        &self.doc
    }

    pub fn doc_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    fn map(&mut self, key: &str) -> Result<automerge::ObjId, RoomModelError> {
        match self.doc.get(ROOT, key).map_err(am_err)? {
            Some((Value::Object(ObjType::Map), id)) => Ok(id),
            _ => self.doc.put_object(ROOT, key, ObjType::Map).map_err(am_err),
        }
    }

    fn read_str(&self, obj: &automerge::ObjId, key: &str) -> Option<String> {
        match self.doc.get(obj, key).ok()?? {
            (Value::Scalar(s), _) => match s.as_ref() {
                ScalarValue::Str(s) => Some(s.to_string()),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn set_language(&mut self, language: &str) -> Result<(), RoomModelError> {
        self.doc.put(ROOT, "language", language).map_err(am_err)
    }

    pub fn language(&self) -> Option<String> {
        self.read_str(&ROOT, "language")
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<(), RoomModelError> {
        let m = self.map("settings")?;
        self.doc.put(&m, key, value).map_err(am_err)
    }

    pub fn setting(&self, key: &str) -> Option<String> {
        let (_, m) = self.doc.get(ROOT, "settings").ok()??;
        self.read_str(&m, key)
    }

    /// Mirrors a member's role for display; authority stays with the signed statements.
    pub fn record_role(&mut self, member: &str, role: Role) -> Result<(), RoomModelError> {
        self.record_role_str(member, role.as_str())
    }

    /// Like [`SessionRecord::record_role`] with a free-form label (e.g. `revoked`).
    pub fn record_role_str(&mut self, member: &str, label: &str) -> Result<(), RoomModelError> {
        let m = self.map("roles")?;
        self.doc.put(&m, member, label).map_err(am_err)
    }

    pub fn roles(&self) -> Vec<(String, String)> {
        let Some((_, m)) = self.doc.get(ROOT, "roles").ok().flatten() else {
            return Vec::new();
        };
        self.doc
            .keys(&m)
            .filter_map(|k| self.read_str(&m, &k).map(|v| (k.clone(), v)))
            .collect()
    }

    pub fn push_run(&mut self, run: &RunEntry) -> Result<(), RoomModelError> {
        let list = match self.doc.get(ROOT, "runs").map_err(am_err)? {
            Some((Value::Object(ObjType::List), id)) => id,
            _ => self.doc.put_object(ROOT, "runs", ObjType::List).map_err(am_err)?,
        };
        let at = self.doc.length(&list);
        let entry = self.doc.insert_object(&list, at, ObjType::Map).map_err(am_err)?;
        self.doc.put(&entry, "at_ms", run.at_ms).map_err(am_err)?;
        self.doc.put(&entry, "by", run.by.as_str()).map_err(am_err)?;
        self.doc
            .put(&entry, "language", run.language.as_str())
            .map_err(am_err)?;
        self.doc.put(&entry, "verdict", run.verdict.as_str()).map_err(am_err)?;
        Ok(())
    }

    /// Adds a finished run to the history (a no-op when the run id is already there).
    pub fn put_run_record(&mut self, r: &RunRecord) -> Result<(), RoomModelError> {
        if self.has_run_record(&r.run_id) {
            return Ok(());
        }
        let m = self.map("run_history")?;
        let e = self
            .doc
            .put_object(&m, r.run_id.as_str(), ObjType::Map)
            .map_err(am_err)?;
        for (k, v) in [
            ("by", &r.by),
            ("name", &r.name),
            ("kind", &r.kind),
            ("language", &r.language),
            ("code_hash", &r.code_hash),
            ("verdict", &r.verdict),
            ("output", &r.output),
        ] {
            self.doc.put(&e, k, v.as_str()).map_err(am_err)?;
        }
        self.doc.put(&e, "at_ms", r.at_ms).map_err(am_err)?;
        self.doc.put(&e, "truncated", r.truncated).map_err(am_err)?;
        Ok(())
    }

    pub fn has_run_record(&self, run_id: &str) -> bool {
        self.doc
            .get(ROOT, "run_history")
            .ok()
            .flatten()
            .and_then(|(_, m)| self.doc.get(&m, run_id).ok().flatten())
            .is_some()
    }

    /// The run history, oldest first.
    pub fn run_history(&self) -> Vec<RunRecord> {
        let Some((_, m)) = self.doc.get(ROOT, "run_history").ok().flatten() else {
            return Vec::new();
        };
        let mut out: Vec<RunRecord> = self
            .doc
            .keys(&m)
            .filter_map(|id| {
                let (_, e) = self.doc.get(&m, id.as_str()).ok()??;
                let scalar = |k: &str| match self.doc.get(&e, k).ok()?? {
                    (Value::Scalar(s), _) => Some(s.into_owned()),
                    _ => None,
                };
                let at_ms = match scalar("at_ms") {
                    Some(ScalarValue::Uint(n)) => n,
                    Some(ScalarValue::Int(n)) => n as u64,
                    _ => 0,
                };
                let truncated = matches!(scalar("truncated"), Some(ScalarValue::Boolean(true)));
                let s = |k: &str| self.read_str(&e, k).unwrap_or_default();
                Some(RunRecord {
                    run_id: id.clone(),
                    at_ms,
                    by: s("by"),
                    name: s("name"),
                    kind: s("kind"),
                    language: s("language"),
                    code_hash: s("code_hash"),
                    verdict: s("verdict"),
                    output: s("output"),
                    truncated,
                })
            })
            .collect();
        out.sort_by(|a, b| (a.at_ms, &a.run_id).cmp(&(b.at_ms, &b.run_id)));
        out
    }

    pub fn runs(&self) -> Vec<RunEntry> {
        let Some((_, list)) = self.doc.get(ROOT, "runs").ok().flatten() else {
            return Vec::new();
        };
        (0..self.doc.length(&list))
            .filter_map(|i| {
                let (_, e) = self.doc.get(&list, i).ok()??;
                let at_ms = match self.doc.get(&e, "at_ms").ok()?? {
                    (Value::Scalar(s), _) => match s.as_ref() {
                        ScalarValue::Uint(n) => *n,
                        ScalarValue::Int(n) => *n as u64,
                        _ => 0,
                    },
                    _ => 0,
                };
                Some(RunEntry {
                    at_ms,
                    by: self.read_str(&e, "by")?,
                    language: self.read_str(&e, "language")?,
                    verdict: self.read_str(&e, "verdict")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_utf16_code_units_like_monaco() {
        let d = CodeDoc::new(1);
        d.insert("main.rs", 0, "a😀b").unwrap();
        // The emoji is two UTF-16 units, so "b" starts at 3.
        assert_eq!(d.len_utf16("main.rs"), 4);
        d.insert("main.rs", 3, "X").unwrap();
        assert_eq!(d.text("main.rs"), "a😀Xb");
        d.delete("main.rs", 1, 2).unwrap();
        assert_eq!(d.text("main.rs"), "aXb");
    }

    #[test]
    fn out_of_range_edit_is_an_error_not_a_panic() {
        let d = CodeDoc::new(1);
        assert!(matches!(d.insert("a", 5, "x"), Err(RoomModelError::OutOfRange { .. })));
        assert!(matches!(d.delete("a", 0, 1), Err(RoomModelError::OutOfRange { .. })));
    }

    #[test]
    fn one_text_per_file_and_state_vector_sync_converges() {
        let a = CodeDoc::new(1);
        let b = CodeDoc::new(2);
        a.insert("main.rs", 0, "fn main() {}").unwrap();
        b.insert("notes.md", 0, "hi").unwrap();
        a.apply(&b.diff(&a.state_vector()).unwrap()).unwrap();
        b.apply(&a.diff(&b.state_vector()).unwrap()).unwrap();
        assert_eq!(a.files(), vec!["main.rs".to_string(), "notes.md".to_string()]);
        assert_eq!(a.snapshot().len(), b.snapshot().len());
        assert_eq!(b.text("main.rs"), "fn main() {}");
    }

    #[test]
    fn malformed_update_is_rejected() {
        let d = CodeDoc::new(1);
        assert!(matches!(
            d.apply(&[0xff, 0xff, 0xff]),
            Err(RoomModelError::MalformedUpdate(_))
        ));
        assert!(summarize_update(b"garbage").is_err());
    }

    #[test]
    fn summary_names_the_authoring_clients() {
        let d = CodeDoc::new(42);
        let u = d.insert("f", 0, "hello").unwrap();
        let s = summarize_update(&u).unwrap();
        assert_eq!(s.clients, vec![(42, 0, 5)]);
        assert!(!s.has_deletes);
        let del = d.delete("f", 0, 2).unwrap();
        let s = summarize_update(&del).unwrap();
        assert!(s.clients.is_empty());
        assert!(s.has_deletes);
    }

    #[test]
    fn run_history_is_deduplicated_by_run_id_across_peers() {
        let mut a = SessionRecord::new(&[1; 32]);
        let mut b = SessionRecord::new(&[2; 32]);
        let r = RunRecord {
            run_id: "r1".into(),
            at_ms: 7,
            by: "aa".into(),
            name: "Ada".into(),
            kind: "run".into(),
            language: "python".into(),
            code_hash: "00".into(),
            verdict: "ok".into(),
            output: "1\n".into(),
            truncated: false,
        };
        a.put_run_record(&r).unwrap();
        b.put_run_record(&r).unwrap();
        a.put_run_record(&r).unwrap();
        let bytes_b = b.save();
        a.doc_mut().load_incremental(&bytes_b).unwrap();
        assert_eq!(a.run_history(), vec![r]);
    }

    #[test]
    fn session_record_merges_between_two_peers() {
        let mut a = SessionRecord::new(&[1; 32]);
        let mut b = SessionRecord::new(&[2; 32]);
        a.set_language("rust").unwrap();
        a.record_role("aa", Role::Interviewer).unwrap();
        b.push_run(&RunEntry {
            at_ms: 5,
            by: "bb".into(),
            language: "rust".into(),
            verdict: "accepted".into(),
        })
        .unwrap();
        b.set_setting("timer", "45m").unwrap();
        let bytes_b = b.save();
        a.doc_mut().load_incremental(&bytes_b).unwrap();
        assert_eq!(a.language().as_deref(), Some("rust"));
        assert_eq!(a.runs().len(), 1);
        assert_eq!(a.setting("timer").as_deref(), Some("45m"));
        assert_eq!(a.roles(), vec![("aa".to_string(), "interviewer".to_string())]);
        let saved = a.save();
        let c = SessionRecord::load(&saved, &[3; 32]).unwrap();
        assert_eq!(c.runs()[0].verdict, "accepted");
    }
}
