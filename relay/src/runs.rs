//! Type 100, tandem-run.
//!
//! ==== RUNS WIRING: the one place to connect `Room::request_run` / `cancel_run` /
//! `run_messages` (notes/runapi.md) once they exist in tandem-room. ====
//! - `new`: keep `room.run_messages()` (a broadcast receiver).
//! - `next`: `self.rx.recv().await` → `serde_json::to_value(msg)` (skip `Lagged`, end on `Closed`).
//! - `from_client` `run_request`: `room.request_run(&request_id, request, kind).await`; on `Err(e)`
//!   answer `run_rejected` with `e.to_string()` (the acceptance itself arrives via `next`);
//!   `cancel`: `room.cancel_run(run_id).await`.

use serde_json::{json, Value};
use tandem_room::Room;

pub struct RunBridge {}

impl RunBridge {
    pub fn new(_room: &Room) -> Self {
        RunBridge {}
    }

    /// The next run message of the room for this client (never, in this build).
    pub async fn next(&mut self) -> Option<Value> {
        std::future::pending().await
    }

    /// A type-100 message from the client; returns what to send back to it alone.
    pub async fn from_client(&mut self, msg: Value) -> Vec<Value> {
        match msg.get("type").and_then(Value::as_str) {
            Some("run_request") => vec![json!({
                "type": "run_rejected",
                "request_id": msg.get("request_id").cloned().unwrap_or(Value::Null),
                "message": "runs are not available in this relay build yet",
            })],
            _ => vec![],
        }
    }
}
