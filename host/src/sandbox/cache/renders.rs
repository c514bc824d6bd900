//! Render entries: a component's output, remembered under a digest of
//! everything that can change it (see `sandbox/memo.rs`), so that a render
//! whose inputs did not change runs no component at all.
//!
//! The cache directory is neither trusted nor private: anyone who can write
//! it is an attacker (as for compiled entries), and a CI cache is uploaded
//! and restored across branches and forks, so whoever restores it may read
//! it. An output is made from values, which may say more than a tenant
//! wants to share. So each entry is sealed with AES-256-GCM:
//!
//! - file `renders/<name>.render`, where `name` is an HMAC of the input
//!   digest under the per-user cache key: a name says nothing about the
//!   inputs, and another key never finds this key's entries;
//! - content `MAGIC || nonce || ciphertext || tag`, under a key that is an
//!   HMAC of the input digest under the cache key, with `MAGIC || name` as
//!   associated data: only a host holding the cache key *and* the inputs
//!   can open an entry, and a forged, truncated, swapped or foreign entry
//!   fails the tag and is deleted, with one warning; the component runs;
//! - the nonce is random: two writes never reuse one under a key.
//!
//! Entries are written aside and renamed into place, without a flush: one
//! a crash truncates only fails its tag. Opening one refreshes its
//! modification time, and a render that wrote entries trims the directory
//! to [`MAX_ENTRIES`] entries and [`MAX_BYTES`] bytes, least recently used
//! first.

use super::fsx;
use super::key::CacheKey;
use crate::sandbox::request::{LogLevel, LogLine, Manifest, RenderResult};
use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::Mac as _;
use rand_core::{OsRng, RngCore as _};
use std::io::Write as _;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 16] = b"wasmchart-render";
const NONCE_LEN: usize = 12;
/// An entry larger than this is neither written nor read.
const MAX_ENTRY_BYTES: u64 = 64 << 20;
/// Most entries kept; a render that wrote one trims the oldest beyond it.
pub(super) const MAX_ENTRIES: usize = 4096;
/// Most bytes of entries kept, in all.
pub(super) const MAX_BYTES: u64 = 256 << 20;
/// Subdirectory of the cache's `v1` directory holding render entries.
pub(super) const DIR: &str = "renders";
const SUFFIX: &str = ".render";

/// Why an entry was refused; it is then deleted.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Not a regular file, or over [`MAX_ENTRY_BYTES`].
    NotAnEntry,
    /// The tag did not verify: forged, altered, truncated, moved from
    /// another entry's name, or written under another key.
    Tag,
    /// Authentic but undecodable: written by another wasmchart build.
    Format,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::NotAnEntry => "it is not a regular file of at most 64 MiB",
            Refusal::Tag => {
                "it fails authentication (altered, truncated, moved or made with another key)"
            }
            Refusal::Format => "it is in an unknown format",
        })
    }
}

/// The entry file for the render with input digest `input`, in `dir`.
pub(super) fn path_for(key: &CacheKey, dir: &Path, input: &[u8; 32]) -> PathBuf {
    dir.join(format!("{}{SUFFIX}", name(key, input)))
}

fn name(key: &CacheKey, input: &[u8; 32]) -> String {
    let mut mac = key.mac();
    mac.update(b"wasmchart render entry name");
    mac.update(input);
    super::hex(&mac.finalize().into_bytes()[..20])
}

fn cipher(key: &CacheKey, input: &[u8; 32]) -> Aes256Gcm {
    let mut mac = key.mac();
    mac.update(b"wasmchart render entry key");
    mac.update(input);
    Aes256Gcm::new(&mac.finalize().into_bytes())
}

fn associated(key: &CacheKey, input: &[u8; 32]) -> Vec<u8> {
    [MAGIC.as_slice(), name(key, input).as_bytes()].concat()
}

/// The output remembered for `input`: `Ok(None)` when there is no entry.
///
/// # Errors
///
/// Why the entry at `path` was refused; the caller deletes it.
pub(super) fn read(
    key: &CacheKey,
    path: &Path,
    input: &[u8; 32],
) -> Result<Option<RenderResult>, Refusal> {
    let file = match fsx::open_no_follow(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(_) => return Err(Refusal::NotAnEntry),
    };
    let meta = file.metadata().map_err(|_| Refusal::NotAnEntry)?;
    if !meta.is_file() || meta.len() > MAX_ENTRY_BYTES {
        return Err(Refusal::NotAnEntry);
    }
    let bytes = fsx::read_exact_size(&file, meta.len())
        .ok()
        .flatten()
        .ok_or(Refusal::Tag)?;
    let plain = open(key, input, &bytes)?;
    let result = decode(&plain).ok_or(Refusal::Format)?;
    // Least recently used goes first when trimming; best effort.
    let _ = file.set_modified(std::time::SystemTime::now());
    Ok(Some(result))
}

