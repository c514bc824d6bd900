//! The compile cache: components precompiled to native code, on disk.
//!
//! Compiling a component with Cranelift takes 25 ms for a small Rust
//! component and seconds for a JavaScript or Python one; loading a cached
//! artifact takes well under a millisecond for small ones.
//!
//! - Location: `WASMCHART_CACHE_DIR`, else the user cache directory
//!   (`$XDG_CACHE_HOME/wasmchart`, `~/.cache/wasmchart`,
//!   `~/Library/Caches/wasmchart` on macOS, `%LOCALAPPDATA%\wasmchart` on
//!   Windows), in a `v1` subdirectory.
//! - Key: SHA-256 of the component bytes, the engine's
//!   `precompile_compatibility_hash` (target, features, tunables) and the
//!   wasmtime and wasmchart versions. A different engine never even looks at
//!   another engine's entries.
//! - Entry: a header with a magic string, the artifact's length and CRC-32,
//!   then the artifact from `Engine::precompile_component`. Written to a
//!   temporary file in the same directory and renamed into place, so a
//!   reader never sees half an entry.
//! - A corrupted, truncated or foreign entry fails the checksum (or
//!   wasmtime's own version and configuration check) and is discarded and
//!   rebuilt.

use super::error::SandboxError;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Start of every entry; bump the version when the layout changes.
const MAGIC: &[u8; 16] = b"wasmchart-cwasm2";
/// wasmtime's version, part of the key (the workspace pins it exactly).
const WASMTIME_VERSION: &str = "48.0.8";
/// Header: magic, then the artifact's length (u64) and CRC-32 (u32), both
/// little-endian. The check guards against accidents (truncation, disk or
/// copy errors), not attackers (see `deserialize`), so a CRC is enough and
/// keeps a warm load of a 30 MiB JavaScript component's artifact cheap,
/// where a SHA-256 of it cost tens of milliseconds on every render.
const HEADER_LEN: usize = MAGIC.len() + 12;

/// What the cache did for one load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    /// Loaded from a valid entry.
    Hit,
    /// No entry: compiled and stored.
    Miss,
    /// An entry was corrupted or foreign: discarded, compiled and stored again.
    Rebuilt,
    /// No usable cache directory: compiled in memory only.
    Disabled,
}

/// A cache directory bound to one engine configuration.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: Option<PathBuf>,
    engine_hash: [u8; 32],
}

impl Cache {
    /// Opens (creating it) the cache at `dir`, or the default location when
    /// `None`. An explicit directory that cannot be created is an error; a
    /// default one only disables caching, since it is an optimisation the
    /// user did not ask for by name.
    ///
    /// # Errors
    ///
    /// [`SandboxError::Cache`] when an explicit directory cannot be created.
    pub fn open(engine: &Engine, dir: Option<PathBuf>) -> Result<Self, SandboxError> {
        let engine_hash = engine_hash(engine);
        let (dir, explicit) = match dir.or_else(|| env_dir("WASMCHART_CACHE_DIR")) {
            Some(dir) => (Some(dir), true),
            None => (default_dir(), false),
        };
        let dir = dir.map(|d| d.join("v1"));
        match &dir {
            Some(path) => match std::fs::create_dir_all(path) {
                Ok(()) => Ok(Cache { dir, engine_hash }),
                Err(e) if explicit => Err(SandboxError::Cache {
                    path: path.clone(),
                    reason: format!("cannot create the directory: {e}"),
                }),
                Err(_) => Ok(Cache {
                    dir: None,
                    engine_hash,
                }),
            },
            None => Ok(Cache {
                dir: None,
                engine_hash,
            }),
        }
    }

    /// The directory entries live in, if caching is on.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The entry path for component bytes with SHA-256 `digest`.
    pub fn entry_path(&self, digest: &[u8; 32]) -> Option<PathBuf> {
        let key = Sha256::new()
            .chain_update(digest)
            .chain_update(self.engine_hash)
            .chain_update(WASMTIME_VERSION)
            .chain_update(env!("CARGO_PKG_VERSION"))
            .finalize();
        Some(self.dir.as_ref()?.join(format!("{}.cwasm", hex(&key))))
    }

