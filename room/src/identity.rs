//! The installation's persistent identity: an iroh secret key kept in the data directory.
//!
//! The key is the endpoint id on the network *and* the signing key for invites, statements and
//! updates, so a peer's QUIC-authenticated id is the same key its signatures verify against.

use iroh::{PublicKey, SecretKey, Signature};
use std::path::Path;
use tandem_shared::invite::{from_hex, to_hex};

use crate::RoomError;

/// File name of the secret key inside the data directory (hex, mode 0600).
pub const KEY_FILE: &str = "identity.key";

/// Loads the secret key from `dir`, creating it on first use.
pub fn load_or_create(dir: &Path) -> Result<SecretKey, RoomError> {
    let path = dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes =
                from_hex::<32>(text.trim()).map_err(|e| RoomError::Identity(format!("{}: {e}", path.display())))?;
            Ok(SecretKey::from_bytes(&bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)?;
            let key = SecretKey::generate();
            let tmp = dir.join(format!("{KEY_FILE}.tmp"));
            write_private(&tmp, to_hex(&key.to_bytes()).as_bytes())?;
            std::fs::rename(&tmp, &path)?;
            Ok(key)
        }
        Err(e) => Err(e.into()),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Hex of a public key (the form used in invites and statements).
pub fn key_hex(key: &PublicKey) -> String {
    to_hex(key.as_bytes())
}

/// Parses a hex public key.
pub fn parse_key(hex: &str) -> Result<PublicKey, RoomError> {
    let bytes = from_hex::<32>(hex).map_err(|e| RoomError::BadSignature(format!("key: {e}")))?;
    PublicKey::from_bytes(&bytes).map_err(|e| RoomError::BadSignature(format!("key: {e}")))
}

/// Signs `msg`, returning hex.
pub fn sign_hex(key: &SecretKey, msg: &[u8]) -> String {
    to_hex(&key.sign(msg).to_bytes())
}

/// Verifies a hex signature by a hex key over `msg`.
pub fn verify_hex(signer: &str, msg: &[u8], signature: &str) -> Result<(), RoomError> {
    let key = parse_key(signer)?;
    let sig = from_hex::<64>(signature).map_err(|e| RoomError::BadSignature(format!("signature: {e}")))?;
    key.verify(msg, &Signature::from_bytes(&sig))
        .map_err(|_| RoomError::BadSignature("signature does not verify".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_persists_across_restarts() {
        let dir = std::env::temp_dir().join(format!("tandem-id-{}", rand::random::<u64>()));
        let a = load_or_create(&dir).unwrap();
        let b = load_or_create(&dir).unwrap();
        assert_eq!(a.public(), b.public());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn tampered_message_does_not_verify() {
        let k = SecretKey::generate();
        let sig = sign_hex(&k, b"hello");
        verify_hex(&key_hex(&k.public()), b"hello", &sig).unwrap();
        assert!(verify_hex(&key_hex(&k.public()), b"hellO", &sig).is_err());
        assert!(verify_hex(&key_hex(&SecretKey::generate().public()), b"hello", &sig).is_err());
    }
}
