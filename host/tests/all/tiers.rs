//! Tiered compilation (issue 12): a cache miss in the `wasmchart` binary
//! compiles with Winch and renders at once, a detached child writes the
//! Cranelift entry, and later loads run it; deadlines hold on both tiers.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::support::{expect_error, run_bounded};
use wasmchart::sandbox::{
    CacheStatus, ComponentSource, Limits, RenderRequest, Runtime, RuntimeOptions, SandboxError,
    Tier,
};

/// A runtime on the cache in `dir` that compiles in child processes of the
/// real binary, as the CLI does (the only case with a fast tier).
fn tiered(dir: &Path) -> Runtime {
    let mut runtime = plain(dir);
    runtime.set_compiler(Some(env!("CARGO_BIN_EXE_wasmchart").into()));
    runtime
}

/// A runtime on the cache in `dir` that compiles in this process.
fn plain(dir: &Path) -> Runtime {
    Runtime::new(RuntimeOptions {
        cache_dir: Some(dir.join("cache")),
        config_dir: Some(dir.join("config")),
        ..RuntimeOptions::default()
    })
    .unwrap()
}

fn redis_manifests(runtime: &Runtime) -> (Tier, CacheStatus, Vec<String>) {
    let redis = runtime
        .load("redis", test_components::wasm("redis"))
        .unwrap();
    let request = RenderRequest {
        values_json: r#"{"replicas": 2}"#.into(),
        ..RenderRequest::default()
    };
    let result = runtime
        .render(&redis, &request, &Limits::default())
        .unwrap();
    let manifests = result
        .manifests
        .iter()
        .map(|m| format!("{}\n{}", m.source, m.content))
        .collect();
    (redis.tier(), redis.cache_status(), manifests)
}

/// Files with extension `ext` in the cache.
fn count(dir: &Path, ext: &str) -> usize {
    std::fs::read_dir(dir.join("cache/v1"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == ext))
                .count()
        })
        .unwrap_or(0)
}

/// `*.cwasm` entries in the cache.
fn entries(dir: &Path) -> usize {
    count(dir, "cwasm")
}

