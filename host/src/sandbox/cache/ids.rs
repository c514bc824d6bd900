//! Digest records: the SHA-256 of a component file, remembered by the file's
//! identity, so that a warm load finds its cache entry without reading or
//! hashing the `.wasm` (12 and 18 MB for the JavaScript and Python
//! components: reading and hashing them was a third of a warm render).
//!
//! A record is `magic || identity || digest || HMAC(key, magic || identity
//! || digest)`, named after the file's device and inode, next to the
//! entries. It says: "the file with this device, inode, size, mtime and
//! ctime held bytes with this SHA-256 when this host read them".
//!
//! Why that is enough:
//! - Whoever cannot read the key cannot forge or alter a record (its MAC);
//!   a record copied to another name still names its own identity, which
//!   must equal the `fstat` of the descriptor being loaded.
//! - The bytes of a file cannot change while it keeps its identity: every
//!   write (and chmod, rename, link, truncate) sets ctime to the current
//!   time, which no unprivileged call can set back; a replaced file is a new
//!   inode or a new ctime, and a restored or copied one (`tar`, `cp -p`,
//!   `git checkout`) has the ctime of the restore, whatever its mtime.
//! - Timestamps are coarse (a clock tick; a second or two on some file
//!   systems), so a write in the same tick as our read could keep the ctime
//!   the read saw. A record is therefore only written for a file whose mtime
//!   and ctime are older than [`SETTLED`] before the read began: any later
//!   write then moves ctime past the recorded one. A file just built is
//!   hashed on each load until it has settled.
//! - What is at stake is freshness, not the sandbox: the digest only picks
//!   which authenticated entry to run, and every entry holds what this host
//!   compiled from real bytes; when the file must be compiled, its bytes
//!   are read and hashed again and must match the digest the load used.
//!
//! Root, this user's identity or raw block-device access can do more than a
//! stale record could (replace the binary or the key) and are out of scope,
//! as for stamps.

use super::fsx::{self, IDENTITY_LEN, Identity};
use super::key::{CacheKey, HmacSha256};
use hmac::Mac as _;
use sha2::{Digest as _, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const MAGIC: &[u8; 16] = b"wasmchart-wasmid";
const RECORD_LEN: usize = MAGIC.len() + IDENTITY_LEN + 32 + 32;

/// How long a file must have been left alone before a read of it is
/// recorded: more than any file system's timestamp granularity (FAT's is
/// 2 s).
pub(super) const SETTLED: Duration = Duration::from_secs(3);

/// The record file for a file with `identity`, in `dir`: named after its
/// device and inode only, so a file's newer identity replaces the old record.
fn path_for(dir: &Path, identity: Identity) -> PathBuf {
    let bytes = identity.to_bytes();
    let name = Sha256::new()
        .chain_update(MAGIC)
        .chain_update(&bytes[..16])
        .finalize();
    dir.join(format!("{}.wasmid", super::hex(&name[..16])))
}

fn tagged(key: &CacheKey, identity: &[u8; IDENTITY_LEN], digest: &[u8; 32]) -> HmacSha256 {
    let mut mac = key.mac();
    mac.update(MAGIC);
    mac.update(identity);
    mac.update(digest);
    mac
}

fn encode(key: &CacheKey, identity: Identity, digest: &[u8; 32]) -> [u8; RECORD_LEN] {
    let identity = identity.to_bytes();
    let mut out = [0; RECORD_LEN];
    let (magic, rest) = out.split_at_mut(MAGIC.len());
    let (id, rest) = rest.split_at_mut(IDENTITY_LEN);
    let (dig, mac) = rest.split_at_mut(32);
    magic.copy_from_slice(MAGIC);
    id.copy_from_slice(&identity);
    dig.copy_from_slice(digest);
    mac.copy_from_slice(&tagged(key, &identity, digest).finalize().into_bytes());
    out
}

/// The digest `record` vouches for a file with `identity`, if it does.
fn decode(key: &CacheKey, record: &[u8], identity: Identity) -> Option<[u8; 32]> {
    if record.len() != RECORD_LEN {
        return None;
    }
    let (magic, rest) = record.split_at(MAGIC.len());
    let (id, rest) = rest.split_at(IDENTITY_LEN);
    let (digest, mac) = rest.split_at(32);
    let identity = identity.to_bytes();
    if magic != MAGIC || id != identity {
        return None;
    }
    let digest: [u8; 32] = digest.try_into().ok()?;
    tagged(key, &identity, &digest).verify_slice(mac).ok()?;
    Some(digest)
}

/// The recorded digest of the file with `identity`, if a valid record
/// vouches for it. A missing, unreadable or hostile record only means the
/// file is read and hashed.
pub(super) fn lookup(key: &CacheKey, dir: &Path, identity: Identity) -> Option<[u8; 32]> {
    let file = fsx::open_no_follow(&path_for(dir, identity)).ok()?;
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() != RECORD_LEN as u64 {
        return None;
    }
    let record = fsx::read_exact_size(&file, RECORD_LEN as u64).ok()??;
    decode(key, &record, identity)
}

/// Records that the file with `identity` holds bytes with SHA-256 `digest`,
/// if its timestamps had settled when the read began (see the module
/// comment). Written aside and renamed into place.
pub(super) fn record(
    key: &CacheKey,
    dir: &Path,
    identity: Identity,
    digest: &[u8; 32],
    read_began: SystemTime,
) -> std::io::Result<()> {
    if !identity.unchanged_since(read_began - SETTLED) {
        return Ok(());
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&encode(key, identity, digest))?;
    tmp.persist(path_for(dir, identity)).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity_of(path: &Path) -> Identity {
        Identity::of(&std::fs::metadata(path).unwrap())
    }

    #[test]
    fn a_record_vouches_for_one_identity_one_digest_one_key() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.wasm"), dir.path().join("b.wasm"));
        std::fs::write(&a, b"a").unwrap();
        std::fs::write(&b, b"a").unwrap();
        let (ia, ib) = (identity_of(&a), identity_of(&b));
        let key = CacheKey::for_tests(1);
        let record = encode(&key, ia, &[7; 32]);
        assert_eq!(decode(&key, &record, ia), Some([7; 32]));
        assert_eq!(decode(&key, &record, ib), None, "another file");
        assert_eq!(decode(&CacheKey::for_tests(2), &record, ia), None);
        let mut forged = record;
        forged[MAGIC.len() + IDENTITY_LEN] ^= 1;
        assert_eq!(decode(&key, &forged, ia), None, "another digest");
        assert_eq!(decode(&key, &record[..RECORD_LEN - 1], ia), None);
    }

    #[test]
    fn only_a_settled_file_is_recorded_and_a_write_voids_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.wasm");
        std::fs::write(&file, b"c").unwrap();
        let key = CacheKey::for_tests(1);
        let identity = identity_of(&file);
        record(&key, dir.path(), identity, &[1; 32], SystemTime::now()).unwrap();
        assert_eq!(lookup(&key, dir.path(), identity), None, "just written");
        let later = SystemTime::now() + SETTLED + Duration::from_secs(1);
        record(&key, dir.path(), identity, &[1; 32], later).unwrap();
        assert_eq!(lookup(&key, dir.path(), identity), Some([1; 32]));
        std::fs::write(&file, b"d").unwrap();
        assert_eq!(lookup(&key, dir.path(), identity_of(&file)), None);
    }
}
