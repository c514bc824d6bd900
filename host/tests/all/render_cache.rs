//! The render cache: a component whose inputs did not change is not run
//! again, its output is recalled, byte for byte; any change to the
//! component, its values, the release, the cluster or its limits runs it;
//! a forged, moved or foreign entry is refused and the component runs; an
//! entry is sealed, so a copy of the cache does not show its output.

use crate::support::{expect_failure, expect_success, redis_aliases_chart, run_bounded};
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use wasmchart::sandbox::{ComponentSource, Limits, Origin, RenderRequest, Runtime, RuntimeOptions};

const BOUND: Duration = Duration::from_secs(120);

/// A chart of three redis aliases, and a cache and config directory.
struct Setup {
    chart: tempfile::TempDir,
    dirs: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup::with(&["a", "b", "c"])
    }

    fn with(aliases: &[&str]) -> Setup {
        Setup {
            chart: redis_aliases_chart(aliases),
            dirs: tempfile::tempdir().unwrap(),
        }
    }

    fn cache(&self) -> PathBuf {
        self.dirs.path().join("cache")
    }

    fn renders(&self) -> PathBuf {
        self.cache().join("v1").join("renders")
    }

    fn entries(&self) -> Vec<PathBuf> {
        let mut entries: Vec<PathBuf> = fs::read_dir(self.renders())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        entries
    }

    fn command(&self, config: &str, args: &[&str]) -> Command {
        self.command_of(Path::new(env!("CARGO_BIN_EXE_wasmchart")), config, args)
    }

    fn command_of(&self, exe: &Path, config: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(exe);
        cmd.args(["render", "-v"])
            .arg(self.chart.path())
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("WASMCHART_CACHE_DIR", self.cache())
            .env("WASMCHART_CONFIG_DIR", self.dirs.path().join(config));
        cmd
    }

    /// Renders with `args`; returns stdout, the components whose output
    /// was reused, and the `warning:` lines.
    fn render(&self, args: &[&str]) -> (String, Vec<String>, Vec<String>) {
        self.render_with_key("config", args)
    }

    fn render_with_key(&self, config: &str, args: &[&str]) -> (String, Vec<String>, Vec<String>) {
        self.run(self.command(config, args))
    }

    fn run(&self, cmd: Command) -> (String, Vec<String>, Vec<String>) {
        let (out, _) = run_bounded(cmd, BOUND);
        let stdout = expect_success(&out);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (stdout, reused(&stderr), warnings(&stderr))
    }
}

/// The names on the `render cache:` line of `-v`.
fn reused(stderr: &str) -> Vec<String> {
    let Some(line) = stderr
        .lines()
        .find_map(|l| l.strip_prefix("render cache: output reused, inputs unchanged: "))
    else {
        return Vec::new();
    };
    let names = line
        .strip_suffix(" (--no-render-cache runs them)")
        .unwrap_or_else(|| panic!("{line}"));
    names.split(", ").map(String::from).collect()
}

fn warnings(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .map(String::from)
        .collect()
}

