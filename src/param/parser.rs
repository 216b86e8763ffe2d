//! Recursive-descent parser for the `.param` syntax.
//!
//! Grammar (a superset of what ISF's text-rewriting JSON loader accepts):
//! ```text
//! value  = dict | list | tuple | string | number | None | null | True | true | False | false
//!        | NaN | Infinity | -Infinity
//! dict   = "{" [ string ":" value { "," string ":" value } [","] ] "}"
//! list   = "[" [ value { "," value } [","] ] "]"
//! tuple  = "(" [ value { "," value } [","] ] ")"      // `(x)` is a 1-tuple, as in ISF
//! string = '"' … '"' | "'" … "'"                      // escapes \n \t \r \b \f \0 \\ \' \" \/ \xHH \uXXXX
//! ```
//! `#` starts a comment to the end of the line. Duplicate keys: the last value wins, at the
//! position of the first (Python dict semantics).

use std::path::Path;

use super::{Dict, Node, ParamError, Span, Value};

/// Deeper nesting than this is surely an error, and would otherwise risk the stack.
const MAX_DEPTH: usize = 256;

pub(super) fn parse(text: &str, path: &Path) -> Result<Node, ParamError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
        col: 1,
        path,
        keys: Vec::new(),
    };
    if text.starts_with('\u{feff}') {
        p.pos = 3;
    }
    p.skip_ws();
    if p.at_end() {
        return Err(p.error_here("the file is empty (expected a dict or another value)"));
    }
    let root = p.value(0)?;
    p.skip_ws();
    if !p.at_end() {
        return Err(p.error_here(format!(
            "unexpected {} after the end of the top-level value",
            p.describe_here()
        )));
    }
    Ok(root)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: u32,
    col: u32,
    path: &'a Path,
    /// Key path of the value being parsed, for error messages.
    keys: Vec<PathSeg>,
}

/// One step of a key path: a dict key, or a list/tuple index (not formatted until an error).
enum PathSeg {
    Key(String),
    Index(usize),
}

