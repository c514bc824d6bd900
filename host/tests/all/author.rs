//! The author's loop through the real binary: `wasmchart new` in Rust,
//! JavaScript and Python into an empty umbrella, `wasmchart build .`,
//! `wasmchart render .` giving the three components' objects, each scaffold's
//! own unit tests, and `wasmchart package` leaving the component project out
//! (the scaffold's .helmignore); `new` refusing a non-empty directory, a bad name
//! and an unknown language without writing anything; `build` failing without
//! touching the installed component, refusing a core module and a workdir
//! outside the chart, skipping packaged and build-less subcharts, building
//! deepest first; the SDK's copy of the WIT identical to the host's.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use super::support::{expect_error, expect_success, repo_root, run_bounded, shared_dir};

/// Scaffold commands and hand-made builds finish at once.
const FAST: Duration = Duration::from_secs(30);
/// A cold build of all three components (cargo, componentize-js, componentize-py) and
/// their compiles on two cores; warm runs take well under a minute.
const SLOW: Duration = Duration::from_secs(1500);
/// A minimal component header: the wasm magic and the component layer.
const COMPONENT_HEADER: &str = r"printf '\000asm\015\000\001\000'";
/// A core module's header.
const MODULE_HEADER: &str = r"printf '\000asm\001\000\000\000'";

/// The repository's .venv/bin (componentize-py) first, then the inherited PATH.
fn path_env() -> OsString {
    let mut dirs = vec![repo_root().join(".venv/bin")];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).expect("PATH")
}

/// The binary run in `cwd` with `args`, under `bound`.
fn wasmchart(cwd: &Path, args: &[&str], bound: Duration) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    cmd.args(args)
        .current_dir(cwd)
        .env("PATH", path_env())
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .env("WASMCHART_CACHE_DIR", shared_dir("component-cache"))
        .env("WASMCHART_CONFIG_DIR", shared_dir("component-cache-config"));
    run_bounded(cmd, bound).0
}

/// A tool (`cargo test`, `node --test`, ...) run in `cwd`; asserts it succeeds.
fn tool(cwd: &Path, program: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .env("PATH", path_env())
        .env_remove("CARGO_TARGET_DIR");
    let out = run_bounded(cmd, SLOW).0;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{program} {args:?} in {}:\n{text}",
        cwd.display()
    );
    text
}

