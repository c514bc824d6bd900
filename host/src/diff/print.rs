//! The report: one header line per object that differs, one line per field.
//! Everything a component wrote (names, keys, values) is escaped, and secret
//! values never reach the text.

use super::compare::{Field, FieldChange, Key, ObjectChange, Step};
use serde_json::Value;
use std::fmt::Write as _;

/// Longest value printed, in characters; longer ones end in `…`.
const MAX_VALUE: usize = 400;

/// Formats the report; `color` adds ANSI colours (red removed, green added,
/// yellow changed).
pub fn report(changes: &[(Key, ObjectChange)], color: bool) -> String {
    let paint = |code: &str, text: String| {
        if color {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text
        }
    };
    let mut out = String::new();
    let (mut added, mut removed, mut changed) = (0, 0, 0);
    for (key, change) in changes {
        let id = identity(key);
        match change {
            ObjectChange::Added => {
                added += 1;
                let _ = writeln!(out, "{}", paint("32", format!("+ {id} (added)")));
            }
            ObjectChange::Removed => {
                removed += 1;
                let _ = writeln!(out, "{}", paint("31", format!("- {id} (removed)")));
            }
            ObjectChange::Changed(fields) => {
                changed += 1;
                let _ = writeln!(out, "{}", paint("33", format!("~ {id}")));
                for field in fields {
                    let (code, line) = field_line(field);
                    let _ = writeln!(out, "    {}", paint(code, line));
                }
            }
        }
    }
    if !changes.is_empty() {
        let _ = writeln!(out, "{changed} changed, {added} added, {removed} removed");
    }
    out
}

/// `apps/v1 Deployment ns/name`, escaped.
fn identity(key: &Key) -> String {
    let name = if key.namespace.is_empty() {
        key.name.clone()
    } else {
        format!("{}/{}", key.namespace, key.name)
    };
    let mut id = format!("{} {} {}", key.api_version, key.kind, name);
    if key.occurrence > 0 {
        let _ = write!(id, " (#{})", key.occurrence + 1);
    }
    crate::text::escape(&id).into_owned()
}

fn field_line(change: &FieldChange) -> (&'static str, String) {
    let path = path_text(&change.path);
    if change.hidden {
        let what = match change.field {
            Field::Added(_) => "added",
            Field::Removed(_) => "removed",
            Field::Modified(..) => "changed",
        };
        return ("33", format!("~ {path}: {what} (secret value hidden)"));
    }
    match &change.field {
        Field::Added(v) => ("32", format!("+ {path}: {}", value_text(v))),
        Field::Removed(v) => ("31", format!("- {path}: {}", value_text(v))),
        Field::Modified(a, b) => (
            "33",
            format!("~ {path}: {} → {}", value_text(a), value_text(b)),
        ),
    }
}

/// `spec.template.spec.containers[name=app].image`; keys that are not
/// plain words are quoted: `metadata.labels["app.kubernetes.io/name"]`.
pub fn path_text(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) if is_word(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Key(k) => {
                let _ = write!(out, "[{}]", json(&Value::String(k.clone())));
            }
            Step::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Step::Named(n) => {
                let name = if is_word(n) {
                    n.clone()
                } else {
                    json(&Value::String(n.clone()))
                };
                let _ = write!(out, "[name={name}]");
            }
        }
    }
    crate::text::escape(&out).into_owned()
}

fn is_word(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn value_text(v: &Value) -> String {
    crate::text::escape_short(&json(v), MAX_VALUE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_text_is_escaped_everywhere() {
        use super::super::compare::{Field, FieldChange, Key, ObjectChange};
        let evil = "x\u{1b}]0;t\u{7}\n+ forged\u{202e}";
        let key = Key {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: evil.into(),
            name: evil.into(),
            occurrence: 0,
        };
        let change = FieldChange {
            path: vec![Step::Key("data".into()), Step::Key(evil.into())],
            field: Field::Modified(Value::String(evil.into()), Value::Null),
            hidden: false,
        };
        let text = report(&[(key, ObjectChange::Changed(vec![change]))], false);
        assert_eq!(text.lines().count(), 3, "{text}");
        let bad = text
            .chars()
            .find(|&c| (c.is_control() && c != '\n') || c == '\u{202e}');
        assert_eq!(bad, None, "{text:?}");
    }

    #[test]
    fn paths_quote_keys_that_are_not_words() {
        let path = [
            Step::Key("metadata".into()),
            Step::Key("labels".into()),
            Step::Key("app.kubernetes.io/name".into()),
        ];
        assert_eq!(
            path_text(&path),
            "metadata.labels[\"app.kubernetes.io/name\"]"
        );
        let path = [
            Step::Key("containers".into()),
            Step::Named("app".into()),
            Step::Key("env".into()),
            Step::Index(2),
        ];
        assert_eq!(path_text(&path), "containers[name=app].env[2]");
    }
}
