//! Membership and roles: the deterministic evaluation of a room's signed statements.
//!
//! Every peer holds the same set of [`SignedStatement`]s (they are gossiped on connect and
//! whenever one is added) and evaluates them in the same order — by `(at_ms, signature)` — so
//! every peer reaches the same view of who is a member, with which role and edit right, and
//! which yrs client ids belong to whom. A statement only takes effect if its signer had the
//! authority to make it at that point of the order (an interviewer for invites, role changes and
//! revocations; the member itself for its join and client ids).

use std::collections::{BTreeMap, HashMap, HashSet};

use iroh::SecretKey;
use tandem_shared::invite::{
    Invite, InviteBody, PeerAddr, RoomRef, SignedStatement, Statement, StatementBody, INVITE_VERSION,
};
use tandem_shared::room::Role;

use crate::identity::{key_hex, sign_hex, verify_hex};
use crate::RoomError;

/// How far in the future a statement's clock may be (clock skew between machines).
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A member as the statements define it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub key: String,
    pub role: Role,
    pub can_edit: bool,
    pub revoked: bool,
    /// Client id → clock up to which insertions stay accepted after losing the edit right.
    pub frozen: HashMap<u64, u32>,
}

impl Member {
    /// May this member change the document right now?
    pub fn may_edit(&self) -> bool {
        self.can_edit && !self.revoked
    }
    /// May this member issue invites, change roles and revoke?
    pub fn is_admin(&self) -> bool {
        self.role == Role::Interviewer && !self.revoked
    }
}

/// Signs an invite.
pub fn make_invite(
    issuer: &SecretKey,
    room: &RoomRef,
    role: Role,
    can_edit: bool,
    expires_at: u64,
    peer: PeerAddr,
) -> Invite {
    let body = InviteBody {
        version: INVITE_VERSION,
        room: room.clone(),
        role,
        can_edit: can_edit && role.edits_by_default(),
        expires_at,
        issuer: key_hex(&issuer.public()),
        nonce: tandem_shared::invite::to_hex(&rand::random::<[u8; 16]>()),
        peer,
    };
    let signature = sign_hex(issuer, &body.signing_bytes());
    Invite { body, signature }
}

/// Checks an invite's signature, version and room (not its issuer's authority or expiry, which
/// depend on the policy and the time; see [`Policy::check_invite`]).
pub fn verify_invite_signature(invite: &Invite) -> Result<(), RoomError> {
    if invite.body.version != INVITE_VERSION {
        return Err(RoomError::InviteRefused(format!(
            "unsupported invite version {}",
            invite.body.version
        )));
    }
    verify_hex(&invite.body.issuer, &invite.body.signing_bytes(), &invite.signature)
        .map_err(|_| RoomError::InviteRefused("forged invite: the signature does not verify".into()))
}

/// Signs a statement.
pub fn sign_statement(key: &SecretKey, statement: Statement) -> SignedStatement {
    let signature = sign_hex(key, &statement.signing_bytes());
    SignedStatement {
        statement,
        signer: key_hex(&key.public()),
        signature,
    }
}

/// The room's statements and their evaluation.
#[derive(Debug, Clone)]
pub struct Policy {
    room: RoomRef,
    /// Keyed by signature, so a statement is stored once however often it is gossiped.
    statements: BTreeMap<String, SignedStatement>,
    members: HashMap<String, Member>,
    revoked_invites: HashSet<String>,
    client_owner: HashMap<u64, String>,
}

impl Policy {
    pub fn new(room: RoomRef) -> Self {
        let mut p = Self {
            room,
            statements: BTreeMap::new(),
            members: HashMap::new(),
            revoked_invites: HashSet::new(),
            client_owner: HashMap::new(),
        };
        p.evaluate();
        p
    }

    pub fn room(&self) -> &RoomRef {
        &self.room
    }

    pub fn statements(&self) -> Vec<SignedStatement> {
        self.statements.values().cloned().collect()
    }

    /// How many statements are known. Statements are only ever added, so a change in the count
    /// is a change in the policy (a cheap revision for caches of what the policy decides).
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// The latest `at_ms` of any known statement (0 if none).
    pub fn latest_at_ms(&self) -> u64 {
        self.statements.values().map(|s| s.statement.at_ms).max().unwrap_or(0)
    }

