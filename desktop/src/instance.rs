//! One app per profile: a second launch (the OS opening a `tandem://join/…` link runs
//! `tandem-desktop <link>`) hands its request to the running app over a local socket and exits.
//!
//! Why not a second window: the room peer keeps its key and rooms in sled, which one process
//! locks, so a second process could not start its peer; and the user expects the link to land in
//! the window they already have. Why a Unix socket of our own rather than the single-instance
//! plugin: on Linux the plugin needs a D-Bus session bus (absent under plain Xvfb and on some
//! minimal desktops), and the socket sits in the profile directory, so "one instance" means
//! exactly "one process per sled store". Windows and macOS would use the plugin (macOS delivers
//! links as Apple events anyway, see docs/desktop.md); there every launch is its own process.
//!
//! Wire: the second process connects, writes one JSON line (`Launch`), reads `ok\n`.

use std::path::{Path, PathBuf};

use crate::desktop::Launch;

/// Largest request line accepted from a second instance (an invite link is < 1 KiB).
pub const MAX_LINE: usize = 16 * 1024;
pub const SOCKET_NAME: &str = "instance.sock";

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET_NAME)
}

/// A request from another launch, checked like any other input: a link must look like a join
/// link (the join command validates it fully), a room id must be a room id.
pub fn parse_request(line: &str) -> Result<Launch, String> {
    let l: Launch = serde_json::from_str(line.trim()).map_err(|e| format!("not a launch request: {e}"))?;
    if let Some(link) = &l.link {
        if link.len() > MAX_LINE || !link.starts_with(tandem_shared::invite::INVITE_LINK_PREFIX) {
            return Err("the link is not a tandem://join/ link".into());
        }
    }
    if let Some(id) = &l.open_room {
        crate::validate::room_id(id).map_err(|e| e.to_string())?;
    }
    Ok(l)
}

#[cfg(unix)]
pub use unix::{claim, Claim};

#[cfg(unix)]
mod unix {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::path::Path;
    use std::time::Duration;

    use super::{parse_request, socket_path, MAX_LINE};
    use crate::desktop::Launch;

    const TIMEOUT: Duration = Duration::from_secs(3);

    pub enum Claim {
        /// We are the first: serve later launches with [`serve`](Claim::serve).
        First(UnixListener),
        /// A running instance took the request; this process should exit.
        Forwarded,
    }

