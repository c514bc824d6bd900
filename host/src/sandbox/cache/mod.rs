//! The compile cache: components precompiled to native code, on disk, that
//! the host runs only if it can prove it compiled exactly those bytes.
//!
//! Compiling a component with Cranelift takes 25 ms for a small Rust
//! component and seconds for a JavaScript or Python one; loading a cached
//! artifact takes a few milliseconds. But `Component::deserialize` runs the
//! native code it is given as is, so whoever can write the cache directory
//! (a CI cache restored from another branch or fork, a shared runner
//! volume, a world-writable directory) must not be able to choose it.
//!
//! - **Location**: `WASMCHART_CACHE_DIR`, else the user cache directory
//!   (`$XDG_CACHE_HOME/wasmchart`, `~/.cache/wasmchart`,
//!   `~/Library/Caches/wasmchart` on macOS), in a `v1` subdirectory created
//!   mode 0700. An existing `v1` owned by another user, writable by group
//!   or others, or that is a symbolic link is not used: components are
//!   compiled in memory, with one warning.
//! - **Key** (`key.rs`): a per-user secret, `<config dir>/cache-key`
//!   (`WASMCHART_CONFIG_DIR`, else `$XDG_CONFIG_HOME/wasmchart`, else
//!   `~/.config/wasmchart`), 32 random bytes, mode 0600 in a 0700
//!   directory, created atomically on first use. It is never inside the
//!   cache directory (nor the cache inside the config directory): a copy or
//!   restore of the cache never carries it. A key others can read is
//!   replaced, with a warning.
//! - **Entry** (`entry.rs`): file name from the component's SHA-256 and the
//!   engine (`precompile_compatibility_hash`, wasmtime and wasmchart
//!   versions); the artifact first (so that wasmtime can map the file
//!   itself), then a header holding the key's public id, the component's
//!   SHA-256, the engine id and the artifact length, and an HMAC-SHA256
//!   with the key over header and artifact. Written to a temporary file
//!   (0600) in the same directory and renamed into place.
//! - **Checks on load** (`read.rs`): the entry is opened once, without
//!   following a symlink or blocking on a FIFO; `fstat` of that descriptor
//!   must show a regular file with one link, owned by this user, not
//!   writable by group or others, at most 1 GiB; it is mapped read-only
//!   (`map.rs`) from the same descriptor and `fstat` again (same identity,
//!   or it changed meanwhile). Then every header field must match this load
//!   (key id, component, engine, length) and the MAC must verify, unless a
//!   stamp vouches for the file. wasmtime maps a stamped entry itself
//!   through `/proc/self/fd` (the checked descriptor's inode): no read, no
//!   copy, only the pages a render touches are loaded, and the components'
//!   memory images are copy-on-write mappings of the file (elsewhere it
//!   runs in place from our mapping); any other entry is copied, verified
//!   and deserialized from the copy.
//! - **Stamps** (`stamp.rs`), the warm path: HMAC-SHA256 over one 35 MiB
//!   artifact costs 25 ms with SHA-NI (keyed BLAKE3 6.5 ms, CRC-32 1.6 ms),
//!   and a warm prod render of the example loads two: measured, full checks
//!   make every render 28% slower (0.133 s against 0.105 s, whole process).
//!   So after writing an optimised entry, or after one full check, and
//!   once the file is flushed to disk, the host records `<entry>.stamp`:
//!   the file's device, inode, size, mtime and ctime (ns) and its name,
//!   MAC'd with the key. A later load whose `fstat` matches a valid stamp
//!   skips the MAC over the artifact ([`CacheStatus::Hit`]); any other load
//!   verifies in full ([`CacheStatus::Verified`]) and stamps the file. A
//!   fast-tier entry is written without the flush and the stamp (see
//!   `Cache::durable`). (Keyed BLAKE3 would still cost 13 ms a render and
//!   a new crate; with stamps the MAC's speed only matters once per file.)
//! - **Refusals**: an entry that fails any check is deleted and rebuilt
//!   ([`CacheStatus::Rebuilt`]) with one warning saying why; each kind of
//!   warning is shown once per runtime (`warnings.rs`).
//!
//! Why a stamp is as good as the MAC: see the comment in [`deserialize`].
//! The cache needs Unix ownership and inode semantics; elsewhere it is off.

