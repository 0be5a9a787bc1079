//! Serving the built UI (`ui/dist`): `index.html` for `/`, `/room/*` and `/r/*` (the app routes
//! itself), hashed files under `/assets/` cached forever, gzip when the browser accepts it.
//!
//! Why gzip in memory: the dist folder is a few MB, immutable while the relay runs, and 75 % of
//! it compresses away (Monaco is 4 MB of JavaScript). Compressing each file once, at start, in
//! the background, costs a second of CPU and keeps every response a memory copy.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, RwLock};

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One file, raw and (when worth it) gzipped.
struct Asset {
    raw: Bytes,
    gzip: Option<Bytes>,
}

pub struct Ui {
    dir: Option<PathBuf>,
    cache: RwLock<HashMap<PathBuf, Arc<Asset>>>,
}

/// Where the built UI is, when `--ui-dir` is not given: next to an installed binary
/// (`../share/tandem/ui`), `ui/dist` under the working directory, or the source tree's.
pub fn default_dir() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(bin) = exe.parent() {
            candidates.push(bin.join("../share/tandem/ui"));
        }
    }
    candidates.push(PathBuf::from("ui/dist"));
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist"));
    candidates.into_iter().find(|d| d.join("index.html").is_file())
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "ttf" => "font/ttf",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn compressible(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        "html" | "js" | "mjs" | "css" | "json" | "map" | "svg" | "ttf" | "txt" | "wasm" | "ico"
    )
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).ok()?;
    let out = enc.finish().ok()?;
    (out.len() < bytes.len()).then_some(out)
}

impl Ui {
    pub fn new(dir: Option<PathBuf>) -> Arc<Self> {
        Arc::new(Self {
            dir,
            cache: RwLock::new(HashMap::new()),
        })
    }

    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Loads and compresses every file now (call from a blocking task at start).
    pub fn warm(&self) {
        let Some(dir) = self.dir.clone() else { return };
        let mut stack = vec![PathBuf::new()];
        while let Some(rel) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(dir.join(&rel)) else {
                continue;
            };
            for e in entries.flatten() {
                let r = rel.join(e.file_name());
                match e.file_type() {
                    Ok(t) if t.is_dir() => stack.push(r),
                    Ok(t) if t.is_file() => {
                        let _ = self.asset(&r);
                    }
                    _ => {}
                }
            }
        }
    }

    fn asset(&self, rel: &Path) -> Option<Arc<Asset>> {
        if let Some(a) = self.cache.read().unwrap_or_else(|e| e.into_inner()).get(rel) {
            return Some(a.clone());
        }
        let raw = std::fs::read(self.dir.as_ref()?.join(rel)).ok()?;
        let gzip = if compressible(rel) && raw.len() > 512 {
            gzip(&raw).map(Bytes::from)
        } else {
            None
        };
        let a = Arc::new(Asset {
            raw: Bytes::from(raw),
            gzip,
        });
        self.cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(rel.to_path_buf(), a.clone());
        Some(a)
    }

    /// Answers a GET for `uri`.
    pub fn respond(&self, uri: &Uri, headers: &HeaderMap) -> Response {
        let path = uri.path();
        let app_route = path == "/" || path == "/index.html" || path.starts_with("/room/") || path.starts_with("/r/");
        let rel: PathBuf = if app_route {
            PathBuf::from("index.html")
        } else {
            // Only plain components: no `..`, no absolute paths, no prefixes.
            let rel = PathBuf::from(path.trim_start_matches('/'));
            if rel.as_os_str().is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
                return (StatusCode::NOT_FOUND, "not found\n").into_response();
            }
            rel
        };
        let Some(asset) = self.asset(&rel) else {
            if app_route {
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the web UI is not built: run `cd ui && npm ci && npm run build`, or give --ui-dir\n",
                )
                    .into_response();
            }
            return (StatusCode::NOT_FOUND, "not found\n").into_response();
        };
        let accepts_gzip = headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.trim().split(';').next() == Some("gzip")));
        let cache = if rel.starts_with("assets") {
            // Vite puts a content hash in every file name under assets/.
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let mut b = Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type(&rel))
            .header(header::CACHE_CONTROL, cache);
        let body = match (&asset.gzip, accepts_gzip) {
            (Some(gz), true) => {
                b = b
                    .header(header::CONTENT_ENCODING, "gzip")
                    .header(header::VARY, "Accept-Encoding");
                gz.clone()
            }
            (Some(_), false) => {
                b = b.header(header::VARY, "Accept-Encoding");
                asset.raw.clone()
            }
            (None, _) => asset.raw.clone(),
        };
        let len = body.len();
        let mut resp = b
            .body(Body::from(body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
        if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
            resp.headers_mut().insert(header::CONTENT_LENGTH, v);
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tmp(PathBuf);
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn ui() -> (Arc<Ui>, Tmp) {
        let d = std::env::temp_dir().join(format!("tandem-ui-{}", rand::random::<u64>()));
        std::fs::create_dir_all(d.join("assets")).unwrap();
        std::fs::write(d.join("index.html"), "<!doctype html><title>Tandem</title>".repeat(40)).unwrap();
        std::fs::write(d.join("assets/app-1234.js"), "console.log('tandem');".repeat(100)).unwrap();
        std::fs::write(d.join("secret.txt"), "x").unwrap();
        (Ui::new(Some(d.clone())), Tmp(d))
    }

    fn get(ui: &Ui, path: &str, gzip: bool) -> Response {
        let mut h = HeaderMap::new();
        if gzip {
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate, br"));
        }
        ui.respond(&path.parse().unwrap(), &h)
    }

    #[test]
    fn app_routes_get_index_and_assets_are_immutable_and_gzipped() {
        let (ui, _tmp) = ui();
        for p in ["/", "/room/abc?invite=x", "/r/abc"] {
            let r = get(&ui, p, false);
            assert_eq!(r.status(), StatusCode::OK, "{p}");
            assert!(r.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"));
            assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
        }
        let r = get(&ui, "/assets/app-1234.js", true);
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
        assert!(r.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable"));
        let len: usize = r.headers()[header::CONTENT_LENGTH].to_str().unwrap().parse().unwrap();
        assert!(len < 2200, "compressed to {len} bytes");
        let r = get(&ui, "/assets/app-1234.js", false);
        assert!(r.headers().get(header::CONTENT_ENCODING).is_none());
    }

    #[test]
    fn no_way_out_of_the_ui_dir() {
        let (ui, _tmp) = ui();
        for p in ["/../Cargo.toml", "/assets/../../etc/passwd", "/%2e%2e/x", "/nope.js"] {
            assert_eq!(get(&ui, p, false).status(), StatusCode::NOT_FOUND, "{p}");
        }
        let none = Ui::new(None);
        assert_eq!(get(&none, "/room/x", false).status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
