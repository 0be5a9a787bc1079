//! sled persistence: each room is a tree holding a compacted snapshot plus the updates applied
//! since, the session record, the statements and the peers last seen.
//!
//! Why updates are appended rather than the snapshot rewritten: appending is O(update) per
//! keystroke; the snapshot is rewritten once per open (compaction), so a killed peer loses at
//! most what sled had not flushed yet and gets it back from the others by state vector.

use tandem_shared::invite::{PeerAddr, RoomRef, SignedStatement};

use crate::RoomError;

const META: &[u8] = b"meta";
const SNAPSHOT: &[u8] = b"snapshot";
const RECORD: &[u8] = b"record";
const STATEMENTS: &[u8] = b"statements";
const PEERS: &[u8] = b"peers";
const UPDATE_PREFIX: &[u8] = b"u:";

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
}

impl Store {
    pub fn open(path: &std::path::Path) -> Result<Self, RoomError> {
        let db = sled::Config::new().path(path).flush_every_ms(Some(100)).open()?;
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
        Ok(Loaded {
            room,
            updates,
            record,
            statements,
            peers,
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
        rs.compact(&d.snapshot()).unwrap();
        assert_eq!(rs.load().unwrap().updates.len(), 1);
        drop(rs);
        drop(store);
        std::fs::remove_dir_all(&dir).ok();
    }
}
