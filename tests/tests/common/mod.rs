//! Shared setup for the cross-process tests.
#![allow(dead_code)]

pub use tandem_tests::harness::*;

pub const PEER: &str = env!("CARGO_BIN_EXE_tt-peer");
pub const RELAY: &str = env!("CARGO_BIN_EXE_tt-relay");
pub const EXEC: &str = env!("CARGO_BIN_EXE_tt-exec");

/// A relay, a creator and its temp dirs.
pub struct World {
    pub relay: Relay,
    pub dirs: Vec<TempDir>,
}

impl World {
    pub fn new() -> World {
        World {
            relay: Relay::start(RELAY).expect("relay"),
            dirs: Vec::new(),
        }
    }

    pub fn dir(&mut self, tag: &str) -> std::path::PathBuf {
        let d = TempDir::new(tag);
        let p = d.path().to_path_buf();
        self.dirs.push(d);
        p
    }

    pub fn opts(&self, name: &'static str) -> PeerOpts<'_> {
        PeerOpts {
            relay: Some(&self.relay.url),
            direct: true,
            name,
            ..Default::default()
        }
    }

    pub fn create(&mut self, name: &'static str) -> Peer {
        let d = self.dir(name);
        Peer::start(PEER, &d, &self.opts(name), &["create"]).expect("create")
    }

    pub fn join(&mut self, name: &'static str, link: &str) -> Peer {
        let d = self.dir(name);
        Peer::start(PEER, &d, &self.opts(name), &["join", link]).expect("join")
    }
}
