//! Loading components (check, compile or cache, contract check, pre-link)
//! and rendering them, each render in a fresh store.

use super::artifact::Artifact;
use super::bindings::{
    self, CONTRACT, PACKAGE, SubchartPre, VERSION, wasmchart::chart::types as wit,
};
use super::cache::{Cache, CacheStatus, Loaded};
use super::compile;
use super::engine::{self, Tier};
use super::error::{GuestErrorKind, SandboxError};
use super::guest_lang::GuestLang;
use super::limits::{Limits, Size, Time};
use super::request::{Manifest, RenderRequest, RenderResult};
use super::source::{self, ComponentSource, Content, LazyLang, Owned};
use super::state::{HostState, truncate};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTableError};
use wasmtime::{Engine, Store, Trap};

/// Options for [`Runtime::new`].
#[derive(Debug, Clone, Default)]
pub struct RuntimeOptions {
    /// Compile cache directory; `None` means `WASMCHART_CACHE_DIR`, else the
    /// user cache directory.
    pub cache_dir: Option<PathBuf>,
    /// Config directory holding the compile cache's key (`cache-key`);
    /// `None` means `WASMCHART_CONFIG_DIR`, else the user config directory.
    /// Tests and embedders give their own to keep keys apart.
    pub config_dir: Option<PathBuf>,
    /// Print "compiling NAME (SIZE)…" on stderr before a first-time compile,
    /// when stderr is a terminal.
    pub progress: bool,
}

/// The component runtime: one engine, one linker and one compile cache,
/// shared by every render (plus, for cache misses, the fast tier's).
/// `Send + Sync`: renders may run on many threads.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Cache,
    /// The fast tier, made on the first cache miss when compiles run in
    /// child processes (see [`Runtime::load_tiered`]); `None` inside if it
    /// cannot start (then misses compile with Cranelift, as without it).
    fast: OnceLock<Option<FastTier>>,
    progress: bool,
    /// The `wasmchart` executable compiles run in, if any (see `compile.rs`).
    compiler: Option<PathBuf>,
    /// One lock per component digest: a component is never compiled twice
    /// at once; the second loader waits and then hits the cache.
    compiling: Locks,
    /// Components loaded by [`Runtime::load_shared`], by digest: each
    /// distinct component is loaded (cache read, deserialize, contract
    /// check, pre-link) once per runtime, whatever the number of subcharts
    /// (aliases, nested copies) that use it.
    shared: Mutex<HashMap<DigestBytes, (CacheStatus, Arc<Prepared>)>>,
    /// One lock per digest for whole shared loads.
    loading: Locks,
    /// The digest of byte buffers already hashed by `load_shared`, by
    /// address; the buffer is kept alive here, so an address is never
    /// reused for other bytes while it is a key.
    digests: Mutex<HashMap<usize, Hashed>>,
    /// The digest of component files already identified, by their `fstat`
    /// identity (device, inode, size, mtime, ctime).
    file_digests: Mutex<HashMap<[u8; IDENTITY_BYTES], DigestBytes>>,
    /// Threads for each compile child, 0 for one per core (see
    /// [`Runtime::share_compile_cores`]).
    compile_threads: AtomicUsize,
    /// Size in bytes from which a component compiles on every core
    /// whatever `compile_threads` says (see [`Runtime::share_compile_cores`]).
    solo_from: AtomicU64,
    /// Background compiles of optimised entries, started when the render
    /// is done (see [`Runtime::start_upgrades`]).
    upgrades: Mutex<Vec<PendingUpgrade>>,
    /// The SHA-256 of the running executable, part of every render cache
    /// key; found on first use (see `memo.rs`).
    host_digest: OnceLock<Option<DigestBytes>>,
}

/// An optimised entry to compile in the background: the component's
/// SHA-256, content (shared with its load, not copied), and the limits its
/// compile runs under.
type PendingUpgrade = (DigestBytes, Owned, Limits);

/// Length of a file identity (`cache::identity_bytes`).
const IDENTITY_BYTES: usize = 56;

/// A component's SHA-256.
type DigestBytes = [u8; 32];

/// A buffer kept alive, and its SHA-256.
type Hashed = (Arc<[u8]>, DigestBytes);

/// One lock per component digest.
type Locks = Mutex<HashMap<DigestBytes, Arc<Mutex<()>>>>;

/// The fast tier: a Winch engine (with its own epoch ticker), its linker
/// and its view of the compile cache. A component belongs to the engine
/// that compiled it, so it is linked and rendered with this tier's.
struct FastTier {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Cache,
}