mod entry;
mod fsx;
mod ids;
mod key;
mod map;
mod read;
mod renders;
mod stamp;
mod warnings;

use super::artifact::Artifact;
use super::engine::Tier;
use super::error::SandboxError;
use super::request::RenderResult;
use entry::{Binding, Trusted};
use fsx::Identity;
use key::CacheKey;
#[cfg(target_os = "linux")]
pub(crate) use map::Mapping;
use read::Refusal;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use warnings::Warnings;
use wasmtime::Engine;
use wasmtime::component::Component;

/// wasmtime's version, part of the key (the workspace pins it exactly).
pub(super) const WASMTIME_VERSION: &str = "48.0.8";

/// A component out of the cache, with the file mapping its code runs
/// from, if any. The fields drop in order: the component (and with it its
/// code, once no other clone holds it) before the mapping.
pub(crate) struct Loaded {
    /// The component.
    pub component: Component,
    /// The entry mapping the component's code lives in; keep it as long as
    /// any clone of `component` (or anything made from it) lives.
    pub _mapping: Option<map::Mapping>,
}

/// A file's identity (device, inode, size, mtime, ctime) as bytes: equal
/// for two `fstat`s of one unchanged file.
pub(crate) fn identity_bytes(meta: &std::fs::Metadata) -> [u8; fsx::IDENTITY_LEN] {
    Identity::of(meta).to_bytes()
}

/// What the cache did for one load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Loaded from an entry a valid stamp vouched for (the warm path: the
    /// header was checked, the MAC over the artifact was not recomputed).
    Hit,
    /// Loaded from an entry whose MAC was verified in full (first load
    /// after a restore or copy, or after the file changed); now stamped.
    Verified,
    /// No entry: compiled and stored.
    Miss,
    /// An entry was refused (forged, foreign, unsafe, truncated...):
    /// discarded, compiled and stored again.
    Rebuilt,
    /// No usable cache directory or key: compiled in memory only.
    Disabled,
}

/// A cache directory bound to one engine configuration and one key.
#[derive(Debug)]
pub struct Cache {
    store: Option<Store>,
    /// SHA-256 of the engine's compatibility hash (names entries).
    engine_hash: [u8; 32],
    /// The engine hash with the wasmtime and wasmchart versions (in headers).
    engine_id: [u8; 32],
    /// Whether entries are flushed to disk and stamped when written: the
    /// optimised tier's are. A fast-tier entry only serves the renders that
    /// run before its optimised entry is compiled; flushing it (0.1–0.2 s
    /// for the example's large components) would delay every cold render,
    /// and without the flush a stamp could vouch for a file a crash left
    /// unwritten. Unstamped, it is checked in full when loaded.
    durable: bool,
    /// Whether this cache wrote a render entry (see [`Cache::trim_renders`]).
    wrote_renders: std::sync::atomic::AtomicBool,
    warnings: Arc<Warnings>,
}

#[derive(Debug, Clone)]
struct Store {
    dir: PathBuf,
    key: CacheKey,
    /// The cache root and config directory it was opened with, for a
    /// background compile that opens the same cache (see `compile.rs`).
    root: PathBuf,
    config: PathBuf,
}

impl Cache {
    /// Opens (creating it) the cache at `dir`, or the default location when
    /// `None`, with the key from `config_dir` (default: the user's config
    /// directory), for artifacts of `engine`, compiled by `tier` (part of
    /// every entry's name and header: a tier never takes another's entry). An explicit directory that cannot be created, or that
    /// is nested with the config directory, is an error; any other problem
    /// turns caching off with a warning, since caching is an optimisation.
    ///
    /// # Errors
    ///
    /// [`SandboxError::Cache`] for an unusable explicit directory.
    pub fn open(
        engine: &Engine,
        tier: Tier,
        dir: Option<PathBuf>,
        config_dir: Option<PathBuf>,
    ) -> Result<Self, SandboxError> {
        let (engine_hash, engine_id) = engine_ids(engine, tier);
        let mut cache = Cache {
            store: None,
            engine_hash,
            engine_id,
            durable: tier == Tier::Optimized,
            wrote_renders: Default::default(),
            warnings: Arc::default(),
        };
        cache.store = cache.open_store(dir, config_dir)?;
        Ok(cache)
    }