    impl std::fmt::Debug for Claim {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(match self {
                Claim::First(_) => "First",
                Claim::Forwarded => "Forwarded",
            })
        }
    }

    fn forward(path: &Path, launch: &Launch) -> std::io::Result<()> {
        let mut s = UnixStream::connect(path)?;
        s.set_read_timeout(Some(TIMEOUT))?;
        s.set_write_timeout(Some(TIMEOUT))?;
        let mut line = serde_json::to_string(launch).map_err(std::io::Error::other)?;
        line.push('\n');
        s.write_all(line.as_bytes())?;
        let mut ack = String::new();
        BufReader::new(s).take(64).read_line(&mut ack)?;
        if ack.trim() == "ok" {
            Ok(())
        } else {
            Err(std::io::Error::other(format!("the running app answered {ack:?}")))
        }
    }

    /// Becomes the profile's instance, or hands `launch` to the one that runs.
    pub fn claim(data_dir: &Path, launch: &Launch) -> std::io::Result<Claim> {
        std::fs::create_dir_all(data_dir)?;
        let path = socket_path(data_dir);
        for _ in 0..2 {
            match forward(&path, launch) {
                Ok(()) => return Ok(Claim::Forwarded),
                // Nobody listens: the file is left from a crash (or absent).
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                    ) =>
                {
                    let _ = std::fs::remove_file(&path);
                    match UnixListener::bind(&path) {
                        Ok(l) => return Ok(Claim::First(l)),
                        // Another launch bound it between our connect and bind: forward to it.
                        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::other(
            "could not claim or reach the app's instance socket",
        ))
    }

    /// Reads one request from a connection and acknowledges it.
    fn handle(stream: UnixStream) -> Result<Launch, String> {
        stream.set_read_timeout(Some(TIMEOUT)).map_err(|e| e.to_string())?;
        let mut line = String::new();
        BufReader::new(&stream)
            .take(MAX_LINE as u64 + 1)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if line.len() > MAX_LINE {
            return Err("request too long".into());
        }
        let launch = parse_request(&line);
        let mut w = &stream;
        let _ = w.write_all(if launch.is_ok() { b"ok\n" } else { b"refused\n" });
        launch
    }

    impl Claim {
        /// Accepts later launches on a thread of its own and passes each valid request to
        /// `on_launch` (a bad one is logged and refused: it cannot crash the app).
        pub fn serve(listener: UnixListener, on_launch: impl Fn(Launch) + Send + 'static) {
            std::thread::Builder::new()
                .name("tandem-instance".into())
                .spawn(move || {
                    for conn in listener.incoming() {
                        match conn.map_err(|e| e.to_string()).and_then(handle) {
                            Ok(l) => on_launch(l),
                            Err(e) => tracing::warn!(error = %e, "refused a request from another launch"),
                        }
                    }
                })
                .map(|_| ())
                .unwrap_or_else(|e| tracing::warn!(error = %e, "no instance thread"));
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::sync::mpsc;

        fn link() -> Launch {
            Launch {
                link: Some("tandem://join/abc".into()),
                open_room: None,
            }
        }

        #[test]
        fn a_second_launch_hands_its_link_to_the_first() {
            let dir = tempfile::tempdir().unwrap();
            let Claim::First(l) = claim(dir.path(), &Launch::default()).unwrap() else {
                panic!("the first launch must claim the profile");
            };
            let (tx, rx) = mpsc::channel();
            Claim::serve(l, move |launch| tx.send(launch).unwrap());
            assert!(matches!(claim(dir.path(), &link()).unwrap(), Claim::Forwarded));
            assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), link());
            let room = Launch {
                link: None,
                open_room: Some("ab".repeat(16)),
            };
            assert!(matches!(claim(dir.path(), &room).unwrap(), Claim::Forwarded));
            assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), room);
        }

        #[test]
        fn a_stale_socket_from_a_crash_is_replaced() {
            let dir = tempfile::tempdir().unwrap();
            // A bound-then-dropped listener leaves its file behind, like a killed app.
            drop(UnixListener::bind(socket_path(dir.path())).unwrap());
            assert!(socket_path(dir.path()).exists());
            assert!(matches!(claim(dir.path(), &link()).unwrap(), Claim::First(_)));
        }

        #[test]
        fn bad_requests_are_refused_and_the_app_keeps_serving() {
            let dir = tempfile::tempdir().unwrap();
            let Claim::First(l) = claim(dir.path(), &Launch::default()).unwrap() else {
                panic!("first");
            };
            let (tx, rx) = mpsc::channel();
            Claim::serve(l, move |launch| tx.send(launch).unwrap());
            let path = socket_path(dir.path());
            for bad in [
                "garbage\n".to_string(),
                "{\"link\":\"https://example.org\"}\n".into(),
                "{\"open_room\":\"../../etc\"}\n".into(),
                format!("{{\"link\":\"tandem://join/{}\"}}\n", "a".repeat(MAX_LINE)),
            ] {
                let mut s = UnixStream::connect(&path).unwrap();
                let _ = s.write_all(bad.as_bytes());
                let mut ack = String::new();
                let _ = BufReader::new(s).read_line(&mut ack);
                assert_ne!(ack.trim(), "ok", "{bad:.40}");
            }
            // Half a line and a hang-up.
            drop(UnixStream::connect(&path).unwrap());
            assert!(rx.try_recv().is_err());
            assert!(matches!(claim(dir.path(), &link()).unwrap(), Claim::Forwarded));
            assert_eq!(rx.recv_timeout(TIMEOUT).unwrap(), link());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_validated() {
        assert!(parse_request("{}").is_ok());
        assert!(parse_request("{\"link\":\"tandem://join/x\"}").is_ok());
        assert!(parse_request("{\"link\":\"file:///etc/passwd\"}").is_err());
        assert!(parse_request("{\"open_room\":\"xyz\"}").is_err());
        assert!(parse_request("[1]").is_err());
    }
}
