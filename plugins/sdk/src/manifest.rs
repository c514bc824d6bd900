//! Turning objects into the manifests `render` returns.

use crate::{Manifest, RenderError};
use serde_json::Value;

/// Serialises one Kubernetes object as JSON text for the manifest list.
///
/// `source` is the path shown as `# Source:` (e.g. `templates/service.yaml`);
/// the host parses the JSON, validates it and prints it as YAML.
///
/// # Errors
///
/// [`RenderError::Failed`] when `object` is not a JSON object.
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
pub fn manifest_yaml(source: &str, yaml: impl Into<String>) -> Manifest {
    Manifest {
        source: source.to_string(),
        content: yaml.into(),
    }
}
