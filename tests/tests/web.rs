//! The relay's web bridge with a STOCK y-websocket client (ui/e2e/stock-client.mjs: yjs +
//! y-websocket's WebsocketProvider from ui/node_modules, Node 20) against a real `tandem-relay`
//! and real `tandem-peer` processes: join with an invite made by a peer and converge both ways;
//! refusal (4401) without an invite or with a forged one; read-only candidates' and spectators'
//! edits never reach the peer; malformed and oversized frames leave the relay serving.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;

use base64::Engine;
use common::*;
use serde_json::{json, Value};

const F: &str = "main.py";

fn script() -> std::path::PathBuf {
    let ui = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui");
    assert!(
        ui.join("node_modules/y-websocket").is_dir(),
        "ui/node_modules is missing: run `cd ui && npm ci` first (scripts/test.sh does)"
    );
    ui.join("e2e/stock-client.mjs")
}

/// The stock client process.
struct Web {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Web {
    fn start() -> Web {
        let mut child = Command::new("node")
            .arg(script())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null()) // y-websocket logs unknown message types; not interesting
            .spawn()
            .expect("node (Node 20) on PATH");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::sync_channel(1024);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let ready = lines.recv_timeout(STEP_TIMEOUT).expect("stock client did not start");
        assert!(ready.contains("ready"), "{ready}");
        Web { child, stdin, lines }
    }

    fn try_cmd(&mut self, v: Value) -> Result<Value, String> {
        writeln!(self.stdin, "{v}").map_err(|e| e.to_string())?;
        let line = self
            .lines
            .recv_timeout(STEP_TIMEOUT)
            .map_err(|_| format!("no reply to {v}"))?;
        let r: Value = serde_json::from_str(&line).map_err(|e| format!("{e}: {line}"))?;
        if r["ok"] != json!(true) {
            return Err(r["error"].as_str().unwrap_or(&line).to_string());
        }
        Ok(r)
    }

    fn cmd(&mut self, v: Value) -> Value {
        self.try_cmd(v.clone()).unwrap_or_else(|e| panic!("{v}: {e}"))
    }

    fn connect(relay: &Relay, room: &str, invite: Option<&str>) -> Web {
        let mut w = Web::start();
        let mut c = json!({"cmd": "connect", "url": format!("{}/yjs", relay.url.replace("http", "ws")), "room": room, "tandem": true});
        if let Some(i) = invite {
            c["invite"] = json!(i);
        }
        w.cmd(c);
        w
    }

    fn wait_connected(&mut self) {
        self.cmd(json!({"cmd": "wait_status", "status": "connected", "timeout_ms": 80000}));
    }

    fn wait_closed(&mut self) -> (u64, String) {
        let r = self.cmd(json!({"cmd": "wait_status", "status": "closed", "timeout_ms": 80000}));
        (
            r["code"].as_u64().unwrap_or(0),
            r["reason"].as_str().unwrap_or("").to_string(),
        )
    }

    fn insert(&mut self, pos: usize, text: &str) {
        self.cmd(json!({"cmd": "insert", "file": F, "pos": pos, "text": text}));
    }

