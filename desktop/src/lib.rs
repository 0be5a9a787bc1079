//! Tandem desktop: a Tauri 2 shell around the UI (ui/dist) with a native room peer.
//!
//! - [`desktop`]: the command logic (room peer, sessions, settings), plain Rust, unit-tested;
//! - [`commands`]: the Tauri commands, thin wrappers (the capability file lists exactly these);
//! - [`session`]: one open room in the webview (y-protocols over IPC via `Room::attach_local`);
//! - [`validate`]: checks on every input from the webview;
//! - [`settings`]: profile, relay/exec settings, recent rooms;
//! - [`runs`]: runs through the room's execution node (requests checked here);
//! - [`instance`]: one app per profile; a later launch hands its `tandem://` link over.

pub mod commands;
pub mod desktop;
pub mod error;
pub mod instance;
pub mod record;
pub mod runs;
pub mod session;
pub mod settings;
pub mod validate;
pub mod webview;

use std::net::SocketAddr;
use std::path::PathBuf;
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

/// The app's identifier (tauri.conf.json), the name of its data directory.
pub const IDENTIFIER: &str = "dev.tandem.desktop";

/// The profile directory: `TANDEM_DATA_DIR`, else the OS data directory plus [`IDENTIFIER`]
/// (what Tauri's `app_data_dir` resolves to). Known before the app is built, so a second launch
/// can find the running one's socket without starting anything. `None` only where the home
/// directory is unknown (then Tauri's resolver is asked and there is no single-instance check).
pub fn profile_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("TANDEM_DATA_DIR") {
        return Some(d.into());
    }
    let home = || std::env::var_os("HOME").map(PathBuf::from);
    let base = if cfg!(target_os = "macos") {
        home().map(|h| h.join("Library/Application Support"))
    } else if cfg!(windows) {
        std::env::var_os("APPDATA").map(PathBuf::from)
    } else {
        std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| home().map(|h| h.join(".local/share")))
    };
    base.map(|b| b.join(IDENTIFIER))
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
    if std::env::args().any(|a| a == BENCH_BASELINE_FLAG) {
        return run_bench_baseline();
    }
    let launch = launch_from_args(std::env::args());
    let profile = profile_dir();
    // One app per profile: a second launch hands its link to the running app and exits.
    #[cfg(unix)]
    let listener = match profile.as_deref().map(|d| instance::claim(d, &launch)) {
        Some(Ok(instance::Claim::Forwarded)) => {
            eprintln!("Tandem is already running: handed the request to it.");
            return;
        }
        Some(Ok(instance::Claim::First(l))) => Some(l),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "no single-instance socket; later launches start their own app");
            None
        }
        None => None,
    };
    tauri::Builder::default()
        .setup(move |app| {
            main_window(app, "index.html")?;
            let data_dir = match profile {
                Some(d) => d,
                None => app.path().app_data_dir()?,
            };
            let desktop = Arc::new(Desktop::new(data_dir, bind_addr()));
            desktop.set_launch(launch);
            #[cfg(unix)]
            if let Some(l) = listener {
                let (d, handle) = (desktop.clone(), app.handle().clone());
                instance::Claim::serve(l, move |launch| {
                    if let Some(w) = handle.get_webview_window("main") {
                        let _ = w.unminimize();
                        let _ = w.show();
                        let _ = w.set_focus();
                    }
                    d.forwarded_launch(launch);
                });
            }
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
            commands::watch_launch,
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
                let Some(d) = app.try_state::<Arc<Desktop>>().map(|d| d.inner().clone()) else {
                    return;
                };
                tauri::async_runtime::block_on(d.shutdown());
                #[cfg(unix)]
                let _ = std::fs::remove_file(instance::socket_path(d.data_dir()));
            }
        });
}

/// The main window from the config (`create: false` there, so the page can differ: the
/// benchmark's baseline shows a one-textarea page in the same window), with the webview tuned.
fn main_window(app: &tauri::App, page: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut conf = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == "main")
        .cloned()
        .ok_or("no main window in tauri.conf.json")?;
    conf.url = tauri::WebviewUrl::App(page.into());
    tauri::WebviewWindowBuilder::from_config(app.handle(), &conf)?.build()?;
    webview::tune(app);
    Ok(())
}

/// `tandem-desktop --bench-baseline`: the desktop benchmark's baseline (desktop/e2e/bench.sh).
pub const BENCH_BASELINE_FLAG: &str = "--bench-baseline";

/// The same binary, window and webview settings, but a one-textarea page (ui/public/
/// bench-baseline.html) and no room peer, no profile, no commands: the floor any Tauri window
/// pays on this machine, measured beside the app so its figures read as "floor + Tandem".
fn run_bench_baseline() {
    tauri::Builder::default()
        .setup(|app| main_window(app, "bench-baseline.html"))
        .run(tauri::generate_context!())
        .expect("error while running the baseline window");
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_identifier_matches_the_tauri_config() {
        let conf: serde_json::Value = serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
        assert_eq!(conf["identifier"], super::IDENTIFIER);
    }

    #[test]
    fn launch_arguments() {
        let args = |a: &[&str]| super::launch_from_args(a.iter().map(|s| s.to_string()));
        assert_eq!(
            args(&["app", "tandem://join/x"]).link.as_deref(),
            Some("tandem://join/x")
        );
        assert_eq!(
            args(&["app", "--open", &"a".repeat(32)]).open_room,
            Some("a".repeat(32))
        );
        assert_eq!(args(&["app", "--open", "../x"]).open_room, None);
        assert_eq!(args(&["app", "https://x"]), Default::default());
    }
}
