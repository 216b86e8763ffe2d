//! Reading text input files: bytes that are not UTF-8 are reported with their line and column
//! (a plain `read_to_string` only says that the file is not UTF-8).

pub use isf_io::text::{read_text, ReadTextError};

/// The 1-based line where the value of `key` is written in the TOML `text`: `key` is dotted,
/// with `[i]` for the i-th table of an array of tables (`cell[0].trials`,
/// `record.every_k_steps`). `None` if the text does not parse or has no such key.
pub fn toml_key_line(text: &str, key: &str) -> Option<usize> {
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut item: &toml_edit::Item = doc.as_item();
    for part in key.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, Some(rest.strip_suffix(']')?.parse::<usize>().ok()?)),
            None => (part, None),
        };
        item = item.get(name)?;
        if let Some(i) = index {
            item = item.get(i)?;
        }
    }
    let span = item.span()?;
    Some(text[..span.start.min(text.len())].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_byte_has_line_and_column() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.txt");
        std::fs::write(&p, b"ok\nab\xffc\n").unwrap();
        let e = read_text(&p).unwrap_err();
        assert_eq!((e.line(), e.col()), (2, 3));
        assert_eq!(
            e.to_string(),
            "line 2, column 3: byte 0xff is not UTF-8 text"
        );
        std::fs::write(&p, "é\n").unwrap();
        assert_eq!(read_text(&p).unwrap(), "é\n");
        assert_eq!(read_text(&d.path().join("missing")).unwrap_err().line(), 0);
    }

    #[test]
    fn toml_lines_of_keys() {
        let t = "a = 1\n[record]\nk = 2\n[[cell]]\nx = 1\n[[cell]]\n\nx = 2\n";
        assert_eq!(toml_key_line(t, "a"), Some(1));
        assert_eq!(toml_key_line(t, "record.k"), Some(3));
        assert_eq!(toml_key_line(t, "cell[1].x"), Some(8));
        assert_eq!(toml_key_line(t, "cell[2].x"), None);
        assert_eq!(toml_key_line("a = [", "a"), None);
    }
}
