//! Cross-process room tests: real `tandem-peer` processes, real QUIC on loopback, a real local
//! `tandem-relay`. No wall-clock assertions: every wait is for a state, with a generous timeout.

mod common;

use common::*;
use rand::{RngExt, SeedableRng};
use serde_json::json;

const F: &str = "main.rs";

/// Random concurrent edits on every peer (fixed seed), then everyone must hold the same text.
#[test]
fn three_peers_converge_after_concurrent_edits() {
    let mut w = World::new();
    let mut a = w.create("a");
    let (inv_b, _) = a.invite("candidate", true, 3600);
    let (inv_c, _) = a.invite("interviewer", true, 3600);
    let mut b = w.join("b", &inv_b);
    let mut c = w.join("c", &inv_c);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x7a9de);
    let mut peers = [&mut a, &mut b, &mut c];
    for round in 0..40 {
        for p in peers.iter_mut() {
            let len = p.text(F).encode_utf16().count();
            // Remote deletions can shorten the text between reading its length and editing:
            // an edit that became out of range is refused by the peer and skipped here.
            let r = if len > 4 && rng.random_range(0..4) == 0 {
                let pos = rng.random_range(0..len - 2);
                p.try_cmd(json!({"cmd": "delete", "file": F, "pos": pos, "len": 2}))
            } else {
                let pos = if len == 0 { 0 } else { rng.random_range(0..=len) };
                let word = ["fn ", "let x", " = 1;", "\n", "é", "😀", "{}", "()"][rng.random_range(0..8)];
                p.try_cmd(json!({"cmd": "insert", "file": F, "pos": pos, "text": format!("{word}{round}")}))
            };
            if let Err(e) = r {
                assert!(e.to_string().contains("past the end"), "{e:#}");
            }
        }
    }
    let target = peers[0].text(F);
    let mut last = String::new();
    eventually("three peers to converge", || {
        let texts: Vec<String> = peers.iter_mut().map(|p| p.text(F)).collect();
        last = texts[0].clone();
        texts.iter().all(|t| *t == texts[0]) && !texts[0].is_empty()
    });
    assert!(!last.is_empty() && !target.is_empty());
}

#[test]
fn late_joiner_gets_full_state_presence_and_record() {
    let mut w = World::new();
    let mut a = w.create("a");
    a.insert(F, 0, "fn main() {\n    println!(\"hi\");\n}\n");
    a.insert("notes.md", 0, "# notes");
    a.cmd(json!({"cmd": "presence_set", "name": "Ana", "file": F, "pos": 3}));
    a.cmd(json!({"cmd": "set_language", "language": "rust"}));
    let (inv, _) = a.invite("spectator", false, 3600);
    let mut late = w.join("late", &inv);
    late.wait_text(F, "fn main() {\n    println!(\"hi\");\n}\n");
    late.wait_text("notes.md", "# notes");
    eventually("presence of the creator", || {
        let p = late.cmd(json!({"cmd": "presence"}));
        p["presence"]
            .as_array()
            .is_some_and(|l| l.iter().any(|e| e["presence"]["name"] == "Ana"))
    });
    eventually("session record", || {
        late.cmd(json!({"cmd": "record"}))["language"] == "rust"
    });
}

#[test]
fn offline_edits_merge_on_reconnect() {
    let mut w = World::new();
    let mut a = w.create("a");
    a.insert(F, 0, "base\n");
    let (inv, _) = a.invite("candidate", true, 3600);
    let mut b = w.join("b", &inv);
    b.wait_text(F, "base\n");
    b.cmd(json!({"cmd": "offline"}));
    for i in 0..50 {
        b.insert(F, 0, &format!("b{i} "));
        let end = a.text(F).encode_utf16().count();
        a.insert(F, end, &format!("a{i} "));
    }
    assert!(!a.text(F).contains("b49"), "b was offline");
    b.cmd(json!({"cmd": "online"}));
    eventually("both sides to merge", || {
        let (ta, tb) = (a.text(F), b.text(F));
        ta == tb && ta.contains("b49 ") && ta.contains("a49 ")
    });
}

