//! The compile cache against someone who can write it: forged, swapped,
//! foreign, unsafe and truncated entries are never run and are rebuilt;
//! the warm path (stamps) is taken only for the very file that was checked.
//! Every case ends with a render that proves the right component ran.

use serde_json::Value;
use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use wasmchart::sandbox::{
    CacheStatus, Limits, LoadedComponent, RenderRequest, Runtime, RuntimeOptions, SandboxError,
};

/// Offset of the artifact length in an entry header, and the header's
/// length: an entry is the artifact, then the header (see
/// `host/src/sandbox/cache/entry.rs`).
const LEN_AT: usize = 16 + 8 + 32 + 32;
const HEADER_LEN: usize = LEN_AT + 8 + 32;
/// A uid nobody on the test machine has.
const STRANGER: u32 = 12345;

/// A cache directory and a config directory (the key's), side by side.
struct Dirs {
    root: tempfile::TempDir,
}

impl Dirs {
    fn new() -> Dirs {
        Dirs {
            root: tempfile::tempdir().unwrap(),
        }
    }

    fn cache(&self) -> PathBuf {
        self.root.path().join("cache")
    }

    fn config(&self) -> PathBuf {
        self.root.path().join("config")
    }

    fn v1(&self) -> PathBuf {
        self.cache().join("v1")
    }

    fn key(&self) -> PathBuf {
        self.config().join("cache-key")
    }

    fn runtime(&self) -> Runtime {
        runtime_with(self.cache(), self.config())
    }

    /// Loads `guest` in a fresh runtime, renders it, and returns the status.
    fn load_and_render(&self, guest: &str) -> (CacheStatus, Vec<String>) {
        let runtime = self.runtime();
        let loaded = runtime.load(guest, test_components::wasm(guest)).unwrap();
        assert_renders_as(&runtime, &loaded, guest);
        (loaded.cache_status(), runtime.cache_warnings())
    }

    /// The one `.cwasm` entry in the cache.
    fn only_entry(&self) -> PathBuf {
        let entries = entries(&self.v1());
        assert_eq!(entries.len(), 1, "{entries:?}");
        entries[0].clone()
    }
}