    /// The same cache directory and key, for artifacts of another
    /// `engine` and `tier`; warnings are shared (still once per kind).
    pub fn sibling(&self, engine: &Engine, tier: Tier) -> Cache {
        let (engine_hash, engine_id) = engine_ids(engine, tier);
        Cache {
            store: self.store.clone(),
            engine_hash,
            engine_id,
            durable: tier == Tier::Optimized,
            wrote_renders: Default::default(),
            warnings: Arc::clone(&self.warnings),
        }
    }

    fn open_store(
        &self,
        dir: Option<PathBuf>,
        config_dir: Option<PathBuf>,
    ) -> Result<Option<Store>, SandboxError> {
        if !cfg!(unix) {
            return Ok(None);
        }
        let (root, explicit) = match dir.or_else(|| env_dir("WASMCHART_CACHE_DIR")) {
            Some(dir) => (dir, true),
            None => match default_dir() {
                Some(dir) => (dir, false),
                None => return Ok(None),
            },
        };
        let config = match key::config_dir(config_dir) {
            Ok(config) => config,
            Err(reason) => return Ok(self.off(reason)),
        };
        if let Some(reason) = nesting(&root, &config) {
            if explicit {
                return Err(SandboxError::Cache { path: root, reason });
            }
            return Ok(self.off(reason));
        }
        let dir = root.join("v1");
        let store = |key| Store {
            dir: dir.clone(),
            key,
            root: root.clone(),
            config: config.clone(),
        };
        match private_dir(&dir) {
            Ok(()) => {}
            Err(DirProblem::Create(e)) if explicit => {
                return Err(SandboxError::Cache {
                    path: dir,
                    reason: format!("cannot create the directory: {e}"),
                });
            }
            Err(DirProblem::Create(_)) => return Ok(None),
            Err(DirProblem::Unsafe(why)) => {
                self.warnings.warn(
                    "directory",
                    format!(
                        "compile cache directory '{}' not used: {why}; compiling components in memory",
                        dir.display()
                    ),
                );
                return Ok(None);
            }
        }
        match key::load(&config, &mut |message| self.warnings.warn("key", message)) {
            Ok(key) => Ok(Some(store(key))),
            Err(reason) => Ok(self.off(reason)),
        }
    }

    fn off(&self, reason: String) -> Option<Store> {
        self.warnings.warn(
            "off",
            format!("compile cache off: {reason}; compiling components in memory"),
        );
        None
    }

    /// The directory entries live in, if caching is on.
    pub fn dir(&self) -> Option<&Path> {
        self.store.as_ref().map(|s| s.dir.as_path())
    }

