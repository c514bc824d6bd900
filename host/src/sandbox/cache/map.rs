//! A read-only, private mapping of an entry file, so that a warm load neither
//! reads nor copies tens of megabytes: wasmtime runs the artifact's code in
//! place (`Component::deserialize_raw`) and only the pages a render touches
//! are ever faulted in, from the page cache.
//!
//! The mapping is made from the descriptor the entry's checks ran on
//! (`read.rs`), never from its path, so it is the very inode those checks
//! saw. It stays mapped as long as any [`Mapping`] handle lives; whoever
//! holds a component made from it keeps a handle (see `LoadedComponent`).

use std::fs::File;
use std::io;
use std::ptr::NonNull;

/// A whole entry file mapped `PROT_READ`, `MAP_PRIVATE`; unmapped on drop.
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is never written through this handle (only read, and
// made executable in place by the engine's code memory hooks), so sharing
// the pointer between threads is as safe as sharing a `&[u8]`.
#[allow(unsafe_code)]
unsafe impl Send for Mapping {}
// SAFETY: as above.
#[allow(unsafe_code)]
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps the first `len` bytes of `file` (which must be at least that
    /// long; `len` > 0).
    #[cfg(unix)]
    pub(crate) fn new(file: &File, len: u64) -> io::Result<Self> {
        use rustix::mm::{MapFlags, ProtFlags, mmap};
        let len = usize::try_from(len).map_err(io::Error::other)?;
        if len == 0 {
            return Err(io::Error::other("cannot map an empty file"));
        }
        // SAFETY: a fresh mapping chosen by the kernel (null hint), so no
        // existing memory is affected. The entry is this user's, 0600, one
        // link, in a 0700 directory, and this host never writes an entry in
        // place (a temporary file is renamed over it), so its bytes do not
        // change under the mapping; a truncation by this same user is out
        // of scope (see `deserialize` in mod.rs).
        #[allow(unsafe_code)]
        let ptr = unsafe {
            mmap(
                std::ptr::null_mut(),
                len,
                ProtFlags::READ,
                MapFlags::PRIVATE,
                file,
                0,
            )
        }?;
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("null mapping"))?;
        Ok(Mapping { ptr, len })
    }

    /// No mapping off Unix (the cache is off there anyway).
    #[cfg(not(unix))]
    pub(super) fn new(_file: &File, _len: u64) -> io::Result<Self> {
        Err(io::Error::other("file mappings need Unix"))
    }

    /// The mapped bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes for as long as `self`
        // lives, and nothing writes them (see `new`).
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts(self.ptr.as_ptr(), self.len)
        }
    }

    /// The first `len` bytes of the mapping (the artifact), for
    /// `deserialize_raw`.
    pub(super) fn region(&self, len: usize) -> NonNull<[u8]> {
        let bytes = &self.bytes()[..len.min(self.len)];
        NonNull::from(bytes)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            // SAFETY: `ptr`/`len` is the mapping `new` made; every component
            // using it holds this handle, so none is alive any more.
            #[allow(unsafe_code)]
            let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), self.len) };
        }
    }
}