#[test]
fn unchanged_inputs_reuse_every_output_byte_for_byte() {
    let setup = Setup::new();
    let (first, reused, warnings) = setup.render(&[]);
    assert_eq!(
        (reused.len(), warnings.len()),
        (0, 0),
        "{reused:?} {warnings:?}"
    );
    assert!(first.contains("name: redis-a"), "{first}");
    let (again, reused, warnings) = setup.render(&[]);
    assert_eq!(again, first);
    assert_eq!(reused, ["a", "b", "c"]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let (fresh, reused, _) = setup.render(&["--no-render-cache"]);
    assert_eq!(fresh, first);
    assert!(reused.is_empty(), "{reused:?}");
    for json in [false, true] {
        let args: &[&str] = if json { &["-o", "json"] } else { &[] };
        let (recalled, _, _) = setup.render(args);
        let (ran, _, _) = setup.render(&[args, &["--no-render-cache"]].concat());
        assert_eq!(recalled, ran);
    }
}

#[test]
fn every_changed_input_runs_its_component_again() {
    let setup = Setup::new();
    setup.render(&[]);
    let (out, reused, _) = setup.render(&["--set", "a.fullnameOverride=renamed"]);
    assert_eq!(reused, ["b", "c"], "only a's values changed");
    assert!(out.contains("name: renamed"), "{out}");
    for args in [
        &["--memory-limit", "64Mi"][..],
        &["--timeout", "4s"],
        &["--output-limit", "8Mi"],
        &["-n", "elsewhere"],
        &["--release", "other"],
        &["--is-upgrade"],
        &["--kube-version", "1.30"],
        &["-a", "example.com/v1"],
    ] {
        let (_, reused, _) = setup.render(args);
        assert!(reused.is_empty(), "{args:?} reused {reused:?}");
    }
}

#[test]
fn another_component_under_the_same_name_and_values_runs() {
    let setup = Setup::with(&["a"]);
    let (_, reused, _) = setup.render(&[]);
    assert!(reused.is_empty(), "{reused:?}");
    let (_, reused, _) = setup.render(&[]);
    assert_eq!(reused, ["a"]);
    let wasm = setup.chart.path().join("charts/redis/redis.wasm");
    fs::copy(test_components::wasm("probe"), &wasm).unwrap();
    let (out, reused, _) = setup.render(&[]);
    assert!(reused.is_empty(), "{reused:?}");
    assert!(
        out.contains("kind: ConfigMap") && !out.contains("kind: Deployment"),
        "{out}"
    );
}

/// A rebuilt wasmchart may lower requests or serve WASI differently: it
/// never recalls what another build rendered. Here "another build" is the
/// same binary with another GNU build ID (the linker's hash of its output,
/// which the render cache keys on), or, for a binary without one, with a
/// byte appended (its SHA-256 is keyed on instead).
#[test]
fn another_build_of_wasmchart_never_recalls_this_ones_outputs() {
    let setup = Setup::new();
    let (clean, _, _) = setup.render(&[]);
    let other = setup.dirs.path().join("wasmchart-rebuilt");
    let mut bytes = fs::read(env!("CARGO_BIN_EXE_wasmchart")).unwrap();
    // namesz 4, descsz 20, type NT_GNU_BUILD_ID, "GNU\0", then the ID.
    let note = b"\x04\0\0\0\x14\0\0\0\x03\0\0\0GNU\0";
    match bytes.windows(note.len()).position(|w| w == note) {
        Some(at) => bytes[at + note.len()] ^= 1,
        None => bytes.push(0),
    }
    fs::write(&other, bytes).unwrap();
    fs::set_permissions(&other, fs::Permissions::from_mode(0o755)).unwrap();
    let (out, reused, _) = setup.run(setup.command_of(&other, "config", &[]));
    assert_eq!(out, clean);
    assert!(reused.is_empty(), "{reused:?}");
    let (_, reused, _) = setup.run(setup.command_of(&other, "config", &[]));
    assert_eq!(reused, ["a", "b", "c"], "its own outputs");
}

#[test]
fn a_forged_moved_or_foreign_entry_is_refused_and_the_component_runs() {
    let setup = Setup::new();
    let (clean, _, _) = setup.render(&[]);
    let entries = setup.entries();
    assert_eq!(entries.len(), 3, "{entries:?}");
    let refused = |path: &Path| {
        format!(
            "warning: render cache entry '{}' refused: it fails authentication (altered, \
             truncated, moved or made with another key); running the component again",
            path.display()
        )
    };

    let mut bytes = fs::read(&entries[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&entries[0], bytes).unwrap();
    let (out, reused, warnings) = setup.render(&[]);
    assert_eq!(out, clean);
    assert_eq!(reused.len(), 2, "{reused:?}");
    assert_eq!(warnings, [refused(&entries[0])]);

    // Every entry is valid again; one moved over another's name.
    assert_eq!(setup.entries(), entries);
    fs::rename(&entries[1], &entries[2]).unwrap();
    let (out, reused, warnings) = setup.render(&[]);
    assert_eq!(out, clean);
    assert_eq!(reused.len(), 1, "{reused:?}");
    assert_eq!(warnings, [refused(&entries[2])]);
    assert_eq!(
        setup.entries(),
        entries,
        "both rendered and remembered again"
    );

    // Another key names its entries differently: nothing found, nothing
    // refused (its compile cache refuses the compiled entry, as it should).
    let (out, reused, warnings) = setup.render_with_key("other-config", &[]);
    assert_eq!(out, clean);
    assert!(reused.is_empty(), "{reused:?}");
    assert!(
        !warnings.iter().any(|w| w.contains("render cache")),
        "{warnings:?}"
    );
    assert_eq!(setup.entries().len(), 6, "three entries per key");
}

#[test]
fn entries_are_sealed_and_private() {
    let setup = Setup::new();
    let (out, _, _) = setup.render(&[]);
    assert!(out.contains("redis-a"), "{out}");
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&setup.renders()), 0o700);
    for entry in setup.entries() {
        assert_eq!(mode(&entry), 0o600, "{}", entry.display());
        let bytes = fs::read(&entry).unwrap();
        for needle in [&b"redis-a"[..], b"redis-b", b"Deployment", b"templates/"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} shows {}",
                entry.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
}

/// A restored cache may hold `renders` as a link to any directory this
/// user can write: nothing is written or deleted there, nothing recalled.
#[test]
fn a_renders_link_is_never_followed() {
    let setup = Setup::new();
    let (clean, _, _) = setup.render(&[]);
    let elsewhere = setup.dirs.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::write(elsewhere.join("keep.render"), "not ours").unwrap();
    fs::remove_dir_all(setup.renders()).unwrap();
    std::os::unix::fs::symlink(&elsewhere, setup.renders()).unwrap();
    for _ in 0..2 {
        let (out, reused, _) = setup.render(&[]);
        assert_eq!(out, clean);
        assert!(reused.is_empty(), "{reused:?}");
    }
    let names: Vec<_> = fs::read_dir(&elsewhere)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["keep.render"]);
}

