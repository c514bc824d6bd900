//! The cache key: a per-user secret that authenticates cache entries.
//!
//! It lives in `<config dir>/cache-key` (64 hex digits), never in the cache
//! directory, so whoever can write or restore the cache still cannot make an
//! entry this host accepts. The file is created on first use (mode 0600 in a
//! 0700 directory) by linking a complete temporary file into place without
//! replacing, so two concurrent first runs agree on one key. A key another
//! user owns, or that group or others may read or write, may be known to
//! someone else: it is replaced (which invalidates every entry) with a
//! warning.

use super::fsx::{self, Unsafe};
use hmac::{Hmac, Mac as _};
use rand_core::{OsRng, RngCore as _};
use sha2::Sha256;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// File name of the key inside the config directory.
pub(super) const KEY_FILE: &str = "cache-key";
/// Bytes of key material.
const KEY_BYTES: usize = 32;
/// A key file is 64 hex digits and a newline; anything longer is not ours.
const MAX_KEY_FILE: u64 = 2 * KEY_BYTES as u64 + 2;

/// HMAC-SHA256 keyed with the cache key.
pub(super) type HmacSha256 = Hmac<Sha256>;

/// A loaded cache key, ready to MAC. Its `Debug` shows only the public id.
#[derive(Clone)]
pub(super) struct CacheKey {
    mac: HmacSha256,
    id: [u8; 8],
}

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CacheKey(id {})", super::hex(&self.id))
    }
}

impl CacheKey {
    fn from_bytes(bytes: &[u8; KEY_BYTES]) -> Self {
        // HMAC takes keys of any length: this cannot fail.
        let mac = <HmacSha256 as hmac::digest::KeyInit>::new_from_slice(bytes)
            .unwrap_or_else(|_| unreachable!("HMAC accepts a 32-byte key"));
        let mut tagger = mac.clone();
        tagger.update(b"wasmchart compile cache key id");
        let mut id = [0; 8];
        id.copy_from_slice(&tagger.finalize().into_bytes()[..8]);
        CacheKey { mac, id }
    }

    /// A fresh MAC state keyed with this key.
    pub(super) fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }

    /// A public fingerprint of the key, stored in entries so that an entry
    /// made with another key is reported as such (the MAC decides anyway).
    pub(super) fn id(&self) -> [u8; 8] {
        self.id
    }

    /// A key for unit tests.
    #[cfg(test)]
    pub(super) fn for_tests(byte: u8) -> Self {
        CacheKey::from_bytes(&[byte; KEY_BYTES])
    }
}

/// Loads the key from `config_dir`, creating the directory and the key on
/// first use and replacing a compromised key (reported through `warn`).
///
/// # Errors
///
/// A sentence saying why no key can be used; the cache is then off.
pub(super) fn load(config_dir: &Path, warn: &mut dyn FnMut(String)) -> Result<CacheKey, String> {
    private_dir(config_dir)?;
    let path = config_dir.join(KEY_FILE);
    match read(&path) {
        Ok(key) => return Ok(key),
        Err(Problem::Missing) => create(config_dir, &path, false)?,
        Err(Problem::Bad(reason)) => {
            warn(format!(
                "compile cache key '{}' replaced: {reason}; every cached component will be compiled again",
                path.display()
            ));
            create(config_dir, &path, true)?;
        }
    }
    read(&path).map_err(|problem| {
        let reason = match problem {
            Problem::Missing => "it disappeared right after it was created".to_string(),
            Problem::Bad(reason) => reason,
        };
        format!(
            "cannot use the compile cache key '{}': {reason}",
            path.display()
        )
    })
}

/// Creates `dir` (mode 0700) if needed and refuses one that others could
/// write, where the key could be swapped under us.
fn private_dir(dir: &Path) -> Result<(), String> {
    let shown = dir.display();
    fsx::create_private_dir(dir)
        .map_err(|e| format!("cannot create the config directory '{shown}' for its key: {e}"))?;
    let meta = std::fs::metadata(dir)
        .map_err(|e| format!("cannot read the config directory '{shown}': {e}"))?;
    if !meta.is_dir() {
        return Err(format!("the config directory '{shown}' is not a directory"));
    }
    fsx::check_private(&meta)
        .map_err(|why| format!("the config directory '{shown}' cannot hold its key safely: {why}"))
}

