//! The `files/` snapshot a component sees at `/files`.
//!
//! The subchart's `files/` directory is walked through its own confined handle and copied into
//! a private temporary directory, which is what the sandbox mounts. So the component sees a
//! snapshot nobody can swap during the render, with no FIFO, device, socket or hard link to an
//! outside file, no real timestamps and no real modes. Rules, each error naming the file:
//!
//! - only regular files and directories; a symlink is followed when its target stays inside
//!   `files/` and is a regular file (the copy is a regular file); a symlink to a directory,
//!   or one leading out of `files/`, is refused;
//! - a regular file must have exactly one hard link (a hard link to a file outside the chart
//!   cannot be told apart from the file otherwise);
//! - names must be UTF-8 (the component sees them through WASI, which needs UTF-8);
//! - [`FilesLimits`]: bytes per file, bytes in total, entries, depth.
//!
//! A packaged chart's `files/` is built from the archive's entries by the same walk (an
//! archive holds no symlink, device or hard link: refused when unpacked).
//!
//! Files are 0444, directories 0755 inside a 0700 root owned by the render; every timestamp is
//! 2000-01-01T00:00:00Z, the sandbox's frozen wall clock.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{ChartDir, FsError, Kind, Limit, Source, size};

/// The directory of a subchart that the component sees at `/files`.
pub const FILES: &str = "files";

/// The instant every snapshot timestamp is set to: the sandbox's frozen wall clock.
const FROZEN: Duration = Duration::from_secs(946_684_800);

/// Caps on a `files/` directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilesLimits {
    /// Bytes per file.
    pub file: u64,
    /// Bytes of all files together.
    pub total: u64,
    /// Files and directories together.
    pub entries: usize,
    /// Directory nesting below `files/`.
    pub depth: usize,
}

impl Default for FilesLimits {
    /// 1 MiB per file, 16 MiB in total, 10,000 entries, 32 levels.
    fn default() -> Self {
        FilesLimits {
            file: 1 << 20,
            total: 16 << 20,
            entries: 10_000,
            depth: 32,
        }
    }
}

/// A validated copy of a `files/` directory; removed when dropped.
#[derive(Debug)]
pub struct Snapshot {
    dir: tempfile::TempDir,
    files: usize,
    bytes: u64,
}

impl Snapshot {
    /// The copy's root, to mount at `/files`.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// How many regular files were copied.
    pub fn files(&self) -> usize {
        self.files
    }

    /// How many bytes were copied.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl ChartDir {
    /// Copies the chart's `files/` directory into a fresh private snapshot; `None` when the
    /// chart has no `files/`.
    ///
    /// # Errors
    ///
    /// `files` is not a directory or leads outside the chart, an entry breaks a rule or a
    /// limit, or the copy cannot be written.
    pub fn snapshot_files(&self, limits: &FilesLimits) -> Result<Option<Snapshot>, FsError> {
        match self.kind(FILES)? {
            None => return Ok(None),
            Some(Kind::Dir) => {}
            Some(other) => {
                return Err(FsError::rule(
                    "read",
                    self.display(FILES),
                    format!("it is {}, not a directory", other.describe()),
                ));
            }
        }
        let source = self.open_subdir(FILES)?;
        let dir = tempfile::Builder::new()
            .prefix("wasmchart-files-")
            .tempdir()
            .map_err(|e| FsError::new("create", std::env::temp_dir(), e))?;
        set_mode(dir.path(), 0o700)?;
        let mut walk = Walk {
            source: &source,
            limits,
            entries: 0,
            files: 0,
            bytes: 0,
        };
        walk.copy_dir(Path::new(""), dir.path(), 0)?;
        Ok(Some(Snapshot {
            files: walk.files,
            bytes: walk.bytes,
            dir,
        }))
    }
}

struct Walk<'a> {
    source: &'a ChartDir,
    limits: &'a FilesLimits,
    entries: usize,
    files: usize,
    bytes: u64,
}

