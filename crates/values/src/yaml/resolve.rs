//! YAML 1.1 plain-scalar resolution as go-yaml v2 (the reader behind Helm) does it.

/// A resolved scalar.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `~`, `null`, empty.
    Null,
    /// `true`, `yes`, `on`, `y`, ... in go-yaml v2's spellings.
    Bool(bool),
    /// An integer that fits in i64.
    Int(i64),
    /// An integer above i64::MAX.
    Uint(u64),
    /// A float (including `.inf` and `.nan`).
    Float(f64),
    /// The `<<` merge key.
    Merge,
    /// A decoded `!!binary` (bytes that are not UTF-8 become U+FFFD, as Go's JSON writer does).
    Bytes(String),
    /// Anything else.
    Str,
}

const TRUE: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
];
const FALSE: &[&str] = &[
    "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
];
const NULL: &[&str] = &["", "~", "null", "Null", "NULL"];

/// Resolves a plain (unquoted, untagged) scalar the way go-yaml v2 does.
pub fn resolve_plain(s: &str) -> Scalar {
    if TRUE.contains(&s) {
        return Scalar::Bool(true);
    }
    if FALSE.contains(&s) {
        return Scalar::Bool(false);
    }
    if NULL.contains(&s) {
        return Scalar::Null;
    }
    match s {
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Scalar::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        "<<" => return Scalar::Merge,
        _ => {}
    }
    let Some(first) = s.chars().next() else {
        return Scalar::Null;
    };
    if !(first.is_ascii_digit() || matches!(first, '+' | '-' | '.')) {
        return Scalar::Str;
    }
    if first == '.' {
        // go-yaml v2 hands these to ParseFloat as they are (no underscores removed).
        return match is_yaml_float(s).then(|| s.parse::<f64>()) {
            Some(Ok(f)) if f.is_finite() => Scalar::Float(f),
            _ => Scalar::Str,
        };
    }
    let plain: String = s.chars().filter(|c| *c != '_').collect();
    if let Some(i) = go_parse_int(&plain) {
        return Scalar::Int(i);
    }
    if let Some(u) = go_parse_uint(&plain) {
        return Scalar::Uint(u);
    }
    // Go's ParseFloat refuses what overflows (the text stays a string); Rust's gives infinity.
    if is_yaml_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
        && f.is_finite()
    {
        return Scalar::Float(f);
    }
    Scalar::Str
}

/// Go's `strconv.ParseInt(s, 0, 64)`: sign, then 0x/0o/0b prefixes, a leading 0 for octal.
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let mag = parse_magnitude(body)?;
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some((mag as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else if mag <= i64::MAX as u64 {
        Some(mag as i64)
    } else {
        None
    }
}

/// Go's `strconv.ParseUint(s, 0, 64)`: no sign allowed.
fn go_parse_uint(s: &str) -> Option<u64> {
    if s.starts_with(['+', '-']) {
        return None;
    }
    parse_magnitude(s)
}

fn parse_magnitude(body: &str) -> Option<u64> {
    let (radix, digits) = if let Some(r) = body.strip_prefix("0x").or(body.strip_prefix("0X")) {
        (16, r)
    } else if let Some(r) = body.strip_prefix("0o").or(body.strip_prefix("0O")) {
        (8, r)
    } else if let Some(r) = body.strip_prefix("0b").or(body.strip_prefix("0B")) {
        (2, r)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// go-yaml v2's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
pub fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// go-yaml v2 treats `1:20` style base-60 floats as needing quotes when writing.
pub fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !s.contains(':') {
        return false;
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let mut parts = body.split(':');
    let Some(first) = parts.next() else {
        return false;
    };
    if first.is_empty() || !first.chars().all(|c| c.is_ascii_digit() || c == '_') {
        return false;
    }
    if !first.starts_with(|c: char| ('1'..='9').contains(&c)) {
        return false;
    }
    let rest: Vec<&str> = parts.collect();
    for (n, p) in rest.iter().enumerate() {
        let last = n + 1 == rest.len();
        let (whole, frac) = if last {
            match p.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (*p, None),
            }
        } else {
            (*p, None)
        };
        let ok_whole = match whole.len() {
            1 => whole.chars().all(|c| c.is_ascii_digit()),
            2 => {
                whole.starts_with(|c: char| ('0'..='5').contains(&c))
                    && whole[1..].chars().all(|c| c.is_ascii_digit())
            }
            _ => false,
        };
        if !ok_whole {
            return false;
        }
        if let Some(f) = frac
            && !f.chars().all(|c| c.is_ascii_digit() || c == '_')
        {
            return false;
        }
    }
    true
}

/// `base64.StdEncoding.DecodeString` as go-yaml v2 decodes `!!binary` (line breaks ignored,
/// padding required), then the bytes as Go's JSON writer prints them: each byte of an invalid
/// UTF-8 sequence becomes U+FFFD.
pub fn decode_binary(text: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut nbits = 0u32;
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut chars = 0usize;
    let mut pad = 0usize;
    for c in text.bytes().filter(|c| *c != b'\r' && *c != b'\n') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                pad += 1;
                chars += 1;
                continue;
            }
            _ => return None,
        };
        if pad > 0 {
            return None;
        }
        chars += 1;
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    if !chars.is_multiple_of(4) || pad > 2 || (pad > 0 && bits != 0) {
        return None;
    }
    Some(go_lossy(&out))
}

