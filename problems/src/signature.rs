//! The language-neutral signature of a function problem and its types.
//!
//! One signature (`twoSum(nums: int[], target: int) -> int[]`) drives the harness of every
//! language: how each argument is parsed, how the function is called, how its result is
//! printed. Values travel as JSON, one value per line.

use serde_json::Value;

/// A parameter or return type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// 32-bit signed integer.
    Int,
    /// 64-bit signed integer.
    Long,
    Double,
    Bool,
    String,
    Array(Box<Type>),
}

impl Type {
    /// Parses `int`, `long`, `double`, `bool`, `string` followed by any number of `[]`.
    pub fn parse(s: &str) -> Result<Type, String> {
        let s = s.trim();
        if let Some(inner) = s.strip_suffix("[]") {
            return Ok(Type::Array(Box::new(Type::parse(inner)?)));
        }
        match s {
            "int" => Ok(Type::Int),
            "long" => Ok(Type::Long),
            "double" => Ok(Type::Double),
            "bool" | "boolean" => Ok(Type::Bool),
            "string" => Ok(Type::String),
            other => Err(format!(
                "unknown type `{other}` (use int, long, double, bool, string, and `[]` for arrays)"
            )),
        }
    }

    /// The neutral spelling (`int[][]`).
    pub fn neutral(&self) -> String {
        match self {
            Type::Int => "int".into(),
            Type::Long => "long".into(),
            Type::Double => "double".into(),
            Type::Bool => "bool".into(),
            Type::String => "string".into(),
            Type::Array(t) => format!("{}[]", t.neutral()),
        }
    }

    /// An identifier-safe name (`int_a_a`), for generated helper names.
    pub fn mangled(&self) -> String {
        match self {
            Type::Array(t) => format!("{}_a", t.mangled()),
            t => t.neutral(),
        }
    }

    /// Does `v` fit this type? Checked when a problem is loaded and for custom input.
    pub fn accepts(&self, v: &Value) -> bool {
        match (self, v) {
            (Type::Int, Value::Number(n)) => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
            (Type::Long, Value::Number(n)) => n.as_i64().is_some(),
            (Type::Double, Value::Number(_)) => true,
            (Type::Bool, Value::Bool(_)) => true,
            (Type::String, Value::String(_)) => true,
            (Type::Array(t), Value::Array(items)) => items.iter().all(|i| t.accepts(i)),
            _ => false,
        }
    }

    /// Every type this one is made of, innermost first, itself last (for generated helpers).
    pub fn walk(&self, out: &mut Vec<Type>) {
        if let Type::Array(t) = self {
            t.walk(out);
        }
        if !out.contains(self) {
            out.push(self.clone());
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub ty: Type,
}

/// A function problem's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub name: String,
    pub params: Vec<Param>,
    pub returns: Type,
}

fn ident(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_') && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

impl Signature {
    /// Builds a signature from a function name, `name: type` parameters and a return type.
    pub fn new(name: &str, params: &[String], returns: &str) -> Result<Signature, String> {
        if !ident(name) {
            return Err(format!("function name `{name}` is not an identifier"));
        }
        let mut ps = Vec::new();
        for p in params {
            let (n, t) = p
                .split_once(':')
                .ok_or_else(|| format!("parameter `{p}` must be written `name: type`"))?;
            let n = n.trim();
            if !ident(n) {
                return Err(format!("parameter name `{n}` is not an identifier"));
            }
            ps.push(Param {
                name: n.to_string(),
                ty: Type::parse(t)?,
            });
        }
        Ok(Signature {
            name: name.to_string(),
            params: ps,
            returns: Type::parse(returns)?,
        })
    }

    /// `twoSum(nums: int[], target: int) -> int[]`
    pub fn display(&self) -> String {
        let ps: Vec<String> = self
            .params
            .iter()
            .map(|p| format!("{}: {}", p.name, p.ty.neutral()))
            .collect();
        format!("{}({}) -> {}", self.name, ps.join(", "), self.returns.neutral())
    }

    /// Every type the harness must parse or print.
    pub fn types(&self) -> Vec<Type> {
        let mut out = Vec::new();
        for p in &self.params {
            p.ty.walk(&mut out);
        }
        self.returns.walk(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_and_check_values() {
        let t = Type::parse("int[][]").unwrap();
        assert_eq!(t.neutral(), "int[][]");
        assert_eq!(t.mangled(), "int_a_a");
        assert!(t.accepts(&serde_json::json!([[1, 2], []])));
        assert!(!t.accepts(&serde_json::json!([1])));
        assert!(!Type::Int.accepts(&serde_json::json!(1u64 << 40)));
        assert!(Type::parse("float").is_err());
        let s = Signature::new("twoSum", &["nums: int[]".into(), "target: int".into()], "int[]").unwrap();
        assert_eq!(s.display(), "twoSum(nums: int[], target: int) -> int[]");
        assert_eq!(s.types(), vec![Type::Int, Type::Array(Box::new(Type::Int))]);
    }
}
