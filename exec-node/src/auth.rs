//! Who may use the HTTP API, and how often.
//!
//! **API keys.** The operator lists keys in the config, hashed (SHA-256 of the key, so a leaked
//! config file gives no key away), each with a name and scopes:
//!
//! ```toml
//! [[api_keys]]
//! name = "acme-backend"          # who the runs belong to; also the fairness tenant
//! sha256 = "9f86d0…"             # `tandem-exec key new` prints a key and this line
//! scopes = ["run", "watch"]
//! ```
//!
//! A client sends `Authorization: Bearer <key>` (a bare `Authorization: <key>` is accepted too,
//! which is what Piston clients send when configured with a key). Scopes:
//! - `run`: start runs (`POST /api/v2/execute`, `POST /api/tandem/v1/runs`) and cancel its own;
//! - `watch`: read its own runs (`GET /api/tandem/v1/runs/{id}` and `…/events`);
//! - `admin`: everything, any key's runs, and `/metrics`.
//!
//! Any valid key may read the languages and the problem bank's public parts. Runs belong to the
//! key's *name*, so two keys with one name (a backend's `run` key and a dashboard's `watch` key)
//! share their runs. The requester recorded in the audit log and the fairness tenant of the
//! queue are the key's name: nothing in the request (a body's `room`, a header) can choose them.
//!
//! **No key configured** means a node for this machine only: `serve` refuses to listen on any
//! address but loopback, and every local caller may do everything (the requester is its
//! address).
//!
//! **Rate limits** (`governor`): per client IP before the key is even looked at (so guessing
//! keys is slow too), and per key name after. A request over either is answered 429 with
//! `Retry-After`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Run,
    Watch,
    Admin,
}

/// One key of the operator config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    pub name: String,
    /// Hex SHA-256 of the key.
    pub sha256: String,
    pub scopes: Vec<Scope>,
}

/// A config's key list that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyConfigError {
    #[error("api_keys[{index}]: `sha256` must be 64 hex digits (run `tandem-exec key new` to make a key)")]
    BadHash { index: usize },
    #[error("api_keys[{index}]: `name` must be 1–64 characters of letters, digits, `.`, `_`, `-`")]
    BadName { index: usize },
    #[error("api_keys[{index}]: no scopes (use \"run\", \"watch\" and/or \"admin\")")]
    NoScopes { index: usize },
    #[error("api_keys[{index}]: the same key is listed twice")]
    Duplicate { index: usize },
}

/// Why a request is not let in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("this node requires an API key: send `Authorization: Bearer <key>`")]
    NoKey,
    #[error("the API key is not valid for this node")]
    UnknownKey,
    #[error("this API key lacks the `{0}` scope")]
    Scope(&'static str),
    #[error("this run was started by another key")]
    NotYours,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A node without keys, reached over loopback: may do everything.
    Local { peer: String },
    /// A configured key.
    Key { name: String, scopes: Vec<Scope> },
}

impl Principal {
    /// The requester as runs record it (and as ownership compares it).
    pub fn requester(&self) -> String {
        match self {
            Principal::Local { peer } => peer.clone(),
            Principal::Key { name, .. } => format!("key:{name}"),
        }
    }

    /// The queue's fairness tenant: the key's name, or (local) none, so the requester's.
    pub fn tenant(&self) -> Option<String> {
        match self {
            Principal::Local { .. } => None,
            Principal::Key { name, .. } => Some(format!("key:{name}")),
        }
    }

    fn has(&self, scope: Scope) -> bool {
        match self {
            Principal::Local { .. } => true,
            Principal::Key { scopes, .. } => scopes.contains(&scope) || scopes.contains(&Scope::Admin),
        }
    }

    /// Requires `scope` (admin has every scope).
    pub fn require(&self, scope: Scope) -> Result<(), Denied> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(Denied::Scope(match scope {
                Scope::Run => "run",
                Scope::Watch => "watch",
                Scope::Admin => "admin",
            }))
        }
    }

    /// Requires `scope` and that the run recorded as `owner`'s is this caller's (or admin).
    pub fn require_owner(&self, scope: Scope, owner: &str) -> Result<(), Denied> {
        self.require(scope)?;
        if matches!(self, Principal::Local { .. }) || self.has(Scope::Admin) || owner == self.requester() {
            Ok(())
        } else {
            Err(Denied::NotYours)
        }
    }
}

