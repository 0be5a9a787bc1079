//! The problem bank on a real node with real containers: every bundled reference solution
//! passes its own hidden tests in all five languages, wrong solutions get the right verdicts,
//! and nothing of a hidden test leaves the node.

mod common;

use common::*;
use tandem_exec::NodeConfig;
use tandem_shared::exec::{RunEvent, RunRequest, SourceFile, TestReport, TestVerdict, Verdict};

const LANGS: [&str; 5] = ["javascript", "python", "java", "cpp", "go"];

fn problem_req(problem: &str, lang: &str, code: &str, submit: bool) -> RunRequest {
    RunRequest {
        language: lang.into(),
        files: vec![SourceFile {
            name: None,
            content: code.into(),
            ..Default::default()
        }],
        limits: tandem_shared::exec::LimitsRequest {
            compile_wall_ms: Some(30_000),
            compile_cpu_ms: Some(30_000),
            ..Default::default()
        },
        problem: Some(problem.into()),
        submit,
        ..Default::default()
    }
}

async fn judge(node: &tandem_exec::Node, r: &RunRequest) -> TestReport {
    let result = node.run(r, "test").await.expect("run accepted");
    match result.tests.clone() {
        Some(t) => t,
        None => panic!("no test report: {result:#?}"),
    }
}

fn test_node() -> NodeConfig {
    NodeConfig {
        // Every language gets pre-started sandboxes: this test runs many of each.
        pool_languages: Vec::new(),
        ..NodeConfig::default()
    }
}

