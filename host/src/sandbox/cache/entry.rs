//! The entry format and its authentication.
//!
//! ```text
//! artifact (Engine::precompile_component)   at offset 0
//! magic "wasmchart-cwasm5"         16 bytes  \
//! cache key id                      8         | the header, at the end
//! component SHA-256                32         | (what it claims to be)
//! engine id                        32         | (which engine compiled it)
//! artifact length, u64 LE           8         |
//! HMAC-SHA256(key, all of the above + artifact)   32 /
//! ```
//!
//! The artifact starts the file, so that wasmtime can map the file itself
//! (`Component::deserialize_file`): its data segments then become
//! copy-on-write memory images straight from the file, instead of being
//! copied into a fresh memfd by every process (a fifth of a warm prod
//! render). wasmtime reads the artifact as an ELF object, by offsets from
//! its start, so the header after it is never looked at there.
//!
//! Only [`check`] and a fresh compile make a [`Trusted`] artifact, and only a
//! `Trusted` artifact reaches `Component::deserialize`.

use super::key::CacheKey;
use hmac::Mac as _;

/// Start of every entry; bump it when the layout changes.
const MAGIC: &[u8; 16] = b"wasmchart-cwasm5";
/// What every entry format's magic starts with (to tell an older format
/// from a truncated entry).
const MAGIC_FAMILY: &[u8] = b"wasmchart-cwasm";
/// Bytes covered by the MAC before the artifact.
const SIGNED_LEN: usize = MAGIC.len() + 8 + 32 + 32 + 8;
/// Header length: the signed part and the MAC.
pub(super) const HEADER_LEN: usize = SIGNED_LEN + 32;
/// What an entry must be bound to for this load.
#[derive(Debug, Clone, Copy)]
pub(super) struct Binding<'a> {
    /// The cache key.
    pub key: &'a CacheKey,
    /// SHA-256 of the component bytes being loaded.
    pub digest: &'a [u8; 32],
    /// Identity of this engine (configuration and versions).
    pub engine: &'a [u8; 32],
}

/// Native code this host may run: compiled by this process, or read from an
/// entry proved to hold exactly what this host compiled for this component
/// and engine.
#[derive(Debug, Clone, Copy)]
pub(super) struct Trusted<'a>(&'a [u8]);

impl<'a> Trusted<'a> {
    /// An artifact `Engine::precompile_component` just returned in this
    /// process or in one of its compiler children.
    pub(super) fn fresh(artifact: &'a [u8]) -> Self {
        Trusted(artifact)
    }

    /// The artifact's bytes.
    pub(super) fn bytes(&self) -> &'a [u8] {
        self.0
    }
}

/// Why an entry's content was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mismatch {
    /// Not this format (another wasmchart version, or not an entry).
    Format,
    /// Shorter or longer than its header says.
    Length,
    /// Made with another cache key.
    OtherKey,
    /// Holds another component's code.
    OtherComponent,
    /// Compiled by another engine configuration.
    OtherEngine,
    /// The MAC does not match.
    Mac,
}

impl Mismatch {
    /// A short stable name, for deduplicating warnings.
    pub(super) fn kind(self) -> &'static str {
        match self {
            Mismatch::Format => "format",
            Mismatch::Length => "length",
            Mismatch::OtherKey => "other key",
            Mismatch::OtherComponent => "other component",
            Mismatch::OtherEngine => "other engine",
            Mismatch::Mac => "mac",
        }
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mismatch::Format => "it is not in this wasmchart's entry format",
            Mismatch::Length => "it is truncated (shorter or longer than its header says)",
            Mismatch::OtherKey => {
                "it was written with another cache key (copied or restored from another user or machine)"
            }
            Mismatch::OtherComponent => "it holds the native code of another component",
            Mismatch::OtherEngine => "it was compiled for another engine configuration",
            Mismatch::Mac => "its MAC does not match: it was forged or corrupted",
        })
    }
}

/// The header of a new entry for `artifact`.
pub(super) fn header(binding: Binding<'_>, artifact: &[u8]) -> [u8; HEADER_LEN] {
    let mut out = [0; HEADER_LEN];
    out[..SIGNED_LEN].copy_from_slice(&signed_part(binding, artifact.len() as u64));
    let mut mac = binding.key.mac();
    mac.update(&out[..SIGNED_LEN]);
    mac.update(artifact);
    out[SIGNED_LEN..].copy_from_slice(&mac.finalize().into_bytes());
    out
}