    pub fn contains(&self, s: &SignedStatement) -> bool {
        self.statements.contains_key(&s.signature)
    }

    /// Verifies and adds a statement. Returns whether it was new. A statement for another room
    /// or with a bad signature is an error; one whose signer lacks authority is kept (it may
    /// become meaningful to nobody) but has no effect.
    pub fn insert(&mut self, s: SignedStatement) -> Result<bool, RoomError> {
        if self.statements.contains_key(&s.signature) {
            return Ok(false);
        }
        if s.statement.room != self.room {
            return Err(RoomError::BadStatement("statement for another room".into()));
        }
        verify_hex(&s.signer, &s.statement.signing_bytes(), &s.signature)
            .map_err(|_| RoomError::BadStatement("forged statement: the signature does not verify".into()))?;
        if let StatementBody::Join { invite } = &s.statement.body {
            verify_invite_signature(invite)?;
        }
        self.statements.insert(s.signature.clone(), s);
        self.evaluate();
        Ok(true)
    }

    /// Inserts many statements, skipping (and reporting) bad ones.
    pub fn merge(
        &mut self,
        statements: impl IntoIterator<Item = SignedStatement>,
    ) -> (Vec<SignedStatement>, Vec<RoomError>) {
        let mut added = Vec::new();
        let mut errors = Vec::new();
        for s in statements {
            match self.insert(s.clone()) {
                Ok(true) => added.push(s),
                Ok(false) => {}
                Err(e) => errors.push(e),
            }
        }
        (added, errors)
    }

    pub fn member(&self, key: &str) -> Option<&Member> {
        self.members.get(key)
    }

    pub fn members(&self) -> Vec<Member> {
        let mut m: Vec<Member> = self.members.values().cloned().collect();
        m.sort_by(|a, b| a.key.cmp(&b.key));
        m
    }

    /// Is `key` a current (not revoked) member?
    pub fn is_member(&self, key: &str) -> bool {
        self.members.get(key).is_some_and(|m| !m.revoked)
    }

    pub fn may_edit(&self, key: &str) -> bool {
        self.members.get(key).is_some_and(Member::may_edit)
    }

    pub fn owner_of(&self, client_id: u64) -> Option<&str> {
        self.client_owner.get(&client_id).map(String::as_str)
    }

