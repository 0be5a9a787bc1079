//! Interview features across real peer processes (real QUIC, a real local relay): private notes
//! never reach a candidate's peer, interviewer controls agree and are enforced by every peer,
//! chat, and the replay reproduces exactly the text recorded during a scripted session.

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::Path;

const F: &str = "main.rs";

/// Every file under `dir`, concatenated (sled's files, the identity, …).
fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(b) = std::fs::read(&p) {
                out.extend(b);
            }
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Kinds of the frames in a `TANDEM_DUMP_RECEIVED` file.
fn frame_kinds(dump: &[u8]) -> Vec<u8> {
    let mut kinds = Vec::new();
    let mut rest = dump;
    while rest.len() >= 6 {
        let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        kinds.push(rest[5]);
        rest = &rest[(4 + len).min(rest.len())..];
    }
    kinds
}

fn join_dumping(w: &mut World, name: &'static str, link: &str, dump: &Path) -> (Peer, std::path::PathBuf) {
    let d = w.dir(name);
    let opts = w.opts(name);
    let p = Peer::start_with_env(
        PEER,
        &d,
        &opts,
        &["join", link],
        &[("TANDEM_DUMP_RECEIVED", dump.as_os_str())],
    )
    .expect("join");
    (p, d)
}

#[test]
fn private_notes_and_scorecards_never_reach_a_candidates_peer() {
    let mut w = World::new();
    let mut ivy = w.create("ivy");
    let dumps = w.dir("dumps");
    std::fs::create_dir_all(&dumps).unwrap();
    let (inv_cand, _) = ivy.invite("candidate", true, 3600);
    let (inv_iv2, _) = ivy.invite("interviewer", true, 3600);
    let (inv_spec, _) = ivy.invite("spectator", false, 3600);
    let (mut cand, cand_dir) = join_dumping(&mut w, "cand", &inv_cand, &dumps.join("cand"));
    let (mut iv2, iv2_dir) = join_dumping(&mut w, "iv2", &inv_iv2, &dumps.join("iv2"));
    let (mut spec, spec_dir) = join_dumping(&mut w, "spec", &inv_spec, &dumps.join("spec"));
    ivy.wait_peers(3);
    let marker = format!("SECRET-NOTE-{:016x}", rand::random::<u64>());
    let card_marker = format!("SECRET-CARD-{:016x}", rand::random::<u64>());
    ivy.cmd(json!({"cmd": "notes_set", "notes": format!("{marker}: hesitant on recursion")}));
    ivy.cmd(json!({"cmd": "scorecard_set", "scorecard": {
        "criteria": [{"name": "problem_solving", "score": 3, "comment": card_marker}],
        "recommendation": "yes", "summary": ""}}));
    // The second interviewer gets both, and writes notes of its own that reach the first.
    eventually("the second interviewer to get the notes", || {
        let r = iv2.cmd(json!({"cmd": "private"}));
        r["private"].to_string().contains(&marker) && r["private"].to_string().contains(&card_marker)
    });
    iv2.cmd(json!({"cmd": "notes_set", "notes": "second opinion"}));
    eventually("the first interviewer to get the second's notes", || {
        ivy.cmd(json!({"cmd": "private"}))["private"]
            .to_string()
            .contains("second opinion")
    });
    // The candidate and the spectator cannot read or write them.
    for p in [&mut cand, &mut spec] {
        assert!(p.try_cmd(json!({"cmd": "private"})).is_err());
        assert!(p.try_cmd(json!({"cmd": "notes_set", "notes": "x"})).is_err());
    }
    // A barrier: later edits and chat from the interviewer reached them, so did anything before.
    ivy.insert(F, 0, "barrier");
    ivy.cmd(json!({"cmd": "chat_send", "text": "let's start"}));
    for p in [&mut cand, &mut spec] {
        p.wait_text(F, "barrier");
        eventually("the chat", || {
            p.cmd(json!({"cmd": "chat"}))["chat"]
                .to_string()
                .contains("let's start")
        });
        p.cmd(json!({"cmd": "sleep", "ms": 400})); // let sled flush
    }
    iv2.cmd(json!({"cmd": "sleep", "ms": 400}));
    cand.kill();
    spec.kill();
    iv2.kill();
    for (who, dir) in [("candidate", &cand_dir), ("spectator", &spec_dir)] {
        let store = all_bytes(dir);
        assert!(!contains(&store, &marker), "the {who}'s store holds the notes");
        assert!(!contains(&store, &card_marker), "the {who}'s store holds the scorecard");
        let dump = std::fs::read(dumps.join(if who == "candidate" { "cand" } else { "spec" })).unwrap();
        assert!(!dump.is_empty(), "the {who} received frames");
        assert!(
            !contains(&dump, &marker) && !contains(&dump, &card_marker),
            "the {who} received the notes"
        );
        assert!(!frame_kinds(&dump).contains(&5), "the {who} was sent a private frame");
    }
    // The same checks find them where they belong (so they would find a leak).
    assert!(
        contains(&all_bytes(&iv2_dir), &marker),
        "the second interviewer stores the notes"
    );
    let dump = std::fs::read(dumps.join("iv2")).unwrap();
    assert!(contains(&dump, &marker) && frame_kinds(&dump).contains(&5));
}

