//! The bundled example, `examples/imprun`, rendered by the real `wasmchart`
//! binary for each of its environments, as a user runs it:
//! - the output equals the golden file `host/tests/data/golden/imprun-<env>.yaml`
//!   (after an intended change, regenerate them with `WASMCHART_BLESS=1
//!   cargo test -p wasmchart --test all imprun` and review the diff; any
//!   other value of `WASMCHART_BLESS` fails, and `.ci/run` refuses it);
//! - every object passes Kubernetes 1.31 schema validation, and the
//!   Certificates, ExternalSecrets and SealedSecrets their CRD schemas
//!   (`scripts/k8s_validate.py` in the project's `.venv`);
//! - production shows the guide's numbers; local renders MongoDB and Redis
//!   only; a new environment takes its values file and its `environments:` line.
//!
//! The components are built by `scripts/build-components.sh`; a component
//! whose sources changed since (its stamp in `target/guests/stamps/`) fails
//! every test here instead of being tested stale.

use super::support::copy_tree;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, PoisonError};

/// Root key for generated secrets (32 bytes, hex): fixed, so the golden
/// files are stable. A test key, not a secret.
const SECRET_KEY: &str = "696d7072756e2d6578616d706c652d746573742d726f6f742d6b657921212121";
/// The OAuth credentials the example requires (not real).
const OAUTH_ENV: [(&str, &str); 4] = [
    ("GITHUB_CLIENT_ID", "test-github-client-id"),
    ("GITHUB_CLIENT_SECRET", "test-github-client-secret"),
    ("GOOGLE_CLIENT_ID", "test-google-client-id"),
    ("GOOGLE_CLIENT_SECRET", "test-google-client-secret"),
];
const SUBCHARTS: [&str; 5] = [
    "mongodb",
    "redis",
    "imprun-server",
    "imprun-console",
    "imp-runtime-exporter",
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_path_buf()
}

fn chart_dir() -> PathBuf {
    repo_root().join("examples/imprun")
}

/// Fails with the fix when a component was not built, or was built from
/// other sources than the ones in the tree (see [`require_fresh_component`]).
fn require_components(chart: &Path) {
    static CHECKED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    CHECKED.get_or_init(|| {
        for sub in SUBCHARTS {
            let wasm = chart.join(format!("charts/{sub}/{sub}.wasm"));
            assert!(
                wasm.is_file(),
                "component {} is missing: run scripts/build-components.sh",
                wasm.display()
            );
            require_fresh_component(sub);
        }
    });
}

