//! Runs from the app: the webview asks for a run (`request_run`) or a cancel (`cancel_run`); the
//! room peer sends it to the room's execution node over iroh (`Room::request_run`, rooms crate)
//! and every run message of the room comes back through `Room::run_messages`, which
//! `crate::session::run_session` forwards to the webview as `RoomEvent::Run`.
//!
//! Why the checks here: the request arrives as JSON from the webview (the least trusted part of
//! the app). It is parsed into the run contract's `RunRequest` and bounded before it reaches the
//! room; the execution node still resolves the language, file names and limits itself (and says
//! clearly what is wrong), so the app does not duplicate the node's rules, only refuses what could
//! never be a run.

use tandem_room::Room;
use tandem_shared::exec::RunRequest;
use tandem_shared::room_run::RunKind;

use crate::error::IpcError;

/// Longest request or run id accepted (the UI's ids are ~20 characters, the node's are hex).
pub const MAX_ID_LEN: usize = 128;
/// Largest run request (source files plus stdin plus arguments), in bytes; the execution node
/// has its own, usually smaller, limits.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
/// Most files in one request (the node allows fewer).
pub const MAX_FILES: usize = 64;

/// A request or run id: one printable ASCII token.
pub fn id(what: &str, s: &str) -> Result<String, IpcError> {
    if s.is_empty() || s.len() > MAX_ID_LEN {
        return Err(IpcError::invalid(format!(
            "{what} must be 1 to {MAX_ID_LEN} characters"
        )));
    }
    if !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(IpcError::invalid(format!(
            "{what} must be printable ASCII without spaces"
        )));
    }
    Ok(s.to_string())
}

pub fn kind(s: &str) -> Result<RunKind, IpcError> {
    match s {
        "run" => Ok(RunKind::Run),
        "submit" => Ok(RunKind::Submit),
        other => Err(IpcError::invalid(format!(
            "the run kind must be run or submit, not {other:?}"
        ))),
    }
}

/// The webview's run request, parsed into the run contract and bounded.
pub fn request(v: serde_json::Value) -> Result<RunRequest, IpcError> {
    let r: RunRequest = serde_json::from_value(v).map_err(|e| IpcError::invalid(format!("not a run request: {e}")))?;
    let language = r.language.trim();
    if language.is_empty() || language.len() > 64 || !language.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(IpcError::invalid("the run request needs a language (one short word)"));
    }
    if r.files.is_empty() {
        return Err(IpcError::invalid("the run request has no files"));
    }
    if r.files.len() > MAX_FILES {
        return Err(IpcError::invalid(format!(
            "the run request has {} files (at most {MAX_FILES})",
            r.files.len()
        )));
    }
    let size = r.stdin.len()
        + r.files
            .iter()
            .map(|f| f.content.len() + f.name.as_ref().map_or(0, String::len))
            .sum::<usize>()
        + r.args.iter().map(String::len).sum::<usize>();
    if size > MAX_REQUEST_BYTES {
        return Err(IpcError::invalid(format!(
            "the run request is {size} bytes (at most {MAX_REQUEST_BYTES})"
        )));
    }
    Ok(r)
}

/// Sends the request to the room's execution node; Ok(run id) once the node accepted it.
/// The room names itself in the request (whatever the webview put there).
pub async fn request_run(
    room: &Room,
    request_id: &str,
    request: serde_json::Value,
    kind: &str,
) -> Result<String, IpcError> {
    let request_id = id("the request id", request_id)?;
    let kind = self::kind(kind)?;
    let request = self::request(request)?;
    Ok(room.request_run(&request_id, request, kind).await?)
}

/// Asks the node to cancel a run (the room checks that we started it or are an interviewer).
pub async fn cancel_run(room: &Room, run_id: &str) -> Result<(), IpcError> {
    let run_id = id("the run id", run_id)?;
    Ok(room.cancel_run(&run_id).await?)
}