/// One submission per problem × language: all the hidden cases of a run share one sandbox and
/// one compile, so this is 13 × 5 runs, not one per case.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_reference_solution_passes_its_hidden_tests_in_every_language() {
    let node = node_with(test_node()).await;
    let problems: Vec<_> = node.bank().problems().to_vec();
    assert!(problems.len() >= 12);
    let mut failures = Vec::new();
    for lang in LANGS {
        // Two at a time: the node's slots, no more (the machine is shared).
        let mut set = tokio::task::JoinSet::new();
        for p in &problems {
            let node = node.clone();
            let id = p.summary.id.clone();
            let code = p.solutions[lang].clone();
            set.spawn(async move {
                let report = judge(&node, &problem_req(&id, lang, &code, true)).await;
                (id, report)
            });
        }
        while let Some(r) = set.join_next().await {
            let (id, report) = r.unwrap();
            let ok = report.verdict == TestVerdict::Accepted && report.passed == report.total && report.total > 0;
            println!(
                "{lang:>10} {id:<40} {:?} {}/{}",
                report.verdict, report.passed, report.total
            );
            if !ok {
                failures.push(format!("{lang} {id}: {report:?}"));
            }
            assert!(report
                .cases
                .iter()
                .all(|c| c.hidden && c.input.is_none() && c.expected.is_none() && c.actual.is_none()));
        }
    }
    assert!(
        failures.is_empty(),
        "reference solutions failed:\n{}",
        failures.join("\n")
    );
    assert_no_leftovers(&node).await;
    finish(node).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn run_shows_the_examples_and_custom_input_and_wrong_solutions_get_their_verdicts() {
    let node = node_with(test_node()).await;

    // Run: visible examples with their data, plus the custom input as one more case.
    let wrong =
        "class Solution:\n    def twoSum(self, nums, target):\n        print('thinking')\n        return [0, 0]\n";
    let mut r = problem_req("two-sum", "python", wrong, false);
    r.stdin = "nums = [1, 5]\ntarget = 6\n".into();
    let result = node.run(&r, "test").await.unwrap();
    let t = result.tests.clone().unwrap();
    assert_eq!(t.verdict, TestVerdict::WrongAnswer);
    assert_eq!(t.cases.len(), 3);
    assert_eq!(t.first_failure, Some(0));
    let first = &t.cases[0];
    assert_eq!(first.verdict, TestVerdict::WrongAnswer);
    assert_eq!(first.input.as_deref(), Some("nums = [2,7,11,15]\ntarget = 9"));
    assert_eq!(first.expected.as_deref(), Some("[0,1]"));
    assert_eq!(first.actual.as_deref(), Some("[0,0]"));
    assert_eq!(t.cases[2].verdict, TestVerdict::Ran);
    assert_eq!(t.cases[2].actual.as_deref(), Some("[0,0]"));
    // The candidate's prints are shown, the harness's lines are not.
    let out = stdout(&result);
    assert!(out.contains("thinking") && !out.contains("@@tandem@@"), "{out:?}");

    // Bad custom input is refused with a sentence before anything runs.
    let mut r = problem_req("two-sum", "python", wrong, false);
    r.stdin = "[1, 2]\n".into();
    let err = node.run(&r, "test").await.err().unwrap().to_string();
    assert!(err.contains("custom input") && err.contains("2 values"), "{err}");
    let err = node
        .run(&problem_req("no-such-problem", "python", wrong, false), "test")
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("no-such-problem"), "{err}");

    // Submit: wrong answer on hidden cases, with nothing of their data.
    let t = judge(&node, &problem_req("two-sum", "python", wrong, true)).await;
    assert_eq!(t.verdict, TestVerdict::WrongAnswer);
    assert!(t
        .cases
        .iter()
        .all(|c| c.hidden && c.actual.is_none() && c.expected.is_none()));
    assert_eq!(t.first_failure, None);

    // Runtime error (an exception on one case; the others still run).
    let boom = "class Solution:\n    def isValid(self, s):\n        if s == '':\n            raise ValueError('empty ' + s)\n        return True\n";
    let t = judge(&node, &problem_req("valid-parentheses", "python", boom, true)).await;
    assert_eq!(t.cases[0].verdict, TestVerdict::RuntimeError);
    // A hidden case says its verdict, never the program's exception (its type is a channel).
    assert_eq!(t.cases[0].message.as_deref(), Some("runtime error"));
    assert_eq!(t.cases[1].verdict, TestVerdict::Accepted);
    assert_eq!(t.verdict, TestVerdict::RuntimeError);

    // A crash (C++ segfault) ends the program: that case is a runtime error, the rest not run.
    let segv = "class Solution {\npublic:\n    int maxSubArray(vector<int>& nums) {\n        if (nums.size() == 3) { volatile int* p = nullptr; *p = 1; }\n        return nums[0] > 4 ? 23 : nums[0];\n    }\n};\n";
    let t = judge(&node, &problem_req("maximum-subarray", "cpp", segv, true)).await;
    assert_eq!(t.cases[0].verdict, TestVerdict::Accepted, "{t:?}");
    assert_eq!(t.cases[1].verdict, TestVerdict::RuntimeError, "{t:?}");
    assert_eq!(t.cases[2].verdict, TestVerdict::NotRun);

    // Compile error: every case says so, and the compiler's output is there to read.
    let broken = "class Solution {\n    public int trap(int[] height) { return height.length }\n}\n";
    let result = node
        .run(&problem_req("trapping-rain-water", "java", broken, true), "test")
        .await
        .unwrap();
    expect_verdict(&result, Verdict::CompileError);
    let t = result.tests.unwrap();
    assert_eq!(t.verdict, TestVerdict::CompileError);
    assert!(t.cases.iter().all(|c| c.verdict == TestVerdict::CompileError));
    assert!(result.compile.unwrap().output.contains("';' expected"));

    // Time limit: an endless loop on the second case.
    let slow = "function climbStairs(n) {\n  if (n === 10) for (;;) {}\n  return n === 1 ? 1 : 0;\n}\n";
    let t = judge(&node, &problem_req("climbing-stairs", "javascript", slow, true)).await;
    assert_eq!(t.cases[0].verdict, TestVerdict::Accepted, "{t:?}");
    assert_eq!(t.cases[1].verdict, TestVerdict::TimeLimit, "{t:?}");
    assert_eq!(t.cases[2].verdict, TestVerdict::NotRun);
    assert_eq!(t.verdict, TestVerdict::TimeLimit);

    // Memory limit.
    let hog = "package main\n\nfunc trap(height []int) int {\n\tvar keep [][]byte\n\tfor {\n\t\tb := make([]byte, 1<<20)\n\t\tfor i := range b {\n\t\t\tb[i] = 1\n\t\t}\n\t\tkeep = append(keep, b)\n\t}\n}\n";
    let t = judge(&node, &problem_req("trapping-rain-water", "go", hog, true)).await;
    assert_eq!(t.cases[0].verdict, TestVerdict::MemoryLimit, "{t:?}");

    // A stdio problem: wrong output on a visible example shows both sides.
    let t = judge(&node, &problem_req("sum-of-numbers", "python", "print(42)\n", false)).await;
    assert_eq!(t.cases[0].verdict, TestVerdict::WrongAnswer);
    assert_eq!(t.cases[0].expected.as_deref(), Some("6\n"));
    assert_eq!(t.cases[0].actual.as_deref(), Some("42\n"));
    assert_no_leftovers(&node).await;
    finish(node).await;
}