/// Hex SHA-256 of a key, as the config stores it.
pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fresh random key (244 random bits from the OS).
pub fn new_key() -> String {
    format!("tdx_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// The configured keys, by hash.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    by_hash: HashMap<[u8; 32], (String, Vec<Scope>)>,
}

fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

impl Keys {
    pub fn from_config(keys: &[ApiKey]) -> Result<Self, KeyConfigError> {
        let mut by_hash = HashMap::new();
        for (index, k) in keys.iter().enumerate() {
            let hash = parse_hash(&k.sha256).ok_or(KeyConfigError::BadHash { index })?;
            let name_ok = !k.name.is_empty()
                && k.name.len() <= 64
                && k.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !name_ok {
                return Err(KeyConfigError::BadName { index });
            }
            if k.scopes.is_empty() {
                return Err(KeyConfigError::NoScopes { index });
            }
            if by_hash.insert(hash, (k.name.clone(), k.scopes.clone())).is_some() {
                return Err(KeyConfigError::Duplicate { index });
            }
        }
        Ok(Self { by_hash })
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// The caller of a request with this `Authorization` header value.
    pub fn authenticate(&self, authorization: Option<&str>, peer: IpAddr) -> Result<Principal, Denied> {
        if self.is_empty() {
            return Ok(Principal::Local { peer: peer.to_string() });
        }
        let value = authorization
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or(Denied::NoKey)?;
        let key = match value.split_once(' ') {
            Some((scheme, key)) if scheme.eq_ignore_ascii_case("bearer") => key.trim(),
            _ => value,
        };
        let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        // A lookup by the hash of the presented key: timing tells nothing about a stored key.
        self.by_hash
            .get(&hash)
            .map(|(name, scopes)| Principal::Key {
                name: name.clone(),
                scopes: scopes.clone(),
            })
            .ok_or(Denied::UnknownKey)
    }
}

/// Per-IP and per-key request rates.
pub struct Limits {
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    per_key: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
}

/// Keyed limiters forget idle clients once they hold this many.
const FORGET_ABOVE: usize = 10_000;

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl Limits {
    pub fn new(per_ip_per_minute: u32, per_key_per_minute: u32) -> Self {
        Self {
            per_ip: DefaultKeyedRateLimiter::keyed(per_minute(per_ip_per_minute)),
            per_key: DefaultKeyedRateLimiter::keyed(per_minute(per_key_per_minute)),
            clock: DefaultClock::default(),
        }
    }

    /// `Err(seconds to wait)` when this IP is over its rate.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), u64> {
        if self.per_ip.len() > FORGET_ABOVE {
            self.per_ip.retain_recent();
        }
        self.per_ip.check_key(&ip).map_err(|n| self.seconds(n))
    }

    /// `Err(seconds to wait)` when this caller's key is over its rate (local callers have
    /// only the per-IP rate).
    pub fn check_principal(&self, who: &Principal) -> Result<(), u64> {
        let Principal::Key { name, .. } = who else {
            return Ok(());
        };
        if self.per_key.len() > FORGET_ABOVE {
            self.per_key.retain_recent();
        }
        self.per_key.check_key(name).map_err(|n| self.seconds(n))
    }

    fn seconds(&self, n: governor::NotUntil<<DefaultClock as Clock>::Instant>) -> u64 {
        let wait = n.wait_time_from(self.clock.now());
        wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (Keys, String) {
        let key = new_key();
        let keys = Keys::from_config(&[ApiKey {
            name: "acme".into(),
            sha256: hash_key(&key),
            scopes: vec![Scope::Run],
        }])
        .unwrap();
        (keys, key)
    }

    #[test]
    fn a_key_is_known_by_its_hash_with_or_without_bearer() {
        let (keys, key) = keys();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let me = keys.authenticate(Some(&format!("Bearer {key}")), ip).unwrap();
        assert_eq!(me.requester(), "key:acme");
        assert_eq!(keys.authenticate(Some(&key), ip).unwrap(), me);
        assert_eq!(keys.authenticate(None, ip), Err(Denied::NoKey));
        assert_eq!(keys.authenticate(Some("Bearer nope"), ip), Err(Denied::UnknownKey));
        assert_eq!(me.require(Scope::Watch), Err(Denied::Scope("watch")));
        assert_eq!(me.require_owner(Scope::Run, "key:other"), Err(Denied::NotYours));
        me.require_owner(Scope::Run, "key:acme").unwrap();
    }

    #[test]
    fn without_keys_every_local_caller_may_do_everything() {
        let me = Keys::default()
            .authenticate(None, "127.0.0.1".parse().unwrap())
            .unwrap();
        me.require(Scope::Admin).unwrap();
        me.require_owner(Scope::Run, "someone else").unwrap();
        assert_eq!(me.tenant(), None);
    }

    #[test]
    fn bad_key_lists_are_refused() {
        let k = |name: &str, sha: &str, scopes: Vec<Scope>| ApiKey {
            name: name.into(),
            sha256: sha.into(),
            scopes,
        };
        let good = hash_key("x");
        assert!(matches!(
            Keys::from_config(&[k("a", "abc", vec![Scope::Run])]),
            Err(KeyConfigError::BadHash { index: 0 })
        ));
        assert!(matches!(
            Keys::from_config(&[k("a b", &good, vec![Scope::Run])]),
            Err(KeyConfigError::BadName { .. })
        ));
        assert!(matches!(
            Keys::from_config(&[k("a", &good, vec![])]),
            Err(KeyConfigError::NoScopes { .. })
        ));
        assert!(matches!(
            Keys::from_config(&[k("a", &good, vec![Scope::Run]), k("b", &good, vec![Scope::Run])]),
            Err(KeyConfigError::Duplicate { index: 1 })
        ));
    }

    #[test]
    fn rates_are_kept_per_ip_and_per_key() {
        let limits = Limits::new(2, 1);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        limits.check_ip(a).unwrap();
        limits.check_ip(a).unwrap();
        let wait = limits.check_ip(a).unwrap_err();
        assert!((1..=30).contains(&wait), "{wait}");
        limits.check_ip(b).unwrap();
        let key = Principal::Key {
            name: "acme".into(),
            scopes: vec![Scope::Run],
        };
        limits.check_principal(&key).unwrap();
        assert!(limits.check_principal(&key).is_err());
        limits.check_principal(&Principal::Local { peer: "x".into() }).unwrap();
    }
}
