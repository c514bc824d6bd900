//! The sandboxed component runtime.
//!
//! # Brief overview
//!
//! - [`Runtime`] owns one wasmtime engine (Cranelift, component model,
//!   epoch interruption, pooling allocator when possible), the linker and
//!   the compile cache. It is `Send + Sync`: renders run in parallel threads.
//! - [`Runtime::load`] reads a `.wasm`, refuses what is not a component or
//!   was built against another contract version, compiles it (without the
//!   core exports nothing in it reaches: `prune.rs`) or takes it from the
//!   cache, and pre-links it into a [`LoadedComponent`].
//! - [`Runtime::render`] runs one [`RenderRequest`] in a fresh store with
//!   [`Limits`] and returns a [`RenderResult`] or a [`SandboxError`] that
//!   names the component and, for limits, the limit.
//! - [`Runtime::render_remembered`] does both, unless the render cache
//!   holds the output of a render with the same inputs (`memo.rs`): then
//!   the component is neither loaded nor run.
//!
//! Deny by default: a component sees no environment, arguments, network or
//! host files (except its subchart's `files/`, read-only at `/files`); its
//! clocks and randomness are deterministic; its stdout and stderr come back
//! as bounded log lines. See `state.rs` for the details.
//!
//! ```no_run
//! use wasmchart::sandbox::{Limits, RenderRequest, Runtime, RuntimeOptions};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = Runtime::new(RuntimeOptions::default())?;
//! let redis = runtime.load("redis", "charts/redis/redis.wasm".as_ref())?;
//! let request = RenderRequest { values_json: "{}".into(), ..Default::default() };
//! let result = runtime.render(&redis, &request, &Limits::default())?;
//! for manifest in &result.manifests {
//!     println!("# Source: {}\n{}", manifest.source, manifest.content);
//! }
//! # Ok(())
//! # }
//! ```

mod artifact;
mod bindings;
mod cache;
mod capture;
mod clocks;
mod compile;
mod component;
mod engine;
mod error;
mod files;
mod guest_lang;
mod limits;
mod memo;
mod prune;
mod request;
mod source;
mod state;

pub use bindings::CONTRACT;
pub use cache::{CacheStatus, default_dir as default_cache_dir};
pub use compile::{
    CHILD_ARG as COMPILE_CHILD_ARG, child_main as compile_child_main, compile_in_child_processes,
};
pub use component::{LoadedComponent, Origin, Runtime, RuntimeOptions};
pub use engine::{EPOCH_TICK, Tier};
pub use error::{GuestErrorKind, SandboxError};
pub use files::RESOURCE_CAPACITY;
pub use limits::{
    LIMITS, LimitError, LimitOverrides, LimitSpec, LimitUnit, Limits, MAX_MEMORY_BYTES, Size, Time,
    ceiling, format_duration, format_size, parse_duration, parse_size,
};
pub use request::{
    Capabilities, CertificateRef, ChartInfo, LogLevel, LogLine, Manifest, Release, RenderRequest,
    RenderResult, SecretRef,
};
pub use source::ComponentSource;
pub use state::FILES_MOUNT;
