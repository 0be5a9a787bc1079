//! The room ↔ execution-node wire protocol, version 1 (ALPN [`EXEC_ALPN`] = `tandem/exec/1`).
//!
//! A room peer dials the node named in its room's session record, proves it is a member (the
//! room's signed statements, evaluated by the node with the same code the peers use), and then
//! asks for runs, cancels them and watches every run of its room. The node multicasts each
//! run's messages to every connected peer of that room, in one order; nothing is re-broadcast
//! by a peer, so no client can forge output.
//!
//! One bidirectional QUIC stream per connection, frames in both directions, framed like the room
//! protocol (`protocol.rs`):
//!
//! ```text
//! frame   = length:u32 (big endian, bytes after this field) body      (length ≤ MAX_FRAME_LEN)
//! body    = version:u8 (= 1) kind:u8 payload
//! kind 1  = client:  JSON [`ClientMsg`]      (peer → node: hello, policy, settings, watch, run, cancel,
//!                                             list_problems, get_problem)
//! kind 2  = server:  JSON [`ServerMsg`]      (node → peer: welcome, refused, error, ping, problems,
//!                                             problem, request_failed)
//! kind 3  = run:     JSON [`RoomRunMessage`] (node → peer: accepted, rejected, every run event)
//! ```
//!
//! Sequence: the peer sends `hello`; the node answers `welcome` or `refused` (then closes). The
//! peer sends `watch` to receive, first, every message of the room's runs still in flight, then
//! everything live. The node sends `ping` every [`PING_INTERVAL_MS`] so a peer notices a node
//! that went away (a killed process sends no goodbye) within [`NODE_TIMEOUT_MS`].
//!
//! Revisions ([`REVISION`], announced in `welcome.revision`; absent means 1) add messages
//! without changing the frame version:
//! - revision 2: the problem bank — `list_problems` / `get_problem` with a `request_id`,
//!   answered by `problems` / `problem` / `request_failed` with the same id. Only a problem's
//!   public part ([`PublicProblem`]) ever travels; hidden tests stay on the node. A run request
//!   may name a `problem`; the node judges it and the `finished` event carries `result.tests`.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::exec::RunRequest;
use crate::invite::{PeerAddr, RoomRef, SignedStatement};
use crate::problem::{ProblemSummary, PublicProblem};
use crate::room::Role;
use crate::room_run::{RoomRunMessage, RunKind};

/// QUIC ALPN of the exec protocol.
pub const EXEC_ALPN: &[u8] = b"tandem/exec/1";
/// The frame version this build speaks.
pub const VERSION: u8 = 1;
/// The message revision this build speaks (see the module doc).
pub const REVISION: u32 = 2;
/// Largest frame body: a run request carries up to 4 MiB of sources and stdin, plus JSON.
pub const MAX_FRAME_LEN: u32 = 8 * 1024 * 1024;
/// Bytes of the length prefix.
pub const LEN_PREFIX: usize = 4;
pub const KIND_CLIENT: u8 = 1;
pub const KIND_SERVER: u8 = 2;
pub const KIND_RUN: u8 = 3;
/// How often the node pings an idle connection.
pub const PING_INTERVAL_MS: u64 = 1000;
/// Silence after which a peer considers the node gone.
pub const NODE_TIMEOUT_MS: u64 = 5000;
/// Prefix of an execution node's ticket.
pub const TICKET_PREFIX: &str = "tandem-exec:";

/// Why a frame was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExecWireError {
    #[error("frame of {len} bytes exceeds the maximum of {MAX_FRAME_LEN} bytes")]
    TooLarge { len: u64 },
    #[error("empty frame (a frame needs at least a version and a kind byte)")]
    Empty,
    #[error("unsupported exec protocol version {got} (this side speaks version {VERSION})")]
    UnsupportedVersion { got: u8 },
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    #[error("malformed {what} frame: {detail}")]
    Malformed { what: &'static str, detail: String },
    #[error("bad execution node ticket: {0}")]
    BadTicket(String),
}

/// Peer → node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// The first frame: which room, and the proof of membership.
    Hello {
        room: RoomRef,
        /// Every statement the peer knows (joins with their invites, role changes, revocations).
        statements: Vec<SignedStatement>,
        /// The room's run settings, signed by an interviewer (they carry the endorsements).
        #[serde(default)]
        settings: Option<SignedExecSettings>,
        /// Display name, echoed in `run_accepted.by.name`.
        #[serde(default)]
        name: String,
    },
    /// Statements learnt since the hello (a role change, a revocation).
    Policy {
        statements: Vec<SignedStatement>,
    },
    /// Newer run settings.
    Settings {
        settings: SignedExecSettings,
    },
    /// Subscribe to every run of the room: what is in flight first, then live.
    Watch,
    Run {
        request_id: String,
        kind: RunKind,
        request: RunRequest,
    },
    Cancel {
        run_id: String,
    },
    /// Revision 2: the problems the node offers (answer: `problems`).
    ListProblems {
        request_id: String,
    },
    /// Revision 2: the public part of one problem (answer: `problem`).
    GetProblem {
        request_id: String,
        id: String,
    },
}

