//! Signing and checking what an execution node relies on: a room's run settings (signed by an
//! interviewer) and organisations' endorsements of interviewers. Pure functions; the node and
//! the peers call the same ones.

use iroh::SecretKey;
use tandem_shared::exec_wire::{Endorsement, EndorsementBody, ExecSettings, ExecTicket, SignedExecSettings};

use crate::identity::{key_hex, sign_hex, verify_hex};
use crate::policy::{short, Policy};
use crate::RoomError;

/// Signs run settings with an interviewer's key.
pub fn sign_settings(key: &SecretKey, settings: ExecSettings) -> SignedExecSettings {
    let signature = sign_hex(key, &settings.signing_bytes());
    SignedExecSettings {
        settings,
        signer: key_hex(&key.public()),
        signature,
    }
}

/// Settings count only if they are for this room, name a well-formed ticket, verify, and their
/// signer is an interviewer of the room (per `policy`).
pub fn verify_settings(policy: &Policy, s: &SignedExecSettings) -> Result<(), RoomError> {
    if s.settings.room != *policy.room() {
        return Err(RoomError::BadStatement("run settings for another room".into()));
    }
    ExecTicket::decode(&s.settings.ticket).map_err(|e| RoomError::BadStatement(e.to_string()))?;
    verify_hex(&s.signer, &s.settings.signing_bytes(), &s.signature)
        .map_err(|_| RoomError::BadStatement("forged run settings: the signature does not verify".into()))?;
    if !policy.member(&s.signer).is_some_and(|m| m.is_admin()) {
        return Err(RoomError::Forbidden(format!(
            "run settings signed by {}, who is not an interviewer of this room",
            short(&s.signer)
        )));
    }
    Ok(())
}

/// An organisation endorses an interviewer until `expires_at` (unix seconds).
pub fn make_endorsement(org: &SecretKey, interviewer: &str, expires_at: u64) -> Endorsement {
    let body = EndorsementBody {
        org: key_hex(&org.public()),
        interviewer: interviewer.to_string(),
        expires_at,
    };
    let signature = sign_hex(org, &body.signing_bytes());
    Endorsement { body, signature }
}

/// Checks an endorsement's signature and expiry.
pub fn verify_endorsement(e: &Endorsement, now_ms: u64) -> Result<(), RoomError> {
    verify_hex(&e.body.org, &e.body.signing_bytes(), &e.signature)
        .map_err(|_| RoomError::BadSignature("forged endorsement: the signature does not verify".into()))?;
    if e.body.expires_at.saturating_mul(1000) < now_ms {
        return Err(RoomError::Forbidden(format!(
            "the endorsement of {} expired at {} (unix seconds)",
            short(&e.body.interviewer),
            e.body.expires_at
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_shared::invite::{PeerAddr, RoomRef};

    fn ticket() -> String {
        ExecTicket(PeerAddr {
            id: key_hex(&SecretKey::generate().public()),
            relay: None,
            addrs: vec!["127.0.0.1:1".into()],
        })
        .encode()
    }

    #[test]
    fn only_an_interviewers_settings_count() {
        let creator = SecretKey::generate();
        let room = RoomRef {
            id: "cd".repeat(16),
            creator: key_hex(&creator.public()),
        };
        let policy = Policy::new(room.clone());
        let settings = ExecSettings {
            room: room.clone(),
            ticket: ticket(),
            spectators_may_run: false,
            endorsements: vec![],
            at_ms: 1,
            runs_disabled: false,
            problem: None,
        };
        verify_settings(&policy, &sign_settings(&creator, settings.clone())).unwrap();
        let stranger = SecretKey::generate();
        assert!(verify_settings(&policy, &sign_settings(&stranger, settings.clone())).is_err());
        let mut tampered = sign_settings(&creator, settings);
        tampered.settings.spectators_may_run = true;
        assert!(verify_settings(&policy, &tampered).is_err());
    }

    #[test]
    fn endorsements_verify_and_expire() {
        let org = SecretKey::generate();
        let e = make_endorsement(&org, &"ab".repeat(32), 2_000_000_000);
        verify_endorsement(&e, 1_900_000_000_000).unwrap();
        assert!(verify_endorsement(&e, 2_000_000_001_000).is_err());
        let mut forged = e.clone();
        forged.body.interviewer = "cd".repeat(32);
        assert!(verify_endorsement(&forged, 0).is_err());
    }
}
