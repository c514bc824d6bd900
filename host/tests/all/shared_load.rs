//! The warm path's shortcuts keep their promises: a component used by many
//! subcharts is loaded once per runtime (and a failed load is not shared),
//! and a stamped entry that runs in place from its file mapping keeps
//! running the code that was checked when the file is replaced or removed.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use wasmchart::sandbox::{
    CacheStatus, Limits, LoadedComponent, Runtime, RuntimeOptions, SandboxError,
};

fn runtime(dir: &Path) -> Runtime {
    Runtime::new(RuntimeOptions {
        cache_dir: Some(dir.join("cache")),
        config_dir: Some(dir.join("config")),
        progress: false,
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir.join("cache").join("v1"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

fn redis_bytes() -> Arc<[u8]> {
    fs::read(test_components::wasm("redis")).unwrap().into()
}

/// Renders and returns the kinds, which must include redis's Deployment.
fn assert_redis_renders(runtime: &Runtime, loaded: &LoadedComponent) {
    let request = crate::support::demo_request();
    let result = runtime
        .render(loaded, &request, &Limits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let deployment = result
        .manifests
        .iter()
        .any(|m| m.content.contains("kind: Deployment") || m.content.contains("\"Deployment\""));
    assert!(deployment, "redis did not render its Deployment");
}

/// The second and later loads of the same bytes (the same buffer, or an
/// equal one) never touch the cache: with the cache directory emptied in
/// between, nothing is compiled or written again, and each load renders
/// under its own name.
#[test]
fn one_load_per_component_per_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let bytes = redis_bytes();
    let path = test_components::wasm("redis");
    let first = rt
        .load_shared("a", path, &bytes, &Limits::default())
        .unwrap();
    assert_eq!(first.cache_status(), CacheStatus::Miss);
    for file in cache_files(dir.path()) {
        fs::remove_file(file).unwrap();
    }
    let same_buffer = rt
        .load_shared("b", path, &bytes, &Limits::default())
        .unwrap();
    let equal_bytes: Arc<[u8]> = bytes.to_vec().into();
    let equal_buffer = rt
        .load_shared("c", path, &equal_bytes, &Limits::default())
        .unwrap();
    assert!(
        cache_files(dir.path()).is_empty(),
        "a later load used the cache"
    );
    assert_eq!((same_buffer.name(), equal_buffer.name()), ("b", "c"));
    assert_eq!(same_buffer.digest(), first.digest());
    assert_redis_renders(&rt, &equal_buffer);
    // A plain load still goes through the cache (benchmarks rely on it).
    let plain = rt.load("d", path).unwrap();
    assert_eq!(plain.cache_status(), CacheStatus::Miss);
}

/// A load that fails is not shared: the size limit is checked on every
/// load, and a later load under a limit that fits succeeds.
#[test]
fn a_failed_load_is_not_shared() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let bytes = redis_bytes();
    let path = test_components::wasm("redis");
    let tight = Limits {
        component_bytes: 1024,
        ..Limits::default()
    };
    let err = rt.load_shared("small", path, &bytes, &tight).unwrap_err();
    assert!(
        matches!(err, SandboxError::TooLarge { ref component, .. } if component == "small"),
        "{err:?}"
    );
    let loaded = rt
        .load_shared("big", path, &bytes, &Limits::default())
        .unwrap();
    assert_redis_renders(&rt, &loaded);
    let again = rt.load_shared("small", path, &bytes, &tight).unwrap_err();
    assert!(
        again.to_string().contains("small"),
        "the limit is checked again for a shared component: {again}"
    );
}

/// A warm (stamped) load runs from a mapping of the entry. Replacing the
/// entry file by a rename, or removing it, while the component is loaded
/// changes nothing for it: it still renders redis, from the inode that was
/// checked; and the next runtime sees the replacement for what it is.
#[test]
fn a_mapped_entry_survives_replacement_and_removal() {
    let dir = tempfile::tempdir().unwrap();
    let path = test_components::wasm("redis");
    runtime(dir.path()).load("redis", path).unwrap();
    let rt = runtime(dir.path());
    let warm = rt.load("redis", path).unwrap();
    assert_eq!(warm.cache_status(), CacheStatus::Hit);
    let entry = cache_files(dir.path())
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap();
    let mut bytes = fs::read(&entry).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let aside = entry.with_extension("new");
    fs::write(&aside, &bytes).unwrap();
    fs::rename(&aside, &entry).unwrap();
    assert_redis_renders(&rt, &warm);
    fs::remove_file(&entry).unwrap();
    assert_redis_renders(&rt, &warm);
    drop(warm);
    drop(rt);
    let next = runtime(dir.path()).load("redis", path).unwrap();
    assert_eq!(next.cache_status(), CacheStatus::Miss);
}
