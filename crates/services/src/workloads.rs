//! Pod templates in a component's manifests: which Secrets they reference, and the edits the
//! host makes to them (service account, `checksum/secret-<name>` annotations).

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::material::to_hex;

/// The pod template of a workload object, if it is one of the kinds that roll out pods.
pub fn pod_template_mut(object: &mut Value) -> Option<&mut Value> {
    let pointer = template_pointer(object)?;
    object.pointer_mut(pointer).filter(|t| t.is_object())
}

/// Read-only variant of [`pod_template_mut`].
pub fn pod_template(object: &Value) -> Option<&Value> {
    let pointer = template_pointer(object)?;
    object.pointer(pointer).filter(|t| t.is_object())
}

fn template_pointer(object: &Value) -> Option<&'static str> {
    match object.get("kind")?.as_str()? {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => Some("/spec/template"),
        "CronJob" => Some("/spec/jobTemplate/spec/template"),
        _ => None,
    }
}

/// Names of Secrets a pod template references through env `secretKeyRef`, `envFrom`
/// `secretRef`, `secret` volumes and projected `secret` sources.
pub fn referenced_secrets(template: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let Some(spec) = template.get("spec") else {
        return names;
    };
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        for container in array(spec.get(list)) {
            for env in array(container.get("env")) {
                add(&mut names, env.pointer("/valueFrom/secretKeyRef/name"));
            }
            for from in array(container.get("envFrom")) {
                add(&mut names, from.pointer("/secretRef/name"));
            }
        }
    }
    for volume in array(spec.get("volumes")) {
        add(&mut names, volume.pointer("/secret/secretName"));
        for source in array(volume.pointer("/projected/sources")) {
            add(&mut names, source.pointer("/secret/name"));
        }
    }
    names
}

fn array(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten()
}

fn add(names: &mut BTreeSet<String>, v: Option<&Value>) {
    if let Some(name) = v.and_then(Value::as_str) {
        names.insert(name.to_string());
    }
}

/// The service account a pod template names itself, if any.
pub fn own_service_account(template: &Value) -> Option<&str> {
    let spec = template.get("spec")?;
    spec.get("serviceAccountName")
        .or_else(|| spec.get("serviceAccount"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Sets `spec.serviceAccountName` unless the template names one already.
pub fn set_service_account(template: &mut Value, name: &str) {
    if own_service_account(template).is_some() {
        return;
    }
    if let Some(spec) = template.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("serviceAccountName".into(), Value::String(name.into()));
    }
}

/// Sets one annotation on the template's metadata, creating maps as needed.
pub fn annotate(template: &mut Value, key: &str, value: &str) {
    let Some(obj) = template.as_object_mut() else {
        return;
    };
    let metadata = object_entry(obj, "metadata");
    let annotations = object_entry(metadata, "annotations");
    annotations.insert(key.into(), Value::String(value.into()));
}

fn object_entry<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(m) => m,
        _ => unreachable!("just made an object"),
    }
}

/// The annotation key for a Secret: `checksum/secret-<name>`, shortened with a hash suffix
/// when it would pass the 63-character limit of an annotation name.
pub fn checksum_annotation(secret_name: &str) -> String {
    const MAX: usize = 63;
    let full = format!("secret-{secret_name}");
    if full.len() <= MAX {
        return format!("checksum/{full}");
    }
    let hash = to_hex(&Sha256::digest(secret_name.as_bytes()))[..8].to_string();
    let keep = MAX - hash.len() - 1;
    format!("checksum/{}-{hash}", &full[..keep])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_every_kind_of_reference() {
        let t = json!({"spec": {
            "containers": [{"env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k"}}},
                                     {"name": "B", "value": "x"}],
                            "envFrom": [{"secretRef": {"name": "s2"}}, {"configMapRef": {"name": "c"}}]}],
            "initContainers": [{"env": [{"name": "C", "valueFrom": {"secretKeyRef": {"name": "s3", "key": "k"}}}]}],
            "volumes": [{"name": "v", "secret": {"secretName": "s4"}},
                        {"name": "p", "projected": {"sources": [{"secret": {"name": "s5"}}]}}]
        }});
        let names: Vec<_> = referenced_secrets(&t).into_iter().collect();
        assert_eq!(names, ["s1", "s2", "s3", "s4", "s5"]);
    }

    #[test]
    fn cronjob_template_is_nested() {
        let mut cj = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}});
        set_service_account(pod_template_mut(&mut cj).unwrap(), "sa");
        assert_eq!(
            cj.pointer("/spec/jobTemplate/spec/template/spec/serviceAccountName"),
            Some(&json!("sa"))
        );
        assert!(pod_template(&json!({"kind": "ConfigMap"})).is_none());
    }

    #[test]
    fn long_names_give_valid_annotation_keys() {
        assert_eq!(checksum_annotation("db"), "checksum/secret-db");
        let long = "a".repeat(100);
        let key = checksum_annotation(&long);
        assert_eq!(key.len() - "checksum/".len(), 63);
        assert_ne!(key, checksum_annotation(&"a".repeat(99)));
    }
}
