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
/// Statements one signer may have in a room. An interviewer's role changes, locks and
/// revocations and a member's client-id claims (one per session) stay far below it.
pub const MAX_STATEMENTS_PER_SIGNER: usize = 256;
/// Statements a room may hold: every hello carries them all, so this keeps the largest hello
/// (about 1 KiB a statement) well under the 8 MiB frame limit.
pub const MAX_STATEMENTS_PER_ROOM: usize = 4096;

/// Joins kept although they admit nobody yet (their invite's issuer is not known as an
/// interviewer yet); beyond it such joins are dropped.
pub const MAX_WAITING_JOINS: usize = 64;

/// The yrs client id bound to a member key and a nonce: the first 53 bits (JavaScript-safe) of
/// SHA-256 over a domain tag, the key and the nonce, never 0. Claiming another member's bound
/// id would need a preimage of 53 bits of SHA-256 for that one key.
pub fn bound_client_id(member: &[u8; 32], nonce: u64) -> u64 {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"tandem-client-id-v1\0");
    h.update(member);
    h.update(nonce.to_be_bytes());
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    (u64::from_be_bytes(first) & ((1 << 53) - 1)).max(1)
}

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
    /// or with a bad signature is an error; so is one over the caps ([`MAX_STATEMENTS_PER_SIGNER`],
    /// [`MAX_STATEMENTS_PER_ROOM`]) and a join dropped by [`Policy::merge`]. A statement whose
    /// signer lacks authority is kept but has no effect.
    pub fn insert(&mut self, s: SignedStatement) -> Result<bool, RoomError> {
        let (added, mut errors) = self.merge([s]);
        match errors.pop() {
            Some(e) => Err(e),
            None => Ok(!added.is_empty()),
        }
    }

    /// Checks a statement that is not known yet: room, signature, caps. Does not evaluate.
    fn admit_statement(&self, s: &SignedStatement, signed_before: usize) -> Result<(), RoomError> {
        if s.statement.room != self.room {
            return Err(RoomError::BadStatement("statement for another room".into()));
        }
        if self.statements.len() >= MAX_STATEMENTS_PER_ROOM {
            return Err(RoomError::BadStatement(format!(
                "the room already holds {MAX_STATEMENTS_PER_ROOM} statements"
            )));
        }
        if signed_before >= MAX_STATEMENTS_PER_SIGNER {
            return Err(RoomError::BadStatement(format!(
                "{} already signed {MAX_STATEMENTS_PER_SIGNER} statements in this room",
                short(&s.signer)
            )));
        }
        verify_hex(&s.signer, &s.statement.signing_bytes(), &s.signature)
            .map_err(|_| RoomError::BadStatement("forged statement: the signature does not verify".into()))?;
        if let StatementBody::Join { invite } = &s.statement.body {
            verify_invite_signature(invite)?;
        }
        Ok(())
    }

    /// Verifies and adds many statements, skipping (and reporting) bad ones; evaluates once at
    /// the end, so a batch costs one evaluation, not one per statement. Joins of the batch that
    /// admit nobody are dropped again if their invite had expired when they were signed, or
    /// beyond [`MAX_WAITING_JOINS`] such joins.
    pub fn merge(
        &mut self,
        statements: impl IntoIterator<Item = SignedStatement>,
    ) -> (Vec<SignedStatement>, Vec<RoomError>) {
        let mut added = Vec::new();
        let mut errors = Vec::new();
        let mut by_signer: HashMap<String, usize> = HashMap::new();
        for s in self.statements.values() {
            *by_signer.entry(s.signer.clone()).or_default() += 1;
        }
        for s in statements {
            if self.statements.contains_key(&s.signature) {
                continue;
            }
            let signed_before = by_signer.get(&s.signer).copied().unwrap_or(0);
            match self.admit_statement(&s, signed_before) {
                Ok(()) => {
                    *by_signer.entry(s.signer.clone()).or_default() += 1;
                    self.statements.insert(s.signature.clone(), s.clone());
                    added.push(s);
                }
                Err(e) => errors.push(e),
            }
        }
        if added.is_empty() {
            return (added, errors);
        }
        self.evaluate();
        // Joins that admit nobody: one whose invite had expired when it was signed never will,
        // so it is dropped (a flood of self-made keys); another may only be early (its issuer's
        // promotion has not arrived yet), so a few are kept until it does.
        let dead = |s: &SignedStatement| match &s.statement.body {
            StatementBody::Join { invite } => s.statement.at_ms > invite.body.expires_at.saturating_mul(1000),
            _ => false,
        };
        let is_waiting = |p: &Policy, s: &SignedStatement| {
            matches!(s.statement.body, StatementBody::Join { .. }) && !p.members.contains_key(&s.signer)
        };
        let mut waiting = self.statements.values().filter(|s| is_waiting(self, s)).count();
        let mut kept = Vec::with_capacity(added.len());
        let mut dropped = 0;
        for s in added {
            if is_waiting(self, &s) && (dead(&s) || waiting > MAX_WAITING_JOINS) {
                self.statements.remove(&s.signature);
                waiting -= 1;
                dropped += 1;
            } else {
                kept.push(s);
            }
        }
        if dropped > 0 {
            errors.push(RoomError::BadStatement(format!(
                "{dropped} join(s) that admit nobody (an invite expired when used, or too many joins waiting for their invite's issuer)"
            )));
        }
        (kept, errors)
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

    /// The nonce of the invite `key` joined with, if it joined by invite.
    pub fn join_nonce_of(&self, key: &str) -> Option<String> {
        self.statements.values().find_map(|s| match &s.statement.body {
            StatementBody::Join { invite } if s.signer == key => Some(invite.body.nonce.clone()),
            _ => None,
        })
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
        // Client ids: a bound claim (id derived from the signer's key and a nonce) always holds;
        // an unbound id (a Yjs client's own) belongs to its claimer only while no other member
        // claims it. Neither depends on the claims' times, so none can be back-dated to win.
        let mut bound: HashMap<u64, Option<String>> = HashMap::new();
        let mut unbound: HashMap<u64, Option<String>> = HashMap::new();
        for s in self.statements.values() {
            let StatementBody::ClientId { client_id, nonce } = &s.statement.body else {
                continue;
            };
            if !members.contains_key(&s.signer) {
                continue;
            }
            let table = match nonce {
                Some(n) => {
                    let derived = crate::identity::parse_key(&s.signer)
                        .map(|k| bound_client_id(k.as_bytes(), *n))
                        .ok();
                    if derived != Some(*client_id) {
                        continue;
                    }
                    &mut bound
                }
                None => &mut unbound,
            };
            table
                .entry(*client_id)
                .and_modify(|owner| {
                    if owner.as_deref() != Some(s.signer.as_str()) {
                        *owner = None; // contested: nobody's
                    }
                })
                .or_insert_with(|| Some(s.signer.clone()));
        }
        for (client_id, owner) in unbound {
            if !bound.contains_key(&client_id) {
                if let Some(owner) = owner {
                    client_owner.insert(client_id, owner);
                }
            }
        }
        for (client_id, owner) in bound {
            if let Some(owner) = owner {
                client_owner.insert(client_id, owner);
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
                body: StatementBody::ClientId {
                    client_id: 99,
                    nonce: None,
                },
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

    fn claim(f: &Fixture, who: &SecretKey, client_id: u64, nonce: Option<u64>, at_ms: u64) -> SignedStatement {
        sign_statement(
            who,
            Statement {
                room: f.room.clone(),
                at_ms,
                body: StatementBody::ClientId { client_id, nonce },
            },
        )
    }

    fn member(f: &mut Fixture, role: Role) -> SecretKey {
        let k = SecretKey::generate();
        let inv = make_invite(&f.creator, &f.room, role, true, far_future(), addr(&f.creator));
        join(f, &k, inv, now_ms()).unwrap();
        k
    }

    #[test]
    fn an_unbound_client_id_claimed_by_two_members_belongs_to_nobody() {
        let mut f = fixture();
        let (b, c) = (member(&mut f, Role::Candidate), member(&mut f, Role::Spectator));
        f.policy.insert(claim(&f, &b, 4242, None, now_ms())).unwrap();
        assert_eq!(f.policy.owner_of(4242), Some(key_hex(&b.public()).as_str()));
        // A back-dated counter-claim does not win; the id becomes nobody's (refused for both).
        f.policy.insert(claim(&f, &c, 4242, None, 0)).unwrap();
        assert_eq!(f.policy.owner_of(4242), None);
        assert!(f.policy.insertion_allowed(4242, 1).is_err());
        // A bound claim only counts if the id is derived from the signer's key.
        let nonce = 99;
        let bound = bound_client_id(b.public().as_bytes(), nonce);
        f.policy.insert(claim(&f, &c, bound, Some(nonce), 0)).unwrap();
        assert_eq!(f.policy.owner_of(bound), None);
        f.policy.insert(claim(&f, &b, bound, Some(nonce), now_ms())).unwrap();
        f.policy.insert(claim(&f, &c, bound, None, 0)).unwrap();
        assert_eq!(f.policy.owner_of(bound), Some(key_hex(&b.public()).as_str()));
    }

    #[test]
    fn a_member_flooding_statements_is_capped() {
        let mut f = fixture();
        let b = member(&mut f, Role::Candidate);
        let flood: Vec<SignedStatement> = (0..MAX_STATEMENTS_PER_SIGNER as u64 + 50)
            .map(|i| claim(&f, &b, 1000 + i, None, now_ms()))
            .collect();
        let (added, errors) = f.policy.merge(flood);
        // The join counts as one of the signer's statements.
        assert_eq!(added.len(), MAX_STATEMENTS_PER_SIGNER - 1);
        assert_eq!(errors.len(), 51);
        assert!(errors[0].to_string().contains("already signed"), "{}", errors[0]);
        // Others are not affected by that member's cap.
        let c = member(&mut f, Role::Spectator);
        f.policy.insert(claim(&f, &c, 77, None, now_ms())).unwrap();
    }

    #[test]
    fn a_flood_of_joins_with_an_expired_invite_is_not_kept() {
        let mut f = fixture();
        let expired = make_invite(
            &f.creator,
            &f.room,
            Role::Candidate,
            true,
            now_ms() / 1000 - 10,
            addr(&f.creator),
        );
        let flood: Vec<SignedStatement> = (0..2000)
            .map(|_| {
                sign_statement(
                    &SecretKey::generate(),
                    Statement {
                        room: f.room.clone(),
                        at_ms: now_ms(),
                        body: StatementBody::Join {
                            invite: expired.clone(),
                        },
                    },
                )
            })
            .collect();
        let (added, errors) = f.policy.merge(flood);
        assert!(added.is_empty());
        assert!(!errors.is_empty());
        assert_eq!(f.policy.statement_count(), 0);
        assert_eq!(f.policy.members().len(), 1);
    }

    #[test]
    fn joins_waiting_for_an_unknown_issuer_are_kept_only_up_to_a_cap() {
        let mut f = fixture();
        let stranger = SecretKey::generate();
        let self_made = make_invite(
            &stranger,
            &f.room,
            Role::Interviewer,
            true,
            far_future(),
            addr(&stranger),
        );
        let flood: Vec<SignedStatement> = (0..MAX_WAITING_JOINS + 100)
            .map(|_| {
                sign_statement(
                    &SecretKey::generate(),
                    Statement {
                        room: f.room.clone(),
                        at_ms: now_ms(),
                        body: StatementBody::Join {
                            invite: self_made.clone(),
                        },
                    },
                )
            })
            .collect();
        let (added, errors) = f.policy.merge(flood);
        assert_eq!(added.len(), MAX_WAITING_JOINS);
        assert!(
            errors[0].to_string().contains("too many joins waiting"),
            "{}",
            errors[0]
        );
        assert_eq!(f.policy.statement_count(), MAX_WAITING_JOINS);
    }

    #[test]
    fn a_room_holds_at_most_its_statement_cap() {
        let mut f = fixture();
        let mut added_total = 0;
        while added_total < MAX_STATEMENTS_PER_ROOM {
            let k = member(&mut f, Role::Spectator);
            added_total = f.policy.statement_count();
            let batch: Vec<SignedStatement> = (0..MAX_STATEMENTS_PER_SIGNER as u64)
                .map(|i| claim(&f, &k, i + 1, None, now_ms()))
                .collect();
            f.policy.merge(batch);
            added_total = added_total.max(f.policy.statement_count());
        }
        assert_eq!(f.policy.statement_count(), MAX_STATEMENTS_PER_ROOM);
        let late = SecretKey::generate();
        let inv = make_invite(
            &f.creator,
            &f.room,
            Role::Candidate,
            true,
            far_future(),
            addr(&f.creator),
        );
        let err = join(&mut f, &late, inv, now_ms()).unwrap_err();
        assert!(err.to_string().contains("already holds"), "{err}");
    }
}
