//! Every language: hello world, stdin echo, its starter template, a runtime error with its
//! exit code, and (compiled languages) a compile error. Real containers.

mod common;

use common::*;
use tandem_shared::exec::Verdict;
use tandem_shared::language::Manifest;

struct Case {
    lang: &'static str,
    hello: &'static str,
    echo: &'static str,
    exit3: &'static str,
    broken: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        lang: "javascript",
        hello: r#"console.log("Hello, World!");"#,
        echo: r#"process.stdout.write(require("fs").readFileSync(0, "utf8").toUpperCase());"#,
        exit3: r#"console.error("bye"); process.exit(3);"#,
        broken: None,
    },
    Case {
        lang: "python",
        hello: r#"print("Hello, World!")"#,
        echo: "import sys\nsys.stdout.write(sys.stdin.read().upper())",
        exit3: "import sys\nprint('bye', file=sys.stderr)\nsys.exit(3)",
        broken: None,
    },
    Case {
        lang: "java",
        hello: "public class Main { public static void main(String[] a) { System.out.println(\"Hello, World!\"); } }",
        echo: "import java.io.*;\npublic class Echo { public static void main(String[] a) throws IOException {\n  String s = new String(System.in.readAllBytes());\n  System.out.print(s.toUpperCase());\n} }",
        exit3: "public class Main { public static void main(String[] a) { System.err.println(\"bye\"); System.exit(3); } }",
        broken: Some("public class Main { public static void main(String[] a) { int x = \"nope\"; } }"),
    },
    Case {
        lang: "cpp",
        hello: "#include <iostream>\nint main() { std::cout << \"Hello, World!\" << std::endl; }",
        echo: "#include <iostream>\n#include <string>\n#include <cctype>\nint main() { std::string s; char c; while (std::cin.get(c)) s += std::toupper(c); std::cout << s; }",
        exit3: "#include <cstdio>\nint main() { std::fprintf(stderr, \"bye\\n\"); return 3; }",
        broken: Some("int main() { return undefined_name; }"),
    },
    Case {
        lang: "go",
        hello: "package main\nimport \"fmt\"\nfunc main() { fmt.Println(\"Hello, World!\") }",
        echo: "package main\nimport (\"io\"; \"os\"; \"strings\")\nfunc main() { b, _ := io.ReadAll(os.Stdin); os.Stdout.WriteString(strings.ToUpper(string(b))) }",
        exit3: "package main\nimport (\"fmt\"; \"os\")\nfunc main() { fmt.Fprintln(os.Stderr, \"bye\"); os.Exit(3) }",
        broken: Some("package main\nfunc main() { var x int = \"nope\" }"),
    },
];

async fn check_language(c: &Case) {
    let node = node().await;
    let r = run_code(&node, c.lang, c.hello).await;
    expect_verdict(&r, Verdict::Ok);
    assert_eq!(stdout(&r), "Hello, World!\n", "{}", c.lang);

    let mut echo = req(c.lang, c.echo);
    echo.stdin = "tandem echo\nline two\n".into();
    let r = run(&node, &echo).await;
    expect_verdict(&r, Verdict::Ok);
    assert_eq!(stdout(&r), "TANDEM ECHO\nLINE TWO\n", "{}", c.lang);

    let template = &Manifest::bundled().find(c.lang).unwrap().template.clone();
    let r = run_code(&node, c.lang, template).await;
    expect_verdict(&r, Verdict::Ok);
    assert_eq!(stdout(&r), "Hello, Tandem!\n", "{} template", c.lang);

    let r = run_code(&node, c.lang, c.exit3).await;
    expect_verdict(&r, Verdict::RuntimeError);
    let p = r.run.as_ref().unwrap();
    assert_eq!(p.exit_code, Some(3), "{}", c.lang);
    assert!(p.stderr.contains("bye"), "{}: {p:?}", c.lang);

    if let Some(broken) = c.broken {
        let r = run_code(&node, c.lang, broken).await;
        expect_verdict(&r, Verdict::CompileError);
        assert!(r.run.is_none(), "a program that does not compile is not run");
        let comp = r.compile.as_ref().unwrap();
        assert!(
            !comp.stderr.is_empty() || !comp.stdout.is_empty(),
            "compiler said nothing: {comp:?}"
        );
    }
    assert_no_leftovers(&node).await;
    finish(node).await;
}

