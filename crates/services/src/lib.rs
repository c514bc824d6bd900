//! Host services for wasmchart: secrets and certificates, decided outside the sandbox.
//!
//! Components never see secret material. The host reads the umbrella's `secrets:` and
//! `certificates:` values, builds a [`Plan`] before any component runs, hands each component
//! only [`SecretRef`]s and [`CertificateRef`]s (names and keys), and after rendering adds the
//! plan's objects, least-privilege RBAC and rollout checksums to the output.
//!
//! # Brief overview
//!
//! - [`load_root_key`] finds the root key (`--secret-key-file`, `WASMCHART_SECRET_KEY`, or an
//!   automatically created key for the local environment).
//! - [`plan`] resolves every declared key: a supplied value, an environment variable, or a value
//!   *derived* with HKDF-SHA256 from the root key, chart, environment, secret id, key and
//!   rotation generation, so it is identical on every render and every machine.
//! - Each secret becomes a Secret, a kubeseal-compatible SealedSecret (deterministic
//!   ciphertext) or an ExternalSecret, per `secrets.strategy`.
//! - [`Plan::rbac_objects`] and [`Plan::apply_to_workloads`] give each consuming component a
//!   ServiceAccount, a Role limited to its Secrets, and `checksum/secret-<name>` annotations.
//! - [`generations::bump`] records a rotation in `secret-generations.yaml`.
//!
//! # Example
//!
//! ```
//! use serde_json::json;
//! use wasmchart_services::{Context, RootKey, plan};
//!
//! let values = json!({"secrets": {"items": {"jwt": {
//!     "keys": {"JWT_SECRET": {"generate": {"length": 32, "encoding": "base64"}}}
//! }}}});
//! let ctx = Context {
//!     chart: "imprun".into(),
//!     env: "staging".into(),
//!     release: "imprun".into(),
//!     namespace: "imprun-system".into(),
//!     chart_dir: std::env::temp_dir(),
//!     root_key: Some(RootKey::parse(&"11".repeat(32)).unwrap()),
//!     seal_cert_pem: None,
//! };
//! let plan = plan(&values, &ctx, &|_| None).unwrap();
//! let refs = plan.secret_refs("imprun-server", &json!({"usesSecrets": ["jwt"]})).unwrap();
//! assert_eq!(refs[0].secret_name, "imprun-jwt");
//! assert_eq!(plan.objects()[0].object["kind"], "Secret");
//! ```

mod certs;
mod derive;
mod error;
mod export;
pub mod generations;
mod inventory;
pub mod kubeseal;
mod material;
mod plan;
mod rbac;
mod root_key;
mod spec;
mod strategy;
mod workloads;

use std::path::PathBuf;

pub use derive::{Encoding, GenerateSpec, ValueAddress, generate};
pub use error::{Error, MissingKey};
pub use export::export_document;
pub use inventory::{KeySummary, SecretSummary, inventory, used_secret_ids};
pub use material::{MIN_ROOT_KEY_BYTES, RootKey, SecretValue};
pub use plan::{
    CertificateRef, DERIVED_FOR_ANNOTATION, ExternalPayload, Plan, SecretRef, derived_for, plan,
};
pub use root_key::{
    CONFIG_DIR_ENV, LOCAL_KEY_FILE, RootKeyOptions, SECRET_KEY_ENV, config_dir, is_local_env,
    load_root_key,
};
pub use spec::{Scope, Strategy};
pub use workloads::checksum_annotation;

/// Facts about the render that secrets depend on.
#[derive(Debug, Clone)]
pub struct Context {
    /// Umbrella chart name (`Chart.yaml` `name`); part of every derived value.
    pub chart: String,
    /// Environment (`--env`); part of every derived value.
    pub env: String,
    /// Release name; default Secret names are `<release>-<id>`.
    pub release: String,
    /// Release namespace; every namespaced object is placed there, and strict sealing binds to it.
    pub namespace: String,
    /// Chart directory, where `secret-generations.yaml` lives.
    pub chart_dir: PathBuf,
    /// The root key, if one is configured (see [`load_root_key`]).
    pub root_key: Option<RootKey>,
    /// PEM text of the sealed-secrets controller certificate (`--seal-cert`).
    pub seal_cert_pem: Option<String>,
}

/// One object the host adds to the output, with the source path printed in `# Source:`.
#[derive(Debug, Clone, PartialEq)]
pub struct HostObject {
    /// Path relative to the chart's host-generated files, e.g. `secrets/jwt.yaml`.
    pub source: String,
    /// The Kubernetes object.
    pub object: serde_json::Value,
}

/// Placeholder printed instead of a supplied secret value.
pub const REDACTED: &str = "(redacted)";

/// Replaces every supplied secret value (`secrets.items.<id>.keys.<key>.value`)
/// in umbrella values with [`REDACTED`], so that printing values
/// (`wasmchart values`, `--explain`) never shows secret material.
pub fn redact_supplied(umbrella_values: &mut serde_json::Value) {
    let Some(items) = umbrella_values
        .pointer_mut("/secrets/items")
        .and_then(serde_json::Value::as_object_mut)
    else {
        return;
    };
    for item in items.values_mut() {
        let keys = item
            .get_mut("keys")
            .and_then(serde_json::Value::as_object_mut);
        for key in keys.into_iter().flat_map(|k| k.values_mut()) {
            if let Some(value) = key.get_mut("value").filter(|v| !v.is_null()) {
                *value = serde_json::Value::String(REDACTED.into());
            }
        }
    }
}
