//! JavaScript: a plain function; the harness is appended to the candidate's file, so line
//! numbers in stack traces are the candidate's own. A `long` may be returned as a BigInt
//! (printed exactly); `long` arguments arrive as numbers (exact up to 2^53).

use crate::signature::{Signature, Type};

fn jsdoc(t: &Type) -> String {
    match t {
        Type::Int | Type::Long | Type::Double => "number".into(),
        Type::Bool => "boolean".into(),
        Type::String => "string".into(),
        Type::Array(t) => format!("{}[]", jsdoc(t)),
    }
}

pub fn starter(s: &Signature) -> String {
    let mut out = String::from("/**\n");
    for p in &s.params {
        out.push_str(&format!(" * @param {{{}}} {}\n", jsdoc(&p.ty), p.name));
    }
    out.push_str(&format!(" * @return {{{}}}\n */\n", jsdoc(&s.returns)));
    let names: Vec<&str> = s.params.iter().map(|p| p.name.as_str()).collect();
    out.push_str(&format!("function {}({}) {{\n\n}}\n", s.name, names.join(", ")));
    out
}

pub fn files(s: &Signature, solution: &str) -> Vec<(Option<String>, String)> {
    let harness = format!(
        r#"
;(function () {{
  const enc = (v) =>
    typeof v === "bigint" ? v.toString() : Array.isArray(v) ? "[" + v.map(enc).join(",") + "]" : JSON.stringify(v === undefined ? null : v);
  const lines = require("fs").readFileSync(0, "utf8").split("\n");
  const n = parseInt(lines[0], 10);
  let pos = 1;
  for (let i = 0; i < n; i++) {{
    const args = [];
    for (let k = 0; k < {k}; k++) args.push(JSON.parse(lines[pos + k]));
    pos += {k};
    const t0 = process.hrtime.bigint();
    let line;
    try {{
      const r = {name}(...args);
      const us = Number((process.hrtime.bigint() - t0) / 1000n);
      line = "ok " + us + " " + enc(r);
    }} catch (e) {{
      const us = Number((process.hrtime.bigint() - t0) / 1000n);
      const type = e && e.constructor ? e.constructor.name : "Error";
      line = "err " + us + " " + JSON.stringify([type, String(e && e.message !== undefined ? e.message : e).slice(0, 300)]);
    }}
    process.stdout.write("\n@@tandem@@ " + i + " " + line + "\n");
  }}
}})();
"#,
        k = s.params.len(),
        name = s.name
    );
    vec![(Some("main.js".into()), format!("{solution}\n{harness}"))]
}
