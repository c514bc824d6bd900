//! The host's single integration-test binary (wasmtime is linked once).

/// Expands to a `use` of the test function named after a guest, so that a
/// guest without a test of its own name fails to compile.
macro_rules! assert_test_exists {
    ($name:ident) => {
        #[allow(unused_imports)]
        use self::$name as _;
    };
}

/// Running the real binary under a time bound; the documented success and failure shapes.
mod support;

/// Every wasmchart command the docs show in a shell block, run as written against a copy of the example.
mod docs;

/// The sandbox against real guests: limits, denials, determinism, cache.
mod sandbox;

/// The real binary end to end: render output, bad input, `values` conformance.
mod cli;

/// The five example components (Rust, JavaScript, Python) through the real binary.
mod components;

/// The bundled example per environment: golden files, Kubernetes 1.31 schemas, the guide's numbers.
mod imprun;

/// The compile cache against whoever can write it: forged, swapped, foreign, unsafe entries.
mod cache;

/// Output integrity, escaped component text, limits from the root umbrella, the operator policy.
mod policy;

/// The README's claims about the binary, each through the real binary: exit status, logs, notes, rotation, progress, --output-dir, the component boundary, render-component.sh.
mod claims;

/// Every sandbox limit obeyed and violated through the binary, ceilings, the exact log budget, /files descriptors and metadata, compile bounds.
mod limits;

/// Hostile charts through the binary: symlinks out, outside component paths, FIFOs, devices, sparse files, hard links, the files/ snapshot.
mod hostile_chart;

/// Packaged subcharts (.tgz) through the binary: the example packed renders byte-identically, files/ from an archive, hostile archives.
mod packaged;

/// The operator's workflow through the binary: declared environments only, the derivation identity, secrets export/list/rotate, flag validation, --explain redaction, malformed --set, every missing secret at once, key-file permissions.
mod operator;

/// Loading each distinct component once per runtime, and stamped entries run in place from their file mapping.
mod shared_load;

/// Helm template flag parity through the binary: [RELEASE] CHART, --show-only globs, -f -, version, completion, hints for Helm flags wasmchart does not take.
mod helm_flags;

/// `wasmchart diff` through the binary: the promotion check, rotated secrets shown as changed and never printed, --from a file, tree or stdin, two environments, ignore flags, colour, exit statuses 0/1/2.
mod diff;

/// crds/ with --include-crds in Helm's order, Go templates refused all at once, the umbrella's own component.
mod crds;
