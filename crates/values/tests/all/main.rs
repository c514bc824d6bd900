//! Integration tests for wasmchart-values: Helm conformance data plus one test per rule.

mod common;
mod conformance;
mod errors;
mod explain;
mod rules;
mod schema;
mod yaml;
