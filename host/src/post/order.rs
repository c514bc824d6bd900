//! Helm's install order (`kind_sorter.go`): the order in which `helm
//! install` creates objects, and in which `helm template` prints them.

use super::Object;

/// Kinds in install order. Kinds not listed come after all of these,
/// alphabetically by kind.
const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Sort key of a kind: its position in the install order, or past the end
/// (ties among unknown kinds are broken by kind name in [`sort_objects`]).
pub fn install_rank(kind: &str) -> usize {
    INSTALL_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(INSTALL_ORDER.len())
}

/// Sorts objects as Helm does: by kind rank, unknown kinds alphabetically
/// after the known ones, and objects of one kind by source path (plain
/// string order), keeping their original order within one source.
pub fn sort_objects(objects: &mut [Object]) {
    objects.sort_by(|a, b| {
        let (ka, kb) = (a.kind(), b.kind());
        install_rank(ka)
            .cmp(&install_rank(kb))
            .then_with(|| {
                if install_rank(ka) == INSTALL_ORDER.len() {
                    ka.cmp(kb)
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .then_with(|| a.source.cmp(&b.source))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// Helm's own output order for one template per kind, from
    /// `tests/data/install_order.json` (computed by the Helm SDK).
    #[test]
    fn matches_helm_observed_order() {
        let data: Value =
            serde_json::from_str(include_str!("../../tests/data/install_order.json")).unwrap();
        let observed = data["observed"].as_array().unwrap();
        let mut objects: Vec<Object> = observed
            .iter()
            .rev()
            .map(|o| Object {
                source: o["source"].as_str().unwrap().into(),
                value: json!({"kind": o["kind"], "metadata": {"name": o["name"]}}),
            })
            .collect();
        sort_objects(&mut objects);
        let got: Vec<&str> = objects.iter().map(Object::kind).collect();
        let want: Vec<&str> = observed
            .iter()
            .map(|o| o["kind"].as_str().unwrap())
            .collect();
        assert_eq!(got, want);
        let listed: Vec<&str> = data["install_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(listed, INSTALL_ORDER);
    }

    #[test]
    fn ties_sort_by_source_as_plain_strings_then_keep_document_order() {
        let mk = |source: &str, name: &str| Object {
            source: source.into(),
            value: json!({"kind": "ConfigMap", "metadata": {"name": name}}),
        };
        let mut objects = vec![
            mk("c/templates/9-x.yaml", "a"),
            mk("c/templates/10-x.yaml", "b"),
            mk("c/templates/10-x.yaml", "c"),
        ];
        sort_objects(&mut objects);
        let names: Vec<&str> = objects.iter().map(Object::name).collect();
        assert_eq!(names, ["b", "c", "a"]);
    }
}
