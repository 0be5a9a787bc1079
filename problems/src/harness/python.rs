//! Python: `class Solution` with the method, in `solution.py`; the harness is `main.py`.

use crate::signature::{Signature, Type};

fn hint(t: &Type) -> String {
    match t {
        Type::Int | Type::Long => "int".into(),
        Type::Double => "float".into(),
        Type::Bool => "bool".into(),
        Type::String => "str".into(),
        Type::Array(t) => format!("List[{}]", hint(t)),
    }
}

pub fn starter(s: &Signature) -> String {
    let params: Vec<String> = s
        .params
        .iter()
        .map(|p| format!(", {}: {}", p.name, hint(&p.ty)))
        .collect();
    format!(
        "from typing import List\n\n\nclass Solution:\n    def {}(self{}) -> {}:\n        pass\n",
        s.name,
        params.concat(),
        hint(&s.returns)
    )
}

pub fn files(s: &Signature, solution: &str) -> Vec<(Option<String>, String)> {
    let main = format!(
        r#"import json, sys, time

sys.setrecursionlimit(1000000)
from solution import *


def _tandem_main():
    lines = sys.stdin.buffer.read().decode("utf-8").split("\n")
    n = int(lines[0])
    pos = 1
    out = sys.stdout
    for i in range(n):
        args = [json.loads(lines[pos + k]) for k in range({k})]
        pos += {k}
        t0 = time.perf_counter()
        try:
            r = Solution().{name}(*args)
            us = int((time.perf_counter() - t0) * 1e6)
            line = "ok %d %s" % (us, json.dumps(r, separators=(",", ":")))
        except Exception as e:
            us = int((time.perf_counter() - t0) * 1e6)
            line = "err %d %s" % (us, json.dumps([type(e).__name__, str(e)[:300]]))
        out.write("\n@@tandem@@ %d %s\n" % (i, line))
        out.flush()


_tandem_main()
"#,
        k = s.params.len(),
        name = s.name
    );
    vec![
        (Some("main.py".into()), main),
        (Some("solution.py".into()), solution.to_string()),
    ]
}
