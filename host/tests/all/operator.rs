//! The operator's workflow through the real binary: environments that cannot drift, the
//! derivation identity, `secrets export` and `secrets list`, and the smaller traps (flag
//! validation, `--explain` redaction, malformed `--set`, ignored `--seal-cert`, every missing
//! secret at once, a shared `--secret-key-file`, host objects labelled with the release).
//!
//! Everything here runs without components (throwaway charts without subcharts, or the example
//! with every subchart disabled), except the capability test, which renders the example's
//! imprun-server with the imprun tests' warm compile cache.

use super::support::copy_tree;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// Root key for generated secrets: a test key, not a secret.
const KEY: &str = "696d7072756e2d6578616d706c652d746573742d726f6f742d6b657921212121";
/// The OAuth credentials the example requires (not real).
const OAUTH: [(&str, &str); 4] = [
    ("GITHUB_CLIENT_ID", "gh-id-31f"),
    ("GITHUB_CLIENT_SECRET", "gh-secret-8Qw2"),
    ("GOOGLE_CLIENT_ID", "gg-id-77a"),
    ("GOOGLE_CLIENT_SECRET", "gg-secret-Lp0z"),
];
/// Disables every subchart of the example, so a render runs no component.
const NO_COMPONENTS: [&str; 2] = [
    "--set",
    "mongodb.enabled=false,redis.enabled=false,imprun-server.enabled=false,imprun-console.enabled=false,imp-runtime-exporter.enabled=false",
];
/// Longest any command here may take (the capability test compiles nothing: the imprun
/// tests' cache is warm or it compiles one small Rust component).
const BOUND: Duration = Duration::from_secs(240);

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .join("examples/imprun")
}

/// Runs the binary with a clean environment (plus `envs`), stdin closed, under [`BOUND`].
fn wasmchart(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let home = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("WASMCHART_CONFIG_DIR", home.path().join("config"))
        .env("WASMCHART_CACHE_DIR", home.path().join("cache"))
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("run wasmchart");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(BOUND) {
        Ok(out) => out.expect("wasmchart output"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("wasmchart {args:?} did not finish within {BOUND:?}")
        }
    }
}

fn with_key() -> Vec<(&'static str, &'static str)> {
    let mut envs = vec![("WASMCHART_SECRET_KEY", KEY)];
    envs.extend(OAUTH);
    envs
}

fn stdout_ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "wasmchart failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8")
}

/// Exit status 1, nothing on stdout, stderr one `error: ` paragraph; returns stderr.
fn stderr_err(out: &Output) -> String {
    let err = String::from_utf8(out.stderr.clone()).expect("UTF-8");
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    err
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8")
}

/// A chart without subcharts: `environments:` declares `dev` and `live`, `values-other.yaml`
/// exists, secrets use `strategy` (plus whatever `extra_values` adds).
fn throwaway(strategy: &str, extra_values: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let w = |name: &str, text: &str| fs::write(dir.path().join(name), text).expect("write");
    w(
        "Chart.yaml",
        "apiVersion: v2\nname: shop\nversion: 0.1.0\nenvironments:\n  dev: {values: [values-dev.yaml]}\n  live: {values: [values-live.yaml], namespace: shop-live}\n",
    );
    w(
        "values.yaml",
        &format!(
            "secrets:\n  strategy: {strategy}\n  external:\n    secretStoreRef: {{kind: ClusterSecretStore, name: vault}}\n  items:\n    db:\n      keys:\n        PASSWORD: {{generate: {{length: 20}}}}\n{extra_values}"
        ),
    );
    w("values-dev.yaml", "tier: dev\n");
    w("values-live.yaml", "tier: live\n");
    w("values-other.yaml", "tier: other\n");
    dir
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The objects of a `render -o json` output (one `v1` `List`).
fn documents(text: &str) -> Vec<Value> {
    let list: Value = serde_json::from_str(text).expect("render -o json prints JSON");
    list["items"].as_array().expect("items").clone()
}

/// Standard base64 with padding, to compare a Secret's `data` with an exported value.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn an_environment_the_chart_does_not_declare_is_an_error_listing_the_declared_ones() {
    let example = example();
    let out = wasmchart(
        &["render", path_str(&example), "--env", "production"],
        &with_key(),
    );
    assert_eq!(
        stderr_err(&out),
        "error: unknown environment \"production\": known environments are local, prod, staging\n"
    );
    // values-other.yaml exists, but the map is the whole list.
    let chart = throwaway("secret", "");
    let out = wasmchart(
        &["render", path_str(chart.path()), "--env", "other"],
        &with_key(),
    );
    assert_eq!(
        stderr_err(&out),
        "error: unknown environment \"other\": known environments are dev, live\n"
    );
    let out = wasmchart(
        &[
            "secrets",
            "rotate",
            "db",
            "--env",
            "other",
            "--chart",
            path_str(chart.path()),
        ],
        &[],
    );
    assert!(stderr_err(&out).contains("known environments are dev, live"));
    assert!(!chart.path().join("secret-generations.yaml").exists());
}