    pub fn client_ids_of(&self, key: &str) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .client_owner
            .iter()
            .filter(|(_, k)| *k == key)
            .map(|(c, _)| *c)
            .collect();
        ids.sort();
        ids
    }

    /// May the insertions of `client_id` up to clock `end` (exclusive) be applied?
    pub fn insertion_allowed(&self, client_id: u64, end: u32) -> Result<(), String> {
        let owner = self
            .client_owner
            .get(&client_id)
            .ok_or_else(|| format!("client id {client_id} belongs to no member"))?;
        let m = self
            .members
            .get(owner)
            .ok_or_else(|| format!("{owner} is not a member"))?;
        if m.may_edit() || m.frozen.get(&client_id).is_some_and(|f| end <= *f) {
            Ok(())
        } else {
            Err(format!("{} ({}) has no edit right", short(owner), m.role.as_str()))
        }
    }

    /// Would `invite` admit a new member now? Checks signature, room, the issuer's authority,
    /// expiry and revocation.
    pub fn check_invite(&self, invite: &Invite, now_ms: u64) -> Result<(), RoomError> {
        verify_invite_signature(invite)?;
        if invite.body.room != self.room {
            return Err(RoomError::InviteRefused("the invite is for another room".into()));
        }
        if !self.members.get(&invite.body.issuer).is_some_and(Member::is_admin) {
            return Err(RoomError::InviteRefused(
                "the invite's issuer is not an interviewer of this room".into(),
            ));
        }
        if invite.body.expires_at.saturating_mul(1000) < now_ms {
            return Err(RoomError::InviteRefused(format!(
                "the invite expired at {} (unix seconds)",
                invite.body.expires_at
            )));
        }
        if self.revoked_invites.contains(&invite.body.nonce) {
            return Err(RoomError::InviteRefused("the invite was revoked".into()));
        }
        Ok(())
    }

    /// Decides whether the peer with `key`, connecting now, is admitted. A join statement this
    /// peer had not seen before must be fresh and its invite valid *now*: that is what stops a
    /// back-dated join with an expired or revoked invite.
    pub fn admit(&self, key: &str, previously_known: &Policy, now: u64) -> Result<&Member, RoomError> {
        // The join that made (or should have made) this key a member.
        let join = self
            .statements
            .values()
            .find(|s| s.signer == key && matches!(s.statement.body, StatementBody::Join { .. }));
        let new_invite = match join {
            Some(j) if !previously_known.contains(j) => match &j.statement.body {
                StatementBody::Join { invite } => Some((j, invite)),
                _ => None,
            },
            _ => None,
        };
        let Some(m) = self.members.get(key) else {
            // Say why: the invite it presented is usually the reason.
            if let Some((_, invite)) = new_invite {
                previously_known
                    .check_invite(invite, now)
                    .map_err(|e| RoomError::NotAMember(e.to_string()))?;
            }
            return Err(RoomError::NotAMember(format!(
                "{} is not a member of this room",
                short(key)
            )));
        };
        if m.revoked {
            return Err(RoomError::NotAMember(format!(
                "{} was revoked from this room",
                short(key)
            )));
        }
        if key == self.room.creator {
            return Ok(m);
        }
        if let Some((j, invite)) = new_invite {
            if j.statement.at_ms.abs_diff(now) > MAX_CLOCK_SKEW_MS {
                return Err(RoomError::NotAMember("the join is not fresh (check the clock)".into()));
            }
            previously_known
                .check_invite(invite, now)
                .map_err(|e| RoomError::NotAMember(e.to_string()))?;
        }
        Ok(m)
    }

    fn evaluate(&mut self) {
        let mut order: Vec<&SignedStatement> = self.statements.values().collect();
        order.sort_by(|a, b| (a.statement.at_ms, &a.signature).cmp(&(b.statement.at_ms, &b.signature)));
        let mut members: HashMap<String, Member> = HashMap::new();
        members.insert(
            self.room.creator.clone(),
            Member {
                key: self.room.creator.clone(),
                role: Role::Interviewer,
                can_edit: true,
                revoked: false,
                frozen: HashMap::new(),
            },
        );
        let mut revoked_invites = HashSet::new();
        let mut client_owner: HashMap<u64, String> = HashMap::new();
        for s in order {
            let signer_is_admin = members.get(&s.signer).is_some_and(Member::is_admin);
            match &s.statement.body {
                StatementBody::Join { invite } => {
                    let b = &invite.body;
                    let issuer_ok = members.get(&b.issuer).is_some_and(Member::is_admin);
                    let valid = b.room == self.room
                        && issuer_ok
                        && s.statement.at_ms <= b.expires_at.saturating_mul(1000)
                        && !revoked_invites.contains(&b.nonce)
                        && !members.contains_key(&s.signer);
                    if valid {
                        members.insert(
                            s.signer.clone(),
                            Member {
                                key: s.signer.clone(),
                                role: b.role,
                                can_edit: b.can_edit && b.role.edits_by_default(),
                                revoked: false,
                                frozen: HashMap::new(),
                            },
                        );
                    }
                }
                StatementBody::SetRole {
                    member,
                    role,
                    can_edit,
                    frozen,
                } => {
                    if signer_is_admin && *member != self.room.creator {
                        if let Some(m) = members.get_mut(member).filter(|m| !m.revoked) {
                            m.role = *role;
                            m.can_edit = *can_edit && role.edits_by_default();
                            for (c, clock) in frozen {
                                let f = m.frozen.entry(*c).or_default();
                                *f = (*f).max(*clock);
                            }
                        }
                    }
                }
                StatementBody::Revoke { member, frozen } => {
                    if signer_is_admin && *member != self.room.creator {
                        if let Some(m) = members.get_mut(member) {
                            m.revoked = true;
                            for (c, clock) in frozen {
                                let f = m.frozen.entry(*c).or_default();
                                *f = (*f).max(*clock);
                            }
                        }
                    }
                }
                StatementBody::RevokeInvite { nonce } => {
                    if signer_is_admin {
                        revoked_invites.insert(nonce.clone());
                    }
                }
                // Bound in a second pass: a claim may sort before the join it follows.
                StatementBody::ClientId { .. } => {}
            }
        }
        let mut claims: Vec<&SignedStatement> = self
            .statements
            .values()
            .filter(|s| matches!(s.statement.body, StatementBody::ClientId { .. }))
            .collect();
        claims.sort_by(|a, b| (a.statement.at_ms, &a.signature).cmp(&(b.statement.at_ms, &b.signature)));
        for s in claims {
            if let StatementBody::ClientId { client_id } = &s.statement.body {
                if members.contains_key(&s.signer) {
                    client_owner.entry(*client_id).or_insert_with(|| s.signer.clone());
                }
            }
        }
        self.members = members;
        self.revoked_invites = revoked_invites;
        self.client_owner = client_owner;
    }
}

