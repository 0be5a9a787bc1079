//! Loading the editing traces from `../shared/data/editing-traces/` (never copied into the repo).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Deserialize;

/// Where the traces live: `TANDEM_TRACES` or `<repo>/../shared/data/editing-traces`.
pub fn traces_dir() -> PathBuf {
    if let Ok(d) = std::env::var("TANDEM_TRACES") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/editing-traces")
}

#[derive(Debug, Deserialize)]
pub struct Txn {
    pub patches: Vec<(usize, usize, String)>,
}

/// A sequential trace: applying every patch in order to `start_content` yields `end_content`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SequentialTrace {
    #[serde(default)]
    pub start_content: String,
    pub end_content: String,
    pub txns: Vec<Txn>,
}

pub fn load_sequential(name: &str) -> Result<SequentialTrace> {
    let path = traces_dir().join(name);
    let f = std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let mut json = String::new();
    flate2::read::GzDecoder::new(f).read_to_string(&mut json)?;
    Ok(serde_json::from_str(&json)?)
}

/// Converts a code-point position in `text` to a UTF-16 offset (the room's unit).
pub fn utf16_offset(text: &str, char_pos: usize) -> u32 {
    text.chars().take(char_pos).map(char::len_utf16).sum::<usize>() as u32
}