#[test]
fn host_objects_record_the_derivation_identity_and_the_release() {
    let chart = throwaway("secret", "");
    let out = wasmchart(
        &[
            "render",
            path_str(chart.path()),
            "--env",
            "live",
            "-v",
            "--release",
            "web",
            "-o",
            "json",
        ],
        &with_key(),
    );
    let text = stdout_ok(&out);
    assert!(
        stderr(&out).contains("secrets: derived for shop/live\n"),
        "{}",
        stderr(&out)
    );
    let objects = documents(&text);
    let secret = objects
        .iter()
        .find(|o| o["kind"] == "Secret")
        .expect("a Secret");
    assert_eq!(
        secret["metadata"]["annotations"]["wasmchart.dev/derived-for"],
        "shop/live"
    );
    assert_eq!(secret["metadata"]["name"], "web-db");
    for o in &objects {
        assert_eq!(
            o["metadata"]["labels"]["app.kubernetes.io/instance"], "web",
            "{o}"
        );
        assert_eq!(
            o["metadata"]["labels"]["app.kubernetes.io/managed-by"], "wasmchart",
            "{o}"
        );
    }
    // Another environment derives another value, and says so.
    let dev = documents(&stdout_ok(&wasmchart(
        &[
            "render",
            path_str(chart.path()),
            "--env",
            "dev",
            "--release",
            "web",
            "-o",
            "json",
        ],
        &with_key(),
    )));
    let dev_secret = dev.iter().find(|o| o["kind"] == "Secret").expect("Secret");
    assert_eq!(
        dev_secret["metadata"]["annotations"]["wasmchart.dev/derived-for"],
        "shop/dev"
    );
    assert_ne!(dev_secret["data"], secret["data"]);
}

#[test]
fn an_environment_file_without_env_warns_naming_the_flag() {
    let chart = throwaway("secret", "");
    let file = chart.path().join("values-live.yaml");
    let out = wasmchart(
        &[
            "render",
            path_str(chart.path()),
            "-f",
            path_str(&file),
            "-v",
        ],
        &with_key(),
    );
    stdout_ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "warning: -f {} is the values file of environment 'live', but --env is not given: secrets are derived for shop/default, not shop/live",
            file.display()
        )) && err.contains("pass --env live instead of -f"),
        "{err}"
    );
    assert!(err.contains("secrets: derived for shop/default\n"), "{err}");
    // A file that belongs to no environment, or with --env, gives no warning.
    for args in [
        vec!["-f", path_str(&chart.path().join("values-other.yaml"))],
        vec!["-f", path_str(&file), "--env", "live"],
    ] {
        let mut all = vec!["render", path_str(chart.path())];
        all.extend(args.iter().copied());
        let out = wasmchart(&all, &with_key());
        stdout_ok(&out);
        assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    }
}

