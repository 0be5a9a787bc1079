//! `/healthz` and Prometheus `/metrics` on a separate (usually private) address.
//!
//! A tiny HTTP/1.1 responder on purpose: two fixed GET routes do not justify a web framework.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::{Context, Result};
use iroh_relay::server::RelayMetrics;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::access::Acl;

pub struct Admin {
    listener: TcpListener,
    metrics: RelayMetrics,
    acl: Arc<Acl>,
}

impl Admin {
    pub async fn bind(addr: SocketAddr, metrics: RelayMetrics, acl: Arc<Acl>) -> Result<Self> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the admin address {addr}"))?;
        Ok(Self { listener, metrics, acl })
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub async fn serve(self) {
        let this = Arc::new(self);
        let mut conns = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = this.listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let this = this.clone();
                    conns.spawn(async move { this.handle(stream).await });
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    }

    fn render_metrics(&self) -> String {
        let mut out = String::new();
        let acl = &self.acl;
        for (name, help, kind, value) in [
            (
                "tandem_relay_admitted_total",
                "Relay connections admitted by access control.",
                "counter",
                acl.admitted.load(Ordering::Relaxed) as i64,
            ),
            (
                "tandem_relay_denied_total",
                "Relay connections denied by access control.",
                "counter",
                acl.denied.load(Ordering::Relaxed) as i64,
            ),
            (
                "tandem_relay_connected",
                "Relay connections currently open.",
                "gauge",
                acl.connected.load(Ordering::Relaxed),
            ),
            (
                "tandem_relay_web_sockets",
                "Browser sockets open on /yjs.",
                "gauge",
                crate::metrics::BRIDGE_SOCKETS.load(Ordering::Relaxed),
            ),
            (
                "tandem_relay_web_peers",
                "Room peers running for bridged browsers.",
                "gauge",
                crate::metrics::BRIDGE_NODES.load(Ordering::Relaxed),
            ),
            (
                "tandem_relay_web_refused_total",
                "Browser sockets refused (invalid invite, revoked).",
                "counter",
                crate::metrics::BRIDGE_REFUSED.load(Ordering::Relaxed) as i64,
            ),
            (
                "tandem_relay_web_frames_refused_total",
                "Frames refused from browsers (malformed, unknown, no edit right, too large).",
                "counter",
                crate::metrics::BRIDGE_MALFORMED.load(Ordering::Relaxed) as i64,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
        let mut registry = iroh_metrics::Registry::default();
        registry.register_all(&self.metrics);
        let _ = registry.encode_openmetrics_to_writer(&mut out);
        out
    }

    async fn handle(&self, mut stream: TcpStream) {
        // Read the request head (up to 4 KiB), however many segments it arrives in.
        let mut buf = vec![0u8; 4096];
        let mut n = 0;
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while n < buf.len() && !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            match tokio::time::timeout_at(deadline, stream.read(&mut buf[n..])).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                Ok(Ok(k)) => n += k,
            }
        }
        let req = String::from_utf8_lossy(&buf[..n]);
        let path = req
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("");
        let (status, ctype, body) = match path {
            "/healthz" | "/health" => ("200 OK", "text/plain", "ok\n".to_string()),
            "/metrics" => ("200 OK", "text/plain; version=0.0.4", self.render_metrics()),
            _ => ("404 Not Found", "text/plain", "not found\n".to_string()),
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(resp.as_bytes()).await;
        let _ = stream.shutdown().await;
    }
}
