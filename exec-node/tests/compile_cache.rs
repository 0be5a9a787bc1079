//! The compile cache with real compilers: a second run of the same source skips compiling,
//! and a program cannot poison the cached build.

mod common;

use common::*;
use tandem_shared::exec::Verdict;

async fn compiled_twice(lang: &str, code: &str, expect: &str) {
    let (node, dir) = node_with_cache().await;
    let first = run_code(&node, lang, code).await;
    expect_verdict(&first, Verdict::Ok);
    assert_eq!(stdout(&first), expect);
    let compile = first.compile.as_ref().unwrap();
    assert!(compile.message.is_none(), "first run compiles: {compile:?}");
    // The build is stored off the run's path; give it a moment.
    let mut second = None;
    for _ in 0..50 {
        let r = run_code(&node, lang, code).await;
        let cached = r
            .compile
            .as_ref()
            .and_then(|c| c.message.as_deref())
            .is_some_and(|m| m.starts_with("cached build"));
        if cached {
            second = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let second = second.expect("a re-run of the same source used the cached build");
    expect_verdict(&second, Verdict::Ok);
    assert_eq!(stdout(&second), expect);
    // A different source is a different build.
    let other = run_code(&node, lang, &code.replace("cached", "fresh")).await;
    assert!(other.compile.as_ref().unwrap().message.is_none());
    assert_eq!(stdout(&other), expect.replace("cached", "fresh"));
    finish(node).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn cpp_build_is_cached() {
    compiled_twice(
        "cpp",
        "#include <cstdio>\nint main() { std::puts(\"cached\"); }",
        "cached\n",
    )
    .await;
}

#[tokio::test]
async fn go_build_is_cached() {
    compiled_twice(
        "go",
        "package main\nimport \"fmt\"\nfunc main() { fmt.Println(\"cached\") }",
        "cached\n",
    )
    .await;
}

#[tokio::test]
async fn java_build_is_cached() {
    compiled_twice(
        "java",
        "public class Hello { public static void main(String[] a) { System.out.println(\"cached\"); } }",
        "cached\n",
    )
    .await;
}

#[tokio::test]
async fn a_program_cannot_poison_the_cached_build() {
    let (node, dir) = node_with_cache().await;
    // Replaces its own binary with a script that prints something else.
    let code = r##"
#include <cstdio>
int main() {
    std::FILE* f = std::fopen("evil", "w");
    std::fputs("#!/bin/sh\necho poisoned\n", f);
    std::fclose(f);
    std::rename("evil", "main");
    std::puts("honest");
}
"##;
    for _ in 0..5 {
        let r = run_code(&node, "cpp", code).await;
        expect_verdict(&r, Verdict::Ok);
        assert_eq!(stdout(&r), "honest\n");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    finish(node).await;
    let _ = std::fs::remove_dir_all(dir);
}
