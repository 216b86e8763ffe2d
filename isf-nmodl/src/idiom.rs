//! Recognition of the VERBATIM idioms isf implements natively.
//!
//! VERBATIM holds C that NEURON pastes into its generated code; isf cannot run arbitrary C, so it
//! recognises a few idioms by the C *vocabulary* they use: the block is split into C tokens
//! (comments, preprocessor lines and string contents dropped), and an idiom matches when every
//! identifier belongs to the idiom's vocabulary (C keywords, its local names, NEURON's API calls
//! and the model's own variables) and the identifiers that define it are present. Anything else is
//! arbitrary C and refused.

use std::collections::BTreeSet;

/// Identifiers (in order) of a C fragment, and whether it had preprocessor lines, strings and
/// whether it is empty of tokens.
#[derive(Debug, Default)]
pub struct CTokens {
    /// Identifiers in order of appearance.
    pub idents: Vec<String>,
    /// All tokens (identifiers, numbers, punctuation; strings as `"`).
    pub tokens: Vec<String>,
    /// Preprocessor lines, trimmed.
    pub preprocessor: Vec<String>,
}

impl CTokens {
    /// Whether the fragment has no code at all (only comments and blanks).
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.preprocessor.is_empty()
    }

    /// Distinct identifiers.
    pub fn ident_set(&self) -> BTreeSet<&str> {
        self.idents.iter().map(|s| s.as_str()).collect()
    }

    /// Whether the tokens contain `seq` contiguously.
    pub fn contains_seq(&self, seq: &[&str]) -> bool {
        self.tokens
            .windows(seq.len())
            .any(|w| w.iter().zip(seq).all(|(a, b)| a == b))
    }

    /// The identifier right after the contiguous token sequence `before` (e.g. `& X`).
    pub fn ident_after(&self, before: &[&str]) -> Option<&str> {
        let n = before.len();
        self.tokens.windows(n + 1).find_map(|w| {
            if w[..n].iter().zip(before).all(|(a, b)| a == b) && is_ident(&w[n]) {
                Some(w[n].as_str())
            } else {
                None
            }
        })
    }

    /// The identifier right before the contiguous token sequence `after` (e.g. `X = px [`).
    pub fn ident_before(&self, after: &[&str]) -> Option<&str> {
        let n = after.len();
        self.tokens.windows(n + 1).find_map(|w| {
            if w[1..].iter().zip(after).all(|(a, b)| a == b) && is_ident(&w[0]) {
                Some(w[0].as_str())
            } else {
                None
            }
        })
    }
}

fn is_ident(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
}

/// Splits C text into tokens.
pub fn c_tokens(text: &str) -> CTokens {
    let b = text.as_bytes();
    let mut out = CTokens::default();
    let mut i = 0;
    let mut line_start = true;
    while i < b.len() {
        let c = b[i];
        if c == b'\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i = (i + 2).min(b.len());
            continue;
        }
        if c == b'#' && line_start {
            let s = i;
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            out.preprocessor.push(text[s..i].trim().to_string());
            continue;
        }
        line_start = false;
        if c == b'"' || c == b'\'' {
            let q = c;
            i += 1;
            while i < b.len() && b[i] != q {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            out.tokens.push("\"".into());
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let w = text[s..i].to_string();
            out.idents.push(w.clone());
            out.tokens.push(w);
            continue;
        }
        if c.is_ascii_digit() || c == b'.' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                i += 1;
            }
            out.tokens.push(text[s..i].to_string());
            continue;
        }
        // Multi-byte characters are kept whole so slicing stays on boundaries.
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.tokens.push(ch.to_string());
        i += ch.len_utf8().max(1);
    }
    out
}

const C_WORDS: &[&str] = &[
    "void",
    "int",
    "double",
    "char",
    "if",
    "else",
    "return",
    "static_cast",
    "uint32_t",
    "extern",
];

fn subset(ids: &BTreeSet<&str>, allowed: &[&str], extra: &[&str]) -> bool {
    ids.iter()
        .all(|i| C_WORDS.contains(i) || allowed.contains(i) || extra.contains(i))
}

fn only_includes(t: &CTokens) -> bool {
    t.preprocessor.iter().all(|p| {
        let p: String = p.chars().filter(|c| !c.is_whitespace()).collect();
        [
            "#include<stdlib.h>",
            "#include<stdio.h>",
            "#include<math.h>",
        ]
        .contains(&p.as_str())
    })
}

/// File-scope declarations of NEURON's Random API (`nrn_random_pick`, `nrn_random_arg`).
pub fn is_random_api_decls(t: &CTokens) -> bool {
    let ids = t.ident_set();
    !ids.is_empty()
        && only_includes(t)
        && subset(
            &ids,
            &["nrn_random_pick", "nrn_random_arg", "r", "argpos"],
            &[],
        )
        && ids.contains("nrn_random_pick")
}

