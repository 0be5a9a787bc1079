//! `tandem-exec audit`, the real binary, over an audit log the node's store wrote: JSON lines,
//! oldest first, filtered by room, requester and time.

use std::process::Command;

use serde_json::Value;
use tandem_exec::store::{AuditEvent, Store};

fn audit(dir: &std::path::Path, args: &[&str]) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem-exec"))
        .arg("audit")
        .arg("--data")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_audit_command_prints_json_lines_filtered_by_room_requester_and_time() {
    let dir = std::env::temp_dir().join(format!("tandem-audit-cli-{}", std::process::id()));
    {
        let store = Store::open(&dir).unwrap();
        for (room, member) in [("room-a", "alice"), ("room-b", "bob")] {
            store
                .audit(AuditEvent::Join {
                    room: room.into(),
                    member: member.into(),
                    role: "candidate".into(),
                })
                .unwrap();
        }
        store
            .audit(AuditEvent::Verdict {
                job_id: "j1".into(),
                requester: "alice".into(),
                tenant: "room-a".into(),
                verdict: tandem_shared::exec::Verdict::Ok,
                tests: None,
            })
            .unwrap();
    }
    let all = audit(&dir, &[]);
    assert_eq!(all.len(), 3);
    assert_eq!(all[0]["event"], "join");
    assert_eq!(all[2]["event"], "verdict");
    let a = audit(&dir, &["--room", "room-a"]);
    assert_eq!(a.len(), 2);
    assert!(a.iter().all(|e| e["room"] == "room-a" || e["tenant"] == "room-a"));
    assert_eq!(audit(&dir, &["--requester", "bob"]).len(), 1);
    assert_eq!(audit(&dir, &["--since", "1h"]).len(), 3);
    assert!(audit(&dir, &["--until", "1h"]).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