/// Names the execution node from this app's settings in `room`, when this member is one of its
/// interviewers and the room has no node yet or the node it names was set by this member (the
/// settings changed since). Another interviewer's choice is left alone. Returns whether it set.
pub fn apply_exec_ticket(room: &Room, ticket: Option<&str>) -> Result<bool, IpcError> {
    let Some(ticket) = ticket else { return Ok(false) };
    let (me, admin) = room.with_core(|c| {
        let me = c.me().to_string();
        let admin = c.policy().member(&me).is_some_and(|m| m.is_admin());
        (me, admin)
    });
    if !admin {
        return Ok(false);
    }
    if let Some(current) = room.exec_settings() {
        if current.settings.ticket == ticket || current.signer != me {
            return Ok(false);
        }
    }
    room.set_exec_node(ticket, false, Vec::new())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn py(code: &str) -> serde_json::Value {
        json!({ "language": "python", "files": [{ "name": "main.py", "content": code }] })
    }

    #[test]
    fn ids_are_short_printable_tokens() {
        assert_eq!(id("x", "r-12ab").unwrap(), "r-12ab");
        assert!(id("x", "").is_err());
        assert!(id("x", "a b").is_err());
        assert!(id("x", "a\nb").is_err());
        assert!(id("x", "é").is_err());
        assert!(id("x", &"a".repeat(MAX_ID_LEN + 1)).is_err());
        assert!(id("x", &"a".repeat(MAX_ID_LEN)).is_ok());
    }

    #[test]
    fn kinds_are_exact() {
        assert_eq!(kind("run").unwrap(), RunKind::Run);
        assert_eq!(kind("submit").unwrap(), RunKind::Submit);
        for bad in ["", "Run", "delete", "run "] {
            let e = kind(bad).unwrap_err().to_string();
            assert!(e.contains("run or submit"), "{e}");
        }
    }

    #[test]
    fn a_ui_request_parses_into_the_run_contract() {
        let mut v = py("print(1)");
        v["stdin"] = json!("in");
        v["room"] = json!("forged-room");
        v["limits"] = json!({ "run_wall_ms": 5000 });
        let r = request(v).unwrap();
        assert_eq!(r.language, "python");
        assert_eq!(r.files[0].content, "print(1)");
        assert_eq!(r.stdin, "in");
        assert_eq!(r.limits.run_wall_ms, Some(5000));
    }

    #[test]
    fn malformed_requests_are_clear_errors() {
        let cases = [
            (json!(null), "not a run request"),
            (json!("print(1)"), "not a run request"),
            (json!({ "files": [] }), "not a run request"),
            (json!({ "language": "python", "files": "x" }), "not a run request"),
            (
                json!({ "language": "python", "files": [{ "content": 1 }] }),
                "not a run request",
            ),
            (
                json!({ "language": "python", "files": [], "limits": { "run_wall_ms": -1 } }),
                "not a run request",
            ),
            (
                json!({ "language": "", "files": [{ "content": "x" }] }),
                "needs a language",
            ),
            (
                json!({ "language": "py thon", "files": [{ "content": "x" }] }),
                "needs a language",
            ),
            (json!({ "language": "python", "files": [] }), "no files"),
        ];
        for (v, want) in cases {
            let e = request(v.clone()).unwrap_err().to_string();
            assert!(e.starts_with("invalid input:") && e.contains(want), "{v}: {e}");
        }
    }

    #[test]
    fn oversized_requests_are_refused() {
        let big = "x".repeat(MAX_REQUEST_BYTES + 1);
        let e = request(py(&big)).unwrap_err().to_string();
        assert!(e.contains("at most"), "{e}");
        let mut v = py("print(1)");
        v["stdin"] = json!(big);
        assert!(request(v).is_err());
        let files: Vec<_> = (0..=MAX_FILES)
            .map(|i| json!({ "name": format!("f{i}.py"), "content": "" }))
            .collect();
        let e = request(json!({ "language": "python", "files": files }))
            .unwrap_err()
            .to_string();
        assert!(e.contains("files"), "{e}");
    }
}
