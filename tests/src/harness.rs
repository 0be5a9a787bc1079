//! Processes under test. Every child is killed when its handle is dropped, so a failing test
//! leaves nothing behind.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

/// Generous: the CI machine has two loaded cores.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(90);

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("tandem-{tag}-{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&p).ok();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, s: &str) -> PathBuf {
        self.0.join(s)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn line_reader(child: &mut Child) -> Result<mpsc::Receiver<String>> {
    let stdout = child.stdout.take().context("no stdout")?;
    let (tx, rx) = mpsc::sync_channel(1024);
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Ok(rx)
}

/// A `tandem-relay` on loopback with ephemeral ports.
pub struct Relay {
    child: Child,
    pub url: String,
    pub admin: String,
    /// The certificate to trust (self-signed mode only).
    pub ca_cert: Option<String>,
    /// The web bridge's data (its secret and browsers' room peers), removed on drop.
    _web_data: TempDir,
}

impl Relay {
    /// `--dev`: plain HTTP.
    pub fn start(bin: &str) -> Result<Relay> {
        Self::start_with(bin, &[])
    }

    /// `--dev` with extra arguments (e.g. `--ui-dir`).
    pub fn start_with(bin: &str, extra: &[&str]) -> Result<Relay> {
        Self::spawn(bin, &["--dev", "--http-addr", "127.0.0.1:0"], extra)
    }

    /// `--self-signed DIR`: HTTPS with a certificate the relay makes and keeps in `dir`.
    pub fn start_self_signed(bin: &str, dir: &Path) -> Result<Relay> {
        let dir = dir.to_str().context("utf-8 path")?;
        Self::spawn(
            bin,
            &[
                "--self-signed",
                dir,
                "--https-addr",
                "127.0.0.1:0",
                "--http-addr",
                "127.0.0.1:0",
            ],
            &[],
        )
    }

    fn spawn(bin: &str, mode: &[&str], extra: &[&str]) -> Result<Relay> {
        let web_data = TempDir::new("relay-web");
        let mut child = Command::new(bin)
            .args(mode)
            .args(["--admin-addr", "127.0.0.1:0"])
            .arg("--web-data")
            .arg(web_data.path())
            .args(extra)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("spawning the relay")?;
        let rx = line_reader(&mut child)?;
        let line = rx.recv_timeout(STEP_TIMEOUT).context("relay did not start")?;
        let v: Value = serde_json::from_str(&line)?;
        Ok(Relay {
            child,
            url: v["relay_url"].as_str().context("relay_url")?.to_string(),
            admin: v["admin_addr"].as_str().context("admin_addr")?.to_string(),
            ca_cert: v["ca_cert"].as_str().map(String::from),
            _web_data: web_data,
        })
    }

    /// The web bridge's data directory (`--web-data`).
    pub fn web_data(&self) -> &Path {
        self._web_data.path()
    }

    /// GET on the admin address; returns the body.
    pub fn admin_get(&self, path: &str) -> Result<String> {
        use std::io::Read;
        let mut s = std::net::TcpStream::connect(&self.admin)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a peer process starts.
pub struct PeerOpts<'a> {
    pub relay: Option<&'a str>,
    /// `--relay-ca`: the relay's self-signed certificate.
    pub relay_ca: Option<&'a str>,
    pub direct: bool,
    pub name: &'a str,
}

impl Default for PeerOpts<'_> {
    fn default() -> Self {
        Self {
            relay: None,
            relay_ca: None,
            direct: true,
            name: "peer",
        }
    }
}

/// A `tandem-peer` process.
pub struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    /// Lines the peer printed on its own (`{"event":…}`, e.g. run messages) while a command ran.
    pub events: Vec<Value>,
    pub id: String,
    pub room: Value,
    pub ready: Value,
}

impl Peer {
    /// Starts a peer and waits for its `ready` line; an error carries the peer's `fatal` message.
    pub fn start(bin: &str, data: &Path, opts: &PeerOpts, action: &[&str]) -> Result<Peer> {
        Self::start_with_env(bin, data, opts, action, &[])
    }

