//! `package`, `dependency update|build` and Chart.lock verification through the real binary:
//! deterministic archives Helm loads and that render byte-identically to the directory;
//! file:// and oci:// dependencies resolved into charts/ with a Chart.lock Helm accepts; a
//! build that reproduces the lock's bytes and refuses changed sources; render refusing a
//! tampered archive or component, a missing or stale lock under --verify-lock or the policy's
//! requireLock; the registry round trip (package, push, dependency update in a fresh
//! umbrella, render identical to the unpacked original, `^0.1` taking the newest 0.1.x, a
//! tampered blob refused).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::registry::Registry;
use super::support::{copy_tree, expect_error, expect_success, repo_root, run_bounded, shared_dir};

/// Commands here compile at most the small redis component (shared cache), or the example's
/// five on a cold cache.
const BOUND: Duration = Duration::from_secs(600);
const SECRET_KEY: &str = "6465702d746573742d6b65792d6e6f742d612d7265616c2d6b65792d21212121";

/// `wasmchart ARGS` in `dir`, with a clean environment and the shared compile cache
/// (also used by `newcomer`).
pub(super) fn wasmchart(dir: &Path, args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("TMPDIR", home.path())
        .env("DOCKER_CONFIG", home.path().join("docker"))
        .env("HELM_REGISTRY_CONFIG", home.path().join("helm.json"))
        .env("WASMCHART_CACHE_DIR", shared_dir("component-cache"))
        .env("WASMCHART_CONFIG_DIR", shared_dir("component-cache-config"))
        .env("WASMCHART_SECRET_KEY", SECRET_KEY)
        .envs([
            ("GITHUB_CLIENT_ID", "id"),
            ("GITHUB_CLIENT_SECRET", "secret"),
            ("GOOGLE_CLIENT_ID", "id"),
            ("GOOGLE_CLIENT_SECRET", "secret"),
        ]);
    run_bounded(cmd, BOUND).0
}

fn sha256(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    format!(
        "sha256:{}",
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Every file under `dir` with its bytes, sorted: what "nothing was written" compares.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            if e.file_type().expect("type").is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), fs::read(e.path()).expect("read")));
            }
        }
    }
    out.sort();
    out
}

/// The example's redis subchart (a small component) copied to `to`.
fn redis_source(to: &Path) -> PathBuf {
    let src = repo_root().join("examples/imprun/charts/redis");
    copy_tree(&src, to);
    to.to_path_buf()
}

/// An umbrella `u` with one redis dependency from `repository` (constraint `version`), and
/// the secret redis needs.
fn umbrella(dir: &Path, version: &str, repository: &str) -> PathBuf {
    fs::create_dir_all(dir).expect("mkdir");
    fs::write(
        dir.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: u\nversion: 1.0.0\ndependencies:\n  - name: redis\n    \
             version: \"{version}\"\n    repository: \"{repository}\"\n"
        ),
    )
    .expect("Chart.yaml");
    fs::write(
        dir.join("values.yaml"),
        "secrets:\n  items:\n    redis:\n      name: u-redis-secret\n      keys:\n        \
         REDIS_PASSWORD: {generate: {length: 24, encoding: alphanumeric}}\n",
    )
    .expect("values.yaml");
    dir.to_path_buf()
}

/// Runs Python with helm-python-sdk (Helm v4's engine) from the repository's .venv.
fn helm_python(script: &str, args: &[&Path]) -> Output {
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh",
        python.display()
    );
    let mut cmd = Command::new(python);
    cmd.arg("-c").arg(script).args(args);
    run_bounded(cmd, Duration::from_secs(120)).0
}

