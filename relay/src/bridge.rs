//! The y-websocket bridge: `/yjs/<room-id>?invite=<token>[&client=<token>]`.
//!
//! A browser (or any stock y-websocket client) becomes a participant of the peer-to-peer room:
//! its session gets a room peer of its own in this process ([`crate::sessions`]) that joins with
//! the invite, and the socket is attached to that peer's room as a local client
//! ([`tandem_room::LocalClient`]). So the browser's edits are that member's edits, checked
//! against its role by this peer and again by every other peer; nothing is trusted because it
//! came through the relay.
//!
//! Framing (docs/ui.md): one message per binary frame; types 0 (sync), 1 (awareness), 2 (auth)
//! and 3 (query awareness) are y-protocols and go to the room unchanged; 100 (tandem-run) and
//! 101 (tandem-control) are `varUint(type) ++ varString(JSON)`.
//!
//! Privacy note: the room's code is end-to-end between peers, but a bridged browser's peer runs
//! here, so the relay operator can read the code of every room a web client is in.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use serde_json::{json, Value};
use tandem_room::{Node, Room, RoomError};
use tandem_shared::invite::{Invite, PeerAddr, INVITE_LINK_PREFIX};
use tandem_shared::room::Role;

use crate::metrics;
use crate::runs;
use crate::sessions::{AcquireError, SessionKey, Sessions};

/// Largest frame a browser may send (the room's own frame limit, minus framing). Larger ones
/// close the socket with 1009 and a reason.
pub const MAX_MESSAGE: usize = tandem_room::local::MAX_LOCAL_MESSAGE;
/// What the WebSocket layer reads at most: frames between [`MAX_MESSAGE`] and this are read
/// whole so the refusal can be a clean close frame; beyond it the connection is cut mid-frame.
pub const MAX_WIRE_MESSAGE: usize = 2 * tandem_shared::protocol::MAX_FRAME_LEN as usize;
/// How long joining the room may take before the browser is told to retry.
const JOIN_TIMEOUT: Duration = Duration::from_secs(20);
/// Lifetime of invites created from the browser.
const INVITE_TTL_SECS: u64 = 7 * 24 * 3600;

pub const MSG_RUN: u64 = 100;
pub const MSG_CONTROL: u64 = 101;
/// Close codes (docs/ui.md, "Refusal"); y-websocket does not reconnect on 44xx.
pub const CLOSE_INVALID_INVITE: u16 = 4401;
pub const CLOSE_REVOKED: u16 = 4403;
const CLOSE_TRY_AGAIN: u16 = 1013;
const CLOSE_TOO_BIG: u16 = 1009;

/// What a socket was opened with.
pub struct Request {
    pub room_id: String,
    pub invite: Option<String>,
    pub client: Option<String>,
    /// `http(s)://host` the browser used, for invite links.
    pub origin: String,
}

/// Accepts the invite as the bare token (the base64 part of `tandem://join/<token>`) or the
/// whole link (URL-encoded in the query, already decoded here).
pub fn parse_invite(raw: &str) -> Result<Invite, String> {
    let raw = raw.trim();
    // A link encoded once more than needed (`tandem%3A%2F%2Fjoin%2F…`).
    let decoded;
    let raw = if raw.len() > 9 && raw[..9].eq_ignore_ascii_case("tandem%3a") {
        decoded = percent_decode(raw);
        decoded.as_str()
    } else {
        raw
    };
    let link = if raw.starts_with(INVITE_LINK_PREFIX) {
        raw.to_string()
    } else {
        format!("{INVITE_LINK_PREFIX}{raw}")
    };
    Invite::from_link(&link).map_err(|e| format!("invalid invite: {e}"))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The web link for an invite, served by this relay.
pub fn web_link(origin: &str, invite: &Invite) -> String {
    let link = invite.to_link();
    let token = link.strip_prefix(INVITE_LINK_PREFIX).unwrap_or(&link);
    format!(
        "{}/room/{}?invite={token}",
        origin.trim_end_matches('/'),
        invite.body.room.id
    )
}

async fn close(mut ws: WebSocket, code: u16, reason: &str) {
    // Close reasons are limited to 123 bytes.
    let mut reason = reason.to_string();
    while reason.len() > 120 {
        reason.pop();
    }
    let _ = ws
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
    // Let the close frame leave before the socket is dropped.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(Ok(_)) = ws.recv().await {}
    })
    .await;
}