fn open(key: &CacheKey, input: &[u8; 32], bytes: &[u8]) -> Result<Vec<u8>, Refusal> {
    let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or(Refusal::Tag)?;
    if rest.len() < NONCE_LEN {
        return Err(Refusal::Tag);
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let aad = associated(key, input);
    cipher(key, input)
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map_err(|_| Refusal::Tag)
}

/// The sealed entry for `result` under `input`.
fn seal(key: &CacheKey, input: &[u8; 32], result: &RenderResult) -> Option<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.try_fill_bytes(&mut nonce).ok()?;
    let aad = associated(key, input);
    let sealed = cipher(key, input)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &encode(result),
                aad: &aad,
            },
        )
        .ok()?;
    Some([MAGIC.as_slice(), &nonce, &sealed].concat())
}

/// Writes the entry for `input` into `dir` (aside, then renamed into
/// place). Best effort: a missing entry only costs a render next time.
pub(super) fn write(
    key: &CacheKey,
    dir: &Path,
    input: &[u8; 32],
    result: &RenderResult,
) -> std::io::Result<()> {
    let Some(entry) = seal(key, input, result) else {
        return Ok(());
    };
    if entry.len() as u64 > MAX_ENTRY_BYTES {
        return Ok(());
    }
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(&entry)?;
    tmp.persist(path_for(key, dir, input))
        .map_err(|e| e.error)?;
    Ok(())
}

/// Deletes the least recently used entries of `dir` until at most
/// `max_entries` and `max_bytes` remain (each to 80%, so that trimming is
/// rare). Best effort.
pub(super) fn trim(dir: &Path, max_entries: usize, max_bytes: u64) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = read
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(SUFFIX))
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            Some((meta.modified().ok()?, meta.len(), e.path()))
        })
        .collect();
    let total: u64 = entries.iter().map(|e| e.1).sum();
    if entries.len() <= max_entries && total <= max_bytes {
        return;
    }
    entries.sort();
    let (keep_entries, keep_bytes) = (max_entries / 5 * 4, max_bytes / 5 * 4);
    let (mut count, mut bytes) = (entries.len(), total);
    for (_, len, path) in entries {
        if count <= keep_entries && bytes <= keep_bytes {
            break;
        }
        if std::fs::remove_file(&path).is_ok() {
            count -= 1;
            bytes -= len;
        }
    }
}

/// `result` as bytes: manifests, notes, log lines, each string
/// length-prefixed.
fn encode(result: &RenderResult) -> Vec<u8> {
    let mut out = Vec::new();
    let text = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    out.extend_from_slice(&(result.manifests.len() as u64).to_le_bytes());
    for manifest in &result.manifests {
        text(&mut out, &manifest.source);
        text(&mut out, &manifest.content);
    }
    match &result.notes {
        Some(notes) => {
            out.push(1);
            text(&mut out, notes);
        }
        None => out.push(0),
    }
    out.extend_from_slice(&(result.logs.len() as u64).to_le_bytes());
    for line in &result.logs {
        out.push(level_byte(line.level));
        text(&mut out, &line.message);
    }
    out
}

fn level_byte(level: LogLevel) -> u8 {
    match level {
        LogLevel::Trace => 0,
        LogLevel::Debug => 1,
        LogLevel::Info => 2,
        LogLevel::Warn => 3,
        LogLevel::Error => 4,
    }
}