fn go_lossy(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(v) => {
                s.push_str(v);
                break;
            }
            Err(e) => {
                let good = e.valid_up_to();
                s.push_str(std::str::from_utf8(&rest[..good]).unwrap_or_default());
                s.push('\u{fffd}');
                rest = &rest[good + 1..];
            }
        }
    }
    s
}

/// True when go-yaml v2 reads the text as a timestamp (for `!!timestamp`).
pub fn is_go_timestamp(s: &str) -> bool {
    looks_like_timestamp(s)
}

/// True when go-yaml v2 would read the plain text as a timestamp (kept a string by Helm, but
/// quoted when writing so it round-trips as a string everywhere).
pub fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 8 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let rest = &s[5..];
    let mut it = rest.splitn(2, '-');
    let month = it.next().unwrap_or("");
    let day_rest = it.next().unwrap_or("");
    let day: String = day_rest.chars().take_while(char::is_ascii_digit).collect();
    (1..=2).contains(&month.len())
        && month.chars().all(|c| c.is_ascii_digit())
        && (1..=2).contains(&day.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml11_scalars() {
        assert_eq!(resolve_plain("yes"), Scalar::Bool(true));
        assert_eq!(resolve_plain("Off"), Scalar::Bool(false));
        assert_eq!(resolve_plain("yEs"), Scalar::Str);
        assert_eq!(resolve_plain("0777"), Scalar::Int(511));
        assert_eq!(resolve_plain("0x1A"), Scalar::Int(26));
        assert_eq!(resolve_plain("-0x1A"), Scalar::Int(-26));
        assert_eq!(resolve_plain("0b101"), Scalar::Int(5));
        assert_eq!(resolve_plain("0o17"), Scalar::Int(15));
        assert_eq!(resolve_plain("1_000"), Scalar::Int(1000));
        assert_eq!(resolve_plain("08"), Scalar::Float(8.0));
        assert_eq!(resolve_plain("1e5"), Scalar::Float(100000.0));
        assert_eq!(resolve_plain(".5"), Scalar::Float(0.5));
        assert_eq!(resolve_plain("1."), Scalar::Float(1.0));
        assert_eq!(
            resolve_plain("18446744073709551615"),
            Scalar::Uint(u64::MAX)
        );
        assert_eq!(resolve_plain("1.2.3"), Scalar::Str);
        assert_eq!(resolve_plain("-"), Scalar::Str);
        assert_eq!(resolve_plain("~"), Scalar::Null);
        assert_eq!(resolve_plain("2024-01-01"), Scalar::Str);
        assert!(looks_like_timestamp("2024-01-01"));
        assert!(is_base60_float("1:20"));
        assert!(!is_base60_float("a:b"));
    }
}