/// A component pre-linked, with the cache mapping its code runs from. The
/// fields drop in order: the pre-linked instance (and its component), then
/// the mapping (see `cache/map.rs`).
struct Prepared {
    pre: SubchartPre<HostState>,
    /// The tier whose engine compiled it.
    tier: Tier,
    /// The language runtime inside, for the hint on a crash (found from
    /// the bytes, read only then if the load did not need them).
    lang: LazyLang,
    _loaded: Loaded,
}

/// A component ready to render: compiled, checked against the contract and
/// pre-linked. Rendering it many times costs one instantiation each.
#[derive(Clone)]
pub struct LoadedComponent {
    name: String,
    path: PathBuf,
    digest: [u8; 32],
    cache: CacheStatus,
    prepared: Arc<Prepared>,
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

    /// Which compiler's code it runs: [`Tier::Fast`] until the optimised
    /// cache entry exists.
    pub fn tier(&self) -> Tier {
        self.prepared.tier
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
        let linker = host_linker(&engine)?;
        let cache = Cache::open(
            &engine,
            Tier::Optimized,
            options.cache_dir,
            options.config_dir,
        )?;
        Ok(Runtime {
            engine,
            linker,
            cache,
            fast: OnceLock::new(),
            progress: options.progress,
            compiler: compile::default_compiler(),
            compiling: Mutex::default(),
            shared: Mutex::default(),
            loading: Mutex::default(),
            digests: Mutex::default(),
            file_digests: Mutex::default(),
            compile_threads: AtomicUsize::new(0),
            solo_from: AtomicU64::new(0),
            upgrades: Mutex::default(),
            host_digest: OnceLock::new(),
        })
    }

    /// Says which components a render may compile at once, by their
    /// sizes in bytes (one per distinct component; one render thread per
    /// core), so that each compile child uses its share of the cores.
    /// Parallel compilation costs 15–20% more CPU than one thread: two
    /// large components compiling side by side finish sooner with one
    /// thread each. But a component larger than all the others together
    /// is the render's critical path: it compiles on every core, and the
    /// others fit beside it (cold prod: the 18 MB Python component in
    /// 2.4–3.1 s on two threads instead of 3.9–4.0 s on one).
    pub fn share_compile_cores(&self, sizes: &[u64]) {
        let (threads, solo_from) = compile_shares(wasmchart_values::parallel::cores(), sizes);
        self.compile_threads.store(threads, Ordering::Relaxed);
        self.solo_from.store(solo_from, Ordering::Relaxed);
    }

    /// Threads for the compile child of a component of `size` bytes.
    fn threads_for(&self, size: usize) -> usize {
        if size as u64 >= self.solo_from.load(Ordering::Relaxed) {
            0
        } else {
            self.compile_threads.load(Ordering::Relaxed)
        }
    }

    /// Starts the background compiles of optimised entries that loads on
    /// the fast tier asked for. They wait until now so that they take no
    /// CPU from the render's own compiles; a runtime also starts them when
    /// it is dropped.
    pub fn start_upgrades(&self) {
        let pending = std::mem::take(&mut *self.upgrades.lock().unwrap_or_else(|p| p.into_inner()));
        let (Some(exe), Some((cache_dir, config_dir))) =
            (self.compiler.as_deref(), self.cache.dirs())
        else {
            return;
        };
        for (digest, owned, limits) in pending {
            let input = match &owned {
                Owned::File(file, _) | Owned::Read { file, .. } => compile::Input::File(file),
                Owned::Bytes(bytes) => compile::Input::Bytes(bytes),
            };
            let upgrade = compile::Upgrade {
                digest: super::cache::hex(&digest),
                cache_dir,
                config_dir,
            };
            let _ = compile::spawn_upgrade(exe, Tier::Optimized, input, &limits, &upgrade);
        }
    }

    /// Compiles in child processes of `exe` (a `wasmchart` binary), which
    /// bounds compile memory, or in this process when `None`; see
    /// [`compile_in_child_processes`](super::compile_in_child_processes).
    pub fn set_compiler(&mut self, exe: Option<PathBuf>) {
        self.compiler = exe;
    }

    /// The compile cache directory in use, if any.
    pub fn cache_dir(&self) -> Option<&Path> {
        self.cache.dir()
    }

    /// The compile cache warnings shown on stderr so far (refused entries,
    /// a replaced key, an unsafe directory), once per kind.
    pub fn cache_warnings(&self) -> Vec<String> {
        self.cache.warnings()
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
        self.load_limited(name, path, &Limits::default())
    }

