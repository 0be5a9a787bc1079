//! sled persistence: each room is a tree holding a compacted snapshot plus the updates applied
//! since, the session record with its changes' signatures, the statements and the peers last seen.
//!
//! Why updates are appended rather than the snapshot rewritten: appending is O(update) per
//! keystroke; the snapshot is rewritten once per open (compaction), so a killed peer loses at
//! most what sled had not flushed yet and gets it back from the others by state vector.

use tandem_shared::interview::{AwayEvent, HistoryUpdate};
use tandem_shared::invite::{PeerAddr, RoomRef, SignedStatement};
use tandem_shared::protocol::SignedUpdate;

use crate::RoomError;

const META: &[u8] = b"meta";
const SNAPSHOT: &[u8] = b"snapshot";
const RECORD: &[u8] = b"record";
const STATEMENTS: &[u8] = b"statements";
const PEERS: &[u8] = b"peers";
const UPDATE_PREFIX: &[u8] = b"u:";
/// The interviewers' private record (notes, scorecards); only ever written on interviewers' peers.
const PRIVATE: &[u8] = b"private";
/// Replay history: every applied code update with its time and author, never compacted.
const HISTORY_PREFIX: &[u8] = b"h:";
/// Focus changes of members (for the replay's absence flags).
const AWAY_PREFIX: &[u8] = b"a:";
/// The signed log (what catch-up sends): `g:` ++ id → author (32) ++ signature (64) ++ update.
const SIGNED_PREFIX: &[u8] = b"g:";
/// Interviewers' newest snapshots: `n:` ++ signer key → author (32) ++ signature (64) ++ update.
const SNAPSHOT_PREFIX: &[u8] = b"n:";
/// Signatures of session-record changes: `s:` ++ change hash → signature (64 bytes).
const RECORD_SIG_PREFIX: &[u8] = b"s:";

/// `author (32) ++ signature (64) ++ update`.
fn encode_signed(u: &SignedUpdate) -> Vec<u8> {
    let mut value = Vec::with_capacity(96 + u.update.len());
    value.extend_from_slice(&u.author);
    value.extend_from_slice(&u.signature);
    value.extend_from_slice(&u.update);
    value
}

fn decode_signed(v: &[u8]) -> Option<SignedUpdate> {
    Some(SignedUpdate {
        author: v.get(..32)?.try_into().ok()?,
        signature: v.get(32..96)?.try_into().ok()?,
        update: v.get(96..)?.to_vec(),
    })
}

/// The database of one installation.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
}

/// One room's tree.
#[derive(Clone)]
pub struct RoomStore {
    tree: sled::Tree,
    db: sled::Db,
}

/// What a room's tree holds when it is opened.
pub struct Loaded {
    pub room: RoomRef,
    pub updates: Vec<Vec<u8>>,
    pub record: Option<Vec<u8>>,
    pub statements: Vec<SignedStatement>,
    pub peers: Vec<PeerAddr>,
    pub private: Option<Vec<u8>>,
    pub history: Vec<HistoryUpdate>,
    pub away: Vec<AwayEvent>,
    /// Session-record change hash → its author's signature.
    pub record_signatures: Vec<([u8; 32], [u8; 64])>,
    /// Every signed update applied, in order.
    pub signed_log: Vec<SignedUpdate>,
    /// The newest snapshot of each interviewer.
    pub snapshots: Vec<SignedUpdate>,
}

impl Store {
    pub fn open(path: &std::path::Path) -> Result<Self, RoomError> {
        // Through tandem_memory: sled's unused metric histograms (20 MiB) are given back.
        let db = tandem_memory::opening_sled(|| sled::Config::new().path(path).flush_every_ms(Some(100)).open())?;
        Ok(Self { db })
    }

    pub fn room(&self, room: &RoomRef) -> Result<RoomStore, RoomError> {
        let tree = self.db.open_tree(format!("room:{}", room.id))?;
        if tree.get(META)?.is_none() {
            tree.insert(
                META,
                serde_json::to_vec(room).map_err(|e| RoomError::Identity(e.to_string()))?,
            )?;
        }
        Ok(RoomStore {
            tree,
            db: self.db.clone(),
        })
    }

    /// Rooms present in the database.
    pub fn rooms(&self) -> Result<Vec<RoomRef>, RoomError> {
        let mut out = Vec::new();
        for name in self.db.tree_names() {
            if !name.starts_with(b"room:") {
                continue;
            }
            let tree = self.db.open_tree(&name)?;
            if let Some(meta) = tree.get(META)? {
                if let Ok(r) = serde_json::from_slice(&meta) {
                    out.push(r);
                }
            }
        }
        Ok(out)
    }
}