fn tar_list(archive: &Path) -> Vec<String> {
    let out = Command::new("tar")
        .arg("-tzf")
        .arg(archive)
        .output()
        .expect("run tar");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .expect("utf8")
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn package_is_deterministic_applies_helmignore_and_helm_loads_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = redis_source(&tmp.path().join("redis"));
    fs::create_dir_all(src.join("files/notes")).expect("mkdir");
    fs::write(src.join("files/notes/keep.txt"), "kept\n").expect("write");
    fs::write(src.join("files/notes/drop.bak"), "dropped\n").expect("write");
    fs::create_dir_all(src.join("templates")).expect("mkdir");
    fs::write(src.join("templates/.hidden"), "x").expect("write");
    fs::write(src.join(".helmignore"), "# backups\n*.bak\n").expect("write");
    let (d1, d2) = (tmp.path().join("one"), tmp.path().join("two"));
    for d in [&d1, &d2] {
        let out = wasmchart(tmp.path(), &["package", "redis", "-d", d.to_str().unwrap()]);
        let stdout = expect_success(&out);
        assert!(
            stdout.starts_with("Successfully packaged chart and saved it to: ")
                && stdout.trim_end().ends_with("redis-0.1.0.tgz"),
            "{stdout}"
        );
    }
    let (a, b) = (d1.join("redis-0.1.0.tgz"), d2.join("redis-0.1.0.tgz"));
    assert_eq!(
        fs::read(&a).unwrap(),
        fs::read(&b).unwrap(),
        "same input, same bytes"
    );
    let names = tar_list(&a);
    assert_eq!(names[0], "redis/Chart.yaml", "Chart.yaml first: {names:?}");
    assert!(names.iter().all(|n| n.starts_with("redis/")), "{names:?}");
    assert!(names.contains(&"redis/redis.wasm".to_string()), "{names:?}");
    assert!(names.contains(&"redis/files/notes/keep.txt".to_string()));
    assert!(
        names.contains(&"redis/.helmignore".to_string()),
        "Helm packs it too"
    );
    assert!(!names.iter().any(|n| n.ends_with(".bak")), "{names:?}");
    assert!(
        !names.iter().any(|n| n.contains("templates/.hidden")),
        "Helm's default rule"
    );
    let out = helm_python(
        "import sys, helm_python as h\n\
         c = h.Chart.load_archive(open(sys.argv[1], 'rb').read())\n\
         m = c.metadata\n\
         print(m['name'], m['version'], sorted(f['name'] for f in c.files))\n",
        &[&a],
    );
    let stdout = expect_success(&out);
    assert!(stdout.starts_with("redis 0.1.0 "), "{stdout}");
    assert!(stdout.contains("'redis.wasm'") && stdout.contains("'files/notes/keep.txt'"));
    // --version/--app-version rewrite Chart.yaml and the archive name, keeping `component:`.
    let out = wasmchart(
        tmp.path(),
        &[
            "package",
            "redis",
            "-d",
            "three",
            "--version",
            "0.2.0",
            "--app-version",
            "9.9",
        ],
    );
    expect_success(&out);
    let out = helm_python(
        "import sys, helm_python as h\n\
         m = h.Chart.load_archive(open(sys.argv[1], 'rb').read()).metadata\n\
         print(m['version'], m['appVersion'])\n",
        &[&tmp.path().join("three/redis-0.2.0.tgz")],
    );
    assert_eq!(expect_success(&out).trim(), "0.2.0 9.9");
}

