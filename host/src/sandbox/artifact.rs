//! A compiled component as its compiler hands it over.
//!
//! A compile on a worker thread returns its artifact in memory. A compiler
//! child (`compile.rs`) writes its artifact to stdout, which is an anonymous
//! memory file (`memfd`) the parent created. Once the child has exited, the
//! parent seals the file (no write, growth or shrink, by anyone, from then
//! on) and maps it read-only: the cache entry is written and MAC'd from that
//! mapping, and wasmtime maps the file itself, so its memory images are
//! copy-on-write mappings of the file as for a cache entry. Before, the
//! parent drained a pipe into a growing buffer and wasmtime copied that
//! buffer again: for the example's two large components, about a tenth of a
//! second of the parent's CPU, on the cold render's critical path.

#[cfg(target_os = "linux")]
use super::cache::Mapping;
use std::fs::File;
use std::io;

/// Largest artifact accepted from a compiler child (the cache's entry limit).
const MAX_ARTIFACT_BYTES: u64 = 1 << 30;

/// A compiled component's artifact, as `Engine::precompile_component`
/// produced it for the engine it is loaded into.
pub(crate) enum Artifact {
    /// Compiled on a thread of this process.
    Bytes(Vec<u8>),
    /// Written by a compiler child into a memory file, sealed after the
    /// child exited.
    #[cfg(target_os = "linux")]
    Sealed(Sealed),
}

impl Artifact {
    /// The artifact's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Artifact::Bytes(bytes) => bytes,
            #[cfg(target_os = "linux")]
            Artifact::Sealed(sealed) => sealed.map.bytes(),
        }
    }
}

/// A sealed memory file holding an artifact, and a read-only mapping of it.
#[cfg(target_os = "linux")]
pub(crate) struct Sealed {
    map: Mapping,
    file: File,
}

#[cfg(target_os = "linux")]
impl Sealed {
    /// The sealed file, for wasmtime to map by descriptor.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }
}

/// An empty anonymous file (a sealable memory file on Linux): what a
/// compiler child writes its artifact to, or reads a component from.
///
/// # Errors
///
/// The file cannot be created.
pub(crate) fn anonymous_file() -> io::Result<File> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{MemfdFlags, memfd_create};
        let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
        Ok(File::from(memfd_create("wasmchart-artifact", flags)?))
    }
    #[cfg(not(target_os = "linux"))]
    {
        tempfile::tempfile()
    }
}

/// The artifact a compiler child that exited successfully wrote to `file`
/// (made by [`anonymous_file`]).
///
/// # Errors
///
/// The file is empty or over 1 GiB, or cannot be sealed (a process still
/// maps it writable), measured or mapped.
pub(crate) fn from_child(file: File) -> io::Result<Artifact> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{SealFlags, fcntl_add_seals};
        let seals = SealFlags::WRITE | SealFlags::GROW | SealFlags::SHRINK | SealFlags::SEAL;
        fcntl_add_seals(&file, seals)?;
        let len = checked_len(&file)?;
        let map = Mapping::new(&file, len)?;
        Ok(Artifact::Sealed(Sealed { map, file }))
    }
    #[cfg(not(target_os = "linux"))]
    {
        use std::io::{Read as _, Seek as _};
        let len = checked_len(&file)?;
        let mut bytes = Vec::with_capacity(usize::try_from(len).map_err(io::Error::other)?);
        let mut file = file;
        file.rewind()?;
        file.read_to_end(&mut bytes)?;
        Ok(Artifact::Bytes(bytes))
    }
}

fn checked_len(file: &File) -> io::Result<u64> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Err(io::Error::other("the compiler wrote no artifact"));
    }
    if len > MAX_ARTIFACT_BYTES {
        return Err(io::Error::other(format!(
            "the compiler wrote {len} bytes, over the {MAX_ARTIFACT_BYTES}-byte limit"
        )));
    }
    Ok(len)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn a_child_output_is_sealed_against_every_later_change() {
        let file = anonymous_file().unwrap();
        let mut writer = file.try_clone().unwrap();
        writer.write_all(b"artifact").unwrap();
        let artifact = from_child(file).unwrap();
        assert_eq!(artifact.bytes(), b"artifact");
        assert!(writer.write_all(b"more").is_err(), "grew after sealing");
        assert!(
            rustix::io::pwrite(&writer, b"ART", 0).is_err(),
            "rewritten after sealing"
        );
        assert!(writer.set_len(1).is_err(), "shrunk after sealing");
        assert_eq!(artifact.bytes(), b"artifact");
    }

    #[test]
    fn an_empty_output_is_no_artifact() {
        let err = from_child(anonymous_file().unwrap()).err().unwrap();
        assert!(err.to_string().contains("no artifact"), "{err}");
    }
}
