//! The IPC layer without a window: every command's logic (`Desktop`) with bad input (an error,
//! never a panic) and the real flow between two app peers over loopback QUIC, with the webview
//! played by a yrs document speaking the same y-protocols messages the UI's TauriRoom sends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use tandem_desktop::desktop::Desktop;
use tandem_desktop::error::IpcError;
use tandem_desktop::session::{ConnState, RoomEvent, Sink};
use tandem_desktop::settings::SettingsInput;
use tokio::sync::mpsc;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{GetString, Text, Transact};

const LOOPBACK: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn sink() -> (Sink, mpsc::UnboundedReceiver<RoomEvent>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Arc::new(move |e| tx.send(e).is_ok()), rx)
}

/// The webview's side: a Yjs document (UTF-16 offsets, like the browser).
struct Webview {
    doc: yrs::Doc,
}

impl Webview {
    fn new() -> Self {
        Self {
            doc: yrs::Doc::with_options(yrs::Options {
                offset_kind: yrs::OffsetKind::Utf16,
                ..Default::default()
            }),
        }
    }
    fn insert(&self, file: &str, at: u32, text: &str) -> String {
        let t = self.doc.get_or_insert_text(format!("file:{file}").as_str());
        let mut txn = self.doc.transact_mut();
        t.insert(&mut txn, at, text);
        B64.encode(Message::Sync(SyncMessage::Update(txn.encode_update_v1())).encode_v1())
    }
    fn text(&self, file: &str) -> String {
        let t = self.doc.get_or_insert_text(format!("file:{file}").as_str());
        t.get_string(&self.doc.transact())
    }
    /// Applies one message from the peer; returns a reply to send, if any.
    fn apply(&self, data: &str) -> Option<String> {
        let bytes = B64.decode(data).unwrap();
        match Message::decode_v1(&bytes).unwrap() {
            Message::Sync(SyncMessage::Update(u)) | Message::Sync(SyncMessage::SyncStep2(u)) => {
                let u = yrs::Update::decode_v1(&u).unwrap();
                self.doc.transact_mut().apply_update(u).unwrap();
                None
            }
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                use yrs::ReadTxn;
                let diff = self.doc.transact().encode_state_as_update_v1(&sv);
                Some(B64.encode(Message::Sync(SyncMessage::SyncStep2(diff)).encode_v1()))
            }
            _ => None,
        }
    }
}

/// Feeds events to the webview until `done` holds for the webview or an event (events seen by
/// earlier calls, kept in `seen`, count too: a policy event may arrive while waiting for text).
async fn pump(
    rx: &mut mpsc::UnboundedReceiver<RoomEvent>,
    wv: &Webview,
    seen: &mut Vec<RoomEvent>,
    done: impl Fn(&Webview, &RoomEvent) -> bool,
) {
    if seen.iter().any(|e| done(wv, e)) {
        return;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let e = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("timed out waiting for room events")
            .expect("session ended");
        if let RoomEvent::Message { data } = &e {
            wv.apply(data);
        }
        let stop = done(wv, &e);
        seen.push(e);
        if stop {
            return;
        }
    }
}

fn profile(name: &str) -> SettingsInput {
    SettingsInput {
        name: name.into(),
        colour: "#e91e63".into(),
        relay_url: String::new(),
        exec_ticket: String::new(),
    }
}