/// Every file under `dir`, relative, sorted: to show that nothing was written.
fn tree(dir: &Path) -> Vec<PathBuf> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry"))
        {
            out.push(entry.path().strip_prefix(root).unwrap().to_path_buf());
            if entry.file_type().unwrap().is_dir() {
                walk(root, &entry.path(), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Keeps the Rust scaffold's cargo target directory between runs (moved in
/// before the build, out afterwards, at the same absolute path each run), so
/// repeated runs reuse its compiled dependencies.
struct KeptTarget {
    kept: PathBuf,
    live: PathBuf,
}

impl KeptTarget {
    fn restore(kept: PathBuf, live: PathBuf) -> KeptTarget {
        if kept.is_dir() {
            fs::rename(&kept, &live).expect("restore the kept target dir");
        }
        KeptTarget { kept, live }
    }
}

impl Drop for KeptTarget {
    fn drop(&mut self) {
        if self.live.is_dir() {
            let _ = fs::remove_dir_all(&self.kept);
            let _ = fs::rename(&self.live, &self.kept);
        }
    }
}

/// Named so that the release name (the chart's) contains none of the
/// subcharts' names: Helm's `fullname` would then be the release name alone,
/// and the three ConfigMaps would collide.
const UMBRELLA: &str = "apiVersion: v2
name: shop
version: 0.1.0
dependencies:
  - name: a
    version: 0.1.0
    repository: file://./charts/a
  - name: b
    version: 0.1.0
    repository: file://./charts/b
  - name: c
    version: 0.1.0
    repository: file://./charts/c
";

/// The issue's first "done when": an empty umbrella, `new` in each language,
/// `build .`, `render .` shows each component's ConfigMap; the scaffolds'
/// unit tests pass where they were generated.
#[test]
fn new_build_render_in_three_languages_from_an_empty_directory() {
    let base = shared_dir("author-e2e");
    let umbrella = base.join("umbrella");
    let _ = fs::remove_dir_all(&umbrella);
    fs::create_dir_all(&umbrella).unwrap();
    assert!(tree(&umbrella).is_empty());
    fs::write(umbrella.join("Chart.yaml"), UMBRELLA).unwrap();
    for (name, lang) in [("a", "rust"), ("b", "js"), ("c", "python")] {
        let dir = format!("charts/{name}");
        let out = wasmchart(
            &umbrella,
            &["new", name, "--lang", lang, "--dir", &dir],
            FAST,
        );
        let stdout = expect_success(&out);
        assert!(
            stdout.contains(&format!("wasmchart build {dir}")),
            "{stdout}"
        );
    }
    let _kept = KeptTarget::restore(
        base.join("a-target"),
        umbrella.join("charts/a/component/target"),
    );
    tool(
        &umbrella.join("charts/b/component"),
        "npm",
        &["install", "--prefer-offline", "--no-audit", "--no-fund"],
    );

    let out = wasmchart(&umbrella, &["build", "."], SLOW);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "build failed:\n{err}");
    assert!(
        err.contains("building a: cargo build --release --target wasm32-wasip2\n"),
        "{err}"
    );
    for name in ["a", "b", "c"] {
        assert!(err.contains(&format!("building {name}: ")), "{err}");
        assert!(
            err.contains(&format!("built {name}: ./charts/{name}/{name}.wasm (")),
            "{err}"
        );
        let wasm = fs::read(umbrella.join(format!("charts/{name}/{name}.wasm"))).unwrap();
        assert_eq!(
            &wasm[..8],
            b"\0asm\x0d\0\x01\0",
            "{name}.wasm is a component"
        );
    }

    // The scaffold's .helmignore keeps the component project out of a packaged chart.
    let packages = tempfile::tempdir().unwrap();
    let out_dir = packages.path().to_str().unwrap();
    for name in ["a", "b", "c"] {
        let dir = format!("charts/{name}");
        expect_success(&wasmchart(
            &umbrella,
            &["package", &dir, "-d", out_dir],
            SLOW,
        ));
        let archive = packages.path().join(format!("{name}-0.1.0.tgz"));
        let listing = tool(packages.path(), "tar", &["tzf", archive.to_str().unwrap()]);
        let mut entries: Vec<&str> = listing.lines().collect();
        entries.sort_unstable();
        let want: Vec<String> = [
            ".helmignore",
            "Chart.yaml",
            "values.schema.json",
            "values.yaml",
        ]
        .iter()
        .map(|f| format!("{name}/{f}"))
        .chain([format!("{name}/{name}.wasm")])
        .collect();
        let mut want: Vec<&str> = want.iter().map(String::as_str).collect();
        want.sort_unstable();
        assert_eq!(entries, want, "the packaged {name}");
    }

    let rendered = expect_success(&wasmchart(&umbrella, &["render", "."], SLOW));
    for name in ["a", "b", "c"] {
        let source = format!("# Source: shop/charts/{name}/templates/configmap.yaml\n");
        let doc = rendered
            .split("---\n")
            .find(|d| d.starts_with(&source))
            .unwrap_or_else(|| panic!("no {source} in\n{rendered}"));
        for line in [
            "kind: ConfigMap\n".to_string(),
            format!("\n  name: shop-{name}\n"),
            format!("\n  message: Hello from {name}\n"),
        ] {
            assert!(doc.contains(&line), "{line:?} in\n{doc}");
        }
    }

    let rust = tool(&umbrella.join("charts/a/component"), "cargo", &["test"]);
    assert!(rust.contains("test result: ok. 2 passed"), "{rust}");
    tool(&umbrella.join("charts/b/component"), "node", &["--test"]);
    tool(
        &umbrella.join("charts/c/component"),
        "python",
        &["-m", "unittest"],
    );
}

/// `new` writes the chart files with the documented keys, into an empty
/// directory too, and prints the next commands.
#[test]
fn new_writes_the_chart_and_its_build_section() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("empty")).unwrap();
    let out = wasmchart(
        tmp.path(),
        &["new", "web-2", "--lang", "rust", "--dir", "empty"],
        FAST,
    );
    let stdout = expect_success(&out);
    assert!(
        stdout.starts_with("created empty: the web-2 subchart, a Rust component\n"),
        "{stdout}"
    );
    assert!(stdout.contains("wasmchart render empty"), "{stdout}");
    let chart = fs::read_to_string(tmp.path().join("empty/Chart.yaml")).unwrap();
    for line in [
        "apiVersion: v2",
        "name: web-2",
        "version: 0.1.0",
        "component: web-2.wasm",
        "build:\n  workdir: component\n  command: cargo build --release --target wasm32-wasip2\n  \
         output: component/target/wasm32-wasip2/release/web_2.wasm\n",
    ] {
        assert!(chart.contains(line), "{line:?} in\n{chart}");
    }
    for file in [
        "values.yaml",
        "values.schema.json",
        ".helmignore",
        "component/Cargo.toml",
        "component/src/lib.rs",
        "component/wasmchart-sdk/wit/chart.wit",
    ] {
        assert!(tmp.path().join("empty").join(file).is_file(), "{file}");
    }
    let ignore = fs::read_to_string(tmp.path().join("empty/.helmignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "component/"), "{ignore}");
    let cargo = fs::read_to_string(tmp.path().join("empty/component/Cargo.toml")).unwrap();
    assert!(cargo.contains("\n[workspace]\n") && cargo.contains("crate-type = [\"cdylib\"]"));
    assert_eq!(
        tree(tmp.path())
            .iter()
            .filter(|p| p.components().count() == 1)
            .count(),
        1,
        "no staging directory left beside it: {:?}",
        tree(tmp.path())
    );
    // Default DIR: ./NAME.
    expect_success(&wasmchart(
        tmp.path(),
        &["new", "api", "--lang", "rust"],
        FAST,
    ));
    assert!(tmp.path().join("api/Chart.yaml").is_file());
}

/// A non-empty DIR, a name against Helm's rule and an unknown language are
/// refused in one paragraph, and nothing is written.
#[test]
fn new_refuses_a_non_empty_dir_a_bad_name_and_an_unknown_language() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("taken")).unwrap();
    fs::write(tmp.path().join("taken/notes.txt"), "mine").unwrap();
    let before = tree(tmp.path());

    let err = expect_error(&wasmchart(
        tmp.path(),
        &["new", "x", "--lang", "rust", "--dir", "taken"],
        FAST,
    ));
    assert!(err.contains("taken exists and is not empty"), "{err}");
    let err = expect_error(&wasmchart(
        tmp.path(),
        &["new", "x", "--lang", "rust", "--dir", "taken/notes.txt"],
        FAST,
    ));
    assert!(
        err.contains("taken/notes.txt exists and is not a directory"),
        "{err}"
    );
    let err = expect_error(&wasmchart(
        tmp.path(),
        &["new", "x", "--lang", "rust", "--dir", "taken/notes.txt/x"],
        FAST,
    ));
    assert_eq!(
        err,
        "error: cannot inspect taken/notes.txt/x: Not a directory (os error 20)\n"
    );
    for bad in ["My_Chart", "1st", "a-", "a.b"] {
        let err = expect_error(&wasmchart(
            tmp.path(),
            &["new", bad, "--lang", "rust"],
            FAST,
        ));
        assert!(
            err.starts_with(&format!("error: invalid chart name {bad:?}: use lowercase")),
            "{err}"
        );
    }
    let out = wasmchart(tmp.path(), &["new", "x", "--lang", "go"], FAST);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("invalid value 'go' for '--lang <LANG>'"),
        "{err}"
    );
    assert!(err.contains("[possible values: rust, js, python]"), "{err}");

    assert_eq!(tree(tmp.path()), before, "nothing written");
    assert_eq!(
        fs::read_to_string(tmp.path().join("taken/notes.txt")).unwrap(),
        "mine"
    );
}

