//! A per-IP token bucket for new browser sockets: each address may open `per_minute` sockets in
//! a burst, then one every `60 / per_minute` seconds. Hand-written because it is this small; the
//! table of addresses is bounded (idle full buckets are dropped first).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Addresses remembered at most; beyond it the fullest (idle) ones are forgotten.
const MAX_TRACKED: usize = 65_536;

pub struct PerIp {
    per_minute: u32,
    buckets: HashMap<IpAddr, (f64, Instant)>,
}

impl PerIp {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: per_minute.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Takes a token for `ip` at `now`; when there is none, how long until there is.
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.per_minute);
        let per_sec = burst / 60.0;
        if self.buckets.len() >= MAX_TRACKED && !self.buckets.contains_key(&ip) {
            self.buckets
                .retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * per_sec < burst);
        }
        let (tokens, at) = self.buckets.entry(ip).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_sec).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_sec))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_burst_then_waits_and_others_are_not_affected() {
        let mut r = PerIp::new(3);
        let t = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            r.allow(a, t).unwrap();
        }
        let wait = r.allow(a, t).unwrap_err();
        assert!(
            wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        r.allow(b, t).unwrap();
        // A token comes back after 20 s.
        r.allow(a, t + Duration::from_secs(21)).unwrap();
        assert!(r.allow(a, t + Duration::from_secs(21)).is_err());
    }
}
