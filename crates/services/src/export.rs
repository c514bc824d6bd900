//! The document `wasmchart secrets export` writes for the `external` strategy: one JSON object
//! whose keys are the store entries (`remoteRef.key`) and whose values are objects of
//! properties (`remoteRef.property` → value), exactly what the rendered ExternalSecrets read.
//!
//! ```json
//! {
//!   "imprun/production/jwt": {"JWT_SECRET": "..."}
//! }
//! ```
//!
//! The text is built in a buffer that is wiped when dropped, and returned as a
//! [`SecretValue`], so it is never printed by accident.

use crate::error::Error;
use crate::material::SecretValue;
use crate::plan::ExternalPayload;

/// Builds the export document from [`crate::Plan::external_payloads`], entries sorted by store
/// key. Values must be UTF-8 text (JSON strings); a binary value is an error naming it.
pub fn export_document(payloads: &[ExternalPayload]) -> Result<SecretValue, Error> {
    let mut sorted: Vec<&ExternalPayload> = payloads.iter().collect();
    sorted.sort_by(|a, b| a.remote_key.cmp(&b.remote_key));
    let mut out = zeroize::Zeroizing::new(String::from("{"));
    for (i, payload) in sorted.iter().enumerate() {
        out.push_str(if i == 0 { "\n  " } else { ",\n  " });
        push_json_string(&mut out, &payload.remote_key);
        out.push_str(": {");
        for (j, (key, value)) in payload.properties.iter().enumerate() {
            let text = std::str::from_utf8(value.expose()).map_err(|_| {
                Error::values(
                    format!("secrets.items.{}.keys.{key}", payload.id),
                    "the value is not UTF-8 text, so it cannot be exported as a JSON string",
                )
            })?;
            if j > 0 {
                out.push_str(", ");
            }
            push_json_string(&mut out, key);
            out.push_str(": ");
            push_json_string(&mut out, text);
        }
        out.push('}');
    }
    out.push_str(if sorted.is_empty() { "}\n" } else { "\n}\n" });
    Ok(SecretValue::new(out.as_bytes().to_vec()))
}

/// Appends `s` as a JSON string literal, escaping in place (no intermediate copy).
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(key: &str, props: &[(&str, &str)]) -> ExternalPayload {
        ExternalPayload {
            id: "x".into(),
            remote_key: key.into(),
            properties: props
                .iter()
                .map(|(k, v)| (k.to_string(), SecretValue::new(v.as_bytes().to_vec())))
                .collect(),
            missing_optional: Vec::new(),
        }
    }

    #[test]
    fn document_is_json_sorted_by_store_key_and_escaped() {
        let doc = export_document(&[
            payload("p/b", &[("K", "a\"b\\c\n\u{1}")]),
            payload("p/a", &[("A", "1"), ("B", "2")]),
        ])
        .unwrap();
        let text = std::str::from_utf8(doc.expose()).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({"p/a": {"A": "1", "B": "2"}, "p/b": {"K": "a\"b\\c\n\u{1}"}})
        );
        assert!(
            text.find("p/a").unwrap() < text.find("p/b").unwrap(),
            "{text}"
        );
        assert_eq!(export_document(&[]).unwrap().expose(), b"{}\n");
    }

    #[test]
    fn binary_value_is_an_error_naming_the_key() {
        let mut p = payload("p/a", &[]);
        p.properties
            .push(("BIN".into(), SecretValue::new(vec![0xff, 0xfe])));
        let err = export_document(&[p]).unwrap_err().to_string();
        assert!(
            err.contains("secrets.items.x.keys.BIN") && err.contains("UTF-8"),
            "{err}"
        );
    }
}