#[test]
fn package_refuses_a_missing_or_non_component_and_irregular_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let src = redis_source(&tmp.path().join("redis"));
    let wasm = fs::read(src.join("redis.wasm")).expect("component");
    fs::remove_file(src.join("redis.wasm")).expect("rm");
    let out = wasmchart(tmp.path(), &["package", "redis", "-d", "out"]);
    let err = expect_error(&out);
    assert!(
        err.contains("redis.wasm") && err.contains("missing"),
        "{err}"
    );
    assert!(!tmp.path().join("out").exists(), "nothing written");
    // A core module is not a component.
    fs::write(src.join("redis.wasm"), b"\0asm\x01\0\0\0").expect("write");
    let err = expect_error(&wasmchart(tmp.path(), &["package", "redis", "-d", "out"]));
    assert!(err.contains("core WebAssembly module"), "{err}");
    fs::write(src.join("redis.wasm"), b"text, not wasm").expect("write");
    let err = expect_error(&wasmchart(tmp.path(), &["package", "redis", "-d", "out"]));
    assert!(err.contains("not a WebAssembly component"), "{err}");
    // .helmignore leaving the component out is named as the cause.
    fs::write(src.join("redis.wasm"), &wasm).expect("write");
    fs::write(src.join(".helmignore"), "*.wasm\n").expect("write");
    let err = expect_error(&wasmchart(tmp.path(), &["package", "redis", "-d", "out"]));
    assert!(err.contains(".helmignore leaves it out"), "{err}");
    fs::remove_file(src.join(".helmignore")).expect("rm");
    // A symlink leading out of the chart is refused, not followed.
    std::os::unix::fs::symlink("/etc/hostname", src.join("escape")).expect("symlink");
    let err = expect_error(&wasmchart(tmp.path(), &["package", "redis", "-d", "out"]));
    assert!(
        err.contains("escape") && err.contains("outside the chart"),
        "{err}"
    );
    fs::remove_file(src.join("escape")).expect("rm");
    // A FIFO is refused quickly (never opened), naming it.
    let status = Command::new("mkfifo")
        .arg(src.join("pipe"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let home = tempfile::tempdir().expect("home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    cmd.args(["package", "redis", "-d", "out"])
        .current_dir(tmp.path())
        .env("HOME", home.path());
    let (out, took) = run_bounded(cmd, Duration::from_secs(20));
    let err = expect_error(&out);
    assert!(err.contains("pipe") && err.contains("FIFO"), "{err}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert!(!tmp.path().join("out").exists(), "nothing written");
}

#[test]
fn packaged_example_renders_byte_identically_to_the_directories() {
    let tmp = tempfile::tempdir().expect("tmp");
    let chart = tmp.path().join("imprun");
    copy_tree(&repo_root().join("examples/imprun"), &chart);
    let charts = chart.join("charts");
    let subs: Vec<String> = fs::read_dir(&charts)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(subs.len(), 5, "{subs:?}");
    let before = expect_success(&wasmchart(
        tmp.path(),
        &["render", "imprun", "--env", "local"],
    ));
    for sub in &subs {
        let dir = format!("imprun/charts/{sub}");
        expect_success(&wasmchart(
            tmp.path(),
            &["package", &dir, "-d", "imprun/charts"],
        ));
        fs::remove_dir_all(charts.join(sub)).expect("rm");
    }
    let after = expect_success(&wasmchart(
        tmp.path(),
        &["render", "imprun", "--env", "local"],
    ));
    assert!(before.contains("kind: Deployment"), "{before}");
    assert_eq!(before, after, "packaged and unpacked render the same bytes");
}

#[test]
fn dependency_update_packages_file_deps_writes_a_lock_helm_accepts_and_build_reproduces_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    redis_source(&tmp.path().join("src/redis"));
    let u = umbrella(&tmp.path().join("u"), "^0.1", "file://../src/redis");
    let out = expect_success(&wasmchart(&u, &["dependency", "update"]));
    assert!(out.contains("redis 0.1.0"), "{out}");
    let archive = u.join("charts/redis-0.1.0.tgz");
    let bytes = fs::read(&archive).expect("charts/redis-0.1.0.tgz");
    let lock_text = fs::read_to_string(u.join("Chart.lock")).expect("Chart.lock");
    let wasm = fs::read(tmp.path().join("src/redis/redis.wasm")).unwrap();
    assert!(
        lock_text.contains(&format!("  digest: {}\n", sha256(&bytes))),
        "{lock_text}"
    );
    assert!(
        lock_text.contains(&format!("    redis.wasm: {}\n", sha256(&wasm))),
        "{lock_text}"
    );
    assert!(lock_text.contains("  repository: file://../src/redis\n  version: 0.1.0\n"));
    assert!(lock_text.contains("\ngenerated: \"") && lock_text.contains("\ndigest: sha256:"));
    let listed = expect_success(&wasmchart(&u, &["dependency", "list"]));
    let row: Vec<&str> = listed
        .lines()
        .nth(1)
        .unwrap_or("")
        .split('\t')
        .map(str::trim)
        .collect();
    assert_eq!(
        row,
        ["redis", "^0.1", "file://../src/redis", "ok"],
        "{listed}"
    );
    // Updating again changes nothing, not even `generated`.
    expect_success(&wasmchart(&u, &["dependency", "update"]));
    assert_eq!(fs::read_to_string(u.join("Chart.lock")).unwrap(), lock_text);
    // Helm's own `dependency build` accepts the lock (its digest check passes)...
    let copy = tmp.path().join("helm-copy");
    copy_tree(&u, &copy);
    let script = "import sys, helm_python as h\n\
                  try:\n    h.dependency_build(sys.argv[1]); print('accepted')\n\
                  except Exception as e:\n    print('refused:', e)\n";
    let out = expect_success(&helm_python(script, &[&copy]));
    assert_eq!(out.trim(), "accepted", "{out}");
    // ...and refuses it, as we do, once Chart.yaml's dependencies change.
    let yaml = fs::read_to_string(u.join("Chart.yaml")).unwrap();
    fs::write(copy.join("Chart.yaml"), yaml.replace("^0.1", "~0.1")).unwrap();
    let out = expect_success(&helm_python(script, &[&copy]));
    assert!(out.contains("out of sync"), "{out}");
    let err = expect_error(&wasmchart(&copy, &["dependency", "build"]));
    assert!(
        err.contains("out of sync") && err.contains("Chart.lock"),
        "{err}"
    );
    // build reproduces the locked bytes exactly.
    fs::remove_file(&archive).unwrap();
    let out = expect_success(&wasmchart(&u, &["dependency", "build"]));
    assert!(out.contains("redis 0.1.0"), "{out}");
    assert_eq!(fs::read(&archive).unwrap(), bytes);
    expect_success(&wasmchart(&u, &["render", ".", "--verify-lock"]));
    // A changed source no longer matches the lock: build refuses, nothing moves.
    fs::write(
        tmp.path().join("src/redis/values.yaml"),
        "auth:\n  enabled: false\n",
    )
    .unwrap();
    let before = snapshot(&u);
    let err = expect_error(&wasmchart(&u, &["dependency", "build"]));
    assert!(
        err.contains("'redis'") && err.contains("Chart.lock pins") && err.contains(&sha256(&bytes)),
        "{err}"
    );
    assert_eq!(
        snapshot(&u),
        before,
        "a refused build leaves charts/ and Chart.lock alone"
    );
    // update takes the change and removes nothing else; a version bump replaces the archive.
    let src_chart = tmp.path().join("src/redis/Chart.yaml");
    let meta = fs::read_to_string(&src_chart).unwrap();
    fs::write(&src_chart, meta.replace("version: 0.1.0", "version: 0.1.7")).unwrap();
    expect_success(&wasmchart(&u, &["dependency", "update"]));
    assert!(!archive.exists(), "the outdated archive is removed");
    assert!(u.join("charts/redis-0.1.7.tgz").exists());
    assert!(
        fs::read_to_string(u.join("Chart.lock"))
            .unwrap()
            .contains("version: 0.1.7")
    );
}

#[test]
fn render_refuses_a_tampered_archive_naming_the_dependency() {
    let tmp = tempfile::tempdir().expect("tmp");
    redis_source(&tmp.path().join("src/redis"));
    let u = umbrella(&tmp.path().join("u"), "0.1.0", "file://../src/redis");
    expect_success(&wasmchart(&u, &["dependency", "update"]));
    let locked = sha256(&fs::read(u.join("charts/redis-0.1.0.tgz")).unwrap());
    let good = expect_success(&wasmchart(&u, &["render", "."]));
    assert!(good.contains("# Source: u/charts/redis/"), "{good}");
    // Same name and version, other content: a repackaged chart with different values.
    fs::write(
        tmp.path().join("src/redis/values.yaml"),
        "auth:\n  enabled: false\n",
    )
    .unwrap();
    expect_success(&wasmchart(
        tmp.path(),
        &["package", "src/redis", "-d", "u/charts"],
    ));
    let actual = sha256(&fs::read(u.join("charts/redis-0.1.0.tgz")).unwrap());
    assert_ne!(actual, locked);
    let err = expect_error(&wasmchart(&u, &["render", "."]));
    assert!(
        err.contains("dependency 'redis'")
            && err.contains("charts/redis-0.1.0.tgz")
            && err.contains(&format!("expected {locked}, actual {actual}")),
        "{err}"
    );
    // A chart in charts/ the lock does not know is refused too.
    copy_tree(&tmp.path().join("src/redis"), &u.join("charts/extra"));
    let meta = fs::read_to_string(u.join("charts/extra/Chart.yaml")).unwrap();
    fs::write(
        u.join("charts/extra/Chart.yaml"),
        meta.replace("name: redis", "name: extra"),
    )
    .unwrap();
    let err = expect_error(&wasmchart(&u, &["render", "."]));
    assert!(
        err.contains("dependency 'extra' is in charts/ but not in Chart.lock"),
        "{err}"
    );
}

#[test]
fn locked_example_in_place_refuses_a_tampered_component_and_missing_or_stale_locks() {
    let tmp = tempfile::tempdir().expect("tmp");
    let chart = tmp.path().join("imprun");
    copy_tree(&repo_root().join("examples/imprun"), &chart);
    // No lock: renders as before; --verify-lock and requireLock refuse.
    let plain = expect_success(&wasmchart(
        tmp.path(),
        &["render", "imprun", "--env", "local"],
    ));
    let err = expect_error(&wasmchart(
        tmp.path(),
        &["render", "imprun", "--env", "local", "--verify-lock"],
    ));
    assert!(
        err.contains("--verify-lock requires a lock") && err.contains("Chart.lock does not exist"),
        "{err}"
    );
    let policy = tmp.path().join("policy.yaml");
    fs::write(&policy, "requireLock: true\n").unwrap();
    let policy_arg = policy.to_str().unwrap();
    let err = expect_error(&wasmchart(
        tmp.path(),
        &["render", "imprun", "--env", "local", "--policy", policy_arg],
    ));
    assert!(err.contains("(requireLock: true) requires a lock"), "{err}");
    fs::write(tmp.path().join("bad.yaml"), "requireLock: yes please\n").unwrap();
    let err = expect_error(&wasmchart(
        tmp.path(),
        &["render", "imprun", "--policy", "bad.yaml"],
    ));
    assert!(err.contains("requireLock must be true or false"), "{err}");
    // The vendored file://./charts/X dependencies stay in place and are locked.
    let before = snapshot(&chart.join("charts"));
    expect_success(&wasmchart(tmp.path(), &["dependency", "update", "imprun"]));
    assert_eq!(snapshot(&chart.join("charts")), before, "charts/ untouched");
    let listed = expect_success(&wasmchart(tmp.path(), &["dependency", "list", "imprun"]));
    assert!(
        listed
            .lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .all(|l| l.ends_with("\tunpacked")),
        "{listed}"
    );
    let lock = fs::read_to_string(chart.join("Chart.lock")).unwrap();
    let wasm = fs::read(chart.join("charts/redis/redis.wasm")).unwrap();
    assert!(
        lock.contains(&format!("redis.wasm: {}", sha256(&wasm))),
        "{lock}"
    );
    for args in [&["--verify-lock"][..], &["--policy", policy_arg][..]] {
        let mut all = vec!["render", "imprun", "--env", "local"];
        all.extend_from_slice(args);
        assert_eq!(expect_success(&wasmchart(tmp.path(), &all)), plain);
    }
    // One byte more in a component: refused, naming dependency, file and both digests.
    let mut tampered = wasm.clone();
    tampered.extend_from_slice(b"\0");
    fs::write(chart.join("charts/redis/redis.wasm"), &tampered).unwrap();
    let err = expect_error(&wasmchart(
        tmp.path(),
        &["render", "imprun", "--env", "local"],
    ));
    assert!(
        err.contains("dependency 'redis': component charts/redis/redis.wasm: expected ")
            && err.contains(&format!(
                "expected {}, actual {}",
                sha256(&wasm),
                sha256(&tampered)
            )),
        "{err}"
    );
    fs::write(chart.join("charts/redis/redis.wasm"), &wasm).unwrap();
    // A stale lock: a warning without the flag, an error with it.
    let yaml = fs::read_to_string(chart.join("Chart.yaml")).unwrap();
    fs::write(
        chart.join("Chart.yaml"),
        yaml.replace("condition: redis.enabled", "condition: redis.on"),
    )
    .unwrap();
    let out = wasmchart(tmp.path(), &["render", "imprun", "--env", "local"]);
    expect_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: ") && stderr.contains("out of sync"),
        "{stderr}"
    );
    let err = expect_error(&wasmchart(
        tmp.path(),
        &["render", "imprun", "--env", "local", "--verify-lock"],
    ));
    assert!(
        err.contains("--verify-lock requires an up-to-date lock") && err.contains("out of sync"),
        "{err}"
    );
}

/// The lock check takes a component's digest from the runtime's authenticated identity record
/// when one vouches for the opened file, without reading it. A same-size swap with the mtime
/// put back still changes the ctime, so no record vouches for the new bytes and the lock
/// catches them.
#[test]
fn a_locked_render_trusts_identity_records_only_for_untouched_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let chart = tmp.path().join("imprun");
    copy_tree(&repo_root().join("examples/imprun"), &chart);
    expect_success(&wasmchart(tmp.path(), &["dependency", "update", "imprun"]));
    // Records are written only for files left alone for 3 s.
    std::thread::sleep(Duration::from_millis(3500));
    let args = ["render", "imprun", "--env", "local", "--verify-lock"];
    let first = expect_success(&wasmchart(tmp.path(), &args));
    assert_eq!(expect_success(&wasmchart(tmp.path(), &args)), first);
    let path = chart.join("charts/redis/redis.wasm");
    let wasm = fs::read(&path).unwrap();
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    let mut swapped = wasm.clone();
    *swapped.last_mut().unwrap() ^= 1;
    fs::write(&path, &swapped).unwrap();
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), mtime);
    let err = expect_error(&wasmchart(tmp.path(), &args));
    assert!(
        err.contains(&format!(
            "dependency 'redis': component charts/redis/redis.wasm: expected {}, actual {}",
            sha256(&wasm),
            sha256(&swapped)
        )),
        "{err}"
    );
}

