// Keeps a release build on Windows from opening a console window next to the app.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

/// sled's unused metric histograms are given back (see `tandem_memory`).
#[global_allocator]
static ALLOC: tandem_memory::Allocator = tandem_memory::Allocator;

fn main() {
    tune_javascript_engine();
    limit_malloc_arenas();
    return_freed_memory_when_idle();
    tandem_desktop::run();
}

/// JavaScriptCore options for the app's web process, which inherits this environment; set first
/// thing (before any thread exists, before WebKit starts that process), each only where the user
/// has not set it. The page is an editor and forms whose JavaScript runs in short bursts; each
/// option was measured on its own (docs/benchmarks.md, "Desktop", run 6):
/// - `JSC_useJIT=0`: JavaScript without JIT compilers (JavaScriptCore's interpreter, as in
///   Safari's Lockdown Mode). 13 MiB less resident (compiled code and its data), start-up
///   50–100 ms slower, no writable and executable memory in the process that renders what other
///   members typed. Typing through WebDriver showed no clear difference; heavy JavaScript (the
///   replay at 32×, a large paste) is slower. `JSC_useJIT=1` in the environment restores it.
/// - `JSC_largeHeapSize=16777216`, `JSC_smallHeapGrowthFactor=1.3`: collect once the heap
///   reaches 16 MiB (not 32) and let it grow by 30 % over what is live (not 100 %): the page has
///   ~16 MiB live, and JavaScriptCore's defaults size the heap for the machine's RAM. ~3 MiB.
///
/// Linux only: macOS and Windows use their own web engines.
#[cfg(target_os = "linux")]
fn tune_javascript_engine() {
    if std::env::var_os("TANDEM_WEBKIT_DEFAULTS").is_some_and(|v| v == "1") {
        return;
    }
    for (key, value) in [
        ("JSC_useJIT", "0"),
        ("JSC_largeHeapSize", "16777216"),
        ("JSC_smallHeapGrowthFactor", "1.3"),
    ] {
        if std::env::var_os(key).is_none() {
            std::env::set_var(key, value);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn tune_javascript_engine() {}

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