#[tokio::test]
async fn javascript_runs() {
    check_language(&CASES[0]).await;
}

#[tokio::test]
async fn python_runs() {
    check_language(&CASES[1]).await;
}

#[tokio::test]
async fn java_runs_even_when_the_public_class_is_not_main() {
    check_language(&CASES[2]).await;
}

#[tokio::test]
async fn cpp_runs() {
    check_language(&CASES[3]).await;
}

#[tokio::test]
async fn go_runs() {
    check_language(&CASES[4]).await;
}

#[tokio::test]
async fn program_arguments_reach_the_program() {
    let node = node().await;
    let mut r = req("python", "import sys\nprint(sys.argv[1:])");
    r.args = vec!["a b".into(), "--x".into()];
    let res = run(&node, &r).await;
    expect_verdict(&res, Verdict::Ok);
    assert_eq!(stdout(&res), "['a b', '--x']\n");
    finish(node).await;
}

#[tokio::test]
async fn output_streams_while_the_program_runs() {
    let node = node().await;
    let code = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.3)\n";
    let mut h = node.submit(&req("python", code), "test").unwrap();
    let mut chunks = Vec::new();
    while let Some(ev) = h.events.recv().await {
        match ev {
            tandem_shared::exec::RunEvent::Output { seq, data, .. } => {
                chunks.push((seq, data, std::time::Instant::now()))
            }
            tandem_shared::exec::RunEvent::Finished { result } => {
                expect_verdict(&result, Verdict::Ok);
                break;
            }
            _ => {}
        }
    }
    let text: String = chunks.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(text, "0\n1\n2\n");
    assert!(chunks.len() >= 3, "lines arrived as separate chunks: {chunks:?}");
    assert!(
        chunks.windows(2).all(|w| w[1].0 == w[0].0 + 1),
        "sequence numbers count up"
    );
    finish(node).await;
}

#[tokio::test]
async fn a_pooled_javascript_sandbox_has_node_already_started() {
    let node = node_with(tandem_exec::NodeConfig {
        pool_languages: vec!["javascript".into()],
        ..tandem_exec::NodeConfig::default()
    })
    .await;
    // Wait until a pre-started sandbox is waiting, and let it wait a little.
    for _ in 0..300 {
        if !node.idle_sandboxes().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!node.idle_sandboxes().is_empty(), "the pool never filled");
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let r = run_code(&node, "javascript", "console.log(Math.round(process.uptime() * 1000));").await;
    expect_verdict(&r, Verdict::Ok);
    let uptime_ms: u64 = stdout(&r).trim().parse().unwrap();
    let wall_ms = r.run.as_ref().unwrap().wall_ms;
    // Node was running before the job arrived: it is older than the run itself.
    assert!(
        uptime_ms > wall_ms + 200,
        "node started with the job: uptime {uptime_ms} ms, run {wall_ms} ms"
    );
    finish(node).await;
}

#[tokio::test]
async fn a_watcher_joining_mid_run_receives_everything_in_order() {
    use futures_util::StreamExt;
    let node = node().await;
    let code = "import time\nfor i in range(20):\n    print(i, flush=True)\n    time.sleep(0.05)\n";
    let mut h = node.submit(&req("python", code), "test").unwrap();
    let mut seen = Vec::new();
    let mut late = None;
    while let Some(ev) = h.events.recv().await {
        let is_output = matches!(ev, tandem_shared::exec::RunEvent::Output { .. });
        let done = matches!(ev, tandem_shared::exec::RunEvent::Finished { .. });
        seen.push(ev);
        if is_output && late.is_none() {
            // Somebody starts watching after the run printed its first line.
            late = Some(tokio::spawn(node.watch(&h.job_id).unwrap().collect::<Vec<_>>()));
        }
        if done {
            break;
        }
    }
    let watched = late.expect("the run printed").await.unwrap();
    assert_eq!(watched, seen, "the late watcher saw the same run");
    assert!(node.watch("no-such-job").is_none());
    finish(node).await;
}
