//! WebKitGTK settings for the app's one webview, chosen for memory (docs/benchmarks.md,
//! "Desktop"): the page is a single-page app served from inside the binary, so WebKit's caches
//! for browsing — the back/forward page cache and the memory cache sized for many pages — hold
//! nothing useful here. `TANDEM_WEBKIT_DEFAULTS=1` keeps WebKit's defaults (the benchmark's
//! comparison).

/// Applies the settings to the main window's webview (Linux; elsewhere nothing to do).
pub fn tune(app: &tauri::App) {
    if std::env::var_os("TANDEM_WEBKIT_DEFAULTS").is_some_and(|v| v == "1") {
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
