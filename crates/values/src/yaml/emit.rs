//! Block YAML output in the style of go-yaml v2 (what `helm template` and `helm get values`
//! print): 2-space indent, list items under a key not indented, keys in go-yaml's natural
//! order, every string quoted when a YAML 1.1 reader would not read it back as that string,
//! long lines folded at spaces past column 80, multi-line strings as literal blocks.

use std::cmp::Ordering;

use serde_json::Value;

use super::resolve::{Scalar, is_base60_float, looks_like_timestamp, resolve_plain};

const WIDTH: usize = 80;
/// Longest key libyaml writes as an implicit (simple) key.
const MAX_SIMPLE_KEY: usize = 128;

/// Writes a value as a YAML document (ending in a newline).
pub fn to_string(value: &Value) -> String {
    let mut e = Emitter {
        out: String::new(),
        col: 0,
    };
    match value {
        Value::Object(m) if !m.is_empty() => e.map(m, 0),
        Value::Array(a) if !a.is_empty() => e.seq(a, 0),
        other => {
            e.scalar(other, 0, false);
            e.newline();
        }
    }
    e.out
}

struct Emitter {
    out: String,
    col: usize,
}

impl Emitter {
    fn write(&mut self, s: &str) {
        self.out.push_str(s);
        match s.rfind('\n') {
            Some(p) => self.col = s[p + 1..].chars().count(),
            None => self.col += s.chars().count(),
        }
    }

    fn newline(&mut self) {
        self.out.push('\n');
        self.col = 0;
    }

    fn indent_to(&mut self, indent: usize) {
        if self.col == 0 {
            self.spaces(indent);
        }
    }

    fn spaces(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
        self.col += n;
    }

    fn map(&mut self, m: &serde_json::Map<String, Value>, indent: usize) {
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort_by(|a, b| natural_cmp(a, b));
        for k in keys {
            self.indent_to(indent);
            if k.chars().count() > MAX_SIMPLE_KEY {
                // Like libyaml (so go-yaml and Helm): a long key is written as an
                // explicit `? key` entry; readers refuse implicit keys over 1024.
                self.write("? ");
                self.key(k);
                self.newline();
                self.indent_to(indent);
            } else {
                self.key(k);
            }
            self.write(":");
            self.value_after_key(&m[k], indent);
        }
    }