/// The source files each example component is built from, as
/// `scripts/build-components.sh` lists them (`inputs`).
fn component_inputs(sub: &str) -> Vec<String> {
    match sub {
        "imprun-console" => vec![
            "plugins/js/build.mjs".into(),
            "plugins/js/package-lock.json".into(),
            format!("plugins/js/{sub}"),
            "wit".into(),
        ],
        "imp-runtime-exporter" => vec![
            "plugins/python/requirements.txt".into(),
            format!("plugins/python/{sub}"),
            "wit".into(),
        ],
        _ => vec![
            "plugins/Cargo.toml".into(),
            "plugins/Cargo.lock".into(),
            "plugins/sdk".into(),
            format!("plugins/components/{sub}"),
            "wit".into(),
        ],
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Regular files under `rel` (a repository path), not following symlinks,
/// as `find -type f` does, without the folders `NOT_INPUTS` in
/// `scripts/build-components.sh` skips (caches, packages, unit tests).
fn files_under(rel: &str, out: &mut Vec<String>) {
    let path = repo_root().join(rel);
    let Ok(meta) = fs::symlink_metadata(&path) else {
        return;
    };
    if meta.is_file() {
        out.push(rel.to_string());
    } else if meta.is_dir() {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        if matches!(name, "__pycache__" | "node_modules" | "test" | "tests") {
            return;
        }
        for entry in fs::read_dir(&path).expect("read source dir") {
            let name = entry.expect("dir entry").file_name();
            let name = name.to_str().expect("UTF-8 source path");
            files_under(&format!("{rel}/{name}"), out);
        }
    }
}

/// The hash `inputs_hash` in `scripts/build-components.sh` computes: SHA-256
/// of the `sha256sum` lines of every input file, sorted by path.
fn inputs_hash(sub: &str) -> String {
    let mut files = Vec::new();
    for rel in component_inputs(sub) {
        files_under(&rel, &mut files);
    }
    files.sort_unstable();
    let listing: String = files
        .iter()
        .map(|f| {
            let bytes = fs::read(repo_root().join(f)).expect("read source file");
            format!("{}  {f}\n", sha256_hex(&bytes))
        })
        .collect();
    sha256_hex(listing.as_bytes())
}

/// Fails, naming `scripts/build-components.sh`, unless the installed
/// `examples/imprun/charts/<sub>/<sub>.wasm` is the one the script built
/// from the sources now in the tree: the script's stamp
/// (`target/guests/stamps/<sub>`) must name both this file's SHA-256 and
/// the current sources' hash. Without it a local `cargo test` after editing
/// a component would silently test the old bytes.
pub(crate) fn require_fresh_component(sub: &str) {
    static FRESH: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut fresh = FRESH.lock().unwrap_or_else(PoisonError::into_inner);
    if fresh.iter().any(|s| s == sub) {
        return;
    }
    check_fresh(sub);
    fresh.push(sub.to_string());
}

fn check_fresh(sub: &str) {
    let stamp_path = repo_root().join(format!("target/guests/stamps/{sub}"));
    let stamp = fs::read_to_string(&stamp_path).unwrap_or_else(|e| {
        panic!(
            "component '{sub}' has no build record {} ({e}): run scripts/build-components.sh",
            stamp_path.display()
        )
    });
    let field = |name: &str| {
        stamp
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{}: no '{name}' line", stamp_path.display()))
            .to_string()
    };
    let wasm = chart_dir().join(format!("charts/{sub}/{sub}.wasm"));
    let bytes = fs::read(&wasm).unwrap_or_else(|e| {
        panic!(
            "component {} is missing ({e}): run scripts/build-components.sh",
            wasm.display()
        )
    });
    assert!(
        sha256_hex(&bytes) == field("wasm"),
        "{} is not the component scripts/build-components.sh last built: run scripts/build-components.sh",
        wasm.display()
    );
    assert!(
        inputs_hash(sub) == field("inputs"),
        "component '{sub}' is stale: its sources ({}) changed since it was built; run \
         scripts/build-components.sh",
        component_inputs(sub).join(", ")
    );
}

/// Every example component was built from the sources in the tree.
#[test]
fn example_components_match_their_sources() {
    for sub in SUBCHARTS {
        require_fresh_component(sub);
    }
}

/// Whether the example's components are in the shared compile cache yet.
static WARMED: Mutex<bool> = Mutex::new(false);

/// Runs `wasmchart render <chart> --env <env> <extra>` with a clean
/// environment holding only the inputs the example needs.
///
/// The first call compiles every component into the test compile cache
/// (seconds for the JavaScript and Python ones) while the other tests wait,
/// so each component is compiled once, not once per test.
fn run(chart: &Path, env: &str, extra: &[&str]) -> Output {
    require_components(&chart_dir());
    let mut warmed = WARMED.lock().unwrap_or_else(PoisonError::into_inner);
    if !*warmed {
        let out = run_uncached(&chart_dir(), "prod", &[]);
        *warmed = out.status.success();
    }
    drop(warmed);
    run_uncached(chart, env, extra)
}

fn run_uncached(chart: &Path, env: &str, extra: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("temp dir");
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    cmd.arg("render")
        .arg(chart)
        .args(["--env", env])
        .args(extra)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("WASMCHART_CACHE_DIR", cache)
        // The shared cache's key (see sandbox/cache): one for every test run.
        .env(
            "WASMCHART_CONFIG_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache-config"),
        )
        .env("WASMCHART_SECRET_KEY", SECRET_KEY)
        .envs(OAUTH_ENV)
        .current_dir(repo_root())
        .stdin(Stdio::null());
    cmd.output().expect("run wasmchart")
}

fn render_ok(chart: &Path, env: &str, extra: &[&str]) -> String {
    let out = run(chart, env, extra);
    assert!(
        out.status.success(),
        "wasmchart render --env {env} {extra:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("output is UTF-8")
}

/// The rendered objects (`-o json` prints one `v1` `List`).
fn objects(env: &str) -> Vec<Value> {
    let text = render_ok(&chart_dir(), env, &["-o", "json"]);
    let list: Value = serde_json::from_str(&text).expect("-o json prints JSON");
    list["items"].as_array().expect("a List with items").clone()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} '{name}' in the output"))
}

fn env_var<'a>(container: &'a Value, name: &str) -> &'a Value {
    container["env"]
        .as_array()
        .and_then(|env| env.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("container has no env var {name}"))
}

