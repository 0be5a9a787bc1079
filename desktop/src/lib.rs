//! Tandem desktop: a Tauri 2 shell around the UI (ui/dist) with a native room peer.
//!
//! - [`desktop`]: the command logic (room peer, sessions, settings), plain Rust, unit-tested;
//! - [`commands`]: the Tauri commands, thin wrappers (the capability file lists exactly these);
//! - [`session`]: one open room in the webview (y-protocols over IPC via `Room::attach_local`);
//! - [`validate`]: checks on every input from the webview;
//! - [`settings`]: profile, relay/exec settings, recent rooms;
//! - [`runs`]: the marked place where runs get wired after the `exec` merge.

pub mod commands;
pub mod desktop;
pub mod error;
pub mod record;
pub mod runs;
pub mod session;
pub mod settings;
pub mod validate;

use std::net::SocketAddr;
use std::sync::Arc;

use tauri::Manager;

use crate::desktop::{Desktop, Launch};

/// What the process arguments ask for: a `tandem://join/…` link (how the OS hands over an
/// opened link, via the `.desktop` file's `%u`) or `--open <room-id>` (reopen a stored room).
pub fn launch_from_args(args: impl IntoIterator<Item = String>) -> Launch {
    let mut launch = Launch::default();
    let mut args = args.into_iter().skip(1);
    while let Some(a) = args.next() {
        if a.starts_with(tandem_shared::invite::INVITE_LINK_PREFIX) {
            launch.link = Some(a);
        } else if a == "--open" {
            launch.open_room = args.next().and_then(|id| validate::room_id(&id).ok());
        }
    }
    launch
}

/// UDP address for direct paths: `TANDEM_DESKTOP_BIND`, else all interfaces.
fn bind_addr() -> SocketAddr {
    std::env::var("TANDEM_DESKTOP_BIND")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)))
}

pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TANDEM_LOG").unwrap_or_else(|_| "warn,tandem=info".into()),
        )
        .try_init();
    tauri::Builder::default()
        .setup(|app| {
            // TANDEM_DATA_DIR lets tests and benchmarks use a throwaway profile.
            let data_dir = match std::env::var_os("TANDEM_DATA_DIR") {
                Some(d) => d.into(),
                None => app.path().app_data_dir()?,
            };
            let desktop = Arc::new(Desktop::new(data_dir, bind_addr()));
            desktop.set_launch(launch_from_args(std::env::args()));
            // Start the peer now so the first command does not wait for it.
            let d = desktop.clone();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = d.node().await {
                    tracing::error!(error = %e, "the room peer did not start");
                }
            });
            app.manage(desktop);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::get_profile,
            commands::save_settings,
            commands::take_launch,
            commands::create_room,
            commands::join_room,
            commands::recent_rooms,
            commands::open_room,
            commands::close_room,
            commands::room_send,
            commands::set_role,
            commands::set_read_only,
            commands::revoke,
            commands::create_invite,
            commands::request_run,
            commands::cancel_run,
            record::interview_state_get,
            record::interview_call_send,
            record::interview_watch,
        ])
        .build(tauri::generate_context!())
        .expect("error while building the Tandem desktop app")
        .run(|app, event| {
            if let tauri::RunEvent::Exit = event {
                let d = app.state::<Arc<Desktop>>().inner().clone();
                tauri::async_runtime::block_on(d.shutdown());
            }
        });
}
