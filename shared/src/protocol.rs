//! The room wire protocol, version 2 (ALPN [`ALPN`] = `tandem/room/2`).
//!
//! A connection carries one bidirectional QUIC stream of frames in each direction:
//!
//! ```text
//! frame   = length:u32 (big endian, bytes after this field) body
//! body    = version:u8 (= 1) kind:u8 payload
//! kind 1  = control:   JSON [`Control`] (hello, policy statements, peer addresses, errors)
//! kind 2  = y-sync:    a y-protocols message, lib0 v1 (sync step 1, sync step 2, awareness)
//! kind 3  = update:    [`SignedUpdate`]: author key (32) ++ ed25519 signature (64) ++ lib0 v1 update
//! kind 4  = record:    [`RecordSync`]: the sender's session-record heads and signed automerge
//!                      changes (each signed by its actor's key; see [`RecordSync::encode`])
//! kind 5  = private:   an automerge sync message for the interviewers' private record (notes,
//!                      scorecards); sent only between two interviewers, refused from anyone else
//! kind 6  = catch-up:  signed updates from the sender's log, `count:u32` then each as
//!                      `len:u32 author:32 signature:64 update` — the answer to a sync step 1
//!                      (content the asker may lack), each checked like a live update, not forwarded
//! kind 7  = snapshot:  [`SignedUpdate`] layout, the whole document as an interviewer signed it
//!                      when changing someone's edit right ([`SignedUpdate::snapshot_signing_bytes`]):
//!                      how a late joiner gets what members who have lost the right once wrote
//! ```
//!
//! Frames longer than [`MAX_FRAME_LEN`] are refused before reading them, a frame with another
//! version or an unknown kind gets an [`ErrorCode`] back, and none of these crash the peer.
//! The version also lives in the ALPN so an incompatible peer fails at the handshake; the byte
//! in every frame lets a future version negotiate per frame without a new connection.

use crate::invite::{PeerAddr, RoomRef, SignedStatement};
use serde::{Deserialize, Serialize};

/// QUIC ALPN of the room protocol.
pub const ALPN: &[u8] = b"tandem/room/2";
/// The frame version this build speaks.
pub const VERSION: u8 = 2;
/// Largest frame body accepted. A full-document sync step 2 of a long interview is well under
/// this; anything larger is refused before allocation.
pub const MAX_FRAME_LEN: u32 = 8 * 1024 * 1024;
/// Bytes of the length prefix.
pub const LEN_PREFIX: usize = 4;

pub const KIND_CONTROL: u8 = 1;
pub const KIND_YSYNC: u8 = 2;
pub const KIND_UPDATE: u8 = 3;
pub const KIND_RECORD: u8 = 4;
pub const KIND_PRIVATE: u8 = 5;
pub const KIND_CATCH_UP: u8 = 6;
pub const KIND_SNAPSHOT: u8 = 7;

/// Why a frame was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("frame of {len} bytes exceeds the maximum of {MAX_FRAME_LEN} bytes")]
    TooLarge { len: u64 },
    #[error("empty frame (a frame needs at least a version and a kind byte)")]
    Empty,
    #[error("unsupported protocol version {got} (this peer speaks version {VERSION})")]
    UnsupportedVersion { got: u8 },
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    #[error("malformed {what} frame: {detail}")]
    Malformed { what: &'static str, detail: String },
}

impl ProtocolError {
    /// The code to send back to the peer that sent the bad frame.
    pub fn code(&self) -> ErrorCode {
        match self {
            ProtocolError::TooLarge { .. } => ErrorCode::TooLarge,
            ProtocolError::UnsupportedVersion { .. } => ErrorCode::UnsupportedVersion,
            ProtocolError::Empty | ProtocolError::UnknownKind(_) | ProtocolError::Malformed { .. } => {
                ErrorCode::Malformed
            }
        }
    }
}

/// A live document update, signed by its author so every peer (not only the first hop) can
/// check the author's edit right, even when the update is forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUpdate {
    pub author: [u8; 32],
    pub signature: [u8; 64],
    /// lib0 v1 Yjs update.
    pub update: Vec<u8>,
}

impl SignedUpdate {
    /// Bytes a signed update adds to a catch-up frame besides the update itself.
    pub const CATCH_UP_OVERHEAD: usize = 4 + 32 + 64;

