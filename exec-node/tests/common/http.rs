//! The real `tandem-exec serve` binary as a child process, for the HTTP tests.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM: the node drains and removes its sandboxes.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A node on loopback without API keys.
pub async fn serve(data: &std::path::Path, node_id: &str) -> Server {
    serve_with(data, node_id, "").await
}

/// A node on loopback with `extra` appended to its config (API keys, rates).
pub async fn serve_with(data: &std::path::Path, node_id: &str, extra: &str) -> Server {
    let port = free_port();
    let config = data.join("node.toml");
    std::fs::write(&config, format!("node_id = \"{node_id}\"\nmax_parallel = 2\n{extra}")).unwrap();
    // Waited for by `Server`'s drop (or by the test that kills it).
    #[allow(clippy::zombie_processes)]
    let child = Command::new(env!("CARGO_BIN_EXE_tandem-exec"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "serve",
            "--http",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--data")
        .arg(data.join("db"))
        .env(
            "RUST_LOG",
            std::env::var("TANDEM_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if client.get(format!("{url}/healthz")).send().await.is_ok() {
            return Server { child, url };
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("tandem-exec serve did not come up");
}