/// Waits (up to two minutes) for a background child to write the optimised
/// entry beside the fast one.
fn wait_for_optimised_entry(dir: &Path) {
    let start = Instant::now();
    while entries(dir) < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no optimised entry after {:?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_background_compile_reads_the_whole_file_wherever_its_offset_is() {
    use std::io::Read as _;
    let dir = tempfile::tempdir().unwrap();
    let path = test_components::wasm("redis");
    let mut file = std::fs::File::open(path).unwrap();
    // The child's descriptor shares this offset: leave it at the end.
    std::io::copy(&mut file.by_ref(), &mut std::io::sink()).unwrap();
    let source = ComponentSource::File(std::sync::Arc::new(file));
    let runtime = tiered(dir.path());
    let redis = runtime
        .load_source("redis", path, &source, &Limits::default())
        .unwrap();
    assert_eq!(
        (redis.tier(), redis.cache_status()),
        (Tier::Fast, CacheStatus::Miss)
    );
    drop((redis, runtime));
    wait_for_optimised_entry(dir.path());
}

#[test]
fn a_miss_renders_with_the_fast_tier_then_later_loads_run_the_optimised_entry() {
    let reference = tempfile::tempdir().unwrap();
    let (tier, _, expected) = redis_manifests(&plain(reference.path()));
    assert_eq!(
        tier,
        Tier::Optimized,
        "no child compiler: Cranelift as before"
    );
    assert!(!expected.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let (tier, status, cold) = redis_manifests(&tiered(dir.path()));
    assert_eq!((tier, status), (Tier::Fast, CacheStatus::Miss));
    assert_eq!(cold, expected, "the fast tier renders the same output");

    // The background child writes the optimised entry beside the fast one.
    wait_for_optimised_entry(dir.path());
    let (tier, status, warm) = redis_manifests(&tiered(dir.path()));
    assert_eq!(tier, Tier::Optimized);
    assert_eq!(status, CacheStatus::Hit, "the child's entry is stamped");
    assert_eq!(warm, expected);
    // The fast entry is never taken for the optimised tier, nor compiled again.
    assert_eq!(entries(dir.path()), 2);
}

#[test]
fn a_fast_entry_is_checked_in_full_until_a_load_stamps_it() {
    let dir = tempfile::tempdir().unwrap();
    // Runtimes start their upgrades when dropped: keep them all alive, so
    // that every load here finds only the fast entry.
    let first = tiered(dir.path());
    let (tier, status, cold) = redis_manifests(&first);
    assert_eq!((tier, status), (Tier::Fast, CacheStatus::Miss));
    assert_eq!(count(dir.path(), "cwasm"), 1);
    assert_eq!(
        count(dir.path(), "stamp"),
        0,
        "written without a flush, so not stamped"
    );

    // Then a full check, which flushes and stamps the file; then a hit.
    let mut alive = vec![first];
    for expected in [CacheStatus::Verified, CacheStatus::Hit] {
        let runtime = tiered(dir.path());
        let (tier, status, manifests) = redis_manifests(&runtime);
        assert_eq!((tier, status), (Tier::Fast, expected));
        assert_eq!(manifests, cold);
        assert_eq!(count(dir.path(), "stamp"), 1, "stamped by the full check");
        alive.push(runtime);
    }
}

#[test]
fn the_fast_tier_obeys_the_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tiered(dir.path());
    let probe = runtime
        .load("probe", test_components::wasm("probe"))
        .unwrap();
    assert_eq!(probe.tier(), Tier::Fast);
    let request = RenderRequest {
        values_json: r#"{"action": "loop"}"#.into(),
        ..RenderRequest::default()
    };
    let limits = Limits {
        timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let start = Instant::now();
    let error = runtime.render(&probe, &request, &limits).unwrap_err();
    assert!(
        matches!(&error, SandboxError::Timeout { component, .. } if component == "probe"),
        "{error}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_cold_cli_render_of_an_endless_component_stops_at_its_deadline() {
    let chart = tempfile::tempdir().unwrap();
    let probe = chart.path().join("charts/probe");
    std::fs::create_dir_all(&probe).unwrap();
    std::fs::copy(test_components::wasm("probe"), probe.join("probe.wasm")).unwrap();
    std::fs::write(
        probe.join("Chart.yaml"),
        "apiVersion: v2\nname: probe\nversion: 0.1.0\ncomponent: probe.wasm\n",
    )
    .unwrap();
    std::fs::write(probe.join("values.yaml"), "{}\n").unwrap();
    std::fs::write(
        chart.path().join("Chart.yaml"),
        "apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n  - name: probe\n    \
         version: 0.1.0\n    repository: file://./charts/probe\n",
    )
    .unwrap();
    std::fs::write(chart.path().join("values.yaml"), "probe: {action: loop}\n").unwrap();
    let empty = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    command
        .arg("render")
        .arg(chart.path())
        .args(["--timeout", "300ms"])
        .env("WASMCHART_CACHE_DIR", empty.path().join("cache"))
        .env("WASMCHART_CONFIG_DIR", empty.path().join("config"))
        .env_remove("WASMCHART_SECRET_KEY")
        .env_remove("WASMCHART_POLICY");
    let (out, took) = run_bounded(command, Duration::from_secs(60));
    let err = expect_error(&out);
    assert!(
        err.contains("component 'probe' exceeded its 300ms time limit"),
        "{err}"
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
}

/// The compiler child's thread count (one per core by default; one when
/// several compiles share the cores) changes only how it compiles: the
/// artifact loads like any other, and a count that is not a number is a
/// usage error, not a compile with a guessed count.
#[test]
fn the_compile_child_takes_a_thread_count() {
    let wasm = std::fs::read(test_components::wasm("redis")).unwrap();
    let child = |threads: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wasmchart"))
            .args(["__compile-component", "1073741824", "60", "fast", threads])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        // A child refusing its arguments exits without reading.
        let _ = child.stdin.take().unwrap().write_all(&wasm);
        child.wait_with_output().unwrap()
    };
    let one = child("1");
    let all = child("0");
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    assert!(
        all.status.success(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    assert!(
        one.stdout.starts_with(b"\x7fELF"),
        "an artifact, not {:?}",
        &one.stdout.get(..8)
    );
    assert_eq!(
        one.stdout.len(),
        all.stdout.len(),
        "one thread or many compile the same code"
    );
    let bad = child("many");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("usage: wasmchart __compile-component"));
}