    /// The warnings shown so far (once per kind), without `warning: `.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.list()
    }

    /// The SHA-256 that a digest record (`ids.rs`) vouches the component
    /// file `meta` describes (from `fstat` of its open descriptor) holds:
    /// a warm load then reads none of it.
    pub(crate) fn recorded_digest(&self, meta: &std::fs::Metadata) -> Option<[u8; 32]> {
        let store = self.store.as_ref()?;
        ids::lookup(&store.key, &store.dir, Identity::of(meta))
    }

    /// Records that the component file read between `before` and `after`
    /// (`fstat` of its descriptor) holds bytes with SHA-256 `digest`, if it
    /// kept its identity throughout and had settled when the read began.
    /// Best effort: a missing record only costs a read next time.
    pub(crate) fn record_digest(
        &self,
        before: &std::fs::Metadata,
        after: &std::fs::Metadata,
        digest: &[u8; 32],
        read_began: std::time::SystemTime,
    ) {
        let Some(store) = &self.store else { return };
        let identity = Identity::of(before);
        if identity == Identity::of(after) {
            let _ = ids::record(&store.key, &store.dir, identity, digest, read_began);
        }
    }

    /// The cache root and config directory, for a background compile into
    /// this cache; `None` when caching is off.
    pub fn dirs(&self) -> Option<(&Path, &Path)> {
        self.store
            .as_ref()
            .map(|s| (s.root.as_path(), s.config.as_path()))
    }

    /// Loads the component with SHA-256 `digest` if an entry passes every
    /// check; never compiles. A refused entry is deleted (with a warning).
    pub fn lookup_only(&self, engine: &Engine, digest: &[u8; 32]) -> Option<(Loaded, CacheStatus)> {
        let store = self.store.as_ref()?;
        let name = self.entry_name(digest);
        let path = store.dir.join(&name);
        let binding = Binding {
            key: &store.key,
            digest,
            engine: &self.engine_id,
        };
        match lookup(engine, &path, &name, binding) {
            Ok(found) => found,
            Err(refusal) => {
                self.discard(&path, &refusal);
                None
            }
        }
    }

    /// Compiles (with `compile`) and writes the entry for the component
    /// with SHA-256 `digest`, unless it exists or another process is
    /// writing it: an exclusive lock on `<entry>.lock` (never blocking)
    /// makes concurrent background compiles of one component skip.
    ///
    /// # Errors
    ///
    /// The compile's reason, or why the entry could not be written.
    pub fn fill(
        &self,
        digest: &[u8; 32],
        compile: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<(), String> {
        let Some(store) = &self.store else {
            return Err("the compile cache is off".into());
        };
        let name = self.entry_name(digest);
        let path = store.dir.join(&name);
        let Some(_lock) = fsx::try_lock(&store.dir.join(format!("{name}.lock")))
            .map_err(|e| format!("cannot lock the entry '{}': {e}", path.display()))?
        else {
            return Ok(());
        };
        if std::fs::symlink_metadata(&path).is_ok() {
            return Ok(());
        }
        let artifact = compile()?;
        let binding = Binding {
            key: &store.key,
            digest,
            engine: &self.engine_id,
        };
        write_entry(&path, &name, binding, &artifact, self.durable)
            .map_err(|e| format!("cannot write the entry '{}': {e}", path.display()))
    }

    /// The entry file name for component bytes with SHA-256 `digest`.
    fn entry_name(&self, digest: &[u8; 32]) -> String {
        let key = Sha256::new()
            .chain_update(digest)
            .chain_update(self.engine_hash)
            .chain_update(WASMTIME_VERSION)
            .chain_update(env!("CARGO_PKG_VERSION"))
            .chain_update(super::prune::REVISION)
            .finalize();
        format!("{}.cwasm", hex(&key))
    }

    /// Loads the component with SHA-256 `digest`, compiling it with
    /// `compile` on a miss or a refused entry and storing the result.
    ///
    /// # Errors
    ///
    /// Whatever `compile` returns; cache I/O failures never fail a load.
    pub fn load(
        &self,
        engine: &Engine,
        digest: &[u8; 32],
        compile: impl FnOnce() -> Result<Artifact, SandboxError>,
    ) -> Result<(Loaded, CacheStatus), SandboxError> {
        let fresh = |artifact: &Artifact, path: &Path| {
            let component =
                deserialize_fresh(engine, artifact).map_err(|reason| SandboxError::Cache {
                    path: path.to_path_buf(),
                    reason: format!("cannot load the component just compiled: {reason}"),
                })?;
            Ok::<_, SandboxError>(Loaded {
                component,
                _mapping: None,
            })
        };
        let Some(store) = &self.store else {
            let artifact = compile()?;
            return Ok((fresh(&artifact, Path::new(""))?, CacheStatus::Disabled));
        };
        let name = self.entry_name(digest);
        let path = store.dir.join(&name);
        let binding = Binding {
            key: &store.key,
            digest,
            engine: &self.engine_id,
        };
        let status = match lookup(engine, &path, &name, binding) {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => CacheStatus::Miss,
            Err(refusal) => {
                self.discard(&path, &refusal);
                CacheStatus::Rebuilt
            }
        };
        let artifact = compile()?;
        if let Err(e) = write_entry(&path, &name, binding, artifact.bytes(), self.durable) {
            self.warnings.warn(
                "write",
                format!(
                    "cannot write compile cache entry '{}': {e}; it will be compiled again next time",
                    path.display()
                ),
            );
        }
        Ok((fresh(&artifact, &path)?, status))
    }

    /// The output remembered for a render with input digest `input` (see
    /// `memo.rs`), if an authentic entry holds it. A refused entry is
    /// deleted, with one warning.
    pub(crate) fn recall(&self, input: &[u8; 32]) -> Option<RenderResult> {
        let store = self.store.as_ref()?;
        let dir = store.dir.join(renders::DIR);
        // Never read (or delete) through a link a restored cache planted.
        if !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            return None;
        }
        let path = renders::path_for(&store.key, &dir, input);
        match renders::read(&store.key, &path, input) {
            Ok(found) => found,
            Err(refusal) => {
                let _ = std::fs::remove_file(&path);
                self.warnings.warn(
                    "render entry",
                    format!(
                        "render cache entry '{}' refused: {refusal}; running the component again",
                        path.display()
                    ),
                );
                None
            }
        }
    }

    /// Remembers `result` as the output of the render with input digest
    /// `input`. Best effort: a missing entry only costs a render.
    pub(crate) fn remember(&self, input: &[u8; 32], result: &RenderResult) {
        let Some(store) = &self.store else { return };
        let dir = store.dir.join(renders::DIR);
        if private_dir(&dir).is_ok() && renders::write(&store.key, &dir, input, result).is_ok() {
            self.wrote_renders
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Keeps the render entries within their bounds (see `renders.rs`),
    /// if this cache wrote any: the least recently used go first.
    pub(crate) fn trim_renders(&self) {
        let Some(store) = &self.store else { return };
        if self
            .wrote_renders
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            renders::trim(
                &store.dir.join(renders::DIR),
                renders::MAX_ENTRIES,
                renders::MAX_BYTES,
            );
        }
    }

    fn discard(&self, path: &Path, refusal: &Refusal) {
        // Best effort: a stale entry is replaced by the rebuild anyway.
        let _ = std::fs::remove_file(path);
        let _ = std::fs::remove_file(stamp::path_for(path));
        self.warnings.warn(
            refusal.kind(),
            format!(
                "compile cache entry '{}' refused: {refusal}; compiling the component again",
                path.display()
            ),
        );
    }
}