#[test]
fn registry_round_trip_pins_and_renders_exactly_the_unpacked_original() {
    let registry = Registry::start();
    let tmp = tempfile::tempdir().expect("tmp");
    let src = redis_source(&tmp.path().join("src/redis"));
    let repo = registry.url("charts");
    // The unpacked original, vendored.
    let original = umbrella(
        &tmp.path().join("original"),
        "0.1.0",
        "file://./charts/redis",
    );
    copy_tree(&src, &original.join("charts/redis"));
    let expected = expect_success(&wasmchart(&original, &["render", "."]));
    // Packaged and pushed; a fresh umbrella pulls it by constraint.
    expect_success(&wasmchart(
        tmp.path(),
        &["package", "src/redis", "-d", "dist"],
    ));
    let pushed = wasmchart(
        tmp.path(),
        &["push", "dist/redis-0.1.0.tgz", &repo, "--plain-http"],
    );
    expect_success(&pushed);
    let fresh = umbrella(&tmp.path().join("fresh"), "^0.1", &repo);
    let out = expect_success(&wasmchart(
        &fresh,
        &["dependency", "update", "--plain-http"],
    ));
    assert!(out.contains("redis 0.1.0"), "{out}");
    let pulled = fs::read(fresh.join("charts/redis-0.1.0.tgz")).expect("pulled archive");
    assert_eq!(
        pulled,
        fs::read(tmp.path().join("dist/redis-0.1.0.tgz")).unwrap()
    );
    let lock = fs::read_to_string(fresh.join("Chart.lock")).unwrap();
    assert!(lock.contains(&format!("repository: {repo}\n")), "{lock}");
    let got = expect_success(&wasmchart(&fresh, &["render", ".", "--verify-lock"]));
    assert_eq!(
        got, expected,
        "pulled from the registry, rendered identically"
    );
    // `^0.1` takes the newest 0.1.x, never 0.2.
    for v in ["0.1.5", "0.2.0"] {
        expect_success(&wasmchart(
            tmp.path(),
            &["package", "src/redis", "-d", "dist", "--version", v],
        ));
        let archive = format!("dist/redis-{v}.tgz");
        expect_success(&wasmchart(
            tmp.path(),
            &["push", &archive, &repo, "--plain-http"],
        ));
    }
    expect_success(&wasmchart(
        &fresh,
        &["dependency", "update", "--plain-http"],
    ));
    assert!(fresh.join("charts/redis-0.1.5.tgz").exists());
    assert!(
        !fresh.join("charts/redis-0.1.0.tgz").exists(),
        "outdated archive removed"
    );
    assert!(!fresh.join("charts/redis-0.2.0.tgz").exists());
    let lock = fs::read_to_string(fresh.join("Chart.lock")).unwrap();
    assert!(lock.contains("version: 0.1.5"), "{lock}");
    // build restores exactly the locked bytes from the registry.
    let locked = fs::read(fresh.join("charts/redis-0.1.5.tgz")).unwrap();
    fs::remove_file(fresh.join("charts/redis-0.1.5.tgz")).unwrap();
    expect_success(&wasmchart(&fresh, &["dependency", "build", "--plain-http"]));
    assert_eq!(
        fs::read(fresh.join("charts/redis-0.1.5.tgz")).unwrap(),
        locked
    );
    // A tampered blob in the registry: refused, charts/ and Chart.lock unchanged.
    let blob = registry.blob_file(&sha256(&locked));
    let mut bad = fs::read(&blob).expect("blob in storage");
    let last = bad.len() - 1;
    bad[last] ^= 0xff;
    fs::write(&blob, &bad).unwrap();
    let before = snapshot(&fresh);
    let err = expect_error(&wasmchart(&fresh, &["dependency", "build", "--plain-http"]));
    assert!(err.contains("redis"), "{err}");
    assert_eq!(snapshot(&fresh), before, "nothing written");
}

