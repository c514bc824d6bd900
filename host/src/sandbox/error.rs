//! Errors of the sandbox: one variant per way a component can fail, each
//! with one fixed sentence naming the component.

use super::limits::{Size, Time};
use std::path::PathBuf;

/// Why loading or rendering a component failed.
///
/// Limit variants print one fixed sentence, e.g. "component 'redis'
/// exceeded its 5s time limit", so scripts and tests can rely on it.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The component file could not be read or compiled.
    #[error("cannot load component '{component}' from '{path}': {reason}")]
    Load {
        component: String,
        path: PathBuf,
        reason: String,
    },
    /// The file is not a WebAssembly component (a core module, a
    /// precompiled artifact, or not WebAssembly at all).
    #[error("component '{component}' at '{path}' is not a WebAssembly component: {reason}")]
    NotAComponent {
        component: String,
        path: PathBuf,
        reason: String,
    },
    /// The component implements another contract or another version of it.
    #[error(
        "component '{component}' was built against {found}, but this wasmchart implements {expected}: rebuild it against {expected}"
    )]
    WrongContract {
        component: String,
        found: String,
        expected: String,
    },
    /// The render ran past its wall-clock deadline.
    #[error("component '{component}' exceeded its {limit} time limit")]
    Timeout { component: String, limit: Time },
    /// The component tried to grow a linear memory past the limit.
    #[error("component '{component}' exceeded its {limit} memory limit")]
    Memory { component: String, limit: Size },
    /// The returned manifests and notes are bigger than the output limit.
    #[error("component '{component}' exceeded its {limit} output limit")]
    OutputTooLarge { component: String, limit: Size },
    /// The component made more instances, tables or memories than allowed.
    #[error("component '{component}' exceeded its limit of {limit} {resource}")]
    Resource {
        component: String,
        resource: &'static str,
        limit: u64,
    },
    /// The component file is bigger than the component size limit; it was
    /// refused before any compile.
    #[error(
        "component '{component}' is {size} bytes, over its {limit} component size limit (`componentSize`)"
    )]
    TooLarge {
        component: String,
        size: u64,
        limit: Size,
    },
    /// Compiling the component ran past the compile deadline.
    #[error("component '{component}' exceeded its {limit} compile time limit")]
    CompileTimeout { component: String, limit: Time },
    /// Compiling the component needed more memory than allowed.
    #[error("component '{component}' exceeded its {limit} compile memory limit")]
    CompileMemory { component: String, limit: Size },
    /// The component trapped (a panic, `unreachable`, a bad memory access...).
    #[error("component '{component}' crashed: {message}")]
    Trap { component: String, message: String },
    /// The component returned a `render-error`.
    #[error("component '{component}' refused to render ({kind}): {message}")]
    Guest {
        component: String,
        kind: GuestErrorKind,
        message: String,
    },
    /// The compile cache could not be used.
    #[error("compile cache at '{path}': {reason}")]
    Cache { path: PathBuf, reason: String },
    /// The wasmtime engine could not be set up.
    #[error("cannot start the WebAssembly runtime: {reason}")]
    Engine { reason: String },
}

/// The case of the WIT `render-error` a component returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestErrorKind {
    /// `invalid-values`: the values are wrong for this component.
    InvalidValues,
    /// `unsupported`: the request cannot be met (e.g. a missing API).
    Unsupported,
    /// `failed`: any other failure.
    Failed,
}

impl std::fmt::Display for GuestErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            GuestErrorKind::InvalidValues => "invalid values",
            GuestErrorKind::Unsupported => "unsupported",
            GuestErrorKind::Failed => "failed",
        })
    }
}
