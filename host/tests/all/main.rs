//! The host's single integration-test binary (wasmtime is linked once).

/// Expands to a `use` of the test function named after a guest, so that a
/// guest without a test of its own name fails to compile.
macro_rules! assert_test_exists {
    ($name:ident) => {
        #[allow(unused_imports)]
        use self::$name as _;
    };
}

/// The sandbox against real guests: limits, denials, determinism, cache.
mod sandbox;

/// The real binary end to end: render output, bad input, `values` conformance.
mod cli;

/// The five example components (Rust, JavaScript, Python) through the real binary.
mod components;

/// The bundled example per environment: golden files, Kubernetes 1.31 schemas, the guide's numbers.
mod imprun;
