//! What the binary-level test modules share: running the real `wasmchart`
//! under a time bound (a hang fails the test instead of stalling CI) and
//! the documented shapes of success and failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs `cmd` with stdin closed and output captured. Past `bound` the child
/// is killed and the test fails. Returns the output and the time it took.
pub fn run_bounded(mut cmd: Command, bound: Duration) -> (Output, Duration) {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(bound) {
        Ok(out) => (out.expect("collect the child's output"), started.elapsed()),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{cmd:?} did not finish within {bound:?}")
        }
    }
}

/// Asserts success and returns stdout.
pub fn expect_success(out: &Output) -> String {
    assert!(
        out.status.success(),
        "wasmchart failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

/// Asserts the documented failure and returns stderr: exit status exactly
/// 1, nothing on stdout, no host panic or
/// backtrace (a guest's panic message may be quoted inside the error, never
/// at the start of a line), and no raw control character but newline and
/// tab (everything untrusted is escaped before it reaches a terminal).
pub fn expect_failure(out: &Output) -> String {
    let err = String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8");
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit status 1 on any error:\n{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "no output on error: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !err.lines().any(|l| l.starts_with("thread '")) && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    let raw = err.chars().find(|&c| {
        (c.is_control() && c != '\n' && c != '\t') || ('\u{202a}'..='\u{202e}').contains(&c)
    });
    assert_eq!(raw, None, "a raw control character reached stderr: {err:?}");
    err
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

/// A directory under cargo's temporary directory for this target, shared
/// by the tests of one module across runs (their compile cache, say), so a
/// guest is compiled once, not once per test.
pub fn shared_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// [`expect_failure`] whose stderr is the error paragraph alone (no
/// warning or usage text before it): it starts with `error: `.
pub fn expect_error(out: &Output) -> String {
    let err = expect_failure(out);
    assert!(err.starts_with("error: "), "{err}");
    err
}

/// Copies the directory tree `from` to `to` (directories and regular files;
/// tests copy the example or a scratch chart before writing into it).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// An umbrella whose subcharts are all the redis guest, one alias each of
/// `aliases`, with `fullnameOverride: redis-<alias>`: one render loads one
/// component as many times.
pub fn redis_aliases_chart(aliases: &[&str]) -> tempfile::TempDir {
    redis_aliases_chart_with_limits(aliases, &[])
}

/// [`redis_aliases_chart`], with the `limits:` entry (YAML flow, none when
/// empty or missing) of each alias.
pub fn redis_aliases_chart_with_limits(aliases: &[&str], limits: &[&str]) -> tempfile::TempDir {
    let chart = tempfile::tempdir().expect("temp dir");
    let sub = chart.path().join("charts").join("redis");
    std::fs::create_dir_all(&sub).expect("create dir");
    std::fs::copy(test_components::wasm("redis"), sub.join("redis.wasm")).expect("copy");
    std::fs::write(
        sub.join("Chart.yaml"),
        "apiVersion: v2\nname: redis\nversion: 0.1.0\ncomponent: redis.wasm\n",
    )
    .expect("write");
    std::fs::write(sub.join("values.yaml"), "{}\n").expect("write");
    let mut umbrella =
        String::from("apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n");
    let mut values = String::new();
    for (i, alias) in aliases.iter().enumerate() {
        umbrella.push_str(&format!(
            "  - name: redis\n    version: 0.1.0\n    alias: {alias}\n"
        ));
        if let Some(limits) = limits.get(i).filter(|l| !l.is_empty()) {
            umbrella.push_str(&format!("    limits: {limits}\n"));
        }
        values.push_str(&format!("{alias}: {{fullnameOverride: redis-{alias}}}\n"));
    }
    std::fs::write(chart.path().join("Chart.yaml"), umbrella).expect("write");
    std::fs::write(chart.path().join("values.yaml"), values).expect("write");
    chart
}

/// A render request with empty values for release `demo` in namespace
/// `apps`, first install: what the library-level tests render with.
pub fn demo_request() -> wasmchart::sandbox::RenderRequest {
    wasmchart::sandbox::RenderRequest {
        values_json: "{}".into(),
        release: wasmchart::sandbox::Release {
            name: "demo".into(),
            namespace: "apps".into(),
            revision: 1,
            is_install: true,
            is_upgrade: false,
        },
        ..Default::default()
    }
}