/// Node → peer control messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// Admitted: the node's id and the role it evaluated for this peer.
    Welcome {
        node: String,
        version: u8,
        role: Role,
        /// Message revision of the node (absent: 1).
        #[serde(default = "revision_one")]
        revision: u32,
    },
    /// Not admitted (the connection closes): not a member, revoked, a room this node does not serve.
    Refused { message: String },
    /// Something the peer sent was refused; the session continues.
    Error { message: String },
    /// Keep-alive.
    Ping,
    /// Revision 2: answer to `list_problems`.
    Problems {
        request_id: String,
        problems: Vec<ProblemSummary>,
    },
    /// Revision 2: answer to `get_problem`.
    Problem {
        request_id: String,
        problem: Box<PublicProblem>,
    },
    /// Revision 2: a request with a `request_id` (other than a run) was refused.
    RequestFailed { request_id: String, message: String },
}

fn revision_one() -> u32 {
    1
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecFrame {
    Client(ClientMsg),
    Server(ServerMsg),
    Run(RoomRunMessage),
}

impl ExecFrame {
    /// Encodes the frame with its length prefix.
    pub fn encode(&self) -> Result<Vec<u8>, ExecWireError> {
        let mut out = vec![0u8; LEN_PREFIX];
        out.push(VERSION);
        let r = match self {
            ExecFrame::Client(m) => {
                out.push(KIND_CLIENT);
                serde_json::to_writer(&mut out, m)
            }
            ExecFrame::Server(m) => {
                out.push(KIND_SERVER);
                serde_json::to_writer(&mut out, m)
            }
            ExecFrame::Run(m) => {
                out.push(KIND_RUN);
                serde_json::to_writer(&mut out, m)
            }
        };
        r.map_err(|e| ExecWireError::Malformed {
            what: "outgoing",
            detail: e.to_string(),
        })?;
        let len = (out.len() - LEN_PREFIX) as u64;
        if len > MAX_FRAME_LEN as u64 {
            return Err(ExecWireError::TooLarge { len });
        }
        out[..LEN_PREFIX].copy_from_slice(&(len as u32).to_be_bytes());
        Ok(out)
    }

    /// Checks a length prefix before the body is read.
    pub fn check_len(prefix: [u8; LEN_PREFIX]) -> Result<usize, ExecWireError> {
        let len = u32::from_be_bytes(prefix);
        if len > MAX_FRAME_LEN {
            return Err(ExecWireError::TooLarge { len: len as u64 });
        }
        if len < 2 {
            return Err(ExecWireError::Empty);
        }
        Ok(len as usize)
    }

    /// Decodes a frame body (without the length prefix).
    pub fn decode(body: &[u8]) -> Result<ExecFrame, ExecWireError> {
        if body.len() > MAX_FRAME_LEN as usize {
            return Err(ExecWireError::TooLarge { len: body.len() as u64 });
        }
        let [version, kind, payload @ ..] = body else {
            return Err(ExecWireError::Empty);
        };
        if *version != VERSION {
            return Err(ExecWireError::UnsupportedVersion { got: *version });
        }
        fn json<T: serde::de::DeserializeOwned>(what: &'static str, p: &[u8]) -> Result<T, ExecWireError> {
            serde_json::from_slice(p).map_err(|e| ExecWireError::Malformed {
                what,
                detail: e.to_string(),
            })
        }
        match *kind {
            KIND_CLIENT => json("client", payload).map(ExecFrame::Client),
            KIND_SERVER => json("server", payload).map(ExecFrame::Server),
            KIND_RUN => json("run", payload).map(ExecFrame::Run),
            other => Err(ExecWireError::UnknownKind(other)),
        }
    }
}

/// An organisation's statement that `interviewer` may use the organisation's execution nodes.
/// The node's operator lists the organisation key; interviewers carry their endorsement in the
/// room's run settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndorsementBody {
    /// Hex public key of the organisation (the signer).
    pub org: String,
    /// Hex public key of the interviewer.
    pub interviewer: String,
    /// Unix seconds after which the endorsement is void.
    pub expires_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endorsement {
    pub body: EndorsementBody,
    /// Hex ed25519 signature by `body.org` over [`EndorsementBody::signing_bytes`].
    pub signature: String,
}

impl EndorsementBody {
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = b"tandem-endorsement-v1\0".to_vec();
        out.extend(serde_json::to_vec(self).unwrap_or_default());
        out
    }
}

