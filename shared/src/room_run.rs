//! Runs seen from a room: the messages every peer (and, through a bridge, every browser) gets
//! about the runs of its room, in the JSON shape of docs/ui.md's type-100 messages.
//!
//! The execution node originates every one of them; peers never re-broadcast what they saw, so
//! nobody can forge another member's output. A [`RoomRunMessage::Event`] is a run-contract
//! [`RunEvent`] with one extra field, `run_id`, so a bridge forwards it verbatim.

use serde::{Deserialize, Serialize};

use crate::exec::RunEvent;

/// A plain run or a submission (until a test suite exists, a submission runs like a run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Run,
    Submit,
}

impl RunKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Run => "run",
            RunKind::Submit => "submit",
        }
    }
}

/// Who asked for a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunBy {
    /// Hex endpoint id (public key) of the member.
    pub member: String,
    /// Display name the member gave (not authenticated; the key is).
    #[serde(default)]
    pub name: String,
}

/// One message about the runs of a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "serde_json::Value", try_from = "serde_json::Value")]
pub enum RoomRunMessage {
    /// The node accepted a run; sent to every peer of the room.
    RunAccepted {
        run_id: String,
        request_id: String,
        by: RunBy,
        kind: RunKind,
        language: String,
        /// Hex SHA-256 over the request's files (name, NUL, content, NUL each), computed by the node.
        code_hash: String,
        /// When the node accepted it (ms since the Unix epoch, the node's clock).
        at_ms: u64,
    },
    /// The node (or this peer, when the node is unreachable) refused a request; only the
    /// requester gets it.
    RunRejected { request_id: String, message: String },
    /// A run-contract event of run `run_id`, in node order.
    Event { run_id: String, event: RunEvent },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Plain {
    RunAccepted {
        run_id: String,
        request_id: String,
        by: RunBy,
        kind: RunKind,
        language: String,
        #[serde(default)]
        code_hash: String,
        #[serde(default)]
        at_ms: u64,
    },
    RunRejected {
        request_id: String,
        message: String,
    },
}

impl RoomRunMessage {
    /// The run this message is about (none for a rejection).
    pub fn run_id(&self) -> Option<&str> {
        match self {
            RoomRunMessage::RunAccepted { run_id, .. } | RoomRunMessage::Event { run_id, .. } => Some(run_id),
            RoomRunMessage::RunRejected { .. } => None,
        }
    }

    /// Is this the last message of its run (`finished` or `error`)?
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            RoomRunMessage::Event {
                event: RunEvent::Finished { .. } | RunEvent::Error { .. },
                ..
            }
        )
    }
}

impl From<RoomRunMessage> for serde_json::Value {
    fn from(m: RoomRunMessage) -> Self {
        let plain = match m {
            RoomRunMessage::RunAccepted {
                run_id,
                request_id,
                by,
                kind,
                language,
                code_hash,
                at_ms,
            } => Plain::RunAccepted {
                run_id,
                request_id,
                by,
                kind,
                language,
                code_hash,
                at_ms,
            },
            RoomRunMessage::RunRejected { request_id, message } => Plain::RunRejected { request_id, message },
            RoomRunMessage::Event { run_id, event } => {
                let mut v = serde_json::to_value(&event).unwrap_or_default();
                if let serde_json::Value::Object(m) = &mut v {
                    m.insert("run_id".into(), serde_json::Value::String(run_id));
                }
                return v;
            }
        };
        serde_json::to_value(&plain).unwrap_or_default()
    }
}

impl TryFrom<serde_json::Value> for RoomRunMessage {
    type Error = String;
    fn try_from(mut v: serde_json::Value) -> Result<Self, String> {
        let ty = v.get("type").and_then(|t| t.as_str()).unwrap_or_default().to_string();
        match ty.as_str() {
            "run_accepted" | "run_rejected" => match serde_json::from_value(v).map_err(|e| e.to_string())? {
                Plain::RunAccepted {
                    run_id,
                    request_id,
                    by,
                    kind,
                    language,
                    code_hash,
                    at_ms,
                } => Ok(RoomRunMessage::RunAccepted {
                    run_id,
                    request_id,
                    by,
                    kind,
                    language,
                    code_hash,
                    at_ms,
                }),
                Plain::RunRejected { request_id, message } => Ok(RoomRunMessage::RunRejected { request_id, message }),
            },
            _ => {
                let run_id = match v.as_object_mut().and_then(|m| m.remove("run_id")) {
                    Some(serde_json::Value::String(s)) => s,
                    _ => return Err("a run event needs a string run_id".into()),
                };
                let event: RunEvent = serde_json::from_value(v).map_err(|e| e.to_string())?;
                Ok(RoomRunMessage::Event { run_id, event })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{Phase, Stream};

    #[test]
    fn run_messages_stay_small_because_channels_are_sized_by_the_largest() {
        // tokio's broadcast channels allocate every slot up front: a room subscriber's 1,024+
        // slots (room/src/runs.rs) were 616 bytes each before the results were boxed.
        assert!(
            std::mem::size_of::<RunEvent>() <= 96,
            "{}",
            std::mem::size_of::<RunEvent>()
        );
        assert!(
            std::mem::size_of::<RoomRunMessage>() <= 192,
            "{}",
            std::mem::size_of::<RoomRunMessage>()
        );
    }

    #[test]
    fn events_carry_run_id_next_to_the_event_fields() {
        let m = RoomRunMessage::Event {
            run_id: "r1".into(),
            event: RunEvent::Output {
                seq: 0,
                phase: Phase::Run,
                stream: Stream::Stdout,
                data: "hello\n".into(),
            },
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type":"output","run_id":"r1","seq":0,"phase":"run","stream":"stdout","data":"hello\n"})
        );
        assert_eq!(serde_json::from_value::<RoomRunMessage>(v).unwrap(), m);
    }

    #[test]
    fn accepted_and_rejected_match_the_ui_shape() {
        let a: RoomRunMessage = serde_json::from_str(
            r#"{"type":"run_accepted","run_id":"r","request_id":"q","by":{"member":"ab","name":"Ada"},"kind":"run","language":"python"}"#,
        )
        .unwrap();
        assert!(matches!(&a, RoomRunMessage::RunAccepted { kind: RunKind::Run, .. }));
        let r = RoomRunMessage::RunRejected {
            request_id: "q".into(),
            message: "spectators cannot run code".into(),
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"type":"run_rejected","request_id":"q","message":"spectators cannot run code"})
        );
        assert!(serde_json::from_str::<RoomRunMessage>(r#"{"type":"output","seq":1}"#).is_err());
    }
}
