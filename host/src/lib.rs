//! wasmchart renders Kubernetes umbrella charts whose subcharts are
//! sandboxed WebAssembly components.
//!
//! # The pipeline
//!
//! One direction, one module per stage:
//!
//! 1. chart loading and values — the [`wasmchart_values`] crate: Helm-exact
//!    merging of values.yaml, environment files, `-f` and `--set*`, with
//!    conditions, tags, aliases, import-values and globals;
//! 2. host services — the [`wasmchart_services`] crate: secrets and
//!    certificates are decided before any component runs, and components
//!    only ever see references to them;
//! 3. components — [`render`] fans out to the [`sandbox`], one fresh,
//!    limited, deny-by-default instance per subchart, in parallel;
//! 4. post-processing — [`post`]: parse and validate every returned object,
//!    namespace, label, reject duplicates, Helm's install order;
//! 5. output — [`output`]: a `helm template`-like stream, JSON, or files.
//!
//! Cutting across: [`policy`], the operator's rules for what a render may
//! emit and how far limits go, and [`text`], which makes every piece of
//! untrusted text safe to print.
//!
//! The operator's side of secrets (`secrets export|list|rotate`) is [`secrets`]; the cluster a
//! render targets (`--kube-version`, `-a`) is [`kube`].
//!
//! The `wasmchart` binary ([`cli`]) is a thin shell over these.

pub mod author;
pub mod cli;
pub mod dependency;
pub mod diff;
pub mod kube;
pub mod lock;
pub mod oci;
pub mod output;
pub mod package;
pub mod policy;
pub mod post;
pub mod render;
pub mod sandbox;
pub mod secrets;
pub mod text;
pub mod validate;
