//! Tandem rooms: peer-to-peer document sync over iroh.
//!
//! - [`identity`]: the persistent iroh key that is both endpoint id and signing key.
//! - [`policy`]: signed invites and statements, and their deterministic evaluation into members,
//!   roles and edit rights.
//! - [`core`]: the room state (code, presence, session record, policy) and the enforcement of
//!   roles on everything that arrives — pure logic, no network.
//! - [`store`]: sled persistence (reopen without network; reconnect by state vectors).
//! - [`wire`]: reading and writing length-prefixed frames on QUIC streams.
//! - [`node`]: the iroh endpoint, sessions with other peers, the mesh; [`accept`] is the accept
//!   loop it shares with the execution node's room path.
//! - [`local`]: Yjs clients in this process's care (a bridged browser, the desktop webview)
//!   speaking y-protocols with a room as this peer.
//! - [`runs`]: runs from the room: the connection to the room's execution node, run requests,
//!   the run messages every peer sees, the run history; [`exec_access`] signs and checks what
//!   the node relies on (run settings, endorsements); [`problems`]: the problem bank of the
//!   room's execution node, and choosing the room's problem.
//! - [`interview`]: interviewer controls (timer, runs on/off, editor lock), chat, the
//!   interviewers' private notes and scorecards, the replay timeline and the Markdown export.
//!
//! The wire contracts themselves are in `tandem_shared::protocol` and `tandem_shared::invite`.

pub mod accept;
pub mod core;
pub mod exec_access;
pub mod identity;
pub mod interview;
pub mod interview_api;
pub mod local;
pub mod node;
pub mod policy;
pub mod problems;
pub mod runs;
pub mod store;
pub mod wire;

pub use iroh;
pub use local::LocalClient;
pub use node::{bind_endpoint, bind_endpoint_trusting, endpoint_peer_addr, Node, NodeConfig, Room};

/// Everything that can go wrong in a room.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    #[error("identity: {0}")]
    Identity(String),
    #[error("bad signature: {0}")]
    BadSignature(String),
    #[error("invite refused: {0}")]
    InviteRefused(String),
    #[error("not a member: {0}")]
    NotAMember(String),
    #[error("bad statement: {0}")]
    BadStatement(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("rejected: {0}")]
    Rejected(String),
    #[error(transparent)]
    Model(#[from] tandem_shared::room::RoomModelError),
    #[error(transparent)]
    Protocol(#[from] tandem_shared::protocol::ProtocolError),
    #[error(transparent)]
    Invite(#[from] tandem_shared::invite::InviteError),
    #[error("storage: {0}")]
    Store(#[from] sled::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("network: {0}")]
    Net(String),
    #[error("unknown room {0}")]
    UnknownRoom(String),
    #[error("room closed")]
    Closed,
}