/// Maps, checks and deserializes the entry at `path`: when a stamp vouches
/// for the file, wasmtime maps it itself (or it runs in place from our
/// mapping), else it is checked in full on a private copy and stamped.
fn lookup(
    engine: &Engine,
    path: &Path,
    name: &str,
    binding: Binding<'_>,
) -> Result<Option<(Loaded, CacheStatus)>, Refusal> {
    let Some(checked) = read::read(path, name, binding)? else {
        return Ok(None);
    };
    if checked.stamped {
        let artifact = checked.stamped_artifact(binding)?;
        if let Some(component) = deserialize_descriptor(engine, &checked.file) {
            let loaded = Loaded {
                component,
                _mapping: None,
            };
            return Ok(Some((loaded, CacheStatus::Hit)));
        }
        let component = deserialize_mapped(engine, artifact, &checked.map)?;
        let loaded = Loaded {
            component,
            _mapping: Some(checked.map),
        };
        return Ok(Some((loaded, CacheStatus::Hit)));
    }
    let copy = checked.map.bytes().to_vec();
    let artifact = read::verified_artifact(&copy, binding)?;
    let component = deserialize(engine, artifact).map_err(Refusal::Rejected)?;
    // Stamped only once on disk (see `Cache::durable`); a missing stamp only
    // costs a full check next time.
    if checked.file.sync_all().is_ok() {
        let _ = stamp::write(binding.key, path, name, checked.identity);
    }
    let loaded = Loaded {
        component,
        _mapping: None,
    };
    Ok(Some((loaded, CacheStatus::Verified)))
}

/// Has wasmtime map a stamped entry itself, through `/proc/self/fd`, so
/// that its memory images are copy-on-write mappings of the file; `None`
/// where that is not possible (no `/proc`), and the caller runs it from
/// its own mapping instead.
fn deserialize_descriptor(engine: &Engine, file: &std::fs::File) -> Option<Component> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd as _;
        let path = format!("/proc/self/fd/{}", file.as_raw_fd());
        // SAFETY: as for `deserialize_mapped` (below): the descriptor is the
        // one every check ran on (regular, this user's, 0600, one link, in
        // our 0700 directory; a stamp vouches for its identity, and its
        // header names this component and engine). `/proc/self/fd/N` is a
        // magic link: opening it opens the very inode the descriptor refers
        // to, never a name looked up again, so a file renamed over the
        // entry's name meanwhile is not what wasmtime maps. wasmtime maps it
        // `MAP_PRIVATE`, parses the ELF artifact at its start by offsets
        // (the header after it is never read there), and keeps the file
        // open for the memory images; the inode is never rewritten in place
        // by this host (entries are replaced by rename).
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize_file(engine, &path) };
        component.ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (engine, file);
        None
    }
}