/// A hand-made subchart whose `build:` is `build_yaml` (indented under `build:`).
fn chart_with_build(root: &Path, name: &str, build_yaml: &str) -> PathBuf {
    let dir = root.join(name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\ncomponent: {name}.wasm\nbuild:\n{build_yaml}"),
    )
    .unwrap();
    dir
}

/// The shape of a failed build: exit 1, nothing on stdout, the last line the
/// error naming the subchart and the cause.
fn build_error(out: &Output) -> String {
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!err.contains("panicked"), "{err}");
    err.lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {err}"))
        .to_string()
}

/// A failing command: exit 1, the subchart, command and status named, the
/// command's own stderr passed through, the installed component untouched;
/// without `output`, a component the failing command overwrote is put back.
#[test]
fn a_failing_build_names_the_subchart_and_keeps_the_old_component() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = chart_with_build(
        tmp.path(),
        "x",
        "  command: echo boom >&2; exit 3\n  output: out.wasm\n",
    );
    fs::write(dir.join("x.wasm"), b"old component").unwrap();
    let out = wasmchart(&dir, &["build"], FAST);
    let line = build_error(&out);
    assert_eq!(
        line,
        "error: building subchart x (./Chart.yaml): `echo boom >&2; exit 3` exited with status 3; \
         ./x.wasm is unchanged"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("building x: echo boom >&2; exit 3\nboom\n"),
        "{err}"
    );
    assert_eq!(fs::read(dir.join("x.wasm")).unwrap(), b"old component");

    let own = chart_with_build(
        tmp.path(),
        "own",
        "  command: [sh, -c, 'echo junk > own.wasm; exit 4']\n",
    );
    fs::write(own.join("own.wasm"), b"old own").unwrap();
    let line = build_error(&wasmchart(tmp.path(), &["build", "own"], FAST));
    assert!(line.contains("building subchart own (own/Chart.yaml): `sh -c 'echo junk > own.wasm; exit 4'` exited with status 4; the previous own/own.wasm was put back"), "{line}");
    assert_eq!(fs::read(own.join("own.wasm")).unwrap(), b"old own");

    let line = build_error(&wasmchart(
        tmp.path(),
        &["build", "x", "--only", "nope"],
        FAST,
    ));
    assert_eq!(
        line,
        "error: --only nope: no subchart with a `build:` section has that name (there are: x)"
    );
}

