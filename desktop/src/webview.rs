//! WebKitGTK settings for the app's one webview, chosen for memory (docs/benchmarks.md,
//! "Desktop"): the page is a single-page app served from inside the binary, so WebKit's caches
//! for browsing — the back/forward page cache and the memory cache sized for many pages — hold
//! nothing useful here; and JavaScriptCore's options for a small page. `TANDEM_WEBKIT_DEFAULTS=1`
//! keeps WebKit's and JavaScriptCore's defaults (for comparing).

fn keep_defaults() -> bool {
    std::env::var_os("TANDEM_WEBKIT_DEFAULTS").is_some_and(|v| v == "1")
}

/// Applies the settings to the main window's webview (Linux; elsewhere nothing to do).
pub fn tune(app: &tauri::App) {
    if keep_defaults() {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        use tauri::Manager;
        use webkit2gtk::{CacheModel, SettingsExt, WebContextExt, WebViewExt};
        let Some(window) = app.get_webview_window("main") else {
            return;
        };
        let r = window.with_webview(|w| {
            let view = w.inner();
            if let Some(ctx) = view.context() {
                // The smallest memory cache: one document, no cached pages for other sites.
                ctx.set_cache_model(CacheModel::DocumentViewer);
            }
            if let Some(s) = WebViewExt::settings(&view) {
                s.set_enable_page_cache(false);
            }
        });
        if let Err(e) = r {
            tracing::warn!(error = %e, "could not tune the webview");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = app;
}

/// JavaScriptCore options for the app's web process, which inherits this environment. Call first
/// thing in `main`: setting the environment is only sound before other threads exist, and it must
/// precede WebKit starting that process. Each is set only where the user has not set it. The page
/// is an editor and forms whose JavaScript runs in short bursts; each option was measured on its
/// own (docs/benchmarks.md, "Desktop", run 6):
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
pub fn tune_javascript_engine() {
    if keep_defaults() {
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
pub fn tune_javascript_engine() {}
