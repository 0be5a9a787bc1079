//! The problem bank through the room, end to end: a real `tandem-exec` with an operator's
//! problem directory, real room peers (`tt-peer` processes), real QUIC. An interviewer chooses
//! the problem (everyone's document gets the statement), a candidate cannot; the candidate
//! submits, everybody sees the verdicts, and neither the candidate's run messages nor its
//! on-disk store ever hold a hidden test (a unique marker in the hidden input is searched for
//! in the candidate's data directory, byte for byte).

mod common;

use common::*;
use serde_json::{json, Value};

const MARKER: &str = "HIDDEN-c0ffee-9d1b";

fn problem_file() -> String {
    format!(
        r#"
title = "Shout"
difficulty = "easy"
tags = ["string"]
kind = "function"
statement = "Return `s` in upper case."
constraints = "- `1 <= s.length <= 100`"

[function]
name = "shout"
params = ["s: string"]
returns = "string"

[[examples]]
input = ["hello"]
output = "HELLO"

[[tests]]
input = ["{marker}"]
output = "{upper}"

[[tests]]
input = ["abc"]
output = "ABC"

[solutions]
python = "class Solution:\n    def shout(self, s):\n        return s.upper()\n"
javascript = "function shout(s) {{ return s.toUpperCase(); }}\n"
java = "class Solution {{ public String shout(String s) {{ return s.toUpperCase(); }} }}\n"
cpp = "class Solution {{ public: string shout(string s) {{ for (auto& c : s) c = toupper(c); return s; }} }};\n"
go = "package main\n\nimport \"strings\"\n\nfunc shout(s string) string {{ return strings.ToUpper(s) }}\n"
"#,
        marker = MARKER,
        upper = MARKER.to_uppercase()
    )
}

fn wait_connected(p: &mut Peer) {
    eventually("the peer to connect to the execution node", || {
        p.cmd(json!({"cmd": "exec_status"}))["status"]["connected"] == json!(true)
    });
}

