//! Parsing and checking one manifest returned by a component.

use super::names::check_name;
use crate::text::escape_short;
use serde_json::Value;
use wasmchart_values::yaml::kind_name;

/// Parses a manifest's text (YAML or JSON) into exactly one Kubernetes
/// object and checks `apiVersion`, `kind` and `metadata.name`.
///
/// The text is read with the same YAML 1.1 rules the values engine (and
/// Kubernetes' own YAML reader) uses, so `on` in a manifest means what it
/// would mean to `kubectl apply`.
///
/// # Errors
///
/// A one-line reason without the source path (the caller adds it): not
/// YAML, no object, more than one object, or a missing or invalid field.
pub fn parse_manifest(content: &str, origin: &str) -> Result<Value, String> {
    if let Some(object) = json_object(content) {
        check_object(&object)?;
        return Ok(object);
    }
    let mut docs = wasmchart_values::yaml::parse_documents(content, origin)
        .map_err(|e| format!("manifest is not valid YAML or JSON: {e}"))?;
    let object = match docs.len() {
        0 => return Err("manifest holds no object".into()),
        1 => docs.remove(0),
        n => {
            return Err(format!(
                "manifest holds {n} objects; return each object as its own manifest"
            ));
        }
    };
    check_object(&object)?;
    Ok(object)
}

/// A manifest written as one JSON object, read as JSON. The YAML reader
/// reads values as Helm does (YAML 1.1), where NEL, LS and PS are line
/// breaks that fold inside quoted strings; JSON text from a component means
/// them as characters, so it must not go through YAML's rules.
fn json_object(content: &str) -> Option<Value> {
    if !content.trim_start().starts_with('{') {
        return None;
    }
    serde_json::from_str::<Value>(content)
        .ok()
        .filter(Value::is_object)
}

/// Checks an object already parsed (a document of a `crds/` file): the same
/// rules [`parse_manifest`] applies to what a component returns.
///
/// # Errors
///
/// A one-line reason without the source path, as for [`parse_manifest`].
pub fn check_object(object: &Value) -> Result<(), String> {
    let Some(map) = object.as_object() else {
        return Err(format!("manifest is {}, not an object", kind_name(object)));
    };
    let api_version = required_str(map.get("apiVersion"), "apiVersion")?;
    check_api_version(api_version)?;
    let kind = required_str(map.get("kind"), "kind")?;
    if !kind.starts_with(|c: char| c.is_ascii_uppercase())
        || !kind.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(format!(
            "kind '{}' is not a Kubernetes kind (CamelCase, letters and digits)",
            escape_short(kind, 300)
        ));
    }
    let metadata = map
        .get("metadata")
        .and_then(Value::as_object)
        .ok_or("object has no metadata map")?;
    let name = required_str(metadata.get("name"), "metadata.name")?;
    check_name(kind, name)?;
    if let Some(ns) = metadata.get("namespace") {
        let ns = ns.as_str().ok_or("metadata.namespace must be a string")?;
        if !ns.is_empty() {
            check_name("Namespace", ns)
                .map_err(|e| e.replace("metadata.name", "metadata.namespace"))?;
        }
    }
    check_string_map(metadata.get("labels"), "metadata.labels")?;
    check_string_map(metadata.get("annotations"), "metadata.annotations")?;
    Ok(())
}

fn required_str<'a>(v: Option<&'a Value>, field: &str) -> Result<&'a str, String> {
    match v {
        None | Some(Value::Null) => Err(format!("object has no {field}")),
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(format!("{field} is empty")),
        Some(other) => Err(format!(
            "{field} must be a string, not {}",
            kind_name(other)
        )),
    }
}

fn check_api_version(v: &str) -> Result<(), String> {
    let (group, version) = v.rsplit_once('/').unwrap_or(("", v));
    let version_ok = !version.is_empty()
        && version
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let group_ok = group.is_empty() || check_name("ConfigMap", group).is_ok();
    if version_ok && group_ok && v.matches('/').count() <= 1 {
        Ok(())
    } else {
        Err(format!(
            "apiVersion '{}' is not of the form 'version' or 'group/version'",
            escape_short(v, 300)
        ))
    }
}

fn check_string_map(v: Option<&Value>, field: &str) -> Result<(), String> {
    match v {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(m)) => match m.iter().find(|(_, v)| !v.is_string()) {
            Some((k, v)) => Err(format!(
                "{field}.{} must be a string, not {}",
                escape_short(k, 300),
                kind_name(v)
            )),
            None => Ok(()),
        },
        Some(other) => Err(format!("{field} must be a map, not {}", kind_name(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_yaml_and_json() {
        let y = parse_manifest(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
            "t",
        )
        .unwrap();
        let j = parse_manifest(
            r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}"#,
            "t",
        )
        .unwrap();
        assert_eq!(y, j);
    }

    #[test]
    fn rejects_bad_manifests_with_reasons() {
        let cases = [
            ("a: [", "not valid YAML"),
            ("", "no object"),
            (
                "apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\napiVersion: v1\nkind: B\nmetadata: {name: b}\n",
                "2 objects",
            ),
            ("apiVersion: v1\nmetadata: {name: a}\n", "no kind"),
            ("kind: ConfigMap\nmetadata: {name: a}\n", "no apiVersion"),
            ("apiVersion: v1\nkind: ConfigMap\n", "no metadata"),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n",
                "RFC 1123",
            ),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {x: 1}}\n",
                "labels.x must be a string",
            ),
            ("- a\n", "not an object"),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"a\\e[2J\\nb\"}\n",
                "metadata.name 'a\\x1b[2J\\nb'",
            ),
            (
                "apiVersion: a/b/c\nkind: ConfigMap\nmetadata: {name: a}\n",
                "apiVersion 'a/b/c'",
            ),
        ];
        for (text, want) in cases {
            let err = parse_manifest(text, "t").unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
