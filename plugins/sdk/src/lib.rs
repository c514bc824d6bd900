//! Helpers for writing wasmchart subchart components in Rust.
//!
//! A component implements [`Guest`] (one `render` function: values in,
//! Kubernetes objects out) and exports it with [`export!`]:
//!
//! ```
//! use wasmchart_sdk::{Guest, RenderError, RenderInput, RenderOutput, Values, manifest};
//!
//! struct MyChart;
//!
//! impl Guest for MyChart {
//!     fn render(input: RenderInput) -> Result<RenderOutput, RenderError> {
//!         let values = Values::parse(&input.values_json)?;
//!         let name = values.str_or("name", "demo")?;
//!         let object = serde_json::json!({
//!             "apiVersion": "v1",
//!             "kind": "ConfigMap",
//!             "metadata": { "name": name },
//!         });
//!         Ok(RenderOutput { manifests: vec![manifest("templates/configmap.yaml", &object)?], notes: None })
//!     }
//! }
//!
//! wasmchart_sdk::export!(MyChart);
//! ```
//!
//! The pieces:
//! - [`Values`]: typed access to the merged values, with errors that name the key;
//! - [`manifest`]: one object serialised as JSON text, ready to return, and
//!   [`object_meta`]: an object's `metadata`;
//! - [`log`]: log lines shown to the user by the host;
//! - [`labels`]: the standard `app.kubernetes.io/*` labels and Helm-style names;
//! - [`image`]: image references honouring `global.imageRegistry` and pull secrets;
//! - [`pod`]: the pod and container knobs (`resources`, security contexts,
//!   probes, pod labels, scheduling) read once and written into the objects;
//! - [`service`]: the checked `service.type` and `service.nodePort`;
//! - [`secret`] / [`certificate`]: find a host-managed reference by id.
//!
//! The bindings are generated here once, from the crate's own copy of the
//! contract (`wit/chart.wit`, byte-identical to the repository's), so every
//! component speaks exactly the same contract version and the crate builds
//! from any directory (`wasmchart new` vendors it into each Rust project).

#![warn(missing_docs)]

pub mod image;
pub mod labels;
pub mod log;
mod manifest;
pub mod pod;
mod refs;
pub mod service;
pub mod testing;
mod values;

/// The generated bindings for world `subchart` (`wasmchart:chart@0.1.0`).
///
/// Components normally use the re-exports at the crate root instead.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "subchart",
        path: "wit",
        pub_export_macro: true,
        default_bindings_module: "wasmchart_sdk::bindings",
    });
}

pub use bindings::wasmchart::chart::types::{
    Capabilities, CertificateRef, ChartInfo, Manifest, Release, SecretRef,
};
pub use bindings::{Guest, RenderError, RenderInput, RenderOutput, export};
pub use manifest::{manifest, manifest_yaml, object_meta};
pub use refs::{certificate, secret};
#[cfg(test)]
pub(crate) use values::test_support;
pub use values::{Values, invalid, to_object};

/// Re-exported so components need no direct `serde_json` dependency.
pub use serde_json;