#[tokio::test]
async fn bad_input_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let d = Desktop::new(dir.path(), LOOPBACK);
    assert!(d.profile().await.unwrap().first_run);
    let mut bad = profile("Ada");
    bad.colour = "red".into();
    assert!(matches!(d.save_settings(bad), Err(IpcError::Invalid(_))));
    let mut bad = profile("");
    bad.relay_url = "ftp://x".into();
    assert!(d.save_settings(bad).is_err());
    d.save_settings(profile("Ada")).unwrap();
    assert!(!d.profile().await.unwrap().first_run);

    for link in ["", "garbage", "tandem://join/AAAA", "https://example.org/join/x"] {
        assert!(matches!(d.join_room(link).await, Err(IpcError::Invalid(_))), "{link:?}");
    }
    let (s, _rx) = sink();
    assert!(matches!(
        d.open_room("../etc", s.clone()).await,
        Err(IpcError::Invalid(_))
    ));
    assert!(d.open_room(&"0".repeat(32), s.clone()).await.is_err(), "unknown room");

    // Commands on a session that does not exist.
    assert!(matches!(d.send(99, "AAEC").await, Err(IpcError::NoSession(99))));
    assert!(matches!(d.create_invite(99, "candidate"), Err(IpcError::NoSession(99))));
    assert!(d.close_room(99).is_err());

    let room = d.create_room().await.unwrap();
    let opened = d.open_room(&room.id, s).await.unwrap();
    let sess = opened.session;
    assert_eq!(opened.policy.you, d.profile().await.unwrap().member);
    // Malformed messages: not base64, empty, oversized, not y-protocols, truncated.
    assert!(matches!(d.send(sess, "%%%").await, Err(IpcError::Invalid(_))));
    assert!(matches!(d.send(sess, "").await, Err(IpcError::Invalid(_))));
    let huge = "A".repeat(8 * 1024 * 1024);
    assert!(matches!(d.send(sess, &huge).await, Err(IpcError::Invalid(_))));
    for junk in [&[0xffu8, 0xff, 0xff][..], &[0, 2, 200, 1], &[0, 1, 5, 1, 2], &[1, 9, 9]] {
        assert!(d.send(sess, &B64.encode(junk)).await.is_err(), "{junk:?}");
    }
    // Role actions: bad member ids and roles, unknown members, revoking oneself.
    assert!(matches!(
        d.set_role(sess, "nope", "candidate"),
        Err(IpcError::Invalid(_))
    ));
    assert!(matches!(
        d.set_role(sess, &"a".repeat(64), "boss"),
        Err(IpcError::Invalid(_))
    ));
    assert!(d.set_role(sess, &"a".repeat(64), "candidate").is_err());
    assert!(d.set_read_only(sess, &"a".repeat(64), true).is_err());
    assert!(d.revoke(sess, &opened.policy.you).is_err());
    assert!(matches!(d.create_invite(sess, "owner"), Err(IpcError::Invalid(_))));
    assert!(d
        .create_invite(sess, "spectator")
        .unwrap()
        .starts_with("tandem://join/"));
    // Runs: bad ids, kinds and requests are refused before anything reaches the room; a good
    // request in a room without an execution node is a clear error from the room.
    let py = serde_json::json!({ "language": "python", "files": [{ "content": "print(1)" }] });
    for (id, req, kind) in [
        ("", py.clone(), "run"),
        ("r 1", py.clone(), "run"),
        ("r1", py.clone(), "walk"),
        ("r1", serde_json::json!({}), "run"),
        ("r1", serde_json::json!({ "language": "python", "files": [] }), "run"),
    ] {
        assert!(
            matches!(d.request_run(sess, id, req, kind).await, Err(IpcError::Invalid(_))),
            "{id} {kind}"
        );
    }
    let e = d.request_run(sess, "r1", py.clone(), "run").await.unwrap_err();
    assert!(e.to_string().contains("no execution node is set"), "{e}");
    assert!(matches!(
        d.request_run(999, "r1", py, "run").await,
        Err(IpcError::NoSession(999))
    ));
    assert!(matches!(d.cancel_run(sess, "").await, Err(IpcError::Invalid(_))));
    let e = d.cancel_run(sess, "run-1").await.unwrap_err();
    assert!(e.to_string().contains("not connected"), "{e}");
    // The session still works after all that.
    d.send(sess, &Webview::new().insert("main.py", 0, "ok")).await.unwrap();
    d.close_room(sess).unwrap();
    d.shutdown().await;
}

#[tokio::test]
async fn two_apps_share_a_room_and_a_spectator_cannot_edit() {
    let (da, db, dc) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let a = Desktop::new(da.path(), LOOPBACK);
    let b = Desktop::new(db.path(), LOOPBACK);
    let c = Desktop::new(dc.path(), LOOPBACK);
    let room = a.create_room().await.unwrap();
    let (sa, mut ra) = sink();
    let oa = a.open_room(&room.id, sa).await.unwrap();
    let wa = Webview::new();
    let (mut ha, mut hb, mut hc) = (Vec::new(), Vec::new(), Vec::new());
    // The webview answers the peer's step 1 and edits.
    pump(&mut ra, &wa, &mut ha, |_, e| matches!(e, RoomEvent::Message { .. })).await;
    a.send(oa.session, &wa.insert("main.py", 0, "print('hi')\n"))
        .await
        .unwrap();

    let link = a.create_invite(oa.session, "candidate").unwrap();
    let joined = b.join_room(&link).await.unwrap();
    assert_eq!(joined.id, room.id);
    let (sb, mut rb) = sink();
    let ob = b.open_room(&room.id, sb).await.unwrap();
    let wb = Webview::new();
    pump(&mut rb, &wb, &mut hb, |w, _| w.text("main.py") == "print('hi')\n").await;
    // The candidate's edit reaches the interviewer's webview.
    b.send(ob.session, &wb.insert("main.py", 0, "# B\n")).await.unwrap();
    pump(&mut ra, &wa, &mut ha, |w, _| w.text("main.py") == "# B\nprint('hi')\n").await;
    // A sees B as a member and a direct connection.
    pump(&mut ra, &wa, &mut ha, |_, e| match e {
        RoomEvent::Policy { policy } => policy
            .members
            .iter()
            .any(|m| m.member == ob.policy.you && m.role == "candidate"),
        _ => false,
    })
    .await;
    pump(&mut ra, &wa, &mut ha, |_, e| {
        matches!(
            e,
            RoomEvent::State {
                state: ConnState::Direct
            }
        )
    })
    .await;

    // A spectator's webview edit is refused by its own peer, and nothing reaches the others.
    let spectator_link = a.create_invite(oa.session, "spectator").unwrap();
    c.join_room(&spectator_link).await.unwrap();
    let (sc, mut rc) = sink();
    let oc = c.open_room(&room.id, sc).await.unwrap();
    let wc = Webview::new();
    pump(&mut rc, &wc, &mut hc, |w, _| w.text("main.py") == "# B\nprint('hi')\n").await;
    let err = c.send(oc.session, &wc.insert("main.py", 0, "evil")).await.unwrap_err();
    assert!(err.to_string().contains("edit right"), "{err}");

    // The interviewer makes the candidate read-only: B's next edit is refused.
    a.set_read_only(oa.session, &ob.policy.you, true).unwrap();
    pump(&mut rb, &wb, &mut hb, |_, e| match e {
        RoomEvent::Policy { policy } => policy.members.iter().any(|m| m.member == policy.you && m.read_only),
        _ => false,
    })
    .await;
    assert!(b.send(ob.session, &wb.insert("main.py", 0, "late")).await.is_err());
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(e) = ra.try_recv() {
        if let RoomEvent::Message { data } = e {
            wa.apply(&data);
        }
    }
    assert_eq!(wa.text("main.py"), "# B\nprint('hi')\n");
    for d in [a, b, c] {
        d.shutdown().await;
    }
}