    /// [`Peer::start`] with extra environment variables (e.g. `TANDEM_DUMP_RECEIVED`).
    pub fn start_with_env(
        bin: &str,
        data: &Path,
        opts: &PeerOpts,
        action: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Result<Peer> {
        let mut cmd = Command::new(bin);
        cmd.envs(env.iter().copied());
        cmd.arg("--data").arg(data).args(["--name", opts.name]);
        if let Some(r) = opts.relay {
            cmd.args(["--relay", r]);
        }
        if let Some(ca) = opts.relay_ca {
            cmd.args(["--relay-ca", ca]);
        }
        if !opts.direct {
            cmd.arg("--no-direct");
        }
        cmd.args(action)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().context("spawning a peer")?;
        let stdin = child.stdin.take();
        let lines = line_reader(&mut child)?;
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match lines.recv_timeout(left) {
                Ok(l) => l,
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    bail!("peer did not become ready");
                }
            };
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            match v["event"].as_str() {
                Some("ready") => {
                    return Ok(Peer {
                        child,
                        stdin,
                        lines,
                        events: Vec::new(),
                        id: v["id"].as_str().unwrap_or_default().to_string(),
                        room: v["room"].clone(),
                        ready: v,
                    })
                }
                Some("fatal") => {
                    let _ = child.wait();
                    bail!("{}", v["error"].as_str().unwrap_or("fatal"));
                }
                _ => {}
            }
        }
    }

    pub fn room_id(&self) -> String {
        self.room["id"].as_str().unwrap_or_default().to_string()
    }

    /// Sends a command and returns its reply (`ok: false` replies are errors).
    pub fn try_cmd(&mut self, v: Value) -> Result<Value> {
        let stdin = self.stdin.as_mut().context("peer stdin closed")?;
        writeln!(stdin, "{v}")?;
        stdin.flush()?;
        let deadline = Instant::now() + STEP_TIMEOUT;
        let (line, r) = loop {
            let line = self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .map_err(|_| anyhow!("no reply to {v}"))?;
            let r: Value = serde_json::from_str(&line).with_context(|| format!("bad reply {line}"))?;
            if r.get("event").is_some() {
                self.events.push(r);
                continue;
            }
            break (line, r);
        };
        if r["ok"] != json!(true) {
            bail!("{}", r["error"].as_str().unwrap_or(&line));
        }
        Ok(r)
    }

    /// Like [`Peer::try_cmd`] but panics on error (tests).
    pub fn cmd(&mut self, v: Value) -> Value {
        match self.try_cmd(v.clone()) {
            Ok(r) => r,
            Err(e) => panic!("command {v} failed: {e:#}"),
        }
    }

    pub fn text(&mut self, file: &str) -> String {
        self.cmd(json!({"cmd": "text", "file": file}))["text"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn insert(&mut self, file: &str, pos: usize, text: &str) {
        self.cmd(json!({"cmd": "insert", "file": file, "pos": pos, "text": text}));
    }

    pub fn invite(&mut self, role: &str, can_edit: bool, ttl: u64) -> (String, String) {
        let r = self.cmd(json!({"cmd": "invite", "role": role, "can_edit": can_edit, "ttl": ttl}));
        (
            r["invite"].as_str().unwrap_or_default().to_string(),
            r["nonce"].as_str().unwrap_or_default().to_string(),
        )
    }

    pub fn wait_text(&mut self, file: &str, text: &str) {
        self.cmd(json!({"cmd": "wait_text", "file": file, "text": text, "timeout_ms": STEP_TIMEOUT.as_millis() as u64 - 5000}));
    }

    pub fn wait_peers(&mut self, count: usize) {
        self.cmd(json!({"cmd": "wait_peers", "count": count, "timeout_ms": STEP_TIMEOUT.as_millis() as u64 - 5000}));
    }

    pub fn status(&mut self) -> Value {
        self.cmd(json!({"cmd": "status"}))
    }

    /// SIGKILL, no goodbye.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `tandem-exec serve` process (HTTP on an ephemeral port, the room path on loopback) with
/// its own node id, data dir and config, so its sandboxes are its own. Dropping it stops it
/// with SIGTERM (runs finish, the pool is removed); after a SIGKILL it sweeps its leftovers.
pub struct ExecNode {
    child: Child,
    bin: String,
    config: PathBuf,
    pub ticket: String,
    pub http: String,
    pub id: String,
    killed: bool,
}

impl ExecNode {
    /// `allow`: hex keys of interviewers whose rooms this node serves.
    pub fn start(bin: &str, dir: &Path, allow: &[&str], extra_config: &str) -> Result<ExecNode> {
        let config = dir.join("node.toml");
        std::fs::write(
            &config,
            format!(
                "node_id = \"tt-{:012x}\"\npool_floor = 0\npool_ceiling = 0\n{extra_config}\n",
                rand::random::<u64>() >> 16
            ),
        )?;
        let mut cmd = Command::new(bin);
        cmd.arg("--config")
            .arg(&config)
            .arg("serve")
            .args(["--http", "127.0.0.1:0"]);
        cmd.arg("--data").arg(dir.join("data"));
        for k in allow {
            cmd.args(["--allow-interviewer", k]);
        }
        let mut child = cmd
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("spawning tandem-exec")?;
        let rx = line_reader(&mut child)?;
        let line = match rx.recv_timeout(STEP_TIMEOUT) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("tandem-exec did not start");
            }
        };
        let v: Value = serde_json::from_str(&line).with_context(|| format!("bad ready line {line}"))?;
        Ok(ExecNode {
            child,
            bin: bin.to_string(),
            config,
            ticket: v["ticket"].as_str().context("ticket")?.to_string(),
            http: v["http_addr"].as_str().context("http_addr")?.to_string(),
            id: v["node_id"].as_str().unwrap_or_default().to_string(),
            killed: false,
        })
    }

    /// SIGKILL: the node vanishes without a goodbye (its sandboxes stay until [`ExecNode::sweep`]).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.killed = true;
    }

    /// Removes the sandboxes a killed node left behind.
    pub fn sweep(&self) {
        let _ = Command::new(&self.bin)
            .arg("--config")
            .arg(&self.config)
            .arg("sweep")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .status();
    }
}

impl Drop for ExecNode {
    fn drop(&mut self) {
        if !self.killed {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(40);
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        self.sweep();
    }
}

/// Polls `f` until it returns true (for state that has no wait command).
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + STEP_TIMEOUT;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}
