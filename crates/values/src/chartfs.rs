//! Confined, bounded reads of chart files.
//!
//! A chart is untrusted: every file in it, symlinks included. The umbrella directory is named
//! by the operator and opened by path; everything below it is reached only through a cap-std
//! [`Dir`] handle, so no path (absolute, climbing with `..`, or through a symlink) resolves
//! outside it. Symlinks that stay inside the chart are followed, as cap-std does; one that
//! leads out is an error. Each subchart gets its own handle rooted at its directory, so a
//! subchart cannot read its parent either.
//!
//! Only regular files are read: the type is checked before opening, the file is opened
//! non-blocking (a FIFO cannot stall the host) and the open handle is checked again, so a
//! swap between the two checks is caught. Every read has a [`Limit`], enforced while reading:
//! a file that grows after it was checked stops at the limit. Files named by the operator
//! (`-f`, `--set-file`, `--seal-cert`) are outside the chart and not confined, but get the same
//! regular-file, non-blocking and size rules through [`read_operator_file`].
//!
//! A packaged subchart (`charts/NAME-VERSION.tgz`) is read through its parent's handle like
//! any other file, then unpacked in memory ([`archive`]); its own handle serves the same reads
//! from the archive's entries, so the loader, the component read, `$ref`s and the `files/`
//! snapshot work the same on both.

pub mod archive;
mod snapshot;

use std::ffi::OsString;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use cap_std::fs::{Dir, OpenOptions};

pub use snapshot::{FILES, FilesLimits, Snapshot};

/// A size cap for one kind of file, named in the error a file over it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// What the cap applies to, as an error message says it ("a values file").
    pub what: &'static str,
    /// The largest accepted size in bytes.
    pub bytes: u64,
}

const MIB: u64 = 1 << 20;

/// Chart.yaml and requirements.yaml: metadata is small; the cap only bounds parsing cost.
pub const METADATA: Limit = Limit {
    what: "a Chart.yaml or requirements.yaml",
    bytes: MIB,
};

/// values.yaml, values-ENV.yaml, environment files, `-f` files and `--set-file` contents.
/// Computing values costs about 95 times the YAML's size in memory (measured: a 4 MiB values
/// file peaks at 380 MB, 8 MiB at 750 MB, four subcharts of 4 MiB each at 1.5 GB), so one file
/// may hold 4 MiB and [`VALUES_TOTAL`] bounds the sum.
pub const VALUES: Limit = Limit {
    what: "a values file",
    bytes: 4 * MIB,
};

/// Every YAML file of one computation together: the Chart.yaml, requirements.yaml and
/// values.yaml of the chart and all its subcharts, environment files, `-f` files and
/// `--set-file` contents. 6 MiB keeps the host near 600 MB at worst, so many files cannot add
/// up to what one file may not.
pub const VALUES_TOTAL: Limit = Limit {
    what: "all values files of a render together (Chart.yaml, requirements.yaml and values.yaml \
           of every chart, environment files, -f files and --set-file contents)",
    bytes: 6 * MIB,
};

/// values.schema.json and every file its `$ref`s load.
pub const SCHEMA: Limit = Limit {
    what: "a JSON schema",
    bytes: 4 * MIB,
};

/// A component read for compiling. Hard cap; the host may apply a smaller one before compiling.
pub const COMPONENT: Limit = Limit {
    what: "a component",
    bytes: 256 * MIB,
};

/// A PEM certificate (`secrets.sealed.certFile`, `--seal-cert`).
pub const CERTIFICATE: Limit = Limit {
    what: "a certificate",
    bytes: MIB,
};

/// `secret-generations.yaml`.
pub const GENERATIONS: Limit = Limit {
    what: "a rotation file",
    bytes: MIB,
};

/// Subcharts nested deeper than this are refused (a symlink loop would otherwise recurse).
pub const MAX_CHART_DEPTH: usize = 16;

/// A chart and all its subcharts may hold at most this many charts (symlinked subchart
/// directories could otherwise multiply the work). Each loaded chart keeps one directory
/// descriptor open, so this also stays well inside the usual 1,024-descriptor limit.
pub const MAX_CHARTS: usize = 500;

