//! Property tests of the statement evaluator: any mix of statements, valid or not, in any
//! arrival order and batching, gives every peer the same members, roles and client-id owners,
//! and never panics.

use proptest::prelude::*;
use tandem_room::identity::key_hex;
use tandem_room::iroh::SecretKey;
use tandem_room::policy::{bound_client_id, make_invite, now_ms, sign_statement, Policy};
use tandem_shared::invite::{PeerAddr, RoomRef, SignedStatement, Statement, StatementBody};
use tandem_shared::room::Role;

#[derive(Debug, Clone)]
enum Op {
    Join {
        who: usize,
        role: u8,
        issuer: usize,
        expired: bool,
    },
    SetRole {
        by: usize,
        who: usize,
        role: u8,
        can_edit: bool,
    },
    Revoke {
        by: usize,
        who: usize,
    },
    Claim {
        who: usize,
        id: u64,
        bound: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1..5usize, 0..3u8, 0..5usize, any::<bool>()).prop_map(|(who, role, issuer, expired)| Op::Join {
            who,
            role,
            issuer,
            expired
        }),
        (0..5usize, 0..5usize, 0..3u8, any::<bool>()).prop_map(|(by, who, role, can_edit)| Op::SetRole {
            by,
            who,
            role,
            can_edit
        }),
        (0..5usize, 1..5usize).prop_map(|(by, who)| Op::Revoke { by, who }),
        (0..5usize, 1..4u64, any::<bool>()).prop_map(|(who, id, bound)| Op::Claim { who, id, bound }),
    ]
}

fn role(r: u8) -> Role {
    [Role::Interviewer, Role::Candidate, Role::Spectator][r as usize % 3]
}

fn statements(keys: &[SecretKey], room: &RoomRef, ops: &[Op]) -> Vec<SignedStatement> {
    let addr = PeerAddr {
        id: String::new(),
        relay: None,
        addrs: vec![],
    };
    let base = now_ms();
    ops.iter()
        .enumerate()
        .map(|(i, op)| {
            let at_ms = base + i as u64;
            let (signer, body) = match op {
                Op::Join {
                    who,
                    role: r,
                    issuer,
                    expired,
                } => {
                    let expires = if *expired { base / 1000 - 10 } else { base / 1000 + 3600 };
                    let invite = make_invite(&keys[*issuer], room, role(*r), true, expires, addr.clone());
                    (*who, StatementBody::Join { invite })
                }
                Op::SetRole {
                    by,
                    who,
                    role: r,
                    can_edit,
                } => (
                    *by,
                    StatementBody::SetRole {
                        member: key_hex(&keys[*who].public()),
                        role: role(*r),
                        can_edit: *can_edit,
                        frozen: vec![],
                    },
                ),
                Op::Revoke { by, who } => (
                    *by,
                    StatementBody::Revoke {
                        member: key_hex(&keys[*who].public()),
                        frozen: vec![],
                    },
                ),
                Op::Claim { who, id, bound } => {
                    let (client_id, nonce) = if *bound {
                        (bound_client_id(keys[*who].public().as_bytes(), *id), Some(*id))
                    } else {
                        (*id, None)
                    };
                    (*who, StatementBody::ClientId { client_id, nonce })
                }
            };
            sign_statement(
                &keys[signer],
                Statement {
                    room: room.clone(),
                    at_ms,
                    body,
                },
            )
        })
        .collect()
}

fn view(p: &Policy, keys: &[SecretKey]) -> (Vec<tandem_room::policy::Member>, Vec<Option<String>>) {
    let mut ids: Vec<u64> = (1..4).collect();
    for k in keys {
        for n in 1..4 {
            ids.push(bound_client_id(k.public().as_bytes(), n));
        }
    }
    (
        p.members(),
        ids.iter().map(|c| p.owner_of(*c).map(str::to_string)).collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_statements_in_any_order_give_every_peer_the_same_policy(
        ops in prop::collection::vec(op(), 0..24),
        order in any::<u64>(),
        split in 0..24usize,
    ) {
        let keys: Vec<SecretKey> = (0..5).map(|_| SecretKey::generate()).collect();
        let room = RoomRef { id: "ef".repeat(16), creator: key_hex(&keys[0].public()) };
        let all = statements(&keys, &room, &ops);
        // One peer gets everything in one batch; another in a shuffled order, in two batches.
        let mut a = Policy::new(room.clone());
        a.merge(all.clone());
        let mut shuffled = all.clone();
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = ((order >> (i % 48)) as usize ^ i.wrapping_mul(2654435761)) % (i + 1);
            shuffled.swap(i, j);
        }
        let (first, second) = shuffled.split_at(split.min(n));
        let mut b = Policy::new(room.clone());
        b.merge(first.to_vec());
        b.merge(second.to_vec());
        // Statements b dropped as useless in the first batch may have become useful: a peer
        // re-offers everything it has on every hello, so merge what a holds once more.
        b.merge(a.statements());
        a.merge(b.statements());
        prop_assert_eq!(view(&a, &keys), view(&b, &keys));
    }
}
