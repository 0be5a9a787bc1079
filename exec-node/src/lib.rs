//! Tandem's execution node: runs untrusted programs in throw-away containers with every limit
//! enforced, and streams their output while they run.
//!
//! The pieces, in the order a run meets them:
//! - [`request`] checks a [`RunRequest`](tandem_shared::exec::RunRequest) and resolves its
//!   language, files, commands and limits;
//! - [`node`] queues it (bounded), and hands it a slot;
//! - [`job`] starts a [`sandbox`] (a container whose entry point is `tandem-agent`), sends the
//!   job, and turns the agent's frames into [`RunEvent`](tandem_shared::exec::RunEvent)s;
//! - [`judge`] turns a run of a bank problem into its harness and judges it on the node
//!   (hidden tests never leave it);
//! - [`store`] keeps the record and the audit log; [`metrics`] counts.
//!
//! [`room_path`] serves room peers over iroh (`tandem/exec/1`) and multicasts every run of a
//! room to all its peers; [`cli`] is the `tandem-exec` command line.
//!
//! [`http`] serves the Piston-compatible API and Tandem's streaming endpoint behind [`auth`]
//! (API keys, rate limits); [`engine`] finds the Docker-API socket (Podman or Docker).

pub mod auth;
pub mod bench;
pub mod cache;
pub mod cli;
pub mod config;
pub mod engine;
pub mod events;
pub mod http;
pub mod job;
pub mod judge;
pub mod metrics;
pub mod node;
pub mod output;
pub mod piston;
pub mod pool;
pub mod request;
pub mod room_path;
pub mod sandbox;
pub mod schedule;
pub mod store;

pub use config::NodeConfig;
pub use engine::Engine;
pub use node::{Node, RunHandle, StartError, SubmitError};