/// The inverse of [`encode`]; `None` for anything else.
fn decode(bytes: &[u8]) -> Option<RenderResult> {
    let mut reader = Reader(bytes);
    let manifests = (0..reader.count()?)
        .map(|_| {
            Some(Manifest {
                source: reader.text()?,
                content: reader.text()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let notes = match reader.byte()? {
        0 => None,
        1 => Some(reader.text()?),
        _ => return None,
    };
    let logs = (0..reader.count()?)
        .map(|_| {
            let level = match reader.byte()? {
                0 => LogLevel::Trace,
                1 => LogLevel::Debug,
                2 => LogLevel::Info,
                3 => LogLevel::Warn,
                4 => LogLevel::Error,
                _ => return None,
            };
            Some(LogLine {
                level,
                message: reader.text()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    reader.0.is_empty().then_some(RenderResult {
        manifests,
        notes,
        logs,
    })
}

/// Reads [`encode`]'s fields, never past the end.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A count of items, each at least one byte long: never more than the
    /// bytes left, so a hostile count cannot make a huge allocation.
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n <= self.0.len()).then_some(n)
    }

    fn text(&mut self) -> Option<String> {
        let n = usize::try_from(self.u64()?).ok()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RenderResult {
        RenderResult {
            manifests: vec![
                Manifest {
                    source: "templates/a.yaml".into(),
                    content: "{\"kind\":\"ConfigMap\",\"data\":{\"motto\":\"tenant-a-only\"}}"
                        .into(),
                },
                Manifest {
                    source: "templates/b.yaml".into(),
                    content: String::new(),
                },
            ],
            notes: Some("notes\n".into()),
            logs: vec![LogLine {
                level: LogLevel::Warn,
                message: "careful".into(),
            }],
        }
    }

    #[test]
    fn an_entry_opens_only_with_its_key_and_its_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let (key, input) = (CacheKey::for_tests(1), [3u8; 32]);
        write(&key, dir.path(), &input, &sample()).unwrap();
        let path = path_for(&key, dir.path(), &input);
        assert_eq!(read(&key, &path, &input), Ok(Some(sample())));
        let bytes = std::fs::read(&path).unwrap();
        let needle = b"tenant-a-only";
        assert!(!bytes.windows(needle.len()).any(|w| w == needle), "sealed");
        assert_eq!(read(&key, &path, &[4u8; 32]), Err(Refusal::Tag), "moved");
        let other = CacheKey::for_tests(2);
        assert_eq!(read(&other, &path, &input), Err(Refusal::Tag), "foreign");
        assert_ne!(path_for(&other, dir.path(), &input), path);
        for at in [0, MAGIC.len() + 1, bytes.len() - 1] {
            let mut forged = bytes.clone();
            forged[at] ^= 1;
            std::fs::write(&path, &forged).unwrap();
            assert_eq!(read(&key, &path, &input), Err(Refusal::Tag), "byte {at}");
        }
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert_eq!(read(&key, &path, &input), Err(Refusal::Tag), "truncated");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(read(&key, &path, &input), Ok(None));
    }

    /// What a hostile cache can put at an entry's name: a link, a FIFO (it
    /// must not block the render), a huge sparse file (refused unread).
    #[test]
    #[cfg(unix)]
    fn links_fifos_and_huge_files_are_refused_without_reading() {
        let dir = tempfile::tempdir().unwrap();
        let (key, input) = (CacheKey::for_tests(1), [5u8; 32]);
        let path = path_for(&key, dir.path(), &input);
        let target = dir.path().join("target");
        write(&key, dir.path(), &input, &sample()).unwrap();
        std::fs::rename(&path, &target).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert_eq!(read(&key, &path, &input), Err(Refusal::NotAnEntry), "link");
        std::fs::remove_file(&path).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(read(&key, &path, &input), Err(Refusal::NotAnEntry), "fifo");
        std::fs::remove_file(&path).unwrap();
        let huge = std::fs::File::create(&path).unwrap();
        huge.set_len(MAX_ENTRY_BYTES + 1).unwrap();
        assert_eq!(read(&key, &path, &input), Err(Refusal::NotAnEntry), "huge");
    }

    #[test]
    fn every_field_round_trips_and_nothing_else_decodes() {
        let bytes = encode(&sample());
        assert_eq!(decode(&bytes), Some(sample()));
        let empty = RenderResult {
            manifests: Vec::new(),
            notes: None,
            logs: Vec::new(),
        };
        assert_eq!(decode(&encode(&empty)), Some(empty));
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
        }
        let mut huge = bytes.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(decode(&huge), None);
        assert_eq!(decode(&[bytes.as_slice(), b"x"].concat()), None);
    }

    #[test]
    fn trimming_drops_the_least_recently_used_first() {
        let dir = tempfile::tempdir().unwrap();
        let key = CacheKey::for_tests(1);
        let base = std::time::SystemTime::now() - std::time::Duration::from_secs(100);
        for i in 0..10u8 {
            write(&key, dir.path(), &[i; 32], &sample()).unwrap();
            let file = std::fs::File::options()
                .write(true)
                .open(path_for(&key, dir.path(), &[i; 32]))
                .unwrap();
            file.set_modified(base + std::time::Duration::from_secs(u64::from(i)))
                .unwrap();
        }
        // Reading entry 0 makes it the most recently used.
        let first = path_for(&key, dir.path(), &[0; 32]);
        assert!(read(&key, &first, &[0; 32]).unwrap().is_some());
        trim(dir.path(), 5, u64::MAX);
        let kept: Vec<u8> = (0..10u8)
            .filter(|i| path_for(&key, dir.path(), &[*i; 32]).exists())
            .collect();
        assert_eq!(kept, [0, 7, 8, 9]);
        trim(dir.path(), 100, 1);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
