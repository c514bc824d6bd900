//! The sandbox driven through the real wasmtime host with real guests built
//! from `plugins/` by `test-components`.
//!
//! Limits come in obeyed/violated pairs (after Spin's integration tests);
//! each violation asserts the sentence the user sees, and every hostile
//! render is followed by a normal one on the same runtime to prove the host
//! is still alive.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use wasmchart::sandbox::{
    Capabilities, ChartInfo, GuestErrorKind, Limits, LoadedComponent, LogLevel, Release,
    RenderRequest, RenderResult, Runtime, RuntimeOptions, SandboxError, SecretRef,
};

test_components::foreach_component!(assert_test_exists);
test_components::foreach_fixture!(assert_test_exists);

/// One runtime for the whole test process, with a private compile cache.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<(Runtime, tempfile::TempDir)> = OnceLock::new();
    let (runtime, _dir) = RUNTIME.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp cache dir");
        let runtime = Runtime::new(RuntimeOptions {
            cache_dir: Some(dir.path().join("cache")),
            config_dir: Some(dir.path().join("config")),
            progress: false,
        })
        .expect("runtime starts");
        (runtime, dir)
    });
    runtime
}

fn probe_component() -> &'static LoadedComponent {
    static PROBE: OnceLock<LoadedComponent> = OnceLock::new();
    PROBE.get_or_init(|| load("probe"))
}