/// The export, loaded into a store (a map), is exactly what the rendered ExternalSecrets read:
/// every remoteRef resolves, every export entry is read, and the values are the derived ones
/// (the `secret` strategy's Secret data for the same environment).
#[test]
fn export_is_exactly_what_the_external_secrets_read() {
    let example = example();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("store.json");
    let out = wasmchart(
        &[
            "secrets",
            "export",
            "--env",
            "prod",
            "--chart",
            path_str(&example),
            "-o",
            path_str(&file),
        ],
        &with_key(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        format!(
            "wrote 5 store entries (8 values) for imprun/prod to {} (mode 0600)\n",
            file.display()
        )
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = fs::metadata(&file).expect("export").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let store: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_str(&fs::read_to_string(&file).expect("read")).expect("JSON");
    let mut args = vec!["render", path_str(&example), "--env", "prod", "-o", "json"];
    args.extend(NO_COMPONENTS);
    let rendered: Value =
        serde_json::from_str(&stdout_ok(&wasmchart(&args, &with_key()))).expect("render JSON");
    let mut read = BTreeMap::new();
    for es in rendered["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|o| o["kind"] == "ExternalSecret")
    {
        for d in es["spec"]["data"].as_array().expect("data") {
            let (key, property) = (
                d["remoteRef"]["key"].as_str().expect("key"),
                d["remoteRef"]["property"].as_str().expect("property"),
            );
            let value = store
                .get(key)
                .and_then(|props| props.get(property))
                .unwrap_or_else(|| panic!("the export has no {key} {property}"));
            read.insert((key.to_string(), property.to_string()), value.clone());
        }
    }
    let exported: usize = store.values().map(BTreeMap::len).sum();
    assert_eq!(
        read.len(),
        exported,
        "every exported value is read by an ExternalSecret"
    );
    assert_eq!(exported, 8);
    let get = |k: &str, p: &str| read[&(k.to_string(), p.to_string())].as_str();
    assert_eq!(
        get("imprun/production/github", "CLIENT_SECRET"),
        "gh-secret-8Qw2"
    );
    assert_eq!(get("imprun/production/jwt", "JWT_SECRET").len(), 44);
    // The same derived values a plain Secret of prod would hold.
    let mut args = vec![
        "render",
        path_str(&example),
        "--env",
        "prod",
        "-o",
        "json",
        "--set",
        "secrets.strategy=secret",
    ];
    args.extend(NO_COMPONENTS);
    let plain: Value =
        serde_json::from_str(&stdout_ok(&wasmchart(&args, &with_key()))).expect("JSON");
    let jwt = plain["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|o| o["kind"] == "Secret" && o["metadata"]["name"] == "imprun-jwt-secret")
        .expect("jwt Secret");
    assert_eq!(
        jwt["data"]["JWT_SECRET"].as_str().expect("data"),
        base64(get("imprun/production/jwt", "JWT_SECRET").as_bytes())
    );
}

#[test]
fn export_refuses_what_it_cannot_do_well() {
    let example = example();
    let chart = path_str(&example);
    // No value for required keys: every one listed, nothing written.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("store.json");
    let out = wasmchart(
        &[
            "secrets",
            "export",
            "--env",
            "prod",
            "--chart",
            chart,
            "-o",
            path_str(&file),
        ],
        &[("WASMCHART_SECRET_KEY", KEY)],
    );
    let err = stderr_err(&out);
    assert!(
        err.starts_with("error: 4 required secret keys have no value:"),
        "{err}"
    );
    for var in OAUTH.map(|(k, _)| k) {
        assert!(
            err.contains(&format!("set the environment variable {var}")),
            "{err}"
        );
    }
    assert!(!file.exists());
    // Another strategy: nothing to publish.
    let out = wasmchart(
        &[
            "secrets",
            "export",
            "--env",
            "staging",
            "--chart",
            chart,
            "-o",
            path_str(&file),
        ],
        &with_key(),
    );
    let err = stderr_err(&out);
    assert!(
        err.contains("environment 'staging' of chart 'imprun' has no secret with strategy external (secrets.strategy is sealed)"),
        "{err}"
    );
    // Without a root key, generated values cannot be exported.
    let out = wasmchart(
        &["secrets", "export", "--env", "prod", "--chart", chart],
        &OAUTH,
    );
    assert!(stderr_err(&out).contains("needs a root key"));
}

/// `secrets export` prints to stdout only when it is not a terminal (a pseudo-terminal from
/// `script(1)` stands in for an operator's shell).
#[test]
fn export_never_prints_to_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        panic!("script(1) (util-linux) is needed for this test");
    }
    let example = example();
    let inner = format!(
        "{} secrets export --env prod --chart {}",
        env!("CARGO_BIN_EXE_wasmchart"),
        example.display()
    );
    let mut envs = with_key();
    envs.push(("TERM", "dumb"));
    let home = tempfile::tempdir().expect("temp dir");
    let out = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .envs(envs)
        .stdin(Stdio::null())
        .output()
        .expect("run script");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("stdout is a terminal: pass -o FILE"),
        "{text}"
    );
    assert!(
        !text.contains("gh-secret-8Qw2") && !text.contains("imprun/production/"),
        "{text}"
    );
    // Piped, it prints the JSON.
    let out = wasmchart(
        &[
            "secrets",
            "export",
            "--env",
            "prod",
            "--chart",
            path_str(&example),
        ],
        &with_key(),
    );
    let store: Value = serde_json::from_str(&stdout_ok(&out)).expect("JSON");
    assert_eq!(
        store["imprun/production/google"]["CLIENT_SECRET"],
        "gg-secret-Lp0z"
    );
}

#[test]
fn list_shows_names_sources_generations_and_consumers_but_no_value() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chart = dir.path().join("imprun");
    copy_tree(&example(), &chart);
    fs::write(chart.join("secret-generations.yaml"), "prod:\n  jwt: 2\n").expect("write");
    let out = wasmchart(
        &[
            "secrets",
            "list",
            "--env",
            "prod",
            "--chart",
            path_str(&chart),
        ],
        &OAUTH,
    );
    let text = stdout_ok(&out);
    for line in [
        "secrets of imprun/prod (namespace imprun-system):\n",
        "jwt: Secret imprun-jwt-secret, strategy external, generation 2\n  store entry: imprun/production/jwt\n  consumers: imprun-server\n  key JWT_SECRET: generated (32, base64)\n",
        "redis: Secret imprun-redis-secret, strategy external, generation 0\n  store entry: imprun/production/redis\n  consumers: redis, imprun-server\n",
        "  key CLIENT_SECRET: env GITHUB_CLIENT_SECRET\n",
    ] {
        assert!(text.contains(line), "{line}\n---\n{text}");
    }
    for (_, value) in OAUTH {
        assert!(!text.contains(value), "{text}");
    }
    // No root key needed; a missing variable is shown as missing.
    let out = wasmchart(
        &[
            "secrets",
            "list",
            "--env",
            "prod",
            "--chart",
            path_str(&chart),
        ],
        &[],
    );
    assert!(stdout_ok(&out).contains(
        "  key CLIENT_SECRET: missing (required; set GITHUB_CLIENT_SECRET or --set its value)\n"
    ));
}

