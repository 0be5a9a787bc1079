//! Type 102, tandem-record: the interview features over the web bridge (docs/ui.md).
//!
//! - relay → client: `{"type":"state","controls":…,"chat":[…],"private":[…]|null}` on connect
//!   and whenever it changes (`private` only for interviewers' sessions; the session peer of a
//!   candidate never holds it, see `tandem_room::interview`);
//! - client → relay: `{"type":"call","request_id":…,"method":…,"params":{…}}`, answered with
//!   `{"type":"reply","request_id":…,"ok":true,"result":{…}}` or `"ok":false,"error":"…"`.
//!
//! The session peer makes every call as itself, so only an interviewer's session can change
//! the controls or read notes, and every other peer checks what it signs.

use serde_json::{json, Value};
use tandem_room::interview_api::{interview_call, interview_state};
use tandem_room::Room;
use tokio::sync::mpsc;

/// The message type on the y-websocket socket.
pub const MSG_RECORD: u64 = 102;

/// Replies for this client that may queue up while the socket is busy.
const REPLY_BUFFER: usize = 64;

/// Per-socket state: what the client was last sent, and calls' replies on their way.
pub struct RecordBridge {
    last: String,
    /// [`Room::interview_revision`] when `last` was built.
    last_revision: Option<u64>,
    replies_tx: mpsc::Sender<Value>,
    replies_rx: mpsc::Receiver<Value>,
}

impl Default for RecordBridge {
    fn default() -> Self {
        let (replies_tx, replies_rx) = mpsc::channel(REPLY_BUFFER);
        RecordBridge {
            last: String::new(),
            last_revision: None,
            replies_tx,
            replies_rx,
        }
    }
}

impl RecordBridge {
    /// The state to push, if it changed since the last push.
    pub fn state_if_changed(&mut self, room: &Room) -> Option<Value> {
        // The socket's loop asks after every frame (each keystroke); rebuild only on a change of
        // what the state is made of.
        let revision = room.interview_revision();
        if self.last_revision == Some(revision) {
            return None;
        }
        self.last_revision = Some(revision);
        let mut state = interview_state(room);
        state["type"] = json!("state");
        let text = state.to_string();
        if text == self.last {
            return None;
        }
        self.last = text;
        Some(state)
    }

    /// A type-102 message from the client. Its reply arrives through [`RecordBridge::next_reply`]:
    /// calls run on their own task because some wait on the execution node (`list_problems`,
    /// `choose_problem`), and awaiting them in the socket's loop would stall the client's edits
    /// for that long.
    pub fn from_client(&self, room: &Room, msg: Value) {
        if msg.get("type").and_then(Value::as_str) != Some("call") {
            return;
        }
        let request_id = msg.get("request_id").cloned().unwrap_or(Value::Null);
        let call = json!({
            "method": msg.get("method").cloned().unwrap_or(Value::Null),
            "params": msg.get("params").cloned().unwrap_or(Value::Null),
        });
        let room = room.clone();
        let replies = self.replies_tx.clone();
        tokio::spawn(async move {
            let reply = match interview_call(&room, call, "").await {
                Ok(result) => json!({"type": "reply", "request_id": request_id, "ok": true, "result": result}),
                Err(e) => json!({"type": "reply", "request_id": request_id, "ok": false, "error": e.to_string()}),
            };
            let _ = replies.send(reply).await;
        });
    }

    /// The next reply to one of this client's calls.
    pub async fn next_reply(&mut self) -> Option<Value> {
        self.replies_rx.recv().await
    }
}