/// The first line where `want` and `got` differ, with context, for a
/// readable failure without an external diff tool.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let at = w
        .iter()
        .zip(&g)
        .position(|(a, b)| a != b)
        .unwrap_or(w.len().min(g.len()));
    let window = |lines: &[&str]| {
        let start = at.saturating_sub(3);
        lines[start..lines.len().min(at + 4)]
            .iter()
            .enumerate()
            .map(|(i, l)| format!("{:>5} | {l}", start + i + 1))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "first difference at line {} ({} lines expected, {} rendered)\n--- golden\n{}\n--- rendered\n{}",
        at + 1,
        w.len(),
        g.len(),
        window(&w),
        window(&g)
    )
}

/// Whether this run rewrites the golden files: only `WASMCHART_BLESS=1`,
/// and never under CI. Any other value (`0`, empty, `yes`) is a mistake
/// that would otherwise silently turn the comparison off, so it fails.
fn blessing() -> bool {
    match std::env::var("WASMCHART_BLESS") {
        Err(std::env::VarError::NotPresent) => false,
        Ok(v) if v == "1" => {
            assert!(
                std::env::var_os("CI").is_none(),
                "WASMCHART_BLESS=1 under CI: goldens are blessed locally and reviewed, never in CI"
            );
            true
        }
        Ok(v) => panic!(
            "WASMCHART_BLESS={v:?}: only WASMCHART_BLESS=1 rewrites the golden files; unset it to compare"
        ),
        Err(e) => panic!("WASMCHART_BLESS is not valid: {e}"),
    }
}

fn check_golden(env: &str) {
    let rendered = render_ok(&chart_dir(), env, &[]);
    let golden = repo_root().join(format!("host/tests/data/golden/imprun-{env}.yaml"));
    if blessing() {
        fs::create_dir_all(golden.parent().expect("golden dir")).expect("create golden dir");
        fs::write(&golden, &rendered).expect("write golden file");
        return;
    }
    let want = fs::read_to_string(&golden).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; create it with WASMCHART_BLESS=1",
            golden.display()
        )
    });
    assert!(
        want == rendered,
        "output of --env {env} differs from {}; if the change is intended, rerun with \
         WASMCHART_BLESS=1 and review the diff\n{}",
        golden.display(),
        first_difference(&want, &rendered)
    );
}