/// A file that could not be read or written, or that breaks a rule; one sentence naming the
/// file and the rule.
#[derive(Debug)]
pub struct FsError {
    /// "read", "write", "open", "create", "list".
    pub op: &'static str,
    /// The file, as the chart directory joined with the path inside it.
    pub path: PathBuf,
    /// What went wrong; for a rule, an `io::Error` whose message states the rule.
    pub reason: io::Error,
}

impl std::fmt::Display for FsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot {} {}: {}",
            self.op,
            self.path.display(),
            self.reason
        )
    }
}

impl std::error::Error for FsError {}

impl FsError {
    fn new(op: &'static str, path: PathBuf, reason: io::Error) -> Self {
        FsError { op, path, reason }
    }

    fn rule(op: &'static str, path: PathBuf, message: impl Into<String>) -> Self {
        FsError::new(op, path, io::Error::other(message.into()))
    }

    /// True when the file or directory does not exist.
    pub fn is_not_found(&self) -> bool {
        self.reason.kind() == io::ErrorKind::NotFound
    }
}

/// What a path is, as far as the reading rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file: the only kind that is read.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (only seen when not following links).
    Symlink,
    /// A FIFO: opening it for reading could block forever.
    Fifo,
    /// A Unix socket.
    Socket,
    /// A character device (`/dev/zero`, a terminal).
    CharDevice,
    /// A block device.
    BlockDevice,
    /// Anything else.
    Other,
}

/// The [`Kind`] of a file type: one body for std's and cap-std's
/// `FileType`, which have the same methods but no common trait.
macro_rules! classify {
    ($t:expr) => {{
        let t = $t;
        if t.is_file() {
            Kind::File
        } else if t.is_dir() {
            Kind::Dir
        } else if t.is_symlink() {
            Kind::Symlink
        } else {
            #[cfg(unix)]
            let kind = if t.is_fifo() {
                Kind::Fifo
            } else if t.is_socket() {
                Kind::Socket
            } else if t.is_char_device() {
                Kind::CharDevice
            } else if t.is_block_device() {
                Kind::BlockDevice
            } else {
                Kind::Other
            };
            #[cfg(not(unix))]
            let kind = Kind::Other;
            kind
        }
    }};
}

impl Kind {
    /// The kind with an article, for messages ("a FIFO (named pipe)").
    pub fn describe(self) -> &'static str {
        match self {
            Kind::File => "a regular file",
            Kind::Dir => "a directory",
            Kind::Symlink => "a symlink",
            Kind::Fifo => "a FIFO (named pipe)",
            Kind::Socket => "a socket",
            Kind::CharDevice => "a character device",
            Kind::BlockDevice => "a block device",
            Kind::Other => "not a regular file",
        }
    }

    fn of_cap(t: cap_std::fs::FileType) -> Kind {
        #[cfg(unix)]
        use cap_std::fs::FileTypeExt as _;
        classify!(t)
    }

    fn of_std(t: std::fs::FileType) -> Kind {
        #[cfg(unix)]
        use std::os::unix::fs::FileTypeExt as _;
        classify!(t)
    }
}

/// Checks a path a chart names (`component:`, an `environments:` file, `certFile`): relative,
/// without `..`, not empty. Returns it without `.` components, or why it is refused.
pub fn relative_path(path: &str) -> Result<PathBuf, String> {
    let p = Path::new(path);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!(
                    "{path:?} climbs out with `..`; it must be a path inside the chart directory"
                ));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "{path:?} is an absolute path; it must be relative to the chart directory"
                ));
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(format!("{path:?} names no file"));
    }
    Ok(out)
}

/// A file [`ChartDir::open_file`] checked and opened, not yet read.
#[derive(Debug)]
pub enum Opened {
    /// A regular file inside the chart directory, within the limit when it was opened: the
    /// reader checks its size and identity on this descriptor (`fstat`) before trusting it.
    File(std::fs::File),
    /// The bytes of a packaged chart's file (already in memory).
    Bytes(Vec<u8>),
}

/// A chart directory, reached through a capability handle: every path is resolved inside it.
/// For a packaged chart, the "directory" is the archive's entries, held in memory.
pub struct ChartDir {
    source: Source,
    path: PathBuf,
}