    fn value_after_key(&mut self, v: &Value, indent: usize) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                self.newline();
                self.map(m, indent + 2);
            }
            Value::Array(a) if !a.is_empty() => {
                self.newline();
                self.seq(a, indent);
            }
            _ => {
                self.write(" ");
                self.scalar(v, indent + 2, true);
                self.newline();
            }
        }
    }

    fn seq(&mut self, a: &[Value], indent: usize) {
        for item in a {
            self.indent_to(indent);
            self.write("- ");
            match item {
                Value::Object(m) if !m.is_empty() => self.map(m, indent + 2),
                Value::Array(inner) if !inner.is_empty() => self.seq(inner, indent + 2),
                _ => {
                    self.scalar(item, indent + 2, true);
                    self.newline();
                }
            }
        }
    }

    fn key(&mut self, k: &str) {
        match string_style(k) {
            Style::Plain => self.write(k),
            Style::Single => self.quoted(k, Quote::Single),
            Style::Double | Style::Literal => self.quoted(k, Quote::Double),
        }
    }

    /// Writes `s` whole in `quote`'s style, with no folding.
    fn quoted(&mut self, s: &str, quote: Quote) {
        match quote {
            Quote::None => self.write(s),
            Quote::Single if s.contains('\'') => {
                self.write(&format!("'{}'", s.replace('\'', "''")))
            }
            Quote::Single => {
                self.out.push('\'');
                self.out.push_str(s);
                self.out.push('\'');
                self.col += s.chars().count() + 2;
            }
            Quote::Double => {
                let mut q = String::with_capacity(s.len() + 2);
                double_quoted_into(&mut q, s);
                self.write(&q)
            }
        }
    }

    /// Writes a scalar (or an empty map/list); `indent` is where continuation lines go.
    fn scalar(&mut self, v: &Value, indent: usize, breaks: bool) {
        match v {
            Value::Null => self.write("null"),
            Value::Bool(b) => self.write(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                let s = format_number(n);
                self.write(&s)
            }
            Value::Object(_) => self.write("{}"),
            Value::Array(_) => self.write("[]"),
            Value::String(s) => self.string(s, indent, breaks),
        }
    }

    fn string(&mut self, s: &str, indent: usize, breaks: bool) {
        match string_style(s) {
            Style::Plain => self.folded(s, indent, breaks, Quote::None),
            Style::Single => self.folded(s, indent, breaks, Quote::Single),
            Style::Double => self.folded(s, indent, breaks, Quote::Double),
            Style::Literal => self.literal(s, indent),
        }
    }

    /// Plain and quoted scalars, folding at a space once past the width like libyaml.
    fn folded(&mut self, s: &str, indent: usize, breaks: bool, quote: Quote) {
        // Most scalars end before the width: then no space can fold, and the
        // scalar is written whole. Only one that ends past it is redone char by char.
        let (start, col) = (self.out.len(), self.col);
        self.quoted(s, quote);
        if breaks && self.col > WIDTH && s.contains(' ') {
            self.out.truncate(start);
            self.col = col;
            self.folded_by_char(s, indent, quote);
        }
    }

    fn folded_by_char(&mut self, s: &str, indent: usize, quote: Quote) {
        let chars: Vec<char> = s.chars().collect();
        match quote {
            Quote::None => {}
            Quote::Single => self.write("'"),
            Quote::Double => self.write("\""),
        }
        let mut prev_space = false;
        for (i, &c) in chars.iter().enumerate() {
            let next_space = chars.get(i + 1) == Some(&' ');
            let inner = i != 0 && i + 1 != chars.len();
            if c == ' ' {
                let fold_ok = match quote {
                    Quote::None => !next_space,
                    Quote::Single => inner && !next_space,
                    Quote::Double => inner,
                };
                if !prev_space && self.col > WIDTH && fold_ok {
                    self.newline();
                    self.spaces(indent);
                    if quote == Quote::Double && next_space {
                        self.write("\\");
                    }
                } else {
                    self.write(" ");
                }
                prev_space = true;
                continue;
            }
            prev_space = false;
            match quote {
                Quote::Single if c == '\'' => self.write("''"),
                Quote::Double => {
                    let e = escape_char(c);
                    self.write(&e)
                }
                _ => {
                    let mut buf = [0u8; 4];
                    self.write(c.encode_utf8(&mut buf))
                }
            }
        }
        match quote {
            Quote::None => {}
            Quote::Single => self.write("'"),
            Quote::Double => self.write("\""),
        }
    }

    fn literal(&mut self, s: &str, indent: usize) {
        let mut header = String::from("|");
        if s.starts_with([' ', '\n']) {
            header.push('2');
        }
        let trailing = s.len() - s.trim_end_matches('\n').len();
        match trailing {
            0 => header.push('-'),
            1 => {}
            _ => header.push('+'),
        }
        self.write(&header);
        let body = if trailing > 0 { &s[..s.len() - 1] } else { s };
        for line in body.split('\n') {
            self.newline();
            if !line.is_empty() {
                self.spaces(indent);
                self.write(line);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Quote {
    None,
    Single,
    Double,
}

#[derive(Debug, PartialEq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

fn is_printable(c: char) -> bool {
    matches!(c as u32,
        0x0A | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0x10000..=0x10FFFF)
        || (matches!(c as u32, 0xE000..=0xFFFD) && c != '\u{FEFF}')
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// The scalar analysis of libyaml's emitter, reduced to what picks a style.
struct Analysis {
    block_plain: bool,
    single: bool,
    block: bool,
}

fn analyze(s: &str) -> Analysis {
    let mut block_ind = s.starts_with("---") || s.starts_with("...");
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break, mut special, mut line_breaks) =
        (false, false, false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_ws = true;
    let mut chars = s.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        let last = next.is_none();
        let followed_ws = next.is_none_or(|n| n == ' ' || n == '\t' || is_break(n));
        if first {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                block_ind = true;
            }
            if (c == '?' || c == ':' || c == '-') && followed_ws {
                block_ind = true;
            }
        } else {
            if c == ':' && followed_ws {
                block_ind = true;
            }
            if c == '#' && preceded_ws {
                block_ind = true;
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if is_break(c) {
            line_breaks = true;
        }
        if c == ' ' {
            leading_space |= first;
            trailing_space |= last;
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            leading_break |= first;
            trailing_break |= last;
            if prev_space {
                space_break = true;
            }
            prev_break = true;
            prev_space = false;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_ws = c == ' ' || c == '\t' || is_break(c);
        first = false;
    }
    let mut a = Analysis {
        block_plain: true,
        single: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.block_plain = false;
        a.single = false;
        a.block = false;
    }
    if line_breaks || block_ind {
        a.block_plain = false;
    }
    a
}

fn resolves_to_string(s: &str) -> bool {
    matches!(resolve_plain(s), Scalar::Str) && !is_base60_float(s) && !looks_like_timestamp(s)
}

fn string_style(s: &str) -> Style {
    if is_word(s) {
        // What `analyze` would find for such a string: plain if a reader
        // takes it as a string, else double-quoted, as below.
        return if resolves_to_string(s) {
            Style::Plain
        } else {
            Style::Double
        };
    }
    // libyaml would write NEL, LS and PS raw inside quotes, where a reader
    // folds them like line breaks (or refuses them in a key): the text would
    // not read back as written. Only double quotes can escape them.
    if s.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        return Style::Double;
    }
    let a = analyze(s);
    if s.contains('\n') {
        return if a.block {
            Style::Literal
        } else {
            Style::Double
        };
    }
    if !resolves_to_string(s) {
        return Style::Double;
    }
    if a.block_plain && !s.is_empty() {
        Style::Plain
    } else if a.single {
        Style::Single
    } else {
        Style::Double
    }
}

/// Most strings in manifests (names, labels, image references, paths): a
/// letter, digit, `_` or `/` first, then those, `-`, `.` and inner `:`s.
/// None starts a block indicator or holds a space, a break, a special or
/// non-printable char, so libyaml's analysis allows every style for them.
fn is_word(s: &str) -> bool {
    let b = s.as_bytes();
    let Some((&first, rest)) = b.split_first() else {
        return false;
    };
    let inner = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'/' | b'-' | b'.');
    (first.is_ascii_alphanumeric() || matches!(first, b'_' | b'/'))
        && rest.iter().all(|&c| inner(c) || c == b':')
        && b.last() != Some(&b':')
}

fn escape_char(c: char) -> String {
    match c {
        '\0' => "\\0".into(),
        '\u{7}' => "\\a".into(),
        '\u{8}' => "\\b".into(),
        '\t' => "\\t".into(),
        '\n' => "\\n".into(),
        '\u{b}' => "\\v".into(),
        '\u{c}' => "\\f".into(),
        '\r' => "\\r".into(),
        '\u{1b}' => "\\e".into(),
        '"' => "\\\"".into(),
        '\\' => "\\\\".into(),
        '\u{85}' => "\\N".into(),
        '\u{a0}' => "\\_".into(),
        '\u{2028}' => "\\L".into(),
        '\u{2029}' => "\\P".into(),
        c if is_printable(c) => c.to_string(),
        c if (c as u32) <= 0xFF => format!("\\x{:02X}", c as u32),
        c if (c as u32) <= 0xFFFF => format!("\\u{:04X}", c as u32),
        c => format!("\\U{:08X}", c as u32),
    }
}

fn double_quoted_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            ' '..='~' if c != '"' && c != '\\' => out.push(c),
            c => out.push_str(&escape_char(c)),
        }
    }
    out.push('"');
}