/// Kubernetes 1.31 schema validation by `scripts/k8s_validate.py`; the
/// cert-manager and External Secrets objects against their CRD schemas (the
/// services crate's fixtures).
fn check_schemas(env: &str) {
    let rendered = render_ok(&chart_dir(), env, &[]);
    let python = repo_root().join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/setup.sh (it installs the schema validator from \
         scripts/requirements-check.txt)",
        python.display()
    );
    let mut child = Command::new(&python)
        .arg(repo_root().join("scripts/k8s_validate.py"))
        .args(["--kube-version", "1.31", "--quiet", "--crd-schemas"])
        .arg(repo_root().join("crates/services/tests/data/crds"))
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run scripts/k8s_validate.py");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(rendered.as_bytes())
            .expect("feed validator");
    }
    let out = child.wait_with_output().expect("validator finishes");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "--env {env}: Kubernetes 1.31 schema validation failed:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains(" 0 invalid"), "unexpected report: {report}");
    assert!(
        report.contains(" 0 custom resources without schema"),
        "--env {env}: Certificates, ExternalSecrets and SealedSecrets must meet their CRD \
         schemas (crates/services/tests/data/crds): {report}"
    );
}

#[test]
fn local_matches_golden() {
    check_golden("local");
}

#[test]
fn staging_matches_golden() {
    check_golden("staging");
}

#[test]
fn prod_matches_golden() {
    check_golden("prod");
}

#[test]
fn every_environment_passes_kubernetes_1_31_schemas() {
    for env in ["local", "staging", "prod"] {
        check_schemas(env);
    }
}

#[test]
fn rendering_twice_gives_identical_bytes() {
    for env in ["local", "staging", "prod"] {
        let first = render_ok(&chart_dir(), env, &[]);
        let second = render_ok(&chart_dir(), env, &[]);
        assert!(
            first == second,
            "--env {env} is not deterministic\n{}",
            first_difference(&first, &second)
        );
    }
}

#[test]
fn prod_shows_the_guides_numbers() {
    let objects = objects("prod");
    for object in &objects {
        if let Some(ns) = object["metadata"]["namespace"].as_str() {
            assert_eq!(
                ns, "imprun-system",
                "{} in the wrong namespace",
                object["metadata"]["name"]
            );
        }
    }
    let server = find(&objects, "Deployment", "imprun-imprun-server");
    assert!(
        server["spec"].get("replicas").is_none(),
        "the autoscaler owns the replica count"
    );
    let container = &server["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "docker.io/junsik/imprun-server:v1.2.3");
    assert_eq!(
        env_var(container, "SERVICE_DOMAIN")["value"],
        "app.imprun.dev"
    );
    assert_eq!(
        env_var(container, "CONSOLE_URL")["value"],
        "https://portal.imprun.dev"
    );
    assert_eq!(env_var(container, "JWT_EXPIRES_IN")["value"], "7d");
    assert_eq!(env_var(container, "MONGODB_HOST")["value"], "mongodb");
    assert_eq!(env_var(container, "REDIS_HOST")["value"], "redis-master");
    assert_eq!(container["resources"]["limits"]["memory"], "4Gi");
    for (var, secret, key) in [
        ("JWT_SECRET", "imprun-jwt-secret", "JWT_SECRET"),
        (
            "MONGODB_PASSWORD",
            "imprun-mongodb-secret",
            "MONGODB_ROOT_PASSWORD",
        ),
        ("REDIS_PASSWORD", "imprun-redis-secret", "REDIS_PASSWORD"),
        (
            "GITHUB_CLIENT_SECRET",
            "imprun-github-oauth",
            "CLIENT_SECRET",
        ),
        ("GOOGLE_CLIENT_ID", "imprun-google-oauth", "CLIENT_ID"),
    ] {
        let reference = &env_var(container, var)["valueFrom"]["secretKeyRef"];
        assert_eq!(reference["name"], secret, "{var}");
        assert_eq!(reference["key"], key, "{var}");
    }

    let hpa = find(&objects, "HorizontalPodAutoscaler", "imprun-imprun-server");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["spec"]["minReplicas"], 3);
    assert_eq!(hpa["spec"]["maxReplicas"], 10);
    let metric = &hpa["spec"]["metrics"][0]["resource"];
    assert_eq!(metric["name"], "cpu");
    assert_eq!(metric["target"]["averageUtilization"], 70);
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        "imprun-imprun-server"
    );

    let mongodb = find(&objects, "StatefulSet", "mongodb");
    assert_eq!(mongodb["spec"]["replicas"], 3);
    assert_eq!(
        mongodb["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        "100Gi"
    );
    let args = &mongodb["spec"]["template"]["spec"]["containers"][0]["args"];
    assert!(
        args.as_array()
            .is_some_and(|a| a.windows(2).any(|w| w[0] == "--replSet" && w[1] == "rs0")),
        "mongod runs as replica set rs0: {args}"
    );
    let headless = find(&objects, "Service", "mongodb");
    assert_eq!(headless["spec"]["clusterIP"], "None");

    let redis = find(&objects, "Deployment", "redis-master");
    let redis_container = &redis["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        env_var(redis_container, "REDIS_PASSWORD")["valueFrom"]["secretKeyRef"]["name"],
        "imprun-redis-secret",
        "redis auth is on in production"
    );
    assert!(
        redis_container["args"]
            .to_string()
            .contains("--requirepass")
    );

    let certificates: Vec<&Value> = objects
        .iter()
        .filter(|o| o["kind"] == "Certificate")
        .collect();
    assert!(!certificates.is_empty(), "production issues certificates");
    for certificate in certificates {
        assert_eq!(certificate["spec"]["issuerRef"]["name"], "letsencrypt-prod");
    }
    assert!(
        objects.iter().any(|o| o["kind"] == "ExternalSecret"),
        "production secrets come from the external manager"
    );
    assert!(
        !objects.iter().any(|o| o["kind"] == "Secret"),
        "no plain Secret in production"
    );
}

