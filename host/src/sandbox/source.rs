//! Where a component's bytes come from: an open file, read only if the
//! compile cache does not already know it, or bytes in memory.

use super::guest_lang::GuestLang;
use std::borrow::Cow;
use std::fs::File;
use std::io;
use std::sync::Arc;

/// A component to load: see [`Runtime::load_source`](super::Runtime::load_source).
#[derive(Debug, Clone)]
pub enum ComponentSource {
    /// An open, regular component file (for example from the chart's
    /// confined reader). A warm load takes its SHA-256 from an
    /// authenticated record of the file's identity (`fstat` of this
    /// descriptor) and reads none of it; otherwise it is read once, from
    /// this descriptor, and hashed.
    File(Arc<File>),
    /// The component's bytes (a packaged chart's, or already read).
    Bytes(Arc<[u8]>),
}

impl ComponentSource {
    /// Its size in bytes (0 if the file cannot be measured): what a render
    /// schedules the largest components first by, since their compiles and
    /// renders take longest.
    pub fn len(&self) -> u64 {
        match self {
            ComponentSource::File(file) => file.metadata().map_or(0, |m| m.len()),
            ComponentSource::Bytes(bytes) => bytes.len() as u64,
        }
    }

    /// Whether it holds no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A component's content during one load: bytes, or a file of `len` bytes
/// not read yet.
pub(super) enum Content<'a> {
    Bytes(&'a [u8]),
    File { file: &'a File, len: u64 },
}

impl Content<'_> {
    /// The first `n` bytes (fewer if it is shorter).
    pub(super) fn head(&self, n: usize) -> io::Result<Cow<'_, [u8]>> {
        match self {
            Content::Bytes(bytes) => Ok(Cow::Borrowed(&bytes[..n.min(bytes.len())])),
            Content::File { file, len } => {
                let n = n.min(usize::try_from(*len).unwrap_or(n));
                let mut head = vec![0; n];
                read_exact_at(file, &mut head, 0)?;
                Ok(Cow::Owned(head))
            }
        }
    }

    /// All of it; a file that is no longer `len` bytes long is an error.
    pub(super) fn bytes(&self) -> io::Result<Cow<'_, [u8]>> {
        match self {
            Content::Bytes(bytes) => Ok(Cow::Borrowed(bytes)),
            Content::File { file, len } => read_whole(file, *len).map(Cow::Owned),
        }
    }
}

/// Reads all `len` bytes of `file` from offset 0 (the descriptor's own
/// offset is neither used nor moved, so clones of it may read at once);
/// refuses a file that has grown or shrunk since it was measured.
pub(super) fn read_whole(file: &File, len: u64) -> io::Result<Vec<u8>> {
    let size = usize::try_from(len).map_err(io::Error::other)?;
    let mut bytes = vec![0; size];
    read_exact_at(file, &mut bytes, 0)?;
    let mut more = [0; 1];
    if read_at(file, &mut more, len)? != 0 {
        return Err(io::Error::other("the file grew while it was being read"));
    }
    Ok(bytes)
}

fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match read_at(file, buf, offset)? {
            0 => return Err(io::Error::other("the file shrank while it was being read")),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    use std::os::unix::fs::FileExt as _;
    loop {
        match file.read_at(buf, offset) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// A component's content kept by its load: bytes, or an unread file of the
/// given length.
#[derive(Clone)]
pub(super) enum Owned {
    Bytes(Arc<[u8]>),
    /// Read from `file` by this load (kept as read: turning tens of
    /// megabytes into an `Arc<[u8]>` would copy them).
    Read {
        bytes: Arc<Vec<u8>>,
        file: Arc<File>,
    },
    File(Arc<File>, u64),
}

impl Owned {
    /// The content, borrowed for one load.
    pub(super) fn borrow(&self) -> Content<'_> {
        match self {
            Owned::Bytes(bytes) => Content::Bytes(bytes),
            Owned::Read { bytes, .. } => Content::Bytes(bytes),
            Owned::File(file, len) => Content::File { file, len: *len },
        }
    }
}

/// The language runtime a component embeds, detected from its bytes on
/// first use: only a crash needs it, so a warm load that never read the
/// file does not read it for this.
pub(super) struct LazyLang {
    content: Owned,
    lang: std::sync::OnceLock<GuestLang>,
}

impl LazyLang {
    /// Detection of `content`'s language, deferred.
    pub(super) fn new(content: Owned) -> Self {
        LazyLang {
            content,
            lang: std::sync::OnceLock::new(),
        }
    }

    /// The language ([`GuestLang::Other`] if the file can no longer be read).
    pub(super) fn get(&self) -> GuestLang {
        *self
            .lang
            .get_or_init(|| match self.content.borrow().bytes() {
                Ok(bytes) => super::guest_lang::detect(&bytes),
                Err(_) => GuestLang::Other,
            })
    }
}
