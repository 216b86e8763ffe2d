//! ISF's `ParameterSet.save` format: Python's `json.dump(obj, f, indent=4)`.
//!
//! That means: 4-space indentation, `", "`-free item separator `","` at line ends, `": "` after
//! keys, empty containers as `{}`/`[]`, tuples as lists, floats as Python `repr` (`NaN`,
//! `Infinity`, `-Infinity` for the non-finite ones), ASCII-only strings (`\uXXXX` escapes), and
//! no newline at the end.

use super::python_float::write_py_repr;
use super::{Node, Value};

/// The text `json.dump(node, f, indent=4)` would write.
pub fn to_json_pretty(node: &Node) -> String {
    let mut out = String::new();
    write_value(&mut out, &node.value, 0);
    out
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level * 4 {
        out.push(' ');
    }
}

fn write_value(out: &mut String, v: &Value, level: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(x) => {
            if x.is_nan() {
                out.push_str("NaN");
            } else if x.is_infinite() {
                out.push_str(if *x > 0.0 { "Infinity" } else { "-Infinity" });
            } else {
                write_py_repr(out, *x);
            }
        }
        Value::Str(s) => write_str(out, s),
        Value::List(items) | Value::Tuple(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, level + 1);
                write_value(out, &item.value, level + 1);
            }
            out.push('\n');
            indent(out, level);
            out.push(']');
        }
        Value::Dict(d) => {
            if d.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push_str("{\n");
            for (i, (k, item)) in d.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                indent(out, level + 1);
                write_str(out, k);
                out.push_str(": ");
                write_value(out, &item.value, level + 1);
            }
            out.push('\n');
            indent(out, level);
            out.push('}');
        }
    }
}

/// A JSON string as Python writes it with `ensure_ascii=True`.
fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
}
