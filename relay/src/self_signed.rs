//! The self-signed certificate of `--self-signed DIR`.
//!
//! Made once and kept in DIR: peers are told to trust this exact certificate
//! (`--relay-ca DIR/cert.pem`), so a new one on every start would break them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub const CERT_FILE: &str = "cert.pem";
pub const KEY_FILE: &str = "key.pem";

/// Where the certificate and its key are.
pub struct SelfSigned {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Uses the certificate in `dir`, or makes one valid for `names` (DNS names or IP addresses).
pub fn load_or_create(dir: &Path, names: &[String]) -> Result<SelfSigned> {
    let cert = dir.join(CERT_FILE);
    let key = dir.join(KEY_FILE);
    if cert.exists() && key.exists() {
        tracing::info!(cert = %cert.display(), "using the existing self-signed certificate");
        return Ok(SelfSigned { cert, key });
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let made = rcgen::generate_simple_self_signed(names.to_vec()).context("making a self-signed certificate")?;
    write_private(&key, made.signing_key.serialize_pem().as_bytes())?;
    std::fs::write(&cert, made.cert.pem()).with_context(|| format!("writing {}", cert.display()))?;
    tracing::info!(cert = %cert.display(), ?names, "made a self-signed certificate");
    Ok(SelfSigned { cert, key })
}

/// Writes a file only its owner can read (the key must not leak to other local users).
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_reused_and_key_private() {
        let dir = std::env::temp_dir().join(format!("tandem-relay-ss-{}", std::process::id()));
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let a = load_or_create(&dir, &names).unwrap();
        let first = std::fs::read(&a.cert).unwrap();
        let b = load_or_create(&dir, &names).unwrap();
        assert_eq!(
            std::fs::read(&b.cert).unwrap(),
            first,
            "a restart must keep the certificate"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&a.key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
