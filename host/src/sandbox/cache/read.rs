//! Reading one entry: file checks on the open descriptor, then the content
//! checks of `entry.rs`, with the MAC recomputed unless a stamp vouches for
//! this very file.

use super::entry::{self, Binding, Mismatch, Trusted};
use super::fsx::{self, Identity, Unsafe};
use super::map::Mapping;
use super::stamp;
use std::path::Path;

/// Entries above this size are refused unread: a sparse or runaway file
/// must not make the host allocate without bound. The largest artifact we
/// know (a componentize-py component) is under a tenth of it.
pub(super) const MAX_ENTRY_BYTES: u64 = 1 << 30;

/// Why an entry file was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    Symlink,
    NotRegular,
    Unsafe(Unsafe),
    Links(u64),
    TooLarge(u64),
    Changed,
    Unreadable(String),
    Content(Mismatch),
    /// wasmtime refused an authentic artifact (its own compatibility check).
    Rejected(String),
}

impl Refusal {
    /// A short stable name, for deduplicating warnings.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Refusal::Symlink => "symlink",
            Refusal::NotRegular => "not regular",
            Refusal::Unsafe(Unsafe::Owner { .. }) => "owner",
            Refusal::Unsafe(Unsafe::Writable { .. }) => "mode",
            Refusal::Links(_) => "links",
            Refusal::TooLarge(_) => "size",
            Refusal::Changed => "changed",
            Refusal::Unreadable(_) => "unreadable",
            Refusal::Content(mismatch) => mismatch.kind(),
            Refusal::Rejected(_) => "rejected",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Symlink => f.write_str("it is a symbolic link"),
            Refusal::NotRegular => f.write_str("it is not a regular file"),
            Refusal::Unsafe(why) => write!(f, "{why}"),
            Refusal::Links(n) => write!(f, "it has {n} hard links"),
            Refusal::TooLarge(size) => write!(
                f,
                "it is {size} bytes, over the {MAX_ENTRY_BYTES}-byte limit for an entry"
            ),
            Refusal::Changed => f.write_str("it changed while being read"),
            Refusal::Unreadable(e) => write!(f, "it cannot be read: {e}"),
            Refusal::Content(mismatch) => write!(f, "{mismatch}"),
            Refusal::Rejected(e) => write!(f, "wasmtime refused it: {e}"),
        }
    }
}

/// An entry mapped and checked, ready to deserialize.
pub(super) struct Checked {
    /// The whole entry, header included, mapped read-only from the
    /// descriptor the checks ran on.
    pub map: Mapping,
    /// Whether a stamp vouched for the file (no MAC was recomputed).
    pub stamped: bool,
    /// The file's identity, to stamp it after a full check.
    pub identity: Identity,
    /// The descriptor every check ran on (and the mapping was made from).
    pub file: std::fs::File,
}

impl Checked {
    /// The artifact in the mapping, if a stamp vouches for the file and the
    /// header is bound to `binding` (the MAC over the artifact is not
    /// recomputed: that is what the stamp is for).
    pub(super) fn stamped_artifact(&self, binding: Binding<'_>) -> Result<Trusted<'_>, Refusal> {
        debug_assert!(self.stamped);
        entry::check(self.map.bytes(), binding, false).map_err(Refusal::Content)
    }
}

/// The artifact of an entry no stamp vouches for, checked in full (header
/// and MAC) on `copy`, a private copy of the entry taken before checking,
/// so the bytes verified are the bytes run whatever happens to the file.
pub(super) fn verified_artifact<'a>(
    copy: &'a [u8],
    binding: Binding<'_>,
) -> Result<Trusted<'a>, Refusal> {
    entry::check(copy, binding, true).map_err(Refusal::Content)
}

/// Maps the entry at `path` (file name `name`) after checking the file;
/// `Ok(None)` when there is none. Everything comes from one descriptor,
/// checked with `fstat` before and after mapping; the path is never
/// reopened. The content is checked by [`Checked::artifact`], from the
/// mapping (only the pages read are loaded).
pub(super) fn read(
    path: &Path,
    name: &str,
    binding: Binding<'_>,
) -> Result<Option<Checked>, Refusal> {
    let file = match fsx::open_no_follow(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if fsx::is_symlink_error(&e) => return Err(Refusal::Symlink),
        Err(e) => return Err(Refusal::Unreadable(e.to_string())),
    };
    let unreadable = |e: std::io::Error| Refusal::Unreadable(e.to_string());
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(Refusal::NotRegular);
    }
    fsx::check_private(&meta).map_err(Refusal::Unsafe)?;
    if fsx::links(&meta) != 1 {
        return Err(Refusal::Links(fsx::links(&meta)));
    }
    if meta.len() > MAX_ENTRY_BYTES {
        return Err(Refusal::TooLarge(meta.len()));
    }
    if (meta.len() as usize) < entry::HEADER_LEN {
        return Err(Refusal::Content(Mismatch::Length));
    }
    let identity = Identity::of(&meta);
    let map = Mapping::new(&file, meta.len()).map_err(unreadable)?;
    if Identity::of(&file.metadata().map_err(unreadable)?) != identity {
        return Err(Refusal::Changed);
    }
    Ok(Some(Checked {
        map,
        stamped: stamp::is_valid(binding.key, path, name, identity),
        identity,
        file,
    }))
}