    /// [`Runtime::load`] under `limits`' component size and compile limits.
    ///
    /// # Errors
    ///
    /// As [`Runtime::load`], plus [`SandboxError::TooLarge`] (checked
    /// before reading the whole file), [`SandboxError::CompileTimeout`] and
    /// [`SandboxError::CompileMemory`].
    pub fn load_limited(
        &self,
        name: &str,
        path: &Path,
        limits: &Limits,
    ) -> Result<LoadedComponent, SandboxError> {
        let file = std::fs::File::open(path).map_err(|e| read_error(name, path, &e))?;
        let source = ComponentSource::File(Arc::new(file));
        let (digest, content) = self.identify(name, path, &source, limits)?;
        self.load_identified(name, path, digest, &content, limits)
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
        self.load_bytes_limited(name, path, bytes, &Limits::default())
    }

    /// [`Runtime::load_bytes`] under `limits`' component size and compile
    /// limits.
    ///
    /// # Errors
    ///
    /// As [`Runtime::load_limited`], except for reading.
    pub fn load_bytes_limited(
        &self,
        name: &str,
        path: &Path,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<LoadedComponent, SandboxError> {
        check_size(name, bytes.len() as u64, limits)?;
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let content = Owned::Bytes(Arc::from(bytes));
        self.load_identified(name, path, digest, &content, limits)
    }

    /// Loads the component with SHA-256 `digest` whose bytes are `content`:
    /// header check, cache (compiling on a miss), contract check, pre-link.
    fn load_identified(
        &self,
        name: &str,
        path: &Path,
        digest: DigestBytes,
        owned: &Owned,
        limits: &Limits,
    ) -> Result<LoadedComponent, SandboxError> {
        let load_error = |reason: String| SandboxError::Load {
            component: name.to_string(),
            path: path.to_path_buf(),
            reason,
        };
        let lock = self.compile_lock(&digest);
        let guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        let (loaded, cache, tier) = self.load_tiered(name, path, &digest, owned, limits)?;
        drop(guard);
        let fast = (tier == Tier::Fast).then(|| self.fast_tier()).flatten();
        let (engine, linker) = match fast {
            Some(fast) => (&fast.engine, &fast.linker),
            None => (&self.engine, &self.linker),
        };
        check_contract(name, engine, &loaded.component)?;
        let instance_pre = linker
            .instantiate_pre(&loaded.component)
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
            prepared: Arc::new(Prepared {
                tier,
                pre,
                lang: LazyLang::new(owned.clone()),
                _loaded: loaded,
            }),
        })
    }

    /// The cached or compiled component with SHA-256 `digest`, and the
    /// tier whose engine it belongs to.
    ///
    /// When compiles run in child processes (the `wasmchart` binary), a
    /// component without an optimised entry is compiled with the fast tier
    /// (Winch: 4 s of CPU instead of 21 s for the JavaScript example) and
    /// its optimised entry is made, once the render is done, by a
    /// detached, nice'd compiler child that writes it into the cache
    /// (`compile::spawn_upgrade`, see [`Runtime::start_upgrades`]); later loads
    /// take that entry, and the fast entry until it exists. Without child
    /// processes (library users: tests, benches), and when the fast tier
    /// cannot start, a miss compiles with Cranelift, as it always did.
    fn load_tiered(
        &self,
        name: &str,
        path: &Path,
        digest: &DigestBytes,
        owned: &Owned,
        limits: &Limits,
    ) -> Result<(Loaded, CacheStatus, Tier), SandboxError> {
        let content = &owned.borrow();
        let compile_with = |engine: &Engine, tier: Tier| {
            self.compile(name, path, digest, content, limits, (engine, tier))
        };
        // The warm path never starts the fast tier.
        if self.compiler.is_some()
            && let Some((loaded, status)) = self.cache.lookup_only(&self.engine, digest)
        {
            return Ok((loaded, status, Tier::Optimized));
        }
        let Some(fast) = self.fast_tier() else {
            let (loaded, status) = self.cache.load(&self.engine, digest, || {
                compile_with(&self.engine, Tier::Optimized)
            })?;
            return Ok((loaded, status, Tier::Optimized));
        };
        let (loaded, status) = fast.cache.load(&fast.engine, digest, || {
            compile_with(&fast.engine, Tier::Fast)
        })?;
        self.upgrade(digest, owned, limits);
        Ok((loaded, status, Tier::Fast))
    }

    /// Compiles the component (`content`, SHA-256 `digest`) for `engine` of
    /// `tier`, after the header check.
    fn compile(
        &self,
        name: &str,
        path: &Path,
        digest: &DigestBytes,
        content: &Content<'_>,
        limits: &Limits,
        (engine, tier): (&Engine, Tier),
    ) -> Result<Artifact, SandboxError> {
        // An entry exists only for bytes that passed this check and compiled.
        check_header(name, path, content)?;
        let bytes = content.bytes().map_err(|e| read_error(name, path, &e))?;
        // The digest may come from a record: compile only those bytes.
        if matches!(content, Content::File { .. }) && Sha256::digest(&bytes)[..] != digest[..] {
            return Err(SandboxError::Load {
                component: name.to_string(),
                path: path.to_path_buf(),
                reason: "the file changed while it was being loaded; run the command again".into(),
            });
        }
        self.show_progress(name, bytes.len());
        let compiler = self.compiler.as_deref().map(|exe| compile::Compiler {
            exe,
            threads: self.threads_for(bytes.len()),
        });
        compile::compile(engine, tier, name, path, &bytes, limits, compiler)
    }

    /// The fast tier, started on first use; `None` when compiles run in
    /// this process or it cannot start.
    fn fast_tier(&self) -> Option<&FastTier> {
        self.compiler.as_ref()?;
        self.fast
            .get_or_init(|| {
                let engine = engine::build_fast().ok()?;
                engine::spawn_ticker(&engine).ok()?;
                let linker = host_linker(&engine).ok()?;
                let cache = self.cache.sibling(&engine, Tier::Fast);
                Some(FastTier {
                    engine,
                    linker,
                    cache,
                })
            })
            .as_ref()
    }

    /// Queues the background compile of the optimised entry, started by
    /// [`Runtime::start_upgrades`] (best effort: without a cache, or if it
    /// fails, the next render uses the fast tier again and retries).
    fn upgrade(&self, digest: &DigestBytes, owned: &Owned, limits: &Limits) {
        if self.compiler.is_none() || self.cache.dirs().is_none() {
            return;
        }
        let mut upgrades = self.upgrades.lock().unwrap_or_else(|p| p.into_inner());
        if upgrades.iter().all(|(queued, _, _)| queued != digest) {
            upgrades.push((*digest, owned.clone(), *limits));
        }
    }

    /// [`Runtime::load_bytes_limited`] for bytes in an `Arc`, loading each
    /// distinct component once per runtime: see [`Runtime::load_source`].
    ///
    /// # Errors
    ///
    /// As [`Runtime::load_bytes_limited`].
    pub fn load_shared(
        &self,
        name: &str,
        path: &Path,
        bytes: &Arc<[u8]>,
        limits: &Limits,
    ) -> Result<LoadedComponent, SandboxError> {
        let source = ComponentSource::Bytes(Arc::clone(bytes));
        self.load_source(name, path, &source, limits)
    }

    /// Loads the component `source` holds, each distinct component once
    /// per runtime: a later call for the same bytes (the same buffer or
    /// file, or equal bytes) shares the first one's compiled, checked,
    /// pre-linked component under its own `name`, with no cache read and,
    /// for the same buffer or unchanged file, no hashing. An open file is
    /// not read at all when the cache has a digest record for it (see
    /// `cache/ids.rs`) and an entry for that digest. Only successful loads
    /// are shared: a failure is retried by the next caller, under its own
    /// limits. The size limit is checked on every call; compile limits
    /// apply to the load that compiles.
    ///
    /// # Errors
    ///
    /// As [`Runtime::load_limited`].
    pub fn load_source(
        &self,
        name: &str,
        path: &Path,
        source: &ComponentSource,
        limits: &Limits,
    ) -> Result<LoadedComponent, SandboxError> {
        let (digest, content) = self.identify(name, path, source, limits)?;
        self.load_identified_shared(name, path, digest, &content, limits)
    }

    /// [`Runtime::load_source`] once the component is identified.
    fn load_identified_shared(
        &self,
        name: &str,
        path: &Path,
        digest: DigestBytes,
        content: &Owned,
        limits: &Limits,
    ) -> Result<LoadedComponent, SandboxError> {
        let found = |this: &Self| {
            let shared = this.shared.lock().unwrap_or_else(|p| p.into_inner());
            shared
                .get(&digest)
                .map(|(cache, prepared)| LoadedComponent {
                    name: name.to_string(),
                    path: path.to_path_buf(),
                    digest,
                    cache: *cache,
                    prepared: Arc::clone(prepared),
                })
        };
        if let Some(loaded) = found(self) {
            return Ok(loaded);
        }
        // One loader per digest; the others wait, then share its result.
        let lock = self.load_lock(&digest);
        let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(loaded) = found(self) {
            return Ok(loaded);
        }
        let loaded = self.load_identified(name, path, digest, content, limits)?;
        let mut shared = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        shared.insert(digest, (loaded.cache, Arc::clone(&loaded.prepared)));
        Ok(loaded)
    }

    /// The SHA-256 of the component `source` holds, lower-case hex, the way
    /// a load finds it: from this runtime's memory or the cache's digest
    /// record of an unchanged file (reading none of it), else by reading
    /// and hashing it once (then recorded). For checks that pin component
    /// digests (a lock), so that they cost no more than the load does and
    /// agree with it on the bytes.
    ///
    /// # Errors
    ///
    /// [`SandboxError::Load`] when the file cannot be read,
    /// [`SandboxError::TooLarge`] over the ceiling of `componentSize`.
    pub fn component_digest(
        &self,
        name: &str,
        path: &Path,
        source: &ComponentSource,
    ) -> Result<String, SandboxError> {
        // Only the hard ceiling: the load checks the component's own limit.
        let limits = Limits {
            component_bytes: super::limits::ceiling("componentSize"),
            ..Limits::default()
        };
        let (digest, _) = self.identify(name, path, source, &limits)?;
        Ok(super::cache::hex(&digest))
    }

    /// The size check and SHA-256 of `source`, and its content for the
    /// load: a buffer is hashed once per runtime; a file's digest comes from
    /// this runtime's memory of its identity, else from the cache's digest
    /// record, else from reading and hashing it (then recorded).
    fn identify(
        &self,
        name: &str,
        path: &Path,
        source: &ComponentSource,
        limits: &Limits,
    ) -> Result<(DigestBytes, Owned), SandboxError> {
        let file = match source {
            ComponentSource::Bytes(bytes) => {
                check_size(name, bytes.len() as u64, limits)?;
                return Ok((self.digest_of(bytes), Owned::Bytes(Arc::clone(bytes))));
            }
            ComponentSource::File(file) => file,
        };
        let stat = |f: &std::fs::File| f.metadata().map_err(|e| read_error(name, path, &e));
        let before = stat(file)?;
        if !before.is_file() {
            return Err(read_error(
                name,
                path,
                &std::io::Error::other("not a regular file"),
            ));
        }
        check_size(name, before.len(), limits)?;
        let identity = super::cache::identity_bytes(&before);
        let remembered = self
            .file_digests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&identity)
            .copied();
        if let Some(digest) = remembered.or_else(|| self.cache.recorded_digest(&before)) {
            self.remember(identity, digest);
            return Ok((digest, Owned::File(Arc::clone(file), before.len())));
        }
        let read_began = std::time::SystemTime::now();
        let bytes =
            source::read_whole(file, before.len()).map_err(|e| read_error(name, path, &e))?;
        let digest: DigestBytes = Sha256::digest(&bytes).into();
        let after = stat(file)?;
        if super::cache::identity_bytes(&after) == identity {
            self.remember(identity, digest);
        }
        self.cache
            .record_digest(&before, &after, &digest, read_began);
        let file = Arc::clone(file);
        Ok((
            digest,
            Owned::Read {
                bytes: Arc::new(bytes),
                file,
            },
        ))
    }

    /// Remembers the digest of the file with `identity` for this runtime.
    fn remember(&self, identity: [u8; IDENTITY_BYTES], digest: DigestBytes) {
        let mut digests = self.file_digests.lock().unwrap_or_else(|p| p.into_inner());
        digests.insert(identity, digest);
    }

    /// SHA-256 of `bytes`, computed once per buffer.
    fn digest_of(&self, bytes: &Arc<[u8]>) -> [u8; 32] {
        let address = bytes.as_ptr() as usize;
        let digests = self.digests.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((kept, digest)) = digests.get(&address)
            && kept.len() == bytes.len()
        {
            return *digest;
        }
        drop(digests);
        let digest: [u8; 32] = Sha256::digest(&bytes[..]).into();
        let mut digests = self.digests.lock().unwrap_or_else(|p| p.into_inner());
        digests.insert(address, (Arc::clone(bytes), digest));
        digest
    }

    /// The lock serialising whole loads of the component with `digest` in
    /// [`Runtime::load_shared`] (apart from the compile lock, which
    /// `load_bytes_limited` takes inside).
    fn load_lock(&self, digest: &[u8; 32]) -> Arc<Mutex<()>> {
        let mut locks = self.loading.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(*digest).or_default())
    }

    /// The lock serialising compiles of the component with `digest`.
    fn compile_lock(&self, digest: &[u8; 32]) -> Arc<Mutex<()>> {
        let mut locks = self.compiling.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(*digest).or_default())
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
        let engine = component.prepared.pre.engine();
        let fast = self.fast.get().and_then(Option::as_ref);
        let ours = Engine::same(engine, &self.engine)
            || fast.is_some_and(|f| Engine::same(engine, &f.engine));
        if !ours {
            return Err(SandboxError::Load {
                component: name.to_string(),
                path: component.path.clone(),
                reason: "it was loaded by another Runtime; load it with the one that renders it"
                    .into(),
            });
        }
        let seed = seed(&component.digest, request);
        let state = HostState::new(name, limits, seed, request.files_dir.as_deref())?;
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(engine::ticks_for(limits.timeout));
        store.epoch_deadline_trap();
        let input = to_wit(request);
        let outcome = component
            .prepared
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
            // Out of descriptors, the component gave up: name the limit.
            Ok(Err(_)) if store.data().files.hit => Err(files_error(name, limits)),
            Ok(Err(error)) => Err(guest_error(name, error)),
            Err(error) => Err(trap_error(
                name,
                &error,
                store.data(),
                limits,
                component.prepared.lang.get(),
            )),
        }
    }
}

