//! Integration tests of the host services, one binary (see the crate docs for the API).

mod common;

mod certificates;
mod crd;
mod determinism;
mod external;
mod leaks;
mod plain;
mod rbac;
mod root_key;
mod rotation;
mod sealed;
