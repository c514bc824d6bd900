//! A warm load of a component file reads none of it: the cache finds its
//! entry from an authenticated record of the file's identity. The record is
//! only made for a file left alone for a few seconds, and any write to the
//! file voids it.

use sha2::Digest as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use wasmchart::sandbox::{
    CacheStatus, ComponentSource, Limits, Runtime, RuntimeOptions, SandboxError,
};

fn runtime(dir: &Path) -> Runtime {
    Runtime::new(RuntimeOptions {
        cache_dir: Some(dir.join("cache")),
        config_dir: Some(dir.join("config")),
        progress: false,
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

fn records(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir.join("cache").join("v1"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wasmid"))
        .collect()
}

/// The file opened write-only: any attempt to read it fails (EBADF), so a
/// load that succeeds through it read nothing.
fn unreadable(path: &Path) -> ComponentSource {
    let file = fs::OpenOptions::new().write(true).open(path).unwrap();
    ComponentSource::File(Arc::new(file))
}

fn readable(path: &Path) -> ComponentSource {
    ComponentSource::File(Arc::new(fs::File::open(path).unwrap()))
}

fn load(dir: &Path, wasm: &Path, source: &ComponentSource) -> Result<CacheStatus, SandboxError> {
    runtime(dir)
        .load_source("redis", wasm, source, &Limits::default())
        .map(|loaded| loaded.cache_status())
}

/// The load needs the file's bytes: through a write-only descriptor it
/// fails, naming the component, the file and the read error.
fn assert_must_read(dir: &Path, wasm: &Path) {
    let err = load(dir, wasm, &unreadable(wasm)).unwrap_err().to_string();
    let expected = format!("cannot load component 'redis' from '{}': ", wasm.display());
    assert!(err.starts_with(&expected), "{err}");
    assert!(err.contains("Bad file descriptor"), "{err}");
}

#[test]
fn a_settled_file_loads_warm_without_being_read_and_a_write_voids_its_record() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("redis.wasm");
    fs::copy(test_components::wasm("redis"), &wasm).unwrap();

    // Just written: compiled and cached, but its identity is not recorded
    // (a write in the same clock tick would keep the ctime).
    assert_eq!(
        load(dir.path(), &wasm, &readable(&wasm)).unwrap(),
        CacheStatus::Miss
    );
    assert!(records(dir.path()).is_empty(), "a fresh file was recorded");
    assert_must_read(dir.path(), &wasm);

    // Settled: the next load reads and hashes it once more and records it.
    std::thread::sleep(Duration::from_millis(3200));
    assert_eq!(
        load(dir.path(), &wasm, &readable(&wasm)).unwrap(),
        CacheStatus::Hit
    );
    assert_eq!(records(dir.path()).len(), 1);

    // Warm: a descriptor that cannot be read is enough.
    assert_eq!(
        load(dir.path(), &wasm, &unreadable(&wasm)).unwrap(),
        CacheStatus::Hit
    );

    // Rewritten with the very same bytes: ctime moved, the record no longer
    // vouches for it, so the load must read it (and cannot, write-only).
    let bytes = fs::read(&wasm).unwrap();
    fs::write(&wasm, &bytes).unwrap();
    assert_must_read(dir.path(), &wasm);
    assert_eq!(
        load(dir.path(), &wasm, &readable(&wasm)).unwrap(),
        CacheStatus::Hit
    );
}

#[test]
fn a_forged_or_foreign_record_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = test_components::wasm("redis");
    // Settled long ago (built by the test setup): recorded on first load.
    assert_eq!(
        load(dir.path(), wasm, &readable(wasm)).unwrap(),
        CacheStatus::Miss
    );
    // A lock check gets the digest the same way, reading nothing.
    let digest = runtime(dir.path())
        .component_digest("redis", wasm, &unreadable(wasm))
        .unwrap();
    let expected: String = sha2::Sha256::digest(fs::read(wasm).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(digest, expected);

    let found = records(dir.path());
    let [record] = &found[..] else {
        panic!("expected one record: {found:?}");
    };
    let mut forged = fs::read(record).unwrap();
    let digest_at = 16 + 56;
    forged[digest_at] ^= 0xff;
    fs::write(record, &forged).unwrap();
    assert_must_read(dir.path(), wasm);
    // Another key (a copied or restored cache): the record is not trusted.
    let other = tempfile::tempdir().unwrap();
    assert_eq!(
        load(dir.path(), wasm, &readable(wasm)).unwrap(),
        CacheStatus::Hit
    );
    fs::create_dir_all(other.path().join("cache")).unwrap();
    copy_dir(
        &dir.path().join("cache").join("v1"),
        &other.path().join("cache").join("v1"),
    );
    assert_must_read(other.path(), wasm);
}

fn copy_dir(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::create_dir_all(to).unwrap();
    fs::set_permissions(to, fs::Permissions::from_mode(0o700)).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}