/// Runs a stamped entry's artifact in place from its mapping; if the
/// system refuses to execute it there (a cache on a `noexec` mount), from a
/// copy instead.
fn deserialize_mapped(
    engine: &Engine,
    artifact: Trusted<'_>,
    map: &map::Mapping,
) -> Result<Component, Refusal> {
    let region = map.region(artifact.bytes().len());
    // The trusted slice must be exactly the region handed to wasmtime.
    if !std::ptr::eq(
        region.as_ptr().cast_const(),
        std::ptr::from_ref(artifact.bytes()),
    ) {
        return Err(Refusal::Rejected(
            "internal error: artifact outside its mapping".into(),
        ));
    }
    // SAFETY: as for `deserialize` (below), `artifact` is trusted: its
    // header names this component and engine, and a stamp (MAC'd with the
    // user's key) vouches that this very file, by the `fstat` identity of
    // the descriptor it was mapped from, holds bytes this host verified or
    // wrote. `Component::deserialize_raw` adds two requirements: the memory
    // lives as long as the component, and it is never modified meanwhile.
    // - Lifetime: the mapping is returned with the component in `Loaded`,
    //   whose fields drop component first, and every holder of the
    //   component (`LoadedComponent`) keeps that `Loaded` in one struct
    //   after its `InstancePre`; stores made from it end with each render.
    // - No modification: the mapping is `MAP_PRIVATE`, `PROT_READ`, and
    //   never written by this process (wasmtime only changes the text
    //   pages to read+execute through the engine's code memory hook). The
    //   file behind it is this user's, 0600 (no group/other write, checked
    //   on the descriptor), has one link and lives in a 0700 directory of
    //   this user's (checked at open): no other user can open it for
    //   writing, now or earlier (this host creates entries 0600 in that
    //   directory and replaces them by rename, never in place, so a
    //   mapped inode is never rewritten by wasmchart either). Only this
    //   user or root could change the pages under the mapping, and both
    //   can replace the binary or the key anyway (out of scope, as for
    //   stamps). A full check (no stamp) never runs from the mapping: it
    //   verifies and deserializes a private copy.
    #[allow(unsafe_code)]
    let in_place = unsafe { Component::deserialize_raw(engine, region) };
    match in_place {
        Ok(component) => Ok(component),
        // Not executable in place (e.g. `noexec`): the same bytes, copied.
        Err(_) => deserialize(engine, artifact).map_err(Refusal::Rejected),
    }
}

/// Turns an artifact just compiled into a component: in place from its
/// sealed memory file when a compiler child wrote it, else from a copy.
fn deserialize_fresh(engine: &Engine, artifact: &Artifact) -> Result<Component, String> {
    #[cfg(target_os = "linux")]
    if let Artifact::Sealed(sealed) = artifact {
        use std::os::fd::AsRawFd as _;
        let path = format!("/proc/self/fd/{}", sealed.file().as_raw_fd());
        // SAFETY: the file holds exactly what `Engine::precompile_component`
        // wrote in a compiler child of this host, for this component and this
        // engine's tier (the same trust as `Trusted::fresh`). The child has
        // exited and the file is sealed against writes, growth and shrinking
        // (`artifact::from_child`), by any process and through any
        // descriptor, so its bytes never change while wasmtime maps them.
        // `/proc/self/fd/N` opens that very memory file, not a name.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize_file(engine, &path) };
        if let Ok(component) = component {
            return Ok(component);
        }
    }
    deserialize(engine, Trusted::fresh(artifact.bytes()))
}

