//! Loading components (check, compile or cache, contract check, pre-link)
//! and rendering them, each render in a fresh store.

use super::bindings::{
    self, CONTRACT, PACKAGE, SubchartPre, VERSION, wasmchart::chart::types as wit,
};
use super::cache::{Cache, CacheStatus};
use super::engine;
use super::error::{GuestErrorKind, SandboxError};
use super::limits::{Limits, Size, Time};
use super::request::{Manifest, RenderRequest, RenderResult};
use super::state::{HostState, truncate};
use sha2::{Digest, Sha256};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store, Trap};

/// Options for [`Runtime::new`].
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Compile cache directory; `None` means `WASMCHART_CACHE_DIR`, else the
    /// user cache directory.
    pub cache_dir: Option<PathBuf>,
    /// Print "compiling NAME (SIZE)…" on stderr before a first-time compile,
    /// when stderr is a terminal.
    pub progress: bool,
}

/// The component runtime: one engine, one linker and one compile cache,
/// shared by every render. `Send + Sync`: renders may run on many threads.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Cache,
    progress: bool,
}

/// A component ready to render: compiled, checked against the contract and
/// pre-linked. Rendering it many times costs one instantiation each.
#[derive(Clone)]
pub struct LoadedComponent {
    name: String,
    path: PathBuf,
    digest: [u8; 32],
    cache: CacheStatus,
    pre: SubchartPre<HostState>,
}

impl LoadedComponent {
    /// The name the component is reported under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the compile cache did when it was loaded.
    pub fn cache_status(&self) -> CacheStatus {
        self.cache
    }

    /// SHA-256 of the component's bytes, lower-case hex.
    pub fn digest(&self) -> String {
        super::cache::hex(&self.digest)
    }
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent")
            .field("name", &self.name)
            .field("path", &self.path)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

// Renders run on many threads at once: keep the runtime shareable.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<Runtime>();
    shareable::<LoadedComponent>();
};

impl Runtime {
    /// Creates the engine, its epoch ticker, the linker (WASI p2 with the
    /// deny-by-default context of `state.rs`, plus the `log` import) and
    /// opens the compile cache.
    ///
    /// # Errors
    ///
    /// [`SandboxError::Engine`] when wasmtime cannot start, or
    /// [`SandboxError::Cache`] when an explicit cache directory is unusable.
    pub fn new(options: RuntimeOptions) -> Result<Self, SandboxError> {
        let engine = engine::build()?;
        engine::spawn_ticker(&engine)?;
        let mut linker = Linker::new(&engine);
        let link_error = |e: wasmtime::Error| SandboxError::Engine {
            reason: format!("cannot link the host interfaces: {e}"),
        };
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link_error)?;
        super::clocks::add_instant_sleeps(&mut linker).map_err(link_error)?;
        bindings::Subchart::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(link_error)?;
        let cache = Cache::open(&engine, options.cache_dir)?;
        Ok(Runtime {
            engine,
            linker,
            cache,
            progress: options.progress,
        })
    }

    /// The compile cache directory in use, if any.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache.dir()
    }

    /// The wasmtime engine (for benchmarks and tools).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Loads the component at `path`, reported as `name` in errors.
    ///
    /// # Errors
    ///
    /// [`SandboxError::Load`] (unreadable, does not compile or link),
    /// [`SandboxError::NotAComponent`], [`SandboxError::WrongContract`].
    pub fn load(&self, name: &str, path: &Path) -> Result<LoadedComponent, SandboxError> {
        let bytes = std::fs::read(path).map_err(|e| SandboxError::Load {
            component: name.to_string(),
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        self.load_bytes(name, path, &bytes)
    }

    /// Loads a component from bytes already read (for example through the
    /// chart's confined, size-capped reader); `path` only names it in
    /// messages.
    ///
    /// # Errors
    ///
    /// As [`Runtime::load`], except for reading.
    pub fn load_bytes(
        &self,
        name: &str,
        path: &Path,
        bytes: &[u8],
    ) -> Result<LoadedComponent, SandboxError> {
        let load_error = |reason: String| SandboxError::Load {
            component: name.to_string(),
            path: path.to_path_buf(),
            reason,
        };
        check_component_header(bytes).map_err(|reason| SandboxError::NotAComponent {
            component: name.to_string(),
            path: path.to_path_buf(),
            reason: reason.to_string(),
        })?;
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let (component, cache) = self.cache.load(&self.engine, &digest, || {
            self.show_progress(name, bytes.len());
            self.engine
                .precompile_component(bytes)
                .map_err(|e| load_error(format!("{e:#}")))
        })?;
        check_contract(name, &self.engine, &component)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| load_error(format!("{e:#}")))?;
        let pre = SubchartPre::new(instance_pre).map_err(|e| SandboxError::WrongContract {
            component: name.to_string(),
            found: format!("an incompatible `render` export ({e})"),
            expected: CONTRACT.to_string(),
        })?;
        Ok(LoadedComponent {
            name: name.to_string(),
            path: path.to_path_buf(),
            digest,
            cache,
            pre,
        })
    }

    fn show_progress(&self, name: &str, size: usize) {
        if self.progress && std::io::stderr().is_terminal() {
            eprintln!("compiling {name} ({})…", human_size(size));
        }
    }

    /// Renders `component` once, in a fresh store with `limits`.
    ///
    /// # Errors
    ///
    /// A limit variant ([`SandboxError::Timeout`], [`SandboxError::Memory`],
    /// [`SandboxError::OutputTooLarge`], [`SandboxError::Resource`]),
    /// [`SandboxError::Trap`] for a crash, [`SandboxError::Guest`] for a
    /// `render-error` the component returned.
    pub fn render(
        &self,
        component: &LoadedComponent,
        request: &RenderRequest,
        limits: &Limits,
    ) -> Result<RenderResult, SandboxError> {
        let name = component.name.as_str();
        if !Engine::same(component.pre.engine(), &self.engine) {
            return Err(SandboxError::Load {
                component: name.to_string(),
                path: component.path.clone(),
                reason: "it was loaded by another Runtime; load it with the one that renders it"
                    .into(),
            });
        }
        let seed = seed(&component.digest, request);
        let state = HostState::new(name, limits, seed, request.files_dir.as_deref())?;
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(engine::ticks_for(limits.timeout));
        store.epoch_deadline_trap();
        let input = to_wit(request);
        let outcome = component
            .pre
            .instantiate(&mut store)
            .and_then(|subchart| subchart.call_render(&mut store, &input));
        match outcome {
            Ok(Ok(output)) => {
                check_output(name, &output, limits)?;
                Ok(RenderResult {
                    manifests: output
                        .manifests
                        .into_iter()
                        .map(|m| Manifest {
                            source: m.source,
                            content: m.content,
                        })
                        .collect(),
                    notes: output.notes,
                    logs: store.data_mut().take_logs(),
                })
            }
            Ok(Err(error)) => Err(guest_error(name, error)),
            Err(error) => Err(trap_error(name, &error, store.data(), limits)),
        }
    }
}