fn load(name: &str) -> LoadedComponent {
    runtime()
        .load(name, test_components::wasm(name))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn request(values: Value) -> RenderRequest {
    RenderRequest {
        values_json: values.to_string(),
        release: Release {
            name: "demo".into(),
            namespace: "apps".into(),
            revision: 1,
            is_install: true,
            is_upgrade: false,
        },
        chart: ChartInfo {
            name: "redis".into(),
            version: "0.1.0".into(),
            app_version: Some("7.4.2".into()),
        },
        capabilities: Capabilities {
            kube_version: "v1.31.0".into(),
            api_versions: vec!["apps/v1".into(), "v1".into()],
        },
        secrets: Vec::new(),
        certificates: Vec::new(),
        files_dir: None,
    }
}

fn run_probe(values: Value, limits: &Limits) -> Result<RenderResult, SandboxError> {
    runtime().render(probe_component(), &request(values), limits)
}

/// The `data` of the probe's single ConfigMap.
fn probe_data(values: Value) -> BTreeMap<String, String> {
    let result = run_probe(values, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    data_of(&result)
}

fn data_of(result: &RenderResult) -> BTreeMap<String, String> {
    assert_eq!(result.manifests.len(), 1, "{:?}", result.manifests);
    let object: Value =
        serde_json::from_str(&result.manifests[0].content).expect("probe returns JSON");
    serde_json::from_value(object["data"].clone()).expect("data is a string map")
}

/// After a hostile render, the same runtime still renders normally.
fn assert_alive() {
    let data = probe_data(json!({"action": "ok"}));
    assert_eq!(data["status"], "ok");
}

fn tight(f: impl FnOnce(&mut Limits)) -> Limits {
    let mut limits = Limits::default();
    f(&mut limits);
    limits
}

fn assert_denied(data: &BTreeMap<String, String>, key: &str) {
    let value = &data[key];
    assert!(
        value.starts_with("denied: "),
        "{key} should be denied, got {value:?}"
    );
}

// ---- limits: obeyed / violated pairs --------------------------------------

#[test]
fn deadline_obeyed() {
    let limits = tight(|l| l.timeout = Duration::from_millis(300));
    let result = run_probe(json!({"action": "ok"}), &limits).expect("a quick render fits in 300ms");
    assert_eq!(data_of(&result)["status"], "ok");
}

#[test]
fn deadline_violated() {
    let limits = tight(|l| l.timeout = Duration::from_millis(300));
    let start = Instant::now();
    let err = run_probe(json!({"action": "loop"}), &limits).unwrap_err();
    let elapsed = start.elapsed();
    assert!(matches!(err, SandboxError::Timeout { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "component 'probe' exceeded its 300ms time limit"
    );
    assert!(
        elapsed >= Duration::from_millis(290),
        "stopped too early: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "stopped too late: {elapsed:?}"
    );
    assert_alive();
}

#[test]
fn memory_obeyed() {
    let limits = tight(|l| l.memory_bytes = 32 << 20);
    let result =
        run_probe(json!({"action": "alloc", "mib": 8}), &limits).expect("8 MiB fits in 32Mi");
    assert_eq!(data_of(&result)["allocated"], "8 MiB");
}

#[test]
fn memory_violated() {
    let limits = tight(|l| l.memory_bytes = 32 << 20);
    let err = run_probe(json!({"action": "alloc", "mib": 64}), &limits).unwrap_err();
    assert!(matches!(err, SandboxError::Memory { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "component 'probe' exceeded its 32Mi memory limit"
    );
    assert_alive();
}

#[test]
fn output_obeyed() {
    let limits = tight(|l| l.output_bytes = 1 << 20);
    let result = run_probe(json!({"action": "flood", "bytes": 100_000}), &limits)
        .expect("100 KB fits in 1Mi");
    assert_eq!(result.manifests.len(), 1);
}

#[test]
fn output_violated() {
    let limits = tight(|l| l.output_bytes = 1 << 20);
    for values in [
        json!({"action": "flood", "bytes": 2_000_000}),
        json!({"action": "flood", "bytes": 300_000, "count": 4}),
        json!({"action": "flood-notes", "bytes": 2_000_000}),
    ] {
        let err = run_probe(values.clone(), &limits).unwrap_err();
        assert!(
            matches!(err, SandboxError::OutputTooLarge { .. }),
            "{values}: {err:?}"
        );
        assert_eq!(
            err.to_string(),
            "component 'probe' exceeded its 1Mi output limit"
        );
    }
    assert_alive();
}

#[test]
fn trap_is_a_clean_error() {
    let err = run_probe(json!({"action": "trap"}), &Limits::default()).unwrap_err();
    let SandboxError::Trap { component, message } = &err else {
        panic!("expected a trap, got {err:?}");
    };
    assert_eq!(component, "probe");
    assert!(message.contains("unreachable"), "{message}");
    assert!(
        err.to_string().starts_with("component 'probe' crashed: "),
        "{err}"
    );
    assert_alive();
}

#[test]
fn panic_is_a_clean_error_with_its_message() {
    let err = run_probe(json!({"action": "panic"}), &Limits::default()).unwrap_err();
    assert!(matches!(err, SandboxError::Trap { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("panicked at") && text.contains("probe panicked on purpose"),
        "{text}"
    );
    assert!(!text.contains("RUST_BACKTRACE"), "{text}");
    assert_alive();
}

#[test]
fn guest_error_is_reported_with_its_kind() {
    let err = run_probe(json!({"action": "guest-error"}), &Limits::default()).unwrap_err();
    let SandboxError::Guest { kind, .. } = &err else {
        panic!("expected a guest error, got {err:?}");
    };
    assert_eq!(*kind, GuestErrorKind::InvalidValues);
    assert_eq!(
        err.to_string(),
        "component 'probe' refused to render (invalid values): key 'action': the probe was asked to fail"
    );
}

#[test]
fn log_lines_are_bounded() {
    let limits = tight(|l| l.log_lines = 50);
    let result = run_probe(
        json!({"action": "log-spam", "lines": 10_000, "bytes": 100}),
        &limits,
    )
    .expect("log spam is not an error");
    assert_eq!(result.logs.len(), 51, "50 lines and one notice");
    assert_eq!(result.logs[0].level, LogLevel::Warn);
    assert!(result.logs[0].message.starts_with("0 yyyy"));
    let notice = &result.logs[50].message;
    assert!(notice.contains("9950 lines"), "{notice}");
}

#[test]
fn stdout_and_stderr_are_captured_and_bounded() {
    let result = run_probe(
        json!({"action": "stdout", "lines": 3, "bytes": 5}),
        &Limits::default(),
    )
    .unwrap();
    let lines: Vec<(LogLevel, &str)> = result
        .logs
        .iter()
        .map(|l| (l.level, l.message.as_str()))
        .collect();
    assert!(
        lines.contains(&(LogLevel::Info, "out 0 yyyyy")),
        "{lines:?}"
    );
    assert!(
        lines.contains(&(LogLevel::Warn, "err 2 yyyyy")),
        "{lines:?}"
    );

    // 10,000 lines of 1 KB on each stream would be 20 MB: kept to the byte
    // budget, and the guest's println! never fails.
    let limits = tight(|l| l.log_bytes = 64 << 10);
    let result = run_probe(
        json!({"action": "stdout", "lines": 10_000, "bytes": 1000}),
        &limits,
    )
    .expect("a chatty guest is not an error");
    let kept: usize = result.logs.iter().map(|l| l.message.len()).sum();
    assert!(kept < 200 << 10, "kept {kept} bytes");
    assert!(result.logs.last().unwrap().message.contains("was dropped"));
}

// ---- deny by default -----------------------------------------------------

#[test]
fn host_files_are_denied() {
    for path in [
        "/etc/passwd",
        "/etc/hostname",
        "/proc/self/environ",
        "../../etc/passwd",
        "Cargo.toml",
    ] {
        let data = probe_data(json!({"action": "read-file", "path": path}));
        assert_denied(&data, "result");
    }
    let data = probe_data(json!({"action": "list-dir", "path": "/"}));
    assert_denied(&data, "result");
    assert_alive();
}

/// A chart directory with `files/` and a secret beside it.
fn chart_with_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    std::fs::write(files.join("hello.txt"), "hello from files").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), files.join("link.txt")).unwrap();
    dir
}

fn probe_with_files(files_dir: &Path, values: Value) -> BTreeMap<String, String> {
    let mut req = request(values);
    req.files_dir = Some(files_dir.to_path_buf());
    let result = runtime()
        .render(probe_component(), &req, &Limits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    data_of(&result)
}

#[test]
fn files_dir_is_readable_and_nothing_else() {
    let chart = chart_with_files();
    let files = chart.path().join("files");
    let data = probe_with_files(
        &files,
        json!({"action": "read-file", "path": "/files/hello.txt"}),
    );
    assert_eq!(data["result"], "allowed: \"hello from files\"");
    let data = probe_with_files(&files, json!({"action": "list-dir", "path": "/files"}));
    assert!(data["result"].contains("hello.txt"), "{data:?}");
    for escape in [
        "/files/../secret.txt",
        "/files/../../etc/passwd",
        "/files/link.txt",
        "/secret.txt",
    ] {
        let data = probe_with_files(&files, json!({"action": "read-file", "path": escape}));
        assert_denied(&data, "result");
    }
    let data = probe_with_files(
        &files,
        json!({"action": "write-file", "path": "/files/new.txt"}),
    );
    assert_denied(&data, "result");
    assert!(!files.join("new.txt").exists());
    assert_alive();
}

#[test]
fn missing_files_dir_mounts_nothing() {
    let data = probe_with_files(
        Path::new("/nonexistent-wasmchart-dir"),
        json!({"action": "read-file", "path": "/files/hello.txt"}),
    );
    assert_denied(&data, "result");
}

#[test]
fn environment_and_arguments_are_empty() {
    let data = probe_data(json!({"action": "read-env"}));
    assert_eq!(data["vars"], "0");
    assert_eq!(data["args"], "0");
    assert_denied(&data, "HOME");
    assert_denied(&data, "PATH");
    assert_eq!(
        data["stdin"], "allowed: 0",
        "stdin is closed: reads see end of file"
    );
}

#[test]
fn network_is_denied() {
    let data = probe_data(json!({"action": "socket"}));
    assert_denied(&data, "tcp");
    assert_denied(&data, "udp");
    assert_denied(&data, "dns");
    assert_alive();
}

#[test]
fn clocks_are_deterministic() {
    let first = probe_data(json!({"action": "clock"}));
    let second = probe_data(json!({"action": "clock"}));
    assert_eq!(first, second);
    // Frozen at 2000-01-01T00:00:00Z.
    assert_eq!(first["wall"], "allowed: 946684800000000000");
    assert_eq!(first["elapsed"], "1000ns", "two readings, 1 µs apart");
}

#[test]
fn sleeping_never_blocks_the_host() {
    // An hour-long sleep would block inside the host, where the epoch
    // deadline cannot reach; sleeps return at once on the guest's own clock.
    let limits = tight(|l| l.timeout = Duration::from_millis(300));
    let start = Instant::now();
    let result =
        run_probe(json!({"action": "sleep", "secs": 3600}), &limits).expect("a sleep is instant");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(data_of(&result)["slept"], "3600000001000ns");
}

#[test]
fn randomness_is_deterministic() {
    let first = probe_data(json!({"action": "random"}));
    let second = probe_data(json!({"action": "random"}));
    assert_eq!(first, second);
    let other = probe_data(json!({"action": "random", "salt": 1}));
    assert_ne!(first, other, "the seed depends on the request");
}

#[test]
fn request_reaches_the_guest_intact() {
    let mut req = request(json!({"action": "echo", "x": [1, "two"]}));
    req.secrets = vec![SecretRef {
        id: "redis".into(),
        secret_name: "demo-redis".into(),
        keys: vec!["REDIS_PASSWORD".into()],
    }];
    let result = runtime()
        .render(probe_component(), &req, &Limits::default())
        .unwrap();
    let data = data_of(&result);
    assert_eq!(data["values"], r#"{"action":"echo","x":[1,"two"]}"#);
    let release: Value = serde_json::from_str(&data["release"]).unwrap();
    assert_eq!(
        release,
        json!({"name": "demo", "namespace": "apps", "revision": 1, "isInstall": true, "isUpgrade": false})
    );
    let chart: Value = serde_json::from_str(&data["chart"]).unwrap();
    assert_eq!(chart["appVersion"], "7.4.2");
    let secrets: Value = serde_json::from_str(&data["secrets"]).unwrap();
    assert_eq!(
        secrets,
        json!([{"id": "redis", "secretName": "demo-redis", "keys": ["REDIS_PASSWORD"]}])
    );
}

#[test]
fn malformed_manifests_pass_through_for_post_processing() {
    for action in ["two-objects", "no-kind", "not-yaml"] {
        let result = run_probe(json!({"action": action}), &Limits::default()).unwrap();
        assert_eq!(result.manifests.len(), 1, "{action}");
        assert_eq!(result.manifests[0].source, "templates/bad.yaml");
    }
}

#[test]
fn renders_run_in_parallel_threads() {
    let outputs: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| run_probe(json!({"action": "clock"}), &Limits::default()).unwrap())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().manifests[0].content.clone())
            .collect()
    });
    assert!(outputs.windows(2).all(|w| w[0] == w[1]));
}

// ---- loading -------------------------------------------------------------

#[test]
fn wrong_contract() {
    let err = runtime()
        .load("old", test_components::wasm("wrong-contract"))
        .unwrap_err();
    assert!(matches!(err, SandboxError::WrongContract { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "component 'old' was built against wasmchart:chart@0.2.0, but this wasmchart implements wasmchart:chart@0.1.0: rebuild it against wasmchart:chart@0.1.0"
    );
}

#[test]
fn not_a_component() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8], &str); 3] = [
        ("core.wasm", b"\0asm\x01\0\0\0", "core WebAssembly module"),
        (
            "text.wasm",
            b"apiVersion: v2\nname: nope\n",
            "not WebAssembly",
        ),
        ("empty.wasm", b"", "too short"),
    ];
    for (file, bytes, reason) in cases {
        let path = dir.path().join(file);
        std::fs::write(&path, bytes).unwrap();
        let err = runtime().load("bad", &path).unwrap_err();
        assert!(
            matches!(err, SandboxError::NotAComponent { .. }),
            "{file}: {err:?}"
        );
        let text = err.to_string();
        assert!(text.starts_with("component 'bad' at '"), "{text}");
        assert!(text.contains(reason), "{text}");
    }
    let missing = dir.path().join("missing.wasm");
    let err = runtime().load("gone", &missing).unwrap_err();
    assert!(matches!(err, SandboxError::Load { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.wasm"), "{err}");
}

// ---- every guest ---------------------------------------------------------

fn render_redis(runtime: &Runtime, component: &LoadedComponent) -> Vec<Value> {
    let result = runtime
        .render(component, &request(json!({})), &Limits::default())
        .unwrap();
    result
        .manifests
        .iter()
        .map(|m| serde_json::from_str(&m.content).unwrap())
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {objects:?}"))
}

#[test]
fn redis() {
    let redis = load("redis");
    let objects = render_redis(runtime(), &redis);
    let service = find(&objects, "Service");
    assert_eq!(service["metadata"]["name"], "redis-master");
    assert_eq!(service["spec"]["ports"][0]["port"], 6379);
    let deployment = find(&objects, "Deployment");
    let selector = &deployment["spec"]["selector"]["matchLabels"];
    assert_eq!(&service["spec"]["selector"], selector);
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "redis:7.4.2");
    assert_eq!(
        container["env"][0]["valueFrom"]["secretKeyRef"],
        json!({"name": "imprun-redis-secret", "key": "REDIS_PASSWORD"})
    );
    assert!(
        container["args"]
            .as_array()
            .unwrap()
            .contains(&json!("$(REDIS_PASSWORD)"))
    );

    let mut req = request(json!({
        "persistence": {"enabled": true, "size": "1Gi"},
        "global": {"imageRegistry": "mirror.example"},
        "service": {"name": "cache"},
    }));
    req.secrets = vec![SecretRef {
        id: "redis".into(),
        secret_name: "demo-redis".into(),
        keys: vec!["REDIS_PASSWORD".into()],
    }];
    let result = runtime().render(&redis, &req, &Limits::default()).unwrap();
    let objects: Vec<Value> = result
        .manifests
        .iter()
        .map(|m| serde_json::from_str(&m.content).unwrap())
        .collect();
    let sts = find(&objects, "StatefulSet");
    let container = &sts["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "mirror.example/redis:7.4.2");
    assert_eq!(
        container["env"][0]["valueFrom"]["secretKeyRef"]["name"],
        "demo-redis"
    );
    assert_eq!(
        sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "1Gi"
    );
    assert!(objects.iter().any(|o| o["metadata"]["name"] == "cache"));

    let err = runtime()
        .render(
            &redis,
            &request(json!({"service": {"port": "six"}})),
            &Limits::default(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("key 'service.port'"), "{err}");
}

/// Components other helpers own: here only that they load against this
/// contract and render their defaults into objects. A guest that refuses
/// to render its own defaults fails too: that would test nothing.
fn loads_and_renders(name: &str, values: Value) {
    let component = load(name);
    match runtime().render(&component, &request(values), &Limits::default()) {
        Ok(result) => assert!(!result.manifests.is_empty(), "{name} rendered nothing"),
        Err(err) => panic!("{name} does not render its defaults: {err}"),
    }
}

#[test]
fn mongodb() {
    loads_and_renders("mongodb", json!({}));
}

#[test]
fn imprun_server() {
    // The data stores' Service names come from the umbrella's `global`.
    let global = json!({"mongodb": {"host": "mongodb"}, "redis": {"host": "redis-master"}});
    loads_and_renders("imprun-server", json!({ "global": global }));
}

#[test]
fn probe() {
    // The probe's actions are covered by the tests above; this one names it
    // for `foreach_fixture!` and checks its default action.
    assert_eq!(probe_data(json!({}))["status"], "ok");
}
