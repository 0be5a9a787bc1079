//! A hostile peer: speaks the room wire protocol over real QUIC to a real peer process, but
//! sends whatever a test tells it to — forged catch-up, record changes under another actor,
//! back-dated claims, floods, foreign relay addresses. Every security property of a room is
//! tested by attacking a real peer with it (rule 3: a rule not checked where data is received
//! does not exist).

use std::time::Duration;

use serde_json::Value;
use tandem_room::iroh::endpoint::{presets, Connection, RecvStream, SendStream};
use tandem_room::iroh::{Endpoint, EndpointAddr, RelayMode, SecretKey, TransportAddr};
use tandem_room::policy::{now_ms, sign_statement};
use tandem_room::wire::{read_frame, Read};
use tandem_shared::invite::{Invite, PeerAddr, RoomRef, SignedStatement, Statement, StatementBody};
use tandem_shared::protocol::{Control, ErrorCode, Frame, Hello, ALPN};

/// How long a hostile peer waits for an answer.
const WAIT: Duration = Duration::from_secs(60);

/// One connection to a real peer, as a (possibly) modified peer.
pub struct Hostile {
    rt: tokio::runtime::Runtime,
    pub key: SecretKey,
    pub room: RoomRef,
    _ep: Endpoint,
    _conn: Connection,
    send: SendStream,
    recv: RecvStream,
    /// The statements in the target's hello (empty if it refused us).
    pub their_statements: Vec<SignedStatement>,
    /// A first frame that was not a hello (the refusal), for `next_frame`.
    first: Option<Frame>,
}

impl Hostile {
    /// Dials the peer described by `target` (a peer's `ready` line: `addr` and `room`) and
    /// sends a hello carrying `statements` plus, if `invite` is given, a join with it.
    pub fn connect(target: &Value, invite: Option<&str>, statements: Vec<SignedStatement>) -> Hostile {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let key = SecretKey::generate();
        let room: RoomRef = serde_json::from_value(target["room"].clone()).expect("room in the ready line");
        let addr = target["addr"].clone();
        let (ep, conn, mut send, recv) = rt.block_on(async {
            let ep = Endpoint::builder(presets::Minimal)
                .secret_key(key.clone())
                .relay_mode(RelayMode::Disabled)
                .clear_ip_transports()
                .bind_addr("127.0.0.1:0")
                .expect("loopback")
                .bind()
                .await
                .expect("an endpoint");
            let id = tandem_room::identity::parse_key(addr["id"].as_str().unwrap()).unwrap();
            let addrs = addr["addrs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| TransportAddr::Ip(a.as_str().unwrap().parse().unwrap()));
            let conn = ep
                .connect(EndpointAddr::from_parts(id, addrs), ALPN)
                .await
                .expect("dial");
            let (send, recv) = conn.open_bi().await.expect("a stream");
            (ep, conn, send, recv)
        });
        let mut all = statements;
        if let Some(link) = invite {
            let invite = Invite::from_link(link).expect("an invite link");
            all.push(sign_statement(
                &key,
                Statement {
                    room: room.clone(),
                    at_ms: now_ms(),
                    body: StatementBody::Join { invite },
                },
            ));
        }
        let hello = Frame::Control(Control::Hello(Hello {
            room: room.clone(),
            statements: all,
            addr: PeerAddr {
                id: tandem_room::identity::key_hex(&key.public()),
                relay: None,
                addrs: vec![],
            },
        }));
        rt.block_on(async { send.write_all(&hello.encode().expect("hello encodes")).await })
            .expect("hello sent");
        let mut me = Hostile {
            rt,
            key,
            room,
            _ep: ep,
            _conn: conn,
            send,
            recv,
            their_statements: Vec::new(),
            first: None,
        };
        match me.next_frame() {
            Some(Frame::Control(Control::Hello(h))) => me.their_statements = h.statements,
            other => me.first = other,
        }
        me
    }

    /// A statement signed by this peer's key, at `at_ms`.
    pub fn sign(&self, at_ms: u64, body: StatementBody) -> SignedStatement {
        sign_statement(
            &self.key,
            Statement {
                room: self.room.clone(),
                at_ms,
                body,
            },
        )
    }

    pub fn send(&mut self, frame: &Frame) {
        let bytes = frame.encode().expect("the frame encodes");
        self.rt
            .block_on(async { self.send.write_all(&bytes).await })
            .expect("frame sent");
    }

    /// The next frame from the peer (`None` if the stream ended or nothing came in time).
    pub fn next_frame(&mut self) -> Option<Frame> {
        if let Some(f) = self.first.take() {
            return Some(f);
        }
        let recv = &mut self.recv;
        self.rt.block_on(async {
            match tokio::time::timeout(WAIT, read_frame(recv)).await {
                Ok(Ok(Some(Read::Frame(f)))) => Some(f),
                _ => None,
            }
        })
    }

    /// Reads until an error frame: its code, whether it was fatal, and its message. Panics if
    /// the stream ends first.
    pub fn next_error(&mut self) -> (ErrorCode, bool, String) {
        loop {
            match self.next_frame() {
                Some(Frame::Control(Control::Error { code, message, fatal })) => return (code, fatal, message),
                Some(_) => continue,
                None => panic!("the peer sent no error frame"),
            }
        }
    }

    /// The yrs client id `member` claimed (bound to its key), from the target's hello.
    pub fn client_id_of(&self, member: &str) -> u64 {
        self.their_statements
            .iter()
            .find_map(|s| match s.statement.body {
                StatementBody::ClientId {
                    client_id,
                    nonce: Some(_),
                } if s.signer == member => Some(client_id),
                _ => None,
            })
            .expect("the member's client id claim")
    }
}