impl<'a> Parser<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn span(&self) -> Span {
        Span {
            line: self.line,
            col: self.col,
        }
    }

    /// Advances one byte, keeping line and (character) column.
    fn bump(&mut self) {
        if let Some(&b) = self.bytes.get(self.pos) {
            self.pos += 1;
            if b == b'\n' {
                self.line += 1;
                self.col = 1;
            } else if b & 0xC0 != 0x80 {
                self.col += 1;
            }
        }
    }

    /// Advances over one whole character.
    fn bump_char(&mut self) -> Option<char> {
        let c = self.text.get(self.pos..)?.chars().next()?;
        for _ in 0..c.len_utf8() {
            self.bump();
        }
        Some(c)
    }

    fn key_path(&self) -> Option<String> {
        let parts: Vec<String> = self
            .keys
            .iter()
            .map(|k| match k {
                PathSeg::Key(s) => s.clone(),
                PathSeg::Index(i) => i.to_string(),
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join("."))
    }

    fn error_at(&self, span: Span, msg: impl Into<String>) -> ParamError {
        ParamError::at(self.path, self.text, span, self.key_path(), msg)
    }

    fn error_here(&self, msg: impl Into<String>) -> ParamError {
        self.error_at(self.span(), msg)
    }

    fn describe_here(&self) -> String {
        match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
            None => "end of file".to_string(),
            Some(c) if c.is_control() => format!("character {c:?}"),
            Some(c) => format!("`{c}`"),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0c => self.bump(),
                b'#' => {
                    while let Some(b) = self.peek() {
                        if b == b'\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                _ => {
                    // Unicode whitespace (e.g. a no-break space pasted from a document).
                    match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
                        Some(c) if c.is_whitespace() => {
                            self.bump_char();
                        }
                        _ => return,
                    }
                }
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node, ParamError> {
        if depth > MAX_DEPTH {
            return Err(self.error_here(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let span = self.span();
        let value = match self.peek() {
            None => return Err(self.error_here("unexpected end of file: expected a value")),
            Some(b'{') => self.dict(depth)?,
            Some(b'[') => Value::List(self.seq(b']', depth)?),
            Some(b'(') => Value::Tuple(self.seq(b')', depth)?),
            Some(q @ (b'"' | b'\'')) => Value::Str(self.string(q)?),
            Some(b'-' | b'+' | b'.' | b'0'..=b'9') => self.number()?,
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => self.word()?,
            Some(_) => {
                return Err(
                    self.error_here(format!("expected a value, found {}", self.describe_here()))
                )
            }
        };
        Ok(Node { value, span })
    }

    fn dict(&mut self, depth: usize) -> Result<Value, ParamError> {
        let open = self.span();
        self.bump();
        let mut d = Dict::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'}') => {
                    self.bump();
                    return Ok(Value::Dict(d));
                }
                None => {
                    return Err(self.error_at(
                        open,
                        "unterminated dict: end of file before the closing `}`",
                    ))
                }
                Some(q @ (b'"' | b'\'')) => {
                    let key = self.string(q)?;
                    self.skip_ws();
                    if self.peek() != Some(b':') {
                        return Err(self.error_here(format!(
                            "expected `:` after key \"{key}\", found {}",
                            self.describe_here()
                        )));
                    }
                    self.bump();
                    self.skip_ws();
                    self.keys.push(PathSeg::Key(key));
                    let v = self.value(depth + 1)?;
                    let key = match self.keys.pop() {
                        Some(PathSeg::Key(k)) => k,
                        _ => String::new(), // cannot happen: the key pushed above
                    };
                    // IndexMap::insert keeps the first position and replaces the value, like a
                    // Python dict built from a literal with repeated keys.
                    d.insert(key, v);
                }
                Some(_) => {
                    return Err(self.error_here(format!(
                        "expected a quoted key or `}}`, found {}",
                        self.describe_here()
                    )))
                }
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b'}') => {}
                None => {
                    return Err(self.error_at(
                        open,
                        "unterminated dict: end of file before the closing `}`",
                    ))
                }
                Some(_) => {
                    return Err(self.error_here(format!(
                        "expected `,` or `}}` in dict, found {}",
                        self.describe_here()
                    )))
                }
            }
        }
    }

    fn seq(&mut self, close: u8, depth: usize) -> Result<Vec<Node>, ParamError> {
        let (what, close_c) = if close == b']' {
            ("list", ']')
        } else {
            ("tuple", ')')
        };
        let open = self.span();
        self.bump();
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b) if b == close => {
                    self.bump();
                    return Ok(items);
                }
                None => {
                    return Err(self.error_at(
                        open,
                        format!("unterminated {what}: end of file before the closing `{close_c}`"),
                    ))
                }
                Some(_) => {
                    self.keys.push(PathSeg::Index(items.len()));
                    let v = self.value(depth + 1)?;
                    self.keys.pop();
                    items.push(v);
                }
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.bump(),
                Some(b) if b == close => {}
                None => {
                    return Err(self.error_at(
                        open,
                        format!("unterminated {what}: end of file before the closing `{close_c}`"),
                    ))
                }
                Some(_) => {
                    return Err(self.error_here(format!(
                        "expected `,` or `{close_c}` in {what}, found {}",
                        self.describe_here()
                    )))
                }
            }
        }
    }

    fn string(&mut self, quote: u8) -> Result<String, ParamError> {
        let open = self.span();
        self.bump();
        let mut s = String::new();
        loop {
            let Some(b) = self.peek() else {
                return Err(self.error_at(
                    open,
                    "unterminated string: end of file before the closing quote",
                ));
            };
            if b == quote {
                self.bump();
                return Ok(s);
            }
            match b {
                b'\n' | b'\r' => {
                    return Err(self.error_at(
                        open,
                        "unterminated string: line ends before the closing quote",
                    ))
                }
                b'\\' => {
                    let esc_span = self.span();
                    self.bump();
                    let Some(e) = self.bump_char() else {
                        return Err(
                            self.error_at(open, "unterminated string: end of file in an escape")
                        );
                    };
                    match e {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        '0' => s.push('\0'),
                        '\\' | '\'' | '"' | '/' => s.push(e),
                        'x' => {
                            let c = self.hex_escape(2, esc_span)?;
                            s.push(c);
                        }
                        'u' => {
                            let c = self.unicode_escape(esc_span)?;
                            s.push(c);
                        }
                        _ => {
                            return Err(self.error_at(
                                esc_span,
                                format!(
                                "unknown escape `\\{e}` in string (write `\\\\` for a backslash)"
                            ),
                            ))
                        }
                    }
                }
                _ => {
                    if let Some(c) = self.bump_char() {
                        if c.is_control() && c != '\t' {
                            return Err(self.error_at(
                                open,
                                format!("control character {c:?} inside a string"),
                            ));
                        }
                        s.push(c);
                    }
                }
            }
        }
    }

    fn hex_digits(&mut self, n: usize, esc: Span) -> Result<u32, ParamError> {
        let mut v = 0u32;
        for _ in 0..n {
            let d = self.peek().and_then(|b| (b as char).to_digit(16));
            let Some(d) = d else {
                return Err(self.error_at(esc, format!("bad escape: expected {n} hex digits")));
            };
            self.bump();
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn hex_escape(&mut self, n: usize, esc: Span) -> Result<char, ParamError> {
        let v = self.hex_digits(n, esc)?;
        char::from_u32(v).ok_or_else(|| self.error_at(esc, "bad escape: not a character"))
    }

    /// `\uXXXX`, joining a UTF-16 surrogate pair written as two escapes (as JSON does).
    fn unicode_escape(&mut self, esc: Span) -> Result<char, ParamError> {
        let hi = self.hex_digits(4, esc)?;
        if (0xD800..0xDC00).contains(&hi) && self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u")
        {
            self.bump();
            self.bump();
            let lo = self.hex_digits(4, esc)?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return char::from_u32(c)
                    .ok_or_else(|| self.error_at(esc, "bad escape: not a character"));
            }
            return Err(self.error_at(esc, "bad escape: unpaired UTF-16 surrogate"));
        }
        char::from_u32(hi)
            .ok_or_else(|| self.error_at(esc, "bad escape: unpaired UTF-16 surrogate"))
    }

    fn number(&mut self) -> Result<Value, ParamError> {
        let start_span = self.span();
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.bump();
            if self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
                let w = self.ident();
                return match w {
                    "Infinity" | "inf" => Ok(Value::Float(if negative {
                        f64::NEG_INFINITY
                    } else {
                        f64::INFINITY
                    })),
                    _ => Err(self.error_at(
                        start_span,
                        format!("bad number `{}`", &self.text[start..self.pos]),
                    )),
                };
            }
        }
        let int_start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.bump();
        }
        let int_digits = &self.text[int_start..self.pos];
        let mut is_float = false;
        let mut frac_digits = 0;
        if self.peek() == Some(b'.') {
            is_float = true;
            self.bump();
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.bump();
                frac_digits += 1;
            }
        }
        let mut bad = int_digits.is_empty() && frac_digits == 0;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            is_float = true;
            self.bump();
            if matches!(self.peek(), Some(b'-' | b'+')) {
                self.bump();
            }
            let exp_start = self.pos;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.bump();
            }
            bad |= self.pos == exp_start;
        }
        // A number glued to letters or more dots (`1.2.3`, `12abc`) is one bad token.
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
        {
            self.bump();
            bad = true;
        }
        let lexeme = &self.text[start..self.pos];
        if bad {
            return Err(self.error_at(start_span, format!("bad number `{lexeme}`")));
        }
        if int_digits.len() > 1 && int_digits.starts_with('0') {
            return Err(self.error_at(
                start_span,
                format!("bad number `{lexeme}`: leading zeros are not allowed"),
            ));
        }
        if is_float {
            lexeme
                .parse::<f64>()
                .map(Value::Float)
                .map_err(|_| self.error_at(start_span, format!("bad number `{lexeme}`")))
        } else {
            lexeme
                .trim_start_matches('+')
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| {
                    self.error_at(
                        start_span,
                        format!("integer `{lexeme}` does not fit in 64 bits"),
                    )
                })
        }
    }

    fn ident(&mut self) -> &'a str {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.bump();
        }
        &self.text[start..self.pos]
    }

    fn word(&mut self) -> Result<Value, ParamError> {
        let span = self.span();
        let w = self.ident();
        Ok(match w {
            "None" | "null" => Value::Null,
            "True" | "true" => Value::Bool(true),
            "False" | "false" => Value::Bool(false),
            "NaN" | "nan" => Value::Float(f64::NAN),
            "Infinity" | "inf" => Value::Float(f64::INFINITY),
            _ => {
                return Err(
                    self.error_at(span, format!("unknown word `{w}` (strings must be quoted)"))
                )
            }
        })
    }
}
