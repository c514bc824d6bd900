//! Unit-testing a component's `render` on the host triple, without a host.
//!
//! A component's logic is a pure function of its [`RenderInput`], so it can
//! be tested with plain `cargo test`: build an input the way the host would
//! with [`input`], call the function, and read the objects back with
//! [`objects`]. (Calls to [`crate::log`] need the host and are not available
//! in such tests.)
//!
//! ```
//! use wasmchart_sdk::{RenderOutput, manifest, serde_json::json, testing};
//!
//! let input = testing::input("demo", json!({"replicas": 2}));
//! assert_eq!(input.release.namespace, "default");
//! let output = RenderOutput {
//!     manifests: vec![manifest("templates/cm.yaml", &json!({"kind": "ConfigMap"})).unwrap()],
//!     notes: None,
//! };
//! assert_eq!(testing::objects(&output)[0]["kind"], "ConfigMap");
//! ```

use crate::{Capabilities, ChartInfo, Release, RenderInput, RenderOutput};
use serde_json::Value;

/// The input the host would pass for a first install of release `release`
/// (namespace `default`, revision 1) of chart `chart` at version 0.1.0,
/// on Kubernetes v1.31.0 with no extra API versions, no secrets and no
/// certificates. Adjust the public fields for other cases.
///
/// ```
/// let mut input = wasmchart_sdk::testing::input("demo", wasmchart_sdk::serde_json::json!({}));
/// input.release.is_install = false;
/// input.release.is_upgrade = true;
/// assert_eq!(input.values_json, "{}");
/// ```
pub fn input(chart: &str, values: Value) -> RenderInput {
    RenderInput {
        values_json: values.to_string(),
        release: Release {
            name: "release".into(),
            namespace: "default".into(),
            revision: 1,
            is_install: true,
            is_upgrade: false,
        },
        chart: ChartInfo {
            name: chart.into(),
            version: "0.1.0".into(),
            app_version: None,
        },
        capabilities: Capabilities {
            kube_version: "v1.31.0".into(),
            api_versions: Vec::new(),
        },
        secrets: Vec::new(),
        certificates: Vec::new(),
    }
}

/// Every manifest's content parsed as JSON, in order, so a test can assert
/// on fields. Panics with the manifest's source when one is not JSON (use
/// [`crate::manifest`] to produce JSON manifests).
///
/// ```
/// use wasmchart_sdk::{RenderOutput, manifest_yaml, testing};
///
/// let output = RenderOutput { manifests: vec![manifest_yaml("a.yaml", "{}")], notes: None };
/// assert!(testing::objects(&output)[0].is_object());
/// ```
pub fn objects(output: &RenderOutput) -> Vec<Value> {
    output
        .manifests
        .iter()
        .map(|m| {
            serde_json::from_str(&m.content)
                .unwrap_or_else(|e| panic!("manifest '{}' is not JSON: {e}", m.source))
        })
        .collect()
}
