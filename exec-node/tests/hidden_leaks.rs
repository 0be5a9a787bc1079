//! A candidate who wants the hidden tests' inputs, on a real node with real containers.
//!
//! Each submission below encodes the hidden case's input (Two Sum's `target`) into a number the
//! node used to report: the time field of a forged result line, the exit code, the signal, the
//! memory used, the CPU and wall time. None of them may reach anyone: a submission reports
//! per-case verdicts and the overall verdict, and forged result lines change nothing that the
//! program could not have said by returning a value.

mod common;

use common::*;
use tandem_exec::NodeConfig;
use tandem_shared::exec::{PhaseResult, RunEvent, RunRequest, RunResult, TestVerdict, Verdict};

/// Two Sum's hidden targets (problems/bank/two-sum.toml).
const TARGETS: [i64; 5] = [6, -8, 0, 12, 100];

fn submit(lang: &str, code: &str) -> RunRequest {
    RunRequest {
        problem: Some("two-sum".into()),
        submit: true,
        ..req(lang, code)
    }
}

/// A correct Two Sum in Python that first runs `attack` (a Python statement with `i`, the
/// case's index, `target` and `ans`, the right answer, in scope).
fn two_sum_with(attack: &str) -> String {
    format!(
        r#"import json, os, signal, sys, time

class Solution:
    calls = 0

    def twoSum(self, nums, target):
        i = Solution.calls
        Solution.calls += 1
        seen = {{}}
        ans = None
        for j, x in enumerate(nums):
            if target - x in seen:
                ans = [seen[target - x], j]
                break
            seen[x] = j
        {attack}
        return ans
"#
    )
}

/// Submits and returns the result and every event's JSON.
async fn submit_and_watch(node: &tandem_exec::Node, req: &RunRequest) -> (RunResult, Vec<RunEvent>) {
    let mut handle = node.submit(req, "test").expect("submission accepted");
    let mut events = Vec::new();
    let mut result = None;
    while let Some(ev) = handle.events.recv().await {
        if let RunEvent::Finished { result: r } = &ev {
            result = Some((**r).clone());
        }
        let last = matches!(ev, RunEvent::Finished { .. } | RunEvent::Error { .. });
        events.push(ev);
        if last {
            break;
        }
    }
    (result.expect("a finished event"), events)
}

/// What a submission's run phase may say: its verdict, nothing measured.
#[track_caller]
fn assert_run_phase_says_nothing(p: &PhaseResult) {
    assert_eq!(p.exit_code, None, "exit code of a hidden run: {p:?}");
    assert_eq!(p.signal, None, "signal of a hidden run: {p:?}");
    assert_eq!(p.memory_bytes, None, "memory of a hidden run: {p:?}");
    assert_eq!((p.cpu_ms, p.wall_ms), (0, 0), "times of a hidden run: {p:?}");
    assert!(p.stdout.is_empty() && p.stderr.is_empty() && p.output.is_empty());
    if let Some(m) = &p.message {
        assert!(!m.chars().any(|c| c.is_ascii_digit()), "a number in {m:?}");
        assert!(!m.contains("SIG"), "a signal in {m:?}");
    }
}

/// Everything a submission reports, checked for figures the program could choose.
#[track_caller]
fn assert_only_verdicts(result: &RunResult, events: &[RunEvent]) {
    let tests = result.tests.as_ref().expect("a test report");
    assert!(tests.submit);
    for c in &tests.cases {
        assert!(c.hidden);
        assert_eq!(c.time_ms, None, "a hidden case's time left the node: {c:?}");
        assert!(c.input.is_none() && c.expected.is_none() && c.actual.is_none());
    }
    // Cases with the same verdict say the same thing: nothing of the program's choosing.
    for a in &tests.cases {
        for b in &tests.cases {
            if a.verdict == b.verdict {
                assert_eq!(a.message, b.message, "messages differ by case: {tests:?}");
            }
        }
    }
    assert_eq!(result.total_ms, 0, "a submission's duration left the node");
    if let Some(run) = &result.run {
        assert_run_phase_says_nothing(run);
    }
    for ev in events {
        match ev {
            RunEvent::PhaseFinished { result } if result.phase == tandem_shared::exec::Phase::Run => {
                assert_run_phase_says_nothing(result)
            }
            RunEvent::Output { phase, .. } => {
                assert_ne!(*phase, tandem_shared::exec::Phase::Run, "run output of a submission")
            }
            _ => {}
        }
    }
}

fn node_config() -> NodeConfig {
    NodeConfig {
        pool_languages: vec!["python".into()],
        ..NodeConfig::default()
    }
}

/// The attack verified end to end on the old judge: a forged result line per case whose time
/// field is `(target + 777000) * 1000` µs showed every peer the hidden targets as times.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forged_result_lines_cannot_carry_a_hidden_input_in_their_time() {
    let node = node_with(node_config()).await;
    let forge = r#"sys.stdout.write("\n@@tandem@@ %d ok %d %s\n" % (i, (target + 777000) * 1000, json.dumps(ans, separators=(",", ":")))); sys.stdout.flush()"#;
    let (result, events) = submit_and_watch(&node, &submit("python", &two_sum_with(forge))).await;
    let tests = result.tests.clone().expect("a test report");
    assert_eq!(tests.verdict, TestVerdict::Accepted, "{tests:?}");
    let all = serde_json::to_string(&events).unwrap();
    for t in TARGETS {
        let encoded = (t + 777_000).to_string();
        assert!(!all.contains(&encoded), "hidden target {t} left the node as {encoded}");
    }
    assert_only_verdicts(&result, &events);
    finish(node).await;
}