#[test]
fn relay_only_connectivity_works() {
    let mut w = World::new();
    let relay_url = w.relay.url.clone();
    let da = w.dir("a");
    let db = w.dir("b");
    let opts = PeerOpts {
        relay: Some(&relay_url),
        direct: false,
        name: "r",
        ..Default::default()
    };
    let mut a = Peer::start(PEER, &da, &opts, &["create"]).unwrap();
    assert_eq!(
        a.ready["addr"]["addrs"],
        json!([]),
        "no direct addresses when relay-only"
    );
    a.insert(F, 0, "via relay");
    let (inv, _) = a.invite("candidate", true, 3600);
    let mut b = Peer::start(PEER, &db, &opts, &["join", &inv]).unwrap();
    b.wait_text(F, "via relay");
    b.insert(F, 0, ">> ");
    a.wait_text(F, ">> via relay");
    assert!(w.relay.admin_get("/healthz").unwrap().contains("ok"));
    let metrics = w.relay.admin_get("/metrics").unwrap();
    let admitted: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("tandem_relay_admitted_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(admitted >= 2, "{metrics}");
}

/// The relay's self-signed mode: HTTPS with a certificate the peers are told to trust, kept
/// across a restart of the relay.
#[test]
fn relay_only_over_self_signed_tls() {
    let mut w = World::new();
    let tls_dir = w.dir("relay-tls");
    let relay = Relay::start_self_signed(RELAY, &tls_dir).unwrap();
    assert!(relay.url.starts_with("https://127.0.0.1:"), "{}", relay.url);
    let ca = relay.ca_cert.clone().expect("the relay names its certificate");
    let pem = std::fs::read_to_string(&ca).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"));
    let opts = PeerOpts {
        relay: Some(&relay.url),
        relay_ca: Some(&ca),
        direct: false,
        name: "tls",
    };
    let (da, db) = (w.dir("a"), w.dir("b"));
    let mut a = Peer::start(PEER, &da, &opts, &["create"]).unwrap();
    a.insert(F, 0, "over TLS");
    let (inv, _) = a.invite("candidate", true, 3600);
    let mut b = Peer::start(PEER, &db, &opts, &["join", &inv]).unwrap();
    b.wait_text(F, "over TLS");
    drop(relay);
    let again = Relay::start_self_signed(RELAY, &tls_dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(again.ca_cert.clone().unwrap()).unwrap(),
        pem,
        "same certificate after a restart"
    );
}

#[test]
fn room_keeps_working_with_the_creator_offline() {
    let mut w = World::new();
    let mut a = w.create("a");
    let (inv_b, _) = a.invite("candidate", true, 3600);
    let (inv_c, _) = a.invite("interviewer", true, 3600);
    let mut b = w.join("b", &inv_b);
    let mut c = w.join("c", &inv_c);
    // The mesh: b and c connect to each other, not only to a.
    b.wait_peers(2);
    c.wait_peers(2);
    a.kill();
    b.insert(F, 0, "still here");
    c.wait_text(F, "still here");
    c.insert(F, 10, "!");
    b.wait_text(F, "still here!");
}

#[test]
fn forged_expired_and_revoked_invites_are_refused() {
    let mut w = World::new();
    let mut a = w.create("a");
    let relay = w.relay.url.clone();

    // Forged: change the role after signing.
    let (good, _) = a.invite("spectator", false, 3600);
    let mut inv = tandem_shared::invite::Invite::from_link(&good).unwrap();
    inv.body.role = tandem_shared::room::Role::Interviewer;
    let d = w.dir("forged");
    let err = Peer::start(
        PEER,
        &d,
        &PeerOpts {
            relay: Some(&relay),
            ..Default::default()
        },
        &["join", &inv.to_link()],
    )
    .err()
    .expect("forged invite must fail");
    assert!(err.to_string().contains("forged"), "{err}");

    // Expired.
    let (expired, _) = a.invite("candidate", true, 0);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let d = w.dir("expired");
    let err = Peer::start(
        PEER,
        &d,
        &PeerOpts {
            relay: Some(&relay),
            ..Default::default()
        },
        &["join", &expired],
    )
    .err()
    .expect("expired invite must fail");
    assert!(err.to_string().contains("expired"), "{err}");

    // Revoked: only the room knows, so the serving peer refuses it.
    let (revoked, nonce) = a.invite("candidate", true, 3600);
    a.cmd(json!({"cmd": "revoke_invite", "nonce": nonce}));
    let d = w.dir("revoked");
    let err = Peer::start(
        PEER,
        &d,
        &PeerOpts {
            relay: Some(&relay),
            ..Default::default()
        },
        &["join", &revoked, "--timeout-secs", "60"],
    )
    .err()
    .expect("revoked invite must fail");
    assert!(err.to_string().contains("revoked"), "{err}");
    assert!(a.status()["refused"].as_u64().unwrap_or(0) >= 1);

    // A revoked member is cut off and refused on reconnect.
    let (inv, _) = a.invite("candidate", true, 3600);
    let dm = w.dir("member");
    let mut m = Peer::start(
        PEER,
        &dm,
        &PeerOpts {
            relay: Some(&relay),
            ..Default::default()
        },
        &["join", &inv],
    )
    .unwrap();
    let mid = m.id.clone();
    a.cmd(json!({"cmd": "revoke", "member": mid}));
    a.insert(F, 0, "secret");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(m.text(F), "", "a revoked member gets nothing new");
}

#[test]
fn read_only_candidate_and_spectator_edits_are_rejected_by_every_peer() {
    let mut w = World::new();
    let mut a = w.create("a");
    let (inv_b, _) = a.invite("candidate", true, 3600);
    let (inv_c, _) = a.invite("spectator", false, 3600);
    let (inv_d, _) = a.invite("interviewer", true, 3600);
    let mut b = w.join("b", &inv_b);
    let mut c = w.join("c", &inv_c);
    let mut d = w.join("d", &inv_d);
    b.insert(F, 0, "candidate wrote this. ");
    for p in [&mut a, &mut c, &mut d] {
        p.wait_text(F, "candidate wrote this. ");
    }
    // The interviewer makes the candidate read-only; wait until everyone knows.
    let bid = b.id.clone();
    a.cmd(json!({"cmd": "set_role", "member": bid, "role": "candidate", "can_edit": false}));
    for p in [&mut b, &mut c, &mut d] {
        eventually("the role change to spread", || {
            let m = p.cmd(json!({"cmd": "members"}));
            m["members"]
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x["id"] == bid.as_str() && x["can_edit"] == false))
        });
    }
    // The honest client refuses locally...
    assert!(b
        .try_cmd(json!({"cmd": "insert", "file": F, "pos": 0, "text": "x"}))
        .is_err());
    assert!(c
        .try_cmd(json!({"cmd": "insert", "file": F, "pos": 0, "text": "x"}))
        .is_err());
    // ...and a misbehaving one is refused by every other peer.
    b.cmd(json!({"cmd": "insert", "file": F, "pos": 0, "text": "EVIL ", "force": true}));
    c.cmd(json!({"cmd": "insert", "file": F, "pos": 0, "text": "SPECTATOR ", "force": true}));
    // A marker after the forbidden edits: once it arrives, the forbidden ones had their chance.
    d.insert(F, 0, "ok: ");
    for p in [&mut a, &mut d] {
        p.wait_text(F, "ok: candidate wrote this. ");
    }
    eventually("refusals on the honest peers", || {
        a.status()["refused"].as_u64().unwrap_or(0) >= 1 && d.status()["refused"].as_u64().unwrap_or(0) >= 1
    });
    // Reconnects and catch-up don't smuggle them in either.
    b.cmd(json!({"cmd": "offline"}));
    b.cmd(json!({"cmd": "online"}));
    c.cmd(json!({"cmd": "offline"}));
    c.cmd(json!({"cmd": "online"}));
    b.wait_peers(1);
    c.wait_peers(1);
    d.insert(F, 0, "again ");
    for p in [&mut a, &mut d] {
        p.wait_text(F, "again ok: candidate wrote this. ");
    }
    assert!(!a.text(F).contains("EVIL") && !a.text(F).contains("SPECTATOR"));
}

