//! Counters of the web bridge, exported on `/metrics` next to the relay's.

use std::sync::atomic::{AtomicI64, AtomicU64};

/// Web sockets open on `/yjs/…`.
pub static BRIDGE_SOCKETS: AtomicI64 = AtomicI64::new(0);
/// Room peers running for bridged browsers.
pub static BRIDGE_NODES: AtomicI64 = AtomicI64::new(0);
/// Sockets refused (4401/4403).
pub static BRIDGE_REFUSED: AtomicU64 = AtomicU64::new(0);
/// Frames refused from web clients (malformed, unknown type, no edit right, too large).
pub static BRIDGE_MALFORMED: AtomicU64 = AtomicU64::new(0);