/// Where a render's output came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The component ran.
    Ran,
    /// The render cache held the output of a render with the same inputs.
    Recalled,
}

impl Runtime {
    /// Renders the component `source` holds, as [`Runtime::load_source`]
    /// then [`Runtime::render`] would, unless the render cache holds the
    /// output of a render with the same inputs: the same component bytes,
    /// request and limits, and the same contract, wasmchart and wasmtime
    /// (see `memo.rs`). Components are deterministic by construction, so
    /// that output is the one this render would return; the component is
    /// then neither loaded nor run. A successful render is remembered, a
    /// failed one never. Without a cache, or for a request that mounts
    /// `files/`, it is a plain load and render.
    ///
    /// # Errors
    ///
    /// As [`Runtime::load_source`] and [`Runtime::render`].
    pub fn render_remembered(
        &self,
        name: &str,
        path: &Path,
        source: &ComponentSource,
        request: &RenderRequest,
        limits: &Limits,
    ) -> Result<(RenderResult, Origin), SandboxError> {
        let (digest, content) = self.identify(name, path, source, limits)?;
        let host = self
            .host_digest
            .get_or_init(|| super::memo::host_digest(&self.cache));
        let input = host
            .as_ref()
            .and_then(|host| super::memo::input_digest(host, &digest, request, limits));
        if let Some(result) = input.and_then(|input| self.cache.recall(&input)) {
            return Ok((result, Origin::Recalled));
        }
        let loaded = self.load_identified_shared(name, path, digest, &content, limits)?;
        let result = self.render(&loaded, request, limits)?;
        if let Some(input) = input {
            self.cache.remember(&input, &result);
        }
        Ok((result, Origin::Ran))
    }

