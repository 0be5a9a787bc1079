//! C++: `class Solution` (LeetCode-style, `vector<int>& nums` parameters are fine). One file:
//! the includes, the candidate's code under `#line 1 "solution.cpp"` (compiler messages point
//! at the candidate's lines), then the harness, whose JSON reading and writing are overloads
//! chosen by the parameter types.

use crate::signature::{Signature, Type};

fn ctype(t: &Type) -> String {
    match t {
        Type::Int => "int".into(),
        Type::Long => "long long".into(),
        Type::Double => "double".into(),
        Type::Bool => "bool".into(),
        Type::String => "string".into(),
        Type::Array(t) => format!("vector<{}>", ctype(t)),
    }
}

fn param(t: &Type) -> String {
    match t {
        Type::Array(_) | Type::String => format!("{}&", ctype(t)),
        _ => ctype(t),
    }
}

pub fn starter(s: &Signature) -> String {
    let params: Vec<String> = s
        .params
        .iter()
        .map(|p| format!("{} {}", param(&p.ty), p.name))
        .collect();
    format!(
        "#include <bits/stdc++.h>\nusing namespace std;\n\nclass Solution {{\npublic:\n    {} {}({}) {{\n        \n    }}\n}};\n",
        ctype(&s.returns),
        s.name,
        params.join(", ")
    )
}

const RUNTIME: &str = r#"
namespace tandem_h {
struct J { int t = 0; long long i = 0; double d = 0; bool b = false; std::string s; std::vector<J> a; };
struct P {
    const std::string& s; size_t p = 0;
    explicit P(const std::string& x) : s(x) {}
    void ws() { while (p < s.size() && isspace((unsigned char)s[p])) p++; }
    J val() {
        ws(); J j;
        if (p >= s.size()) return j;
        char c = s[p];
        if (c == '[') {
            p++; j.t = 5; ws();
            if (p < s.size() && s[p] == ']') { p++; return j; }
            while (p < s.size()) { j.a.push_back(val()); ws(); char d = s[p++]; if (d == ']') break; }
            return j;
        }
        if (c == '"') {
            p++; j.t = 4;
            while (p < s.size()) {
                char d = s[p++];
                if (d == '"') break;
                if (d == '\\') {
                    char e = s[p++];
                    if (e == 'n') j.s += '\n'; else if (e == 't') j.s += '\t'; else if (e == 'r') j.s += '\r';
                    else if (e == 'b') j.s += '\b'; else if (e == 'f') j.s += '\f';
                    else if (e == 'u') { unsigned cp = std::stoul(s.substr(p, 4), nullptr, 16); p += 4;
                        if (cp < 0x80) j.s += (char)cp;
                        else if (cp < 0x800) { j.s += (char)(0xC0 | (cp >> 6)); j.s += (char)(0x80 | (cp & 0x3F)); }
                        else { j.s += (char)(0xE0 | (cp >> 12)); j.s += (char)(0x80 | ((cp >> 6) & 0x3F)); j.s += (char)(0x80 | (cp & 0x3F)); } }
                    else j.s += e;
                } else j.s += d;
            }
            return j;
        }
        if (s.compare(p, 4, "true") == 0) { p += 4; j.t = 3; j.b = true; return j; }
        if (s.compare(p, 5, "false") == 0) { p += 5; j.t = 3; return j; }
        if (s.compare(p, 4, "null") == 0) { p += 4; return j; }
        size_t st = p;
        while (p < s.size() && strchr("+-0123456789.eE", s[p])) p++;
        std::string num = s.substr(st, p - st);
        if (num.find_first_of(".eE") != std::string::npos) { j.t = 2; j.d = std::stod(num); }
        else { j.t = 1; j.i = std::stoll(num); j.d = (double)j.i; }
        return j;
    }
};
inline void conv(const J& j, int& o) { o = (int)j.i; }
inline void conv(const J& j, long long& o) { o = j.i; }
inline void conv(const J& j, double& o) { o = j.t == 2 ? j.d : (double)j.i; }
inline void conv(const J& j, bool& o) { o = j.b; }
inline void conv(const J& j, std::string& o) { o = j.s; }
template <class T> void conv(const J& j, std::vector<T>& o) {
    o.clear();
    for (const J& x : j.a) { T v{}; conv(x, v); o.push_back(v); }
}
inline void wr(std::string& b, int x) { b += std::to_string(x); }
inline void wr(std::string& b, long long x) { b += std::to_string(x); }
inline void wr(std::string& b, double x) {
    if (!std::isfinite(x)) { b += "null"; return; }
    char buf[64]; snprintf(buf, sizeof buf, "%.17g", x); b += buf;
}
inline void wr(std::string& b, bool x) { b += x ? "true" : "false"; }
inline void wr(std::string& b, const std::string& x) {
    b += '"';
    for (unsigned char c : x) {
        if (c == '"' || c == '\\') { b += '\\'; b += (char)c; }
        else if (c < 0x20) { char buf[8]; snprintf(buf, sizeof buf, "\\u%04x", c); b += buf; }
        else b += (char)c;
    }
    b += '"';
}
template <class T> void wr(std::string& b, const std::vector<T>& v) {
    b += '[';
    for (size_t k = 0; k < v.size(); k++) { if (k) b += ','; T x = v[k]; wr(b, x); }
    b += ']';
}
inline void emit(long long i, const std::string& line) {
    std::cout.flush();
    std::string out = "\n@@tandem@@ " + std::to_string(i) + " " + line + "\n";
    fwrite(out.data(), 1, out.size(), stdout);
    fflush(stdout);
}
}  // namespace tandem_h
"#;

pub fn files(s: &Signature, solution: &str) -> Vec<(Option<String>, String)> {
    let mut read = String::new();
    let mut args = Vec::new();
    for (k, p) in s.params.iter().enumerate() {
        read.push_str(&format!(
            "        {} a{k}{{}}; {{ std::string l; std::getline(std::cin, l); tandem_h::P ps(l); tandem_h::conv(ps.val(), a{k}); }}\n",
            ctype(&p.ty)
        ));
        args.push(format!("a{k}"));
    }
    let main = format!(
        r#"#include <bits/stdc++.h>
using namespace std;
#line 1 "solution.cpp"
{solution}
#line 1 "tandem_harness.cpp"
{RUNTIME}
int main() {{
    std::string first;
    std::getline(std::cin, first);
    long long n = std::stoll(first);
    for (long long i = 0; i < n; i++) {{
{read}        auto t0 = std::chrono::steady_clock::now();
        auto us = [&] {{ return (long long)std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count(); }};
        std::string line;
        try {{
            {ret} r = Solution().{name}({args});
            line = "ok " + std::to_string(us()) + " ";
            tandem_h::wr(line, r);
        }} catch (const std::exception& e) {{
            line = "err " + std::to_string(us()) + " [\"exception\",";
            tandem_h::wr(line, std::string(e.what()).substr(0, 300));
            line += "]";
        }} catch (...) {{
            line = "err " + std::to_string(us()) + " [\"exception\",\"unknown exception\"]";
        }}
        tandem_h::emit(i, line);
    }}
    return 0;
}}
"#,
        ret = ctype(&s.returns),
        name = s.name,
        args = args.join(", ")
    );
    vec![(Some("main.cpp".into()), main)]
}
