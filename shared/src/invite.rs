//! Invites and the signed statements that define who is in a room and what they may do.
//!
//! A room is named by its creator's public key and a random id. The creator is the first
//! interviewer. Everything else about membership is a set of signed [`Statement`]s that every
//! peer gossips and evaluates the same way (see `tandem_room::policy`):
//!
//! - [`StatementBody::Join`]: a member presents an invite; signed by the member.
//! - [`StatementBody::SetRole`]: an interviewer changes a member's role or edit right.
//! - [`StatementBody::Revoke`] / [`StatementBody::RevokeInvite`]: an interviewer removes a member
//!   or makes an invite unusable.
//! - [`StatementBody::ClientId`]: a member claims a yrs client id, so every peer can attribute
//!   document insertions to a member.
//!
//! This module only defines the data and the exact bytes that are signed; signing and
//! verification (ed25519, the iroh key) live in `tandem-room`.

use crate::room::Role;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Scheme and path prefix of invite links.
pub const INVITE_LINK_PREFIX: &str = "tandem://join/";
/// Version of the invite encoding.
pub const INVITE_VERSION: u8 = 1;
/// Longest invite link accepted (an invite is a few hundred bytes).
pub const MAX_INVITE_LINK_LEN: usize = 8 * 1024;

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Parses lowercase or uppercase hex into exactly `N` bytes.
pub fn from_hex<const N: usize>(s: &str) -> Result<[u8; N], InviteError> {
    if s.len() != N * 2 {
        return Err(InviteError::BadHex(format!(
            "expected {} hex digits, got {}",
            N * 2,
            s.len()
        )));
    }
    let mut out = [0u8; N];
    let bytes = s.as_bytes();
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (bytes[2 * i] as char).to_digit(16);
        let lo = (bytes[2 * i + 1] as char).to_digit(16);
        match (hi, lo) {
            (Some(h), Some(l)) => *o = (h * 16 + l) as u8,
            _ => return Err(InviteError::BadHex(format!("not hex: {s:?}"))),
        }
    }
    Ok(out)
}

/// Why an invite or statement could not be parsed (verification errors are in `tandem-room`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InviteError {
    #[error("not a Tandem invite link (expected it to start with {INVITE_LINK_PREFIX})")]
    NotAnInviteLink,
    #[error("invite link is too long ({0} bytes)")]
    TooLong(usize),
    #[error("invite link is not valid base64url: {0}")]
    BadEncoding(String),
    #[error("invite is not valid JSON: {0}")]
    BadJson(String),
    #[error("unsupported invite version {0} (this build understands {INVITE_VERSION})")]
    UnsupportedVersion(u8),
    #[error("bad hex: {0}")]
    BadHex(String),
}

/// How to reach a peer: its endpoint id plus a relay URL and/or direct socket addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PeerAddr {
    /// Hex endpoint id (the peer's ed25519 public key).
    pub id: String,
    #[serde(default)]
    pub relay: Option<String>,
    #[serde(default)]
    pub addrs: Vec<String>,
}

/// Identity of a room: its creator (the first interviewer) and a random 16-byte id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub struct RoomRef {
    /// Hex, 32 digits.
    pub id: String,
    /// Hex public key of the creator, 64 digits.
    pub creator: String,
}

/// The signed part of an invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteBody {
    pub version: u8,
    pub room: RoomRef,
    pub role: Role,
    /// Whether the invited member may edit (a candidate can be invited read-only).
    pub can_edit: bool,
    /// Unix seconds after which the invite can no longer be used to join.
    pub expires_at: u64,
    /// Hex public key of the interviewer who issued it.
    pub issuer: String,
    /// Random hex id, so an interviewer can revoke this invite.
    pub nonce: String,
    /// A peer to contact first (usually the issuer).
    pub peer: PeerAddr,
}

/// A signed, expiring capability to join a room with a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    pub body: InviteBody,
    /// Hex ed25519 signature by `body.issuer` over [`InviteBody::signing_bytes`].
    pub signature: String,
}

impl InviteBody {
    /// The exact bytes the issuer signs: a domain tag and the canonical JSON of the body
    /// (serde emits struct fields in declaration order and the body has no maps).
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = b"tandem-invite-v1\0".to_vec();
        out.extend(serde_json::to_vec(self).unwrap_or_default());
        out
    }
}