fn may_edit(p: &mut Peer, member: &str) -> Option<bool> {
    let r = p.cmd(json!({"cmd": "members"}));
    r["members"].as_array()?.iter().find(|m| m["id"] == member)?["can_edit"].as_bool()
}

fn controls(p: &mut Peer) -> Value {
    p.cmd(json!({"cmd": "controls"}))["controls"].clone()
}

#[test]
fn controls_agree_on_every_peer_and_every_peer_enforces_them() {
    let mut w = World::new();
    let mut ivy = w.create("ivy");
    let (inv_cand, _) = ivy.invite("candidate", true, 3600);
    let (inv_iv2, _) = ivy.invite("interviewer", true, 3600);
    let (inv_spec, _) = ivy.invite("spectator", false, 3600);
    let mut cand = w.join("cand", &inv_cand);
    let mut iv2 = w.join("iv2", &inv_iv2);
    let mut spec = w.join("spec", &inv_spec);
    ivy.wait_peers(3);

    // Timer: set, start, extended by the other interviewer, paused.
    ivy.cmd(json!({"cmd": "timer_set", "duration_ms": 1_800_000}));
    ivy.cmd(json!({"cmd": "timer_start"}));
    eventually("the second interviewer to see the timer running", || {
        controls(&mut iv2)["timer"]["running_since_ms"].is_u64()
    });
    iv2.cmd(json!({"cmd": "timer_extend", "by_ms": 300_000}));
    eventually("the extension to reach the first interviewer", || {
        controls(&mut ivy)["timer"]["duration_ms"] == 2_100_000
    });
    let paused = ivy.cmd(json!({"cmd": "timer_pause"}))["controls"].clone();
    assert!(paused["timer"]["running_since_ms"].is_null());
    eventually("every peer to hold the same timer state", || {
        [&mut ivy, &mut cand, &mut iv2, &mut spec]
            .into_iter()
            .all(|p| controls(p) == paused)
    });
    // Only interviewers control it.
    for p in [&mut cand, &mut spec] {
        assert!(p.try_cmd(json!({"cmd": "timer_start"})).is_err());
        assert!(p.try_cmd(json!({"cmd": "runs_enabled", "enabled": false})).is_err());
        assert!(p.try_cmd(json!({"cmd": "lock_editor", "locked": true})).is_err());
    }

    // Runs off: the candidate's own peer refuses its run.
    ivy.cmd(json!({"cmd": "runs_enabled", "enabled": false}));
    eventually("runs off at the candidate", || {
        controls(&mut cand)["runs_enabled"] == false
    });
    let err = cand
        .try_cmd(json!({"cmd": "run", "language": "python", "code": "print(1)"}))
        .unwrap_err();
    assert!(err.to_string().contains("turned runs off"), "{err:#}");
    ivy.cmd(json!({"cmd": "runs_enabled", "enabled": true}));
    eventually("runs back on", || controls(&mut cand)["runs_enabled"] == true);
    let err = cand
        .try_cmd(json!({"cmd": "run", "language": "python", "code": "print(1)"}))
        .unwrap_err();
    assert!(!err.to_string().contains("turned runs off"), "{err:#}");

    // Editor lock: the candidate becomes read-only everywhere; forced edits reach nobody.
    cand.insert(F, 0, "before lock. ");
    ivy.wait_text(F, "before lock. ");
    let locked = ivy.cmd(json!({"cmd": "lock_editor", "locked": true}))["controls"].clone();
    assert_eq!(locked["editor_locked"], true);
    assert_eq!(locked["locked_members"].as_array().unwrap().len(), 1);
    let cand_id = cand.id.clone();
    eventually("the candidate to know it is locked", || {
        may_edit(&mut cand, &cand_id) == Some(false)
    });
    assert!(cand
        .try_cmd(json!({"cmd": "insert", "file": F, "pos": 0, "text": "x"}))
        .is_err());
    cand.cmd(json!({"cmd": "insert", "file": F, "pos": 0, "text": "EVIL ", "force": true}));
    ivy.insert(F, 0, "ivy> ");
    for p in [&mut iv2, &mut spec] {
        p.wait_text(F, "ivy> before lock. ");
    }
    assert!(!ivy.text(F).contains("EVIL") && !iv2.text(F).contains("EVIL"));
    // Chat still works for the locked candidate and for the spectator.
    cand.cmd(json!({"cmd": "chat_send", "text": "can I ask a question?"}));
    spec.cmd(json!({"cmd": "chat_send", "text": "watching"}));
    eventually("both chat messages at the interviewer", || {
        let c = ivy.cmd(json!({"cmd": "chat"}))["chat"].clone();
        c.as_array().is_some_and(|l| l.len() == 2)
    });
    let chat = ivy.cmd(json!({"cmd": "chat"}))["chat"].clone();
    let by: Vec<&str> = chat
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["by"].as_str().unwrap())
        .collect();
    assert!(
        by.contains(&cand.id.as_str()) && by.contains(&spec.id.as_str()),
        "{chat}"
    );
    // A candidate admitted while the editor is locked is locked too (the interviewers' peers
    // sign it), and its forced edit reaches nobody.
    let (inv_late, _) = ivy.invite("candidate", true, 3600);
    let mut late = w.join("late", &inv_late);
    let late_id = late.id.clone();
    eventually("the late candidate to be locked", || {
        may_edit(&mut late, &late_id) == Some(false)
            && controls(&mut ivy)["locked_members"]
                .as_array()
                .is_some_and(|l| l.iter().any(|m| m == &json!(late_id.clone())))
    });
    eventually("the other interviewer to know the late candidate is locked", || {
        may_edit(&mut iv2, &late_id) == Some(false)
    });
    late.cmd(json!({"cmd": "insert", "file": F, "pos": 0, "text": "LATE ", "force": true}));
    ivy.insert(F, 0, "2> ");
    iv2.wait_text(F, "2> ivy> before lock. ");
    assert!(!ivy.text(F).contains("LATE") && !iv2.text(F).contains("LATE"));
    drop(late);
    // Unlock: the candidate edits again.
    ivy.cmd(json!({"cmd": "lock_editor", "locked": false}));
    eventually("the candidate may edit again", || {
        may_edit(&mut cand, &cand_id) == Some(true)
    });
    // At the end: the candidate's own copy still holds its refused "EVIL " at the start, and an
    // insertion next to it would depend on text nobody else has (so it would never apply).
    let end = cand.text(F).encode_utf16().count();
    cand.insert(F, end, " after.");
    eventually("the interviewer to get the candidate's edit", || {
        ivy.text(F).ends_with(" after.")
    });
}