    /// Loads the component with SHA-256 `digest`, compiling it with
    /// `compile` on a miss and storing the result.
    ///
    /// # Errors
    ///
    /// Whatever `compile` returns; cache I/O failures never fail a load.
    pub fn load(
        &self,
        engine: &Engine,
        digest: &[u8; 32],
        compile: impl FnOnce() -> Result<Vec<u8>, SandboxError>,
    ) -> Result<(Component, CacheStatus), SandboxError> {
        let Some(path) = self.entry_path(digest) else {
            let artifact = compile()?;
            return Ok((
                deserialize(engine, &artifact, &PathBuf::new())?,
                CacheStatus::Disabled,
            ));
        };
        let status = match read_entry(engine, &path) {
            Entry::Valid(component) => return Ok((component, CacheStatus::Hit)),
            Entry::Missing => CacheStatus::Miss,
            Entry::Invalid => {
                // Best effort: a stale entry is overwritten just below anyway.
                let _ = std::fs::remove_file(&path);
                CacheStatus::Rebuilt
            }
        };
        let artifact = compile()?;
        // A failed write only costs a compile next time.
        let _ = write_entry(&path, &artifact);
        Ok((deserialize(engine, &artifact, &path)?, status))
    }
}

enum Entry {
    Valid(Component),
    Missing,
    Invalid,
}

fn read_entry(engine: &Engine, path: &Path) -> Entry {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Entry::Missing,
        Err(_) => return Entry::Invalid,
    };
    let Some(artifact) = verified_artifact(&bytes) else {
        return Entry::Invalid;
    };
    match deserialize(engine, artifact, path) {
        Ok(component) => Entry::Valid(component),
        Err(_) => Entry::Invalid,
    }
}

/// The artifact inside an entry, if the magic and checksum are right.
fn verified_artifact(bytes: &[u8]) -> Option<&[u8]> {
    let (header, artifact) = bytes.split_at_checked(HEADER_LEN)?;
    let (magic, checksum) = header.split_at(MAGIC.len());
    (magic == MAGIC && checksum == integrity(artifact)).then_some(artifact)
}

/// Length and CRC-32 of an artifact, as stored in the entry header.
fn integrity(artifact: &[u8]) -> [u8; 12] {
    let mut out = [0; 12];
    out[..8].copy_from_slice(&(artifact.len() as u64).to_le_bytes());
    out[8..].copy_from_slice(&crc32fast::hash(artifact).to_le_bytes());
    out
}

/// Turns an artifact this process produced or verified into a component.
fn deserialize(engine: &Engine, artifact: &[u8], path: &Path) -> Result<Component, SandboxError> {
    // SAFETY: `Component::deserialize` is unsafe because wasmtime executes
    // the native code in the artifact without validating it; arbitrary bytes
    // could do anything. The bytes here are trusted:
    // - they come from `Engine::precompile_component` on an engine with
    //   this exact configuration, either in this process (a miss) or in an
    //   earlier run that wrote the entry under a key that includes the
    //   engine's compatibility hash and the wasmtime version;
    // - an entry read from disk is accepted only if its length and CRC-32,
    //   stored in the header when we wrote it, match, so truncation and corruption
    //   are caught before this call (the checksum guards against accidents,
    //   not against an attacker who can write to the user's own cache
    //   directory, who could already replace the wasmchart binary);
    // - the checksum is verified on the very bytes held in memory here, not
    //   on a file that could change after the check (which is why this uses
    //   `deserialize` on a buffer rather than `deserialize_file`'s mmap);
    // - wasmtime itself rejects, with an error rather than undefined
    //   behaviour, artifacts from another version or configuration.
    #[allow(unsafe_code)]
    let component = unsafe { Component::deserialize(engine, artifact) };
    component.map_err(|e| SandboxError::Cache {
        path: path.to_path_buf(),
        reason: format!("cannot load the precompiled component: {e}"),
    })
}

fn write_entry(path: &Path, artifact: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    file.write_all(MAGIC)?;
    file.write_all(&integrity(artifact))?;
    file.write_all(artifact)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
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
    fn checksum_guards_the_artifact() {
        let artifact = b"native code".to_vec();
        let mut entry = MAGIC.to_vec();
        entry.extend_from_slice(&integrity(&artifact));
        entry.extend_from_slice(&artifact);
        assert_eq!(verified_artifact(&entry), Some(&artifact[..]));
        let last = entry.len() - 1;
        entry[last] ^= 1;
        assert_eq!(verified_artifact(&entry), None);
        assert_eq!(verified_artifact(&entry[..10]), None);
        assert_eq!(verified_artifact(b""), None);
    }
}
