//! Randomized rooms in the style of Zed's collaboration tests: honest peers edit, chat and change
//! roles while links drop, peers restart from nothing and a hostile member attacks; after every
//! run the honest peers must converge, nothing the hostile peer forged may be anywhere, and a
//! newcomer must still be able to load the room.
//!
//! `TANDEM_SEED=<n>` replays one seed, `TANDEM_ITERATIONS=<n>` sets the steps per seed (CI runs
//! a short fixed set; docs/rooms.md has the command for a long run). A failure prints its seed.

use automerge::transaction::Transactable;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tandem_room::core::{sign_updates, Edit, RoomCore};
use tandem_room::identity::{key_hex, parse_key};
use tandem_room::iroh::SecretKey;
use tandem_room::policy::{now_ms, sign_statement};
use tandem_shared::invite::{PeerAddr, RoomRef, SignedStatement, Statement, StatementBody};
use tandem_shared::protocol::{RecordSync, SignedChange, SignedUpdate};
use tandem_shared::room::{CodeDoc, Role};
use yrs::{ReadTxn, Transact};

const FILE: &str = "main.py";
/// Text the hostile peer tries to plant; it must never appear anywhere.
const EVIL: &str = "EVIL";

struct Peer {
    key: SecretKey,
    core: RoomCore,
    online: bool,
}

fn nowhere() -> PeerAddr {
    PeerAddr {
        id: String::new(),
        relay: None,
        addrs: vec![],
    }
}

fn join(room: &RoomRef, admin: &RoomCore, role: Role) -> (SecretKey, SignedStatement) {
    let k = SecretKey::generate();
    let invite = admin.invite(role, true, 3600, nowhere()).unwrap();
    let j = sign_statement(
        &k,
        Statement {
            room: room.clone(),
            at_ms: now_ms(),
            body: StatementBody::Join { invite },
        },
    );
    (k, j)
}

fn all_statements(peers: &[Peer]) -> Vec<SignedStatement> {
    peers.iter().flat_map(|p| p.core.policy().statements()).collect()
}

/// Catch-up of `to` from `from`, as a sync step 1 / kind 6 exchange does it.
fn catch_up(peers: &mut [Peer], from: usize, to: usize) {
    let sv = peers[to].core.code().doc().transact().state_vector();
    for s in peers[from].core.snapshots_for(&sv) {
        let _ = peers[to].core.receive_snapshot(&s);
    }
    for u in peers[from].core.catch_up_for(&sv) {
        // The hostile peer's log may hold anything; honest logs must always be accepted.
        let result = peers[to].core.receive_update(&u);
        if from != 4 {
            result.unwrap_or_else(|e| panic!("peer {to} refused catch-up from honest peer {from}: {e}"));
        }
    }
    let heads = peers[to].core.record_heads();
    let sync = peers[from].core.record_sync_for(&heads);
    let _ = peers[to].core.receive_record(&sync);
}