#[test]
fn update_refuses_unsupported_repositories_atomically_and_helm_locks_only_warn() {
    let tmp = tempfile::tempdir().expect("tmp");
    redis_source(&tmp.path().join("src/redis"));
    let u = umbrella(&tmp.path().join("u"), "^0.1", "file://../src/redis");
    let yaml = fs::read_to_string(u.join("Chart.yaml")).unwrap();
    fs::write(
        u.join("Chart.yaml"),
        format!(
            "{yaml}  - name: other\n    version: 1.0.0\n    repository: https://charts.example.com\n"
        ),
    )
    .unwrap();
    let err = expect_error(&wasmchart(&u, &["dependency", "update"]));
    assert!(
        err.contains("dependency 'other'") && err.contains("classic chart repository"),
        "{err}"
    );
    assert!(
        !u.join("Chart.lock").exists() && !u.join("charts").exists(),
        "nothing written"
    );
    // charts/ as a symlink (leading anywhere) is never written through.
    let elsewhere = tmp.path().join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, u.join("charts")).unwrap();
    fs::write(u.join("Chart.yaml"), &yaml).unwrap();
    let err = expect_error(&wasmchart(&u, &["dependency", "update"]));
    assert!(err.contains("charts is a symlink"), "{err}");
    assert_eq!(
        fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing written through it"
    );
    fs::remove_file(u.join("charts")).unwrap();
    // A lock as Helm writes it (no digests): a warning, an error under --verify-lock.
    fs::write(u.join("Chart.yaml"), &yaml).unwrap();
    expect_success(&wasmchart(&u, &["dependency", "update"]));
    let lock = fs::read_to_string(u.join("Chart.lock")).unwrap();
    let helm_lock: String = lock
        .lines()
        .filter(|l| {
            !l.starts_with("  digest:") && !l.starts_with("- components:") && !l.starts_with("    ")
        })
        .map(|l| format!("{}\n", l.replace("  name:", "- name:")))
        .collect();
    fs::write(u.join("Chart.lock"), &helm_lock).unwrap();
    let out = wasmchart(&u, &["render", "."]);
    expect_success(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pins no content for redis"),
        "{helm_lock}\n{stderr}"
    );
    let err = expect_error(&wasmchart(&u, &["render", ".", "--verify-lock"]));
    assert!(
        err.contains("--verify-lock requires pinned components"),
        "{err}"
    );
}

