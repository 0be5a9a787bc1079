//! Runs from the room, end to end: a real `tandem-exec` (real Podman sandboxes), real room
//! peers (`tt-peer` processes), real QUIC on loopback. Every peer gets the run's messages from
//! the node itself. No wall-clock assertions: every wait is for a state.

mod common;

use common::*;
use serde_json::{json, Value};

/// Prints `n` numbered lines with a pause between them.
fn numbered(prefix: &str, n: usize, pause_s: f64) -> String {
    format!("import time\nfor i in range({n}):\n    print(f\"{prefix} {{i:03d}}\", flush=True)\n    time.sleep({pause_s})\n")
}

/// Starts a run (no wait) and returns its id.
fn start_run(p: &mut Peer, code: &str) -> String {
    let r = p.cmd(json!({"cmd": "run", "language": "python", "code": code, "limits": {"run_wall_ms": 20000}}));
    r["run_id"].as_str().expect("run_id").to_string()
}

/// Every message of `run` this peer received, once the run ended.
fn messages(p: &mut Peer, run: &str) -> Vec<Value> {
    let r = p.cmd(json!({"cmd": "run_log", "run_id": run, "wait": true, "timeout_ms": 80000}));
    r["messages"].as_array().cloned().unwrap_or_default()
}

/// The run's output events as (seq, data), in arrival order.
fn output(msgs: &[Value]) -> Vec<(u64, String)> {
    msgs.iter()
        .filter(|m| m["type"] == "output")
        .map(|m| (m["seq"].as_u64().unwrap(), m["data"].as_str().unwrap().to_string()))
        .collect()
}

fn text(msgs: &[Value]) -> String {
    output(msgs).into_iter().map(|(_, d)| d).collect()
}

fn last(msgs: &[Value]) -> Value {
    msgs.last().cloned().unwrap_or(Value::Null)
}

fn wait_connected(p: &mut Peer) {
    eventually("the peer to connect to the execution node", || {
        p.cmd(json!({"cmd": "exec_status"}))["status"]["connected"] == json!(true)
    });
}