#[test]
fn a_failed_render_is_never_remembered() {
    let setup = Setup::new();
    for _ in 0..2 {
        let (out, _) = run_bounded(setup.command("config", &["--output-limit", "100"]), BOUND);
        let err = expect_failure(&out);
        assert!(err.contains("output"), "{err}");
    }
    let remembered = fs::read_dir(setup.renders()).map_or(0, Iterator::count);
    assert_eq!(remembered, 0);
}

/// Through the library: the second runtime recalls what the first ran,
/// unless the component is given a `files/` folder, which it could read.
#[test]
fn a_component_given_files_always_runs() {
    let dirs = tempfile::tempdir().unwrap();
    let runtime = || {
        Runtime::new(RuntimeOptions {
            cache_dir: Some(dirs.path().join("cache")),
            config_dir: Some(dirs.path().join("config")),
            progress: false,
        })
        .unwrap()
    };
    let path = test_components::wasm("redis");
    let source = ComponentSource::File(std::sync::Arc::new(fs::File::open(path).unwrap()));
    let files = tempfile::tempdir().unwrap();
    let mut request = crate::support::demo_request();
    let origins = |request: &RenderRequest| -> Vec<Origin> {
        (0..2)
            .map(|_| {
                runtime()
                    .render_remembered("redis", path, &source, request, &Limits::default())
                    .unwrap()
                    .1
            })
            .collect()
    };
    assert_eq!(origins(&request), [Origin::Ran, Origin::Recalled]);
    request.files_dir = Some(files.path().to_path_buf());
    assert_eq!(origins(&request), [Origin::Ran, Origin::Ran]);
}