    fn wait_text(&mut self, text: &str) {
        self.cmd(json!({"cmd": "wait_text", "file": F, "text": text, "timeout_ms": 80000}));
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn token(link: &str) -> String {
    link.strip_prefix("tandem://join/").expect("an invite link").to_string()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Peer `a` (interviewer, creator) with a relay, and one stock client joined with `role`.
fn room_with_web(w: &mut World, role: &str, can_edit: bool) -> (Peer, Web) {
    let mut a = w.create("a");
    let (link, _) = a.invite(role, can_edit, 3600);
    let mut web = Web::connect(&w.relay, &a.room_id(), Some(&token(&link)));
    web.wait_connected();
    (a, web)
}

#[test]
fn stock_client_joins_with_an_invite_and_converges_both_ways() {
    let mut w = World::new();
    let (mut a, mut web) = room_with_web(&mut w, "candidate", true);
    a.insert(F, 0, "print('😀')\n");
    web.wait_text("print('😀')\n");
    // UTF-16 offset 9 is right after the emoji's two code units.
    web.insert(9, " + 🎉");
    a.wait_text(F, "print('😀 + 🎉')\n");
    // Concurrent edits on both sides converge.
    a.insert(F, 0, "# peer\n");
    web.insert(0, "# web\n");
    let mut last = String::new();
    eventually("peer and web client to converge", || {
        last = a.text(F);
        last.contains("# peer")
            && last.contains("# web")
            && web.cmd(json!({"cmd": "text", "file": F}))["text"] == json!(last)
    });
    // The bridge tells the client who it is and who is who (type 101 policy).
    let policy = web.cmd(json!({"cmd": "policy"}))["policy"].clone();
    let you = policy["you"].as_str().unwrap().to_string();
    let me = policy["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["member"] == json!(you))
        .cloned()
        .expect("the client is a member");
    assert_eq!(me["role"], "candidate");
    assert_eq!(me["read_only"], false);
    // The peer sees the bridged browser as a member with the invite's role.
    let members = a.cmd(json!({"cmd": "members"}));
    assert!(members.to_string().contains(&you), "{members}");

    // The whole link works as the invite too (y-websocket URL-encodes its params), also encoded
    // once more by hand; a late joiner gets the text.
    let (link, _) = a.invite("spectator", false, 3600);
    let mut late = Web::connect(&w.relay, &a.room_id(), Some(&link));
    late.wait_connected();
    late.wait_text(&last);
    let (link, _) = a.invite("spectator", false, 3600);
    let mut late = Web::connect(&w.relay, &a.room_id(), Some(&percent_encode(&link)));
    late.wait_connected();
    late.wait_text(&last);
}

#[test]
fn refused_without_an_invite_or_with_a_forged_one() {
    let mut w = World::new();
    let mut a = w.create("a");
    let room = a.room_id();
    let (link, _) = a.invite("spectator", false, 3600);

    let mut none = Web::connect(&w.relay, &room, None);
    assert_eq!(none.wait_closed().0, 4401);

    let mut garbage = Web::connect(&w.relay, &room, Some("not-an-invite"));
    assert_eq!(garbage.wait_closed().0, 4401);

    // Forged: the spectator invite rewritten to an interviewer one, signature unchanged.
    let json_bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token(&link))
        .unwrap();
    let mut inv: Value = serde_json::from_slice(&json_bytes).unwrap();
    inv["body"]["role"] = json!("interviewer");
    inv["body"]["can_edit"] = json!(true);
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&inv).unwrap());
    let mut f = Web::connect(&w.relay, &room, Some(&forged));
    let (code, reason) = f.wait_closed();
    assert_eq!(code, 4401, "{reason}");
    assert!(reason.contains("forged"), "{reason}");

    // A valid invite for another room.
    let mut other = Web::connect(&w.relay, "00112233445566778899aabbccddeeff", Some(&token(&link)));
    assert_eq!(other.wait_closed().0, 4401);

    // Expired: refused as well.
    let (expired, _) = a.invite("candidate", true, 0);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut e = Web::connect(&w.relay, &room, Some(&token(&expired)));
    let (code, reason) = e.wait_closed();
    assert_eq!(code, 4401, "{reason}");
    assert!(reason.contains("expired"), "{reason}");
    // Nothing of theirs reached the peer.
    assert_eq!(a.text(F), "");
}

#[test]
fn read_only_candidates_and_spectators_edits_are_not_applied() {
    let mut w = World::new();
    let mut a = w.create("a");
    let room = a.room_id();
    let (ro, _) = a.invite("candidate", false, 3600);
    let (sp, _) = a.invite("spectator", false, 3600);
    let (ed, _) = a.invite("candidate", true, 3600);
    let mut read_only = Web::connect(&w.relay, &room, Some(&token(&ro)));
    let mut spectator = Web::connect(&w.relay, &room, Some(&token(&sp)));
    let mut editor = Web::connect(&w.relay, &room, Some(&token(&ed)));
    for c in [&mut read_only, &mut spectator, &mut editor] {
        c.wait_connected();
    }
    read_only.insert(0, "read-only was here ");
    spectator.insert(0, "spectator was here ");
    // The editor's edit is sent after theirs; once it arrives, theirs would have too.
    editor.insert(0, "editor");
    a.wait_text(F, "editor");
    editor.wait_text("editor");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(a.text(F), "editor");

    // An interviewer making the editor read-only (through its own web session) stops it too.
    let (iv, _) = a.invite("interviewer", true, 3600);
    let mut boss = Web::connect(&w.relay, &room, Some(&token(&iv)));
    boss.wait_connected();
    let policy = editor.cmd(json!({"cmd": "policy"}))["policy"].clone();
    let editor_id = policy["you"].as_str().unwrap().to_string();
    boss.cmd(json!({"cmd": "raw", "hex": hex(&control(&json!({"type": "set_read_only", "member": editor_id, "read_only": true})))}));
    eventually("the editor to be told it is read-only", || {
        let p = editor.cmd(json!({"cmd": "policy"}))["policy"].clone();
        p["members"].as_array().is_some_and(|m| {
            m.iter()
                .any(|m| m["member"] == json!(editor_id) && m["read_only"] == json!(true))
        })
    });
    editor.insert(0, "late ");
    boss.insert(6, "!");
    a.wait_text(F, "editor!");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(a.text(F), "editor!");

    // An interviewer's browser creates an invite: a web link on this relay that names a peer
    // that stays (not the browser's session peer), and it works.
    boss.cmd(json!({"cmd": "raw", "hex": hex(&control(&json!({"type": "create_invite", "request_id": "inv-1", "role": "candidate"})))}));
    let mut url = String::new();
    eventually("the invite to be created", || {
        let c = boss.cmd(json!({"cmd": "controls"}))["controls"].clone();
        if let Some(m) = c
            .as_array()
            .and_then(|c| c.iter().find(|m| m["type"] == "invite_created"))
        {
            url = m["url"].as_str().unwrap_or_default().to_string();
            return true;
        }
        false
    });
    assert_eq!(
        url.split("invite=").next().unwrap(),
        format!("{}/room/{room}?", w.relay.url)
    );
    let mut invited = Web::connect(&w.relay, &room, Some(url.split("invite=").nth(1).unwrap()));
    invited.wait_connected();
    invited.wait_text("editor!");
    // A candidate's browser cannot create invites: a clear error.
    invited.cmd(json!({"cmd": "raw", "hex": hex(&control(&json!({"type": "create_invite", "request_id": "inv-2", "role": "interviewer"})))}));
    eventually("the refusal", || {
        let c = invited.cmd(json!({"cmd": "controls"}))["controls"].clone();
        c.as_array()
            .is_some_and(|c| c.iter().any(|m| m["type"] == "error" && m["request_id"] == "inv-2"))
    });

    // Revoked: the socket is closed with 4403.
    boss.cmd(json!({"cmd": "raw", "hex": hex(&control(&json!({"type": "revoke", "member": editor_id})))}));
    let (code, reason) = editor.wait_closed();
    assert_eq!(code, 4403, "{reason}");
}

#[test]
fn malformed_and_oversized_frames_leave_the_relay_serving() {
    let mut w = World::new();
    let (mut a, mut web) = room_with_web(&mut w, "candidate", true);
    for hex in [
        "ff",
        "ffffffffffffffffffffff",
        "00",
        "00ff",
        "0002ffffffff0f01",
        "0105ffffffff",
        "64",
        "6405",
        "6402ffff",
        "6503616263",
        "650f7b2274797065223a2273",
        "07",
        "ffffffff0f",
    ] {
        web.cmd(json!({"cmd": "raw", "hex": hex}));
    }
    // Still the same session, still converging.
    web.insert(0, "still here");
    a.wait_text(F, "still here");
    // A run request in a room without an execution node gets a clear refusal.
    web.cmd(json!({"cmd": "raw", "hex": hex(&encode(100, &json!({"type": "run_request", "request_id": "r1", "kind": "run", "request": {"language": "python", "files": [], "room": a.room_id()}})))}));
    eventually("the run to be refused", || {
        let r = web.cmd(json!({"cmd": "runs"}))["runs"].clone();
        r.as_array().is_some_and(|r| {
            r.iter().any(|m| {
                m["type"] == "run_rejected"
                    && m["request_id"] == "r1"
                    && m["message"].as_str().unwrap_or("").contains("no execution node")
            })
        })
    });

    // Oversized: 9 MiB in one frame is refused with 1009 and a reason.
    let mut big = Web::connect(
        &w.relay,
        &a.room_id(),
        Some(&token(&a.invite("candidate", true, 3600).0)),
    );
    big.wait_connected();
    big.cmd(json!({"cmd": "raw", "hex": "00".repeat(9 * 1024 * 1024)}));
    let (code, reason) = big.wait_closed();
    assert_eq!(code, 1009, "{reason}");
    assert!(reason.contains("8 MiB"), "{reason}");
    // The relay still serves everyone.
    a.insert(F, 0, "> ");
    web.wait_text("> still here");
    assert!(w.relay.admin_get("/healthz").unwrap().contains("ok"));
    let metrics = w.relay.admin_get("/metrics").unwrap();
    assert!(metrics.contains("tandem_relay_web_frames_refused_total"), "{metrics}");
}

#[test]
fn a_browser_vanishing_mid_edit_loses_nothing_that_reached_the_relay() {
    let mut w = World::new();
    let (mut a, mut web) = room_with_web(&mut w, "candidate", true);
    web.insert(0, "typed then gone");
    // Wait until the relay has it from the client's side: the echo of the sync is not visible,
    // so ask the peer; then vanish without a close frame.
    a.wait_text(F, "typed then gone");
    web.insert(15, " — and this too");
    web.cmd(json!({"cmd": "disconnect"}));
    a.wait_text(F, "typed then gone — and this too");
}

#[test]
fn browser_sessions_beyond_the_relays_limits_are_told_to_try_again() {
    let mut w = World {
        relay: Relay::start_with(RELAY, &["--max-web-sessions", "3", "--max-web-sessions-per-room", "2"])
            .expect("relay"),
        dirs: Vec::new(),
    };
    let mut a = w.create("a");
    let room = a.room_id();
    let links: Vec<String> = (0..3).map(|_| token(&a.invite("candidate", true, 3600).0)).collect();
    let mut first = Web::connect(&w.relay, &room, Some(&links[0]));
    let mut second = Web::connect(&w.relay, &room, Some(&links[1]));
    first.wait_connected();
    second.wait_connected();
    // A third member of the same room is over the per-room cap: 1013 with the reason.
    let mut third = Web::connect(&w.relay, &room, Some(&links[2]));
    let (code, reason) = third.wait_closed();
    assert_eq!(code, 1013, "{reason}");
    assert!(reason.contains("this room already has 2"), "{reason}");
    // A second tab of a member already in is not a new session: never refused.
    let mut again = Web::connect(&w.relay, &room, Some(&links[0]));
    again.wait_connected();
    // Another room still fits under the relay's cap of 3; a fourth session anywhere does not.
    let mut b = w.create("b");
    let mut other = Web::connect(
        &w.relay,
        &b.room_id(),
        Some(&token(&b.invite("candidate", true, 3600).0)),
    );
    other.wait_connected();
    let mut fourth = Web::connect(
        &w.relay,
        &b.room_id(),
        Some(&token(&b.invite("candidate", true, 3600).0)),
    );
    let (code, reason) = fourth.wait_closed();
    assert_eq!(code, 1013, "{reason}");
    assert!(reason.contains("already serves 3 browser sessions"), "{reason}");
    // Those inside keep working.
    first.insert(0, "still served");
    a.wait_text(F, "still served");
}

/// Type-100 messages a stock client collected so far.
fn runs_seen(web: &mut Web) -> Vec<Value> {
    web.cmd(json!({"cmd": "runs"}))["runs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn run_request(request_id: &str, code: &str) -> Vec<u8> {
    encode(
        100,
        &json!({"type": "run_request", "request_id": request_id, "kind": "run",
                "request": {"language": "python", "files": [{"name": "main.py", "content": code}], "stdin": ""}}),
    )
}

#[test]
fn runs_travel_over_the_bridge_to_every_client_and_peer() {
    let mut w = World::new();
    let mut a = w.create("a");
    let node_dir = w.dir("exec");
    let node = ExecNode::start(EXEC, &node_dir, &[&a.id], "").expect("exec node");
    a.cmd(json!({"cmd": "set_exec_node", "ticket": node.ticket}));
    let room = a.room_id();
    let (cand, _) = a.invite("candidate", true, 3600);
    let (spec, _) = a.invite("spectator", false, 3600);
    let mut candidate = Web::connect(&w.relay, &room, Some(&token(&cand)));
    let mut spectator = Web::connect(&w.relay, &room, Some(&token(&spec)));
    candidate.wait_connected();
    spectator.wait_connected();

    // The candidate's browser runs; both browsers and the desktop-side peer see the same output.
    let code = "for i in range(5):\n    print(f'web line {i}', flush=True)\n";
    candidate.cmd(json!({"cmd": "raw", "hex": hex(&run_request("web-1", code))}));
    let mut run_id = String::new();
    eventually("the candidate's run to finish in the candidate's browser", || {
        let runs = runs_seen(&mut candidate);
        if let Some(acc) = runs
            .iter()
            .find(|m| m["type"] == "run_accepted" && m["request_id"] == "web-1")
        {
            run_id = acc["run_id"].as_str().unwrap_or_default().to_string();
        }
        !run_id.is_empty()
            && runs
                .iter()
                .any(|m| m["type"] == "finished" && m["run_id"] == json!(run_id))
    });
    let expected: String = (0..5).map(|i| format!("web line {i}\n")).collect();
    let output_of = |msgs: &[Value]| -> String {
        msgs.iter()
            .filter(|m| m["type"] == "output" && m["run_id"] == json!(run_id))
            .map(|m| m["data"].as_str().unwrap_or_default())
            .collect()
    };
    let mine = runs_seen(&mut candidate);
    assert_eq!(output_of(&mine), expected);
    let last = mine.iter().rfind(|m| m["run_id"] == json!(run_id)).unwrap();
    assert_eq!(last["result"]["verdict"], "ok", "{last}");
    eventually("the spectator's browser to see the whole run", || {
        let theirs = runs_seen(&mut spectator);
        theirs
            .iter()
            .any(|m| m["type"] == "finished" && m["run_id"] == json!(run_id))
            && output_of(&theirs) == expected
    });
    let log = a.cmd(json!({"cmd": "run_log", "run_id": run_id, "wait": true, "timeout_ms": 80000}));
    let at_peer: String = log["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == "output")
        .map(|m| m["data"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(at_peer, expected);

    // A spectator may not run: a clear refusal for that request, to that browser alone.
    spectator.cmd(json!({"cmd": "raw", "hex": hex(&run_request("web-2", "print(1)"))}));
    eventually("the spectator's refusal", || {
        runs_seen(&mut spectator)
            .iter()
            .any(|m| m["type"] == "run_rejected" && m["request_id"] == "web-2")
    });
    let refusals: Vec<Value> = runs_seen(&mut spectator)
        .into_iter()
        .filter(|m| m["type"] == "run_rejected")
        .collect();
    assert_eq!(refusals.len(), 1, "one refusal, not one per path: {refusals:?}");
    assert!(!runs_seen(&mut candidate)
        .iter()
        .any(|m| m["type"] == "run_rejected" && m["request_id"] == "web-2"));

    // A malformed request is refused with the reason; the socket stays up.
    let bad = encode(
        100,
        &json!({"type": "run_request", "request_id": "web-3", "request": {"files": 7}}),
    );
    candidate.cmd(json!({"cmd": "raw", "hex": hex(&bad)}));
    eventually("the malformed request's refusal", || {
        runs_seen(&mut candidate).iter().any(|m| {
            m["type"] == "run_rejected"
                && m["request_id"] == "web-3"
                && m["message"].as_str().is_some_and(|s| s.contains("malformed"))
        })
    });
    candidate.insert(0, "still here");
    a.wait_text(F, "still here");
}

fn encode(kind: u64, body: &Value) -> Vec<u8> {
    tandem_relay::bridge::encode_json(kind, body)
}

fn control(body: &Value) -> Vec<u8> {
    encode(101, body)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Issue 14 (7): anyone can make an invite that verifies (for a room of their own, naming a peer
/// that does not exist). Such sessions wait in a small pool of their own, cannot crowd out the
/// members of real rooms, and leave nothing under --web-data.
#[test]
fn strangers_invites_wait_in_a_small_pool_and_leave_nothing_on_disk() {
    let mut w = World::new();
    let relay = Relay::start_with(RELAY, &["--max-web-sessions-unadmitted", "2"]).expect("relay");
    let mut a = w.create("a");
    let room = a.room_id();
    let (first, _) = a.invite("candidate", true, 3600);
    let mut member = Web::connect(&relay, &room, Some(&token(&first)));
    member.wait_connected();

    let stranger_invite = || {
        let key = tandem_room::iroh::SecretKey::generate();
        let room = tandem_shared::invite::RoomRef {
            id: format!("{:032x}", rand::random::<u128>()),
            creator: tandem_room::identity::key_hex(&key.public()),
        };
        let nobody = tandem_shared::invite::PeerAddr {
            id: tandem_room::identity::key_hex(&tandem_room::iroh::SecretKey::generate().public()),
            relay: Some("https://relay.attacker.invalid/".into()),
            addrs: vec![],
        };
        let invite = tandem_room::policy::make_invite(
            &key,
            &room,
            tandem_shared::room::Role::Interviewer,
            true,
            tandem_room::policy::now_ms() / 1000 + 3600,
            nobody,
        );
        (room.id.clone(), token(&invite.to_link()))
    };
    let mut strangers = Vec::new();
    for _ in 0..2 {
        let (id, t) = stranger_invite();
        strangers.push(Web::connect(&relay, &id, Some(&t)));
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (id, t) = stranger_invite();
    let mut third = Web::connect(&relay, &id, Some(&t));
    let (code, reason) = third.wait_closed();
    assert_eq!(code, 1013, "{reason}");
    assert!(reason.contains("waiting to be admitted"), "{reason}");

    // A second member of the real room, invited by its interviewer, is not held up.
    let (second, _) = a.invite("candidate", true, 3600);
    let mut member2 = Web::connect(&relay, &room, Some(&token(&second)));
    member2.wait_connected();
    member2.insert(0, "real room");
    a.wait_text(F, "real room");

    // The strangers' sessions time out and their directories go with them.
    drop(strangers);
    drop(third);
    let members = relay.web_data().join("members");
    let count = || std::fs::read_dir(&members).map(|d| d.count()).unwrap_or(0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while count() > 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert_eq!(count(), 2, "only the two admitted members keep a directory");
}