#[test]
fn rotating_an_external_secret_says_to_publish_again_and_export_changes_only_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chart = dir.path().join("imprun");
    copy_tree(&example(), &chart);
    let export = || -> BTreeMap<String, Value> {
        let out = wasmchart(
            &[
                "secrets",
                "export",
                "--env",
                "prod",
                "--chart",
                path_str(&chart),
            ],
            &with_key(),
        );
        serde_json::from_str(&stdout_ok(&out)).expect("JSON")
    };
    let before = export();
    let out = wasmchart(
        &[
            "secrets",
            "rotate",
            "jwt",
            "--env",
            "prod",
            "--chart",
            path_str(&chart),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("secret 'jwt' of environment 'prod' is now at generation 1\nsecret 'jwt' uses strategy external: the store still holds the old value")
            && err.contains(&format!(
                "wasmchart secrets export --env prod --chart {} -o FILE",
                chart.display()
            )),
        "{err}"
    );
    let after = export();
    for (key, value) in &before {
        if key == "imprun/production/jwt" {
            assert_ne!(&after[key], value);
        } else {
            assert_eq!(&after[key], value, "{key}");
        }
    }
    // Staging seals: no publishing step to mention.
    let out = wasmchart(
        &[
            "secrets",
            "rotate",
            "jwt",
            "--env",
            "staging",
            "--chart",
            path_str(&chart),
        ],
        &[],
    );
    assert_eq!(
        stderr(&out),
        "secret 'jwt' of environment 'staging' is now at generation 1\n"
    );
}