/// Refuses what is not a component, with a reason a user can act on.
fn check_component_header(bytes: &[u8]) -> Result<(), &'static str> {
    if Engine::detect_precompiled(bytes).is_some() {
        return Err("it is a precompiled artifact; give the .wasm it was made from");
    }
    let Some(header) = bytes.get(..8) else {
        return Err("the file is too short to be WebAssembly");
    };
    if &header[..4] != b"\0asm" {
        return Err("the file is not WebAssembly (no \\0asm header)");
    }
    match header[6..8] {
        [1, 0] => Ok(()),
        [0, 0] => Err(
            "it is a core WebAssembly module; build for wasm32-wasip2 or wrap it with `wasm-tools component new`",
        ),
        _ => Err("unknown WebAssembly layer in the header"),
    }
}

/// Checks the component was built against our WIT package and version, by
/// the names of its `wasmchart:chart/*` imports, and that it exports
/// `render`. Type mismatches beyond that are caught by `SubchartPre::new`.
fn check_contract(name: &str, engine: &Engine, component: &Component) -> Result<(), SandboxError> {
    let wrong = |found: String| SandboxError::WrongContract {
        component: name.to_string(),
        found,
        expected: CONTRACT.to_string(),
    };
    let ty = component.component_type();
    for (import, _) in ty.imports(engine) {
        let Some(rest) = import
            .strip_prefix(PACKAGE)
            .and_then(|r| r.strip_prefix('/'))
        else {
            continue;
        };
        match rest.split_once('@') {
            Some((_, version)) if version == VERSION => {}
            Some((_, version)) => return Err(wrong(format!("{PACKAGE}@{version}"))),
            None => return Err(wrong(format!("an unversioned {PACKAGE}"))),
        }
    }
    let exports_render = ty.exports(engine).any(|(export, item)| {
        export == "render" && matches!(item.ty, ComponentItem::ComponentFunc(_))
    });
    if !exports_render {
        return Err(wrong("a world without a `render` export".to_string()));
    }
    Ok(())
}

/// The seed of the render's deterministic randomness: the component and
/// everything in the request.
fn seed(digest: &[u8; 32], request: &RenderRequest) -> [u8; 32] {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(digest);
    field(request.values_json.as_bytes());
    field(request.release.name.as_bytes());
    field(request.release.namespace.as_bytes());
    field(&request.release.revision.to_le_bytes());
    field(request.chart.name.as_bytes());
    field(request.chart.version.as_bytes());
    field(request.capabilities.kube_version.as_bytes());
    hasher.finalize().into()
}