impl Walk<'_> {
    fn rule(&self, rel: &Path, message: String) -> FsError {
        FsError::rule("read", self.source.display(rel), message)
    }

    /// Copies the directory `rel` of the source into `dest`, then freezes `dest`'s times.
    fn copy_dir(&mut self, rel: &Path, dest: &Path, depth: usize) -> Result<(), FsError> {
        for name in self.source.list(rel)? {
            let child = rel.join(&name);
            let Some(utf8) = name.to_str() else {
                return Err(self.rule(&child, "its name is not UTF-8".into()));
            };
            self.entries += 1;
            if self.entries > self.limits.entries {
                return Err(self.rule(
                    &child,
                    format!(
                        "files/ holds more than {} entries, the limit",
                        self.limits.entries
                    ),
                ));
            }
            let target = dest.join(utf8);
            match self.entry_kind(&child)? {
                Kind::Dir => {
                    if depth + 1 > self.limits.depth {
                        return Err(self.rule(
                            &child,
                            format!(
                                "it is nested more than {} directories deep in files/, the limit",
                                self.limits.depth
                            ),
                        ));
                    }
                    fs::create_dir(&target)
                        .map_err(|e| FsError::new("create", target.clone(), e))?;
                    set_mode(&target, 0o755)?;
                    self.copy_dir(&child, &target, depth + 1)?;
                }
                _ => self.copy_file(&child, &target)?,
            }
        }
        freeze_times(dest)
    }

    /// A directory or a regular file (after following an inside symlink); anything else is an
    /// error naming the rule.
    fn entry_kind(&self, rel: &Path) -> Result<Kind, FsError> {
        let own = match &self.source.source {
            Source::Dir(dir) => dir
                .symlink_metadata(rel)
                .map(|m| Kind::of_cap(m.file_type()))
                .map_err(|e| self.source.fail("read", rel, e))?,
            // An archive holds only regular files and directories (checked when unpacked).
            Source::Archive { .. } => self.source.kind(rel)?.unwrap_or(Kind::Other),
        };
        match own {
            Kind::Dir | Kind::File => Ok(own),
            Kind::Symlink => match self.source.resolve_kind(rel) {
                Ok(Some(Kind::File)) => Ok(Kind::File),
                Ok(Some(Kind::Dir)) => Err(self.rule(
                    rel,
                    "it is a symlink to a directory; only symlinks to regular files inside \
                     files/ are followed"
                        .into(),
                )),
                Ok(Some(other)) => Err(self.rule(
                    rel,
                    format!(
                        "it is a symlink to {}; only regular files are read",
                        other.describe()
                    ),
                )),
                Ok(None) => Err(self.rule(rel, "it is a symlink to a missing file".into())),
                Err(e) if super::is_escape(&e) => Err(self.rule(
                    rel,
                    "it is a symlink leading outside files/; only symlinks to regular files \
                     inside files/ are followed"
                        .into(),
                )),
                Err(e) => Err(self.source.fail("read", rel, e)),
            },
            other => Err(self.rule(
                rel,
                format!(
                    "it is {}; files/ may hold only regular files and directories",
                    other.describe()
                ),
            )),
        }
    }

    fn copy_file(&mut self, rel: &Path, target: &Path) -> Result<(), FsError> {
        let limit = Limit {
            what: "a file under files/",
            bytes: self.limits.file,
        };
        let bytes = self.source.read_checked(rel, &limit, true)?;
        self.bytes += bytes.len() as u64;
        if self.bytes > self.limits.total {
            return Err(self.rule(
                rel,
                format!(
                    "it brings files/ over the {} limit for all its files together",
                    size(self.limits.total)
                ),
            ));
        }
        self.files += 1;
        fs::write(target, &bytes).map_err(|e| FsError::new("write", target.to_path_buf(), e))?;
        set_mode(target, 0o444)?;
        freeze_times(target)
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<(), FsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(mode))
            .map_err(|e| FsError::new("write", path.to_path_buf(), e))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Sets access and modification times to the frozen instant (a read-only open is enough for
/// `futimens` as the owner, for files and directories alike).
fn freeze_times(path: &Path) -> Result<(), FsError> {
    let at = SystemTime::UNIX_EPOCH + FROZEN;
    let times = fs::FileTimes::new().set_accessed(at).set_modified(at);
    fs::File::open(path)
        .and_then(|f| f.set_times(times))
        .map_err(|e| FsError::new("write", PathBuf::from(path), e))
}
