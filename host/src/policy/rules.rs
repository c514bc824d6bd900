//! The object rules: what a render may emit under a policy, and the one
//! rule that holds with no policy at all (no shadowing of host Secrets).
//!
//! Every violation is collected, so that one failed render lists all of
//! them, each naming who emitted the object, the object, its source and the
//! rule (by its key in the policy file).

use super::Policy;
use super::kinds::group_of;
use crate::post::{Object, is_cluster_scoped};
use crate::text::escape;
use serde_json::Value;
use std::collections::BTreeSet;

/// Kinds denied whenever a policy is in force unless `kinds.allow` lists
/// them: they change how the whole cluster admits, serves or validates
/// objects, far beyond one release.
const BUILT_IN_DENIED: &[(&str, &str)] = &[
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("apiregistration.k8s.io", "APIService"),
];

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// One object a rule refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Who emitted it: `component 'a'`, or `the host`.
    pub who: String,
    /// `Kind 'name'`, with ` in namespace 'ns'` when it has one.
    pub object: String,
    /// Its source path.
    pub source: String,
    /// The rule, as its key in the policy file (`clusterScoped`, ...).
    pub rule: &'static str,
    /// Why, in a few words.
    pub reason: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} ({}): {} [rule {}]",
            self.who,
            self.object,
            escape(&self.source),
            self.reason,
            self.rule
        )
    }
}

/// Names of the Secrets the host manages: its Secrets, SealedSecrets and
/// ExternalSecrets, and the Secrets its Certificates fill.
pub fn host_secret_names<'a>(
    host_objects: impl IntoIterator<Item = &'a Value>,
) -> BTreeSet<String> {
    host_objects.into_iter().flat_map(secret_targets).collect()
}

/// The Secret names an object writes, whatever its API group: a Secret
/// itself, or a controller-managed kind that creates or fills one.
/// (Matching by kind alone is stricter than by group, and never wrong for
/// a refusal.)
fn secret_targets(o: &Value) -> Vec<String> {
    let at = |path: &str| o.pointer(path).and_then(Value::as_str).map(str::to_string);
    let name = at("/metadata/name");
    let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
    let names = match kind {
        "Secret" => vec![name],
        "SealedSecret" => vec![name, at("/spec/template/metadata/name")],
        "ExternalSecret" => vec![name, at("/spec/target/name")],
        "ClusterExternalSecret" => vec![
            at("/spec/externalSecretName"),
            at("/spec/externalSecretSpec/target/name"),
        ],
        "PushSecret" => vec![at("/spec/selector/secret/name")],
        "Certificate" => vec![at("/spec/secretName")],
        _ => Vec::new(),
    };
    names
        .into_iter()
        .flatten()
        .filter(|n| !n.is_empty())
        .collect()
}

/// Checks objects against the policy (if any) and the built-in rules.
pub struct Checker<'a> {
    policy: Option<&'a Policy>,
    namespace: &'a str,
    host_secrets: BTreeSet<String>,
}

impl<'a> Checker<'a> {
    /// A checker for a release in `namespace` whose host-managed Secrets
    /// are `host_secrets`.
    pub fn new(
        policy: Option<&'a Policy>,
        namespace: &'a str,
        host_secrets: BTreeSet<String>,
    ) -> Self {
        Checker {
            policy,
            namespace,
            host_secrets,
        }
    }

    /// Adds to `out` every rule `objects` (emitted by `who`) break.
    /// `component` is false for the host's own objects, which may of course
    /// write the host's Secrets.
    pub fn check(&self, who: &str, objects: &[Object], component: bool, out: &mut Vec<Violation>) {
        for o in objects {
            let mut refuse = |rule: &'static str, reason: String| {
                out.push(Violation {
                    who: who.to_string(),
                    object: describe(o),
                    source: o.source.clone(),
                    rule,
                    reason,
                });
            };
            if component {
                self.check_shadow(o, &mut refuse);
            }
            if let Some(policy) = self.policy {
                self.check_policy(policy, o, &mut refuse);
            }
        }
    }

    fn check_shadow(&self, o: &Object, refuse: &mut impl FnMut(&'static str, String)) {
        let allowed = self.policy.is_some_and(|p| p.allow_host_secret_shadow);
        if allowed {
            return;
        }
        for target in secret_targets(&o.value) {
            if self.host_secrets.contains(&target) {
                refuse(
                    "hostSecrets.allowShadow",
                    format!(
                        "it names the host-managed Secret '{}'; only the host writes it",
                        escape(&target)
                    ),
                );
            }
        }
    }

    fn check_policy(
        &self,
        policy: &Policy,
        o: &Object,
        refuse: &mut impl FnMut(&'static str, String),
    ) {
        let (api_version, kind) = (o.api_version(), o.kind());
        if let Some(p) = policy
            .deny_kinds
            .iter()
            .find(|p| p.matches(api_version, kind))
        {
            refuse("kinds.deny", format!("the policy denies {p}"));
        }
        let allowed = policy.allows(api_version, kind);
        let group = group_of(api_version);
        if !allowed && BUILT_IN_DENIED.contains(&(group, kind)) {
            refuse(
                "kinds.allow",
                format!("{group}/{kind} is denied under a policy unless kinds.allow lists it"),
            );
        }
        if !policy.allow_cluster_admin
            && group == RBAC_GROUP
            && let Some(reason) = cluster_admin(&o.value, kind)
        {
            refuse("rbac.allowClusterAdmin", reason);
        }
        if policy.deny_cluster_scoped && !allowed && is_cluster_scoped(api_version, kind) {
            refuse(
                "clusterScoped",
                "it is cluster-scoped, and the policy denies cluster-scoped objects".into(),
            );
        }
        let ns = o.namespace();
        if policy.deny_other_namespaces && !ns.is_empty() && ns != self.namespace {
            refuse(
                "namespaces.allowOther",
                format!(
                    "its namespace is not the release namespace '{}'",
                    escape(self.namespace)
                ),
            );
        }
    }
}

/// Why an RBAC object amounts to cluster-admin, if it does: a binding to
/// the `cluster-admin` ClusterRole, or a role granting every verb on every
/// resource.
fn cluster_admin(o: &Value, kind: &str) -> Option<String> {
    let has_star = |v: Option<&Value>| {
        v.and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some("*")))
    };
    match kind {
        "ClusterRoleBinding" | "RoleBinding" => {
            let role = o.pointer("/roleRef/name").and_then(Value::as_str)?;
            let role_kind = o.pointer("/roleRef/kind").and_then(Value::as_str);
            (role == "cluster-admin" && role_kind.is_none_or(|k| k == "ClusterRole"))
                .then(|| "it binds the cluster-admin ClusterRole".to_string())
        }
        "ClusterRole" | "Role" => {
            let rules = o.get("rules").and_then(Value::as_array)?;
            rules
                .iter()
                .any(|r| has_star(r.get("verbs")) && has_star(r.get("resources")))
                .then(|| "it grants every verb ('*') on every resource ('*')".to_string())
        }
        _ => None,
    }
}

