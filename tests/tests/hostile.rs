//! Attacks on a real peer process by a modified peer (issue 14), each over real QUIC on
//! loopback with `tandem_tests::hostile::Hostile`. Every one of them succeeded against the
//! room protocol 1; each test checks that the attacked peer refuses and that honest work goes on.

mod common;

use std::time::Duration;

use automerge::transaction::Transactable;
use common::*;
use serde_json::json;
use tandem_room::iroh::SecretKey;
use tandem_room::policy::now_ms;
use tandem_shared::invite::{Statement, StatementBody};
use tandem_shared::protocol::{Control, ErrorCode, Frame, RecordSync, SignedChange};
use tandem_tests::hostile::Hostile;
use yrs::updates::encoder::Encode;

fn interviewer_of(p: &mut Peer) -> String {
    p.ready["addr"]["id"].as_str().unwrap().to_string()
}

/// A document whose insertion carries `client_id`, as a lib0 v1 update.
fn text_under(client_id: u64, text: &str) -> Vec<u8> {
    tandem_shared::room::CodeDoc::new(client_id)
        .insert("main.rs", 0, text)
        .unwrap()
}

#[test]
fn text_under_the_interviewers_client_id_is_refused_as_catch_up_signed_or_not() {
    let mut w = World::new();
    let mut a = w.create("a");
    a.insert("main.rs", 0, "intact");
    let (link, _) = a.invite("spectator", false, 3600);
    let mut h = Hostile::connect(&a.ready, Some(&link), vec![]);
    let victim = interviewer_of(&mut a);
    let forged = text_under(h.client_id_of(&victim), "interviewer: hire them. ");

    // As y-sync step 2 (what a stock Yjs client sends), unsigned.
    let step2 = yrs::sync::Message::Sync(yrs::sync::SyncMessage::SyncStep2(forged.clone())).encode_v1();
    h.send(&Frame::YSync(step2));
    let (code, _, msg) = h.next_error();
    assert_eq!(code, ErrorCode::Forbidden, "{msg}");
    // As signed catch-up, signed by the spectator: the client id is not the signer's.
    let signed = tandem_room::core::sign_updates(&h.key, &h.room, vec![forged.clone()]).unwrap();
    h.send(&Frame::CatchUp(vec![signed.clone()]));
    let (code, _, msg) = h.next_error();
    assert_eq!(code, ErrorCode::Forbidden, "{msg}");
    assert!(msg.contains("not theirs"), "{msg}");
    // Claiming to be the interviewer: the signature does not verify.
    let mut posing = signed;
    posing.author = *tandem_room::identity::parse_key(&victim).unwrap().as_bytes();
    h.send(&Frame::Update(posing));
    let (_, _, msg) = h.next_error();
    assert!(msg.contains("signature"), "{msg}");

    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(a.text("main.rs"), "intact");
}

#[test]
fn a_record_change_forged_as_the_interviewer_is_refused() {
    let mut w = World::new();
    let mut a = w.create("a");
    let (link, _) = a.invite("spectator", false, 3600);
    let mut h = Hostile::connect(&a.ready, Some(&link), vec![]);
    let victim = interviewer_of(&mut a);
    let actor = automerge::ActorId::from(tandem_room::identity::parse_key(&victim).unwrap().as_bytes().as_slice());
    let mut doc = automerge::AutoCommit::new().with_actor(actor);
    doc.put(automerge::ROOT, "language", "brainfuck").unwrap();
    let change = doc.get_last_local_change().unwrap();
    let signature = h
        .key
        .sign(&SignedChange::signing_bytes(&h.room, &change.hash().0))
        .to_bytes();
    h.send(&Frame::Record(RecordSync {
        heads: vec![],
        changes: vec![SignedChange {
            signature,
            change: change.raw_bytes().to_vec(),
        }],
    }));
    let (code, _, msg) = h.next_error();
    assert_eq!(code, ErrorCode::Forbidden, "{msg}");
    assert!(msg.contains("not signed by its actor"), "{msg}");
    // The interviewer's own change (same actor, same first sequence number) is not blocked.
    a.cmd(json!({"cmd": "set_language", "language": "rust"}));
    assert_eq!(a.cmd(json!({"cmd": "record"}))["language"], json!("rust"));
    let (link_b, _) = a.invite("candidate", true, 3600);
    let mut b = w.join("b", &link_b);
    eventually("the candidate to get the interviewer's record", || {
        b.cmd(json!({"cmd": "record"}))["language"] == json!("rust")
    });
}

