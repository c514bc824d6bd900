//! The two pieces of Go behaviour a Helm-compatible Chart.lock needs: the `digest:` Helm
//! computes over the dependencies (`HashReq`: sha256 of Go's `json.Marshal` of
//! `[Chart.yaml dependencies, locked dependencies]`), and the `generated:` timestamp
//! (Go's RFC 3339 with nanoseconds).

use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::fmt::Write as _;

/// One dependency as Helm's `chart.Dependency` struct holds it, in its field order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoDependency {
    /// `name`.
    pub name: String,
    /// `version` (omitted when empty).
    pub version: String,
    /// `repository` (always present).
    pub repository: String,
    /// `condition` (omitted when empty).
    pub condition: String,
    /// `tags` (omitted when empty).
    pub tags: Vec<String>,
    /// `enabled` (omitted when false).
    pub enabled: bool,
    /// `import-values` (omitted when empty).
    pub import_values: Vec<Value>,
    /// `alias` (omitted when empty).
    pub alias: String,
    /// `depends-on` (omitted when empty).
    pub depends_on: Vec<String>,
}

impl GoDependency {
    /// Reads one Chart.yaml `dependencies` entry as Helm's loader does (sigs.k8s.io/yaml into
    /// the struct, unknown keys dropped, then `Validate`'s string sanitising).
    pub fn from_chart_yaml(entry: &Value) -> GoDependency {
        let s = |k: &str| {
            entry
                .get(k)
                .and_then(scalar)
                .map(|v| sanitize(&v))
                .unwrap_or_default()
        };
        let list = |k: &str| match entry.get(k) {
            Some(Value::Array(a)) => a.iter().filter_map(scalar).map(|v| sanitize(&v)).collect(),
            _ => Vec::new(),
        };
        GoDependency {
            name: s("name"),
            version: s("version"),
            repository: s("repository"),
            condition: s("condition"),
            tags: list("tags"),
            enabled: entry
                .get("enabled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            import_values: match entry.get("import-values") {
                Some(Value::Array(a)) => a.clone(),
                _ => Vec::new(),
            },
            alias: entry.get("alias").and_then(scalar).unwrap_or_default(),
            depends_on: list("depends-on"),
        }
    }

    /// A locked entry: only name, version and repository, as Helm's resolver writes them.
    pub fn locked(name: &str, version: &str, repository: &str) -> GoDependency {
        GoDependency {
            name: name.into(),
            version: version.into(),
            repository: repository.into(),
            ..GoDependency::default()
        }
    }

    fn json(&self, out: &mut String) {
        out.push('{');
        out.push_str("\"name\":");
        string(&self.name, out);
        if !self.version.is_empty() {
            out.push_str(",\"version\":");
            string(&self.version, out);
        }
        out.push_str(",\"repository\":");
        string(&self.repository, out);
        if !self.condition.is_empty() {
            out.push_str(",\"condition\":");
            string(&self.condition, out);
        }
        if !self.tags.is_empty() {
            out.push_str(",\"tags\":");
            strings(&self.tags, out);
        }
        if self.enabled {
            out.push_str(",\"enabled\":true");
        }
        if !self.import_values.is_empty() {
            out.push_str(",\"import-values\":");
            value(&Value::Array(self.import_values.clone()), out);
        }
        if !self.alias.is_empty() {
            out.push_str(",\"alias\":");
            string(&self.alias, out);
        }
        if !self.depends_on.is_empty() {
            out.push_str(",\"depends-on\":");
            strings(&self.depends_on, out);
        }
        out.push('}');
    }
}

/// Helm's `HashReq(req, lock)`: `sha256:` and the hex sha256 of Go's JSON of `[req, lock]`.
pub fn hash_req(requested: &[GoDependency], locked: &[GoDependency]) -> String {
    let mut json = String::from("[");
    for (i, list) in [requested, locked].iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        // Go marshals a nil slice as null; Helm's loader leaves no dependencies as nil.
        if list.is_empty() {
            json.push_str("null");
            continue;
        }
        json.push('[');
        for (j, d) in list.iter().enumerate() {
            if j > 0 {
                json.push(',');
            }
            d.json(&mut json);
        }
        json.push(']');
    }
    json.push(']');
    format!("sha256:{}", hex(&Sha256::digest(json.as_bytes())))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Helm's `sanitizeString`: white space becomes a space, other unprintable characters go.
fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if c.is_control() {
                None
            } else {
                Some(c)
            }
        })
        .collect()
}

fn strings(list: &[String], out: &mut String) {
    out.push('[');
    for (i, s) in list.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        string(s, out);
    }
    out.push(']');
}

/// Go's `encoding/json` value encoding: map keys sorted, HTML-safe string escaping.
fn value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                value(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(k, out);
                out.push(':');
                value(&m[*k], out);
            }
            out.push('}');
        }
    }
}

/// Go's JSON string: `"` and `\` escaped, `\n \r \t`, other controls and `< > &` and
/// U+2028/U+2029 as `\u00XX`.
fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Now as Go's `time.Time` marshals it (RFC 3339 with nanoseconds, trailing zeros dropped),
/// in UTC.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs(), now.subsec_nanos())
}

/// `secs` and `nanos` since the Unix epoch as Go's RFC3339Nano in UTC.
pub fn rfc3339(secs: u64, nanos: u32) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_of_dependencies() {
        let req = GoDependency::from_chart_yaml(&serde_json::json!({
            "name": "a", "version": "^0.1", "repository": "file://./charts/a<b>&",
            "condition": "a.enabled", "tags": ["t"], "alias": "x", "unknown": 1,
            "import-values": [{"parent": "p", "child": "c"}, "s"],
        }));
        let mut s = String::new();
        req.json(&mut s);
        assert_eq!(
            s,
            "{\"name\":\"a\",\"version\":\"^0.1\",\"repository\":\"file://./charts/a\\u003cb\\u003e\\u0026\",\"condition\":\"a.enabled\",\"tags\":[\"t\"],\"import-values\":[{\"child\":\"c\",\"parent\":\"p\"},\"s\"],\"alias\":\"x\"}"
        );
        let mut s = String::new();
        GoDependency::locked("a", "", "").json(&mut s);
        assert_eq!(s, "{\"name\":\"a\",\"repository\":\"\"}");
    }

    #[test]
    fn go_time_format() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(1_796_131_277, 120_000_000),
            "2026-12-01T13:21:17.12Z"
        );
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
    }
}