/// Numbers as Helm prints them: integers plainly, other floats in Go's `%g` shortest form.
fn format_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < 9.2e18 {
        return format!("{}", f as i64);
    }
    go_g_from_sci(&format!("{f:e}"))
}

/// Turns Rust's shortest `{:e}` output (`1.5e6`, `-1e-7`) into Go's `%g` with shortest
/// precision (`1.5e+06`, `-1e-07`, `0.0001`, `123.5`).
pub fn go_g_from_sci(sci: &str) -> String {
    let (mant, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if neg { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{frac}e{esign}{:02}", exp.abs());
    }
    let nd = digits.len() as i32;
    let dp = exp + 1;
    let body = if dp <= 0 {
        format!("0.{}{}", "0".repeat((-dp) as usize), digits)
    } else if dp >= nd {
        format!("{}{}", digits, "0".repeat((dp - nd) as usize))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    };
    format!("{sign}{body}")
}

/// go-yaml v2's key order: digit runs compare as numbers, non-letters before letters.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return natural_cmp_units(a.as_bytes(), b.as_bytes());
    }
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    natural_cmp_units(&ar, &br)
}

/// [`natural_cmp`] over chars, or over bytes when both keys are ASCII (the
/// common case, compared without collecting chars).
fn natural_cmp_units<C: Copy + Ord + Into<char>>(ar: &[C], br: &[C]) -> Ordering {
    let a = |k: usize| -> char { ar[k].into() };
    let b = |k: usize| -> char { br[k].into() };
    let n = ar.len().min(br.len());
    for i in 0..n {
        if ar[i] == br[i] {
            continue;
        }
        let al = a(i).is_alphabetic();
        let bl = b(i).is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if a(i) == '0' || b(i) == '0' {
            let mut j = i;
            while j > 0 && a(j - 1).is_ascii_digit() {
                j -= 1;
                if a(j) != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && a(ai).is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(a(ai) as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && b(bi).is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(b(bi) as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g() {
        assert_eq!(go_g_from_sci(&format!("{:e}", 1.5f64)), "1.5");
        assert_eq!(go_g_from_sci(&format!("{:e}", 1.5e6f64)), "1.5e+06");
        assert_eq!(go_g_from_sci(&format!("{:e}", 0.0001f64)), "0.0001");
        assert_eq!(go_g_from_sci(&format!("{:e}", 0.00001f64)), "1e-05");
        assert_eq!(go_g_from_sci(&format!("{:e}", 123456.5f64)), "123456.5");
        assert_eq!(go_g_from_sci(&format!("{:e}", -0.25f64)), "-0.25");
    }

    #[test]
    fn natural_order() {
        let mut keys = vec!["a10", "a9", "b", "A", "_x", "1"];
        keys.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(keys, vec!["_x", "1", "A", "a9", "a10", "b"]);
    }

    /// Writing a scalar whole when it ends before the width is only a shortcut:
    /// char by char gives the same text, wherever the scalar starts.
    #[test]
    fn whole_scalars_match_the_char_by_char_path() {
        let samples = [
            "plain words here".to_string(),
            "it's a 'quoted' text with spaces".into(),
            "tab\there and \"quotes\" and \\ and é ü".into(),
            "a:  b  c".into(),
            "x ".repeat(50),
            "word".repeat(30),
            " leading and trailing ".into(),
        ];
        for s in &samples {
            for quote in [Quote::None, Quote::Single, Quote::Double] {
                for col in [0, 10, 40, 60, 75, 79, 80, 81, 120] {
                    let mut fast = Emitter {
                        out: String::new(),
                        col,
                    };
                    fast.folded(s, 4, true, quote);
                    let mut slow = Emitter {
                        out: String::new(),
                        col,
                    };
                    slow.folded_by_char(s, 4, quote);
                    assert_eq!(fast.out, slow.out, "{s:?} {col}");
                    assert_eq!(fast.col, slow.col, "{s:?} {col}");
                }
            }
        }
    }

    /// The shortcut for plain words gives the style the full analysis gives.
    #[test]
    fn words_take_the_style_the_analysis_gives() {
        let words = [
            "redis",
            "redis-master",
            "7.4.1",
            "docker.io/bitnami/redis:7.4.1",
            "http://x.y/z",
            "yes",
            "No",
            "null",
            "true",
            "123",
            "0x1F",
            "1e3",
            "1:20",
            "2001-12-14",
            "a:b",
            "_x",
            "/data",
            "v1",
            "apps/v1",
            "Off",
            "nan",
            "a..b",
            "9.0.0-rc.1",
        ];
        for w in words {
            assert!(is_word(w), "{w}");
            let full = match analyze(w) {
                a if !resolves_to_string(w) => (Style::Double, a.block_plain),
                a if a.block_plain => (Style::Plain, true),
                a => (Style::Single, a.block_plain),
            };
            assert!(full.1, "{w}: the analysis would not allow plain");
            assert_eq!(string_style(w), full.0, "{w}");
        }
        for not_word in [
            "", "-", "-x", "a:", ".x", "a b", "a#b", "é", "a\tb", ":a", "---",
        ] {
            assert!(!is_word(not_word), "{not_word:?}");
        }
    }

    #[test]
    fn styles() {
        assert_eq!(string_style("hello"), Style::Plain);
        assert_eq!(string_style("yes"), Style::Double);
        assert_eq!(string_style("123"), Style::Double);
        assert_eq!(string_style(""), Style::Double);
        assert_eq!(string_style("a: b"), Style::Single);
        assert_eq!(string_style("- x"), Style::Single);
        assert_eq!(string_style("a #b"), Style::Single);
        assert_eq!(string_style("*star"), Style::Single);
        assert_eq!(string_style("a\tb"), Style::Double);
        assert_eq!(string_style("a\nb"), Style::Literal);
        assert_eq!(string_style("a \nb"), Style::Double);
        assert_eq!(string_style("http://x.y/z"), Style::Plain);
    }
}