fn wait_output(p: &mut Peer, run: &str) {
    eventually("the first output line", || {
        let r = p.cmd(json!({"cmd": "run_log", "run_id": run}));
        r["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["type"] == "output"))
    });
}

#[test]
fn every_peer_sees_the_same_output_live_and_a_late_joiner_gets_all_of_it() {
    let mut w = World::new();
    let mut a = w.create("ana");
    let node_dir = w.dir("exec");
    let node = ExecNode::start(EXEC, &node_dir, &[&a.id], "").expect("exec node");
    let (inv_b, _) = a.invite("candidate", true, 3600);
    let (inv_c, _) = a.invite("spectator", false, 3600);
    let (inv_d, _) = a.invite("spectator", false, 3600);
    let mut b = w.join("bo", &inv_b);
    let mut c = w.join("cy", &inv_c);
    a.cmd(json!({"cmd": "set_exec_node", "ticket": node.ticket}));
    for p in [&mut a, &mut b, &mut c] {
        wait_connected(p);
    }
    let run = start_run(&mut b, &numbered("line", 100, 0.1));
    wait_output(&mut a, &run);
    // A peer that joins now, mid-run, must still get the whole output.
    let mut d = w.join("di", &inv_d);
    let expected: String = (0..100).map(|i| format!("line {i:03}\n")).collect();
    let mut seen = Vec::new();
    let requester = b.id.clone();
    for p in [&mut a, &mut b, &mut c, &mut d] {
        let msgs = messages(p, &run);
        assert_eq!(text(&msgs), expected, "output seen by {}", p.id);
        let seqs: Vec<u64> = output(&msgs).iter().map(|(s, _)| *s).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order at {}", p.id);
        assert_eq!(last(&msgs)["type"], "finished");
        assert_eq!(last(&msgs)["result"]["verdict"], "ok");
        assert_eq!(msgs[0]["type"], "run_accepted");
        assert_eq!(msgs[0]["by"]["member"], json!(requester.clone()));
        seen.push(msgs);
    }
    // Identical, message for message, at every peer.
    assert!(seen.windows(2).all(|w| w[0] == w[1]));
    // The run is in the room's history (appended by the peers that may edit, once).
    eventually("the run in the history of every peer", || {
        [&mut a, &mut c, &mut d].into_iter().all(|p| {
            let h = p.cmd(json!({"cmd": "run_history"}));
            h["history"]
                .as_array()
                .is_some_and(|h| h.len() == 1 && h[0]["run_id"] == json!(run.clone()) && h[0]["verdict"] == "ok")
        })
    });
}

#[test]
fn spectators_strangers_and_unserved_rooms_are_refused() {
    let mut w = World::new();
    let mut a = w.create("ana");
    let node_dir = w.dir("exec");
    let node = ExecNode::start(EXEC, &node_dir, &[&a.id], "").expect("exec node");
    let (inv_s, _) = a.invite("spectator", false, 3600);
    let mut s = w.join("sam", &inv_s);
    a.cmd(json!({"cmd": "set_exec_node", "ticket": node.ticket}));
    wait_connected(&mut s);
    let err = s
        .try_cmd(json!({"cmd": "run", "language": "python", "code": "print(1)"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("spectators cannot run code"), "{err}");

    // An identity that is not a member of the room: refused with the reason.
    let room: tandem_shared::invite::RoomRef = serde_json::from_value(a.room.clone()).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt.block_on(async {
        let ep = tandem_room::bind_endpoint(
            tandem_room::iroh::SecretKey::generate(),
            vec![],
            None,
            None,
            Some("127.0.0.1:0".parse().unwrap()),
        )
        .await
        .unwrap();
        let hello = tandem_shared::exec_wire::ClientMsg::Hello {
            room,
            statements: vec![],
            settings: None,
            name: "mallory".into(),
        };
        let r = tandem_room::runs::connect_exec(&ep, &node.ticket, hello).await;
        ep.close().await;
        match r {
            Ok(_) => panic!("a stranger was admitted"),
            Err(e) => e.to_string(),
        }
    });
    assert!(err.contains("is not a member of this room"), "{err}");

    // A room whose interviewers the operator did not list.
    let mut other = w.create("oz");
    other.cmd(json!({"cmd": "set_exec_node", "ticket": node.ticket}));
    let err = other
        .try_cmd(json!({"cmd": "run", "language": "python", "code": "print(1)"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not serve this room"), "{err}");

    // The interviewer still runs fine on the same node.
    let r = a.cmd(json!({"cmd": "run", "language": "python", "code": "print('fine')", "wait": true}));
    let msgs = r["messages"].as_array().cloned().unwrap();
    assert_eq!(text(&msgs), "fine\n");
}

#[test]
fn node_killed_mid_run_every_peer_sees_the_run_fail() {
    let mut w = World::new();
    let mut a = w.create("ana");
    let node_dir = w.dir("exec");
    let mut node = ExecNode::start(EXEC, &node_dir, &[&a.id], "").expect("exec node");
    let (inv_b, _) = a.invite("candidate", true, 3600);
    let (inv_c, _) = a.invite("spectator", false, 3600);
    let mut b = w.join("bo", &inv_b);
    let mut c = w.join("cy", &inv_c);
    a.cmd(json!({"cmd": "set_exec_node", "ticket": node.ticket}));
    for p in [&mut a, &mut b, &mut c] {
        wait_connected(p);
    }
    let run = start_run(&mut b, &numbered("tick", 150, 0.1));
    for p in [&mut a, &mut b, &mut c] {
        wait_output(p, &run);
    }
    node.kill();
    for p in [&mut a, &mut b, &mut c] {
        let msgs = messages(p, &run);
        let end = last(&msgs);
        assert_eq!(end["type"], "error", "at {}: {end}", p.id);
        assert!(end["message"].as_str().unwrap().contains("went away"), "{end}");
        let st = p.cmd(json!({"cmd": "exec_status"}));
        assert_eq!(st["status"]["connected"], json!(false));
    }
    eventually("the failed run in the history", || {
        let h = a.cmd(json!({"cmd": "run_history"}));
        h["history"].as_array().is_some_and(|h| {
            h.iter()
                .any(|r| r["run_id"] == json!(run.clone()) && r["verdict"] == "error")
        })
    });
}

#[test]
fn two_rooms_running_at_once_do_not_see_each_others_runs() {
    let mut w = World::new();
    let mut a1 = w.create("ana");
    let mut a2 = w.create("ava");
    let node_dir = w.dir("exec");
    let node = ExecNode::start(EXEC, &node_dir, &[&a1.id, &a2.id], "").expect("exec node");
    let (inv1, _) = a1.invite("candidate", true, 3600);
    let (inv2, _) = a2.invite("candidate", true, 3600);
    let mut b1 = w.join("bo", &inv1);
    let mut b2 = w.join("bea", &inv2);
    a1.cmd(json!({"cmd": "set_exec_node", "ticket": node.ticket}));
    a2.cmd(json!({"cmd": "set_exec_node", "ticket": node.ticket}));
    for p in [&mut a1, &mut b1, &mut a2, &mut b2] {
        wait_connected(p);
    }
    let r1 = start_run(&mut b1, &numbered("one", 30, 0.05));
    let r2 = start_run(&mut b2, &numbered("two", 30, 0.05));
    for (p, mine, theirs, word) in [
        (&mut a1, &r1, &r2, "one"),
        (&mut b1, &r1, &r2, "one"),
        (&mut a2, &r2, &r1, "two"),
        (&mut b2, &r2, &r1, "two"),
    ] {
        let msgs = messages(p, mine);
        let expected: String = (0..30).map(|i| format!("{word} {i:03}\n")).collect();
        assert_eq!(text(&msgs), expected);
        let runs = p.cmd(json!({"cmd": "runs"}));
        assert_eq!(runs["runs"], json!([mine]), "runs seen by {}", p.id);
        let other = p.cmd(json!({"cmd": "run_log", "run_id": theirs}));
        assert_eq!(other["messages"], json!([]));
        // Nothing printed by this peer mentions the other room's run.
        assert!(p.events.iter().all(|e| e["msg"]["run_id"] != json!(theirs)));
    }
}