#[test]
fn killed_peer_does_not_disturb_others_and_restores_from_sled() {
    let mut w = World::new();
    let mut a = w.create("a");
    let (inv_b, _) = a.invite("candidate", true, 3600);
    let (inv_c, _) = a.invite("candidate", true, 3600);
    let db = w.dir("b");
    let relay = w.relay.url.clone();
    let mut b = Peer::start(
        PEER,
        &db,
        &PeerOpts {
            relay: Some(&relay),
            ..Default::default()
        },
        &["join", &inv_b],
    )
    .unwrap();
    let mut c = w.join("c", &inv_c);
    b.insert(F, 0, "from b before the crash\n");
    a.wait_text(F, "from b before the crash\n");
    b.cmd(json!({"cmd": "sleep", "ms": 300})); // let sled flush
    let room = b.room_id();
    // Kill b while a is streaming edits.
    for i in 0..30 {
        a.insert(F, 0, &format!("{i},"));
        if i == 10 {
            b.kill();
        }
    }
    c.insert(F, 0, "c> ");
    eventually("a and c to agree without b", || {
        let (ta, tc) = (a.text(F), c.text(F));
        ta == tc && ta.contains("c> ") && ta.contains("29,")
    });
    // b comes back from disk: its text is there before any network sync.
    let mut b2 = Peer::start(
        PEER,
        &db,
        &PeerOpts {
            relay: Some(&relay),
            ..Default::default()
        },
        &["open", &room],
    )
    .unwrap();
    assert_eq!(b2.id, b.id, "same identity after restart");
    let restored = b2.text(F);
    assert!(
        restored.contains("from b before the crash"),
        "restored from sled: {restored:?}"
    );
    let target = a.text(F);
    b2.wait_text(F, &target);
}
