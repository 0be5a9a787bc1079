//! Input validation for everything the webview sends. Why a module of its own: the webview is
//! the least trusted part of the app (it renders room content), so every command argument is
//! checked here before it reaches the room, and each rule is unit-tested.

use base64::Engine;
use tandem_shared::invite::Invite;
use tandem_shared::room::Role;

use crate::error::IpcError;

/// Largest y-protocols message accepted over IPC, in bytes (after base64 decoding).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_NAME_CHARS: usize = 40;
pub const MAX_TICKET_LEN: usize = 4096;
pub const MAX_URL_LEN: usize = 512;

pub fn role(s: &str) -> Result<Role, IpcError> {
    s.parse().map_err(IpcError::invalid)
}

fn hex_of_len(what: &str, s: &str, len: usize) -> Result<String, IpcError> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(IpcError::invalid(format!("{what} must be {len} hexadecimal digits")))
    }
}

/// A member is named by its hex public key.
pub fn member(s: &str) -> Result<String, IpcError> {
    hex_of_len("a member id", s, 64)
}

pub fn room_id(s: &str) -> Result<String, IpcError> {
    hex_of_len("a room id", s, 32)
}

/// One y-protocols message, base64 in the IPC payload.
pub fn message(b64: &str) -> Result<Vec<u8>, IpcError> {
    // Check the size before decoding so an oversized payload costs nothing.
    if b64.len() > MAX_MESSAGE_BYTES.div_ceil(3) * 4 {
        return Err(IpcError::invalid(format!(
            "message larger than {MAX_MESSAGE_BYTES} bytes"
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| IpcError::invalid(format!("message is not base64: {e}")))?;
    if bytes.is_empty() {
        return Err(IpcError::invalid("empty message"));
    }
    Ok(bytes)
}

pub fn display_name(s: &str) -> Result<String, IpcError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(IpcError::invalid("the display name is empty"));
    }
    if t.chars().count() > MAX_NAME_CHARS {
        return Err(IpcError::invalid(format!(
            "the display name is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if t.chars().any(char::is_control) {
        return Err(IpcError::invalid("the display name contains control characters"));
    }
    Ok(t.to_string())
}

/// `#rrggbb`, as the presence colour the UI draws cursors with.
pub fn colour(s: &str) -> Result<String, IpcError> {
    let ok = s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(IpcError::invalid("the colour must look like #1a2b3c"))
    }
}

/// Empty means "no relay"; otherwise an http(s) URL.
pub fn relay_url(s: &str) -> Result<Option<String>, IpcError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.len() > MAX_URL_LEN {
        return Err(IpcError::invalid("the relay URL is too long"));
    }
    if !(t.starts_with("http://") || t.starts_with("https://")) {
        return Err(IpcError::invalid("the relay URL must start with http:// or https://"));
    }
    let parsed: tandem_room::iroh::RelayUrl = t
        .parse()
        .map_err(|e| IpcError::invalid(format!("the relay URL is not valid: {e}")))?;
    Ok(Some(parsed.to_string()))
}

/// An execution node ticket (`tandem-exec:…`, printed by `tandem-exec serve`): decoded here so a
/// mistyped ticket is refused when saved, not when the first run fails.
pub fn exec_ticket(s: &str) -> Result<Option<String>, IpcError> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.len() > MAX_TICKET_LEN {
        return Err(IpcError::invalid("the execution node ticket is too long"));
    }
    if !t.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(IpcError::invalid(
            "the execution node ticket must be one token without spaces",
        ));
    }
    tandem_shared::exec_wire::ExecTicket::decode(t)
        .map_err(|e| IpcError::invalid(format!("not an execution node ticket: {e}")))?;
    Ok(Some(t.to_string()))
}

/// A pasted invite or an opened `tandem://join/…` link (signature and expiry are checked by the
/// room when joining).
pub fn invite(s: &str) -> Result<Invite, IpcError> {
    Invite::from_link(s).map_err(|e| IpcError::invalid(format!("not a Tandem invite: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_exact() {
        assert_eq!(role("candidate").unwrap(), Role::Candidate);
        for bad in ["", "Candidate", "admin", "interviewer ", "\0"] {
            assert!(role(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ids_are_hex_of_the_right_length() {
        assert!(member(&"ab".repeat(32)).is_ok());
        assert_eq!(member(&"AB".repeat(32)).unwrap(), "ab".repeat(32));
        for bad in [
            "",
            "zz",
            &"a".repeat(63),
            &"a".repeat(65),
            &"g".repeat(64),
            &"é".repeat(32),
        ] {
            assert!(member(bad).is_err(), "{bad:?}");
        }
        assert!(room_id(&"0".repeat(32)).is_ok());
        assert!(room_id("../../etc/passwd").is_err());
    }

    #[test]
    fn messages_are_bounded_base64() {
        assert_eq!(message("AAEC").unwrap(), vec![0, 1, 2]);
        assert!(message("").is_err());
        assert!(message("not base64!").is_err());
        let huge = "A".repeat(MAX_MESSAGE_BYTES / 3 * 4 + 8);
        assert!(message(&huge).is_err());
    }

    #[test]
    fn profile_fields() {
        assert_eq!(display_name("  Ada ").unwrap(), "Ada");
        assert!(display_name("   ").is_err());
        assert!(display_name(&"x".repeat(41)).is_err());
        assert!(display_name("a\u{7}b").is_err());
        assert_eq!(colour("#E91E63").unwrap(), "#e91e63");
        for bad in ["e91e63", "#e91e6", "#e91e6z", "red", ""] {
            assert!(colour(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn relay_and_ticket() {
        assert_eq!(relay_url("").unwrap(), None);
        assert!(relay_url("http://127.0.0.1:3340").unwrap().is_some());
        for bad in ["ftp://x", "127.0.0.1:3340", "http://", "javascript:alert(1)"] {
            assert!(relay_url(bad).is_err(), "{bad:?}");
        }
        assert_eq!(exec_ticket(" ").unwrap(), None);
        assert!(exec_ticket("abc def").is_err());
        assert!(exec_ticket(&"a".repeat(MAX_TICKET_LEN + 1)).is_err());
        assert!(exec_ticket("tkt123")
            .unwrap_err()
            .to_string()
            .contains("not an execution node ticket"));
        assert!(exec_ticket("tandem-exec:!!").is_err());
        let ticket = tandem_shared::exec_wire::ExecTicket(tandem_shared::invite::PeerAddr {
            id: "ab".repeat(32),
            relay: None,
            addrs: vec!["127.0.0.1:4000".into()],
        })
        .encode();
        assert_eq!(exec_ticket(&format!(" {ticket} ")).unwrap(), Some(ticket));
    }

    #[test]
    fn invites_must_be_links() {
        for bad in ["", "hello", "tandem://join/", "tandem://join/!!!", "tandem://join/e30"] {
            assert!(invite(bad).is_err(), "{bad:?}");
        }
        assert!(invite(&format!("tandem://join/{}", "A".repeat(100_000))).is_err());
    }
}
