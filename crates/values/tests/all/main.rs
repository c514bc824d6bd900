//! Integration tests for wasmchart-values: Helm conformance data plus one test per rule.

mod common;
/// Chart reads confined to the chart: symlinks, FIFOs, devices, hard links, size caps, files/.
mod confine;
mod conformance;
mod errors;
mod explain;
/// Packaged subcharts (.tgz): equal to their directory, Helm's rules and caps, hostile archives.
mod packaged;
/// Constructs from real public charts, hand-written, with Helm's answers (tests/data/real-charts/).
mod real_charts;
mod rules;
mod schema;
mod yaml;
/// The values reader against Helm-computed answers (tests/data/yaml-helm/).
mod yaml_helm;
