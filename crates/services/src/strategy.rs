//! The Kubernetes object each strategy emits for one declared secret.
//!
//! - `secret`: a `v1` Secret, `type` Opaque unless set, base64 `data`, annotated
//!   `helm.sh/resource-policy: keep` so uninstalling never loses a password that data on a
//!   volume still depends on.
//! - `sealed`: a `bitnami.com/v1alpha1` SealedSecret with one sealed value per key and the
//!   template metadata the controller copies onto the Secret it creates.
//! - `external`: an `external-secrets.io/v1` ExternalSecret that makes ESO create the Secret
//!   from the store; no value is in the output at all.

use serde_json::{Map, Value, json};
use wasmchart_values::parallel;

use crate::error::Error;
use crate::kubeseal::{SealingCert, scope_label, seal};
use crate::material::SecretValue;
use crate::spec::{ExternalSpec, Scope};

/// Annotation that makes Helm keep a resource on uninstall.
pub const KEEP_ANNOTATION: &str = "helm.sh/resource-policy";
/// Sealed Secrets annotation for namespace-wide scope.
pub const NAMESPACE_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/namespace-wide";
/// Sealed Secrets annotation for cluster-wide scope.
pub const CLUSTER_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/cluster-wide";

/// Where the Secret goes.
pub struct Target<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub secret_type: &'a str,
}

/// A plain Secret holding the values.
pub fn plain_secret(target: &Target<'_>, values: &[(String, SecretValue)]) -> Value {
    use base64::Engine as _;
    let data: Map<String, Value> = values
        .iter()
        .map(|(k, v)| {
            let text = base64::engine::general_purpose::STANDARD.encode(v.expose());
            (k.clone(), Value::String(text))
        })
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": target.name,
            "namespace": target.namespace,
            "annotations": { KEEP_ANNOTATION: "keep" },
        },
        "type": target.secret_type,
        "data": data,
    })
}

/// A SealedSecret with every value sealed for `scope`.
pub fn sealed_secret(
    target: &Target<'_>,
    scope: Scope,
    cert: &SealingCert,
    seal_key: &[u8],
    values: &[(String, SecretValue)],
) -> Result<Value, Error> {
    let label = scope_label(scope, target.namespace, target.name);
    let mut encrypted = Map::new();
    for ((key, _), sealed) in values.iter().zip(seal_all(cert, seal_key, &label, values)) {
        encrypted.insert(key.clone(), Value::String(sealed?));
    }
    let mut metadata = json!({ "name": target.name, "namespace": target.namespace });
    let mut template_metadata = metadata.clone();
    if let Some(annotation) = scope_annotation(scope) {
        // The controller reads the scope from the SealedSecret's annotations; kubeseal also
        // leaves it on the template, so the created Secret records how it was sealed.
        for meta in [&mut metadata, &mut template_metadata] {
            meta["annotations"] = json!({ annotation: "true" });
        }
    }
    Ok(json!({
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": metadata,
        "spec": {
            "encryptedData": encrypted,
            "template": {
                "metadata": template_metadata,
                "type": target.secret_type,
            },
        },
    }))
}

/// Every value sealed, in order. Each seal is an RSA-4096 public-key
/// operation of about 0.3 ms (`benches/benches/seal.rs`), and a render does
/// them before any component runs: the values are split across the cores. Sealing is
/// deterministic, so the output does not depend on how.
fn seal_all(
    cert: &SealingCert,
    seal_key: &[u8],
    label: &str,
    values: &[(String, SecretValue)],
) -> Vec<Result<String, Error>> {
    parallel::map_in_order(values, 1, |(key, value)| {
        seal(cert, seal_key, label, key, value)
    })
}

fn scope_annotation(scope: Scope) -> Option<&'static str> {
    match scope {
        Scope::Strict => None,
        Scope::NamespaceWide => Some(NAMESPACE_WIDE_ANNOTATION),
        Scope::ClusterWide => Some(CLUSTER_WIDE_ANNOTATION),
    }
}

/// An ExternalSecret that reads every key as a property of one store entry.
pub fn external_secret(
    target: &Target<'_>,
    external: &ExternalSpec,
    store_name: &str,
    remote_key: &str,
    keys: &[String],
) -> Value {
    let data: Vec<Value> = keys
        .iter()
        .map(|key| {
            json!({
                "secretKey": key,
                "remoteRef": { "key": remote_key, "property": key },
            })
        })
        .collect();
    let mut target_spec = json!({ "name": target.name, "creationPolicy": "Owner" });
    if target.secret_type != "Opaque" {
        target_spec["template"] = json!({ "type": target.secret_type });
    }
    json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": { "name": target.name, "namespace": target.namespace },
        "spec": {
            "refreshInterval": external.refresh_interval,
            "secretStoreRef": { "kind": external.store_kind, "name": store_name },
            "target": target_spec,
            "data": data,
        },
    })
}
