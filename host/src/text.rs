//! Terminal-safe text: the one place where text that came from a component
//! or a chart is made safe to print.
//!
//! Anything a component controls (log lines, stdout and stderr, render
//! errors, panic messages, notes, sources, object names) and anything read
//! from chart files (keys that reach error messages) could otherwise carry
//! ESC sequences that retitle the terminal or erase lines, carriage returns
//! and newlines that start a fresh line looking like the host's own
//! `error: ...`, or bidirectional overrides that make a line read
//! differently from what it is (Trojan Source, CVE-2021-42574).
//!
//! [`escape`] makes every such character visible: `\n`, `\r`, `\t`, `\x1b`
//! for the other C0 controls and DEL, `\u{...}` for C1 controls, bidi
//! controls, line and paragraph separators and the BOM. Backslashes are not
//! doubled: the result stays readable (Windows paths, regexes), and since
//! the output holds no control character, escaping twice changes nothing,
//! so layers may escape defensively.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Returns `text` with every control, bidi and line-separating character
/// escaped visibly; borrows when there is nothing to escape (the usual case).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Escapes `text` like [`escape`] but keeps its `\n` line breaks, and
/// indents every line after the first by `indent` unless it already starts
/// with whitespace. For multi-line host messages (an error listing several
/// failures) whose parts may hold untrusted text: the layout survives, yet
/// no line can start at column 0 and pass for a host line such as
/// `error: ...` or `warning: ...`.
pub fn escape_lines(text: &str, indent: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            if !line.starts_with([' ', '\t']) {
                out.push_str(indent);
            }
        }
        out.push_str(&escape(line));
    }
    out
}

/// [`escape`], then cut to at most `max` characters (marking the cut with
/// `…`): for untrusted text quoted inside a host message, which must stay
/// one readable paragraph however long the text.
pub fn escape_short(text: &str, max: usize) -> String {
    let escaped = escape(text);
    match escaped.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &escaped[..end]),
        None => escaped.into_owned(),
    }
}

/// Whether `c` must not reach a terminal as it is.
pub fn needs_escape(c: char) -> bool {
    c.is_control() || is_invisible_format(c)
}

/// Bidi embeddings, overrides, isolates and marks; line and paragraph
/// separators; the BOM. All change how a line is laid out or read without
/// showing themselves.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x20 || c == '\u{7f}' => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            escape("héllo, wörld \\ ok"),
            Cow::Borrowed("héllo, wörld \\ ok")
        ));
    }

    #[test]
    fn controls_and_bidi_are_visible() {
        assert_eq!(
            escape("a\nb\rc\td\x1b]0;x\x07e\x7f\u{85}f\u{202e}g\u{2066}h\u{2028}i\0"),
            "a\\nb\\rc\\td\\x1b]0;x\\x07e\\x7f\\u{85}f\\u{202e}g\\u{2066}h\\u{2028}i\\x00"
        );
    }

    #[test]
    fn short_escapes_then_cuts() {
        assert_eq!(escape_short("ab\ncd", 4), "ab\\n…");
        assert_eq!(escape_short("abc", 3), "abc");
    }

    #[test]
    fn escaping_is_idempotent() {
        let once = escape("x\n\x1b[2Ky\u{202e}").into_owned();
        assert_eq!(escape(&once), once);
    }

    #[test]
    fn lines_keep_layout_but_cannot_start_at_column_zero() {
        assert_eq!(
            escape_lines("2 failed:\n  a\x1b[1A\nerror: forged\r", "  "),
            "2 failed:\n  a\\x1b[1A\n  error: forged\\r"
        );
    }
}