/// `output` must be a component: a core module or anything else is refused
/// and nothing is installed; a component is installed atomically.
#[test]
fn build_checks_the_output_is_a_component() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = chart_with_build(
        tmp.path(),
        "x",
        &format!("  command: {MODULE_HEADER} > out.wasm\n  output: out.wasm\n"),
    );
    let line = build_error(&wasmchart(&dir, &["build", "."], FAST));
    assert!(
        line.starts_with("error: building subchart x (./Chart.yaml): `"),
        "{line}"
    );
    assert!(line.contains("` succeeded, but build.output ./out.wasm is a core WebAssembly module, not a component: build for wasm32-wasip2"), "{line}");
    assert!(line.ends_with("; ./x.wasm is unchanged"), "{line}");
    assert!(!dir.join("x.wasm").exists());

    let dir = chart_with_build(
        tmp.path(),
        "t",
        "  command: echo text > out.wasm\n  output: out.wasm\n",
    );
    let line = build_error(&wasmchart(&dir, &["build"], FAST));
    assert!(
        line.contains("build.output ./out.wasm is not WebAssembly"),
        "{line}"
    );

    let dir = chart_with_build(
        tmp.path(),
        "m",
        "  command: \"true\"\n  output: missing.wasm\n",
    );
    let line = build_error(&wasmchart(&dir, &["build"], FAST));
    assert!(
        line.contains("build.output ./missing.wasm does not exist (did the command write it?)"),
        "{line}"
    );

    let dir = chart_with_build(
        tmp.path(),
        "ok",
        &format!(
            "  command: mkdir -p out && {COMPONENT_HEADER} > out/c.wasm\n  output: out/c.wasm\n"
        ),
    );
    let out = wasmchart(&dir, &["build"], FAST);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("built ok: ./ok.wasm (8 bytes) in "), "{err}");
    assert_eq!(fs::read(dir.join("ok.wasm")).unwrap(), b"\0asm\x0d\0\x01\0");
}

