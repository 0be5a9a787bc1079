//! RUNS WIRING POINT. Runs from the room (`Room::request_run`, `cancel_run`, `run_messages`,
//! contract /work/notes/runapi.md) come from branch `exec`; this build does not have them yet.
//!
//! After the merge, wiring is a few lines:
//! - `request_run`: parse `request` as `tandem_shared::exec::RunRequest` and `kind` as
//!   `RunKind`, then `room.request_run(request_id, request, kind).await`;
//! - `cancel_run`: `room.cancel_run(run_id).await`;
//! - in `crate::session::run_session`, also forward `room.run_messages()` to the webview as
//!   `RoomEvent::Run { message }` (the UI's `onRun` already handles that event).

use tandem_room::Room;

use crate::error::IpcError;

pub const NOT_AVAILABLE: &str = "runs are not available in this build yet";

pub async fn request_run(
    _room: &Room,
    _request_id: &str,
    _request: serde_json::Value,
    _kind: &str,
) -> Result<String, IpcError> {
    Err(IpcError::Unavailable(NOT_AVAILABLE))
}

pub async fn cancel_run(_room: &Room, _run_id: &str) -> Result<(), IpcError> {
    Err(IpcError::Unavailable(NOT_AVAILABLE))
}
