//! Java: `class Solution` in `Solution.java`; the harness is `Main.java` with a small JSON
//! reader and per-type converters and writers generated from the signature.

use crate::signature::{Signature, Type};

fn jtype(t: &Type) -> String {
    match t {
        Type::Int => "int".into(),
        Type::Long => "long".into(),
        Type::Double => "double".into(),
        Type::Bool => "boolean".into(),
        Type::String => "String".into(),
        Type::Array(t) => format!("{}[]", jtype(t)),
    }
}

pub fn starter(s: &Signature) -> String {
    let params: Vec<String> = s
        .params
        .iter()
        .map(|p| format!("{} {}", jtype(&p.ty), p.name))
        .collect();
    format!(
        "import java.util.*;\n\nclass Solution {{\n    public {} {}({}) {{\n        \n    }}\n}}\n",
        jtype(&s.returns),
        s.name,
        params.join(", ")
    )
}

/// `new int[n][]` for an element type `int[]`.
fn new_array(elem: &Type) -> String {
    let e = jtype(elem);
    match e.find('[') {
        Some(i) => format!("new {}[n]{}", &e[..i], &e[i..]),
        None => format!("new {e}[n]"),
    }
}

fn helpers(t: &Type) -> String {
    let m = t.mangled();
    let j = jtype(t);
    match t {
        Type::Array(e) => format!(
            "    static {j} c_{m}(Object o) {{ List<?> l = (List<?>) o; int n = l.size(); {j} r = {new}; for (int i = 0; i < n; i++) r[i] = c_{em}(l.get(i)); return r; }}\n    static void w_{m}(StringBuilder b, {j} x) {{ if (x == null) {{ b.append(\"null\"); return; }} b.append('['); for (int i = 0; i < x.length; i++) {{ if (i > 0) b.append(','); w_{em}(b, x[i]); }} b.append(']'); }}\n",
            new = new_array(e),
            em = e.mangled()
        ),
        _ => String::new(),
    }
}

pub fn files(s: &Signature, solution: &str) -> Vec<(Option<String>, String)> {
    let mut gen = String::new();
    for t in s.types() {
        gen.push_str(&helpers(&t));
    }
    let mut read = String::new();
    let mut args = Vec::new();
    for (k, p) in s.params.iter().enumerate() {
        read.push_str(&format!(
            "            {} a{k} = c_{}(parse(in.readLine()));\n",
            jtype(&p.ty),
            p.ty.mangled()
        ));
        args.push(format!("a{k}"));
    }
    let main = format!(
        r#"import java.io.*;
import java.util.*;

public class Main {{
    static String s;
    static int p;

    static Object parse(String line) {{ s = line; p = 0; return val(); }}
    static void ws() {{ while (p < s.length() && Character.isWhitespace(s.charAt(p))) p++; }}
    static Object val() {{
        ws();
        char c = s.charAt(p);
        if (c == '[') {{
            p++;
            List<Object> l = new ArrayList<>();
            ws();
            if (s.charAt(p) == ']') {{ p++; return l; }}
            while (true) {{ l.add(val()); ws(); char d = s.charAt(p++); if (d == ']') break; }}
            return l;
        }}
        if (c == '"') {{
            p++;
            StringBuilder b = new StringBuilder();
            while (true) {{
                char d = s.charAt(p++);
                if (d == '"') break;
                if (d == '\\') {{
                    char e = s.charAt(p++);
                    switch (e) {{
                        case 'n': b.append('\n'); break;
                        case 't': b.append('\t'); break;
                        case 'r': b.append('\r'); break;
                        case 'b': b.append('\b'); break;
                        case 'f': b.append('\f'); break;
                        case 'u': b.append((char) Integer.parseInt(s.substring(p, p + 4), 16)); p += 4; break;
                        default: b.append(e);
                    }}
                }} else b.append(d);
            }}
            return b.toString();
        }}
        if (s.startsWith("true", p)) {{ p += 4; return Boolean.TRUE; }}
        if (s.startsWith("false", p)) {{ p += 5; return Boolean.FALSE; }}
        if (s.startsWith("null", p)) {{ p += 4; return null; }}
        int st = p;
        while (p < s.length() && "+-0123456789.eE".indexOf(s.charAt(p)) >= 0) p++;
        String num = s.substring(st, p);
        if (num.contains(".") || num.contains("e") || num.contains("E")) return Double.parseDouble(num);
        return Long.parseLong(num);
    }}

    static int c_int(Object o) {{ return (int) ((Number) o).longValue(); }}
    static long c_long(Object o) {{ return ((Number) o).longValue(); }}
    static double c_double(Object o) {{ return ((Number) o).doubleValue(); }}
    static boolean c_bool(Object o) {{ return (Boolean) o; }}
    static String c_string(Object o) {{ return (String) o; }}
    static void w_int(StringBuilder b, int x) {{ b.append(x); }}
    static void w_long(StringBuilder b, long x) {{ b.append(x); }}
    static void w_double(StringBuilder b, double x) {{ b.append(Double.isFinite(x) ? Double.toString(x) : "null"); }}
    static void w_bool(StringBuilder b, boolean x) {{ b.append(x); }}
    static void w_string(StringBuilder b, String x) {{
        if (x == null) {{ b.append("null"); return; }}
        b.append('"');
        for (int i = 0; i < x.length(); i++) {{
            char c = x.charAt(i);
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }}
        b.append('"');
    }}
{gen}
    public static void main(String[] argv) throws Exception {{
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        int n = Integer.parseInt(in.readLine().trim());
        for (int i = 0; i < n; i++) {{
{read}            long t0 = System.nanoTime();
            StringBuilder b = new StringBuilder();
            try {{
                {ret} r = new Solution().{name}({args});
                b.append("ok ").append((System.nanoTime() - t0) / 1000).append(' ');
                w_{rm}(b, r);
            }} catch (Throwable e) {{
                b.setLength(0);
                b.append("err ").append((System.nanoTime() - t0) / 1000).append(" [");
                w_string(b, e.getClass().getSimpleName());
                b.append(',');
                String msg = String.valueOf(e.getMessage());
                w_string(b, msg.length() > 300 ? msg.substring(0, 300) : msg);
                b.append(']');
            }}
            System.out.flush();
            out.print("\n@@tandem@@ " + i + " " + b + "\n");
            out.flush();
        }}
    }}
}}
"#,
        ret = jtype(&s.returns),
        rm = s.returns.mangled(),
        name = s.name,
        args = args.join(", ")
    );
    vec![
        (Some("Main.java".into()), main),
        (Some("Solution.java".into()), solution.to_string()),
    ]
}