#[test]
fn kube_version_and_api_versions_are_validated() {
    let chart = throwaway("secret", "");
    let c = path_str(chart.path());
    for (flag, value, needle) in [
        (
            "--kube-version",
            "banana",
            "\"banana\" is not a Kubernetes version: expected 1.MINOR or 1.MINOR.PATCH",
        ),
        (
            "--kube-version",
            "1.16",
            "Kubernetes 1.16 is older than the oldest version whose APIs wasmchart knows (1.19)",
        ),
        (
            "-a",
            "not a version",
            "\"not a version\" is not an API version: expected group/version or group/version/Kind",
        ),
        ("-a", "apps/v1/", "\"apps/v1/\" is not an API version"),
    ] {
        let out = wasmchart(&["render", c, "--env", "dev", flag, value], &with_key());
        let err = stderr_err(&out);
        assert!(err.contains(needle), "{flag} {value}: {err}");
        assert!(
            err.contains("--kube-version <VERSION>") || err.contains("--api-versions <VERSION>"),
            "the flag is named: {err}"
        );
    }
    for (flag, value) in [
        ("--kube-version", "1.22"),
        ("--kube-version", "v1.30.4-gke.1"),
        ("-a", "monitoring.coreos.com/v1/ServiceMonitor"),
    ] {
        stdout_ok(&wasmchart(
            &["render", c, "--env", "dev", flag, value],
            &with_key(),
        ));
    }
}

/// The API list follows `--kube-version`, and the example's imprun-server picks its
/// HorizontalPodAutoscaler version from it, as its Helm twin does.
#[test]
fn the_autoscaler_follows_the_clusters_apis() {
    let example = example();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache");
    let config = Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache-config");
    let mut envs = with_key();
    envs.push(("WASMCHART_CACHE_DIR", path_str(&cache)));
    envs.push(("WASMCHART_CONFIG_DIR", path_str(&config)));
    let hpa = |extra: &[&str]| -> Value {
        let mut args = vec![
            "render",
            path_str(&example),
            "--env",
            "prod",
            "-o",
            "json",
            "--set",
            "mongodb.enabled=false,redis.enabled=false,imprun-console.enabled=false,imp-runtime-exporter.enabled=false",
        ];
        args.extend(extra);
        let list: Value = serde_json::from_str(&stdout_ok(&wasmchart(&args, &envs))).expect("JSON");
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|o| o["kind"] == "HorizontalPodAutoscaler")
            .expect("an HPA in prod")
            .clone()
    };
    let v131 = hpa(&[]);
    assert_eq!(v131["apiVersion"], "autoscaling/v2");
    assert_eq!(
        v131["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        70
    );
    let v122 = hpa(&["--kube-version", "1.22"]);
    assert_eq!(v122["apiVersion"], "autoscaling/v2beta2");
    assert_eq!(v122["spec"]["metrics"], v131["spec"]["metrics"]);
    // A cluster that serves autoscaling/v2 through -a gets it back.
    let extra = hpa(&["--kube-version", "1.22", "-a", "autoscaling/v2"]);
    assert_eq!(extra["apiVersion"], "autoscaling/v2");
}