/// The subchart an object belongs to, from its standard name label.
fn subchart_of(object: &Value) -> Option<&str> {
    object["metadata"]["labels"]["app.kubernetes.io/name"].as_str()
}

#[test]
fn local_renders_mongodb_and_redis_only() {
    let objects = objects("local");
    let mut subcharts: Vec<&str> = objects
        .iter()
        .filter(|o| {
            !matches!(
                o["kind"].as_str(),
                Some("Secret" | "ServiceAccount" | "Role" | "RoleBinding")
            )
        })
        .filter_map(subchart_of)
        .collect();
    subcharts.sort_unstable();
    subcharts.dedup();
    assert_eq!(
        subcharts,
        ["mongodb", "redis"],
        "local runs the data stores only"
    );
    for kind in ["Ingress", "HorizontalPodAutoscaler", "Certificate"] {
        assert!(
            !objects.iter().any(|o| o["kind"] == kind),
            "local renders no {kind}"
        );
    }
    for object in &objects {
        if let Some(ns) = object["metadata"]["namespace"].as_str() {
            assert_eq!(ns, "imprun-local");
        }
    }
    let mongodb = find(&objects, "StatefulSet", "mongodb");
    assert_eq!(mongodb["spec"]["replicas"], 1);
    let args = mongodb["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(
        !args.contains("--replSet"),
        "a single mongod is no replica set: {args}"
    );
    assert_eq!(
        find(&objects, "Service", "mongodb-external")["spec"]["type"],
        "NodePort"
    );
    assert_eq!(
        find(&objects, "Service", "redis-master")["spec"]["type"],
        "NodePort"
    );
    let redis =
        &find(&objects, "Deployment", "redis-master")["spec"]["template"]["spec"]["containers"][0];
    assert!(
        redis.get("env").is_none(),
        "no redis password locally: {redis}"
    );
}