    /// Keeps the render cache within its bounds once a render is done, if
    /// it grew: the least recently used outputs go first.
    pub fn trim_render_cache(&self) {
        self.cache.trim_renders();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.start_upgrades();
    }
}

/// A linker for `engine` with the host interfaces: WASI p2 with the
/// deny-by-default context of `state.rs`, the guarded filesystem and
/// clocks, and the `log` import.
fn host_linker(engine: &Engine) -> Result<Linker<HostState>, SandboxError> {
    let mut linker = Linker::new(engine);
    let link_error = |e: wasmtime::Error| SandboxError::Engine {
        reason: format!("cannot link the host interfaces: {e}"),
    };
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(link_error)?;
    super::clocks::add_instant_sleeps(&mut linker).map_err(link_error)?;
    super::files::add_guarded_filesystem(&mut linker).map_err(link_error)?;
    bindings::Subchart::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s).map_err(link_error)?;
    Ok(linker)
}

/// Refuses a component bigger than its `componentSize` limit, before any
/// hashing or compiling.
fn check_size(name: &str, size: u64, limits: &Limits) -> Result<(), SandboxError> {
    if size > limits.component_bytes {
        return Err(SandboxError::TooLarge {
            component: name.to_string(),
            size,
            limit: Size(limits.component_bytes),
        });
    }
    Ok(())
}

