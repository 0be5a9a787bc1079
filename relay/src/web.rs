//! The relay's public HTTP address: the web client (UI files, `/yjs/<room-id>`) and iroh's relay
//! protocol on **one** port, so an invite's relay URL is also the web address of the room
//! (`<relay>/room/<room-id>?invite=<token>`).
//!
//! How: each accepted TCP connection's request line is peeked (not consumed). iroh's paths
//! (`/relay`, `/ping`, `/generate_204`) are spliced byte for byte to iroh's relay server on a
//! loopback port; everything else is served here by axum. Splicing keeps iroh's server exactly
//! as shipped (its own WebSocket handshake, rate limits and access control).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Query, State, WebSocketUpgrade};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::bridge;
use crate::sessions::Sessions;
use crate::ui::Ui;

#[derive(Clone)]
struct AppState {
    ui: Arc<Ui>,
    sessions: Arc<Sessions>,
    public_url: Option<String>,
}

/// Paths that belong to iroh's relay server.
fn is_iroh_path(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or("");
    path == "/relay" || path.starts_with("/relay/") || path == "/ping" || path == "/generate_204"
}

/// The web app: UI files and the y-websocket bridge.
fn app(ui: Arc<Ui>, sessions: Arc<Sessions>, public_url: Option<String>) -> Router {
    Router::new()
        .route("/yjs/{room}", get(yjs))
        .fallback(get(files))
        .with_state(AppState {
            ui,
            sessions,
            public_url,
        })
}

async fn files(State(s): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    s.ui.respond(&uri, &headers)
}

async fn yjs(
    State(s): State<AppState>,
    Path(room): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    ConnectInfo(Remote(peer)): ConnectInfo<Remote>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(wait) = s.sessions.allow_socket(peer.ip()) {
        let secs = wait.as_secs().max(1).to_string();
        return (
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            [(axum::http::header::RETRY_AFTER, secs)],
            "too many new connections from this address; try again later",
        )
            .into_response();
    }
    let origin = s.public_url.clone().unwrap_or_else(|| {
        let host = headers
            .get("x-forwarded-host")
            .or_else(|| headers.get("host"))
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost");
        let proto = headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("http");
        format!("{proto}://{host}")
    });
    let req = bridge::Request {
        room_id: room,
        invite: q.get("invite").cloned(),
        client: q.get("client").cloned(),
        origin,
    };
    let sessions = s.sessions.clone();
    upgrade
        .max_message_size(bridge::MAX_WIRE_MESSAGE)
        .max_frame_size(bridge::MAX_WIRE_MESSAGE)
        .on_upgrade(move |ws| bridge::serve(ws, req, sessions))
        .into_response()
}

/// The address a web connection came from (for the per-IP limit on new sockets).
#[derive(Clone, Copy, Debug)]
struct Remote(SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, Handed>> for Remote {
    fn connect_info(stream: axum::serve::IncomingStream<'_, Handed>) -> Self {
        Remote(*stream.remote_addr())
    }
}

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, TcpListener>> for Remote {
    fn connect_info(stream: axum::serve::IncomingStream<'_, TcpListener>) -> Self {
        Remote(*stream.remote_addr())
    }
}

/// Connections handed to axum by the front router.
struct Handed(mpsc::Receiver<(TcpStream, SocketAddr)>, SocketAddr);

impl axum::serve::Listener for Handed {
    type Io = TcpStream;
    type Addr = SocketAddr;
    async fn accept(&mut self) -> (TcpStream, SocketAddr) {
        match self.0.recv().await {
            Some(c) => c,
            None => std::future::pending().await,
        }
    }
    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.1)
    }
}

/// Reads (without consuming) until the request line is complete; returns its path.
async fn peek_path(stream: &TcpStream) -> Option<String> {
    let mut buf = [0u8; 2048];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let n = tokio::time::timeout_at(deadline, stream.peek(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        if let Some(end) = buf[..n].windows(2).position(|w| w == b"\r\n") {
            let line = std::str::from_utf8(&buf[..end]).ok()?;
            return Some(line.split_whitespace().nth(1).unwrap_or("/").to_string());
        }
        if n == buf.len() {
            return Some("/".into()); // an absurd request line: let axum answer it
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Serves the public address until the task is dropped.
pub async fn serve_front(
    listener: TcpListener,
    iroh_addr: SocketAddr,
    ui: Arc<Ui>,
    sessions: Arc<Sessions>,
    public_url: Option<String>,
) {
    let local = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
    let (tx, rx) = mpsc::channel(256);
    let router = app(ui, sessions, public_url);
    let web = tokio::spawn(async move {
        let _ = axum::serve(
            Handed(rx, local),
            router.into_make_service_with_connect_info::<Remote>(),
        )
        .await;
    });
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let tx = tx.clone();
        tokio::spawn(async move {
            let Some(path) = peek_path(&stream).await else { return };
            if is_iroh_path(&path) {
                splice(stream, iroh_addr).await;
            } else {
                let _ = tx.send((stream, peer)).await;
            }
        });
        if web.is_finished() {
            tracing::error!("the web server stopped");
            return;
        }
    }
}

async fn splice(mut client: TcpStream, to: SocketAddr) {
    let Ok(mut upstream) = TcpStream::connect(to).await else {
        tracing::warn!(%to, "iroh relay server not reachable");
        return;
    };
    let _ = upstream.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}

/// Serves only the web app on its own address (used with TLS, where iroh keeps the HTTPS port).
pub async fn serve_web_only(listener: TcpListener, ui: Arc<Ui>, sessions: Arc<Sessions>, public_url: Option<String>) {
    let _ = axum::serve(
        listener,
        app(ui, sessions, public_url).into_make_service_with_connect_info::<Remote>(),
    )
    .await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn iroh_paths_are_recognised() {
        for p in ["/relay", "/relay?x=1", "/ping", "/generate_204"] {
            assert!(super::is_iroh_path(p), "{p}");
        }
        for p in ["/", "/room/x", "/yjs/room", "/relayed", "/assets/x.js"] {
            assert!(!super::is_iroh_path(p), "{p}");
        }
    }
}