fn run(seed: u64, steps: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let ck = SecretKey::generate();
    let room = RoomRef {
        id: format!("{seed:032x}"),
        creator: key_hex(&ck.public()),
    };
    let a = RoomCore::open(ck.clone(), room.clone(), None, None).unwrap();
    let mut joins = Vec::new();
    let mut keys = Vec::new();
    for role in [Role::Candidate, Role::Candidate, Role::Spectator, Role::Spectator] {
        let (k, j) = join(&room, &a, role);
        joins.push(j);
        keys.push(k);
    }
    let mut peers = vec![Peer {
        key: ck,
        core: a,
        online: true,
    }];
    for k in keys {
        let mut core = RoomCore::open(k.clone(), room.clone(), None, None).unwrap();
        core.add_statements(joins.clone());
        peers.push(Peer {
            key: k,
            core,
            online: true,
        });
    }
    let everything = all_statements(&peers);
    for p in peers.iter_mut() {
        p.core.add_statements(everything.clone());
    }
    // Peer 4 is hostile: a spectator running modified code.
    const HOSTILE: usize = 4;
    let honest = 0..HOSTILE;
    let mut refused_attacks = 0;

    for step in 0..steps {
        let who = rng.random_range(0..HOSTILE);
        match rng.random_range(0..100) {
            // An edit, delivered live to some peers; the rest get it by catch-up later.
            0..=49 => {
                if !peers[who].online || !peers[who].core.policy().may_edit(peers[who].core.me()) {
                    continue;
                }
                let len = peers[who].core.code().len_utf16(FILE);
                let edit = if len > 0 && rng.random_bool(0.3) {
                    let index = rng.random_range(0..len);
                    Edit::Delete {
                        file: FILE.into(),
                        index,
                        len: rng.random_range(1..=(len - index).min(5)),
                    }
                } else {
                    let word = ["a", "b", "def ", "x = 1\n", "é", "🦀"][rng.random_range(0..6)];
                    Edit::Insert {
                        file: FILE.into(),
                        index: rng.random_range(0..=len),
                        text: word.into(),
                    }
                };
                let u = peers[who].core.edit(&edit, false).unwrap();
                for (i, p) in peers.iter_mut().enumerate() {
                    if i != who && p.online && rng.random_bool(0.6) {
                        p.core
                            .receive_update(&u)
                            .unwrap_or_else(|e| panic!("seed {seed} step {step}: {e}"));
                    }
                }
            }
            // A link comes back: catch-up between two online peers (the hostile one included).
            50..=64 => {
                let (x, y) = (rng.random_range(0..peers.len()), rng.random_range(0..peers.len()));
                if x != y && peers[x].online && peers[y].online {
                    catch_up(&mut peers, x, y);
                }
            }
            // A peer goes offline or comes back.
            65..=72 => {
                if who != 0 {
                    peers[who].online = !peers[who].online;
                }
            }
            // A peer restarts from nothing (its data lost) and joins again under its key.
            73..=76 => {
                if who == 0 {
                    continue;
                }
                let statements = all_statements(&peers[..1]);
                let mut core = RoomCore::open(peers[who].key.clone(), room.clone(), None, None).unwrap();
                core.add_statements(statements);
                // Its new client-id claim reaches everyone before its first edit.
                let claim = core.policy().statements();
                for p in peers.iter_mut() {
                    p.core.add_statements(claim.clone());
                }
                peers[who].core = core;
                peers[who].online = true;
                catch_up(&mut peers, 0, who);
            }
            // The interviewer toggles a candidate's edit right, at a quiet moment: everyone
            // online and caught up first. (An edit still in flight across the change is refused
            // by the peers that see the change first and kept by the others: a known limit of
            // freezing by clock, see docs/rooms.md.)
            77..=80 => {
                for p in peers.iter_mut() {
                    p.online = true;
                }
                settle(&mut peers);
                let target = 1 + rng.random_range(0..2);
                let member = peers[target].core.me().to_string();
                let may = peers[0].core.policy().may_edit(&member);
                let s = peers[0].core.set_role(&member, Role::Candidate, !may).unwrap();
                for p in peers.iter_mut() {
                    p.core.add_statements(vec![s.clone()]);
                }
            }
            // Chat and the record.
            81..=86 => {
                if peers[who].online {
                    let _ = peers[who].core.post_chat("n", &format!("msg {step}"));
                    if who == 0 {
                        peers[0]
                            .core
                            .change_record(|r| r.set_language(["py", "go", "rs"][step % 3]))
                            .unwrap();
                    }
                }
            }
            // The hostile peer attacks a random honest peer.
            _ => {
                let victim = rng.random_range(honest.clone());
                if attack(&mut rng, &mut peers, HOSTILE, victim) {
                    refused_attacks += 1;
                } else {
                    panic!("seed {seed} step {step}: an attack on peer {victim} was accepted");
                }
            }
        }
    }
    for p in peers.iter_mut() {
        p.online = true;
    }
    settle(&mut peers);
    let text = peers[0].core.code().text(FILE);
    for (i, p) in peers.iter_mut().enumerate().take(HOSTILE) {
        assert_eq!(p.core.code().text(FILE), text, "seed {seed}: peer {i} diverged");
        assert!(
            !p.core.code().text(FILE).contains(EVIL),
            "seed {seed}: forged text on peer {i}"
        );
        assert_ne!(
            p.core.record().language().as_deref(),
            Some(EVIL),
            "seed {seed}: forged record on peer {i}"
        );
    }
    // A newcomer can still load the room from any honest peer.
    let (k, j) = join(&room, &peers[0].core, Role::Spectator);
    let mut late = RoomCore::open(k, room.clone(), None, None).unwrap();
    late.add_statements(all_statements(&peers[..1]));
    late.add_statements(vec![j]);
    let sv = late.code().doc().transact().state_vector();
    let from = rng.random_range(honest);
    for s in peers[from].core.snapshots_for(&sv) {
        late.receive_snapshot(&s).unwrap();
    }
    for u in peers[from].core.catch_up_for(&sv) {
        late.receive_update(&u)
            .unwrap_or_else(|e| panic!("seed {seed}: the newcomer refused honest content: {e}"));
    }
    assert_eq!(late.code().text(FILE), text, "seed {seed}: the newcomer's copy differs");
    assert!(refused_attacks > 0, "seed {seed}: no attack was tried in {steps} steps");
}