/// A load error for a component file that cannot be read.
fn read_error(name: &str, path: &Path, e: &std::io::Error) -> SandboxError {
    SandboxError::Load {
        component: name.to_string(),
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// [`check_component_header`] on `content`, from its first bytes when they
/// are a WebAssembly header (a file is then not read), else on all of it.
fn check_header(name: &str, path: &Path, content: &Content<'_>) -> Result<(), SandboxError> {
    let head = content.head(8).map_err(|e| read_error(name, path, &e))?;
    let checked = if head.len() == 8 && head.starts_with(b"\0asm") {
        check_component_header(&head)
    } else {
        let bytes = content.bytes().map_err(|e| read_error(name, path, &e))?;
        check_component_header(&bytes)
    };
    checked.map_err(|reason| SandboxError::NotAComponent {
        component: name.to_string(),
        path: path.to_path_buf(),
        reason: reason.to_string(),
    })
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
        message: truncate(&crate::text::escape(&message), 4096),
    }
}

/// Maps a failed instantiate or call to the limit it hit, or to a crash
/// with the trap, wasmtime's cause chain and the component's last stderr
/// lines (a panic message); for a JavaScript or Python component, a hint
/// and its last output line (stdout, stderr or `log`).
fn trap_error(
    name: &str,
    error: &wasmtime::Error,
    state: &HostState,
    limits: &Limits,
    lang: GuestLang,
) -> SandboxError {
    let component = name.to_string();
    if let Some(limit) = limit_hit(error, state, limits) {
        return limit.into_error(component);
    }
    if let Some(pool) = error.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        // Not the component's fault: too many renders at once for the pool.
        return SandboxError::Engine {
            reason: format!(
                "cannot start component '{name}': {pool}; render fewer components at once"
            ),
        };
    }
    let mut message = cause_chain(error);
    if let Some(hint) = lang.trap_hint() {
        message.push_str(&format!("; {hint}"));
        if let Some(last) = state.last_output() {
            message.push_str(&format!("; its last output: {last}"));
        }
    } else if let Some(report) = state.crash_report() {
        message.push_str(&format!("; stderr: {report}"));
    }
    SandboxError::Trap { component, message }
}

