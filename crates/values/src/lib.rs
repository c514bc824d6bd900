//! Helm-exact chart loading and value computation for wasmchart.
//!
//! [`Chart::load`] reads an umbrella chart and its subcharts; [`compute`] applies values files
//! and `--set`-family flags with Helm's precedence, processes dependencies (conditions, tags,
//! aliases, import-values), coalesces with Helm's null and `global` rules, validates each
//! chart's values.schema.json and records provenance for [`Computed::explain`]. The [`yaml`]
//! module reads YAML as Helm does (YAML 1.1 scalars, bounded depth and aliases) and writes
//! go-yaml v2 style output. [`parallel`] is the one way the workspace splits work across cores.

mod chart;
pub mod chartfs;
mod env;
mod error;
pub mod parallel;
pub mod path;
pub mod semver;
mod values;
pub mod yaml;

pub use chart::{Chart, ComponentFile, CrdFile, Dependency, Metadata};
pub use env::Environment;
pub use error::Error;
pub use semver::is_compatible_range;
pub use values::strvals;
pub use values::{Computed, EnabledSubchart, Explanation, Step, ValueOptions, compute};
