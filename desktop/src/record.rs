//! The interview features over IPC (timer, runs on/off, editor lock, chat, private notes and
//! scorecards, replay timeline, Markdown export, problems): three commands over the one JSON
//! surface of `tandem_room::interview_api`, so the desktop app and the web bridge (message type
//! 102) behave the same. The room peer makes every call as this member, so the other peers
//! check everything it signs.

use std::sync::Arc;

use serde_json::Value;
use tandem_room::interview_api::{interview_call, interview_state};
use tauri::ipc::Channel;
use tauri::State;

use crate::desktop::Desktop;
use crate::error::IpcError;

type D<'a> = State<'a, Arc<Desktop>>;

/// Largest call accepted from the webview (notes are the big ones).
const MAX_CALL_BYTES: usize = 512 * 1024;

/// The current interview state: `{controls, chat, private}` (`private` null unless interviewer).
#[tauri::command]
pub fn interview_state_get(d: D<'_>, session: u32) -> Result<Value, IpcError> {
    Ok(interview_state(&d.room(session)?))
}

/// One call: `{method, params}` (see `tandem_room::interview_api`).
#[tauri::command]
pub async fn interview_call_send(d: D<'_>, session: u32, call: Value) -> Result<Value, IpcError> {
    if call.to_string().len() > MAX_CALL_BYTES {
        return Err(IpcError::invalid("call too large"));
    }
    let room = d.room(session)?;
    Ok(interview_call(&room, call, "").await?)
}

/// Pushes the state to `on_event` now and whenever it changes, until the session closes or the
/// webview drops the channel.
#[tauri::command]
pub fn interview_watch(d: D<'_>, session: u32, on_event: Channel<Value>) -> Result<(), IpcError> {
    let room = d.room(session)?;
    let desktop = d.inner().clone();
    tauri::async_runtime::spawn(async move {
        let mut changed = room.subscribe();
        let mut last = String::new();
        loop {
            if desktop.room(session).is_err() {
                break; // the session closed
            }
            let state = interview_state(&room);
            let text = state.to_string();
            if text != last {
                if on_event.send(state).is_err() {
                    break;
                }
                last = text;
            }
            if changed.changed().await.is_err() {
                break;
            }
        }
    });
    Ok(())
}