enum Source {
    Dir(Dir),
    /// The entries of an archive below `prefix` (`""` or `charts/x/`, with its slash).
    Archive {
        tree: Arc<archive::Tree>,
        prefix: String,
    },
}

impl std::fmt::Debug for ChartDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChartDir")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ChartDir {
    /// Opens the directory the operator named (a trusted path, followed as given).
    ///
    /// # Errors
    ///
    /// A missing directory or one that cannot be opened.
    pub fn open(path: &Path) -> Result<ChartDir, FsError> {
        Dir::open_ambient_dir(path, cap_std::ambient_authority())
            .map(|dir| ChartDir {
                source: Source::Dir(dir),
                path: path.to_path_buf(),
            })
            .map_err(|e| FsError::new("open", path.to_path_buf(), e))
    }

    /// The root of an unpacked archive as a chart directory; its path, for messages, is the
    /// archive's.
    pub fn archive(tree: archive::Tree) -> ChartDir {
        ChartDir {
            path: tree.archive().to_path_buf(),
            source: Source::Archive {
                tree: Arc::new(tree),
                prefix: String::new(),
            },
        }
    }

    /// The archive this chart was unpacked from, when it is packaged.
    pub fn packaged(&self) -> Option<&archive::Tree> {
        match &self.source {
            Source::Dir(_) => None,
            Source::Archive { tree, .. } => Some(tree),
        }
    }

    /// The name of `rel` inside the archive this chart was unpacked from (`charts/x/c.wasm`).
    pub(crate) fn archive_key(&self, rel: &Path) -> Option<String> {
        match &self.source {
            Source::Dir(_) => None,
            Source::Archive { prefix, .. } => key(rel).ok().map(|k| format!("{prefix}{k}")),
        }
    }

    /// The directory handle, or an error saying the packaged chart cannot do `op`.
    fn dir(&self, op: &'static str, rel: &Path) -> Result<&Dir, FsError> {
        match &self.source {
            Source::Dir(dir) => Ok(dir),
            Source::Archive { .. } => Err(FsError::rule(
                op,
                self.display(rel),
                "it is inside a packaged chart (.tgz), which is read-only",
            )),
        }
    }

    /// The directory as named, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `rel` as shown in messages: the chart directory joined with it.
    pub fn display(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }

    /// Turns a resolution error into one sentence; escapes say so plainly.
    fn fail(&self, op: &'static str, rel: &Path, e: io::Error) -> FsError {
        let path = self.display(rel);
        if is_escape(&e) {
            return FsError::rule(
                op,
                path,
                format!(
                    "it leads outside the chart directory {} (through `..`, an absolute path or a \
                     symlink); only files inside the chart are read",
                    self.path.display()
                ),
            );
        }
        FsError::new(op, path, e)
    }

    /// What `rel` is, following symlinks inside the chart; `None` when it does not exist.
    ///
    /// # Errors
    ///
    /// A path that leads outside the chart, or another error than "not found".
    pub fn kind(&self, rel: impl AsRef<Path>) -> Result<Option<Kind>, FsError> {
        let rel = rel.as_ref();
        self.resolve_kind(rel)
            .map_err(|e| self.fail("read", rel, e))
    }

    fn resolve_kind(&self, rel: &Path) -> io::Result<Option<Kind>> {
        let dir = match &self.source {
            Source::Dir(dir) => dir,
            Source::Archive { tree, prefix } => {
                return Ok(tree
                    .lookup(format!("{prefix}{}", key(rel)?).trim_end_matches('/'))
                    .map(|e| match e {
                        archive::Entry::File => Kind::File,
                        archive::Entry::Dir => Kind::Dir,
                    }));
            }
        };
        match dir.metadata(rel) {
            Ok(m) => Ok(Some(Kind::of_cap(m.file_type()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens the subdirectory `rel` as a chart directory of its own: paths through the new
    /// handle stay inside it.
    ///
    /// # Errors
    ///
    /// Not a directory, outside the chart, or cannot be opened.
    pub fn open_subdir(&self, rel: impl AsRef<Path>) -> Result<ChartDir, FsError> {
        let rel = rel.as_ref();
        if let Source::Archive { tree, prefix } = &self.source {
            let sub = format!(
                "{prefix}{}",
                key(rel).map_err(|e| self.fail("open", rel, e))?
            );
            if tree.lookup(&sub) != Some(archive::Entry::Dir) {
                return Err(FsError::new(
                    "open",
                    self.display(rel),
                    io::Error::new(io::ErrorKind::NotFound, "no such directory in the archive"),
                ));
            }
            return Ok(ChartDir {
                source: Source::Archive {
                    tree: tree.clone(),
                    prefix: format!("{sub}/"),
                },
                path: self.display(rel),
            });
        }
        self.dir("open", rel)?
            .open_dir(rel)
            .map(|dir| ChartDir {
                source: Source::Dir(dir),
                path: self.display(rel),
            })
            .map_err(|e| self.fail("open", rel, e))
    }

    /// The entry names of the subdirectory `rel` (`""` for this directory), sorted.
    ///
    /// # Errors
    ///
    /// Outside the chart or cannot be listed.
    pub fn list(&self, rel: impl AsRef<Path>) -> Result<Vec<OsString>, FsError> {
        let rel = rel.as_ref();
        let fail = |e| self.fail("list", rel, e);
        let dir = match &self.source {
            Source::Dir(dir) => dir,
            Source::Archive { tree, prefix } => {
                let k = format!("{prefix}{}", key(rel).map_err(fail)?);
                let k = k.trim_end_matches('/');
                if tree.lookup(k) != Some(archive::Entry::Dir) {
                    return Err(fail(io::Error::new(
                        io::ErrorKind::NotFound,
                        "no such directory in the archive",
                    )));
                }
                return Ok(tree.children(k).into_iter().map(OsString::from).collect());
            }
        };
        let entries = if rel.as_os_str().is_empty() {
            dir.entries()
        } else {
            dir.read_dir(rel)
        }
        .map_err(fail)?;
        let mut names = entries
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<Vec<_>>>()
            .map_err(fail)?;
        names.sort();
        Ok(names)
    }

    /// Reads the regular file `rel`, at most `limit` bytes.
    ///
    /// # Errors
    ///
    /// Missing, outside the chart, not a regular file, over the limit, or unreadable.
    pub fn read(&self, rel: impl AsRef<Path>, limit: &Limit) -> Result<Vec<u8>, FsError> {
        self.read_checked(rel.as_ref(), limit, false)
    }

    /// As [`ChartDir::read`], but a missing file is `None`.
    ///
    /// # Errors
    ///
    /// As [`ChartDir::read`], except for a missing file.
    pub fn read_optional(
        &self,
        rel: impl AsRef<Path>,
        limit: &Limit,
    ) -> Result<Option<Vec<u8>>, FsError> {
        match self.read(rel, limit) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// As [`ChartDir::read`], as UTF-8 text.
    ///
    /// # Errors
    ///
    /// As [`ChartDir::read`], or text that is not UTF-8.
    pub fn read_to_string(&self, rel: impl AsRef<Path>, limit: &Limit) -> Result<String, FsError> {
        let rel = rel.as_ref();
        utf8(self.read(rel, limit)?, self.display(rel))
    }

    /// As [`ChartDir::read_optional`], as UTF-8 text.
    ///
    /// # Errors
    ///
    /// As [`ChartDir::read_to_string`], except for a missing file.
    pub fn read_optional_string(
        &self,
        rel: impl AsRef<Path>,
        limit: &Limit,
    ) -> Result<Option<String>, FsError> {
        let rel = rel.as_ref();
        match self.read_optional(rel, limit)? {
            Some(bytes) => utf8(bytes, self.display(rel)).map(Some),
            None => Ok(None),
        }
    }

    /// Opens the regular file `rel` (at most `limit` bytes) without reading it: for a large
    /// file the reader may not need, such as a component a compile cache already holds. A
    /// packaged chart's file is in memory already and comes back as bytes.
    ///
    /// # Errors
    ///
    /// As [`ChartDir::read`], except that nothing is read.
    pub fn open_file(&self, rel: impl AsRef<Path>, limit: &Limit) -> Result<Opened, FsError> {
        let rel = rel.as_ref();
        let path = || self.display(rel);
        if let Source::Archive { .. } = &self.source {
            return self.read(rel, limit).map(Opened::Bytes);
        }
        let (file, meta) = self.open_checked(rel, false)?;
        if meta.len() > limit.bytes {
            return Err(over_limit(meta.len(), limit, path()));
        }
        Ok(Opened::File(file.into_std()))
    }

    /// The one open path of a chart directory: type check, non-blocking open, handle check.
    /// With `single_link`, a file with more than one hard link is refused.
    fn open_checked(
        &self,
        rel: &Path,
        single_link: bool,
    ) -> Result<(cap_std::fs::File, cap_std::fs::Metadata), FsError> {
        let path = || self.display(rel);
        self.check_is_file(rel)?;
        let file = self
            .dir("read", rel)?
            .open_with(rel, &nonblocking())
            .map_err(|e| self.fail("read", rel, e))?;
        let meta = file
            .metadata()
            .map_err(|e| FsError::new("read", path(), e))?;
        let kind = Kind::of_cap(meta.file_type());
        if kind != Kind::File {
            return Err(not_regular(path(), kind));
        }
        if single_link {
            check_single_link(&meta, path())?;
        }
        Ok((file, meta))
    }

    /// Refuses what is not a regular file, by its type, before opening it.
    fn check_is_file(&self, rel: &Path) -> Result<(), FsError> {
        let path = || self.display(rel);
        match self.kind(rel)? {
            Some(Kind::File) => Ok(()),
            Some(other) => Err(not_regular(path(), other)),
            None => Err(FsError::new(
                "read",
                path(),
                io::Error::new(io::ErrorKind::NotFound, "no such file"),
            )),
        }
    }

    /// The one read path: type check, non-blocking open, handle check, capped read. With
    /// `single_link`, a file with more than one hard link is refused.
    fn read_checked(
        &self,
        rel: &Path,
        limit: &Limit,
        single_link: bool,
    ) -> Result<Vec<u8>, FsError> {
        let path = || self.display(rel);
        if let Source::Archive { tree, prefix } = &self.source {
            self.check_is_file(rel)?;
            let k = format!(
                "{prefix}{}",
                key(rel).map_err(|e| self.fail("read", rel, e))?
            );
            let bytes = tree.file(&k).map(|b| &b[..]).unwrap_or_default();
            return read_capped(bytes, bytes.len() as u64, limit, path());
        }
        let (file, meta) = self.open_checked(rel, single_link)?;
        read_capped(file, meta.len(), limit, path())
    }
}

/// `rel` as an archive key (`a/b`), or the error a directory handle gives for an escape.
fn key(rel: &Path) -> io::Result<String> {
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(n) => parts.push(n.to_str().ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotFound, "no such file in the archive")
            })?),
            Component::CurDir => {}
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    "a path leads outside of the filesystem",
                ));
            }
        }
    }
    Ok(parts.join("/"))
}

