//! Packaged charts (`charts/NAME-VERSION.tgz`, what `helm dependency update` leaves), read in
//! memory as Helm's `LoadArchiveFiles` reads them (Helm v4.2): never extracted to disk.
//!
//! Helm's rules, kept: gzip (several members allowed) around tar; the first path segment of
//! every entry (the chart's own directory) is stripped; a `\` in a name is the separator when
//! present; directories and PAX headers are skipped; an absolute path, a name that cleans to
//! `.`, a name starting with `..`, a drive-letter path and a top-level `Chart.yaml` are refused;
//! at most [`HELM_FILE`] per entry and [`HELM_TOTAL`] decompressed in all; an archive with no
//! file is refused. Later duplicates replace earlier ones, as Helm's loader overwrites them.
//!
//! Stricter than Helm, because this archive is untrusted input on a shared host:
//! - symlink, hard-link, device, FIFO and sparse entries are refused (Helm reads each as an
//!   empty file, which hides a broken package; `helm package` never writes them);
//! - names must be UTF-8 (the component sees `files/` names through WASI);
//! - the decompressed stream itself is capped, so tar's own headers (GNU long names, PAX
//!   records) cannot grow without bound either.
//!
//! One deliberate exception to Helm's per-entry cap: a component is usually larger than 5 MiB
//! (the example's Python component is 18 MiB). An entry over [`HELM_FILE`] is held apart,
//! counted against [`LARGE_TOTAL`] (the 256 MiB hard read cap for a component), and the chart
//! loader accepts it only if it is the component a `Chart.yaml` of the archive names or a
//! packaged subchart under `charts/` (whose entries obey these same rules); any other large
//! entry is refused with Helm's per-file message. The host then applies the sandbox's smaller
//! `componentSize` limit before compiling, as for an unpacked chart.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{Limit, MIB, size};

/// A `.tgz` file as read from the chart (compressed): Helm's 100 MiB total bounds it too.
pub const ARCHIVE: Limit = Limit {
    what: "a packaged chart (.tgz)",
    bytes: 100 * MIB,
};

/// Helm's `MaxDecompressedFileSize`: one entry, decompressed.
pub const HELM_FILE: u64 = 5 * MIB;

/// Helm's `MaxDecompressedChartSize`: every ordinary entry of one archive, decompressed.
pub const HELM_TOTAL: u64 = 100 * MIB;

/// Entries over [`HELM_FILE`] (a component, a nested packaged chart), all together: the
/// component read cap, [`super::COMPONENT`].
pub const LARGE_TOTAL: u64 = super::COMPONENT.bytes;

