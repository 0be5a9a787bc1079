//! Declares the app's commands to Tauri so each gets its own permission: a command that is not
//! granted in capabilities/main.json cannot be called from the webview.

const COMMANDS: &[&str] = &[
    "get_profile",
    "save_settings",
    "take_launch",
    "watch_launch",
    "create_room",
    "join_room",
    "recent_rooms",
    "open_room",
    "close_room",
    "room_send",
    "set_role",
    "set_read_only",
    "revoke",
    "create_invite",
    "request_run",
    "cancel_run",
    "interview_state_get",
    "interview_call_send",
    "interview_watch",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script");
}
