//! `/files` under host control: a cap on open descriptors, and metadata
//! that never reveals the host.
//!
//! wasmtime-wasi implements `wasi:filesystem`; this module shadows five of
//! its functions in the linker, calls the original and fixes the result:
//! - `open-at` refuses a new descriptor once the component holds
//!   [`Limits::files`](super::Limits::files) of them (error code `quota`,
//!   which the guest sees as "disk quota exceeded"), so one component can
//!   never take the host's file descriptors away from the others; if the
//!   component then fails, the host names the limit ("open files");
//! - `stat` and `stat-at` report every timestamp (access, modification,
//!   status change) as the frozen wall clock's instant, 2000-01-01T00:00:00Z:
//!   the real times would leak the host and make output differ between two
//!   checkouts of the same chart;
//! - `metadata-hash` and `metadata-hash-at` return 1, 2, 3... in the order
//!   the render first meets each file, instead of a hash of the host's
//!   device and inode numbers: the same file still gets the same value.
//!
//! Every other WASI resource (streams, pollables, directory listings) lives
//! in the store's resource table, whose capacity is capped at
//! [`RESOURCE_CAPACITY`] entries.

use super::clocks::FROZEN_WALL_CLOCK;
use super::state::HostState;
use std::collections::HashMap;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi::filesystem::{Descriptor, WasiFilesystemView as _};
use wasmtime_wasi::p2::FsResult;
use wasmtime_wasi::p2::bindings::sync::filesystem::types::{
    Datetime, DescriptorFlags, DescriptorStat, ErrorCode, HostDescriptor, MetadataHashValue,
    OpenFlags, PathFlags,
};

/// The interface whose functions are shadowed (the version wasmtime-wasi 48 links).
const FILESYSTEM_TYPES: &str = "wasi:filesystem/types@0.2.12";

/// Most WASI resources (descriptors, streams, pollables, listings) one
/// component may hold at once: far more than any real component needs,
/// small enough that the table's memory stays bounded.
pub const RESOURCE_CAPACITY: usize = 16_384;

/// The `/files` bookkeeping of one store.
#[derive(Debug)]
pub struct FileGuard {
    /// Table indexes of the descriptors `open-at` returned (some may have
    /// been dropped since; [`FileGuard::live`] prunes them).
    opened: Vec<u32>,
    /// Most descriptors open at once.
    limit: usize,
    /// An `open-at` was refused for the limit.
    pub hit: bool,
    /// Host file identity (wasmtime-wasi's hash) to the ordinal shown.
    identities: HashMap<(u64, u64), u64>,
}

impl FileGuard {
    /// A guard allowing `limit` open descriptors.
    pub fn new(limit: u32) -> Self {
        FileGuard {
            opened: Vec::new(),
            limit: limit as usize,
            hit: false,
            identities: HashMap::new(),
        }
    }

    /// How many descriptors `open-at` made are still open. An index still
    /// holding a descriptor is counted even if it was reused: only
    /// `open-at` and the preopen lookup make descriptors, so this never
    /// undercounts.
    fn live(&mut self, table: &mut ResourceTable) -> usize {
        self.opened
            .retain(|&rep| table.get_any_mut(rep).is_ok_and(|e| e.is::<Descriptor>()));
        self.opened.sort_unstable();
        self.opened.dedup();
        self.opened.len()
    }

    /// The ordinal standing for the host identity `hash`.
    fn ordinal(&mut self, hash: MetadataHashValue) -> MetadataHashValue {
        let next = self.identities.len() as u64 + 1;
        let lower = *self
            .identities
            .entry((hash.upper, hash.lower))
            .or_insert(next);
        MetadataHashValue { lower, upper: 0 }
    }
}

/// Sets the resource table's capacity for one store.
pub fn cap_table(table: &mut ResourceTable) {
    table.set_max_capacity(RESOURCE_CAPACITY);
}