/// First 10 hex digits of a key, for messages.
pub fn short(key: &str) -> &str {
    key.get(..10).unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixture {
        creator: SecretKey,
        room: RoomRef,
        policy: Policy,
    }

    fn fixture() -> Fixture {
        let creator = SecretKey::generate();
        let room = RoomRef {
            id: "ab".repeat(16),
            creator: key_hex(&creator.public()),
        };
        let policy = Policy::new(room.clone());
        Fixture { creator, room, policy }
    }

    fn addr(k: &SecretKey) -> PeerAddr {
        PeerAddr {
            id: key_hex(&k.public()),
            relay: None,
            addrs: vec![],
        }
    }

    fn join(f: &mut Fixture, who: &SecretKey, invite: Invite, at_ms: u64) -> Result<bool, RoomError> {
        let s = sign_statement(
            who,
            Statement {
                room: f.room.clone(),
                at_ms,
                body: StatementBody::Join { invite },
            },
        );
        f.policy.insert(s)
    }

    fn far_future() -> u64 {
        now_ms() / 1000 + 3600
    }

    #[test]
    fn creator_is_the_first_interviewer() {
        let f = fixture();
        let m = f.policy.member(&f.room.creator).unwrap();
        assert_eq!(m.role, Role::Interviewer);
        assert!(m.may_edit() && m.is_admin());
    }

    #[test]
    fn valid_invite_admits_with_its_role() {
        let mut f = fixture();
        let cand = SecretKey::generate();
        let inv = make_invite(
            &f.creator,
            &f.room,
            Role::Candidate,
            true,
            far_future(),
            addr(&f.creator),
        );
        let before = f.policy.clone();
        f.policy.check_invite(&inv, now_ms()).unwrap();
        join(&mut f, &cand, inv, now_ms()).unwrap();
        let m = f.policy.admit(&key_hex(&cand.public()), &before, now_ms()).unwrap();
        assert_eq!(m.role, Role::Candidate);
        assert!(m.may_edit());
    }

    #[test]
    fn forged_invite_is_refused() {
        let mut f = fixture();
        let mut inv = make_invite(
            &f.creator,
            &f.room,
            Role::Candidate,
            true,
            far_future(),
            addr(&f.creator),
        );
        inv.body.role = Role::Interviewer; // tampered after signing
        assert!(matches!(
            f.policy.check_invite(&inv, now_ms()),
            Err(RoomError::InviteRefused(_))
        ));
        let mallory = SecretKey::generate();
        assert!(join(&mut f, &mallory, inv, now_ms()).is_err());
        // Signed correctly, but by someone who is not an interviewer of the room.
        let self_signed = make_invite(&mallory, &f.room, Role::Interviewer, true, far_future(), addr(&mallory));
        assert!(f.policy.check_invite(&self_signed, now_ms()).is_err());
        join(&mut f, &mallory, self_signed, now_ms()).unwrap();
        assert!(!f.policy.is_member(&key_hex(&mallory.public())));
    }

    #[test]
    fn expired_invite_is_refused_even_with_a_backdated_join() {
        let mut f = fixture();
        let expired_at = now_ms() / 1000 - 10;
        let inv = make_invite(&f.creator, &f.room, Role::Candidate, true, expired_at, addr(&f.creator));
        let err = f.policy.check_invite(&inv, now_ms()).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
        let late = SecretKey::generate();
        let before = f.policy.clone();
        // Back-dating the join to before the expiry makes it valid in the log…
        join(&mut f, &late, inv, expired_at * 1000 - 1000).unwrap();
        // …but a peer that sees it for the first time at connection refuses it.
        assert!(f.policy.admit(&key_hex(&late.public()), &before, now_ms()).is_err());
    }

    #[test]
    fn revoked_invite_and_revoked_member_are_refused() {
        let mut f = fixture();
        let inv = make_invite(
            &f.creator,
            &f.room,
            Role::Candidate,
            true,
            far_future(),
            addr(&f.creator),
        );
        let early = SecretKey::generate();
        join(&mut f, &early, inv.clone(), now_ms() - 10).unwrap();
        let revoke_invite = sign_statement(
            &f.creator,
            Statement {
                room: f.room.clone(),
                at_ms: now_ms(),
                body: StatementBody::RevokeInvite {
                    nonce: inv.body.nonce.clone(),
                },
            },
        );
        f.policy.insert(revoke_invite).unwrap();
        let err = f.policy.check_invite(&inv, now_ms()).unwrap_err();
        assert!(err.to_string().contains("revoked"), "{err}");
        // The member who joined before the revocation stays until revoked themselves.
        let early_key = key_hex(&early.public());
        assert!(f.policy.is_member(&early_key));
        let revoke = sign_statement(
            &f.creator,
            Statement {
                room: f.room.clone(),
                at_ms: now_ms() + 1,
                body: StatementBody::Revoke {
                    member: early_key.clone(),
                    frozen: vec![],
                },
            },
        );
        f.policy.insert(revoke).unwrap();
        assert!(!f.policy.is_member(&early_key));
        assert!(f.policy.admit(&early_key, &f.policy.clone(), now_ms()).is_err());
    }

    #[test]
    fn only_interviewers_change_roles_and_read_only_freezes_insertions() {
        let mut f = fixture();
        let cand = SecretKey::generate();
        let ck = key_hex(&cand.public());
        let inv = make_invite(
            &f.creator,
            &f.room,
            Role::Candidate,
            true,
            far_future(),
            addr(&f.creator),
        );
        join(&mut f, &cand, inv, now_ms()).unwrap();
        let cid = sign_statement(
            &cand,
            Statement {
                room: f.room.clone(),
                at_ms: now_ms(),
                body: StatementBody::ClientId { client_id: 99 },
            },
        );
        f.policy.insert(cid).unwrap();
        assert_eq!(f.policy.owner_of(99), Some(ck.as_str()));
        f.policy.insertion_allowed(99, 1000).unwrap();
        // The candidate cannot promote itself.
        let selfie = sign_statement(
            &cand,
            Statement {
                room: f.room.clone(),
                at_ms: now_ms() + 1,
                body: StatementBody::SetRole {
                    member: ck.clone(),
                    role: Role::Interviewer,
                    can_edit: true,
                    frozen: vec![],
                },
            },
        );
        f.policy.insert(selfie).unwrap();
        assert_eq!(f.policy.member(&ck).unwrap().role, Role::Candidate);
        let ro = sign_statement(
            &f.creator,
            Statement {
                room: f.room.clone(),
                at_ms: now_ms() + 2,
                body: StatementBody::SetRole {
                    member: ck.clone(),
                    role: Role::Candidate,
                    can_edit: false,
                    frozen: vec![(99, 10)],
                },
            },
        );
        f.policy.insert(ro).unwrap();
        assert!(!f.policy.may_edit(&ck));
        f.policy.insertion_allowed(99, 10).unwrap();
        assert!(f.policy.insertion_allowed(99, 11).is_err());
        assert!(f.policy.insertion_allowed(12345, 1).is_err());
    }

    #[test]
    fn evaluation_is_independent_of_arrival_order() {
        let mut f = fixture();
        let cand = SecretKey::generate();
        let inv = make_invite(
            &f.creator,
            &f.room,
            Role::Candidate,
            true,
            far_future(),
            addr(&f.creator),
        );
        let j = sign_statement(
            &cand,
            Statement {
                room: f.room.clone(),
                at_ms: now_ms(),
                body: StatementBody::Join { invite: inv },
            },
        );
        let ro = sign_statement(
            &f.creator,
            Statement {
                room: f.room.clone(),
                at_ms: now_ms() + 5,
                body: StatementBody::SetRole {
                    member: key_hex(&cand.public()),
                    role: Role::Spectator,
                    can_edit: true,
                    frozen: vec![],
                },
            },
        );
        let mut a = Policy::new(f.room.clone());
        a.merge([j.clone(), ro.clone()]);
        let mut b = Policy::new(f.room.clone());
        b.merge([ro, j]);
        assert_eq!(a.members(), b.members());
        assert!(!a.may_edit(&key_hex(&cand.public())), "spectators never edit");
        f.policy = a;
    }
}