impl Invite {
    /// The `tandem://join/…` link.
    pub fn to_link(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!(
            "{INVITE_LINK_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        )
    }

    /// Parses a link (surrounding whitespace allowed). Does not verify it.
    pub fn from_link(link: &str) -> Result<Self, InviteError> {
        let link = link.trim();
        if link.len() > MAX_INVITE_LINK_LEN {
            return Err(InviteError::TooLong(link.len()));
        }
        let payload = link
            .strip_prefix(INVITE_LINK_PREFIX)
            .ok_or(InviteError::NotAnInviteLink)?;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|e| InviteError::BadEncoding(e.to_string()))?;
        // Read the version first so a newer invite gets a clear error rather than a JSON one.
        let probe: serde_json::Value =
            serde_json::from_slice(&json).map_err(|e| InviteError::BadJson(e.to_string()))?;
        if let Some(v) = probe.pointer("/body/version").and_then(|v| v.as_u64()) {
            if v != INVITE_VERSION as u64 {
                return Err(InviteError::UnsupportedVersion(v.min(255) as u8));
            }
        }
        serde_json::from_value(probe).map_err(|e| InviteError::BadJson(e.to_string()))
    }
}

/// What a statement says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StatementBody {
    /// The signer joins using `invite`.
    Join { invite: Invite },
    /// An interviewer sets `member`'s role and edit right. `frozen` lists the member's yrs
    /// client ids with the clock up to which their insertions stay accepted after losing the
    /// edit right (what the interviewer had seen when making the change).
    SetRole {
        member: String,
        role: Role,
        can_edit: bool,
        #[serde(default)]
        frozen: Vec<(u64, u32)>,
    },
    /// An interviewer removes `member` from the room for good.
    Revoke {
        member: String,
        #[serde(default)]
        frozen: Vec<(u64, u32)>,
    },
    /// An interviewer makes the invite with this nonce unusable for joins after now.
    RevokeInvite { nonce: String },
    /// The signer's yrs client id for one session. With a `nonce`, the id is *bound*: it must
    /// equal `bound_client_id(signer, nonce)` (see `tandem_room::policy`), so nobody else can
    /// claim it. Without, it is a Yjs client's own id (a browser's), owned only while no other
    /// member claims it too.
    ClientId {
        client_id: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nonce: Option<u64>,
    },
}

/// A statement about a room, made at a time (milliseconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub room: RoomRef,
    pub at_ms: u64,
    pub body: StatementBody,
}

impl Statement {
    /// The exact bytes the signer signs.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = b"tandem-statement-v1\0".to_vec();
        out.extend(serde_json::to_vec(self).unwrap_or_default());
        out
    }
}

/// A statement with its signer and signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedStatement {
    pub statement: Statement,
    /// Hex public key.
    pub signer: String,
    /// Hex ed25519 signature over [`Statement::signing_bytes`].
    pub signature: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Invite {
        Invite {
            body: InviteBody {
                version: INVITE_VERSION,
                room: RoomRef {
                    id: "00".repeat(16),
                    creator: "11".repeat(32),
                },
                role: Role::Candidate,
                can_edit: true,
                expires_at: 1_900_000_000,
                issuer: "11".repeat(32),
                nonce: "22".repeat(16),
                peer: PeerAddr {
                    id: "11".repeat(32),
                    relay: Some("http://127.0.0.1:3340".into()),
                    addrs: vec![],
                },
            },
            signature: "33".repeat(64),
        }
    }

    #[test]
    fn invite_link_round_trips() {
        let i = invite();
        let link = i.to_link();
        assert!(link.starts_with("tandem://join/"));
        assert_eq!(Invite::from_link(&format!("  {link}\n")).unwrap(), i);
    }

    #[test]
    fn garbage_links_get_clear_errors() {
        assert_eq!(
            Invite::from_link("https://example.com"),
            Err(InviteError::NotAnInviteLink)
        );
        assert!(matches!(
            Invite::from_link("tandem://join/!!!"),
            Err(InviteError::BadEncoding(_))
        ));
        let not_json = format!(
            "tandem://join/{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("{")
        );
        assert!(matches!(Invite::from_link(&not_json), Err(InviteError::BadJson(_))));
        assert!(matches!(
            Invite::from_link(&"x".repeat(10_000)),
            Err(InviteError::TooLong(_))
        ));
    }

    #[test]
    fn newer_invite_version_is_named_in_the_error() {
        let mut i = invite();
        i.body.version = 9;
        assert_eq!(Invite::from_link(&i.to_link()), Err(InviteError::UnsupportedVersion(9)));
    }

    #[test]
    fn signing_bytes_change_with_every_field() {
        let a = invite();
        let mut b = invite();
        b.body.role = Role::Interviewer;
        assert_ne!(a.body.signing_bytes(), b.body.signing_bytes());
        let mut c = invite();
        c.body.expires_at += 1;
        assert_ne!(a.body.signing_bytes(), c.body.signing_bytes());
    }

    #[test]
    fn hex_round_trips_and_rejects_bad_input() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(from_hex::<4>(&to_hex(&bytes)).unwrap(), bytes);
        assert!(from_hex::<4>("zz00aabb").is_err());
        assert!(from_hex::<4>("00").is_err());
    }
}