    /// `count:u32` then `len:u32 author:32 signature:64 update` each; counts are checked against
    /// the bytes that remain before anything is allocated.
    fn decode_many(payload: &[u8]) -> Result<Vec<Self>, ProtocolError> {
        let bad = |detail: String| ProtocolError::Malformed {
            what: "catch-up",
            detail,
        };
        let mut r = Reader(payload);
        let count = u32::from_be_bytes(r.take::<4>().ok_or_else(|| bad("no count".into()))?) as usize;
        if count > r.0.len() / Self::CATCH_UP_OVERHEAD {
            return Err(bad(format!("{count} updates do not fit in {} bytes", r.0.len())));
        }
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let len = u32::from_be_bytes(r.take::<4>().ok_or_else(|| bad("truncated length".into()))?) as usize;
            let author = r.take::<32>().ok_or_else(|| bad("truncated author".into()))?;
            let signature = r.take::<64>().ok_or_else(|| bad("truncated signature".into()))?;
            let update = r.bytes(len).ok_or_else(|| bad("truncated update".into()))?.to_vec();
            out.push(SignedUpdate {
                author,
                signature,
                update,
            });
        }
        if !r.0.is_empty() {
            return Err(bad(format!("{} bytes after the last update", r.0.len())));
        }
        Ok(out)
    }

    /// `author:32 signature:64 update`.
    fn decode(payload: &[u8]) -> Result<Self, ProtocolError> {
        if payload.len() < 96 {
            return Err(ProtocolError::Malformed {
                what: "update",
                detail: format!("{} bytes is shorter than key and signature", payload.len()),
            });
        }
        let mut author = [0u8; 32];
        author.copy_from_slice(&payload[..32]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&payload[32..96]);
        Ok(SignedUpdate {
            author,
            signature,
            update: payload[96..].to_vec(),
        })
    }

    /// What an interviewer signs for a snapshot: another domain tag, so no snapshot can pass for
    /// an update or the reverse.
    pub fn snapshot_signing_bytes(room: &RoomRef, update: &[u8]) -> Vec<u8> {
        domain_bytes(b"tandem-snapshot-v1\0", room, update)
    }

    /// The exact bytes the author signs: a domain tag, the room id and the update.
    pub fn signing_bytes(room: &RoomRef, update: &[u8]) -> Vec<u8> {
        domain_bytes(b"tandem-update-v1\0", room, update)
    }
}

/// `tag ++ room id ++ 0 ++ payload`: what is signed, under a tag per kind of thing signed.
fn domain_bytes(tag: &[u8], room: &RoomRef, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tag.len() + room.id.len() + 1 + payload.len());
    out.extend_from_slice(tag);
    out.extend_from_slice(room.id.as_bytes());
    out.push(0);
    out.extend_from_slice(payload);
    out
}

/// One session-record (automerge) change with its author's signature: the actor of the change
/// is the author's member key, and the signature is over [`SignedChange::signing_bytes`], so no
/// peer can write under another member's name, and forwarded changes stay checkable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedChange {
    pub signature: [u8; 64],
    /// The change as automerge stores it (`Change::raw_bytes`).
    pub change: Vec<u8>,
}

impl SignedChange {
    /// The exact bytes the actor signs: a domain tag, the room id and the change hash.
    pub fn signing_bytes(room: &RoomRef, change_hash: &[u8; 32]) -> Vec<u8> {
        domain_bytes(b"tandem-record-change-v1\0", room, change_hash)
    }
}

/// Most heads a [`RecordSync`] may name (concurrent writers; a handful in practice).
pub const MAX_RECORD_HEADS: usize = 256;

/// Session-record sync (frame kind 4): what the sender has (its heads) and changes the receiver
/// may lack. A receiver answers with the changes the sender's heads do not cover.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordSync {
    pub heads: Vec<[u8; 32]>,
    pub changes: Vec<SignedChange>,
}