fn to_wit(request: &RenderRequest) -> wit::RenderInput {
    wit::RenderInput {
        values_json: request.values_json.clone(),
        release: wit::Release {
            name: request.release.name.clone(),
            namespace: request.release.namespace.clone(),
            revision: request.release.revision,
            is_install: request.release.is_install,
            is_upgrade: request.release.is_upgrade,
        },
        chart: wit::ChartInfo {
            name: request.chart.name.clone(),
            version: request.chart.version.clone(),
            app_version: request.chart.app_version.clone(),
        },
        capabilities: wit::Capabilities {
            kube_version: request.capabilities.kube_version.clone(),
            api_versions: request.capabilities.api_versions.clone(),
        },
        secrets: request
            .secrets
            .iter()
            .map(|s| wit::SecretRef {
                id: s.id.clone(),
                secret_name: s.secret_name.clone(),
                keys: s.keys.clone(),
            })
            .collect(),
        certificates: request
            .certificates
            .iter()
            .map(|c| wit::CertificateRef {
                id: c.id.clone(),
                secret_name: c.secret_name.clone(),
                dns_names: c.dns_names.clone(),
            })
            .collect(),
    }
}

/// The output limit covers every manifest's source and content plus the
/// notes. (The output was already copied out of the guest by then, but
/// that copy is bounded by the memory limit.)
fn check_output(
    name: &str,
    output: &wit::RenderOutput,
    limits: &Limits,
) -> Result<(), SandboxError> {
    let total = output
        .manifests
        .iter()
        .map(|m| (m.source.len() + m.content.len()) as u64)
        .sum::<u64>()
        + output.notes.as_ref().map_or(0, |n| n.len() as u64);
    if total > limits.output_bytes {
        return Err(SandboxError::OutputTooLarge {
            component: name.to_string(),
            limit: Size(limits.output_bytes),
        });
    }
    Ok(())
}

fn guest_error(name: &str, error: wit::RenderError) -> SandboxError {
    let (kind, message) = match error {
        wit::RenderError::InvalidValues(m) => (GuestErrorKind::InvalidValues, m),
        wit::RenderError::Unsupported(m) => (GuestErrorKind::Unsupported, m),
        wit::RenderError::Failed(m) => (GuestErrorKind::Failed, m),
    };
    SandboxError::Guest {
        component: name.to_string(),
        kind,
        message: truncate(&message, 4096),
    }
}

/// Maps a failed instantiate or call to the limit it hit, or to a crash
/// with the trap and the component's last stderr line (a panic message).
fn trap_error(
    name: &str,
    error: &wasmtime::Error,
    state: &HostState,
    limits: &Limits,
) -> SandboxError {
    let component = name.to_string();
    let trap = error.downcast_ref::<Trap>().copied();
    if trap == Some(Trap::Interrupt) {
        return SandboxError::Timeout {
            component,
            limit: Time(limits.timeout),
        };
    }
    if state.limiter.memory_hit {
        return SandboxError::Memory {
            component,
            limit: Size(limits.memory_bytes),
        };
    }
    if state.limiter.table_hit {
        return SandboxError::Resource {
            component,
            resource: "table elements",
            limit: u64::from(limits.table_elements),
        };
    }
    if let Some(pool) = error.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        // Not the component's fault: too many renders at once for the pool.
        return SandboxError::Engine {
            reason: format!(
                "cannot start component '{name}': {pool}; render fewer components at once"
            ),
        };
    }
    let text = format!("{error:#}");
    for (needle, resource, limit) in [
        ("instance count too high", "instances", limits.instances),
        ("table count too high", "tables", limits.tables),
        ("memory count too high", "memories", limits.memories),
    ] {
        if text.contains(needle) {
            return SandboxError::Resource {
                component,
                resource,
                limit: u64::from(limit),
            };
        }
    }
    let mut message = match trap {
        Some(trap) => trap.to_string(),
        None => truncate(text.lines().next().unwrap_or("unknown error"), 1024),
    };
    if let Some(report) = state.crash_report() {
        message.push_str(&format!("; stderr: {report}"));
    }
    SandboxError::Trap { component, message }
}

/// `2.1 MiB`, `190 KiB`, `512 bytes`.
fn human_size(bytes: usize) -> String {
    let b = bytes as f64;
    if b >= (1 << 20) as f64 {
        format!("{:.1} MiB", b / (1 << 20) as f64)
    } else if b >= 1024.0 {
        format!("{:.0} KiB", b / 1024.0)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert!(check_component_header(b"\0asm\x0d\0\x01\0rest").is_ok());
        let core = check_component_header(b"\0asm\x01\0\0\0").unwrap_err();
        assert!(core.contains("core WebAssembly module"), "{core}");
        assert!(
            check_component_header(b"hello world")
                .unwrap_err()
                .contains("not WebAssembly")
        );
        assert!(
            check_component_header(b"\0as")
                .unwrap_err()
                .contains("too short")
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(2_202_010), "2.1 MiB");
        assert_eq!(human_size(191_463), "187 KiB");
        assert_eq!(human_size(10), "10 bytes");
    }
}
