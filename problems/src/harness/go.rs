//! Go: a plain function in `solution.go` (package main); the harness is `main.go`, decoding
//! each argument with `encoding/json` into a variable of the parameter's type.

use crate::signature::{Signature, Type};

fn gtype(t: &Type) -> String {
    match t {
        Type::Int => "int".into(),
        Type::Long => "int64".into(),
        Type::Double => "float64".into(),
        Type::Bool => "bool".into(),
        Type::String => "string".into(),
        Type::Array(t) => format!("[]{}", gtype(t)),
    }
}

pub fn starter(s: &Signature) -> String {
    let params: Vec<String> = s
        .params
        .iter()
        .map(|p| format!("{} {}", p.name, gtype(&p.ty)))
        .collect();
    format!(
        "package main\n\nfunc {}({}) {} {{\n\t\n}}\n",
        s.name,
        params.join(", "),
        gtype(&s.returns)
    )
}

pub fn files(s: &Signature, solution: &str) -> Vec<(Option<String>, String)> {
    let mut read = String::new();
    let mut args = Vec::new();
    for (k, p) in s.params.iter().enumerate() {
        read.push_str(&format!(
            "\t\tvar a{k} {}\n\t\tif err := json.Unmarshal([]byte(tandemLine(r)), &a{k}); err != nil {{\n\t\t\tpanic(err)\n\t\t}}\n",
            gtype(&p.ty)
        ));
        args.push(format!("a{k}"));
    }
    let main = format!(
        r#"package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func tandemLine(r *bufio.Reader) string {{
	s, _ := r.ReadString('\n')
	return strings.TrimRight(s, "\r\n")
}}

func tandemCall(f func() any) (line string) {{
	t0 := time.Now()
	defer func() {{
		if e := recover(); e != nil {{
			msg := fmt.Sprint(e)
			if len(msg) > 300 {{
				msg = msg[:300]
			}}
			b, _ := json.Marshal([]string{{"panic", msg}})
			line = fmt.Sprintf("err %d %s", time.Since(t0).Microseconds(), b)
		}}
	}}()
	res := f()
	us := time.Since(t0).Microseconds()
	b, err := json.Marshal(res)
	if err != nil {{
		b, _ = json.Marshal([]string{{"json", err.Error()}})
		return fmt.Sprintf("err %d %s", us, b)
	}}
	return fmt.Sprintf("ok %d %s", us, b)
}}

func main() {{
	r := bufio.NewReaderSize(os.Stdin, 1<<20)
	n, _ := strconv.Atoi(strings.TrimSpace(tandemLine(r)))
	for i := 0; i < n; i++ {{
{read}		line := tandemCall(func() any {{ return {name}({args}) }})
		os.Stdout.WriteString(fmt.Sprintf("\n@@tandem@@ %d %s\n", i, line))
	}}
}}
"#,
        name = s.name,
        args = args.join(", ")
    );
    vec![
        (Some("main.go".into()), main),
        (Some("solution.go".into()), solution.to_string()),
    ]
}