impl RecordSync {
    /// `heads:u16 (32 bytes each) changes:u32 (signature:64 len:u32 bytes each)`, big endian.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.heads.len() as u16).to_be_bytes());
        for h in &self.heads {
            out.extend_from_slice(h);
        }
        out.extend_from_slice(&(self.changes.len() as u32).to_be_bytes());
        for c in &self.changes {
            out.extend_from_slice(&c.signature);
            out.extend_from_slice(&(c.change.len() as u32).to_be_bytes());
            out.extend_from_slice(&c.change);
        }
    }

    /// Decodes a payload; every count is checked against the bytes that remain, so a hostile
    /// count cannot make the decoder allocate more than the frame holds.
    pub fn decode(payload: &[u8]) -> Result<Self, ProtocolError> {
        let bad = |detail: String| ProtocolError::Malformed { what: "record", detail };
        let mut r = Reader(payload);
        let heads_len = u16::from_be_bytes(r.take::<2>().ok_or_else(|| bad("no head count".into()))?) as usize;
        if heads_len > MAX_RECORD_HEADS {
            return Err(bad(format!("{heads_len} heads (at most {MAX_RECORD_HEADS})")));
        }
        let mut heads = Vec::with_capacity(heads_len);
        for _ in 0..heads_len {
            heads.push(r.take::<32>().ok_or_else(|| bad("truncated heads".into()))?);
        }
        let count = u32::from_be_bytes(r.take::<4>().ok_or_else(|| bad("no change count".into()))?) as usize;
        // Each change needs at least 68 bytes (signature and length).
        if count > r.0.len() / 68 {
            return Err(bad(format!("{count} changes do not fit in {} bytes", r.0.len())));
        }
        let mut changes = Vec::with_capacity(count);
        for _ in 0..count {
            let signature = r.take::<64>().ok_or_else(|| bad("truncated signature".into()))?;
            let len = u32::from_be_bytes(r.take::<4>().ok_or_else(|| bad("truncated length".into()))?) as usize;
            let change = r.bytes(len).ok_or_else(|| bad("truncated change".into()))?.to_vec();
            changes.push(SignedChange { signature, change });
        }
        if !r.0.is_empty() {
            return Err(bad(format!("{} bytes after the last change", r.0.len())));
        }
        Ok(Self { heads, changes })
    }
}

/// A cursor over a payload that never reads past its end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.bytes(N)?.try_into().ok()
    }
}

/// Machine-readable reason in an [`Control::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    UnsupportedVersion,
    Malformed,
    TooLarge,
    /// The hello did not prove membership (forged, expired or revoked invite; revoked member).
    NotAMember,
    /// A valid member did something its role does not allow (e.g. edit while read-only).
    Forbidden,
    UnknownRoom,
    Internal,
}

/// The first frame each side sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub room: RoomRef,
    /// Every statement the sender knows (joins, roles, revocations, client ids), so the other
    /// side can evaluate membership, including the sender's own join.
    pub statements: Vec<SignedStatement>,
    /// How to reach the sender again.
    pub addr: PeerAddr,
}

/// Control messages (frame kind 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Control {
    Hello(Hello),
    /// New statements to merge and forward.
    Policy {
        statements: Vec<SignedStatement>,
    },
    /// Addresses of the sender's other peers, so the mesh survives any one peer leaving.
    Peers {
        peers: Vec<PeerAddr>,
    },
    /// Something the receiver sent was refused. `fatal` means the sender closes the connection.
    Error {
        code: ErrorCode,
        message: String,
        fatal: bool,
    },
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Control(Control),
    /// y-protocols message bytes (decoded by the peer with `yrs::sync::Message`).
    YSync(Vec<u8>),
    Update(SignedUpdate),
    /// Session-record sync with signed changes.
    Record(RecordSync),
    /// Signed updates from the sender's log, answering a sync step 1 (not forwarded further).
    CatchUp(Vec<SignedUpdate>),
    /// The whole document signed by an interviewer (see [`SignedUpdate::snapshot_signing_bytes`]).
    Snapshot(SignedUpdate),
    /// automerge sync message bytes of the interviewers' private record (interviewer to
    /// interviewer only).
    Private(Vec<u8>),
}

impl Frame {
    pub fn error(code: ErrorCode, message: impl Into<String>, fatal: bool) -> Self {
        Frame::Control(Control::Error {
            code,
            message: message.into(),
            fatal,
        })
    }

