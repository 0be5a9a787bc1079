// Keeps a release build on Windows from opening a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    limit_malloc_arenas();
    tandem_desktop::run();
}

/// glibc gives each thread that allocates its own malloc arena (up to 8 per core); the app's
/// threads (GTK, WebKit's UI side, tokio, iroh) each keep one mostly empty, which showed up as
/// resident memory of an idle app. Two arenas are plenty for a UI process.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: called first thing in main, before any other thread exists; mallopt only tunes
    // the allocator.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