/// Turns a trusted artifact into a component.
fn deserialize(engine: &Engine, artifact: Trusted<'_>) -> Result<Component, String> {
    // SAFETY: `Component::deserialize` is unsafe because wasmtime executes
    // the native code in the artifact without validating it. A `Trusted`
    // artifact holds exactly what `Engine::precompile_component` produced,
    // in this host, for this component and this engine:
    // - a fresh compile in this process; or
    // - an entry read into memory from one open descriptor, whose header
    //   names this component's SHA-256 and this engine, and whose
    //   HMAC-SHA256 over header and artifact verifies with the user's cache
    //   key. The key is 32 random bytes in a 0600 file in a 0700 config
    //   directory outside the cache, checked to be this user's and private,
    //   so whoever can write, copy, swap or restore cache files cannot
    //   compute a MAC, and an entry moved under another component's or
    //   engine's name fails the header check; or
    // - an entry whose MAC was verified that way (or that this host wrote)
    //   earlier, recognised by a stamp: a MAC (same key) over the entry's
    //   name and the `fstat` identity of the file it was verified or
    //   written through: device, inode, size, mtime and ctime in ns. The
    //   stamp matches the `fstat` of the descriptor the bytes were read
    //   from, before and after the read. The file is this user's, not
    //   writable by group or others, with one link (checked on that
    //   descriptor), so only this user (or root) can open it for writing,
    //   and any write, chmod, chown, link or rename sets ctime to the
    //   current time, which no unprivileged call can set back; a restore,
    //   copy or replacement is a new inode with a new ctime. So the bytes
    //   are the ones that were verified. Attackers with root, with this
    //   user's identity, or with raw access to the block device can also
    //   replace the binary or the key and are out of scope.
    // wasmtime also rejects, with an error, artifacts from another version
    // or configuration. `Component::deserialize` copies the bytes: a fresh
    // compile, or the private copy a full check verified. (A stamped entry
    // runs in place from its mapping: see `deserialize_mapped`.)
    #[allow(unsafe_code)]
    let component = unsafe { Component::deserialize(engine, artifact.bytes()) };
    component.map_err(|e| format!("{e:#}"))
}

