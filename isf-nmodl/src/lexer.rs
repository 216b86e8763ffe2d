//! Tokens of NMODL as NEURON's translator reads them.
//!
//! Facts the lexer follows: names are `[A-Za-z][A-Za-z0-9_]*`; a name followed by primes is a
//! derivative; integers and reals are distinct tokens (the translator writes integers in
//! expressions as reals); `:` and `?` start a comment to the end of the line; `COMMENT` and
//! `VERBATIM` take the rest of their line and every following line up to the line whose first
//! word is `ENDCOMMENT` / `ENDVERBATIM`; `TITLE` takes the rest of its line; CR, LF and CRLF all
//! end a line; characters outside ASCII are an error outside comments.

use crate::error::{Diagnostic, ErrorKind, SourceFile};

/// Kind of a token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A name (keywords included: the parser decides by context).
    Name(String),
    /// `name'`, `name''`: a derivative of that order.
    Prime(String, u32),
    /// Digits only.
    Integer(String),
    /// A real literal, as written.
    Real(String),
    /// `"..."`.
    Str(String),
    /// `TITLE` and the rest of its line.
    Title(String),
    /// `VERBATIM` ... `ENDVERBATIM`: the text between (lines kept as written).
    Verbatim(String),
    /// An ontology identifier after `REPRESENTS` (`NCIT:C17145`).
    Ontology(String),
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `,`
    Comma,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `^`
    Caret,
    /// `=`
    Assign,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    EqEq,
    /// `!=`
    Ne,
    /// `!`
    Not,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `<->`
    React,
    /// `~`
    Tilde,
    /// `~+`
    TildePlus,
    /// `@`
    At,
    /// Any other character (the parser reports it).
    Other(char),
    /// End of input.
    Eof,
}

impl Tok {
    /// How the token reads in a message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Name(n) => format!("`{n}`"),
            Tok::Prime(n, k) => format!("`{n}{}`", "'".repeat(*k as usize)),
            Tok::Integer(s) | Tok::Real(s) => format!("number `{s}`"),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Title(_) => "TITLE".into(),
            Tok::Verbatim(_) => "VERBATIM block".into(),
            Tok::Ontology(s) => format!("`{s}`"),
            Tok::Eof => "end of file".into(),
            Tok::Other(c) => format!("character `{}`", c.escape_default()),
            t => format!("`{}`", punct_text(t)),
        }
    }
}

fn punct_text(t: &Tok) -> &'static str {
    match t {
        Tok::LBrace => "{",
        Tok::RBrace => "}",
        Tok::LParen => "(",
        Tok::RParen => ")",
        Tok::LBracket => "[",
        Tok::RBracket => "]",
        Tok::Comma => ",",
        Tok::Plus => "+",
        Tok::Minus => "-",
        Tok::Star => "*",
        Tok::Slash => "/",
        Tok::Caret => "^",
        Tok::Assign => "=",
        Tok::Gt => ">",
        Tok::Ge => ">=",
        Tok::Lt => "<",
        Tok::Le => "<=",
        Tok::EqEq => "==",
        Tok::Ne => "!=",
        Tok::Not => "!",
        Tok::And => "&&",
        Tok::Or => "||",
        Tok::React => "<->",
        Tok::Tilde => "~",
        Tok::TildePlus => "~+",
        Tok::At => "@",
        _ => "?",
    }
}

