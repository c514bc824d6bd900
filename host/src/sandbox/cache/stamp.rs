//! Stamps: the proof, kept next to an entry, that this host already checked
//! (or wrote) that very file, so a warm load need not recompute the MAC over
//! tens of megabytes.
//!
//! A stamp is `magic || identity || HMAC(key, magic || entry name ||
//! identity)`, where the identity is the entry file's device, inode, size,
//! mtime and ctime (nanoseconds). It is written after a full MAC check or
//! after this host wrote the entry itself, from `fstat` of the open file.
//! Whoever cannot read the key cannot make one; a stamp moved to another
//! entry name fails its MAC; a replaced, restored, copied or rewritten
//! entry no longer has the identity the stamp names.

use super::fsx::{self, IDENTITY_LEN, Identity};
use super::key::{CacheKey, HmacSha256};
use hmac::Mac as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 16] = b"wasmchart-stamp1";
const STAMP_LEN: usize = MAGIC.len() + IDENTITY_LEN + 32;

/// The stamp file of the entry at `entry`.
pub(super) fn path_for(entry: &Path) -> PathBuf {
    entry.with_extension("stamp")
}

/// The MAC state over everything a stamp vouches for.
fn tagged(key: &CacheKey, name: &str, identity: &[u8; IDENTITY_LEN]) -> HmacSha256 {
    let mut mac = key.mac();
    mac.update(MAGIC);
    mac.update(&(name.len() as u64).to_le_bytes());
    mac.update(name.as_bytes());
    mac.update(identity);
    mac
}

fn encode(key: &CacheKey, name: &str, identity: Identity) -> [u8; STAMP_LEN] {
    let identity = identity.to_bytes();
    let mut out = [0; STAMP_LEN];
    out[..MAGIC.len()].copy_from_slice(MAGIC);
    out[MAGIC.len()..MAGIC.len() + IDENTITY_LEN].copy_from_slice(&identity);
    out[MAGIC.len() + IDENTITY_LEN..]
        .copy_from_slice(&tagged(key, name, &identity).finalize().into_bytes());
    out
}

/// Whether `stamp` vouches for the entry `name` having `identity`.
fn vouches(key: &CacheKey, stamp: &[u8], name: &str, identity: Identity) -> bool {
    let Some((body, mac)) = stamp.split_at_checked(MAGIC.len() + IDENTITY_LEN) else {
        return false;
    };
    let identity = identity.to_bytes();
    if stamp.len() != STAMP_LEN || &body[..MAGIC.len()] != MAGIC || body[MAGIC.len()..] != identity
    {
        return false;
    }
    tagged(key, name, &identity).verify_slice(mac).is_ok()
}

/// Whether the stamp next to `entry` (named `name`) vouches for `identity`.
/// A missing, unreadable or hostile stamp only means a full check.
pub(super) fn is_valid(key: &CacheKey, entry: &Path, name: &str, identity: Identity) -> bool {
    let Ok(file) = fsx::open_no_follow(&path_for(entry)) else {
        return false;
    };
    let stamp = match file.metadata() {
        Ok(meta) if meta.is_file() && meta.len() == STAMP_LEN as u64 => {
            fsx::read_exact_size(&file, STAMP_LEN as u64)
        }
        _ => return false,
    };
    matches!(stamp, Ok(Some(bytes)) if vouches(key, &bytes, name, identity))
}

/// Records that the entry at `entry` (named `name`) with `identity` holds
/// what this host wrote or verified. Written aside and renamed into place.
pub(super) fn write(
    key: &CacheKey,
    entry: &Path,
    name: &str,
    identity: Identity,
) -> std::io::Result<()> {
    let dir = entry.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&encode(key, name, identity))?;
    tmp.persist(path_for(entry)).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_vouches_for_one_name_one_identity_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.cwasm");
        std::fs::write(&file, b"entry").unwrap();
        let identity = Identity::of(&std::fs::metadata(&file).unwrap());
        let key = CacheKey::for_tests(1);
        let stamp = encode(&key, "a.cwasm", identity);
        assert!(vouches(&key, &stamp, "a.cwasm", identity));
        assert!(!vouches(&key, &stamp, "b.cwasm", identity));
        assert!(!vouches(
            &CacheKey::for_tests(2),
            &stamp,
            "a.cwasm",
            identity
        ));
        assert!(!vouches(&key, &stamp[..STAMP_LEN - 1], "a.cwasm", identity));

        std::fs::write(dir.path().join("b.cwasm"), b"entry").unwrap();
        let other = Identity::of(&std::fs::metadata(dir.path().join("b.cwasm")).unwrap());
        assert!(!vouches(&key, &stamp, "a.cwasm", other));

        write(&key, &file, "a.cwasm", identity).unwrap();
        assert!(is_valid(&key, &file, "a.cwasm", identity));
        assert!(!is_valid(&key, &file, "a.cwasm", other));
    }
}