#[test]
fn a_backdated_claim_of_the_interviewers_client_id_does_not_block_the_interviewer() {
    let mut w = World::new();
    let mut a = w.create("a");
    let (link, _) = a.invite("spectator", false, 3600);
    let mut h = Hostile::connect(&a.ready, Some(&link), vec![]);
    let victim = interviewer_of(&mut a);
    let stolen = h.client_id_of(&victim);
    let claims = vec![
        h.sign(
            0,
            StatementBody::ClientId {
                client_id: stolen,
                nonce: None,
            },
        ),
        h.sign(
            0,
            StatementBody::ClientId {
                client_id: stolen,
                nonce: Some(1),
            },
        ),
    ];
    h.send(&Frame::Control(Control::Policy { statements: claims }));
    let (link_b, _) = a.invite("candidate", true, 3600);
    let mut b = w.join("b", &link_b);
    a.insert("main.rs", 0, "the interviewer still types");
    b.wait_text("main.rs", "the interviewer still types");
}

#[test]
fn a_hello_flood_from_an_expired_link_is_refused_before_any_merge() {
    let mut w = World::new();
    let mut a = w.create("a");
    let (expired, _) = a.invite("candidate", true, 1);
    std::thread::sleep(Duration::from_millis(2100));
    let invite = tandem_shared::invite::Invite::from_link(&expired).unwrap();
    let room: tandem_shared::invite::RoomRef = serde_json::from_value(a.ready["room"].clone()).unwrap();
    // 3,000 self-made members joining with the expired link, each validly signed.
    let flood: Vec<_> = (0..3000)
        .map(|_| {
            tandem_room::policy::sign_statement(
                &SecretKey::generate(),
                Statement {
                    room: room.clone(),
                    at_ms: now_ms(),
                    body: StatementBody::Join { invite: invite.clone() },
                },
            )
        })
        .collect();
    let mut h = Hostile::connect(&a.ready, Some(&expired), flood);
    let (code, fatal, msg) = h.next_error();
    assert_eq!(code, ErrorCode::NotAMember, "{msg}");
    assert!(fatal && msg.contains("expired"), "{msg}");
    let members = a.cmd(json!({"cmd": "members"}))["members"].as_array().unwrap().len();
    assert_eq!(members, 1, "nothing of the flood was kept");
    // More statements than a room may hold are refused whatever they are.
    let (link, _) = a.invite("candidate", true, 3600);
    let too_many: Vec<_> = (0..tandem_room::policy::MAX_STATEMENTS_PER_ROOM + 1)
        .map(|i| {
            tandem_room::policy::sign_statement(
                &SecretKey::generate(),
                Statement {
                    room: room.clone(),
                    at_ms: i as u64,
                    body: StatementBody::RevokeInvite { nonce: String::new() },
                },
            )
        })
        .collect();
    let mut h = Hostile::connect(&a.ready, Some(&link), too_many);
    let (code, _, msg) = h.next_error();
    assert_eq!(code, ErrorCode::NotAMember, "{msg}");
    assert!(msg.contains("at most"), "{msg}");
    a.insert("main.rs", 0, "still serving");
    assert_eq!(a.text("main.rs"), "still serving");
}

#[test]
fn gossiped_strangers_and_foreign_relays_are_not_dialled() {
    let mut w = World::new();
    let mut a = w.create("a");
    let (link_b, _) = a.invite("candidate", true, 3600);
    let b = w.join("b", &link_b);
    let b_id = b.ready["addr"]["id"].as_str().unwrap().to_string();
    let (link, _) = a.invite("spectator", false, 3600);
    let mut h = Hostile::connect(&a.ready, Some(&link), vec![]);
    let mut peers: Vec<tandem_shared::invite::PeerAddr> = (0..1000)
        .map(|_| tandem_shared::invite::PeerAddr {
            id: tandem_room::identity::key_hex(&SecretKey::generate().public()),
            relay: Some("https://relay.attacker.invalid/".into()),
            addrs: vec!["127.0.0.1:9".into()],
        })
        .collect();
    peers.push(tandem_shared::invite::PeerAddr {
        id: b_id.clone(),
        relay: Some("https://relay.attacker.invalid/".into()),
        addrs: vec![],
    });
    h.send(&Frame::Control(Control::Peers { peers }));
    // Something after it, so the peer has handled the gossip when we ask.
    h.send(&Frame::Record(RecordSync::default()));
    std::thread::sleep(Duration::from_millis(500));
    let known = a.cmd(json!({"cmd": "known"}))["known"].clone();
    let known = known.as_array().unwrap();
    assert!(known.len() <= 3, "only members are kept: {known:?}");
    for k in known {
        assert_ne!(k["relay"], json!("https://relay.attacker.invalid/"), "{k}");
    }
}
