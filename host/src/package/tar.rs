//! The deterministic `.tgz` writer: the same files give the same bytes on every machine and
//! every run, so an archive's sha256 names its content.

use anyhow::{Context as _, Result};
use std::io::Write as _;

/// The modification time of every entry (and of the gzip header): 1980-01-01T00:00:00Z,
/// fixed so packing twice gives the same bytes; 1980 rather than 0 because some tools warn
/// about entries dated 1970.
pub const ENTRY_MTIME: u64 = 315_532_800;

/// Packs `files` (paths relative to the chart root, in the order given) under `NAME/`: regular
/// files only, mode 0644, owner 0:0 without names, GNU long names for paths over 100 bytes.
///
/// # Errors
///
/// Only on an I/O error writing to memory (not expected).
pub fn archive_bytes(name: &str, files: &[(String, Vec<u8>)]) -> Result<Vec<u8>> {
    let gz = flate2::GzBuilder::new()
        .mtime(u32::try_from(ENTRY_MTIME).unwrap_or(0))
        .write(Vec::new(), flate2::Compression::default());
    let mut tar = ::tar::Builder::new(gz);
    tar.mode(::tar::HeaderMode::Deterministic);
    for (path, bytes) in files {
        let mut header = ::tar::Header::new_gnu();
        header.set_entry_type(::tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(ENTRY_MTIME);
        header.set_size(bytes.len() as u64);
        tar.append_data(&mut header, format!("{name}/{path}"), bytes.as_slice())
            .with_context(|| format!("cannot add {path} to the archive"))?;
    }
    let gz = tar.into_inner().context("cannot finish the archive")?;
    let mut out = gz.finish().context("cannot finish the archive")?;
    out.flush()?;
    Ok(out)
}
