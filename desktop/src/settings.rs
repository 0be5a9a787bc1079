//! The user's profile and settings, and the list of recent rooms: small JSON files in the app's
//! data directory (next to the room peer's key and sled store).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::IpcError;
use crate::validate;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Empty until the first-run screen was completed.
    pub name: String,
    pub colour: String,
    /// The relay the room peer uses when a direct path fails (takes effect on restart).
    pub relay_url: Option<String>,
    /// The execution node ticket rooms created here name for runs.
    pub exec_ticket: Option<String>,
}

/// What the settings form sends (every field validated).
#[derive(Debug, Clone, Deserialize)]
pub struct SettingsInput {
    pub name: String,
    pub colour: String,
    #[serde(default)]
    pub relay_url: String,
    #[serde(default)]
    pub exec_ticket: String,
}

impl SettingsInput {
    pub fn validate(&self) -> Result<Settings, IpcError> {
        Ok(Settings {
            name: validate::display_name(&self.name)?,
            colour: validate::colour(&self.colour)?,
            relay_url: validate::relay_url(&self.relay_url)?,
            exec_ticket: validate::exec_ticket(&self.exec_ticket)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentRoom {
    pub id: String,
    pub creator: String,
    pub last_opened_ms: u64,
}

fn read_json<T: for<'de> Deserialize<'de> + Default>(path: &Path) -> T {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable file");
            T::default()
        }),
        Err(_) => T::default(),
    }
}

/// Writes via a temporary file and a rename, so a crash never leaves half a file.
fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), IpcError> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

pub struct Files {
    dir: PathBuf,
}

impl Files {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
    pub fn settings(&self) -> Settings {
        read_json(&self.dir.join("settings.json"))
    }
    pub fn save_settings(&self, s: &Settings) -> Result<(), IpcError> {
        std::fs::create_dir_all(&self.dir)?;
        write_json(&self.dir.join("settings.json"), s)
    }
    pub fn recent(&self) -> Vec<RecentRoom> {
        read_json(&self.dir.join("recent.json"))
    }
    pub fn touch_recent(&self, id: &str, creator: &str, now_ms: u64) -> Result<(), IpcError> {
        let mut list = self.recent();
        list.retain(|r| r.id != id);
        list.insert(
            0,
            RecentRoom {
                id: id.into(),
                creator: creator.into(),
                last_opened_ms: now_ms,
            },
        );
        list.truncate(50);
        std::fs::create_dir_all(&self.dir)?;
        write_json(&self.dir.join("recent.json"), &list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_corrupt_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let f = Files::new(dir.path());
        assert_eq!(f.settings(), Settings::default());
        let s = SettingsInput {
            name: "Ada".into(),
            colour: "#123abc".into(),
            relay_url: "http://127.0.0.1:3340".into(),
            exec_ticket: String::new(),
        }
        .validate()
        .unwrap();
        f.save_settings(&s).unwrap();
        assert_eq!(f.settings(), s);
        std::fs::write(dir.path().join("settings.json"), b"{not json").unwrap();
        assert_eq!(f.settings(), Settings::default());
    }

    #[test]
    fn recent_rooms_are_most_recent_first_without_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let f = Files::new(dir.path());
        f.touch_recent("a", "c", 1).unwrap();
        f.touch_recent("b", "c", 2).unwrap();
        f.touch_recent("a", "c", 3).unwrap();
        let ids: Vec<String> = f.recent().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["a", "b"]);
    }
}
