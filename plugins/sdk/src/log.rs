//! Log lines shown to the user through the host.
//!
//! The host prefixes each line with the component's name, bounds line length
//! and count, and shows `warn` and above by default.

use crate::bindings::wasmchart::chart::log::{Level, log};

/// Logs at `trace` level.
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// Logs at `debug` level.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Logs at `info` level.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at `warn` level: shown to the user by default.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs at `error` level: shown to the user by default.
pub fn error(message: &str) {
    log(Level::Error, message);
}
