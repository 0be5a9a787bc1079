//! The Tauri commands: thin wrappers over [`Desktop`], which holds the logic and is tested
//! without a window. Every command here is listed in capabilities/main.json and nothing else is.

use std::sync::Arc;

use tauri::ipc::Channel;
use tauri::State;

use crate::desktop::{Desktop, Launch, Opened, Profile, RoomSummary};
use crate::error::IpcError;
use crate::session::RoomEvent;
use crate::settings::{RecentRoom, SettingsInput};

type D<'a> = State<'a, Arc<Desktop>>;

#[tauri::command]
pub async fn get_profile(d: D<'_>) -> Result<Profile, IpcError> {
    d.profile().await
}

#[tauri::command]
pub fn save_settings(d: D<'_>, settings: SettingsInput) -> Result<bool, IpcError> {
    d.save_settings(settings)
}

#[tauri::command]
pub fn take_launch(d: D<'_>) -> Launch {
    d.take_launch()
}

/// Launches handed over by later processes (a `tandem://join/…` link opened while the app runs).
#[tauri::command]
pub fn watch_launch(d: D<'_>, on_launch: Channel<Launch>) {
    d.watch_launch(Arc::new(move |l| on_launch.send(l).is_ok()));
}

#[tauri::command]
pub async fn create_room(d: D<'_>) -> Result<RoomSummary, IpcError> {
    d.create_room().await
}

#[tauri::command]
pub async fn join_room(d: D<'_>, link: String) -> Result<RoomSummary, IpcError> {
    d.join_room(&link).await
}

#[tauri::command]
pub async fn recent_rooms(d: D<'_>) -> Result<Vec<RecentRoom>, IpcError> {
    d.recent_rooms().await
}

#[tauri::command]
pub async fn open_room(d: D<'_>, room_id: String, on_event: Channel<RoomEvent>) -> Result<Opened, IpcError> {
    d.open_room(&room_id, Arc::new(move |e| on_event.send(e).is_ok())).await
}

#[tauri::command]
pub fn close_room(d: D<'_>, session: u32) -> Result<(), IpcError> {
    d.close_room(session)
}

#[tauri::command]
pub async fn room_send(d: D<'_>, session: u32, data: String) -> Result<(), IpcError> {
    d.send(session, &data).await
}

#[tauri::command]
pub fn set_role(d: D<'_>, session: u32, member: String, role: String) -> Result<(), IpcError> {
    d.set_role(session, &member, &role)
}

#[tauri::command]
pub fn set_read_only(d: D<'_>, session: u32, member: String, read_only: bool) -> Result<(), IpcError> {
    d.set_read_only(session, &member, read_only)
}

#[tauri::command]
pub fn revoke(d: D<'_>, session: u32, member: String) -> Result<(), IpcError> {
    d.revoke(session, &member)
}

#[tauri::command]
pub fn create_invite(d: D<'_>, session: u32, role: String) -> Result<String, IpcError> {
    d.create_invite(session, &role)
}

#[tauri::command]
pub async fn request_run(
    d: D<'_>,
    session: u32,
    request_id: String,
    request: serde_json::Value,
    kind: String,
) -> Result<String, IpcError> {
    d.request_run(session, &request_id, request, &kind).await
}

#[tauri::command]
pub async fn cancel_run(d: D<'_>, session: u32, run_id: String) -> Result<(), IpcError> {
    d.cancel_run(session, &run_id).await
}