#[tokio::test]
async fn edits_persist_and_a_room_reopens_offline() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let d = Desktop::new(dir.path(), LOOPBACK);
        d.save_settings(profile("Ada")).unwrap();
        let room = d.create_room().await.unwrap();
        let (s, mut rx) = sink();
        let o = d.open_room(&room.id, s).await.unwrap();
        let wv = Webview::new();
        pump(&mut rx, &wv, &mut Vec::new(), |_, e| {
            matches!(e, RoomEvent::Message { .. })
        })
        .await;
        d.send(o.session, &wv.insert("main.py", 0, "kept offline"))
            .await
            .unwrap();
        d.close_room(o.session).unwrap();
        d.shutdown().await;
        room.id
    };
    // A new process (same data dir), no network peers: the room is listed and opens with its text.
    let d = Desktop::new(dir.path(), LOOPBACK);
    // The first peer's tasks let go of the sled lock as they wind down.
    let mut tries = 0;
    let recent = loop {
        match d.recent_rooms().await {
            Err(IpcError::NodeUnavailable(e)) if tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                let _ = e;
            }
            other => break other.unwrap(),
        }
    };
    assert_eq!(recent.first().map(|r| r.id.as_str()), Some(id.as_str()));
    let (s, mut rx) = sink();
    let o = d.open_room(&id, s).await.unwrap();
    assert_eq!(o.state, ConnState::Offline);
    let wv = Webview::new();
    // Answer the peer's step 1 with ours so it sends everything.
    let step1 = {
        use yrs::ReadTxn;
        B64.encode(Message::Sync(SyncMessage::SyncStep1(wv.doc.transact().state_vector())).encode_v1())
    };
    d.send(o.session, &step1).await.unwrap();
    pump(&mut rx, &wv, &mut Vec::new(), |w, _| {
        w.text("main.py") == "kept offline"
    })
    .await;
    d.shutdown().await;
}

fn ticket(port: u16) -> String {
    tandem_shared::exec_wire::ExecTicket(tandem_shared::invite::PeerAddr {
        id: "ab".repeat(32),
        relay: None,
        addrs: vec![format!("127.0.0.1:{port}")],
    })
    .encode()
}

#[tokio::test]
async fn the_interviewers_exec_ticket_names_the_rooms_node() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Desktop::new(da.path(), LOOPBACK);
    let b = Desktop::new(db.path(), LOOPBACK);
    let mut s = profile("Ada");
    s.exec_ticket = ticket(4001);
    a.save_settings(s).unwrap();
    let room = a.create_room().await.unwrap();
    let (sa, _ra) = sink();
    let oa = a.open_room(&room.id, sa).await.unwrap();
    let ra = a.node().await.unwrap().room(&room.id).unwrap();
    let named = ra.exec_settings().expect("the room names a node");
    assert_eq!(named.settings.ticket, ticket(4001));
    assert_eq!(named.signer, oa.policy.you);

    // A candidate's own ticket does not replace the interviewer's choice.
    let link = a.create_invite(oa.session, "candidate").unwrap();
    let mut s = profile("Bo");
    s.exec_ticket = ticket(4002);
    b.save_settings(s).unwrap();
    b.join_room(&link).await.unwrap();
    let (sb, _rb) = sink();
    b.open_room(&room.id, sb).await.unwrap();
    let rb = b.node().await.unwrap().room(&room.id).unwrap();
    assert!(!tandem_desktop::runs::apply_exec_ticket(&rb, Some(&ticket(4002))).unwrap());

    // The interviewer changed the settings: reopening the room names the new node.
    let mut s = profile("Ada");
    s.exec_ticket = ticket(4003);
    a.save_settings(s).unwrap();
    a.close_room(oa.session).unwrap();
    let (sa, _ra) = sink();
    a.open_room(&room.id, sa).await.unwrap();
    assert_eq!(ra.exec_settings().unwrap().settings.ticket, ticket(4003));
    for d in [a, b] {
        d.shutdown().await;
    }
}