/// Exit code, signal, memory and CPU/wall time of the run phase, each chosen from the first
/// hidden case's target.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exit_code_signal_memory_and_time_of_a_submission_carry_nothing() {
    let node = node_with(node_config()).await;
    let attacks = [
        ("exit code", "os._exit(target + 100)"),
        ("signal", "os.kill(os.getpid(), [signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGABRT][abs(target) % 4])"),
        ("memory", "keep = bytearray((abs(target) + 20) * 2**20); keep[::4096] = b'x' * len(keep[::4096]); os._exit(0)"),
        ("wall time", "time.sleep((abs(target) + 10) / 50); os._exit(0)"),
        ("cpu time", "end = time.process_time() + (abs(target) + 10) / 50\n        while time.process_time() < end: pass\n        os._exit(0)"),
    ];
    for (what, attack) in attacks {
        let (result, events) = submit_and_watch(&node, &submit("python", &two_sum_with(attack))).await;
        let tests = result.tests.clone().expect("a test report");
        assert_ne!(tests.verdict, TestVerdict::Accepted, "{what}: {tests:?}");
        assert_only_verdicts(&result, &events);
        println!("{what}: {:?}", tests.verdict);
    }
    finish(node).await;
}

/// A program chooses its exception's type; for a hidden case the name is no channel either.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hidden_case_s_exception_says_nothing_of_the_program_s_choosing() {
    let node = node_with(node_config()).await;
    let attack = "raise [ValueError, KeyError, IndexError, TypeError, ZeroDivisionError][abs(target) % 5]('x')";
    let (result, events) = submit_and_watch(&node, &submit("python", &two_sum_with(attack))).await;
    let tests = result.tests.clone().expect("a test report");
    assert!(
        tests.cases.iter().all(|c| c.verdict == TestVerdict::RuntimeError),
        "{tests:?}"
    );
    assert_only_verdicts(&result, &events);
    finish(node).await;
}

/// Result lines the program writes ahead for every case, then a crash or a hang: the report
/// must not say accepted for a program that did not end well, and a forged `tle` line (which
/// only the stdio driver writes) must not give a function problem a verdict pattern the
/// program could not produce by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forged_result_lines_cannot_change_a_verdict() {
    let node = node_with(node_config()).await;
    // Reads every case from the harness's frame, answers them all at once, then misbehaves.
    let ahead = |then: &str| {
        two_sum_with(&format!(
            r#"if i == 0:
            lines = sys._getframe(1).f_locals["lines"]
            for k in range(int(lines[0])):
                ns, t = json.loads(lines[1 + 2 * k]), json.loads(lines[2 + 2 * k])
                pos = {{}}
                for j, x in enumerate(ns):
                    if t - x in pos:
                        sys.stdout.write("\n@@tandem@@ %d ok 1 %s\n" % (k, json.dumps([pos[t - x], j], separators=(",", ":"))))
                        break
                    pos[x] = j
            sys.stdout.flush()
            {then}"#
        ))
    };
    for (then, verdict) in [
        ("os._exit(3)", TestVerdict::RuntimeError),
        ("while True: pass", TestVerdict::TimeLimit),
    ] {
        let (result, events) = submit_and_watch(&node, &submit("python", &ahead(then))).await;
        let tests = result.tests.clone().expect("a test report");
        assert_eq!(tests.verdict, verdict, "{then}: {tests:?}");
        assert_only_verdicts(&result, &events);
    }
    // A forged `tle` for the even targets, the right answer for all.
    let tle =
        two_sum_with(r#"if target % 2 == 0: sys.stdout.write("\n@@tandem@@ %d tle 5 null\n" % i); sys.stdout.flush()"#);
    let (result, events) = submit_and_watch(&node, &submit("python", &tle)).await;
    let tests = result.tests.clone().expect("a test report");
    assert_eq!(tests.verdict, TestVerdict::Accepted, "{tests:?}");
    assert_only_verdicts(&result, &events);
    expect_verdict(&result, Verdict::Ok);
    finish(node).await;
}

/// A visible run keeps its detail: the examples are public.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_visible_run_keeps_its_figures() {
    let node = node_with(node_config()).await;
    let mut req = submit("python", &two_sum_with("pass"));
    req.submit = false;
    let result = node.run(&req, "test").await.expect("run accepted");
    let tests = result.tests.clone().expect("a test report");
    assert_eq!(tests.verdict, TestVerdict::Accepted, "{tests:?}");
    assert!(tests.cases.iter().all(|c| c.time_ms.is_some()), "{tests:?}");
    let run = result.run.expect("a run phase");
    assert_eq!(run.exit_code, Some(0));
    assert!(result.total_ms > 0);
    finish(node).await;
}