/// A room's run settings, stored in the session record (setting [`EXEC_SETTINGS_KEY`]) and
/// signed by an interviewer, so that neither a candidate editing the record nor anyone else can
/// point the room at another node or let spectators run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecSettings {
    pub room: RoomRef,
    /// The execution node's ticket ([`ExecTicket`]).
    pub ticket: String,
    #[serde(default)]
    pub spectators_may_run: bool,
    /// Endorsements of the signing interviewer (or others) by organisations.
    #[serde(default)]
    pub endorsements: Vec<Endorsement>,
    pub at_ms: u64,
    /// An interviewer turned runs off: the node refuses every run of the room. Left out of the
    /// JSON when false, so settings signed before this field existed still verify.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub runs_disabled: bool,
    /// The bank problem an interviewer chose for the room: the only one the node judges a
    /// Submit of this room against. Left out of the JSON when none, like `runs_disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Session-record setting that holds the JSON of the [`SignedExecSettings`].
pub const EXEC_SETTINGS_KEY: &str = "exec_node";

impl ExecSettings {
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = b"tandem-exec-settings-v1\0".to_vec();
        out.extend(serde_json::to_vec(self).unwrap_or_default());
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedExecSettings {
    pub settings: ExecSettings,
    /// Hex public key of the interviewer who signed.
    pub signer: String,
    pub signature: String,
}

/// How to reach an execution node: `tandem-exec:` + base64url(JSON [`PeerAddr`]) — its
/// endpoint id, relay URL and direct addresses, like a room peer's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecTicket(pub PeerAddr);

impl ExecTicket {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(&self.0).unwrap_or_default();
        format!(
            "{TICKET_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
        )
    }

    pub fn decode(s: &str) -> Result<ExecTicket, ExecWireError> {
        let s = s.trim();
        if s.len() > 8192 {
            return Err(ExecWireError::BadTicket("too long".into()));
        }
        let payload = s
            .strip_prefix(TICKET_PREFIX)
            .ok_or_else(|| ExecWireError::BadTicket(format!("expected it to start with {TICKET_PREFIX}")))?;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|e| ExecWireError::BadTicket(e.to_string()))?;
        serde_json::from_slice(&json)
            .map(ExecTicket)
            .map_err(|e| ExecWireError::BadTicket(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(f: ExecFrame) {
        let bytes = f.encode().unwrap();
        let len = ExecFrame::check_len(bytes[..4].try_into().unwrap()).unwrap();
        assert_eq!(len, bytes.len() - 4);
        assert_eq!(ExecFrame::decode(&bytes[4..]).unwrap(), f);
    }

    #[test]
    fn frames_round_trip() {
        round_trip(ExecFrame::Client(ClientMsg::Watch));
        round_trip(ExecFrame::Client(ClientMsg::Cancel { run_id: "r".into() }));
        round_trip(ExecFrame::Server(ServerMsg::Refused { message: "no".into() }));
        round_trip(ExecFrame::Server(ServerMsg::Ping));
        round_trip(ExecFrame::Client(ClientMsg::GetProblem {
            request_id: "q".into(),
            id: "two-sum".into(),
        }));
        round_trip(ExecFrame::Server(ServerMsg::RequestFailed {
            request_id: "q".into(),
            message: "no such problem".into(),
        }));
        // A revision-1 node's welcome reads as revision 1.
        let w: ServerMsg =
            serde_json::from_str(r#"{"type":"welcome","node":"n","version":1,"role":"candidate"}"#).unwrap();
        assert!(matches!(w, ServerMsg::Welcome { revision: 1, .. }));
        round_trip(ExecFrame::Run(RoomRunMessage::RunRejected {
            request_id: "q".into(),
            message: "rate limit".into(),
        }));
    }

    #[test]
    fn bad_frames_get_clear_errors() {
        assert_eq!(
            ExecFrame::check_len((MAX_FRAME_LEN + 1).to_be_bytes()),
            Err(ExecWireError::TooLarge {
                len: MAX_FRAME_LEN as u64 + 1
            })
        );
        assert_eq!(ExecFrame::decode(&[1]), Err(ExecWireError::Empty));
        assert_eq!(
            ExecFrame::decode(&[2, KIND_CLIENT]),
            Err(ExecWireError::UnsupportedVersion { got: 2 })
        );
        assert_eq!(ExecFrame::decode(&[1, 9]), Err(ExecWireError::UnknownKind(9)));
        assert!(matches!(
            ExecFrame::decode(&[1, KIND_CLIENT, b'{']),
            Err(ExecWireError::Malformed { .. })
        ));
    }

    #[test]
    fn tickets_round_trip_and_garbage_is_refused() {
        let t = ExecTicket(PeerAddr {
            id: "ab".repeat(32),
            relay: Some("http://127.0.0.1:3340/".into()),
            addrs: vec!["127.0.0.1:4000".into()],
        });
        assert_eq!(ExecTicket::decode(&t.encode()).unwrap(), t);
        assert!(ExecTicket::decode("tandem://join/x").is_err());
        assert!(ExecTicket::decode("tandem-exec:!!").is_err());
    }
}