/// Writes the entry (temporary file, 0600, renamed into place); when
/// `durable`, flushes it first and stamps it with the identity of the file
/// as written, taken from the descriptor it was written through, after the
/// rename.
fn write_entry(
    path: &Path,
    name: &str,
    binding: Binding<'_>,
    artifact: &[u8],
    durable: bool,
) -> std::io::Result<()> {
    if (artifact.len() + entry::HEADER_LEN) as u64 > read::MAX_ENTRY_BYTES {
        return Ok(());
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(artifact)?;
    tmp.write_all(&entry::header(binding, artifact))?;
    if !durable {
        return tmp.persist(path).map(drop).map_err(|e| e.error);
    }
    tmp.as_file().sync_all()?;
    let file = tmp.persist(path).map_err(|e| e.error)?;
    let identity = Identity::of(&file.metadata()?);
    stamp::write(binding.key, path, name, identity)
}

enum DirProblem {
    Create(std::io::Error),
    Unsafe(String),
}

/// Creates `dir` (mode 0700) if needed and refuses one another user owns,
/// that group or others may write, or that is a symbolic link (a restored
/// cache could hold one leading anywhere this user may write).
fn private_dir(dir: &Path) -> Result<(), DirProblem> {
    fsx::create_private_dir(dir).map_err(DirProblem::Create)?;
    let meta = std::fs::symlink_metadata(dir).map_err(DirProblem::Create)?;
    if meta.file_type().is_symlink() {
        return Err(DirProblem::Unsafe("it is a symbolic link".into()));
    }
    if !meta.is_dir() {
        return Err(DirProblem::Unsafe("it is not a directory".into()));
    }
    fsx::check_private(&meta).map_err(|why| DirProblem::Unsafe(why.to_string()))
}

/// A sentence if the cache and config directories are inside one another.
fn nesting(cache: &Path, config: &Path) -> Option<String> {
    let (a, b) = (resolved(cache), resolved(config));
    let nested = a
        .iter()
        .any(|x| b.iter().any(|y| x.starts_with(y) || y.starts_with(x)));
    nested.then(|| {
        format!(
            "the compile cache directory '{}' and the config directory '{}' that holds the cache \
             key are inside one another; keep them apart (WASMCHART_CACHE_DIR, \
             WASMCHART_CONFIG_DIR) so that a copy or restore of the cache never carries its key",
            cache.display(),
            config.display()
        )
    })
}

/// `path` made absolute, and with its longest existing prefix resolved.
fn resolved(path: &Path) -> [PathBuf; 2] {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut real = absolute.clone();
    for base in absolute.ancestors() {
        if let Ok(canonical) = std::fs::canonicalize(base) {
            let rest = absolute.strip_prefix(base).unwrap_or(Path::new(""));
            real = canonical.join(rest);
            break;
        }
    }
    [absolute, real]
}

/// The names-entries hash (engine compatibility hash and tier) and the
/// header id (that, plus the wasmtime and wasmchart versions).
fn engine_ids(engine: &Engine, tier: Tier) -> ([u8; 32], [u8; 32]) {
    let mut engine_hash = engine_hash(engine);
    // wasmtime's hash already differs between compilers (Winch's calling
    // convention is a tunable); the tier is added so that it always will.
    // The optimised tier keeps the names entries had before tiers existed.
    if tier != Tier::Optimized {
        engine_hash = Sha256::new()
            .chain_update(engine_hash)
            .chain_update(tier.name())
            .finalize()
            .into();
    }
    let engine_id: [u8; 32] = Sha256::new()
        .chain_update(engine_hash)
        .chain_update(WASMTIME_VERSION)
        .chain_update(env!("CARGO_PKG_VERSION"))
        .finalize()
        .into();
    (engine_hash, engine_id)
}

/// A SHA-256 of the engine's compatibility hash.
fn engine_hash(engine: &Engine) -> [u8; 32] {
    struct ShaHasher(Sha256);
    impl Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.finalize().into()
}

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The user cache directory for wasmchart, if the environment names one.
pub fn default_dir() -> Option<PathBuf> {
    let base = if cfg!(windows) {
        env_dir("LOCALAPPDATA")
    } else if cfg!(target_os = "macos") {
        env_dir("HOME").map(|h| h.join("Library").join("Caches"))
    } else {
        env_dir("XDG_CACHE_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| env_dir("HOME").map(|h| h.join(".cache")))
    };
    base.map(|b| b.join("wasmchart"))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn fill_skips_while_another_holds_the_lock_and_once_the_entry_exists() {
        let dir = tempfile::tempdir().unwrap();
        let (cache_dir, config_dir) = (dir.path().join("cache"), dir.path().join("config"));
        let engine = Engine::default();
        let cache =
            Cache::open(&engine, Tier::Optimized, Some(cache_dir), Some(config_dir)).unwrap();
        let digest = [7u8; 32];
        let name = cache.entry_name(&digest);
        let entries = cache.dir().unwrap().to_path_buf();
        let held = fsx::try_lock(&entries.join(format!("{name}.lock")))
            .unwrap()
            .expect("nobody holds the lock yet");
        cache
            .fill(&digest, || panic!("compiled while another holds the lock"))
            .unwrap();
        assert!(!entries.join(&name).exists());
        drop(held);
        cache.fill(&digest, || Ok(b"artifact".to_vec())).unwrap();
        assert!(entries.join(&name).exists());
        assert!(stamp::path_for(&entries.join(&name)).exists());
        cache.fill(&digest, || panic!("compiled again")).unwrap();
    }

    #[test]
    fn tiers_never_share_entry_names() {
        let engine = Engine::default();
        let off = |tier| Cache {
            store: None,
            engine_hash: engine_ids(&engine, tier).0,
            engine_id: engine_ids(&engine, tier).1,
            durable: tier == Tier::Optimized,
            wrote_renders: Default::default(),
            warnings: Arc::default(),
        };
        let (optimized, fast) = (off(Tier::Optimized), off(Tier::Fast));
        assert_ne!(optimized.entry_name(&[1; 32]), fast.entry_name(&[1; 32]));
        assert_ne!(optimized.engine_id, fast.engine_id);
    }

    #[test]
    #[cfg(unix)]
    fn nested_directories_are_refused_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let (cache, config) = (dir.path().join("cache"), dir.path().join("config"));
        assert_eq!(nesting(&cache, &config), None);
        let inside = cache.join("config");
        let text = nesting(&cache, &inside).expect("config inside the cache");
        assert!(text.contains("inside one another"), "{text}");
        assert!(nesting(&config.join("cache"), &config).is_some());
        assert!(nesting(&config, &config).is_some());
        std::os::unix::fs::symlink(&config, dir.path().join("link")).unwrap();
        std::fs::create_dir(&config).unwrap();
        assert!(nesting(&dir.path().join("link").join("c"), &config).is_some());
    }
}
