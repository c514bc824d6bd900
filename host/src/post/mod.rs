//! Post-processing: what the host does to the objects components return.
//!
//! Components are untrusted, so every returned manifest is parsed and
//! checked here before it reaches the output: exactly one object per
//! manifest, a valid name, a namespace on namespaced kinds, the host's
//! labels, no object twice, and Helm's install order.

pub(crate) mod names;
mod order;
mod scope;
mod validate;

pub use order::{install_rank, sort_objects};
pub use scope::is_cluster_scoped;
pub use validate::{check_object, parse_manifest};

use serde_json::Value;
use std::collections::BTreeMap;

/// Label every object gets: who manages it.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Label naming the component (subchart) that produced an object; host
/// objects (secrets, RBAC, certificates) carry `host`.
pub const COMPONENT_LABEL: &str = "wasmchart/component";

/// One Kubernetes object on its way to the output.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Full source path as printed after `# Source:`, e.g.
    /// `imprun/charts/redis/templates/service.yaml`.
    pub source: String,
    /// The object itself.
    pub value: Value,
}

impl Object {
    /// `apiVersion`, empty when absent (validated objects always have one).
    pub fn api_version(&self) -> &str {
        self.str_at(&["apiVersion"])
    }

    /// `kind`, empty when absent (validated objects always have one).
    pub fn kind(&self) -> &str {
        self.str_at(&["kind"])
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.str_at(&["metadata", "name"])
    }

    /// `metadata.namespace`, empty for cluster-scoped objects.
    pub fn namespace(&self) -> &str {
        self.str_at(&["metadata", "namespace"])
    }

    fn metadata_mut(&mut self) -> Option<&mut serde_json::Map<String, Value>> {
        self.value
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
    }

    fn str_at(&self, path: &[&str]) -> &str {
        let mut v = &self.value;
        for key in path {
            match v.get(key) {
                Some(next) => v = next,
                None => return "",
            }
        }
        v.as_str().unwrap_or("")
    }
}

/// Errors found while post-processing; each names the source at fault.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// A manifest is not one valid Kubernetes object.
    #[error("{source_path}: {reason}")]
    Invalid {
        /// Full source path of the manifest.
        source_path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The same object came twice.
    #[error(
        "duplicate object {kind} '{name}'{ns} (apiVersion {api_version}) from '{first}' and '{second}'",
        ns = if namespace.is_empty() { String::new() } else { format!(" in namespace '{namespace}'") }
    )]
    Duplicate {
        /// apiVersion of the object.
        api_version: String,
        /// kind of the object.
        kind: String,
        /// namespace, empty for cluster-scoped objects.
        namespace: String,
        /// metadata.name.
        name: String,
        /// Source of the first copy.
        first: String,
        /// Source of the second copy.
        second: String,
    },
}

/// Sets `metadata.namespace` on a namespaced object that lacks one; leaves
/// cluster-scoped kinds untouched (a namespace there is an error in
/// Kubernetes' eyes, so a component-supplied one is removed).
pub fn set_namespace(object: &mut Object, namespace: &str) {
    let cluster_scoped = is_cluster_scoped(object.api_version(), object.kind());
    let Some(metadata) = object.metadata_mut() else {
        return;
    };
    if cluster_scoped {
        metadata.remove("namespace");
    } else if metadata
        .get("namespace")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        metadata.insert("namespace".into(), Value::String(namespace.into()));
    }
}

/// Adds the host's labels: `app.kubernetes.io/managed-by: wasmchart` and
/// the label naming the component. Existing labels are kept, except that
/// these two keys always carry the host's values (a component cannot
/// claim to be another one).
pub fn add_labels(object: &mut Object, component: &str) {
    let Some(metadata) = object.metadata_mut() else {
        return;
    };
    let labels = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(Default::default()));
    if !labels.is_object() {
        *labels = Value::Object(Default::default());
    }
    if let Some(labels) = labels.as_object_mut() {
        labels.insert(MANAGED_BY_LABEL.into(), Value::String("wasmchart".into()));
        labels.insert(COMPONENT_LABEL.into(), Value::String(component.into()));
    }
}

/// Rejects the same object (apiVersion, kind, namespace, name) appearing
/// twice, naming both sources.
pub fn reject_duplicates(objects: &[Object]) -> Result<(), Box<PostError>> {
    let mut seen: BTreeMap<(&str, &str, &str, &str), &str> = BTreeMap::new();
    for o in objects {
        let key = (o.api_version(), o.kind(), o.namespace(), o.name());
        if let Some(first) = seen.insert(key, &o.source) {
            return Err(Box::new(PostError::Duplicate {
                api_version: key.0.into(),
                kind: key.1.into(),
                namespace: key.2.into(),
                name: key.3.into(),
                first: first.into(),
                second: o.source.clone(),
            }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(source: &str, value: Value) -> Object {
        Object {
            source: source.into(),
            value,
        }
    }

    #[test]
    fn namespace_set_only_on_namespaced_kinds() {
        let mut svc = obj(
            "a",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}),
        );
        let mut cr = obj(
            "b",
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "c", "namespace": "x"}}),
        );
        let mut own = obj(
            "c",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m", "namespace": "mine"}}),
        );
        set_namespace(&mut svc, "prod");
        set_namespace(&mut cr, "prod");
        set_namespace(&mut own, "prod");
        assert_eq!(svc.namespace(), "prod");
        assert_eq!(cr.namespace(), "");
        assert_eq!(own.namespace(), "mine");
    }

    #[test]
    fn labels_are_added_and_cannot_be_spoofed() {
        let mut o = obj(
            "a",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "labels": {"x": "y", "wasmchart/component": "other"}}}),
        );
        add_labels(&mut o, "redis");
        assert_eq!(
            o.value["metadata"]["labels"],
            json!({"x": "y", "wasmchart/component": "redis", "app.kubernetes.io/managed-by": "wasmchart"})
        );
    }

    #[test]
    fn duplicates_name_both_sources() {
        let a = obj(
            "u/charts/a/templates/s.yaml",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"}}),
        );
        let mut b = a.clone();
        b.source = "u/charts/b/templates/s.yaml".into();
        let err = reject_duplicates(&[a, b]).unwrap_err().to_string();
        assert!(
            err.contains("u/charts/a/templates/s.yaml")
                && err.contains("u/charts/b/templates/s.yaml"),
            "{err}"
        );
        assert!(err.contains("Service 's' in namespace 'n'"), "{err}");
    }

    #[test]
    fn same_name_in_other_namespace_or_kind_is_fine() {
        let a = obj(
            "x",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"}}),
        );
        let b = obj(
            "y",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "m"}}),
        );
        let c = obj(
            "z",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s", "namespace": "n"}}),
        );
        assert!(reject_duplicates(&[a, b, c]).is_ok());
    }
}