/// Why an archive was refused: the archive, the entry at fault when there is one, the rule.
#[derive(Debug)]
pub struct ArchiveError {
    /// The `.tgz`, as the chart directory joined with its path inside the chart.
    pub archive: PathBuf,
    /// The entry's name as stored in the archive, when one entry is at fault.
    pub entry: Option<String>,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl ArchiveError {
    fn new(archive: &Path, entry: Option<&str>, message: impl Into<String>) -> Self {
        ArchiveError {
            archive: archive.to_path_buf(),
            entry: entry.map(str::to_string),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ArchiveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "packaged chart {}", self.archive.display())?;
        if let Some(e) = &self.entry {
            write!(f, ", entry {e:?}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ArchiveError {}

/// The files of one archive, by chart-relative name (`values.yaml`, `charts/x/Chart.yaml`).
#[derive(Debug)]
pub struct Tree {
    archive: PathBuf,
    files: BTreeMap<String, Arc<[u8]>>,
    /// Entries over [`HELM_FILE`], by chart-relative name, with the name stored in the archive.
    large: BTreeMap<String, String>,
    /// Large entries the loader found a use for (a component, a packaged subchart).
    claimed: Mutex<BTreeSet<String>>,
    bytes: u64,
    /// The archive as read (compressed), so a lock can check the digest of exactly the bytes
    /// that were loaded rather than of the file read again.
    raw: Arc<[u8]>,
}

/// The result of looking a name up in a [`Tree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    File,
    Dir,
}

impl Tree {
    /// The archive, for messages.
    pub fn archive(&self) -> &Path {
        &self.archive
    }

    /// Decompressed bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The archive's bytes as read (compressed): what a Chart.lock digest pins.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    pub(crate) fn lookup(&self, key: &str) -> Option<Entry> {
        if key.is_empty() {
            return Some(Entry::Dir);
        }
        if self.files.contains_key(key) {
            return Some(Entry::File);
        }
        let dir = format!("{key}/");
        self.files
            .range(dir.clone()..)
            .next()
            .filter(|(k, _)| k.starts_with(&dir))
            .map(|_| Entry::Dir)
    }

    pub(crate) fn file(&self, key: &str) -> Option<&Arc<[u8]>> {
        self.files.get(key)
    }

    /// The distinct names directly below the directory `key` (`""` for the root), sorted.
    pub(crate) fn children(&self, key: &str) -> Vec<String> {
        let dir = if key.is_empty() {
            String::new()
        } else {
            format!("{key}/")
        };
        let mut out: Vec<String> = Vec::new();
        for name in self.files.keys().filter_map(|k| k.strip_prefix(&dir)) {
            let first = name.split('/').next().unwrap_or(name);
            if out.last().is_none_or(|l| l != first) {
                out.push(first.to_string());
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Marks the entry `key` as used by the loader (a component, a packaged subchart), which
    /// lets it be larger than [`HELM_FILE`].
    pub(crate) fn claim(&self, key: &str) {
        if self.large.contains_key(key)
            && let Ok(mut claimed) = self.claimed.lock()
        {
            claimed.insert(key.to_string());
        }
    }

    /// After the archive's charts are loaded: refuses any entry over [`HELM_FILE`] that is
    /// neither a component nor a packaged subchart, with Helm's per-file rule.
    ///
    /// # Errors
    ///
    /// The first such entry.
    pub fn check_large(&self) -> Result<(), ArchiveError> {
        let claimed = self.claimed.lock().map(|c| c.clone()).unwrap_or_default();
        match self.large.iter().find(|(k, _)| !claimed.contains(*k)) {
            None => Ok(()),
            Some((key, stored)) => Err(ArchiveError::new(
                &self.archive,
                Some(stored),
                format!(
                    "it is {} decompressed, over Helm's {} limit per file of a packaged chart \
                     (only the component its Chart.yaml names, or a packaged subchart, may be \
                     larger)",
                    size(self.files.get(key).map_or(0, |b| b.len() as u64)),
                    size(HELM_FILE)
                ),
            )),
        }
    }
}

/// A reader that fails once more than `cap` bytes came through: the decompressed stream's cap.
struct Capped<R> {
    inner: R,
    left: u64,
    over: bool,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.over = true;
            return Err(io::Error::other("decompressed stream over its cap"));
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

/// Unpacks the `.tgz` bytes `data`, read from `archive` (named in every error).
///
/// # Errors
///
/// Not gzip, a truncated or corrupt stream, an entry breaking a rule above, over a cap, or no
/// file at all.
pub fn unpack(data: &[u8], archive: &Path) -> Result<Tree, ArchiveError> {
    if !data.starts_with(&[0x1f, 0x8b]) {
        return Err(ArchiveError::new(
            archive,
            None,
            "it is not a gzip archive (it does not start with the gzip magic bytes 1f 8b); a \
             packaged chart is a .tgz made by `helm package`",
        ));
    }
    // Tar headers and padding add at most a few percent; the cap stops a gzip bomb early.
    let cap = HELM_TOTAL + LARGE_TOTAL + 16 * MIB;
    let stream = Capped {
        inner: io::BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(data)),
        left: cap,
        over: false,
    };
    let mut unpacker = Unpacker {
        archive,
        tree: Tree {
            archive: archive.to_path_buf(),
            files: BTreeMap::new(),
            large: BTreeMap::new(),
            claimed: Mutex::new(BTreeSet::new()),
            bytes: 0,
            raw: data.into(),
        },
        ordinary: 0,
        large: 0,
    };
    let mut tar = tar::Archive::new(stream);
    let result = unpacker.all(&mut tar);
    if tar.into_inner().over {
        return Err(ArchiveError::new(
            archive,
            None,
            format!(
                "it decompresses to more than {}, over the limit for one packaged chart (a gzip \
                 bomb?)",
                size(cap)
            ),
        ));
    }
    result?;
    if unpacker.tree.files.is_empty() {
        return Err(ArchiveError::new(
            archive,
            None,
            "it holds no file (Helm: \"no files in chart archive\")",
        ));
    }
    Ok(unpacker.tree)
}

struct Unpacker<'a> {
    archive: &'a Path,
    tree: Tree,
    ordinary: u64,
    large: u64,
}

impl Unpacker<'_> {
    fn fail(&self, entry: Option<&str>, message: impl Into<String>) -> ArchiveError {
        ArchiveError::new(self.archive, entry, message)
    }

    fn corrupt(&self, entry: Option<&str>, e: &io::Error) -> ArchiveError {
        self.fail(
            entry,
            format!("it is truncated or corrupt (gzip or tar stream: {e})"),
        )
    }

    fn all<R: Read>(&mut self, tar: &mut tar::Archive<R>) -> Result<(), ArchiveError> {
        let entries = tar.entries().map_err(|e| self.corrupt(None, &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| self.corrupt(None, &e))?;
            self.entry(entry)?;
        }
        Ok(())
    }

    fn entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), ArchiveError> {
        let raw = entry.path_bytes().into_owned();
        let Ok(stored) = String::from_utf8(raw) else {
            return Err(self.fail(
                None,
                format!(
                    "an entry name is not UTF-8 ({:?})",
                    String::from_utf8_lossy(&entry.path_bytes())
                ),
            ));
        };
        let kind = entry.header().entry_type();
        if kind.is_dir() || kind.is_pax_global_extensions() {
            return Ok(());
        }
        if !kind.is_file() && !kind.is_contiguous() {
            return Err(self.fail(
                Some(&stored),
                format!(
                    "it is {}; a packaged chart may hold only regular files and directories",
                    describe(kind)
                ),
            ));
        }
        if stored.ends_with('/') {
            return Ok(());
        }
        let name = clean_name(&stored).map_err(|why| self.fail(Some(&stored), why))?;
        let declared = entry.size();
        let large = declared > HELM_FILE;
        let left = if large {
            LARGE_TOTAL - self.large
        } else {
            HELM_TOTAL - self.ordinary
        };
        if declared > left {
            return Err(self.over(&stored, large));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(declared.min(MIB)).unwrap_or(0));
        (&mut entry)
            .take(left)
            .read_to_end(&mut bytes)
            .map_err(|e| self.corrupt(Some(&stored), &e))?;
        let got = bytes.len() as u64;
        if got < declared {
            return Err(self.over(&stored, large));
        }
        if large {
            self.large += got;
            self.tree.large.insert(name.clone(), stored);
        } else {
            self.ordinary += got;
            if self.ordinary >= HELM_TOTAL {
                return Err(self.over(&stored, false));
            }
            self.tree.large.remove(&name);
        }
        self.tree.bytes = self.ordinary + self.large;
        self.tree.files.insert(name, bytes.into());
        Ok(())
    }

    fn over(&self, stored: &str, large: bool) -> ArchiveError {
        let message = if large {
            format!(
                "its large entries (over Helm's {} per file: the component, packaged subcharts) \
                 come to more than {} decompressed, the limit",
                size(HELM_FILE),
                size(LARGE_TOTAL)
            )
        } else {
            format!(
                "the chart decompresses to more than {}, Helm's limit for a packaged chart",
                size(HELM_TOTAL)
            )
        };
        self.fail(Some(stored), message)
    }
}

fn describe(kind: tar::EntryType) -> &'static str {
    if kind.is_symlink() {
        "a symlink"
    } else if kind.is_hard_link() {
        "a hard link"
    } else if kind.is_character_special() {
        "a character device"
    } else if kind.is_block_special() {
        "a block device"
    } else if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_gnu_sparse() {
        "a sparse file"
    } else {
        "not a regular file"
    }
}

/// Helm's name rules: strip the first segment, normalise the separator, refuse what escapes.
fn clean_name(stored: &str) -> Result<String, String> {
    let delimiter = if stored.contains('\\') { '\\' } else { '/' };
    let parts: Vec<&str> = stored.split(delimiter).collect();
    let rest = parts[1..].join("/");
    // Helm would strip the empty first segment of "/x/y" and keep "y"; no packaging tool writes
    // such a name, so it is refused as what it looks like.
    if stored.starts_with(delimiter) || rest.starts_with('/') {
        return Err(
            "it is an absolute path (Helm: \"chart illegally contains absolute paths\")".into(),
        );
    }
    let cleaned = clean(&rest);
    if cleaned == "." {
        return Err(format!(
            "it lies outside the chart's directory in the archive (Helm: \"chart illegally \
             contains content outside the base directory: {stored:?}\")"
        ));
    }
    if cleaned.starts_with("..") {
        return Err(
            "it climbs out of the chart with `..` (Helm: \"chart illegally references parent \
             directory\")"
                .into(),
        );
    }
    let b = cleaned.as_bytes();
    if b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/' {
        return Err(
            "it is a drive-letter path (Helm: \"chart contains illegally named files\")".into(),
        );
    }
    if parts[0] == "Chart.yaml" {
        return Err(
            "Chart.yaml is not inside the chart's directory (Helm: \"chart yaml not in base \
             directory\")"
                .into(),
        );
    }
    Ok(cleaned)
}

/// Go's `path.Clean` for a relative path: `.` and empty segments dropped, `..` resolved
/// lexically (kept when it would climb above the start).
fn clean(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    if out.is_empty() {
        ".".into()
    } else {
        out.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::clean_name;

    #[test]
    fn names_follow_helm() {
        assert_eq!(clean_name("sub/values.yaml").as_deref(), Ok("values.yaml"));
        assert_eq!(clean_name("x\\charts\\a").as_deref(), Ok("charts/a"));
        assert_eq!(clean_name("sub/a/../b").as_deref(), Ok("b"));
        assert!(clean_name("sub/../x").unwrap_err().contains("parent"));
        assert!(clean_name("sub//etc/x").unwrap_err().contains("absolute"));
        assert!(clean_name("sub").unwrap_err().contains("outside"));
        assert!(clean_name("sub/c:/x").unwrap_err().contains("drive"));
        assert!(clean_name("Chart.yaml").unwrap_err().contains("base"));
    }
}