/// A limit a failed render hit.
enum LimitHit {
    Time(Time),
    Memory(Size),
    Resource(&'static str, u64),
}

impl LimitHit {
    fn into_error(self, component: String) -> SandboxError {
        match self {
            LimitHit::Time(limit) => SandboxError::Timeout { component, limit },
            LimitHit::Memory(limit) => SandboxError::Memory { component, limit },
            LimitHit::Resource(resource, limit) => SandboxError::Resource {
                component,
                resource,
                limit,
            },
        }
    }
}

/// Which limit, if any, made the render fail: from typed state first (the
/// trap code, the limiter's and the file guard's flags, the resource
/// table's error), then from the wording of the few count limits wasmtime
/// reports only as text (its store and pool checks have no error type).
fn limit_hit(error: &wasmtime::Error, state: &HostState, limits: &Limits) -> Option<LimitHit> {
    if error.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
        return Some(LimitHit::Time(Time(limits.timeout)));
    }
    if state.limiter.memory_hit {
        return Some(LimitHit::Memory(Size(limits.memory_bytes)));
    }
    if state.limiter.table_hit {
        let limit = u64::from(limits.table_elements);
        return Some(LimitHit::Resource("table elements", limit));
    }
    if state.files.hit {
        return Some(LimitHit::Resource("open files", u64::from(limits.files)));
    }
    let table_full = error.chain().any(|e| {
        matches!(
            e.downcast_ref::<ResourceTableError>(),
            Some(ResourceTableError::Full)
        )
    });
    if table_full {
        let capacity = super::files::RESOURCE_CAPACITY as u64;
        return Some(LimitHit::Resource("WASI resources", capacity));
    }
    count_limit(&format!("{error:#}"), limits)
}

/// wasmtime's store (`StoreLimits`) and pooling allocator report too many
/// instances, tables or memories only as text; the wording of wasmtime
/// 48.0.8 is matched here, and the limit tests fail if an upgrade changes it.
fn count_limit(text: &str, limits: &Limits) -> Option<LimitHit> {
    let counts = [
        (
            "instance count too high",
            "core module instances",
            "instances",
            limits.instances,
        ),
        (
            "table count too high",
            " tables, which exceeds",
            "tables",
            limits.tables,
        ),
        (
            "memory count too high",
            "linear memories, which",
            "memories",
            limits.memories,
        ),
    ];
    counts
        .into_iter()
        .find_map(|(store, pool, resource, limit)| {
            let pooled = text.contains(pool) && text.contains("in the pooling allocator");
            (text.contains(store) || pooled)
                .then_some(LimitHit::Resource(resource, u64::from(limit)))
        })
}