impl RoomStore {
    /// Reads everything stored for the room.
    pub fn load(&self) -> Result<Loaded, RoomError> {
        let meta = self
            .tree
            .get(META)?
            .ok_or_else(|| RoomError::UnknownRoom("no metadata".into()))?;
        let room: RoomRef = serde_json::from_slice(&meta).map_err(|e| RoomError::UnknownRoom(e.to_string()))?;
        let mut updates = Vec::new();
        if let Some(s) = self.tree.get(SNAPSHOT)? {
            updates.push(s.to_vec());
        }
        for kv in self.tree.scan_prefix(UPDATE_PREFIX) {
            let (_, v) = kv?;
            updates.push(v.to_vec());
        }
        let record = self.tree.get(RECORD)?.map(|v| v.to_vec());
        let statements = match self.tree.get(STATEMENTS)? {
            Some(v) => serde_json::from_slice(&v).unwrap_or_default(),
            None => Vec::new(),
        };
        let peers = match self.tree.get(PEERS)? {
            Some(v) => serde_json::from_slice(&v).unwrap_or_default(),
            None => Vec::new(),
        };
        let private = self.tree.get(PRIVATE)?.map(|v| v.to_vec());
        let mut history = Vec::new();
        for kv in self.tree.scan_prefix(HISTORY_PREFIX) {
            let (_, v) = kv?;
            match decode_history(&v) {
                Some(h) => history.push(h),
                None => tracing::warn!("skipping a malformed history entry"),
            }
        }
        let mut away = Vec::new();
        for kv in self.tree.scan_prefix(AWAY_PREFIX) {
            let (_, v) = kv?;
            if let Ok(e) = serde_json::from_slice(&v) {
                away.push(e);
            }
        }
        let mut record_signatures = Vec::new();
        for kv in self.tree.scan_prefix(RECORD_SIG_PREFIX) {
            let (k, v) = kv?;
            let hash = k
                .get(RECORD_SIG_PREFIX.len()..)
                .and_then(|h| <[u8; 32]>::try_from(h).ok());
            match (hash, <[u8; 64]>::try_from(v.as_ref())) {
                (Some(h), Ok(sig)) => record_signatures.push((h, sig)),
                _ => tracing::warn!("skipping a malformed session-record signature"),
            }
        }
        let signed_log = self.signed_entries(SIGNED_PREFIX)?;
        let snapshots = self.signed_entries(SNAPSHOT_PREFIX)?;
        Ok(Loaded {
            signed_log,
            snapshots,
            record_signatures,
            room,
            updates,
            record,
            statements,
            peers,
            private,
            history,
            away,
        })
    }

    /// Appends an applied update.
    pub fn append_update(&self, update: &[u8]) -> Result<(), RoomError> {
        let n = self.db.generate_id()?;
        let mut key = UPDATE_PREFIX.to_vec();
        key.extend_from_slice(&n.to_be_bytes());
        self.tree.insert(key, update)?;
        Ok(())
    }

