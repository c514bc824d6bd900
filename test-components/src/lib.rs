//! Paths of the guest components built from `plugins/` for the host's tests
//! and benches.
//!
//! The build script builds the whole guest workspace for `wasm32-wasip2`
//! (see `build.rs`) and generates, from the directories under
//! `plugins/components` and `plugins/fixtures`:
//! - one `pub const NAME: &str` path per guest (`REDIS`, `PROBE`, ...);
//! - [`COMPONENTS`] and [`FIXTURES`], the `(name, path)` lists;
//! - [`path`], a lookup by package name;
//! - `foreach_component!` and `foreach_fixture!`, which call a macro once per
//!   guest so tests can check that every guest is exercised.
//!
//! When the wasm target was missing at build time, every constant holds the
//! diagnostic instead of a path and [`BUILD_ERROR`] says why; use [`wasm`] to
//! get a path with a clear failure in that case.

use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/gen.rs"));

/// The path of the guest named `name` (its package name, e.g. `"redis"`).
pub fn path(name: &str) -> Option<&'static str> {
    COMPONENTS
        .iter()
        .chain(FIXTURES)
        .find(|(n, _)| *n == name)
        .map(|(_, p)| *p)
}

/// The path of a built guest, for tests.
///
/// # Panics
///
/// When the guests were not built (the diagnostic says how to fix it) or no
/// guest is named `name`.
pub fn wasm(name: &str) -> &'static Path {
    if let Some(error) = BUILD_ERROR {
        panic!("{error}");
    }
    match path(name) {
        Some(p) => Path::new(p),
        None => panic!("no guest named '{name}' in plugins/components or plugins/fixtures"),
    }
}
