//! Type 100, tandem-run: runs over the browser bridge (docs/ui.md).
//!
//! The browser's session peer is a room member like any other, so a run request from the
//! browser is `Room::request_run` on that peer: the execution node checks the member's role and
//! rate limits exactly as it does for a desktop peer, and multicasts every run message to every
//! peer of the room. This module only translates: JSON in, `Room` calls; `Room::run_messages` out.
//!
//! Why requests run on their own tasks: `request_run` waits for the node's answer (seconds when
//! the node is slow to connect). Awaiting it in the socket's loop would stall the client's edits
//! and awareness for that long, so the answer comes back through a channel instead.

use std::collections::HashSet;

use serde_json::{json, Value};
use tandem_room::Room;
use tandem_shared::exec::RunRequest;
use tandem_shared::room_run::{RoomRunMessage, RunKind};
use tokio::sync::{broadcast, mpsc};

/// Replies for this client alone that may queue up while the socket is busy.
const REPLY_BUFFER: usize = 64;

pub struct RunBridge {
    room: Room,
    room_runs: broadcast::Receiver<RoomRunMessage>,
    replies_tx: mpsc::Sender<Value>,
    replies_rx: mpsc::Receiver<Value>,
    /// Request ids already answered with `run_rejected`: a refusal by the node reaches us twice
    /// (as a room run message and as `request_run`'s error), the client must see it once.
    rejected: HashSet<String>,
}

impl RunBridge {
    pub fn new(room: &Room) -> Self {
        let (replies_tx, replies_rx) = mpsc::channel(REPLY_BUFFER);
        RunBridge {
            room: room.clone(),
            room_runs: room.run_messages(),
            replies_tx,
            replies_rx,
            rejected: HashSet::new(),
        }
    }

    /// The next type-100 message for this client: a run message of the room (every client gets
    /// every run) or an answer to this client's own request. `None` once the room is gone.
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            let next = tokio::select! {
                reply = self.replies_rx.recv() => {
                    // The sender lives in `self`, so the channel never closes first.
                    reply
                }
                msg = self.room_runs.recv() => match msg {
                    Ok(m) => match serde_json::to_value(&m) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            tracing::warn!(error = %e, "could not encode a run message");
                            None
                        }
                    },
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        // A client too slow for the output stream misses chunks; the run's final
                        // result (with its capped output) still reaches it.
                        tracing::info!(missed = n, "a web client fell behind on run output");
                        None
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            };
            let Some(v) = next else { continue };
            if v.get("type").and_then(Value::as_str) == Some("run_rejected") {
                let id = v
                    .get("request_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if !id.is_empty() && !self.rejected.insert(id) {
                    continue;
                }
                if self.rejected.len() > 4096 {
                    self.rejected.clear();
                }
            }
            return Some(v);
        }
    }

    /// A type-100 message from the client. Answers that concern this client alone arrive later
    /// through [`RunBridge::next`]; malformed requests are answered at once (returned here).
    pub fn from_client(&mut self, msg: Value) -> Vec<Value> {
        match msg.get("type").and_then(Value::as_str) {
            Some("run_request") => self.run_request(msg),
            Some("cancel") => {
                let Some(run_id) = msg.get("run_id").and_then(Value::as_str).map(str::to_string) else {
                    return vec![
                        json!({"type": "cancel_rejected", "run_id": null, "message": "cancel needs a run_id"}),
                    ];
                };
                let room = self.room.clone();
                let replies = self.replies_tx.clone();
                tokio::spawn(async move {
                    if let Err(e) = room.cancel_run(&run_id).await {
                        let reply = json!({"type": "cancel_rejected", "run_id": run_id, "message": e.to_string()});
                        let _ = replies.send(reply).await;
                    }
                });
                vec![]
            }
            other => {
                tracing::debug!(kind = ?other, "ignored an unknown tandem-run message");
                vec![]
            }
        }
    }

    fn run_request(&mut self, msg: Value) -> Vec<Value> {
        let request_id = match msg.get("request_id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() && id.len() <= 128 => id.to_string(),
            _ => {
                return vec![rejected(
                    &Value::Null,
                    "run_request needs a request_id (1–128 characters)",
                )]
            }
        };
        let kind = match msg.get("kind").and_then(Value::as_str).unwrap_or("run") {
            "run" => RunKind::Run,
            "submit" => RunKind::Submit,
            other => return vec![rejected(&json!(request_id), &format!("unknown run kind {other:?}"))],
        };
        let request: RunRequest = match msg.get("request").cloned().map(serde_json::from_value) {
            Some(Ok(r)) => r,
            Some(Err(e)) => return vec![rejected(&json!(request_id), &format!("malformed run request: {e}"))],
            None => return vec![rejected(&json!(request_id), "run_request needs a request")],
        };
        let room = self.room.clone();
        let replies = self.replies_tx.clone();
        tokio::spawn(async move {
            // Acceptance reaches every client through `run_messages`; only a refusal is ours.
            if let Err(e) = room.request_run(&request_id, request, kind).await {
                let _ = replies.send(rejected(&json!(request_id), &e.to_string())).await;
            }
        });
        vec![]
    }
}

fn rejected(request_id: &Value, message: &str) -> Value {
    json!({"type": "run_rejected", "request_id": request_id, "message": message})
}