    /// Replaces the snapshot and drops the appended updates it contains (atomically).
    pub fn compact(&self, snapshot: &[u8]) -> Result<(), RoomError> {
        let mut batch = sled::Batch::default();
        for kv in self.tree.scan_prefix(UPDATE_PREFIX) {
            let (k, _) = kv?;
            batch.remove(k);
        }
        batch.insert(SNAPSHOT, snapshot);
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    /// Appends a signed update to the log catch-up is answered from (kept across compactions).
    pub fn append_signed(&self, u: &SignedUpdate) -> Result<(), RoomError> {
        let n = self.db.generate_id()?;
        let mut key = SIGNED_PREFIX.to_vec();
        key.extend_from_slice(&n.to_be_bytes());
        self.tree.insert(key, encode_signed(u))?;
        Ok(())
    }

    /// Keeps an interviewer's newest snapshot (replacing its previous one).
    pub fn save_snapshot(&self, u: &SignedUpdate) -> Result<(), RoomError> {
        let mut key = SNAPSHOT_PREFIX.to_vec();
        key.extend_from_slice(&u.author);
        self.tree.insert(key, encode_signed(u))?;
        Ok(())
    }

    fn signed_entries(&self, prefix: &[u8]) -> Result<Vec<SignedUpdate>, RoomError> {
        let mut out = Vec::new();
        for kv in self.tree.scan_prefix(prefix) {
            let (_, v) = kv?;
            match decode_signed(&v) {
                Some(u) => out.push(u),
                None => tracing::warn!("skipping a malformed signed update"),
            }
        }
        Ok(out)
    }

    /// Keeps the signature of a session-record change (to forward the change later).
    pub fn save_record_signature(&self, hash: &[u8; 32], signature: &[u8; 64]) -> Result<(), RoomError> {
        let mut key = RECORD_SIG_PREFIX.to_vec();
        key.extend_from_slice(hash);
        self.tree.insert(key, signature.as_slice())?;
        Ok(())
    }

    /// Appends a replay history entry (kept across compactions).
    pub fn append_history(&self, h: &HistoryUpdate) -> Result<(), RoomError> {
        let n = self.db.generate_id()?;
        let mut key = HISTORY_PREFIX.to_vec();
        key.extend_from_slice(&n.to_be_bytes());
        self.tree.insert(key, encode_history(h))?;
        Ok(())
    }

    pub fn append_away(&self, e: &AwayEvent) -> Result<(), RoomError> {
        let n = self.db.generate_id()?;
        let mut key = AWAY_PREFIX.to_vec();
        key.extend_from_slice(&n.to_be_bytes());
        self.tree.insert(key, serde_json::to_vec(e).unwrap_or_default())?;
        Ok(())
    }

    pub fn save_private(&self, bytes: &[u8]) -> Result<(), RoomError> {
        self.tree.insert(PRIVATE, bytes)?;
        Ok(())
    }

    pub fn save_record(&self, bytes: &[u8]) -> Result<(), RoomError> {
        self.tree.insert(RECORD, bytes)?;
        Ok(())
    }

    pub fn save_statements(&self, s: &[SignedStatement]) -> Result<(), RoomError> {
        self.tree
            .insert(STATEMENTS, serde_json::to_vec(s).unwrap_or_default())?;
        Ok(())
    }

    pub fn save_peers(&self, p: &[PeerAddr]) -> Result<(), RoomError> {
        self.tree.insert(PEERS, serde_json::to_vec(p).unwrap_or_default())?;
        Ok(())
    }

    pub fn flush(&self) -> Result<(), RoomError> {
        self.tree.flush()?;
        Ok(())
    }
}

/// `at_ms:u64 BE ++ author_len:u8 ++ author ++ update` (binary: one entry per keystroke).
fn encode_history(h: &HistoryUpdate) -> Vec<u8> {
    let author = h.author.as_bytes();
    let author = &author[..author.len().min(255)];
    let mut out = Vec::with_capacity(9 + author.len() + h.update.len());
    out.extend_from_slice(&h.at_ms.to_be_bytes());
    out.push(author.len() as u8);
    out.extend_from_slice(author);
    out.extend_from_slice(&h.update);
    out
}

fn decode_history(b: &[u8]) -> Option<HistoryUpdate> {
    let at_ms = u64::from_be_bytes(b.get(..8)?.try_into().ok()?);
    let n = *b.get(8)? as usize;
    let author = std::str::from_utf8(b.get(9..9 + n)?).ok()?.to_string();
    Some(HistoryUpdate {
        at_ms,
        author,
        update: b.get(9 + n..)?.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_shared::room::CodeDoc;

    #[test]
    fn room_reopens_from_disk_without_network() {
        let dir = std::env::temp_dir().join(format!("tandem-store-{}", rand::random::<u64>()));
        let room = RoomRef {
            id: "01".repeat(16),
            creator: "02".repeat(32),
        };
        {
            let store = Store::open(&dir).unwrap();
            let rs = store.room(&room).unwrap();
            let d = CodeDoc::new(1);
            rs.append_update(&d.insert("main.rs", 0, "fn main() {").unwrap())
                .unwrap();
            rs.append_update(&d.insert("main.rs", 11, "}").unwrap()).unwrap();
            rs.flush().unwrap();
        }
        let store = Store::open(&dir).unwrap();
        assert_eq!(store.rooms().unwrap(), vec![room.clone()]);
        let rs = store.room(&room).unwrap();
        let loaded = rs.load().unwrap();
        let d = CodeDoc::new(2);
        for u in &loaded.updates {
            d.apply(u).unwrap();
        }
        assert_eq!(d.text("main.rs"), "fn main() {}");
        rs.append_history(&HistoryUpdate {
            at_ms: 7,
            author: "ab".into(),
            update: vec![1, 2, 3],
        })
        .unwrap();
        rs.compact(&d.snapshot()).unwrap();
        assert_eq!(rs.load().unwrap().updates.len(), 1);
        assert_eq!(
            rs.load().unwrap().history[0].update,
            vec![1, 2, 3],
            "history survives compaction"
        );
        drop(rs);
        drop(store);
        std::fs::remove_dir_all(&dir).ok();
    }
}