/// Every byte of every file under `dir`.
fn all_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(all_bytes(&p));
        } else if let Ok(b) = std::fs::read(&p) {
            out.extend(b);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn interviewer_chooses_the_problem_and_a_submission_never_brings_hidden_tests_to_the_candidate() {
    let mut w = World::new();
    let mut a = w.create("ana");
    let bank = w.dir("bank");
    std::fs::write(bank.join("shout.toml"), problem_file()).unwrap();
    let node_dir = w.dir("exec");
    let node = ExecNode::start(
        EXEC,
        &node_dir,
        &[&a.id],
        &format!("problems_dir = {:?}", bank.display().to_string()),
    )
    .expect("exec node");
    let (inv_b, _) = a.invite("candidate", true, 3600);
    let mut b = w.join("bo", &inv_b);
    let candidate_dir = w.dirs.last().unwrap().path().to_path_buf();
    a.cmd(json!({"cmd": "set_exec_node", "ticket": node.ticket}));
    wait_connected(&mut a);
    wait_connected(&mut b);

    // The list comes from the node: the operator's directory, nothing else.
    let list = b.cmd(json!({"cmd": "problems"}));
    assert_eq!(
        list["problems"],
        json!([{"id": "shout", "title": "Shout", "difficulty": "easy", "tags": ["string"], "kind": "function"}])
    );

    // A candidate cannot choose the room's problem.
    let err = b
        .try_cmd(json!({"cmd": "choose_problem", "id": "shout"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("only an interviewer"), "{err}");
    let err = a
        .try_cmd(json!({"cmd": "choose_problem", "id": "nope"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not in this node's bank"), "{err}");

    // The interviewer can: statement and examples appear in everyone's document.
    let chosen = a.cmd(json!({"cmd": "choose_problem", "id": "shout"}));
    assert_eq!(chosen["problem"]["signature"], "shout(s: string) -> string");
    assert!(chosen["problem"]["starter"]["python"]
        .as_str()
        .unwrap()
        .contains("def shout(self, s: str) -> str"));
    eventually("the statement in the candidate's document", || {
        let p = b.cmd(json!({"cmd": "problem"}));
        p["statement"]
            .as_str()
            .is_some_and(|s| s.contains("# Shout") && s.contains("hello"))
            && p["problem"]["id"] == "shout"
    });

    // Run: the visible example, with its data, to everyone.
    let code = "class Solution:\n    def shout(self, s):\n        print(s)\n        return s.lower()\n";
    let r = b.cmd(json!({"cmd": "run", "language": "python", "code": code, "problem": "shout", "kind": "run", "wait": true, "timeout_ms": 80000}));
    let msgs = r["messages"].as_array().unwrap();
    let tests = &msgs.last().unwrap()["result"]["tests"];
    assert_eq!(tests["verdict"], "wrong_answer", "{tests}");
    assert_eq!(tests["cases"][0]["expected"], "\"HELLO\"");
    assert_eq!(tests["cases"][0]["actual"], "\"hello\"");

    // Submit: hidden tests, judged on the node. The program prints its input and raises with
    // it; none of that may reach anyone.
    let leak = format!(
        "import sys\nclass Solution:\n    def shout(self, s):\n        print(s)\n        print(s, file=sys.stderr)\n        if s.startswith('{}'):\n            raise ValueError(s)\n        return s.upper()\n",
        &MARKER[..6]
    );
    let r = b.cmd(json!({"cmd": "run", "language": "python", "code": leak, "problem": "shout", "kind": "submit", "wait": true, "timeout_ms": 80000}));
    let run_id = r["run_id"].as_str().unwrap().to_string();
    let msgs: Vec<Value> = r["messages"].as_array().unwrap().clone();
    let last = msgs.last().unwrap();
    assert_eq!(last["type"], "finished");
    let tests = &last["result"]["tests"];
    assert_eq!(tests["submit"], true);
    assert_eq!(tests["cases"][0]["verdict"], "runtime_error");
    assert_eq!(tests["cases"][0]["message"], "runtime error");
    assert_eq!(tests["cases"][1]["verdict"], "accepted");
    assert_eq!(tests["passed"], 1);
    assert_eq!(tests["total"], 2);
    let seen = serde_json::to_string(&msgs).unwrap();
    assert!(
        !seen.contains(&MARKER[..12]),
        "hidden input in the candidate's run messages: {seen}"
    );
    assert!(
        !seen.contains(&MARKER.to_uppercase()[..12]),
        "hidden output in the run messages"
    );

    // The interviewer got the same verdicts from the node.
    let ra = a.cmd(json!({"cmd": "run_log", "run_id": run_id, "wait": true, "timeout_ms": 80000}));
    assert_eq!(
        ra["messages"].as_array().unwrap().last().unwrap()["result"]["tests"],
        *tests
    );

    // A correct submission is accepted.
    let good = "class Solution:\n    def shout(self, s):\n        return s.upper()\n";
    let r = b.cmd(json!({"cmd": "run", "language": "go", "code": "package main\n\nimport \"strings\"\n\nfunc shout(s string) string { return strings.ToUpper(s) }\n", "problem": "shout", "kind": "submit", "wait": true, "timeout_ms": 80000}));
    assert_eq!(
        r["messages"].as_array().unwrap().last().unwrap()["result"]["tests"]["verdict"],
        "accepted"
    );
    let r = b.cmd(json!({"cmd": "run", "language": "python", "code": good, "problem": "shout", "kind": "submit", "wait": true, "timeout_ms": 80000}));
    assert_eq!(
        r["messages"].as_array().unwrap().last().unwrap()["result"]["tests"]["verdict"],
        "accepted"
    );

    // The run history is written (and the store flushed) before the candidate's bytes are read.
    eventually("three submissions and a run in the candidate's history", || {
        b.cmd(json!({"cmd": "run_history"}))["history"]
            .as_array()
            .is_some_and(|h| h.len() == 4)
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let bytes = all_bytes(&candidate_dir);
    assert!(!bytes.is_empty());
    assert!(
        contains(&bytes, "Shout"),
        "the candidate's store holds the room (sanity check of the search)"
    );
    assert!(
        !contains(&bytes, MARKER),
        "a hidden test input is in the candidate's store"
    );
    assert!(
        !contains(&bytes, &MARKER.to_uppercase()),
        "a hidden expected value is in the candidate's store"
    );
}