/// A token and its byte range.
#[derive(Debug, Clone)]
pub struct Token {
    /// What it is.
    pub tok: Tok,
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// Splits `src` into tokens. Lexical errors (unterminated blocks, non-ASCII text) are collected;
/// the token list is complete up to the first unterminated block.
pub fn lex(src: &SourceFile) -> (Vec<Token>, Vec<Diagnostic>) {
    let text: &str = &src.text;
    let b = text.as_bytes();
    let mut toks = Vec::new();
    let mut diags = Vec::new();
    let mut i = 0;
    let n = b.len();
    let mut after_represents = false;
    while i < n {
        let c = b[i];
        if c == b' ' || c == b'\t' || c == b'\n' || c == b'\r' || c == 0x0c || c == 0x0b {
            i += 1;
            continue;
        }
        if c == b':' || c == b'?' {
            while i < n && b[i] != b'\n' && b[i] != b'\r' {
                i += 1;
            }
            continue;
        }
        let start = i;
        if after_represents {
            after_represents = false;
            if let Some(len) = ontology_len(&b[i..]) {
                toks.push(Token {
                    tok: Tok::Ontology(text[i..i + len].to_string()),
                    start: i,
                    end: i + len,
                });
                i += len;
                continue;
            }
        }
        if c.is_ascii_alphabetic() {
            while i < n && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &text[start..i];
            if i < n && b[i] == b'\'' {
                let mut k = 0;
                while i < n && b[i] == b'\'' {
                    k += 1;
                    i += 1;
                }
                toks.push(Token {
                    tok: Tok::Prime(word.to_string(), k),
                    start,
                    end: i,
                });
                continue;
            }
            match word {
                "COMMENT" | "VERBATIM" => {
                    let end_word = if word == "COMMENT" {
                        "ENDCOMMENT"
                    } else {
                        "ENDVERBATIM"
                    };
                    let body_start = i;
                    match find_block_end(text, i, end_word) {
                        Some((body_end, after)) => {
                            if word == "VERBATIM" {
                                toks.push(Token {
                                    tok: Tok::Verbatim(text[body_start..body_end].to_string()),
                                    start,
                                    end: after,
                                });
                            }
                            i = after;
                        }
                        None => {
                            diags.push(Diagnostic::at(
                                src,
                                &src.span(start, i),
                                ErrorKind::Syntax,
                                word,
                                format!("{word} block has no {end_word} line (it goes to the end of the file)"),
                            ));
                            return (toks_with_eof(toks, n), diags);
                        }
                    }
                    continue;
                }
                "TITLE" => {
                    let mut j = i;
                    while j < n && b[j] != b'\n' && b[j] != b'\r' {
                        j += 1;
                    }
                    toks.push(Token {
                        tok: Tok::Title(text[i..j].trim().to_string()),
                        start,
                        end: j,
                    });
                    i = j;
                    continue;
                }
                "REPRESENTS" => after_represents = true,
                _ => {}
            }
            toks.push(Token {
                tok: Tok::Name(word.to_string()),
                start,
                end: i,
            });
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && i + 1 < n && b[i + 1].is_ascii_digit()) {
            let mut real = false;
            while i < n && b[i].is_ascii_digit() {
                i += 1;
            }
            if i < n && b[i] == b'.' {
                real = true;
                i += 1;
                while i < n && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < n && (b[i] == b'e' || b[i] == b'E') {
                let mut j = i + 1;
                if j < n && (b[j] == b'+' || b[j] == b'-') {
                    j += 1;
                }
                if j < n && b[j].is_ascii_digit() {
                    while j < n && b[j].is_ascii_digit() {
                        j += 1;
                    }
                    i = j;
                    real = true;
                }
            }
            let s = text[start..i].to_string();
            toks.push(Token {
                tok: if real { Tok::Real(s) } else { Tok::Integer(s) },
                start,
                end: i,
            });
            continue;
        }
        if c == b'"' {
            let mut j = i + 1;
            while j < n && b[j] != b'"' {
                j += 1;
            }
            if j >= n {
                diags.push(Diagnostic::at(
                    src,
                    &src.span(start, start + 1),
                    ErrorKind::Syntax,
                    "\"",
                    "string has no closing quote",
                ));
                return (toks_with_eof(toks, n), diags);
            }
            toks.push(Token {
                tok: Tok::Str(text[i + 1..j].to_string()),
                start,
                end: j + 1,
            });
            i = j + 1;
            continue;
        }
        if c >= 0x80 {
            let ch = text[i..].chars().next().unwrap_or('\u{fffd}');
            diags.push(Diagnostic::at(
                src,
                &src.span(i, i + ch.len_utf8()),
                ErrorKind::Syntax,
                ch.to_string(),
                format!(
                    "non-ASCII character `{}` outside a comment (NEURON refuses it)",
                    ch.escape_default()
                ),
            ));
            i += ch.len_utf8().max(1);
            continue;
        }
        let two = if i + 1 < n { b[i + 1] } else { 0 };
        let three = if i + 2 < n { b[i + 2] } else { 0 };
        let (tok, len) = match (c, two, three) {
            (b'<', b'-', b'>') => (Tok::React, 3),
            (b'>', b'=', _) => (Tok::Ge, 2),
            (b'<', b'=', _) => (Tok::Le, 2),
            (b'=', b'=', _) => (Tok::EqEq, 2),
            (b'!', b'=', _) => (Tok::Ne, 2),
            (b'&', b'&', _) => (Tok::And, 2),
            (b'|', b'|', _) => (Tok::Or, 2),
            (b'~', b'+', _) => (Tok::TildePlus, 2),
            (b'>', _, _) => (Tok::Gt, 1),
            (b'<', _, _) => (Tok::Lt, 1),
            (b'!', _, _) => (Tok::Not, 1),
            (b'=', _, _) => (Tok::Assign, 1),
            (b'~', _, _) => (Tok::Tilde, 1),
            (b'{', _, _) => (Tok::LBrace, 1),
            (b'}', _, _) => (Tok::RBrace, 1),
            (b'(', _, _) => (Tok::LParen, 1),
            (b')', _, _) => (Tok::RParen, 1),
            (b'[', _, _) => (Tok::LBracket, 1),
            (b']', _, _) => (Tok::RBracket, 1),
            (b',', _, _) => (Tok::Comma, 1),
            (b'+', _, _) => (Tok::Plus, 1),
            (b'-', _, _) => (Tok::Minus, 1),
            (b'*', _, _) => (Tok::Star, 1),
            (b'/', _, _) => (Tok::Slash, 1),
            (b'^', _, _) => (Tok::Caret, 1),
            (b'@', _, _) => (Tok::At, 1),
            _ => (Tok::Other(c as char), 1),
        };
        toks.push(Token {
            tok,
            start,
            end: i + len,
        });
        i += len;
    }
    (toks_with_eof(toks, n), diags)
}

fn toks_with_eof(mut toks: Vec<Token>, n: usize) -> Vec<Token> {
    toks.push(Token {
        tok: Tok::Eof,
        start: n,
        end: n,
    });
    toks
}

/// `NAME:ID` or `[NAME:ID]` at the start of `b`.
fn ontology_len(b: &[u8]) -> Option<usize> {
    let (open, mut i) = if b.first() == Some(&b'[') {
        (true, 1)
    } else {
        (false, 0)
    };
    if !b.get(i)?.is_ascii_alphabetic() {
        return None;
    }
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    if b.get(i) != Some(&b':') {
        return None;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
        i += 1;
    }
    if open {
        if b.get(i) != Some(&b']') {
            return None;
        }
        i += 1;
    }
    Some(i)
}

/// From `from` (just after the opening keyword), the end of the block body and the offset after
/// the closing line: the closing line is the first following line whose first word (after
/// blanks) is exactly `end_word`; the rest of that line is discarded, as NEURON does.
fn find_block_end(text: &str, from: usize, end_word: &str) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    // The rest of the opening line belongs to the body.
    let mut line_start = from;
    while line_start < b.len() && b[line_start] != b'\n' && b[line_start] != b'\r' {
        line_start += 1;
    }
    loop {
        // Skip one line end (CRLF, CR or LF).
        if line_start >= b.len() {
            return None;
        }
        if b[line_start] == b'\r' {
            line_start += 1;
            if line_start < b.len() && b[line_start] == b'\n' {
                line_start += 1;
            }
        } else if b[line_start] == b'\n' {
            line_start += 1;
        }
        let mut j = line_start;
        while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
            j += 1;
        }
        let w0 = j;
        while j < b.len() && b[j].is_ascii_alphabetic() {
            j += 1;
        }
        let mut line_end = j;
        while line_end < b.len() && b[line_end] != b'\n' && b[line_end] != b'\r' {
            line_end += 1;
        }
        if &text[w0..j] == end_word {
            return Some((line_start, line_end));
        }
        if line_end >= b.len() {
            return None;
        }
        line_start = line_end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        let (t, d) = lex(&SourceFile::new("t", s));
        assert!(d.is_empty(), "{d:?}");
        t.into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_names_primes_and_operators() {
        assert_eq!(
            toks("m' = 5 + .5e-3 - 2. ^ x'' <-> ~+ <= != 1e9"),
            vec![
                Tok::Prime("m".into(), 1),
                Tok::Assign,
                Tok::Integer("5".into()),
                Tok::Plus,
                Tok::Real(".5e-3".into()),
                Tok::Minus,
                Tok::Real("2.".into()),
                Tok::Caret,
                Tok::Prime("x".into(), 2),
                Tok::React,
                Tok::TildePlus,
                Tok::Le,
                Tok::Ne,
                Tok::Real("1e9".into()),
                Tok::Eof
            ]
        );
        // `1e` is the integer 1 followed by the name `e`.
        assert_eq!(
            toks("1e"),
            vec![Tok::Integer("1".into()), Tok::Name("e".into()), Tok::Eof]
        );
    }

    #[test]
    fn comments_titles_and_blocks() {
        let t = toks("TITLE  my model \r\n: c\r\n? d\r\nCOMMENT x\r\n y ENDCOMMENT\r\n ENDCOMMENT tail\r\nVERBATIM\r\nint a;\r\nENDVERBATIM\r\nz");
        assert_eq!(
            t,
            vec![
                Tok::Title("my model".into()),
                Tok::Verbatim("\r\nint a;\r\n".into()),
                Tok::Name("z".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("REPRESENTS NCIT:C17145 x"),
            vec![
                Tok::Name("REPRESENTS".into()),
                Tok::Ontology("NCIT:C17145".into()),
                Tok::Name("x".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn crlf_and_lf_give_the_same_lines() {
        let a = SourceFile::new("a", "x\r\ny\r\n  z");
        let b = SourceFile::new("b", "x\ny\n  z");
        let (ta, _) = lex(&a);
        let (tb, _) = lex(&b);
        let pos = |s: &SourceFile, t: &[Token]| -> Vec<(u32, u32)> {
            t.iter()
                .map(|t| {
                    let sp = s.span(t.start, t.end);
                    (sp.line, sp.col)
                })
                .collect()
        };
        assert_eq!(pos(&a, &ta)[..3], pos(&b, &tb)[..3]);
        assert_eq!(pos(&a, &ta)[2], (3, 3));
        let c = SourceFile::new("c", "x\ry\r  z");
        let (tc, _) = lex(&c);
        assert_eq!(pos(&c, &tc)[..3], pos(&b, &tb)[..3]);
    }
}
