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

/// The Argo CD plugin (deploy/argocd) run as the cmp-server runs it: the stream equals `wasmchart render`, flags from parameters, the root key only as a private file, discover, init.
mod argocd;

/// JavaScript and Python failures with their real message through the wasmchart-component helpers; the runtime-abort hint without them.
mod guest_errors;

/// A real OCI registry (Debian's docker-registry) for tests: free loopback port, optional htpasswd auth and TLS, killed on drop.
mod registry;

/// `push`/`pull`/`registry login|logout` against the real registry, Helm, and a hostile registry: byte-identical round trips, Helm interop both ways, credentials, TLS, tampered blobs, oversized and lying manifests, scheme-changing redirects, a missing version.
mod oci;

/// The author's loop: `new` in Rust, JavaScript and Python, `build`, `render`; new's refusals, build failures keeping the old component, workdir confinement, the SDK's WIT copy.
mod author;

/// `package`, `dependency update|build`, Chart.lock: deterministic archives Helm loads, file:// and oci:// dependencies, a lock Helm accepts, tampered archives and components refused at render, --verify-lock and requireLock.
mod dependency;

/// A warm load reads no component file: an authenticated record of the file's identity finds its cache entry; fresh files are not recorded, a write voids the record, forged or foreign records are ignored.
mod wasm_ids;

/// What tripped an outside team following the docs: the lock of a vendored subchart ignores its build tree (.helmignore) but pins what render reads; update refuses a vendored subchart outside the constraint.
mod newcomer;

/// The render cache: unchanged inputs reuse a component's output byte for byte, any changed input runs it, forged, moved or foreign entries are refused, entries are sealed.
mod render_cache;

/// Tiered compilation: a cache miss renders with Winch at once, a background child writes the Cranelift entry later loads run; deadlines hold on the fast tier.
mod tiers;