#[test]
fn staging_seals_its_secrets_and_uses_staging_images() {
    let objects = objects("staging");
    for object in &objects {
        if let Some(ns) = object["metadata"]["namespace"].as_str() {
            assert_eq!(ns, "imprun-staging");
        }
    }
    let server = find(&objects, "Deployment", "imprun-imprun-server");
    let container = &server["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "docker.io/junsik/imprun-server:staging");
    assert_eq!(container["imagePullPolicy"], "Always");
    assert_eq!(server["spec"]["replicas"], 1);
    assert!(objects.iter().any(|o| o["kind"] == "SealedSecret"));
    assert!(
        !objects.iter().any(|o| o["kind"] == "Secret"),
        "no plain Secret in staging"
    );
    let ingress = find(&objects, "Ingress", "imprun-imprun-console");
    assert_eq!(
        ingress["spec"]["tls"][0]["secretName"],
        "imprun-console-tls"
    );
    assert_eq!(
        ingress["spec"]["rules"][0]["host"],
        "console.staging.imprun.dev"
    );
}

/// The guide's QA scenario: a new values file and its line in Chart.yaml's `environments:`,
/// which is the complete list (the file alone is not an environment).
#[test]
fn a_new_environment_takes_a_values_file_and_its_environments_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chart = dir.path().join("imprun");
    copy_tree(&chart_dir(), &chart);
    let staging = fs::read_to_string(chart.join("values-staging.yaml")).expect("staging values");
    let qa = staging
        .replace("staging.imprun.dev", "qa.imprun.dev")
        .replace("tag: staging", "tag: qa");
    fs::write(chart.join("values-qa.yaml"), qa).expect("write values-qa.yaml");
    let out = run(&chart, "qa", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: unknown environment \"qa\": known environments are local, prod, staging\n"
    );
    let chart_yaml = fs::read_to_string(chart.join("Chart.yaml")).expect("Chart.yaml");
    let chart_yaml = chart_yaml.replace(
        "  staging: {values: [values-staging.yaml]}\n",
        "  staging: {values: [values-staging.yaml]}\n  qa: {values: [values-qa.yaml]}\n",
    );
    assert!(
        chart_yaml.contains("qa: {values"),
        "the example's environments: map moved"
    );
    fs::write(chart.join("Chart.yaml"), chart_yaml).expect("write Chart.yaml");
    let text = render_ok(&chart, "qa", &["-o", "json"]);
    let list: Value = serde_json::from_str(&text).expect("JSON");
    let objects = list["items"].as_array().expect("items");
    assert!(!objects.is_empty());
    for object in objects {
        if let Some(ns) = object["metadata"]["namespace"].as_str() {
            assert_eq!(
                ns, "imprun-qa",
                "the default namespace of a new environment"
            );
        }
    }
    let server = find(objects, "Deployment", "imprun-imprun-server");
    let container = &server["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "docker.io/junsik/imprun-server:qa");
    assert_eq!(
        env_var(container, "SERVICE_DOMAIN")["value"],
        "api.qa.imprun.dev"
    );
}

#[test]
fn an_unknown_environment_is_an_error_naming_it() {
    let out = run(&chart_dir(), "nowhere", &[]);
    assert!(!out.status.success(), "--env nowhere must fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("nowhere"),
        "error names the environment: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
}

/// Staging's SealedSecrets are sealed to the example's demo certificate
/// (`sealed-secrets-cert.pem`): its private key, kept as a test fixture,
/// opens them to the supplied and generated values, and no plaintext value
/// appears anywhere in the output.
#[test]
fn staging_sealed_secrets_open_with_the_demo_controller_key() {
    use wasmchart_services::Scope;
    use wasmchart_services::kubeseal::{UnsealingKey, scope_label};
    let key_path = repo_root().join("host/tests/data/imprun-sealing-key.pem");
    let pem = fs::read_to_string(&key_path).expect("demo sealing key fixture");
    let key = UnsealingKey::from_pem(&pem, "imprun-sealing-key.pem").expect("RSA key");
    let text = render_ok(&chart_dir(), "staging", &["-o", "json"]);
    for (_, value) in OAUTH_ENV {
        assert!(
            !text.contains(value),
            "plaintext '{value}' leaked into the output"
        );
    }
    let list: Value = serde_json::from_str(&text).expect("JSON");
    let objects = list["items"].as_array().expect("items");
    let open = |name: &str, field: &str| -> String {
        let sealed = find(objects, "SealedSecret", name);
        let data = sealed["spec"]["encryptedData"][field]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no encryptedData.{field}"));
        let label = scope_label(Scope::Strict, "imprun-staging", name);
        let value = key.unseal(data, &label).expect("unseal");
        String::from_utf8(value.expose().to_vec()).expect("UTF-8")
    };
    assert_eq!(
        open("imprun-github-oauth", "CLIENT_ID"),
        "test-github-client-id"
    );
    assert_eq!(
        open("imprun-google-oauth", "CLIENT_SECRET"),
        "test-google-client-secret"
    );
    let password = open("imprun-mongodb-secret", "MONGODB_ROOT_PASSWORD");
    assert_eq!(password.len(), 24);
    assert!(password.chars().all(|c| c.is_ascii_alphanumeric()));
    assert!(!text.contains(&password), "the generated password leaked");
}

/// Bad values in the example fail the render with an error naming the
/// component and the key in the component's own words (`key '...'`, which
/// the echoed `--set` flag does not contain), and why; never a panic.
#[test]
fn bad_values_name_the_component_and_key() {
    let cases: [(&str, &str, &str, &str); 6] = [
        (
            "mongodb.storage.size=lots",
            "mongodb",
            "storage.size",
            "not a Kubernetes quantity",
        ),
        (
            "mongodb.replicaSetName=",
            "mongodb",
            "replicaSetName",
            "must be set",
        ),
        (
            "mongodb.service.nodePort=80",
            "mongodb",
            "service.nodePort",
            "node port range",
        ),
        (
            "imprun-server.autoscaling.maxReplicas=2",
            "imprun-server",
            "autoscaling.maxReplicas",
            "below autoscaling.minReplicas",
        ),
        (
            "imprun-server.env.NESTED.a=b",
            "imprun-server",
            "env.NESTED",
            "expected a string",
        ),
        (
            "global.mongodb.host=",
            "imprun-server",
            "global.mongodb.host",
            "is required",
        ),
    ];
    for (set, component, key, why) in cases {
        let out = run(&chart_dir(), "prod", &["--set", set]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "--set {set} must fail: {stderr}"
        );
        assert!(out.stdout.is_empty(), "--set {set}: no output on error");
        let want =
            format!("component '{component}' refused to render (invalid values): key '{key}': ");
        assert!(
            stderr.contains(&want),
            "--set {set}: expected {want:?} in: {stderr}"
        );
        assert!(
            stderr.contains(why),
            "--set {set}: says why ({why:?}): {stderr}"
        );
        assert!(
            !stderr.contains("panicked"),
            "--set {set}: no panic: {stderr}"
        );
    }
}

/// plugins/README ("Limits"): the first-party JavaScript and Python
/// components render within `--memory-limit 16Mi --timeout 200ms`; at 8Mi
/// the Python one fails and the JavaScript one (QuickJS) still renders, and
/// at 1Mi it fails too, each named with the limit.
#[test]
fn javascript_and_python_components_fit_the_documented_headroom() {
    render_ok(
        &chart_dir(),
        "prod",
        &["--memory-limit", "16Mi", "--timeout", "200ms"],
    );
    let exceeded = |component: &str, limit: &str| {
        format!("component '{component}' exceeded its {limit} memory limit")
    };
    for (limit, failing, rendering) in [
        (
            "8Mi",
            &["imp-runtime-exporter"][..],
            &["imprun-console"][..],
        ),
        (
            "1Mi",
            &["imp-runtime-exporter", "imprun-console"][..],
            &[][..],
        ),
    ] {
        let out = run(&chart_dir(), "prod", &["--memory-limit", limit]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{limit} must fail: {stderr}");
        for component in failing {
            assert!(stderr.contains(&exceeded(component, limit)), "{stderr}");
        }
        for component in rendering {
            assert!(!stderr.contains(&exceeded(component, limit)), "{stderr}");
        }
    }
}
