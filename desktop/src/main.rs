// Keeps a release build on Windows from opening a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// sled's unused metric histograms are given back (see `tandem_memory`).
#[global_allocator]
static ALLOC: tandem_memory::Allocator = tandem_memory::Allocator;

fn main() {
    tandem_desktop::webview::tune_javascript_engine();
    limit_malloc_arenas();
    return_freed_memory_when_idle();
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

/// Start-up frees a lot (the page's assets served from the binary, the room's catch-up, TLS and
/// QUIC handshakes), but glibc returns only the top of a heap to the system; the free chunks in
/// between stay resident for as long as the app runs. `malloc_trim` gives those pages back. Once
/// after start-up, then every minute: a few milliseconds, on its own thread.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_freed_memory_when_idle() {
    let spawned = std::thread::Builder::new().name("malloc-trim".into()).spawn(|| {
        std::thread::sleep(std::time::Duration::from_secs(5));
        loop {
            // SAFETY: malloc_trim only releases free memory; safe to call from any thread.
            unsafe {
                libc::malloc_trim(0);
            }
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    });
    if let Err(e) = spawned {
        eprintln!("tandem-desktop: no malloc-trim thread: {e}");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_freed_memory_when_idle() {}