/// `workdir` must stay inside the chart: `..`, an absolute path and a
/// symlink out are refused before anything runs.
#[test]
fn build_refuses_a_workdir_outside_the_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let dir = chart_with_build(
        tmp.path(),
        "x",
        "  command: touch ran\n  workdir: ../outside\n",
    );
    let line = build_error(&wasmchart(&dir, &["build"], FAST));
    assert_eq!(
        line,
        "error: ./Chart.yaml: key \"build.workdir\": \"../outside\" climbs out with `..`; it must \
         be a path inside the chart directory"
    );
    let dir = chart_with_build(
        tmp.path(),
        "abs",
        &format!("  command: touch ran\n  workdir: {}\n", outside.display()),
    );
    let line = build_error(&wasmchart(&dir, &["build"], FAST));
    assert!(
        line.contains("key \"build.workdir\"") && line.contains("is an absolute path"),
        "{line}"
    );
    // A symlink out, in one subchart of an umbrella: refused before any build runs.
    let umbrella = tmp.path().join("umbrella");
    fs::create_dir(&umbrella).unwrap();
    fs::write(
        umbrella.join("Chart.yaml"),
        "apiVersion: v2\nname: top\nversion: 0.1.0\n",
    )
    .unwrap();
    let first = chart_with_build(&umbrella.join("charts"), "first", "  command: touch ran\n");
    let dir = chart_with_build(
        &umbrella.join("charts"),
        "z",
        "  command: touch ran\n  workdir: link\n",
    );
    std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();
    let line = build_error(&wasmchart(&umbrella, &["build"], FAST));
    assert_eq!(
        line,
        "error: ./charts/z/Chart.yaml: key \"build.workdir\": cannot open ./charts/z/link: it leads \
         outside the chart directory ./charts/z (through `..`, an absolute path or a symlink); only \
         files inside the chart are read"
    );
    assert!(!first.join("ran").exists(), "nothing was built");
    assert!(tree(&outside).is_empty(), "the command never ran outside");
}

/// An umbrella: subcharts deepest first, packaged and build-less ones skipped with a note.
#[test]
fn build_walks_the_umbrella_deepest_first() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: top\nversion: 0.1.0\n",
    )
    .unwrap();
    let write = |name: &str| format!("  command: {COMPONENT_HEADER} > {name}.wasm\n");
    chart_with_build(&root.join("charts"), "outer", &write("outer"));
    chart_with_build(&root.join("charts/outer/charts"), "inner", &write("inner"));
    chart_with_build(&root.join("charts"), "zed", &write("zed"));
    fs::create_dir_all(root.join("charts/plain")).unwrap();
    fs::write(
        root.join("charts/plain/Chart.yaml"),
        "apiVersion: v2\nname: plain\nversion: 1.0.0\ncomponent: p.wasm\n",
    )
    .unwrap();
    fs::write(root.join("charts/packed-1.0.0.tgz"), b"not opened").unwrap();
    let out = wasmchart(root, &["build"], FAST);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let order: Vec<&str> = err.lines().filter(|l| l.starts_with("building ")).collect();
    assert_eq!(order.len(), 3, "{err}");
    assert!(
        order[0].starts_with("building inner: ")
            && order[1].starts_with("building outer: ")
            && order[2].starts_with("building zed: "),
        "{err}"
    );
    assert!(
        err.contains(
            "note: skipping ./charts/packed-1.0.0.tgz: a packaged subchart is never built"
        ),
        "{err}"
    );
    assert!(err.contains("note: skipping plain: ./charts/plain/Chart.yaml names a component but has no `build:` section"), "{err}");
    assert!(root.join("charts/outer/charts/inner/inner.wasm").is_file());

    let out = wasmchart(root, &["build", "--only", "zed"], FAST);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.contains("building zed") && !err.contains("building inner"),
        "{err}"
    );

    let line = build_error(&wasmchart(&root.join("charts/plain"), &["build"], FAST));
    assert!(line.starts_with("error: nothing to build in ."), "{line}");
    let line = build_error(&wasmchart(root, &["build", "charts"], FAST));
    assert_eq!(
        line,
        "error: charts is not a chart: Chart.yaml is missing (give the umbrella's or a \
         subchart's directory)"
    );
}

/// The SDK carries its own copy of the contract, so it builds outside this
/// repository; the copy must never drift from the host's.
#[test]
fn the_sdk_wit_is_the_hosts() {
    let root = repo_root();
    assert_eq!(
        fs::read(root.join("plugins/sdk/wit/chart.wit")).unwrap(),
        fs::read(root.join("wit/chart.wit")).unwrap(),
        "plugins/sdk/wit/chart.wit differs from wit/chart.wit: copy it over"
    );
}
