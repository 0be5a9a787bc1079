//! Helpers for the cross-process room tests: spawn a local relay and headless peers (real
//! processes, real QUIC on loopback), talk to peers over their JSON-lines interface, and load
//! the editing traces.

pub mod bench;
pub mod harness;
pub mod hostile;
pub mod traces;