    /// Encodes the frame with its length prefix.
    pub fn encode(&self) -> Result<Vec<u8>, ProtocolError> {
        let mut out = vec![0u8; LEN_PREFIX];
        out.push(VERSION);
        match self {
            Frame::Control(c) => {
                out.push(KIND_CONTROL);
                serde_json::to_writer(&mut out, c).map_err(|e| ProtocolError::Malformed {
                    what: "control",
                    detail: e.to_string(),
                })?;
            }
            Frame::YSync(b) => {
                out.push(KIND_YSYNC);
                out.extend_from_slice(b);
            }
            Frame::Update(u) | Frame::Snapshot(u) => {
                out.push(if matches!(self, Frame::Update(_)) {
                    KIND_UPDATE
                } else {
                    KIND_SNAPSHOT
                });
                out.extend_from_slice(&u.author);
                out.extend_from_slice(&u.signature);
                out.extend_from_slice(&u.update);
            }
            Frame::CatchUp(updates) => {
                out.push(KIND_CATCH_UP);
                out.extend_from_slice(&(updates.len() as u32).to_be_bytes());
                for u in updates {
                    out.extend_from_slice(&(u.update.len() as u32).to_be_bytes());
                    out.extend_from_slice(&u.author);
                    out.extend_from_slice(&u.signature);
                    out.extend_from_slice(&u.update);
                }
            }
            Frame::Record(r) => {
                out.push(KIND_RECORD);
                r.encode(&mut out);
            }
            Frame::Private(b) => {
                out.push(KIND_PRIVATE);
                out.extend_from_slice(b);
            }
        }
        let len = (out.len() - LEN_PREFIX) as u64;
        if len > MAX_FRAME_LEN as u64 {
            return Err(ProtocolError::TooLarge { len });
        }
        out[..LEN_PREFIX].copy_from_slice(&(len as u32).to_be_bytes());
        Ok(out)
    }

    /// Checks a length prefix before the body is read.
    pub fn check_len(prefix: [u8; LEN_PREFIX]) -> Result<usize, ProtocolError> {
        let len = u32::from_be_bytes(prefix);
        if len > MAX_FRAME_LEN {
            return Err(ProtocolError::TooLarge { len: len as u64 });
        }
        if len < 2 {
            return Err(ProtocolError::Empty);
        }
        Ok(len as usize)
    }