fn read_var_uint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn write_var_uint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// `varUint(type) ++ varString(json)`.
pub fn encode_json(kind: u64, body: &Value) -> Vec<u8> {
    let s = body.to_string();
    let mut out = Vec::with_capacity(s.len() + 8);
    write_var_uint(&mut out, kind);
    write_var_uint(&mut out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
    out
}

/// The JSON body of a type 100/101 frame (after the type).
pub(crate) fn decode_json(rest: &[u8]) -> Option<Value> {
    let (len, n) = read_var_uint(rest)?;
    let body = rest.get(n..n.checked_add(usize::try_from(len).ok()?)?)?;
    serde_json::from_slice(body).ok()
}

/// The `policy` control message for member `you`.
fn policy_message(room: &Room, you: &str) -> Value {
    let members: Vec<Value> = room
        .members()
        .into_iter()
        .map(|m| {
            let mut v = json!({
                "member": m.key,
                "role": m.role.as_str(),
                "read_only": m.role != Role::Spectator && !m.can_edit,
            });
            if m.revoked {
                v["revoked"] = json!(true);
            }
            v
        })
        .collect();
    json!({ "type": "policy", "you": you, "members": members })
}

/// Runs one socket from upgrade to close.
pub async fn serve(ws: WebSocket, req: Request, sessions: Arc<Sessions>) {
    metrics::BRIDGE_SOCKETS.fetch_add(1, Ordering::Relaxed);
    serve_inner(ws, req, sessions).await;
    metrics::BRIDGE_SOCKETS.fetch_sub(1, Ordering::Relaxed);
}

async fn serve_inner(ws: WebSocket, req: Request, sessions: Arc<Sessions>) {
    let invite = match req.invite.as_deref().map(parse_invite) {
        None => return refuse(ws, CLOSE_INVALID_INVITE, "missing invite").await,
        Some(Err(e)) => return refuse(ws, CLOSE_INVALID_INVITE, &e).await,
        Some(Ok(i)) => i,
    };
    if invite.body.room.id != req.room_id {
        return refuse(ws, CLOSE_INVALID_INVITE, "the invite is for another room").await;
    }
    if let Err(e) = tandem_room::policy::verify_invite_signature(&invite) {
        return refuse(ws, CLOSE_INVALID_INVITE, &format!("forged invite: {e}")).await;
    }
    let key = SessionKey::derive(
        sessions.secret(),
        &req.room_id,
        &invite.body.nonce,
        req.client.as_deref(),
    );
    // An expired invite still lets a returning member in (it is a member already), but a
    // newcomer is refused before a room peer is started for it.
    let expired = invite.body.expires_at.saturating_mul(1000) < tandem_room::policy::now_ms();
    if expired && !sessions.known(&key) {
        let reason = format!("the invite expired at {} (unix seconds)", invite.body.expires_at);
        return refuse(ws, CLOSE_INVALID_INVITE, &reason).await;
    }
    let trusted = sessions.vouched(&req.room_id, &invite.body.issuer);
    let (member, node) = match sessions.acquire(&key, &req.room_id, trusted).await {
        Ok(x) => x,
        Err(e @ (AcquireError::RelayFull(_) | AcquireError::RoomFull(_) | AcquireError::WaitingFull(_))) => {
            tracing::info!(room = %req.room_id, "{e}");
            metrics::BRIDGE_REFUSED.fetch_add(1, Ordering::Relaxed);
            return close(ws, CLOSE_TRY_AGAIN, &e.to_string()).await;
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not start a session peer");
            return close(ws, CLOSE_TRY_AGAIN, "the relay could not start a room peer; retrying").await;
        }
    };
    // The session peer dials the invite's peer through this relay only: an invite names any
    // relay its maker likes, and dialling it would tell that relay this one's address.
    let mut peer = invite.body.peer.clone();
    if peer.relay.as_deref().map(|r| r.trim_end_matches('/')) != Some(sessions.relay_url().trim_end_matches('/')) {
        peer.relay = Some(sessions.relay_url().to_string());
    }
    match join(&node, &invite, &peer).await {
        Ok(room) => {
            let interviewers = room
                .members()
                .into_iter()
                .filter(|m| m.is_admin())
                .map(|m| m.key)
                .collect();
            sessions.admitted(&member, &req.room_id, interviewers).await;
            pump(ws, room, &member, peer, &req.origin).await;
        }
        Err((code, reason)) => {
            if code == CLOSE_TRY_AGAIN {
                close(ws, code, &reason).await;
            } else {
                refuse(ws, code, &reason).await;
            }
        }
    }
    sessions.release(member, node).await;
}

async fn refuse(ws: WebSocket, code: u16, reason: &str) {
    metrics::BRIDGE_REFUSED.fetch_add(1, Ordering::Relaxed);
    tracing::info!(code, reason, "refused a web client");
    close(ws, code, reason).await;
}

/// The session's room: already open (a reload, a second tab), reopened from disk (a member
/// since an earlier visit, whose invite may have expired since), or joined with the invite.
async fn join(node: &Node, invite: &Invite, peer: &PeerAddr) -> Result<Room, (u16, String)> {
    let id = &invite.body.room.id;
    let refusal = |e: RoomError| {
        let msg = e.to_string();
        if msg.contains("was revoked") {
            (CLOSE_REVOKED, "you were revoked from this room".to_string())
        } else if matches!(e, RoomError::Net(_)) {
            (
                CLOSE_TRY_AGAIN,
                "the room's peers are not reachable yet; retrying".to_string(),
            )
        } else {
            (CLOSE_INVALID_INVITE, msg)
        }
    };
    let stored = node.room(id).or_else(|| {
        node.stored_rooms()
            .ok()?
            .into_iter()
            .find(|r| r.id == *id)
            .and_then(|r| node.open(r).ok())
    });
    if let Some(room) = stored {
        let (member, revoked) = room.with_core(|c| {
            let m = c.policy().member(c.me());
            (m.is_some(), m.is_some_and(|m| m.revoked))
        });
        if revoked {
            return Err((CLOSE_REVOKED, "you were revoked from this room".into()));
        }
        if member {
            room.add_known(peer.clone(), true);
            room.wait_admitted(JOIN_TIMEOUT).await.map_err(refusal)?;
            return Ok(room);
        }
    }
    node.join_via(invite, peer.clone(), JOIN_TIMEOUT).await.map_err(refusal)
}

/// Frames both ways until either side ends.
async fn pump(mut ws: WebSocket, room: Room, me: &str, invite_peer: PeerAddr, origin: &str) {
    let mut local = room.attach_local();
    let mut changed = room.subscribe();
    let mut runs = runs::RunBridge::new(&room);
    let mut record = crate::record::RecordBridge::default();
    let mut last_policy = String::new();
    let mut reason: Option<(u16, &str)> = None;
    loop {
        // Policy on connect and whenever it changes; revocation ends the session.
        let policy = policy_message(&room, me);
        let text = policy.to_string();
        if text != last_policy {
            if ws
                .send(Message::Binary(encode_json(MSG_CONTROL, &policy).into()))
                .await
                .is_err()
            {
                break;
            }
            last_policy = text;
        }
        if let Some(state) = record.state_if_changed(&room) {
            let frame = encode_json(crate::record::MSG_RECORD, &state);
            if ws.send(Message::Binary(frame.into())).await.is_err() {
                break;
            }
        }
        if room.with_core(|c| c.policy().member(c.me()).is_some_and(|m| m.revoked)) {
            reason = Some((CLOSE_REVOKED, "you were revoked from this room"));
            break;
        }
        tokio::select! {
            incoming = ws.recv() => match incoming {
                Some(Ok(Message::Binary(bytes))) if bytes.len() > MAX_MESSAGE => {
                    metrics::BRIDGE_MALFORMED.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(len = bytes.len(), "refused an oversized frame from a web client");
                    reason = Some((CLOSE_TOO_BIG, "frame larger than the relay's 8 MiB limit"));
                    break;
                }
                Some(Ok(Message::Binary(bytes))) => {
                    for reply in handle_frame(&room, &local, &mut runs, &record, &bytes, &invite_peer, origin).await {
                        if ws.send(Message::Binary(reply.into())).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {} // text, ping, pong: not part of the protocol
                Some(Err(e)) => {
                    // tungstenite reports an over-long frame here (and broken connections).
                    let text = e.to_string();
                    tracing::info!(error = %text, "web socket error");
                    if text.contains("too long") || text.contains("too big") || text.contains("Space limit") {
                        metrics::BRIDGE_MALFORMED.fetch_add(1, Ordering::Relaxed);
                        reason = Some((CLOSE_TOO_BIG, "frame larger than the relay's 8 MiB limit"));
                    }
                    break;
                }
            },
            out = local.recv() => match out {
                Some(bytes) => {
                    if ws.send(Message::Binary(bytes.into())).await.is_err() {
                        break;
                    }
                }
                None => {
                    reason = Some((CLOSE_TRY_AGAIN, "the room closed or this client fell behind; reconnect"));
                    break;
                }
            },
            Some(msg) = runs.next() => {
                if ws.send(Message::Binary(encode_json(MSG_RUN, &msg).into())).await.is_err() {
                    break;
                }
            }
            Some(reply) = record.next_reply() => {
                if ws.send(Message::Binary(encode_json(crate::record::MSG_RECORD, &reply).into())).await.is_err() {
                    break;
                }
            }
            r = changed.changed() => if r.is_err() { break },
        }
    }
    drop(local);
    if let Some((code, text)) = reason {
        close(ws, code, text).await;
    }
}

/// One binary frame from the client; returns the frames to send back to it.
async fn handle_frame(
    room: &Room,
    local: &tandem_room::LocalClient,
    runs: &mut runs::RunBridge,
    record: &crate::record::RecordBridge,
    bytes: &[u8],
    invite_peer: &PeerAddr,
    origin: &str,
) -> Vec<Vec<u8>> {
    let Some((kind, n)) = read_var_uint(bytes) else {
        metrics::BRIDGE_MALFORMED.fetch_add(1, Ordering::Relaxed);
        return vec![];
    };
    match kind {
        0..=3 => {
            if let Err(e) = local.receive(bytes) {
                // Refused edits (no edit right) and malformed messages: the client keeps its
                // socket; the peers would refuse the same bytes anyway.
                metrics::BRIDGE_MALFORMED.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %e, "refused a message from a web client");
            }
            vec![]
        }
        MSG_RUN => match decode_json(&bytes[n..]) {
            Some(msg) => runs.from_client(msg).iter().map(|m| encode_json(MSG_RUN, m)).collect(),
            None => {
                metrics::BRIDGE_MALFORMED.fetch_add(1, Ordering::Relaxed);
                vec![]
            }
        },
        crate::record::MSG_RECORD => match decode_json(&bytes[n..]) {
            Some(msg) => {
                record.from_client(room, msg);
                vec![]
            }
            None => {
                metrics::BRIDGE_MALFORMED.fetch_add(1, Ordering::Relaxed);
                vec![]
            }
        },
        MSG_CONTROL => match decode_json(&bytes[n..]) {
            Some(msg) => control(room, &msg, invite_peer, origin)
                .into_iter()
                .map(|m| encode_json(MSG_CONTROL, &m))
                .collect(),
            None => {
                metrics::BRIDGE_MALFORMED.fetch_add(1, Ordering::Relaxed);
                vec![]
            }
        },
        _ => {
            metrics::BRIDGE_MALFORMED.fetch_add(1, Ordering::Relaxed);
            vec![]
        }
    }
}

/// Interviewer actions. The session peer signs the statements, so only an interviewer's
/// session can make them, and every peer verifies them.
fn control(room: &Room, msg: &Value, invite_peer: &PeerAddr, origin: &str) -> Option<Value> {
    let request_id = msg.get("request_id").cloned();
    let member = msg.get("member").and_then(Value::as_str).unwrap_or_default();
    let role = |k: &str| msg.get(k).and_then(Value::as_str).and_then(|r| r.parse::<Role>().ok());
    let current = room.members().into_iter().find(|m| m.key == member);
    let result: Result<Option<Value>, String> = match msg.get("type").and_then(Value::as_str) {
        Some("set_role") => match (role("role"), current) {
            (Some(r), Some(m)) => {
                // A candidate keeps its read-only flag across promotions; others get their
                // role's default.
                let can_edit = match r {
                    Role::Candidate if m.role == Role::Candidate => m.can_edit,
                    r => r.edits_by_default(),
                };
                room.set_role(member, r, can_edit)
                    .map(|_| None)
                    .map_err(|e| e.to_string())
            }
            (None, _) => Err("unknown role".into()),
            (_, None) => Err("not a member of this room".into()),
        },
        Some("set_read_only") => match current {
            Some(m) => {
                let ro = msg.get("read_only").and_then(Value::as_bool).unwrap_or(true);
                room.set_role(member, m.role, !ro)
                    .map(|_| None)
                    .map_err(|e| e.to_string())
            }
            None => Err("not a member of this room".into()),
        },
        Some("revoke") => room.revoke(member).map(|_| None).map_err(|e| e.to_string()),
        Some("create_invite") => match role("role") {
            // The invite names the peer this session joined through (a long-lived peer such as
            // the interviewer's app), not this session's peer, which stops when the tab closes.
            Some(r) => room
                .with_core(|c| c.invite(r, r.edits_by_default(), INVITE_TTL_SECS, invite_peer.clone()))
                .map(|inv| {
                    Some(json!({"type": "invite_created", "request_id": request_id, "url": web_link(origin, &inv)}))
                })
                .map_err(|e| e.to_string()),
            None => Err("unknown role".into()),
        },
        _ => Err("unknown control message".into()),
    };
    match result {
        Ok(reply) => reply,
        Err(message) => {
            let mut v = json!({"type": "error", "message": message});
            if let Some(id) = request_id {
                v["request_id"] = id;
            }
            Some(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_frames_round_trip_and_garbage_is_none() {
        let v = json!({"type": "policy", "you": "ü"});
        let b = encode_json(MSG_CONTROL, &v);
        let (kind, n) = read_var_uint(&b).unwrap();
        assert_eq!(kind, MSG_CONTROL);
        assert_eq!(decode_json(&b[n..]), Some(v));
        for bad in [&[][..], &[5, b'{'][..], &[0xff; 12][..], &[2, 0xff, 0xfe][..]] {
            assert_eq!(decode_json(bad), None);
        }
        assert_eq!(read_var_uint(&[0xff; 12]), None);
    }

    #[test]
    fn invites_parse_as_token_or_link() {
        assert!(parse_invite("garbage").is_err());
        assert!(parse_invite("").is_err());
        assert!(parse_invite("tandem://join/!!!").is_err());
        assert!(parse_invite("tandem%3A%2F%2Fjoin%2F!!!").is_err());
        assert_eq!(percent_decode("tandem%3A%2F%2Fjoin%2Fab%zz"), "tandem://join/ab%zz");
    }
}
