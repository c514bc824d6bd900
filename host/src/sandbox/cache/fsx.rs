//! The few file-system facts the cache relies on: who owns a file, who may
//! write it, and which inode incarnation it is. Opening never follows a
//! final symbolic link and never blocks on a FIFO, so a hostile name in the
//! cache can neither redirect nor hang a read.

use std::fs::{File, Metadata};
use std::io::{self, Read as _};

pub(super) use platform::{create_private_dir, is_symlink_error, my_uid, open_no_follow, try_lock};

/// Why a file or directory is not trusted, before its content is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Unsafe {
    /// Owned by another user, who could rewrite it at any time.
    Owner { uid: u32, me: u32 },
    /// Writable by group or others (`mode` is the permission bits).
    Writable { mode: u32 },
}

impl std::fmt::Display for Unsafe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsafe::Owner { uid, me } => {
                write!(f, "it is owned by uid {uid}, not by this user (uid {me})")
            }
            Unsafe::Writable { mode } => {
                write!(f, "it is writable by group or others (mode {mode:04o})")
            }
        }
    }
}

/// Refuses what another user owns or what group or others may write.
pub(super) fn check_private(meta: &Metadata) -> Result<(), Unsafe> {
    let (me, uid) = (my_uid(), owner(meta));
    if uid != me {
        return Err(Unsafe::Owner { uid, me });
    }
    let mode = mode(meta);
    if mode & 0o022 != 0 {
        return Err(Unsafe::Writable { mode });
    }
    Ok(())
}

/// Permission bits of `meta`.
pub(super) fn mode(meta: &Metadata) -> u32 {
    platform::stat(meta).mode & 0o7777
}

/// The user id owning the file.
pub(super) fn owner(meta: &Metadata) -> u32 {
    platform::stat(meta).uid
}

/// Number of hard links to the file.
pub(super) fn links(meta: &Metadata) -> u64 {
    platform::stat(meta).nlink
}

/// Reads exactly `size` bytes from `file`; `None` if it holds more or less
/// (it changed since it was measured).
pub(super) fn read_exact_size(file: &File, size: u64) -> io::Result<Option<Vec<u8>>> {
    let capacity = usize::try_from(size).map_err(io::Error::other)?;
    let mut bytes = Vec::with_capacity(capacity);
    file.take(size.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 == size).then_some(bytes))
}

/// One incarnation of a file: what `fstat` says about it. A file cannot keep
/// its identity while its content changes: every write moves `ctime`, which
/// no user can set back, and a replacement or a restore is a new inode (or
/// at least a new `ctime`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// Length of [`Identity::to_bytes`].
pub(super) const IDENTITY_LEN: usize = 56;

impl Identity {
    /// The identity of the file `meta` describes.
    pub(super) fn of(meta: &Metadata) -> Self {
        let stat = platform::stat(meta);
        Identity {
            dev: stat.dev,
            ino: stat.ino,
            size: meta.len(),
            mtime: stat.mtime,
            ctime: stat.ctime,
        }
    }

    /// Whether neither the content nor the inode changed since `time`
    /// (mtime and ctime both before it).
    pub(super) fn unchanged_since(&self, time: std::time::SystemTime) -> bool {
        let Ok(since) = time.duration_since(std::time::UNIX_EPOCH) else {
            return false;
        };
        let since = (since.as_secs() as i64, i64::from(since.subsec_nanos()));
        self.mtime < since && self.ctime < since
    }

    /// Fixed-width little-endian encoding, for stamps.
    pub(super) fn to_bytes(self) -> [u8; IDENTITY_LEN] {
        let mut out = [0; IDENTITY_LEN];
        let fields = [
            self.dev.to_le_bytes(),
            self.ino.to_le_bytes(),
            self.size.to_le_bytes(),
            self.mtime.0.to_le_bytes(),
            self.mtime.1.to_le_bytes(),
            self.ctime.0.to_le_bytes(),
            self.ctime.1.to_le_bytes(),
        ];
        for (chunk, field) in out.chunks_exact_mut(8).zip(fields) {
            chunk.copy_from_slice(&field);
        }
        out
    }
}

/// The `stat` fields the cache uses, whatever the platform.
struct Stat {
    uid: u32,
    mode: u32,
    nlink: u64,
    dev: u64,
    ino: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

#[cfg(unix)]
mod platform {
    use super::Stat;
    use std::fs::{File, Metadata};
    use std::io;
    use std::os::unix::fs::MetadataExt as _;
    use std::path::Path;

    pub(super) fn stat(meta: &Metadata) -> Stat {
        Stat {
            uid: meta.uid(),
            mode: meta.mode(),
            nlink: meta.nlink(),
            dev: meta.dev(),
            ino: meta.ino(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// The effective user id of this process.
    pub(in super::super) fn my_uid() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    /// Opens `path` read-only, refusing a final symbolic link (`ELOOP`) and
    /// without blocking if it is a FIFO.
    pub(in super::super) fn open_no_follow(path: &Path) -> io::Result<File> {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        Ok(File::from(rustix::fs::open(path, flags, Mode::empty())?))
    }

    /// Whether an open failed because the final component is a symbolic link.
    pub(in super::super) fn is_symlink_error(error: &io::Error) -> bool {
        error.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
    }

    /// An exclusive lock on `path` (created 0600, never through a symbolic
    /// link), taken without blocking: `None` when another process holds
    /// it. The lock lasts as long as the returned file is open.
    pub(in super::super) fn try_lock(path: &Path) -> io::Result<Option<File>> {
        use rustix::fs::{FlockOperation, Mode, OFlags};
        let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let file = File::from(rustix::fs::open(path, flags, Mode::RUSR | Mode::WUSR)?);
        match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(file)),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates `dir` and missing parents, mode 0700.
    pub(in super::super) fn create_private_dir(dir: &Path) -> io::Result<()> {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
}

/// Without Unix ownership the cache is off (`Cache::open` never gets this
/// far); these only keep the crate building.
#[cfg(not(unix))]
mod platform {
    use super::Stat;
    use std::fs::{File, Metadata};
    use std::io;
    use std::path::Path;

    pub(super) fn stat(_: &Metadata) -> Stat {
        Stat {
            uid: u32::MAX,
            mode: 0o777,
            nlink: 0,
            dev: 0,
            ino: 0,
            mtime: (0, 0),
            ctime: (0, 0),
        }
    }

    pub(in super::super) fn my_uid() -> u32 {
        0
    }

    pub(in super::super) fn open_no_follow(_: &Path) -> io::Result<File> {
        Err(io::ErrorKind::Unsupported.into())
    }

    pub(in super::super) fn is_symlink_error(_: &io::Error) -> bool {
        false
    }

    pub(in super::super) fn create_private_dir(_: &Path) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }

    pub(in super::super) fn try_lock(_: &Path) -> io::Result<Option<File>> {
        Err(io::ErrorKind::Unsupported.into())
    }
}