/// File-scope declarations of NEURON's Vector API used by the event-vector idiom.
pub fn is_vector_api_decls(t: &CTokens) -> bool {
    let ids = t.ident_set();
    !ids.is_empty()
        && t.preprocessor.is_empty()
        && subset(&ids, &["vector_vec", "vector_capacity", "vector_arg"], &[])
        && ids.contains("vector_vec")
}

/// A procedure body that stores a hoc `Random` argument into pointer `_p_<ptr>`.
pub fn is_random_setter(t: &CTokens, ptr: &str) -> bool {
    let ids = t.ident_set();
    let p = format!("_p_{ptr}");
    t.preprocessor.is_empty()
        && subset(&ids, &["pv", "ifarg", "nrn_random_arg"], &[&p])
        && ids.contains(p.as_str())
        && ids.contains("nrn_random_arg")
}

/// The first VERBATIM of the draw function: `if (_p_<ptr>) { value = nrn_random_pick(_p_<ptr>);
/// return value; } else {` (the NMODL fallback and the closing brace follow).
pub fn is_random_draw_head(t: &CTokens, ptr: &str) -> bool {
    let ids = t.ident_set();
    let p = format!("_p_{ptr}");
    t.preprocessor.is_empty()
        && subset(&ids, &["value", "nrn_random_pick"], &[&p])
        && ids.contains(p.as_str())
        && ids.contains("nrn_random_pick")
}

/// A VERBATIM holding a lone `}`.
pub fn is_lone_close_brace(t: &CTokens) -> bool {
    t.preprocessor.is_empty() && t.tokens == ["}"]
}

/// The event-vector `element()` body: reads `vector_capacity`/`vector_vec` of the vector kept in
/// an ASSIGNED slot. Returns (slot, index, etime) when every non-C identifier is one of the
/// model's ASSIGNED names.
pub fn vector_element_roles(t: &CTokens, assigned: &[&str]) -> Option<(String, String, String)> {
    let ids = t.ident_set();
    if !t.preprocessor.is_empty()
        || !ids.contains("vector_capacity")
        || !ids.contains("vector_vec")
        || !subset(
            &ids,
            &["vv", "i", "size", "px", "vector_capacity", "vector_vec"],
            assigned,
        )
    {
        return None;
    }
    let slot = t.ident_after(&["&"])?.to_string();
    let index = t.ident_after(&["(", "int", ")"])?.to_string();
    let etime = t.ident_before(&["=", "px", "["])?.to_string();
    let all_assigned = [&slot, &index, &etime]
        .iter()
        .all(|n| assigned.contains(&n.as_str()));
    all_assigned.then_some((slot, index, etime))
}

/// The event-vector `play()` body: stores `vector_arg(1)` into the slot.
pub fn is_vector_play(t: &CTokens, slot: &str) -> bool {
    let ids = t.ident_set();
    t.preprocessor.is_empty()
        && subset(&ids, &["vv", "ifarg", "vector_arg"], &[slot])
        && ids.contains("vector_arg")
        && ids.contains(slot)
}

/// A hoc-only setter of a NEURON 9 RANDOM stream (NetStim's legacy API). Returns the RANDOM
/// variable it configures.
pub fn hoc_random_setter(t: &CTokens, randoms: &[&str]) -> Option<String> {
    let ids = t.ident_set();
    let api = [
        "Rand",
        "r",
        "id",
        "which",
        "nrn_random_arg",
        "nrn_random_isran123",
        "hoc_execerr_ext",
        "nrnran123_setids",
        "nrnran123_setseq",
        "nrn_random123_getseq",
        "ifarg",
        "getarg",
    ];
    let pre_ok = t.preprocessor.iter().all(|p| {
        let p: String = p.chars().filter(|c| !c.is_whitespace()).collect();
        p == "#if!NRNBBCORE" || p == "#endif"
    });
    if !pre_ok || !subset(&ids, &api, randoms) {
        return None;
    }
    if !ids.iter().any(|i| i.starts_with("nrnran123_")) {
        return None;
    }
    randoms
        .iter()
        .find(|r| ids.contains(**r))
        .map(|r| r.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_drop_comments_and_strings() {
        let t = c_tokens("/* a b */ x = 1; // c\n#include <math.h>\n s = \"hi there\";");
        assert_eq!(t.idents, ["x", "s"]);
        assert_eq!(t.preprocessor, ["#include <math.h>"]);
        assert!(c_tokens(" /* only\n a comment */ \n").is_empty());
    }

    #[test]
    fn arbitrary_c_is_not_an_idiom() {
        let t = c_tokens("system(\"rm -rf /\");");
        assert!(!is_random_api_decls(&t));
        assert!(!is_random_setter(&t, "rng"));
        assert!(hoc_random_setter(&t, &["ranvar"]).is_none());
        assert!(vector_element_roles(&t, &["index"]).is_none());
    }
}