/// Replaces `open-at`, `stat`, `stat-at`, `metadata-hash` and
/// `metadata-hash-at` in `linker`, which must already hold wasmtime-wasi's
/// definitions.
///
/// # Errors
///
/// When the interface is missing or has other signatures (a wasmtime-wasi
/// upgrade changed them).
pub fn add_guarded_filesystem(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut types = linker.instance(FILESYSTEM_TYPES)?;
    types.func_wrap("[method]descriptor.open-at", open_at)?;
    types.func_wrap(
        "[method]descriptor.stat",
        |mut store: StoreContextMut<'_, HostState>, (fd,): (Resource<Descriptor>,)| {
            let result = HostDescriptor::stat(&mut store.data_mut().filesystem(), fd);
            wit_result(result.map(normalise))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.stat-at",
        |mut store: StoreContextMut<'_, HostState>,
         (fd, flags, path): (Resource<Descriptor>, PathFlags, String)| {
            let result =
                HostDescriptor::stat_at(&mut store.data_mut().filesystem(), fd, flags, path);
            wit_result(result.map(normalise))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.metadata-hash",
        |mut store: StoreContextMut<'_, HostState>, (fd,): (Resource<Descriptor>,)| {
            let state = store.data_mut();
            let result = HostDescriptor::metadata_hash(&mut state.filesystem(), fd);
            wit_result(result.map(|h| state.files.ordinal(h)))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.metadata-hash-at",
        |mut store: StoreContextMut<'_, HostState>,
         (fd, flags, path): (Resource<Descriptor>, PathFlags, String)| {
            let state = store.data_mut();
            let result = HostDescriptor::metadata_hash_at(&mut state.filesystem(), fd, flags, path);
            wit_result(result.map(|h| state.files.ordinal(h)))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

type OpenArgs = (
    Resource<Descriptor>,
    PathFlags,
    String,
    OpenFlags,
    DescriptorFlags,
);

fn open_at(
    mut store: StoreContextMut<'_, HostState>,
    (fd, path_flags, path, oflags, flags): OpenArgs,
) -> wasmtime::Result<(Result<Resource<Descriptor>, ErrorCode>,)> {
    let state = store.data_mut();
    if state.files.live(&mut state.table) >= state.files.limit {
        state.files.hit = true;
        return Ok((Err(ErrorCode::Quota),));
    }
    let result =
        HostDescriptor::open_at(&mut state.filesystem(), fd, path_flags, path, oflags, flags);
    if let Ok(opened) = &result {
        state.files.opened.push(opened.rep());
    }
    wit_result(result)
}

/// A `result<T, error-code>` for the guest, or a trap for a host failure,
/// exactly as wasmtime-wasi's own bindings split an [`FsResult`].
fn wit_result<T>(result: FsResult<T>) -> wasmtime::Result<(Result<T, ErrorCode>,)> {
    match result {
        Ok(value) => Ok((Ok(value),)),
        Err(error) => Ok((Err(error.downcast()?.into()),)),
    }
}

/// The frozen wall clock as a WASI datetime.
fn frozen() -> Datetime {
    Datetime {
        seconds: FROZEN_WALL_CLOCK.as_secs(),
        nanoseconds: 0,
    }
}

/// `stat` with every timestamp set to the frozen instant.
fn normalise(stat: DescriptorStat) -> DescriptorStat {
    DescriptorStat {
        data_access_timestamp: Some(frozen()),
        data_modification_timestamp: Some(frozen()),
        status_change_timestamp: Some(frozen()),
        ..stat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_are_stable_per_identity() {
        let mut guard = FileGuard::new(4);
        let hash = |lower, upper| MetadataHashValue { lower, upper };
        assert_eq!(guard.ordinal(hash(77, 9)).lower, 1);
        assert_eq!(guard.ordinal(hash(12, 9)).lower, 2);
        assert_eq!(guard.ordinal(hash(77, 9)).lower, 1);
        assert_eq!(guard.ordinal(hash(77, 9)).upper, 0);
    }

    #[test]
    fn dropped_descriptors_are_not_counted() {
        let mut table = ResourceTable::new();
        let mut guard = FileGuard::new(4);
        let kept = table.push(7u8).unwrap();
        guard.opened.push(kept.rep());
        assert_eq!(guard.live(&mut table), 0, "not a descriptor");
    }
}