enum Problem {
    Missing,
    Bad(String),
}

fn read(path: &Path) -> Result<CacheKey, Problem> {
    let file = match fsx::open_no_follow(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Problem::Missing),
        Err(e) if fsx::is_symlink_error(&e) => {
            return Err(Problem::Bad("it was a symbolic link".into()));
        }
        Err(e) => return Err(Problem::Bad(format!("it could not be read ({e})"))),
    };
    let meta = file
        .metadata()
        .map_err(|e| Problem::Bad(format!("it could not be read ({e})")))?;
    if !meta.is_file() {
        return Err(Problem::Bad("it was not a regular file".into()));
    }
    let (me, uid) = (fsx::my_uid(), fsx::owner(&meta));
    if uid != me {
        let why = Unsafe::Owner { uid, me };
        return Err(Problem::Bad(format!("{why}, who may know it")));
    }
    let mode = fsx::mode(&meta);
    if mode & 0o077 != 0 {
        return Err(Problem::Bad(format!(
            "it was readable or writable by group or others (mode {mode:04o}), who may know it"
        )));
    }
    if meta.len() > MAX_KEY_FILE {
        return Err(Problem::Bad("it did not hold 64 hex digits".into()));
    }
    let bytes = fsx::read_exact_size(&file, meta.len())
        .ok()
        .flatten()
        .ok_or_else(|| Problem::Bad("it changed while being read".into()))?;
    parse(&bytes)
        .map(|key| CacheKey::from_bytes(&key))
        .ok_or_else(|| Problem::Bad("it did not hold 64 hex digits".into()))
}

fn parse(text: &[u8]) -> Option<[u8; KEY_BYTES]> {
    let text = text.trim_ascii();
    if text.len() != 2 * KEY_BYTES {
        return None;
    }
    let mut key = [0; KEY_BYTES];
    for (byte, pair) in key.iter_mut().zip(text.chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(key)
}

/// Writes a new random key to a temporary file (0600) and moves it into
/// place: without replacing on first creation (a concurrent first run's key
/// wins and both use it), replacing when the old key is compromised.
fn create(dir: &Path, path: &Path, replace: bool) -> Result<(), String> {
    let fail = |p: &Path, e: std::io::Error| {
        format!("cannot write the compile cache key '{}': {e}", p.display())
    };
    let mut key = [0u8; KEY_BYTES];
    OsRng.fill_bytes(&mut key);
    let text = super::hex(&key) + "\n";
    key.fill(0);
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| fail(dir, e))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| fail(tmp.path(), e))?;
    let placed = if replace {
        tmp.persist(path).map(drop)
    } else {
        tmp.persist_noclobber(path).map(drop)
    };
    match placed {
        Ok(()) => Ok(()),
        Err(e) if !replace && e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(fail(path, e.error)),
    }
}

/// The config directory the key lives in: `explicit`, else the same one
/// the services' local root key uses.
pub(super) fn config_dir(explicit: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(dir) = explicit {
        return Ok(dir);
    }
    wasmchart_services::config_dir(&|name| std::env::var(name).ok()).map_err(|_| {
        "no config directory for the compile cache key: set WASMCHART_CONFIG_DIR, \
         XDG_CONFIG_HOME or HOME"
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_64_hex_digits() {
        let text = format!("{}\n", "ab".repeat(32));
        assert_eq!(parse(text.as_bytes()), Some([0xab; 32]));
        assert_eq!(parse(b"abcd"), None);
        assert_eq!(parse("zz".repeat(32).as_bytes()), None);
        assert_eq!(parse("é".repeat(32).as_bytes()), None);
    }

    #[test]
    fn key_ids_differ_and_debug_hides_the_key() {
        let (a, b) = (CacheKey::for_tests(1), CacheKey::for_tests(2));
        assert_ne!(a.id(), b.id());
        let shown = format!("{a:?}");
        assert!(shown.starts_with("CacheKey(id "), "{shown}");
        assert!(!shown.contains("0101"), "{shown}");
    }
}
