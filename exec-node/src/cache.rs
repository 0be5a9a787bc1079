//! The compile cache: a successful build's artefacts (a binary, class files), keyed by
//! everything that determines them, kept on disk with a size bound and LRU eviction.
//!
//! Why it is safe to reuse: the key covers the language, its toolchain version and image, the
//! exact compile command and every file's name and content; the artefacts are collected by
//! the agent right after the compile phase and before the program runs, so a program cannot
//! poison the cache for the next person who submits the same source.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::request::PreparedRun;

/// What a cached build holds besides its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    pub files: Vec<ArtifactMeta>,
    pub stdout: String,
    pub stderr: String,
    pub wall_ms: u64,
    pub cpu_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactMeta {
    pub path: String,
    pub executable: bool,
}

/// A build's files: (relative path, content, executable).
pub type Artifacts = Vec<(String, Vec<u8>, bool)>;

struct Entry {
    bytes: u64,
    last_used: u64,
}

struct Index {
    entries: HashMap<String, Entry>,
    total: u64,
    tick: u64,
}

pub struct CompileCache {
    dir: PathBuf,
    max_bytes: u64,
    index: Mutex<Index>,
}

/// The key of a prepared run's build.
pub fn key(prep: &PreparedRun) -> Option<String> {
    let argv = prep.compile_argv.as_ref()?;
    let mut h = sha2::Sha256::new();
    for part in [
        prep.language.id.as_str(),
        prep.language.version.as_str(),
        prep.language.image.as_str(),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for a in argv {
        h.update(a.as_bytes());
        h.update([0]);
    }
    h.update([1]);
    for (name, data) in &prep.files {
        h.update((name.len() as u64).to_be_bytes());
        h.update(name.as_bytes());
        h.update((data.len() as u64).to_be_bytes());
        h.update(data);
    }
    Some(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn safe_rel(path: &str) -> bool {
    !path.is_empty() && Path::new(path).components().all(|c| matches!(c, Component::Normal(_)))
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

impl CompileCache {
    /// Opens (or creates) the cache at `dir`, indexing what an earlier run left there.
    pub fn open(dir: &Path, max_bytes: u64) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut entries = HashMap::new();
        let mut total = 0;
        let mut found: Vec<(std::time::SystemTime, String, u64)> = Vec::new();
        for e in std::fs::read_dir(dir)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                let _ = std::fs::remove_dir_all(e.path()); // an interrupted write
                continue;
            }
            if !e.path().join("build.json").exists() {
                continue;
            }
            let mtime = e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH);
            found.push((mtime, name, dir_size(&e.path())));
        }
        found.sort();
        for (tick, (_, name, bytes)) in found.into_iter().enumerate() {
            total += bytes;
            entries.insert(
                name,
                Entry {
                    bytes,
                    last_used: tick as u64,
                },
            );
        }
        let tick = entries.len() as u64;
        Ok(Self {
            dir: dir.to_path_buf(),
            max_bytes,
            index: Mutex::new(Index { entries, total, tick }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes held now.
    pub fn size(&self) -> u64 {
        self.lock().total
    }

    /// Builds held now.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cached build for `key`, if any.
    pub async fn get(&self, key: &str) -> Option<(BuildInfo, Artifacts)> {
        {
            let mut idx = self.lock();
            idx.tick += 1;
            let tick = idx.tick;
            idx.entries.get_mut(key)?.last_used = tick;
        }
        let dir = self.dir.join(key);
        let info: BuildInfo = serde_json::from_slice(&tokio::fs::read(dir.join("build.json")).await.ok()?).ok()?;
        let mut files = Vec::with_capacity(info.files.len());
        for f in &info.files {
            if !safe_rel(&f.path) {
                return None;
            }
            files.push((
                f.path.clone(),
                tokio::fs::read(dir.join("files").join(&f.path)).await.ok()?,
                f.executable,
            ));
        }
        Some((info, files))
    }

    /// Stores a build, evicting the least recently used ones beyond the size bound.
    pub async fn put(&self, key: &str, mut info: BuildInfo, files: Artifacts) -> std::io::Result<()> {
        let bytes: u64 = files.iter().map(|f| f.1.len() as u64).sum();
        if bytes > self.max_bytes || self.lock().entries.contains_key(key) {
            return Ok(());
        }
        let tmp = self.dir.join(format!(".{key}-{}", uuid::Uuid::new_v4().simple()));
        let fdir = tmp.join("files");
        tokio::fs::create_dir_all(&fdir).await?;
        info.files.clear();
        for (path, data, executable) in &files {
            if !safe_rel(path) {
                let _ = tokio::fs::remove_dir_all(&tmp).await;
                return Err(std::io::Error::other(format!(
                    "artefact path {path:?} leaves the cache"
                )));
            }
            let target = fdir.join(path);
            if let Some(parent) = target.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            tokio::fs::write(&target, data).await?;
            info.files.push(ArtifactMeta {
                path: path.clone(),
                executable: *executable,
            });
        }
        tokio::fs::write(tmp.join("build.json"), serde_json::to_vec(&info)?).await?;
        let target = self.dir.join(key);
        if tokio::fs::rename(&tmp, &target).await.is_err() {
            // Someone stored the same build meanwhile.
            let _ = tokio::fs::remove_dir_all(&tmp).await;
            return Ok(());
        }
        let evict = {
            let mut idx = self.lock();
            idx.tick += 1;
            let tick = idx.tick;
            idx.entries.insert(key.to_string(), Entry { bytes, last_used: tick });
            idx.total += bytes;
            let mut evict = Vec::new();
            while idx.total > self.max_bytes {
                let Some(oldest) = idx
                    .entries
                    .iter()
                    .min_by_key(|(_, e)| e.last_used)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                if let Some(e) = idx.entries.remove(&oldest) {
                    idx.total -= e.bytes;
                }
                evict.push(oldest);
            }
            evict
        };
        for k in evict {
            let _ = tokio::fs::remove_dir_all(self.dir.join(k)).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> BuildInfo {
        BuildInfo {
            files: vec![],
            stdout: String::new(),
            stderr: "warning".into(),
            wall_ms: 5,
            cpu_ms: 4,
        }
    }

    fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("tandem-cache-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[tokio::test]
    async fn stores_and_returns_builds_and_survives_reopen() {
        let dir = tempdir();
        let cache = CompileCache::open(&dir, 1 << 20).unwrap();
        cache
            .put("k1", info(), vec![("main".into(), b"\x7fELF".to_vec(), true)])
            .await
            .unwrap();
        let (got, files) = cache.get("k1").await.unwrap();
        assert_eq!(got.stderr, "warning");
        assert_eq!(files, vec![("main".to_string(), b"\x7fELF".to_vec(), true)]);
        assert!(cache.get("other").await.is_none());
        drop(cache);
        let cache = CompileCache::open(&dir, 1 << 20).unwrap();
        assert_eq!(cache.len(), 1);
        assert!(cache.get("k1").await.is_some());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn evicts_least_recently_used_beyond_the_bound() {
        let dir = tempdir();
        let cache = CompileCache::open(&dir, 250).unwrap();
        for k in ["a", "b"] {
            cache
                .put(k, info(), vec![("main".into(), vec![0; 100], true)])
                .await
                .unwrap();
        }
        assert!(cache.get("a").await.is_some()); // a is now more recent than b
        cache
            .put("c", info(), vec![("main".into(), vec![0; 100], true)])
            .await
            .unwrap();
        assert!(cache.get("b").await.is_none(), "b was least recently used");
        assert!(cache.get("a").await.is_some() && cache.get("c").await.is_some());
        assert!(cache.size() <= 250);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn refuses_paths_that_leave_the_cache() {
        let dir = tempdir();
        let cache = CompileCache::open(&dir, 1 << 20).unwrap();
        assert!(cache
            .put("k", info(), vec![("../x".into(), vec![1], false)])
            .await
            .is_err());
        assert!(cache.get("k").await.is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