fn is_escape(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::PermissionDenied
        && e.to_string().contains("outside of the filesystem")
}

fn nonblocking() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use cap_std::fs::OpenOptionsExt as _;
        use rustix::fs::OFlags;
        // Bits of a small flag set always fit an i32.
        options
            .custom_flags(i32::try_from((OFlags::NONBLOCK | OFlags::NOCTTY).bits()).unwrap_or(0));
    }
    options
}

fn not_regular(path: PathBuf, kind: Kind) -> FsError {
    FsError::rule(
        "read",
        path,
        format!(
            "it is {}, not a regular file; only regular files are read",
            kind.describe()
        ),
    )
}

#[cfg(unix)]
fn check_single_link(meta: &cap_std::fs::Metadata, path: PathBuf) -> Result<(), FsError> {
    use cap_std::fs::MetadataExt as _;
    if meta.nlink() > 1 {
        return Err(FsError::rule(
            "read",
            path,
            format!(
                "it has {} hard links; a file under files/ must have exactly one, because a hard \
                 link can expose a file from outside the chart",
                meta.nlink()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_single_link(_: &cap_std::fs::Metadata, _: PathBuf) -> Result<(), FsError> {
    Ok(())
}

/// Reads at most `limit.bytes` from `file` whose size was `len` when checked; a file over the
/// limit, then or by the time it is read, is refused.
fn read_capped(
    file: impl Read,
    len: u64,
    limit: &Limit,
    path: PathBuf,
) -> Result<Vec<u8>, FsError> {
    if len > limit.bytes {
        return Err(over_limit(len, limit, path));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit.bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FsError::new("read", path.clone(), e))?;
    if bytes.len() as u64 > limit.bytes {
        return Err(FsError::rule(
            "read",
            path,
            format!(
                "it grew past the {} limit for {} while being read",
                size(limit.bytes),
                limit.what
            ),
        ));
    }
    Ok(bytes)
}

/// Reads all of a file [`ChartDir::open_file`] opened, from its start and whatever its
/// descriptor's offset, at most `limit` bytes (checked again on the descriptor); `path`
/// names it in messages.
///
/// # Errors
///
/// The file is over the limit now, or cannot be read.
pub fn read_open_file(
    file: &std::fs::File,
    limit: &Limit,
    path: PathBuf,
) -> Result<Vec<u8>, FsError> {
    let len = file
        .metadata()
        .map_err(|e| FsError::new("read", path.clone(), e))?
        .len();
    read_capped(OffsetReader { file, at: 0 }, len, limit, path)
}

/// Reads a file from an offset of its own (`pread`), leaving the descriptor's offset alone so
/// that the one descriptor can be read by many.
struct OffsetReader<'a> {
    file: &'a std::fs::File,
    at: u64,
}

impl Read for OffsetReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(self.file, buf, self.at)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(self.file, buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

fn over_limit(len: u64, limit: &Limit, path: PathBuf) -> FsError {
    FsError::rule(
        "read",
        path,
        format!(
            "it is {}, over the {} limit for {}",
            size(len),
            size(limit.bytes),
            limit.what
        ),
    )
}

fn utf8(bytes: Vec<u8>, path: PathBuf) -> Result<String, FsError> {
    String::from_utf8(bytes).map_err(|e| {
        FsError::rule(
            "read",
            path,
            format!(
                "it is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// A size for messages: "8 MiB", "2.0 GiB", "512 bytes".
pub fn size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (unit, name) in UNITS {
        if bytes >= unit {
            return if bytes.is_multiple_of(unit) {
                format!("{} {name}", bytes / unit)
            } else {
                format!("{:.1} {name}", bytes as f64 / unit as f64)
            };
        }
    }
    format!("{bytes} bytes")
}

/// Reads a file the operator named (`-f`, `--set-file`, `--seal-cert`): not confined, but
/// only a regular file, opened non-blocking, at most `limit` bytes.
///
/// # Errors
///
/// Missing, not a regular file, over the limit, or unreadable; the error names `path`.
pub fn read_operator_file(path: &Path, limit: &Limit) -> Result<Vec<u8>, FsError> {
    let fail = |e| FsError::new("read", path.to_path_buf(), e);
    let kind = Kind::of_std(std::fs::metadata(path).map_err(fail)?.file_type());
    if kind != Kind::File {
        return Err(not_regular(path.to_path_buf(), kind));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use rustix::fs::OFlags;
        use std::os::unix::fs::OpenOptionsExt as _;
        options
            .custom_flags(i32::try_from((OFlags::NONBLOCK | OFlags::NOCTTY).bits()).unwrap_or(0));
    }
    let file = options.open(path).map_err(fail)?;
    let meta = file.metadata().map_err(fail)?;
    let kind = Kind::of_std(meta.file_type());
    if kind != Kind::File {
        return Err(not_regular(path.to_path_buf(), kind));
    }
    read_capped(file, meta.len(), limit, path.to_path_buf())
}

/// As [`read_operator_file`], as UTF-8 text.
///
/// # Errors
///
/// As [`read_operator_file`], or text that is not UTF-8.
pub fn read_operator_string(path: &Path, limit: &Limit) -> Result<String, FsError> {
    utf8(read_operator_file(path, limit)?, path.to_path_buf())
}

/// The name standard input goes by in messages and value sources (`-f -`).
pub const STDIN_NAME: &str = "<stdin>";

/// Reads standard input as UTF-8 text (`-f -`), at most `limit` bytes, once per process:
/// a second call returns the same text, so a value computation repeated within one run sees
/// the same values instead of an empty stream.
///
/// # Errors
///
/// Unreadable, over the limit or not UTF-8; the error names [`STDIN_NAME`].
pub fn read_stdin_string(limit: &Limit) -> Result<String, FsError> {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(text) = TEXT.get() {
        return Ok(text.clone());
    }
    let path = PathBuf::from(STDIN_NAME);
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .take(limit.bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FsError::new("read", path.clone(), e))?;
    if bytes.len() as u64 > limit.bytes {
        return Err(FsError::rule(
            "read",
            path,
            format!(
                "it is more than {}, the limit for {}",
                size(limit.bytes),
                limit.what
            ),
        ));
    }
    let text = utf8(bytes, path)?;
    Ok(TEXT.get_or_init(|| text).clone())
}

/// A running total of bytes read against a [`Limit`] (the chart-wide values budget).
#[derive(Debug)]
pub struct Budget {
    limit: Limit,
    used: u64,
}

impl Budget {
    /// A fresh budget.
    pub fn new(limit: Limit) -> Self {
        Budget { limit, used: 0 }
    }

    /// Bytes counted so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Counts `bytes` read from `path`; an error once the total passes the limit.
    ///
    /// # Errors
    ///
    /// The total is over the limit; the error names the file that tipped it.
    pub fn spend(&mut self, bytes: u64, path: PathBuf) -> Result<(), FsError> {
        self.used = self.used.saturating_add(bytes);
        if self.used > self.limit.bytes {
            return Err(FsError::rule(
                "read",
                path,
                format!(
                    "it brings the total over the {} limit for {}",
                    size(self.limit.bytes),
                    self.limit.what
                ),
            ));
        }
        Ok(())
    }
}

impl From<FsError> for crate::error::Error {
    fn from(e: FsError) -> Self {
        crate::error::Error::Io {
            path: e.path,
            reason: e.reason,
        }
    }
}

impl ChartDir {
    /// Replaces the file `name` (directly in this directory) with `bytes`: written to a fresh
    /// temporary file beside it, synced, then renamed over it, so a reader sees the old file or
    /// the new one, never half of one. A symlink at `name` is replaced, not followed.
    ///
    /// # Errors
    ///
    /// `name` is not a plain file name, or the write or rename fails.
    pub fn write_atomic(&self, name: &str, bytes: &[u8], mode: u32) -> Result<(), FsError> {
        use std::io::Write as _;
        let path = self.display(name);
        if relative_path(name)
            .ok()
            .is_none_or(|p| p.components().count() != 1)
        {
            return Err(FsError::rule("write", path, "not a plain file name"));
        }
        let dir = self.dir("write", Path::new(name))?;
        let (tmp, file) = self
            .create_temp(dir, name, mode)
            .map_err(|e| self.fail("write", Path::new(name), e))?;
        let written = set_file_mode(&file, mode)
            .and_then(|()| (&file).write_all(bytes))
            .and_then(|()| file.sync_all())
            .and_then(|()| dir.rename(&tmp, dir, name));
        if let Err(e) = written {
            let _ = dir.remove_file(&tmp);
            return Err(FsError::new("write", path, e));
        }
        Ok(())
    }

    /// A new file `.NAME.tmp-PID-N` that did not exist before (never an existing file or link).
    fn create_temp(
        &self,
        dir: &Dir,
        name: &str,
        mode: u32,
    ) -> io::Result<(String, cap_std::fs::File)> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use cap_std::fs::OpenOptionsExt as _;
            options.mode(mode);
        }
        #[cfg(not(unix))]
        let _ = mode;
        let mut last = None;
        for _ in 0..16 {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let tmp = format!(".{name}.tmp-{}-{n}", std::process::id());
            match dir.open_with(&tmp, &options) {
                Ok(file) => return Ok((tmp, file)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
    }
}

/// The exact mode, whatever the umask.
fn set_file_mode(file: &cap_std::fs::File, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use cap_std::fs::PermissionsExt as _;
        file.set_permissions(cap_std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, mode);
        Ok(())
    }
}
