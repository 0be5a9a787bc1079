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

/// The message type on the y-websocket socket.
pub const MSG_RECORD: u64 = 102;

/// Per-socket state: what the client was last sent.
#[derive(Default)]
pub struct RecordBridge {
    last: String,
}

impl RecordBridge {
    /// The state to push, if it changed since the last push.
    pub fn state_if_changed(&mut self, room: &Room) -> Option<Value> {
        let mut state = interview_state(room);
        state["type"] = json!("state");
        let text = state.to_string();
        if text == self.last {
            return None;
        }
        self.last = text;
        Some(state)
    }
}

/// A type-102 message from the client; returns the reply for it alone.
pub async fn from_client(room: &Room, msg: Value) -> Vec<Value> {
    if msg.get("type").and_then(Value::as_str) != Some("call") {
        return vec![];
    }
    let request_id = msg.get("request_id").cloned().unwrap_or(Value::Null);
    let call = json!({
        "method": msg.get("method").cloned().unwrap_or(Value::Null),
        "params": msg.get("params").cloned().unwrap_or(Value::Null),
    });
    match interview_call(room, call, "").await {
        Ok(result) => vec![json!({"type": "reply", "request_id": request_id, "ok": true, "result": result})],
        Err(e) => vec![json!({"type": "reply", "request_id": request_id, "ok": false, "error": e.to_string()})],
    }
}