/// A stranger's committed Chart.lock drives `dependency build`: a `file://` path outside the
/// chart that the lock does not pin (a Helm-written lock, digests stripped) is not followed,
/// and a lock version that would make the archive name climb out of charts/ is refused when
/// the lock is read, before any fetch; in both cases nothing is written.
#[test]
fn build_from_a_hostile_lock_copies_nothing_unpinned_and_names_no_path() {
    let tmp = tempfile::tempdir().expect("tmp");
    redis_source(&tmp.path().join("src/redis"));
    let u = umbrella(&tmp.path().join("u"), "^0.1", "file://../src/redis");
    expect_success(&wasmchart(&u, &["dependency", "update"]));
    fs::remove_file(u.join("charts/redis-0.1.0.tgz")).unwrap();
    let lock = fs::read_to_string(u.join("Chart.lock")).unwrap();
    let stripped: String = lock
        .lines()
        .filter(|l| !l.starts_with("  digest:") && !l.starts_with("  components:"))
        .filter(|l| !l.starts_with("    "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!stripped.contains("redis.wasm"), "{stripped}");
    fs::write(u.join("Chart.lock"), &stripped).unwrap();
    let before = snapshot(&u);
    let err = expect_error(&wasmchart(&u, &["dependency", "build"]));
    assert!(
        err.contains("dependency 'redis': Chart.lock pins no digest for file://../src/redis")
            && err.contains("leads outside the chart")
            && err.contains("nothing was installed"),
        "{err}"
    );
    assert_eq!(snapshot(&u), before, "nothing copied into charts/");

    // The lock's own digest made to match, so only the entry check stands in the way of an
    // archive named charts/redis-0.1.0/../../../../pwn.tgz from an attacker's registry.
    use wasmchart::lock::golang::{GoDependency, hash_req};
    let bad = "0.1.0/../../../../pwn";
    let requested = GoDependency::from_chart_yaml(&serde_json::json!(
        {"name": "redis", "version": "^0.1", "repository": "file://../src/redis"}
    ));
    let locked = GoDependency::locked("redis", bad, "oci://127.0.0.1:9/charts");
    let hostile = format!(
        "dependencies:\n- name: redis\n  repository: oci://127.0.0.1:9/charts\n  version: {bad}\n\
         digest: {}\ngenerated: \"2026-12-01T00:00:00Z\"\n",
        hash_req(&[requested], &[locked])
    );
    fs::write(u.join("Chart.lock"), &hostile).unwrap();
    let before = snapshot(&u);
    let err = expect_error(&wasmchart(&u, &["dependency", "build"]));
    assert!(
        err.contains(
            "Chart.lock: dependencies[0].version \"0.1.0/../../../../pwn\" is not a SemVer version"
        ),
        "{err}"
    );
    assert_eq!(snapshot(&u), before);
    assert!(!tmp.path().join("pwn.tgz").exists());
}

/// Credentials written into a repository URL never reach the terminal (CI logs): the
/// errors and `dependency list` show `***` in their place.
#[test]
fn credentials_in_repository_urls_are_not_echoed() {
    let tmp = tempfile::tempdir().expect("tmp");
    for repo in [
        "oci://bob:hunter2@127.0.0.1:9/charts",
        "https://bob:hunter2@charts.example.com/stable",
        "s3://bob:hunter2@bucket/charts",
    ] {
        let u = umbrella(&tmp.path().join("u"), "^0.1", repo);
        let err = expect_error(&wasmchart(&u, &["dependency", "update"]));
        assert!(!err.contains("hunter2") && !err.contains("bob"), "{err}");
        let shown = repo.replace("bob:hunter2", "***");
        assert!(err.contains(&format!("\"{shown}\"")), "{err}");
        let listed = expect_success(&wasmchart(&u, &["dependency", "list"]));
        assert!(
            !listed.contains("hunter2") && listed.contains(&shown),
            "{listed}"
        );
    }
}

/// `--username`/`--password` meant for one registry are not sprayed over every registry a
/// chart names: with dependencies on two registries, update refuses before connecting.
#[test]
fn flag_credentials_are_not_sent_to_a_second_registry_the_chart_names() {
    let tmp = tempfile::tempdir().expect("tmp");
    let u = tmp.path().join("u");
    fs::create_dir_all(&u).unwrap();
    fs::write(
        u.join("Chart.yaml"),
        "apiVersion: v2\nname: u\nversion: 1.0.0\ndependencies:\n  - name: redis\n    \
         version: ^0.1\n    repository: oci://127.0.0.1:9/mine\n  - name: grab\n    \
         version: ^1\n    repository: oci://attacker.invalid/charts\n",
    )
    .unwrap();
    let before = snapshot(&u);
    let err = super::support::expect_failure(&wasmchart(
        &u,
        &[
            "dependency",
            "update",
            "--username",
            "me",
            "--password",
            "hunter2",
        ],
    ));
    assert!(
        err.contains(
            "--username/--password-stdin would be sent to every registry the chart names \
             (127.0.0.1:9, attacker.invalid)"
        ) && err.contains("wasmchart registry login HOST"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    assert_eq!(snapshot(&u), before);
}

/// A vendored dependency's `.helmignore` narrows its lock digest only to files no render
/// reads: with `crds/` ignored there, a changed CRD (which `render --include-crds` prints)
/// still breaks the lock.
#[test]
fn helmignore_cannot_hide_a_rendered_crd_from_the_lock() {
    let tmp = tempfile::tempdir().expect("tmp");
    let u = umbrella(&tmp.path().join("u"), "0.1.0", "file://./charts/redis");
    let sub = redis_source(&u.join("charts/redis"));
    fs::write(sub.join(".helmignore"), "crds/\n").unwrap();
    fs::create_dir_all(sub.join("crds")).unwrap();
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
               name: foos.example.com\n";
    fs::write(sub.join("crds/foo.yaml"), crd).unwrap();
    expect_success(&wasmchart(&u, &["dependency", "update"]));
    expect_success(&wasmchart(&u, &["render", ".", "--verify-lock"]));
    fs::write(
        sub.join("crds/foo.yaml"),
        crd.replace("foos.example.com", "bars.example.com"),
    )
    .unwrap();
    let err = expect_error(&wasmchart(
        &u,
        &["render", ".", "--verify-lock", "--include-crds"],
    ));
    assert!(
        err.contains("the charts do not match")
            && err.contains("dependency 'redis': directory charts/redis: expected sha256:"),
        "{err}"
    );
}

/// A `.helmignore` of thousands of rules (each tried on every file: minutes of CPU for
/// `package`, and for the lock check of every render of a vendored chart) is refused.
#[test]
fn a_helmignore_with_too_many_rules_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let c = tmp.path().join("c");
    fs::create_dir_all(&c).unwrap();
    fs::write(
        c.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 1.0.0\n",
    )
    .unwrap();
    let rules: String = (0..1001).map(|i| format!("*q{i}*z*[a-c]?\n")).collect();
    fs::write(c.join(".helmignore"), format!("# comment\n\n{rules}")).unwrap();
    let err = expect_error(&wasmchart(tmp.path(), &["package", "c", "-d", "out"]));
    assert!(
        err.contains("c/.helmignore holds 1001 rules, over the limit of 1000"),
        "{err}"
    );
    assert!(!tmp.path().join("out").exists());
    let rules: String = (0..1000).map(|i| format!("*q{i}*z*[a-c]?\n")).collect();
    fs::write(c.join(".helmignore"), rules).unwrap();
    expect_success(&wasmchart(tmp.path(), &["package", "c", "-d", "out"]));
}