fn signed_part(binding: Binding<'_>, len: u64) -> [u8; SIGNED_LEN] {
    let mut out = [0; SIGNED_LEN];
    let parts: [&[u8]; 5] = [
        MAGIC,
        &binding.key.id(),
        binding.digest,
        binding.engine,
        &len.to_le_bytes(),
    ];
    let mut at = 0;
    for part in parts {
        out[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    out
}

/// Checks a whole entry against `binding` and returns its artifact. With
/// `full_mac` false (the file's identity was already vouched for by a
/// stamp), the MAC over the artifact is not recomputed; every header field
/// is still checked.
///
/// # Errors
///
/// The first [`Mismatch`] found.
pub(super) fn check<'a>(
    bytes: &'a [u8],
    binding: Binding<'_>,
    full_mac: bool,
) -> Result<Trusted<'a>, Mismatch> {
    if bytes.starts_with(MAGIC_FAMILY) {
        // An entry of an earlier wasmchart (its header came first).
        return Err(Mismatch::Format);
    }
    let at = bytes
        .len()
        .checked_sub(HEADER_LEN)
        .ok_or(Mismatch::Length)?;
    let (artifact, header) = bytes.split_at(at);
    let (signed, tag) = header.split_at(SIGNED_LEN);
    if &signed[..MAGIC.len()] != MAGIC {
        // A cut or extended file has no header where it should be.
        return Err(if signed.starts_with(MAGIC_FAMILY) {
            Mismatch::Format
        } else {
            Mismatch::Length
        });
    }
    let expected = signed_part(binding, artifact.len() as u64);
    let field = |range: std::ops::Range<usize>| signed[range.clone()] == expected[range];
    let key_at = MAGIC.len();
    let digest_at = key_at + 8;
    let engine_at = digest_at + 32;
    let len_at = engine_at + 32;
    if !field(len_at..SIGNED_LEN) {
        return Err(Mismatch::Length);
    }
    if !field(key_at..digest_at) {
        return Err(Mismatch::OtherKey);
    }
    if !field(digest_at..engine_at) {
        return Err(Mismatch::OtherComponent);
    }
    if !field(engine_at..len_at) {
        return Err(Mismatch::OtherEngine);
    }
    if full_mac {
        let mut mac = binding.key.mac();
        mac.update(signed);
        mac.update(artifact);
        mac.verify_slice(tag).map_err(|_| Mismatch::Mac)?;
    }
    Ok(Trusted(artifact))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(binding: Binding<'_>, artifact: &[u8]) -> Vec<u8> {
        let mut bytes = artifact.to_vec();
        bytes.extend_from_slice(&header(binding, artifact));
        bytes
    }

    #[test]
    fn binds_key_component_engine_and_bytes() {
        let key = CacheKey::for_tests(1);
        let (a, b, engine) = ([1; 32], [2; 32], [9; 32]);
        let bind = |key, digest| Binding {
            key,
            digest,
            engine: &engine,
        };
        let good = entry(bind(&key, &a), b"native code");
        assert_eq!(
            check(&good, bind(&key, &a), true).unwrap().bytes(),
            b"native code"
        );

        let other = CacheKey::for_tests(2);
        assert_eq!(
            check(&good, bind(&other, &a), true).unwrap_err(),
            Mismatch::OtherKey
        );
        assert_eq!(
            check(&good, bind(&key, &b), true).unwrap_err(),
            Mismatch::OtherComponent
        );
        let elsewhere = Binding {
            engine: &[8; 32],
            ..bind(&key, &a)
        };
        assert_eq!(
            check(&good, elsewhere, true).unwrap_err(),
            Mismatch::OtherEngine
        );

        let mut forged = good.clone();
        forged[0] ^= 1;
        assert_eq!(
            check(&forged, bind(&key, &a), true).unwrap_err(),
            Mismatch::Mac
        );
        // Without the full MAC (a stamped file) only the header is checked.
        assert!(check(&forged, bind(&key, &a), false).is_ok());

        let short = &good[..good.len() - 1];
        assert_eq!(
            check(short, bind(&key, &a), true).unwrap_err(),
            Mismatch::Length
        );
        assert_eq!(
            check(&good[..10], bind(&key, &a), true).unwrap_err(),
            Mismatch::Length
        );
        let mut longer = good.clone();
        longer.push(0);
        assert_eq!(
            check(&longer, bind(&key, &a), true).unwrap_err(),
            Mismatch::Length
        );
        let mut newer = good.clone();
        let magic_at = newer.len() - HEADER_LEN;
        newer[magic_at + 15] = b'9';
        assert_eq!(
            check(&newer, bind(&key, &a), true).unwrap_err(),
            Mismatch::Format
        );
        let mut old = b"wasmchart-cwasm4".to_vec();
        old.extend_from_slice(&good);
        assert_eq!(
            check(&old, bind(&key, &a), true).unwrap_err(),
            Mismatch::Format
        );
    }
}
