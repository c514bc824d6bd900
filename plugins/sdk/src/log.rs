//! Log lines shown to the user through the host.
//!
//! The host prefixes each line with the component's name, bounds line length
//! and count, and shows `warn` and above by default.

use crate::bindings::wasmchart::chart::log::{Level, log};

/// Logs at `trace` level.
///
/// # Examples
///
/// ```no_run
/// wasmchart_sdk::log::trace("values parsed");  // needs the host: compiled, not run, here
/// ```
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// Logs at `debug` level.
///
/// # Examples
///
/// ```no_run
/// wasmchart_sdk::log::debug("no host-managed secret; using the chart's own");
/// ```
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Logs at `info` level.
///
/// # Examples
///
/// ```no_run
/// wasmchart_sdk::log::info("rendering 3 objects");
/// ```
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at `warn` level: shown to the user by default.
///
/// # Examples
///
/// ```no_run
/// wasmchart_sdk::log::warn("key 'replicas': more than 1 without persistence loses data");
/// ```
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs at `error` level: shown to the user by default.
///
/// # Examples
///
/// ```no_run
/// wasmchart_sdk::log::error("giving up: see the render error");
/// ```
pub fn error(message: &str) {
    log(Level::Error, message);
}