fn runtime_with(cache: PathBuf, config: PathBuf) -> Runtime {
    Runtime::new(RuntimeOptions {
        cache_dir: Some(cache),
        config_dir: Some(config),
        progress: false,
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    entries.sort();
    entries
}

fn stamp_of(entry: &Path) -> PathBuf {
    entry.with_extension("stamp")
}

fn request() -> RenderRequest {
    crate::support::demo_request()
}

/// The redis guest renders a Deployment; the probe only a ConfigMap.
/// Rendering tells which native code actually ran.
fn assert_renders_as(runtime: &Runtime, loaded: &LoadedComponent, guest: &str) {
    let result = runtime
        .render(loaded, &request(), &Limits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<String> = result
        .manifests
        .iter()
        .map(|m| {
            let object: Value = parse_object(&m.content);
            object["kind"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    match guest {
        "redis" => assert!(
            kinds.iter().any(|k| k == "Deployment"),
            "redis rendered {kinds:?}"
        ),
        "probe" => assert_eq!(kinds, ["ConfigMap"], "probe rendered {kinds:?}"),
        other => panic!("no expectation for {other}"),
    }
}

fn parse_object(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn assert_one_warning(warnings: &[String], entry: &Path, reason: &str) {
    let matching: Vec<&String> = warnings.iter().filter(|w| w.contains(reason)).collect();
    assert_eq!(matching.len(), 1, "want one '{reason}' in {warnings:?}");
    let text = matching[0];
    assert!(
        text.starts_with(&format!(
            "compile cache entry '{}' refused: ",
            entry.display()
        )),
        "{text}"
    );
    assert!(text.ends_with("; compiling the component again"), "{text}");
}

/// Replaces `path` by a copy of `from` (a new inode), as a restore would.
fn replace_with_copy(from: &Path, path: &Path) {
    let tmp = path.with_extension("copy");
    fs::copy(from, &tmp).unwrap();
    fs::rename(&tmp, path).unwrap();
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// `chown` to [`STRANGER`]; false when not allowed (not root).
fn give_away(path: &Path) -> bool {
    match std::os::unix::fs::lchown(path, Some(STRANGER), None) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!("not root: skipping the ownership case ({e})");
            false
        }
        Err(e) => panic!("chown {}: {e}", path.display()),
    }
}

#[test]
fn stamp_fast_path_only_for_the_file_that_was_checked() {
    let dirs = Dirs::new();
    assert_eq!(dirs.load_and_render("redis").0, CacheStatus::Miss);
    let entry = dirs.only_entry();
    assert!(stamp_of(&entry).is_file(), "writing an entry stamps it");
    let runtime = dirs.runtime();
    let warm = runtime
        .load("redis", test_components::wasm("redis"))
        .unwrap();
    assert_eq!(warm.cache_status(), CacheStatus::Hit);
    assert_renders_as(&runtime, &warm, "redis");
    assert!(runtime.cache_warnings().is_empty());

    // Same bytes, new inode: the stamp no longer vouches; a full check does.
    replace_with_copy(&entry, &entry);
    assert_eq!(
        dirs.load_and_render("redis"),
        (CacheStatus::Verified, vec![])
    );
    assert_eq!(dirs.load_and_render("redis").0, CacheStatus::Hit);

    // No stamp at all: a full check, then stamped again.
    fs::remove_file(stamp_of(&entry)).unwrap();
    assert_eq!(dirs.load_and_render("redis").0, CacheStatus::Verified);
    assert_eq!(dirs.load_and_render("redis").0, CacheStatus::Hit);

    let err = dirs
        .runtime()
        .render(&warm, &request(), &Limits::default())
        .unwrap_err();
    assert!(
        err.to_string().contains("loaded by another Runtime"),
        "{err}"
    );
}

/// An entry with redis's valid header and the probe's working native code:
/// if the MAC were not checked, loading redis would run the probe.
#[test]
fn forged_entry_is_never_executed() {
    let dirs = Dirs::new();
    dirs.load_and_render("redis");
    let entry = dirs.only_entry();
    let original = fs::read(&entry).unwrap();
    let probe = fs::read(test_components::wasm("probe")).unwrap();
    let artifact = dirs
        .runtime()
        .engine()
        .precompile_component(&probe)
        .unwrap();
    let mut header = original[original.len() - HEADER_LEN..].to_vec();
    header[LEN_AT..LEN_AT + 8].copy_from_slice(&(artifact.len() as u64).to_le_bytes());
    let mut forged = artifact.clone();
    forged.extend_from_slice(&header);
    fs::write(&entry, &forged).unwrap();

    let (status, warnings) = dirs.load_and_render("redis");
    assert_eq!(status, CacheStatus::Rebuilt);
    assert_one_warning(
        &warnings,
        &entry,
        "its MAC does not match: it was forged or corrupted",
    );
    assert_eq!(dirs.load_and_render("redis"), (CacheStatus::Hit, vec![]));
}

/// Rewritten in place with the same size and its mtime put back: same
/// inode, but the ctime moved, so the stamp does not vouch and the MAC
/// catches the change.
#[test]
fn in_place_edit_with_mtime_restored_is_caught() {
    let dirs = Dirs::new();
    dirs.load_and_render("redis");
    let entry = dirs.only_entry();
    let before = fs::metadata(&entry).unwrap();
    let mut bytes = fs::read(&entry).unwrap();
    let middle = (bytes.len() - HEADER_LEN) / 2;
    bytes[middle] ^= 0xff;
    let file = fs::OpenOptions::new().write(true).open(&entry).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &bytes[middle..=middle], middle as u64)
        .unwrap();
    file.set_modified(before.modified().unwrap()).unwrap();
    drop(file);
    let after = fs::metadata(&entry).unwrap();
    assert_eq!((after.ino(), after.len()), (before.ino(), before.len()));
    assert_eq!(after.modified().unwrap(), before.modified().unwrap());

    let (status, warnings) = dirs.load_and_render("redis");
    assert_eq!(status, CacheStatus::Rebuilt);
    assert_one_warning(&warnings, &entry, "its MAC does not match");
}

/// redis's entry (valid MAC, valid stamp) copied or moved under the probe's
/// name, with its stamp: the probe must still render as the probe.
#[test]
fn swapped_entry_is_refused() {
    let dirs = Dirs::new();
    dirs.load_and_render("redis");
    let redis_entry = dirs.only_entry();
    dirs.load_and_render("probe");
    let probe_entry = entries(&dirs.v1())
        .into_iter()
        .find(|e| *e != redis_entry)
        .unwrap();

    replace_with_copy(&redis_entry, &probe_entry);
    replace_with_copy(&stamp_of(&redis_entry), &stamp_of(&probe_entry));
    let (status, warnings) = dirs.load_and_render("probe");
    assert_eq!(status, CacheStatus::Rebuilt);
    assert_one_warning(
        &warnings,
        &probe_entry,
        "it holds the native code of another component",
    );

    fs::rename(&redis_entry, &probe_entry).unwrap();
    fs::rename(stamp_of(&redis_entry), stamp_of(&probe_entry)).unwrap();
    let (status, warnings) = dirs.load_and_render("probe");
    assert_eq!(status, CacheStatus::Rebuilt);
    assert_one_warning(&warnings, &probe_entry, "another component");
    assert_eq!(dirs.load_and_render("redis").0, CacheStatus::Miss);
    assert_eq!(dirs.load_and_render("probe").0, CacheStatus::Hit);
}

/// A cache restored on another runner (same files, another key) is not
/// trusted: every entry is refused once and rebuilt under the new key.
#[test]
fn entry_from_another_key_is_refused() {
    let first = Dirs::new();
    first.load_and_render("redis");
    let second = Dirs::new();
    fs::create_dir_all(second.v1()).unwrap();
    set_mode(&second.cache(), 0o700);
    set_mode(&second.v1(), 0o700);
    for file in fs::read_dir(first.v1()).unwrap() {
        let file = file.unwrap().path();
        fs::copy(&file, second.v1().join(file.file_name().unwrap())).unwrap();
    }
    let entry = second.only_entry();
    let (status, warnings) = second.load_and_render("redis");
    assert_eq!(status, CacheStatus::Rebuilt);
    assert_one_warning(&warnings, &entry, "it was written with another cache key");
    assert_eq!(second.load_and_render("redis"), (CacheStatus::Hit, vec![]));
    assert_ne!(
        fs::read(first.key()).unwrap(),
        fs::read(second.key()).unwrap()
    );
}

#[test]
fn unsafe_entries_are_refused_and_rebuilt() {
    let dirs = Dirs::new();
    dirs.load_and_render("redis");
    let entry = dirs.only_entry();
    let check = |reason: &str| {
        let (status, warnings) = dirs.load_and_render("redis");
        assert_eq!(status, CacheStatus::Rebuilt, "{reason}");
        assert_one_warning(&warnings, &entry, reason);
        assert_eq!(fs::metadata(&entry).unwrap().mode() & 0o7777, 0o600);
    };

    set_mode(&entry, 0o666);
    check("it is writable by group or others (mode 0666)");
    if give_away(&entry) {
        check(&format!("it is owned by uid {STRANGER}, not by this user"));
    }
    let elsewhere = dirs.root.path().join("elsewhere.cwasm");
    fs::rename(&entry, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &entry).unwrap();
    check("it is a symbolic link");
    fs::hard_link(&entry, dirs.root.path().join("second-name")).unwrap();
    check("it has 2 hard links");
    let sparse = fs::File::create(&entry).unwrap();
    sparse.set_len(2 << 30).unwrap();
    set_mode(&entry, 0o600);
    check("it is 2147483648 bytes, over the 1073741824-byte limit");
}

/// A FIFO under an entry's name must not hang the load.
#[test]
fn fifo_entry_does_not_hang() {
    let dirs = Dirs::new();
    dirs.load_and_render("redis");
    let entry = dirs.only_entry();
    fs::remove_file(&entry).unwrap();
    let made = Command::new("mkfifo").arg(&entry).status().unwrap();
    assert!(made.success());
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let cache = (dirs.cache(), dirs.config());
    std::thread::spawn(move || {
        let runtime = runtime_with(cache.0, cache.1);
        let loaded = runtime.load("redis", test_components::wasm("redis"));
        let _ = tx.send((loaded.map(|l| l.cache_status()), runtime.cache_warnings()));
    });
    let (status, warnings) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("a FIFO entry hung the load");
    assert!(start.elapsed() < Duration::from_secs(60));
    assert_eq!(status.unwrap(), CacheStatus::Rebuilt);
    assert_one_warning(&warnings, &entry, "it is not a regular file");
    assert_eq!(dirs.load_and_render("redis").0, CacheStatus::Hit);
}

#[test]
fn truncated_entries_are_rebuilt() {
    let dirs = Dirs::new();
    dirs.load_and_render("redis");
    let entry = dirs.only_entry();
    for keep in [fs::metadata(&entry).unwrap().len() / 2, 10, 0] {
        let bytes = fs::read(&entry).unwrap();
        fs::write(&entry, &bytes[..keep as usize]).unwrap();
        let (status, warnings) = dirs.load_and_render("redis");
        assert_eq!(status, CacheStatus::Rebuilt, "kept {keep} bytes");
        assert_one_warning(&warnings, &entry, "it is truncated");
    }
}

/// A cache directory others may write is not used at all: components are
/// compiled in memory and nothing in it is read, written or deleted.
#[test]
fn unsafe_cache_directory_compiles_in_memory() {
    let dirs = Dirs::new();
    dirs.load_and_render("redis");
    let listing = || {
        let mut names: Vec<_> = fs::read_dir(dirs.v1())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let before = listing();
    let v1 = dirs.v1();
    let check = |reason: &str| {
        let (status, warnings) = dirs.load_and_render("redis");
        assert_eq!(status, CacheStatus::Disabled, "{reason}");
        assert_eq!(
            warnings,
            [format!(
                "compile cache directory '{}' not used: {reason}; compiling components in memory",
                v1.display()
            )]
        );
        assert_eq!(listing(), before);
    };
    set_mode(&v1, 0o777);
    check("it is writable by group or others (mode 0777)");
    set_mode(&v1, 0o700);
    if give_away(&v1) {
        check(&format!(
            "it is owned by uid {STRANGER}, not by this user (uid {})",
            my_uid()
        ));
        std::os::unix::fs::lchown(&v1, Some(my_uid()), None).unwrap();
    }
    // A restored cache whose v1 is a link to a directory of this user's.
    let real = dirs.cache().join("real");
    fs::rename(&v1, &real).unwrap();
    std::os::unix::fs::symlink(&real, &v1).unwrap();
    check("it is a symbolic link");
}

#[test]
fn key_is_private_and_concurrent_first_runs_agree() {
    let dirs = Dirs::new();
    let runtimes: Vec<Runtime> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| dirs.runtime())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let key = fs::metadata(dirs.key()).unwrap();
    assert_eq!(key.mode() & 0o7777, 0o600);
    assert_eq!(key.len(), 65);
    assert_eq!(fs::metadata(dirs.config()).unwrap().mode() & 0o7777, 0o700);
    assert_eq!(fs::metadata(dirs.v1()).unwrap().mode() & 0o7777, 0o700);
    let redis = test_components::wasm("redis");
    assert_eq!(
        runtimes[0].load("redis", redis).unwrap().cache_status(),
        CacheStatus::Miss
    );
    for runtime in &runtimes[1..] {
        assert_eq!(
            runtime.load("redis", redis).unwrap().cache_status(),
            CacheStatus::Hit
        );
        assert!(runtime.cache_warnings().is_empty());
    }
}

/// A key group or others can read, or another user owns, may be known to
/// them: it is replaced, which invalidates every entry.
#[test]
fn exposed_key_is_replaced() {
    let dirs = Dirs::new();
    dirs.load_and_render("redis");
    let entry = dirs.only_entry();
    let expose = [
        (
            readable_by_others as fn(&Path) -> bool,
            "it was readable or writable by group or others (mode 0644), who may know it",
        ),
        (give_away, "it is owned by uid 12345, not by this user"),
    ];
    for (exposed, reason) in expose {
        let old = fs::read(dirs.key()).unwrap();
        if !exposed(&dirs.key()) {
            continue;
        }
        let (status, warnings) = dirs.load_and_render("redis");
        assert_eq!(status, CacheStatus::Rebuilt, "{reason}");
        let prefix = format!(
            "compile cache key '{}' replaced: {reason}",
            dirs.key().display()
        );
        let replaced: Vec<_> = warnings.iter().filter(|w| w.starts_with(&prefix)).collect();
        assert_eq!(replaced.len(), 1, "{warnings:?}");
        assert!(
            replaced[0].ends_with("; every cached component will be compiled again"),
            "{warnings:?}"
        );
        assert_one_warning(&warnings, &entry, "another cache key");
        let new = fs::metadata(dirs.key()).unwrap();
        assert_eq!((new.mode() & 0o7777, new.uid()), (0o600, my_uid()));
        assert_ne!(fs::read(dirs.key()).unwrap(), old);
        assert_eq!(dirs.load_and_render("redis").0, CacheStatus::Hit);
    }
}

fn readable_by_others(path: &Path) -> bool {
    set_mode(path, 0o644);
    true
}

/// This process's effective uid: the owner of a directory it just made.
fn my_uid() -> u32 {
    fs::metadata(tempfile::tempdir().unwrap().path())
        .unwrap()
        .uid()
}

#[test]
fn nested_cache_and_config_directories_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let (cache, config) = (root.path().join("cache"), root.path().join("config"));
    for (cache, config) in [
        (config.join("cache"), config.clone()),
        (cache.clone(), cache.join("config")),
    ] {
        let err = Runtime::new(RuntimeOptions {
            cache_dir: Some(cache.clone()),
            config_dir: Some(config.clone()),
            progress: false,
        })
        .err()
        .expect("nested directories are refused");
        assert!(matches!(err, SandboxError::Cache { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&cache.display().to_string()), "{text}");
        assert!(text.contains(&config.display().to_string()), "{text}");
        assert!(text.contains("are inside one another"), "{text}");
        assert!(!config.join("cache-key").exists());
    }
}

#[test]
fn explicit_unusable_cache_dir_is_an_error() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let config = tempfile::tempdir().unwrap();
    let err = Runtime::new(RuntimeOptions {
        cache_dir: Some(file.path().join("below-a-file")),
        config_dir: Some(config.path().to_path_buf()),
        progress: false,
    })
    .err()
    .expect("a cache dir under a file cannot be created");
    assert!(matches!(err, SandboxError::Cache { .. }), "{err:?}");
    assert!(err.to_string().contains("below-a-file"), "{err}");
}

/// Many refused entries of one kind make one warning, not one per entry.
#[test]
fn one_warning_per_kind_of_refusal() {
    let dirs = Dirs::new();
    dirs.load_and_render("redis");
    dirs.load_and_render("probe");
    for entry in entries(&dirs.v1()) {
        let mut bytes = fs::read(&entry).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&entry, bytes).unwrap();
    }
    let runtime = dirs.runtime();
    for guest in ["redis", "probe", "redis"] {
        let loaded = runtime.load(guest, test_components::wasm(guest)).unwrap();
        assert_renders_as(&runtime, &loaded, guest);
    }
    let warnings = runtime.cache_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("its MAC does not match"),
        "{warnings:?}"
    );
}

/// Runs `wasmchart render CHART` with `envs`; returns stdout and stderr.
/// Every component is loaded (`--no-render-cache`): these tests are about
/// the compile cache, which a render whose output is remembered never reads.
fn render_binary(chart: &Path, envs: &[(&str, &Path)]) -> (String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    cmd.args(["render", "--no-render-cache"])
        .arg(chart)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    for (name, value) in envs {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// Through the real binary: a forged entry loaded three times in one render
/// gives one `warning:` line on stderr, exit status 0 and the same output
/// as the clean render.
#[test]
fn binary_warns_once_and_renders_the_real_component() {
    let dirs = Dirs::new();
    let chart = crate::support::redis_aliases_chart(&["a", "b", "c"]);
    let (cache, config) = (dirs.cache(), dirs.config());
    let envs = [
        ("WASMCHART_CACHE_DIR", cache.as_path()),
        ("WASMCHART_CONFIG_DIR", config.as_path()),
    ];
    let (clean, stderr) = render_binary(chart.path(), &envs);
    assert!(!stderr.contains("warning:"), "{stderr}");
    for alias in ["a", "b", "c"] {
        assert!(clean.contains(&format!("name: redis-{alias}")), "{clean}");
    }
    let entry = dirs.only_entry();
    let mut bytes = fs::read(&entry).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    fs::write(&entry, bytes).unwrap();

    let (output, stderr) = render_binary(chart.path(), &envs);
    assert_eq!(output, clean);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        lines,
        [format!(
            "warning: compile cache entry '{}' refused: its MAC does not match: it was forged or corrupted; compiling the component again",
            entry.display()
        )]
    );
    let (_, stderr) = render_binary(chart.path(), &envs);
    assert!(!stderr.contains("warning:"), "{stderr}");
}

/// No config directory at all (no HOME, XDG_CONFIG_HOME or
/// WASMCHART_CONFIG_DIR): no key, so nothing is cached or trusted; the
/// render still works and says why once.
#[test]
fn binary_without_a_config_directory_compiles_in_memory() {
    let dirs = Dirs::new();
    let chart = crate::support::redis_aliases_chart(&["a", "b", "c"]);
    let cache = dirs.cache();
    let (output, stderr) = render_binary(chart.path(), &[("WASMCHART_CACHE_DIR", &cache)]);
    assert!(output.contains("name: redis-c"), "{output}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .collect();
    assert_eq!(
        lines,
        [
            "warning: compile cache off: no config directory for the compile cache key: set \
          WASMCHART_CONFIG_DIR, XDG_CONFIG_HOME or HOME; compiling components in memory"
        ]
    );
    assert!(!cache.join("v1").exists());
}
