//! Least-privilege RBAC for a component that consumes host-managed secrets: one
//! ServiceAccount, one Role allowing `get` on exactly the consumed Secrets (by
//! `resourceNames`), and one RoleBinding between them.

use serde_json::{Value, json};

/// Names of the RBAC objects for one subchart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbacNames {
    /// The ServiceAccount the component's pods run as (unless they name their own).
    pub service_account: String,
    /// The Role and the RoleBinding.
    pub role: String,
}

impl RbacNames {
    /// `<release>-<subchart>-secrets` for the account, `<release>-<subchart>-secret-reader` for
    /// the Role and RoleBinding. The suffixes keep clear of the `<release>-<subchart>` account
    /// many charts create for themselves.
    pub fn new(release: &str, subchart: &str) -> Self {
        RbacNames {
            service_account: format!("{release}-{subchart}-secrets"),
            role: format!("{release}-{subchart}-secret-reader"),
        }
    }
}

/// The three objects. `secret_names` must be non-empty, sorted and unique; `extra_accounts`
/// are further accounts (named by the component's own pod templates) bound to the Role. When
/// `with_account` is false no pod runs as the host's account, so it is neither created nor bound.
pub fn objects(
    names: &RbacNames,
    namespace: &str,
    secret_names: &[String],
    extra_accounts: &[String],
    with_account: bool,
) -> Vec<Value> {
    let account = json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": { "name": names.service_account, "namespace": namespace },
    });
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": { "name": names.role, "namespace": namespace },
        "rules": [{
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": secret_names,
            "verbs": ["get"],
        }],
    });
    let own = with_account.then_some(&names.service_account);
    let subjects: Vec<Value> = own
        .into_iter()
        .chain(extra_accounts)
        .map(|sa| json!({ "kind": "ServiceAccount", "name": sa, "namespace": namespace }))
        .collect();
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": { "name": names.role, "namespace": namespace },
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": names.role,
        },
        "subjects": subjects,
    });
    let mut out = Vec::with_capacity(3);
    if with_account {
        out.push(account);
    }
    out.extend([role, binding]);
    out
}