#[test]
fn explain_never_prints_a_secret_in_the_flag_text() {
    let chart = throwaway("secret", "");
    let c = path_str(chart.path());
    let flag = "tier=x,secrets.items.db.keys.PASSWORD.value=hunter2-Zz";
    for path in [
        "secrets.items.db.keys.PASSWORD.value",
        "tier",
        "secrets.items.db",
    ] {
        let out = wasmchart(&["values", c, "--set", flag, "--explain", path], &[]);
        let text = stdout_ok(&out);
        assert!(!text.contains("hunter2"), "{path}: {text}");
        assert!(
            text.contains("--set (expression hidden: it supplies a secret value)"),
            "{path}: {text}"
        );
    }
    // --set-json and --set-string too; a flag without a secret is shown as given.
    for (f, e) in [
        (
            "--set-json",
            r#"{"secrets":{"items":{"db":{"keys":{"PASSWORD":{"value":"hunter2-Zz"}}}}}}"#,
        ),
        (
            "--set-string",
            "secrets.items.db.keys.PASSWORD.value=hunter2-Zz",
        ),
    ] {
        let out = wasmchart(
            &[
                "values",
                c,
                f,
                e,
                "--explain",
                "secrets.items.db.keys.PASSWORD",
            ],
            &[],
        );
        let text = stdout_ok(&out);
        assert!(!text.contains("hunter2"), "{f}: {text}");
        assert!(
            text.contains(&format!("{f} (expression hidden")),
            "{f}: {text}"
        );
    }
    let out = wasmchart(
        &["values", c, "--set", "tier=plain", "--explain", "tier"],
        &[],
    );
    assert!(stdout_ok(&out).contains("--set tier=plain"));
}

#[test]
fn a_malformed_set_is_an_error_naming_the_flag_and_position() {
    let chart = throwaway("secret", "");
    let c = path_str(chart.path());
    for cmd in ["values", "render"] {
        let out = wasmchart(&[cmd, c, "--env", "dev", "--set", "a[=1"], &with_key());
        assert_eq!(
            stderr_err(&out),
            "error: failed parsing --set \"a[=1\": the '[' at character 2 has no closing ']' (Helm would silently ignore the rest of the expression)\n"
        );
    }
}

#[test]
fn seal_cert_under_another_strategy_warns() {
    let chart = throwaway("secret", "");
    let cert = example().join("sealed-secrets-cert.pem");
    let out = wasmchart(
        &[
            "render",
            path_str(chart.path()),
            "--env",
            "dev",
            "--seal-cert",
            path_str(&cert),
        ],
        &with_key(),
    );
    stdout_ok(&out);
    assert_eq!(
        stderr(&out),
        "warning: --seal-cert is ignored: no secret in this render uses strategy sealed\n"
    );
    // Sealed: used, no warning.
    let sealed = throwaway("sealed", "");
    let out = wasmchart(
        &[
            "render",
            path_str(sealed.path()),
            "--env",
            "dev",
            "--seal-cert",
            path_str(&cert),
        ],
        &with_key(),
    );
    assert!(stdout_ok(&out).contains("kind: SealedSecret"));
    assert_eq!(stderr(&out), "");
}

#[test]
fn every_missing_required_secret_is_in_one_error() {
    let chart = throwaway(
        "secret",
        "    api:\n      keys:\n        TOKEN: {required: true, env: API_TOKEN}\n        OTHER: {required: true}\n",
    );
    let out = wasmchart(
        &["render", path_str(chart.path()), "--env", "dev"],
        &with_key(),
    );
    let err = stderr_err(&out);
    assert!(
        err.starts_with("error: 2 required secret keys have no value:\n"),
        "{err}"
    );
    assert!(
        err.contains("secret \"api\" key \"OTHER\" is required but has no value: pass --set secrets.items.api.keys.OTHER.value=VALUE")
            && err.contains("--set secrets.items.api.keys.TOKEN.value=VALUE or --set-file secrets.items.api.keys.TOKEN.value=PATH, or set the environment variable API_TOKEN"),
        "{err}"
    );
}

#[test]
fn a_key_file_others_can_read_is_refused_with_the_fix() {
    use std::os::unix::fs::PermissionsExt as _;
    let chart = throwaway("secret", "");
    let dir = tempfile::tempdir().expect("temp dir");
    let key = dir.path().join("root.key");
    fs::write(&key, format!("{KEY}\n")).expect("write key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).expect("chmod");
    let args = [
        "render",
        path_str(chart.path()),
        "--env",
        "dev",
        "--secret-key-file",
        path_str(&key),
    ];
    let err = stderr_err(&wasmchart(&args, &[]));
    assert!(
        err.contains(&format!("root key from {}", key.display()))
            && err.contains("(mode 0644)")
            && err.contains(&format!("chmod 600 {}", key.display()))
            && !err.contains(KEY),
        "{err}"
    );
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).expect("chmod");
    stdout_ok(&wasmchart(&args, &[]));
}