/// A program that prints its stdin (the hidden inputs) and every way it could print them:
/// none of it reaches the events, the result or the node's job record.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_submission_cannot_leak_hidden_tests_through_its_output() {
    let dir = std::env::temp_dir().join(format!("tandem-problems-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("echo.toml"), SECRET_PROBLEM).unwrap();
    let node = node_with(NodeConfig {
        problems_dir: Some(dir.clone()),
        ..test_node()
    })
    .await;
    assert_eq!(node.bank().list().len(), 1);
    let leak = "import sys\nclass Solution:\n    def echo(self, s):\n        print(s)\n        print(s, file=sys.stderr)\n        raise RuntimeError(s)\n";
    let mut handle = node.submit(&problem_req("echo", "python", leak, true), "test").unwrap();
    let mut all = String::new();
    while let Some(ev) = handle.events.recv().await {
        all.push_str(&serde_json::to_string(&ev).unwrap());
        if matches!(ev, RunEvent::Finished { .. } | RunEvent::Error { .. }) {
            break;
        }
    }
    assert!(all.contains("\"tests\""), "{all}");
    assert!(!all.contains("HIDDEN-MARKER"), "a hidden input left the node: {all}");
    // An exception named after the input (JavaScript throws any object) reports no name.
    let named = "function echo(s) { console.log(s); throw { constructor: { name: s }, message: s }; }\n";
    let r = node
        .run(&problem_req("echo", "javascript", named, true), "test")
        .await
        .unwrap();
    let t = r.tests.clone().unwrap();
    assert_eq!(t.cases[0].verdict, TestVerdict::RuntimeError);
    assert_eq!(t.cases[0].message.as_deref(), Some("runtime error"));
    let all = serde_json::to_string(&r).unwrap();
    assert!(!all.contains("HIDDEN-MARKER"), "a hidden input left the node: {all}");
    // The same program on a visible run shows its output (the examples are public).
    let r = node
        .run(&problem_req("echo", "python", leak, false), "test")
        .await
        .unwrap();
    assert!(stdout(&r).contains("visible-example"));
    let _ = std::fs::remove_dir_all(&dir);
    finish(node).await;
}

const SECRET_PROBLEM: &str = r#"
title = "Echo"
difficulty = "easy"
kind = "function"
statement = "Return `s`."

[function]
name = "echo"
params = ["s: string"]
returns = "string"

[[examples]]
input = ["visible-example"]
output = "visible-example"

[[tests]]
input = ["HIDDEN-MARKER-7f3a"]
output = "HIDDEN-MARKER-7f3a"

[solutions]
python = "class Solution:\n    def echo(self, s):\n        return s\n"
javascript = "function echo(s) { return s; }\n"
java = "class Solution { public String echo(String s) { return s; } }\n"
cpp = "class Solution { public: string echo(string s) { return s; } };\n"
go = "package main\n\nfunc echo(s string) string { return s }\n"
"#;
