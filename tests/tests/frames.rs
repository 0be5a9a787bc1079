//! Malformed, unknown-version and oversized frames against a real peer process: each gets a
//! clear error frame back and the peer keeps serving everyone else.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tandem_room::iroh::endpoint::{presets, Connection, RecvStream, SendStream};
use tandem_room::iroh::{Endpoint, EndpointAddr, RelayMode, SecretKey, TransportAddr};
use tandem_room::wire::{read_frame, Read};
use tandem_shared::invite::{Invite, PeerAddr, Statement, StatementBody};
use tandem_shared::protocol::{
    Control, ErrorCode, Frame, Hello, SignedUpdate, ALPN, KIND_YSYNC, MAX_FRAME_LEN, VERSION,
};

async fn raw_endpoint(key: SecretKey) -> Endpoint {
    Endpoint::builder(presets::Minimal)
        .secret_key(key)
        .relay_mode(RelayMode::Disabled)
        .clear_ip_transports()
        .bind_addr("127.0.0.1:0")
        .unwrap()
        .bind()
        .await
        .unwrap()
}

async fn dial(ep: &Endpoint, target: &serde_json::Value) -> (Connection, SendStream, RecvStream) {
    let id = tandem_room::identity::parse_key(target["id"].as_str().unwrap()).unwrap();
    let addrs = target["addrs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| TransportAddr::Ip(a.as_str().unwrap().parse().unwrap()));
    let conn = ep.connect(EndpointAddr::from_parts(id, addrs), ALPN).await.unwrap();
    let (send, recv) = conn.open_bi().await.unwrap();
    (conn, send, recv)
}

/// Reads frames until an error frame arrives; returns its code and whether it was fatal.
async fn next_error(recv: &mut RecvStream) -> (ErrorCode, bool, String) {
    let fut = async {
        loop {
            match read_frame(recv).await {
                Ok(Some(Read::Frame(Frame::Control(Control::Error { code, message, fatal })))) => {
                    return (code, fatal, message)
                }
                Ok(Some(_)) => continue,
                other => panic!("stream ended without an error frame: {other:?}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), fut)
        .await
        .expect("an error frame")
}

fn body(version: u8, kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![version, kind];
    b.extend_from_slice(payload);
    let mut out = (b.len() as u32).to_be_bytes().to_vec();
    out.extend(b);
    out
}

#[test]
fn malformed_unknown_version_and_oversized_frames_are_refused_without_a_crash() {
    let mut w = World::new();
    let mut a = w.create("a");
    a.insert("main.rs", 0, "intact");
    let (link, _) = a.invite("candidate", true, 3600);
    let target = a.ready["addr"].clone();
    let room = a.ready["room"].clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let key = SecretKey::generate();
        let ep = raw_endpoint(key.clone()).await;

        // Before the hello: an unknown version is refused and the connection closed.
        let (_c1, mut s1, mut r1) = dial(&ep, &target).await;
        s1.write_all(&body(9, KIND_YSYNC, b"x")).await.unwrap();
        let (code, fatal, msg) = next_error(&mut r1).await;
        assert_eq!(code, ErrorCode::UnsupportedVersion, "{msg}");
        assert!(fatal && msg.contains("version 9"), "{msg}");

        // An oversized length prefix is refused before anything is read.
        let (_c2, mut s2, mut r2) = dial(&ep, &target).await;
        s2.write_all(&(MAX_FRAME_LEN + 1).to_be_bytes()).await.unwrap();
        assert_eq!(next_error(&mut r2).await.0, ErrorCode::TooLarge);

        // As a member, inside a session: every bad frame gets an error and the session goes on.
        let invite = Invite::from_link(&link).unwrap();
        let room_ref: tandem_shared::invite::RoomRef = serde_json::from_value(room.clone()).unwrap();
        let join = tandem_room::policy::sign_statement(
            &key,
            Statement {
                room: room_ref.clone(),
                at_ms: tandem_room::policy::now_ms(),
                body: StatementBody::Join { invite },
            },
        );
        let me = PeerAddr {
            id: tandem_room::identity::key_hex(&key.public()),
            relay: None,
            addrs: vec![],
        };
        let (_c3, mut s3, mut r3) = dial(&ep, &target).await;
        let hello = Frame::Control(Control::Hello(Hello {
            room: room_ref.clone(),
            statements: vec![join],
            addr: me,
        }));
        s3.write_all(&hello.encode().unwrap()).await.unwrap();
        let bad: Vec<(Vec<u8>, ErrorCode)> = vec![
            (body(7, KIND_YSYNC, &[0, 0]), ErrorCode::UnsupportedVersion),
            (body(VERSION, 99, b"??"), ErrorCode::Malformed),
            (body(VERSION, 1, b"{not json"), ErrorCode::Malformed),
            (
                body(VERSION, KIND_YSYNC, &[0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]),
                ErrorCode::Malformed,
            ),
            (body(VERSION, 4, b"not automerge"), ErrorCode::Malformed),
            (
                Frame::Update(SignedUpdate {
                    author: [1; 32],
                    signature: [2; 64],
                    update: vec![0, 0],
                })
                .encode()
                .unwrap(),
                ErrorCode::Malformed,
            ),
        ];
        for (bytes, expected) in bad {
            s3.write_all(&bytes).await.unwrap();
            let (code, fatal, msg) = next_error(&mut r3).await;
            assert_eq!(code, expected, "{msg}");
            assert!(!fatal, "{msg}");
        }
        // Finally an oversized frame inside the session: refused, connection closed.
        s3.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
        let (code, fatal, _) = next_error(&mut r3).await;
        assert_eq!(code, ErrorCode::TooLarge);
        assert!(fatal);
        ep.close().await;
    });

    // The peer is still alive and serving.
    assert!(a.is_running());
    assert!(
        a.status()["refused"].as_u64().unwrap_or(0) >= 7,
        "the in-session refusals are counted"
    );
    let mut b = w.join("b", &link);
    b.wait_text("main.rs", "intact");
    b.insert("main.rs", 6, "!");
    a.cmd(json!({"cmd": "wait_text", "file": "main.rs", "text": "intact!"}));
}
