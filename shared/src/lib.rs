//! Tandem's contracts: the data that crosses a process or network boundary.
//!
//! Everything here is plain data with no I/O, so every component (the execution node, the
//! sandbox agent, later the relay, the desktop app and the UI) agrees on one definition and a
//! change to a contract is a visible change to this crate.
//!
//! - [`language`]: the language manifest (`languages.toml`), read by the node and the UI.
//! - [`problem`]: the problem bank's public part (no hidden tests, ever).
//! - [`exec`]: run requests, limits, verdicts and the streamed run events (version 1).
//! - [`sandbox`]: the framing between the node and the agent inside each sandbox.
//! - [`exec_wire`] (feature `room`): room peers ↔ execution node over iroh (`tandem/exec/1`);
//!   [`room_run`]: the run messages every peer of a room sees.

pub mod exec;
#[cfg(feature = "room")]
pub mod exec_wire;
pub mod interview;
#[cfg(feature = "room")]
pub mod invite;
pub mod language;
pub mod problem;
#[cfg(feature = "room")]
pub mod protocol;
#[cfg(feature = "room")]
pub mod room;
#[cfg(feature = "room")]
pub mod room_run;
pub mod sandbox;