#[test]
fn replay_reproduces_the_text_recorded_during_a_session() {
    let mut w = World::new();
    let ivy_dir = w.dir("ivy");
    let relay = w.relay.url.clone();
    let opts = PeerOpts {
        relay: Some(&relay),
        name: "ivy",
        ..Default::default()
    };
    let mut ivy = Peer::start(PEER, &ivy_dir, &opts, &["create"]).unwrap();
    let (inv, _) = ivy.invite("candidate", true, 3600);
    let mut cand = w.join("cand", &inv);
    cand.wait_peers(1);
    let mut snapshots: Vec<(u64, Value)> = Vec::new();
    let snap = |p: &mut Peer, out: &mut Vec<(u64, Value)>| {
        let r = p.cmd(json!({"cmd": "files_now"}));
        out.push((r["at_ms"].as_u64().unwrap(), r["files"].clone()));
    };
    let mut expected = String::new();
    for i in 0..12 {
        let (who, text) = if i % 3 == 0 {
            (&mut cand, format!("// candidate {i} 😀\n"))
        } else {
            (&mut ivy, format!("let v{i} = {i};\n"))
        };
        let pos = expected.encode_utf16().count();
        who.wait_text(F, &expected); // the editor's own copy is up to date before it types
        who.insert(F, pos, &text);
        expected.push_str(&text);
        ivy.wait_text(F, &expected);
        snap(&mut ivy, &mut snapshots);
        if i == 6 {
            ivy.cmd(json!({"cmd": "delete", "file": F, "pos": 0, "len": 3}));
            expected = String::from_utf16_lossy(&expected.encode_utf16().skip(3).collect::<Vec<u16>>());
            snap(&mut ivy, &mut snapshots);
        }
    }
    // A large paste by the candidate and an absence (its window lost focus for > 10 s).
    let paste = "x".repeat(300);
    cand.wait_text(F, &expected);
    cand.insert(F, 0, &paste);
    expected = format!("{paste}{expected}");
    ivy.wait_text(F, &expected);
    snap(&mut ivy, &mut snapshots);
    cand.cmd(json!({"cmd": "presence_set", "name": "Cand", "away": true}));
    cand.cmd(json!({"cmd": "sleep", "ms": 10_500}));
    cand.cmd(json!({"cmd": "presence_set", "name": "Cand", "away": false}));
    eventually("the absence to be recorded", || {
        ivy.cmd(json!({"cmd": "timeline"}))["timeline"]["tracks"]
            .to_string()
            .contains("\"kind\":\"away\"")
    });
    let check = |p: &mut Peer, snapshots: &[(u64, Value)]| {
        for (t, files) in snapshots {
            let r = p.cmd(json!({"cmd": "replay_at", "at_ms": t}));
            assert_eq!(&r["files"], files, "replay at {t}");
        }
    };
    check(&mut ivy, &snapshots);
    let timeline = ivy.cmd(json!({"cmd": "timeline"}))["timeline"].clone();
    let cand_track = timeline["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["member"] == cand.id)
        .expect("a track for the candidate")
        .clone();
    let kinds: Vec<&str> = cand_track["markers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"paste") && kinds.contains(&"away") && kinds.contains(&"edit"),
        "{kinds:?}"
    );
    let md = ivy.cmd(json!({"cmd": "export"}))["markdown"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(md.contains("large paste by Cand (300 characters)"), "{md}");
    // The history is stored: after a restart from disk the replay is the same.
    let room = ivy.room_id();
    ivy.cmd(json!({"cmd": "sleep", "ms": 400}));
    ivy.kill();
    let mut again = Peer::start(PEER, &ivy_dir, &opts, &["open", &room]).unwrap();
    check(&mut again, &snapshots);
}
