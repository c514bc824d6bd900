//! Turning objects into the manifests `render` returns.

use crate::{Manifest, RenderError, to_object};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Serialises one Kubernetes object as JSON text for the manifest list.
///
/// `source` is the path shown as `# Source:` (e.g. `templates/service.yaml`);
/// the host parses the JSON, validates it and prints it as YAML.
///
/// # Errors
///
/// [`RenderError::Failed`] when `object` is not a JSON object.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{manifest, serde_json::json};
///
/// let m = manifest("templates/cm.yaml", &json!({"apiVersion": "v1", "kind": "ConfigMap"}))?;
/// assert_eq!(m.source, "templates/cm.yaml");
/// assert!(manifest("templates/x.yaml", &json!([1])).is_err(), "one object, not a list");
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
pub fn manifest(source: &str, object: &Value) -> Result<Manifest, RenderError> {
    if !object.is_object() {
        return Err(RenderError::Failed(format!(
            "manifest for '{source}' is not an object"
        )));
    }
    let content = serde_json::to_string(object)
        .map_err(|e| RenderError::Failed(format!("cannot serialise '{source}': {e}")))?;
    Ok(Manifest {
        source: source.to_string(),
        content,
    })
}

/// Wraps YAML text the component produced itself as a manifest.
///
/// Useful for objects kept as YAML templates inside the component.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::manifest_yaml;
///
/// let m = manifest_yaml("templates/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n");
/// assert!(m.content.starts_with("apiVersion: v1"));
/// ```
pub fn manifest_yaml(source: &str, yaml: impl Into<String>) -> Manifest {
    Manifest {
        source: source.to_string(),
        content: yaml.into(),
    }
}

/// An object's `metadata`: `name`, `labels`, and `annotations` when there
/// are any (an empty map is left out, as Helm's `with` does), so every
/// component spells its objects' metadata the same way.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// use wasmchart_sdk::{object_meta, serde_json::json};
///
/// let labels = BTreeMap::from([("app".to_string(), "x".to_string())]);
/// assert_eq!(object_meta("x", &labels, &BTreeMap::new()), json!({"name": "x", "labels": {"app": "x"}}));
/// ```
pub fn object_meta(
    name: &str,
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> Value {
    let mut meta = json!({ "name": name, "labels": to_object(labels) });
    if !annotations.is_empty() {
        meta["annotations"] = to_object(annotations);
    }
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_meta_leaves_out_empty_annotations() {
        let labels = BTreeMap::from([("a".to_string(), "1".to_string())]);
        assert_eq!(
            object_meta("x", &labels, &BTreeMap::new()),
            json!({"name": "x", "labels": {"a": "1"}})
        );
        assert_eq!(
            object_meta("x", &labels, &labels),
            json!({"name": "x", "labels": {"a": "1"}, "annotations": {"a": "1"}})
        );
    }
}