    /// Decodes a frame body (without the length prefix).
    pub fn decode(body: &[u8]) -> Result<Frame, ProtocolError> {
        if body.len() > MAX_FRAME_LEN as usize {
            return Err(ProtocolError::TooLarge { len: body.len() as u64 });
        }
        let [version, kind, payload @ ..] = body else {
            return Err(ProtocolError::Empty);
        };
        if *version != VERSION {
            return Err(ProtocolError::UnsupportedVersion { got: *version });
        }
        match *kind {
            KIND_CONTROL => serde_json::from_slice(payload)
                .map(Frame::Control)
                .map_err(|e| ProtocolError::Malformed {
                    what: "control",
                    detail: e.to_string(),
                }),
            KIND_YSYNC => Ok(Frame::YSync(payload.to_vec())),
            KIND_UPDATE => SignedUpdate::decode(payload).map(Frame::Update),
            KIND_CATCH_UP => SignedUpdate::decode_many(payload).map(Frame::CatchUp),
            KIND_SNAPSHOT => SignedUpdate::decode(payload).map(Frame::Snapshot),
            KIND_RECORD => RecordSync::decode(payload).map(Frame::Record),
            KIND_PRIVATE => Ok(Frame::Private(payload.to_vec())),
            other => Err(ProtocolError::UnknownKind(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(f: Frame) {
        let bytes = f.encode().unwrap();
        let len = Frame::check_len(bytes[..4].try_into().unwrap()).unwrap();
        assert_eq!(len, bytes.len() - 4);
        assert_eq!(Frame::decode(&bytes[4..]).unwrap(), f);
    }

    #[test]
    fn every_frame_kind_round_trips() {
        round_trip(Frame::YSync(vec![0, 0, 1, 0]));
        round_trip(Frame::Record(RecordSync {
            heads: vec![[3; 32], [4; 32]],
            changes: vec![SignedChange {
                signature: [5; 64],
                change: vec![0x85, 0x6f, 0x4a, 0x83, 1, 2],
            }],
        }));
        round_trip(Frame::Record(RecordSync::default()));
        round_trip(Frame::CatchUp(vec![
            SignedUpdate {
                author: [8; 32],
                signature: [6; 64],
                update: vec![0, 0],
            },
            SignedUpdate {
                author: [1; 32],
                signature: [2; 64],
                update: vec![],
            },
        ]));
        round_trip(Frame::CatchUp(vec![]));
        round_trip(Frame::Snapshot(SignedUpdate {
            author: [3; 32],
            signature: [4; 64],
            update: vec![1],
        }));
        round_trip(Frame::Update(SignedUpdate {
            author: [7; 32],
            signature: [9; 64],
            update: vec![1, 2, 3],
        }));
        round_trip(Frame::error(ErrorCode::Forbidden, "read-only", false));
        round_trip(Frame::Control(Control::Peers {
            peers: vec![PeerAddr {
                id: "ab".into(),
                relay: None,
                addrs: vec!["127.0.0.1:1".into()],
            }],
        }));
    }

    #[test]
    fn oversized_length_prefix_is_refused_before_reading() {
        let err = Frame::check_len((MAX_FRAME_LEN + 1).to_be_bytes()).unwrap_err();
        assert_eq!(
            err,
            ProtocolError::TooLarge {
                len: MAX_FRAME_LEN as u64 + 1
            }
        );
        assert_eq!(err.code(), ErrorCode::TooLarge);
        assert!(Frame::YSync(vec![0; MAX_FRAME_LEN as usize]).encode().is_err());
    }

    #[test]
    fn unknown_version_gets_a_clear_error() {
        let err = Frame::decode(&[1, KIND_YSYNC, 0]).unwrap_err();
        assert_eq!(err, ProtocolError::UnsupportedVersion { got: 1 });
        assert!(err.to_string().contains("version 1"));
        assert_eq!(err.code(), ErrorCode::UnsupportedVersion);
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        assert_eq!(Frame::decode(&[]), Err(ProtocolError::Empty));
        assert_eq!(Frame::decode(&[VERSION]), Err(ProtocolError::Empty));
        assert_eq!(Frame::decode(&[VERSION, 99]), Err(ProtocolError::UnknownKind(99)));
        assert!(matches!(
            Frame::decode(&[VERSION, KIND_CONTROL, b'{']),
            Err(ProtocolError::Malformed { .. })
        ));
        assert!(matches!(
            Frame::decode(&[VERSION, KIND_UPDATE, 1, 2]),
            Err(ProtocolError::Malformed { .. })
        ));
        assert_eq!(Frame::check_len([0, 0, 0, 1]), Err(ProtocolError::Empty));
        // A change count far beyond the bytes that follow is refused before allocating.
        let mut huge = vec![VERSION, KIND_RECORD, 0, 0];
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
        huge.extend_from_slice(&[0; 70]);
        assert!(matches!(Frame::decode(&huge), Err(ProtocolError::Malformed { .. })));
    }

    mod fuzz {
        use super::super::*;
        use proptest::prelude::*;

        fn signed_update() -> impl Strategy<Value = SignedUpdate> {
            (
                any::<[u8; 32]>(),
                prop::collection::vec(any::<u8>(), 64),
                prop::collection::vec(any::<u8>(), 0..64),
            )
                .prop_map(|(author, sig, update)| SignedUpdate {
                    author,
                    signature: sig.try_into().unwrap(),
                    update,
                })
        }

        fn frame() -> impl Strategy<Value = Frame> {
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..64).prop_map(Frame::YSync),
                signed_update().prop_map(Frame::Update),
                signed_update().prop_map(Frame::Snapshot),
                prop::collection::vec(signed_update(), 0..4).prop_map(Frame::CatchUp),
                (
                    prop::collection::vec(any::<[u8; 32]>(), 0..4),
                    prop::collection::vec(
                        (
                            prop::collection::vec(any::<u8>(), 64),
                            prop::collection::vec(any::<u8>(), 0..40)
                        ),
                        0..4
                    )
                )
                    .prop_map(|(heads, changes)| Frame::Record(RecordSync {
                        heads,
                        changes: changes
                            .into_iter()
                            .map(|(sig, change)| SignedChange {
                                signature: sig.try_into().unwrap(),
                                change,
                            })
                            .collect(),
                    })),
                prop::collection::vec(any::<u8>(), 0..64).prop_map(Frame::Private),
            ]
        }

        proptest! {
            /// No byte string makes a decoder panic or allocate beyond what it was given.
            #[test]
            fn any_bytes_decode_to_a_frame_or_an_error(body in prop::collection::vec(any::<u8>(), 0..512)) {
                let _ = Frame::decode(&body);
            }

            /// A valid frame with its counts and lengths mangled is an error, never a panic.
            #[test]
            fn mangled_frames_are_errors_not_panics(f in frame(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
                let mut bytes = f.encode().unwrap();
                let i = at.index(bytes.len() - LEN_PREFIX) + LEN_PREFIX;
                bytes[i] = byte;
                let _ = Frame::decode(&bytes[LEN_PREFIX..]);
            }

            #[test]
            fn every_frame_round_trips(f in frame()) {
                let bytes = f.encode().unwrap();
                prop_assert_eq!(Frame::decode(&bytes[LEN_PREFIX..]).unwrap(), f);
            }
        }
    }
}
