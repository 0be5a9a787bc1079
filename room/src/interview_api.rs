//! One JSON surface for the interview features, shared by every transport the UI uses (the
//! relay's web bridge message type 102, the desktop app's IPC, the headless peer): a state
//! snapshot pushed whenever it changes, and named calls with JSON parameters. Keeping it here
//! means the transports are a few lines each and cannot drift apart.

use serde::Deserialize;
use serde_json::{json, Value};
use tandem_shared::interview::Scorecard;

use crate::{Room, RoomError};

/// What the UI shows without asking: the controls, the chat, and — for interviewers only —
/// every interviewer's notes and scorecard (`private` is `null` for everyone else).
pub fn interview_state(room: &Room) -> Value {
    let private = room.private_entries().ok();
    json!({
        "controls": room.controls(),
        "chat": room.chat(),
        "private": private,
    })
}

#[derive(Deserialize)]
#[serde(tag = "method", content = "params", rename_all = "snake_case")]
enum Call {
    TimerSet {
        duration_ms: u64,
    },
    TimerStart,
    TimerPause,
    TimerExtend {
        by_ms: u64,
    },
    RunsEnabled {
        enabled: bool,
    },
    LockEditor {
        locked: bool,
    },
    ChatSend {
        #[serde(default)]
        name: String,
        text: String,
    },
    NotesSet {
        notes: String,
    },
    ScorecardSet {
        scorecard: Scorecard,
    },
    Timeline,
    Export,
    ListProblems,
    ChooseProblem {
        id: String,
    },
}

/// Runs one call: `{"method": "...", "params": {...}}` (params may be absent for calls
/// without any). `name` is the caller's display name (used for chat when `params.name` is
/// empty). Unknown methods and bad parameters are errors that say why.
pub async fn interview_call(room: &Room, call: Value, name: &str) -> Result<Value, RoomError> {
    let call = match call {
        Value::Object(mut m) => {
            if matches!(m.get("params"), Some(Value::Null)) {
                m.remove("params");
            }
            // Unit variants are written without params; give them none.
            let unit = matches!(
                m.get("method").and_then(Value::as_str),
                Some("timer_start" | "timer_pause" | "timeline" | "export" | "list_problems")
            );
            if unit {
                m.remove("params");
            }
            Value::Object(m)
        }
        other => other,
    };
    let call: Call = serde_json::from_value(call).map_err(|e| RoomError::Rejected(format!("bad call: {e}")))?;
    let to = |v: Result<_, RoomError>| v.map(|c| json!({ "controls": c }));
    match call {
        Call::TimerSet { duration_ms } => to(room.timer_set(duration_ms)),
        Call::TimerStart => to(room.timer_start()),
        Call::TimerPause => to(room.timer_pause()),
        Call::TimerExtend { by_ms } => to(room.timer_extend(by_ms)),
        Call::RunsEnabled { enabled } => to(room.set_runs_enabled(enabled)),
        Call::LockEditor { locked } => to(room.lock_editor(locked)),
        Call::ChatSend { name: n, text } => {
            let n = if n.trim().is_empty() { name } else { n.as_str() };
            room.send_chat(n, &text).map(|m| json!({ "message": m }))
        }
        Call::NotesSet { notes } => room.set_notes(&notes).map(|_| json!({})),
        Call::ScorecardSet { scorecard } => room.set_scorecard(&scorecard).map(|_| json!({})),
        Call::Timeline => Ok(json!({ "timeline": room.timeline() })),
        Call::Export => Ok(json!({ "markdown": room.export_markdown() })),
        Call::ListProblems => room.list_problems().await.map(|p| json!({ "problems": p })),
        Call::ChooseProblem { id } => room.choose_problem(&id).await.map(|p| json!({ "problem": p })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Node, NodeConfig};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_with_and_without_params_and_clear_errors() {
        let dir = std::env::temp_dir().join(format!("tandem-interview-api-{}", rand::random::<u64>()));
        let node = Node::start(NodeConfig::new(&dir)).await.unwrap();
        let room = node.create_room().unwrap();
        // Calls without parameters work with `params` absent, null or empty.
        for call in [
            json!({"method": "timer_start"}),
            json!({"method": "timer_pause", "params": null}),
            json!({"method": "timeline", "params": {}}),
        ] {
            interview_call(&room, call.clone(), "Ivy")
                .await
                .unwrap_or_else(|e| panic!("{call}: {e}"));
        }
        let r = interview_call(
            &room,
            json!({"method": "timer_extend", "params": {"by_ms": 60000}}),
            "Ivy",
        )
        .await
        .unwrap();
        assert_eq!(r["controls"]["timer"]["duration_ms"], 45 * 60_000 + 60_000);
        // The caller's name is used for chat unless the params name someone.
        let r = interview_call(&room, json!({"method": "chat_send", "params": {"text": "hi"}}), "Ivy")
            .await
            .unwrap();
        assert_eq!(r["message"]["name"], "Ivy");
        interview_call(&room, json!({"method": "notes_set", "params": {"notes": "n"}}), "")
            .await
            .unwrap();
        let state = interview_state(&room);
        assert_eq!(state["chat"][0]["text"], "hi");
        assert_eq!(state["private"][0]["notes"], "n", "the creator is an interviewer");
        // Bad calls say why.
        for (call, why) in [
            (json!({"method": "launch_rockets"}), "bad call"),
            (json!({"method": "timer_set"}), "bad call"),
            (json!({"method": "chat_send", "params": {"text": "  "}}), "empty"),
            (json!({"method": "list_problems"}), "no execution node"),
        ] {
            let e = interview_call(&room, call.clone(), "").await.unwrap_err().to_string();
            assert!(e.contains(why), "{call}: {e}");
        }
        room.close();
        node.shutdown().await;
        std::fs::remove_dir_all(&dir).ok();
    }

    /// The bridge rebuilds the state only when the revision moves: it must move with everything
    /// the state shows (controls, chat, notes) and stay put for code edits (keystrokes).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_revision_moves_with_the_state_and_not_with_keystrokes() {
        let dir = std::env::temp_dir().join(format!("tandem-interview-rev-{}", rand::random::<u64>()));
        let node = Node::start(NodeConfig::new(&dir)).await.unwrap();
        let room = node.create_room().unwrap();
        let mut last = room.interview_revision();
        room.insert("main.py", 0, "print(1)\n").unwrap();
        assert_eq!(room.interview_revision(), last, "a code edit");
        for call in [
            json!({"method": "timer_start"}),
            json!({"method": "chat_send", "params": {"text": "hi"}}),
            json!({"method": "notes_set", "params": {"notes": "n"}}),
            json!({"method": "lock_editor", "params": {"locked": true}}),
        ] {
            interview_call(&room, call.clone(), "Ivy").await.unwrap();
            let now = room.interview_revision();
            assert_ne!(now, last, "{call}");
            last = now;
        }
        room.close();
        node.shutdown().await;
        std::fs::remove_dir_all(&dir).ok();
    }
}