/// The error for a component that failed after being refused a descriptor.
fn files_error(name: &str, limits: &Limits) -> SandboxError {
    LimitHit::Resource("open files", u64::from(limits.files)).into_error(name.to_string())
}

/// wasmtime's error and its causes, one line each, without the wasm
/// backtrace, joined with ": " and cut at 1 KiB: the trap kind (e.g. "wasm
/// trap: wasm `unreachable` instruction executed") and what led to it.
fn cause_chain(error: &wasmtime::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        let line = text.lines().next().unwrap_or_default().trim();
        let backtrace = line.starts_with("error while executing at wasm backtrace");
        if !line.is_empty() && !backtrace && parts.last().is_none_or(|p| p != line) {
            parts.push(line.to_string());
        }
    }
    if parts.is_empty() {
        return "unknown error".to_string();
    }
    truncate(&parts.join(": "), 1024)
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

/// `(threads, solo_from)` for [`Runtime::share_compile_cores`]: threads
/// per compile child (0 for one per core) when compiles of `sizes` share
/// `cores`, and the size from which a compile takes every core.
fn compile_shares(cores: usize, sizes: &[u64]) -> (usize, u64) {
    let concurrent = cores.min(sizes.len());
    let threads = if concurrent <= 1 {
        0
    } else {
        (cores / concurrent).max(1)
    };
    let largest = sizes.iter().copied().max().unwrap_or(0);
    let total = sizes
        .iter()
        .fold(0u64, |sum, &size| sum.saturating_add(size));
    let rest = total - largest;
    let solo_from = if largest > rest { largest } else { u64::MAX };
    (threads, solo_from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_cores_go_to_the_critical_path() {
        const MB: u64 = 1 << 20;
        // The example: the Python component outweighs the other four.
        let (threads, solo) = compile_shares(2, &[18 * MB, 2 * MB, MB / 5, MB / 5, MB / 5]);
        assert_eq!((threads, solo), (1, 18 * MB));
        // Two large ones that together outweigh the rest: one thread each.
        assert_eq!(
            compile_shares(2, &[18 * MB, 16 * MB, 3 * MB]),
            (1, u64::MAX)
        );
        assert_eq!(compile_shares(2, &[18 * MB, 12 * MB, MB]), (1, 18 * MB));
        // One component, or one core: every core for every compile.
        assert_eq!(compile_shares(2, &[MB]), (0, MB));
        assert_eq!(compile_shares(1, &[18 * MB, 12 * MB]).0, 0);
        assert_eq!(compile_shares(4, &[MB, MB, MB, MB, MB]), (1, u64::MAX));
        assert_eq!(compile_shares(8, &[MB, MB]), (4, u64::MAX));
        assert_eq!(compile_shares(2, &[]).0, 0);
        // Sizes a hostile chart could declare do not overflow the sum.
        assert_eq!(compile_shares(2, &[u64::MAX, u64::MAX]), (1, u64::MAX));
    }

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
    fn pool_and_store_count_errors_name_the_same_limit() {
        let limits = Limits::default();
        // wasmtime 48.0.8's wording, from `StoreLimits` and the pooling allocator.
        for (text, resource) in [
            (
                "resource limit exceeded: instance count too high at 101",
                "instances",
            ),
            (
                "The component transitively contains 2000 core module instances, which exceeds the configured maximum of 1000 in the pooling allocator",
                "instances",
            ),
            (
                "resource limit exceeded: table count too high at 101",
                "tables",
            ),
            (
                "The component transitively contains 2000 tables, which exceeds the configured maximum of 1000 in the pooling allocator",
                "tables",
            ),
            (
                "resource limit exceeded: memory count too high at 17",
                "memories",
            ),
            (
                "The component transitively contains 90 Wasm linear memories, which exceeds the configured maximum of 64 in the pooling allocator",
                "memories",
            ),
        ] {
            match count_limit(text, &limits) {
                Some(LimitHit::Resource(found, _)) => assert_eq!(found, resource, "{text}"),
                _ => panic!("not recognised: {text}"),
            }
        }
        assert!(count_limit("wasm trap: out of bounds memory access", &limits).is_none());
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(2_202_010), "2.1 MiB");
        assert_eq!(human_size(191_463), "187 KiB");
        assert_eq!(human_size(10), "10 bytes");
    }
}
