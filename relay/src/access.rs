//! Who may use the relay: an optional allow-list of endpoint ids and/or bearer tokens.
//!
//! Why at the relay: it is the only shared infrastructure; rooms authorise members themselves
//! (signed invites), but an open relay would forward anyone's traffic.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use anyhow::{Context, Result};
use iroh_relay::server::{Access, AccessControl, ClientRequest, ConnectionId};

#[derive(Debug, Default)]
pub struct Acl {
    ids: Option<HashSet<[u8; 32]>>,
    tokens: HashSet<String>,
    /// The relay's own room peers for bridged browsers (allowed whatever the allow-list says).
    bridged: std::sync::RwLock<HashSet<[u8; 32]>>,
    pub admitted: AtomicU64,
    pub denied: AtomicU64,
    pub connected: AtomicI64,
}

fn parse_hex32(s: &str) -> Result<[u8; 32]> {
    let s = s.trim();
    anyhow::ensure!(s.len() == 64, "endpoint id {s:?} is not 64 hex digits");
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).with_context(|| format!("endpoint id {s:?} is not hex"))?;
    }
    Ok(out)
}

impl Acl {
    pub fn new(ids: &[String], tokens: &[String]) -> Result<Self> {
        let ids = if ids.is_empty() {
            None
        } else {
            Some(ids.iter().map(|s| parse_hex32(s)).collect::<Result<HashSet<_>>>()?)
        };
        Ok(Self {
            ids,
            tokens: tokens.iter().cloned().collect(),
            ..Default::default()
        })
    }

    /// Lets one of the relay's own bridge peers through the allow-list.
    pub fn allow_bridged(&self, id: [u8; 32]) {
        self.bridged.write().unwrap_or_else(|e| e.into_inner()).insert(id);
    }

    /// The first token, which the relay's own bridge peers present.
    pub fn a_token(&self) -> Option<String> {
        self.tokens.iter().next().cloned()
    }

    /// The decision, separate from the trait so it can be tested without a request.
    pub fn decide(&self, id: &[u8; 32], token: Option<&str>) -> Access {
        if !self.tokens.is_empty() && !token.is_some_and(|t| self.tokens.contains(t)) {
            return Access::Deny {
                reason: Some("missing or unknown relay token".into()),
            };
        }
        if let Some(ids) = &self.ids {
            if !ids.contains(id) && !self.bridged.read().unwrap_or_else(|e| e.into_inner()).contains(id) {
                return Access::Deny {
                    reason: Some("endpoint is not on this relay's allow-list".into()),
                };
            }
        }
        Access::Allow
    }
}

impl AccessControl for Acl {
    async fn on_connect(&self, request: &ClientRequest) -> Access {
        let token = request.auth_token();
        let decision = self.decide(request.endpoint_id().as_bytes(), token.as_deref());
        match &decision {
            Access::Allow => {
                self.admitted.fetch_add(1, Ordering::Relaxed);
                self.connected.fetch_add(1, Ordering::Relaxed);
            }
            Access::Deny { reason } => {
                self.denied.fetch_add(1, Ordering::Relaxed);
                tracing::info!(endpoint = %request.endpoint_id().fmt_short(), ?reason, "relay access denied");
            }
        }
        decision
    }

    fn on_disconnect(&self, _endpoint_id: iroh_base::EndpointId, _connection_id: ConnectionId) {
        self.connected.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_relay_admits_everyone() {
        let acl = Acl::new(&[], &[]).unwrap();
        assert_eq!(acl.decide(&[1; 32], None), Access::Allow);
    }

    #[test]
    fn allow_list_and_tokens_are_enforced() {
        let id = "01".repeat(32);
        let acl = Acl::new(std::slice::from_ref(&id), &["s3cret".to_string()]).unwrap();
        assert_eq!(acl.decide(&[1; 32], Some("s3cret")), Access::Allow);
        assert!(matches!(acl.decide(&[1; 32], None), Access::Deny { .. }));
        assert!(matches!(acl.decide(&[1; 32], Some("nope")), Access::Deny { .. }));
        assert!(matches!(acl.decide(&[2; 32], Some("s3cret")), Access::Deny { .. }));
        assert!(Acl::new(&["xyz".to_string()], &[]).is_err());
    }
}