/// Every peer catches up from every other until nothing changes.
fn settle(peers: &mut [Peer]) {
    for _ in 0..3 {
        for x in 0..peers.len() {
            for y in 0..peers.len() {
                if x != y && peers[x].online && peers[y].online {
                    catch_up(peers, x, y);
                }
            }
        }
    }
}

/// One attack by `h` on `victim`; true if the victim refused it.
fn attack(rng: &mut StdRng, peers: &mut [Peer], h: usize, victim: usize) -> bool {
    let room = peers[h].core.room().clone();
    let interviewer = peers[0].core.me().to_string();
    let their_id = peers[0].core.code().client_id();
    match rng.random_range(0..5) {
        // Text under the interviewer's client id, signed by the hostile peer.
        0 => {
            let forged = CodeDoc::new(their_id).insert(FILE, 0, EVIL).unwrap();
            let u = sign_updates(&peers[h].key, &room, vec![forged]).unwrap();
            peers[victim].core.receive_update(&u).is_err()
        }
        // The same, claiming to be the interviewer (the signature cannot match).
        1 => {
            let forged = CodeDoc::new(their_id).insert(FILE, 0, EVIL).unwrap();
            let mut u: SignedUpdate = sign_updates(&peers[h].key, &room, vec![forged]).unwrap();
            u.author = *parse_key(&interviewer).unwrap().as_bytes();
            peers[victim].core.receive_update(&u).is_err()
        }
        // A record change under the interviewer's actor id.
        2 => {
            let actor = automerge::ActorId::from(parse_key(&interviewer).unwrap().as_bytes().as_slice());
            let mut doc = peers[h].core.record().doc().clone().with_actor(actor);
            doc.put(automerge::ROOT, "language", EVIL).unwrap();
            let change = doc.get_last_local_change().unwrap();
            let signature = peers[h]
                .key
                .sign(&SignedChange::signing_bytes(&room, &change.hash().0))
                .to_bytes();
            let sync = RecordSync {
                heads: vec![],
                changes: vec![SignedChange {
                    signature,
                    change: change.raw_bytes().to_vec(),
                }],
            };
            peers[victim].core.receive_record(&sync).is_err()
        }
        // A back-dated claim of the interviewer's client id, then text under it.
        3 => {
            let claim = sign_statement(
                &peers[h].key,
                Statement {
                    room: room.clone(),
                    at_ms: 0,
                    body: StatementBody::ClientId {
                        client_id: their_id,
                        nonce: None,
                    },
                },
            );
            peers[victim].core.add_statements(vec![claim]);
            let forged = CodeDoc::new(their_id).insert(FILE, 0, EVIL).unwrap();
            let u = sign_updates(&peers[h].key, &room, vec![forged]).unwrap();
            peers[victim].core.policy().owner_of(their_id) == Some(interviewer.as_str())
                && peers[victim].core.receive_update(&u).is_err()
        }
        // Unsigned content, as a stock Yjs client would send it.
        _ => {
            use yrs::updates::encoder::Encode;
            let forged = CodeDoc::new(their_id).insert(FILE, 0, EVIL).unwrap();
            let msg = yrs::sync::Message::Sync(yrs::sync::SyncMessage::SyncStep2(forged)).encode_v1();
            let me = peers[h].core.me().to_string();
            peers[victim].core.receive_ysync(&me, &msg).is_err()
        }
    }
}

#[test]
fn honest_peers_converge_and_no_forgery_is_accepted_anywhere() {
    let steps: usize = std::env::var("TANDEM_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let seeds: Vec<u64> = match std::env::var("TANDEM_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => vec![seed],
        None => vec![1, 2, 3, 4, 5],
    };
    for seed in seeds {
        run(seed, steps);
    }
}