/// `Kind 'name'` and its namespace, escaped.
fn describe(o: &Object) -> String {
    let ns = o.namespace();
    let mut s = format!("{} '{}'", escape(o.kind()), escape(o.name()));
    if !ns.is_empty() {
        s.push_str(&format!(" in namespace '{}'", escape(ns)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Object {
        Object {
            source: "u/charts/a/templates/x.yaml".into(),
            value,
        }
    }

    fn rules(policy: Option<&Policy>, objects: &[Object]) -> Vec<&'static str> {
        let host = [json!({"kind": "Secret", "metadata": {"name": "jwt"}})];
        let checker = Checker::new(policy, "prod", host_secret_names(&host));
        let mut out = Vec::new();
        checker.check("component 'a'", objects, true, &mut out);
        out.iter().map(|v| v.rule).collect()
    }

    #[test]
    fn host_secrets_cannot_be_shadowed_even_without_a_policy() {
        let shadows = [
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "jwt", "namespace": "other"}}),
            json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "x"}, "spec": {"target": {"name": "jwt"}}}),
            json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"name": "x"}, "spec": {"template": {"metadata": {"name": "jwt"}}}}),
            json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "x"}, "spec": {"secretName": "jwt"}}),
        ];
        for s in shadows {
            assert_eq!(
                rules(None, &[obj(s.clone())]),
                ["hostSecrets.allowShadow"],
                "{s}"
            );
        }
        let fine = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "jwt"}});
        assert!(rules(None, &[obj(fine)]).is_empty());
        let allow = Policy {
            allow_host_secret_shadow: true,
            ..Policy::default()
        };
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "jwt"}});
        assert!(rules(Some(&allow), &[obj(secret)]).is_empty());
    }

    #[test]
    fn policy_rules() {
        let strict = Policy {
            deny_cluster_scoped: true,
            deny_other_namespaces: true,
            deny_kinds: vec![super::super::KindPattern::parse("PodSecurityPolicy").unwrap()],
            ..Policy::default()
        };
        let crb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "x"}, "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}});
        assert_eq!(
            rules(Some(&strict), &[obj(crb)]),
            ["rbac.allowClusterAdmin", "clusterScoped"]
        );
        let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "x", "namespace": "prod"}, "rules": [{"apiGroups": [""], "resources": ["*"], "verbs": ["*"]}]});
        assert_eq!(
            rules(Some(&strict), &[obj(role)]),
            ["rbac.allowClusterAdmin"]
        );
        let hook = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration", "metadata": {"name": "x"}});
        assert_eq!(
            rules(Some(&strict), &[obj(hook.clone())]),
            ["kinds.allow", "clusterScoped"]
        );
        let allowing = Policy {
            allow_kinds: vec![
                super::super::KindPattern::parse("MutatingWebhookConfiguration").unwrap(),
            ],
            ..strict.clone()
        };
        assert!(rules(Some(&allowing), &[obj(hook)]).is_empty());
        let other_ns = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "kube-system"}});
        assert_eq!(
            rules(Some(&strict), &[obj(other_ns.clone())]),
            ["namespaces.allowOther"]
        );
        assert!(rules(None, &[obj(other_ns)]).is_empty());
        let psp = json!({"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": "x"}});
        assert_eq!(
            rules(Some(&strict), &[obj(psp)]),
            ["kinds.deny", "clusterScoped"]
        );
    }
}
