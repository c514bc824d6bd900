//! The one `bindgen!` over the repository's `wit/` (world `subchart`).

wasmtime::component::bindgen!({
    world: "subchart",
    path: "../wit",
});

/// The contract version this host implements, as `package@version`.
pub const CONTRACT: &str = "wasmchart:chart@0.1.0";
/// The package part of [`CONTRACT`], as it prefixes import names.
pub const PACKAGE: &str = "wasmchart:chart";
/// The version part of [`CONTRACT`].
pub const VERSION: &str = "0.1.0";
