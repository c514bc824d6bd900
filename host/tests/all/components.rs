//! The five components of `examples/imprun`, written in Rust (mongodb, redis,
//! imprun-server), JavaScript (imprun-console) and Python
//! (imp-runtime-exporter), each rendered through the real `wasmchart`
//! binary in a minimal one-subchart umbrella and checked by the same code:
//! production-grade objects (labels, selectors, probes, resources, security
//! context, configurable image), errors naming the key, deterministic
//! output. The components are built by `scripts/build-components.sh`.

use super::support::repo_root;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};
use tempfile::TempDir;

/// One component of the example and what its defaults render.
struct Case {
    /// Subchart (and component) name.
    sub: &'static str,
    /// Kind of its main workload.
    workload: &'static str,
    /// Values key of its replica count, if it has one.
    replicas_key: Option<&'static str>,
}

const MONGODB: Case = Case {
    sub: "mongodb",
    workload: "StatefulSet",
    replicas_key: Some("replicas"),
};
const REDIS: Case = Case {
    sub: "redis",
    workload: "Deployment",
    replicas_key: None,
};
const SERVER: Case = Case {
    sub: "imprun-server",
    workload: "Deployment",
    replicas_key: Some("replicaCount"),
};
const CONSOLE: Case = Case {
    sub: "imprun-console",
    workload: "Deployment",
    replicas_key: Some("replicaCount"),
};
const EXPORTER: Case = Case {
    sub: "imp-runtime-exporter",
    workload: "Deployment",
    replicas_key: Some("replicaCount"),
};

const NAMESPACE: &str = "components-test";
const RELEASE: &str = "imprun";

/// Umbrella values every render gets: the `global` section the example's
/// subcharts read (with a registry and a pull secret, to check they are
/// used) and the host-managed secrets their `usesSecrets` name, with fixed
/// test values.
const GLOBALS: &str = "\
global:
  imageRegistry: registry.example
  imagePullSecrets: [regcred]
  domain: example.test
  mongodb: {host: mongodb, port: 27017, database: sys_db, username: root}
  redis: {host: redis-master, port: 6379, auth: {enabled: true}}
secrets:
  strategy: secret
  items:
    jwt: {name: imprun-jwt-secret, keys: {JWT_SECRET: {value: test-jwt}}}
    mongodb:
      name: imprun-mongodb-secret
      keys:
        MONGODB_ROOT_PASSWORD: {value: test-root}
        MONGODB_REPLICA_SET_KEY: {value: test-replica-set-key}
    redis: {name: imprun-redis-secret, keys: {REDIS_PASSWORD: {value: test-redis}}}
    github: {name: imprun-github-oauth, keys: {CLIENT_ID: {value: id}, CLIENT_SECRET: {value: s}}}
    google: {name: imprun-google-oauth, keys: {CLIENT_ID: {value: id}, CLIENT_SECRET: {value: s}}}
";

/// The root key the host derives rollout checksums from (a fixed test key).
const TEST_ROOT_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

/// Objects the host adds itself (Secrets, RBAC, Certificates) carry this
/// label; the checks of component-made objects skip them.
const HOST_LABEL: (&str, &str) = ("wasmchart/component", "host");

/// The built component of `sub`, or a panic saying how to build it
/// (also when it is stale: its sources changed since it was built).
fn component(sub: &str) -> PathBuf {
    let path = repo_root()
        .join("examples/imprun/charts")
        .join(sub)
        .join(format!("{sub}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run scripts/build-components.sh (after scripts/setup.sh on a fresh machine)",
        path.display()
    );
    crate::imprun::require_fresh_component(sub);
    path
}

/// A throwaway umbrella holding only `sub` (its real Chart.yaml, values.yaml
/// and component), with `umbrella_values` as the umbrella's values.yaml.
fn one_subchart_chart(sub: &str, umbrella_values: &str) -> TempDir {
    let dir = TempDir::new().expect("temp dir");
    let chart = dir.path();
    let source = repo_root().join("examples/imprun/charts").join(sub);
    let target = chart.join("charts").join(sub);
    fs::create_dir_all(&target).expect("create subchart dir");
    for file in ["Chart.yaml", "values.yaml"] {
        fs::copy(source.join(file), target.join(file)).expect("copy subchart file");
    }
    fs::copy(component(sub), target.join(format!("{sub}.wasm"))).expect("copy component");
    let umbrella = format!(
        "apiVersion: v2\nname: components-test\nversion: 0.1.0\ndependencies:\n  \
         - name: {sub}\n    version: \"0.1.0\"\n    repository: \"file://./charts/{sub}\"\n"
    );
    fs::write(chart.join("Chart.yaml"), umbrella).expect("write Chart.yaml");
    fs::write(chart.join("values.yaml"), umbrella_values).expect("write values.yaml");
    dir
}

/// What one `wasmchart render` run gave.
struct Rendered {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Rendered {
    /// The rendered objects (`-o json` prints one `v1` `List`).
    fn objects(&self) -> Vec<Value> {
        assert!(self.ok, "render failed:\n{}", self.stderr);
        let list: Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("output is not JSON ({e}):\n{}", self.stdout));
        list["items"].as_array().cloned().unwrap_or_default()
    }
}

/// Components compiled into the test cache so far.
static COMPILED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Renders `sub` alone with the real binary; `args` go to `wasmchart render`.
///
/// A component's first render compiles it into the shared cache (seconds for
/// the JavaScript and Python ones); it runs under a lock so that parallel
/// tests wait for that one compile instead of each repeating it.
fn render(sub: &str, umbrella_values: &str, args: &[&str]) -> Rendered {
    let mut compiled = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
    if compiled.iter().any(|c| c == sub) {
        drop(compiled);
        return run_render(sub, umbrella_values, args);
    }
    let rendered = run_render(sub, umbrella_values, args);
    compiled.push(sub.to_string());
    rendered
}

fn run_render(sub: &str, umbrella_values: &str, args: &[&str]) -> Rendered {
    let chart = one_subchart_chart(sub, umbrella_values);
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache");
    let out = Command::new(env!("CARGO_BIN_EXE_wasmchart"))
        .arg("render")
        .arg(chart.path())
        .args(["--release", RELEASE, "-n", NAMESPACE, "-o", "json"])
        .args(args)
        .env("WASMCHART_CACHE_DIR", cache)
        // The shared cache's key (see sandbox/cache): one for every test run.
        .env(
            "WASMCHART_CONFIG_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache-config"),
        )
        .env("WASMCHART_SECRET_KEY", TEST_ROOT_KEY)
        .output()
        .expect("run wasmchart");
    Rendered {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// True when every entry of `subset` is in `map`.
fn contains_all(map: &Value, subset: &Value) -> bool {
    subset
        .as_object()
        .is_some_and(|s| !s.is_empty() && s.iter().all(|(k, v)| map.get(k) == Some(v)))
}

/// The checks every component's default render must pass.
fn check_defaults(case: &Case) {
    let rendered = render(case.sub, GLOBALS, &[]);
    let objects = rendered.objects();
    let sub = case.sub;
    let made = objects
        .iter()
        .filter(|o| o["metadata"]["labels"][HOST_LABEL.0] != HOST_LABEL.1);
    for object in made {
        let meta = &object["metadata"];
        let name = &meta["name"];
        assert_eq!(meta["namespace"], NAMESPACE, "{sub}: namespace of {name}");
        assert_eq!(
            meta["labels"]["app.kubernetes.io/instance"], RELEASE,
            "{sub}: {name}"
        );
        for key in ["name", "version", "component"] {
            let label = &meta["labels"][format!("app.kubernetes.io/{key}")];
            assert!(
                label.is_string(),
                "{sub}: {name} lacks label app.kubernetes.io/{key}"
            );
        }
    }
    let workloads = of_kind(&objects, case.workload);
    assert_eq!(workloads.len(), 1, "{sub}: one {} expected", case.workload);
    let workload = workloads[0];
    let pod = &workload["spec"]["template"];
    let pod_labels = &pod["metadata"]["labels"];
    assert!(
        contains_all(pod_labels, &workload["spec"]["selector"]["matchLabels"]),
        "{sub}: the selector does not match the pod labels"
    );
    let services = of_kind(&objects, "Service");
    assert!(
        services
            .iter()
            .any(|s| contains_all(pod_labels, &s["spec"]["selector"])),
        "{sub}: no Service selects the workload's pods"
    );
    check_pod(sub, &pod["spec"]);
}

/// Image from the global registry, pull secrets, probes, resources, security.
fn check_pod(sub: &str, spec: &Value) {
    let secrets = spec["imagePullSecrets"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        secrets.iter().any(|s| s["name"] == "regcred"),
        "{sub}: global.imagePullSecrets not used: {secrets:?}"
    );
    assert!(
        spec["securityContext"].is_object(),
        "{sub}: no pod securityContext"
    );
    let containers = spec["containers"].as_array().cloned().unwrap_or_default();
    assert!(!containers.is_empty(), "{sub}: no containers");
    for c in &containers {
        let name = &c["name"];
        let image = c["image"].as_str().unwrap_or_default();
        assert!(
            image.starts_with("registry.example/"),
            "{sub}: container {name} image {image:?} ignores global.imageRegistry"
        );
        assert!(
            c["imagePullPolicy"].is_string(),
            "{sub}: container {name} has no imagePullPolicy"
        );
        for key in [
            "livenessProbe",
            "readinessProbe",
            "resources",
            "securityContext",
        ] {
            assert!(c[key].is_object(), "{sub}: container {name} has no {key}");
        }
        assert_eq!(
            c["securityContext"]["allowPrivilegeEscalation"], false,
            "{sub}: container {name} allows privilege escalation"
        );
    }
}

/// A replica count from `--set` reaches the workload.
fn check_replicas(case: &Case) {
    let Some(key) = case.replicas_key else { return };
    let set = format!("{}.{key}=2", case.sub);
    let objects = render(case.sub, GLOBALS, &["--set", &set]).objects();
    let workload = of_kind(&objects, case.workload)[0];
    assert_eq!(
        workload["spec"]["replicas"], 2,
        "{}: {key} not applied",
        case.sub
    );
}

/// A wrong type fails the render; the error names the component and the key.
fn check_bad_values(case: &Case) {
    let set = format!("{}.service.port=http", case.sub);
    let rendered = render(case.sub, GLOBALS, &["--set-string", &set]);
    assert!(
        !rendered.ok,
        "{}: a string service.port was accepted",
        case.sub
    );
    // The component's own wording, which the echoed flag does not contain.
    let component = format!("component '{}'", case.sub);
    assert!(
        rendered.stderr.contains(&component) && rendered.stderr.contains("key 'service.port'"),
        "{}: the error does not name the component and the key:\n{}",
        case.sub,
        rendered.stderr
    );
    assert!(
        !rendered.stderr.contains("panicked"),
        "{}: {}",
        case.sub,
        rendered.stderr
    );
}

/// Two identical renders give byte-identical output.
fn check_deterministic(case: &Case) {
    let first = render(case.sub, GLOBALS, &[]);
    let second = render(case.sub, GLOBALS, &[]);
    assert!(first.ok, "{}: {}", case.sub, first.stderr);
    assert_eq!(
        first.stdout, second.stdout,
        "{}: two renders differ",
        case.sub
    );
}

fn check_all(case: &Case) {
    check_defaults(case);
    check_replicas(case);
    check_bad_values(case);
    check_deterministic(case);
}

#[test]
fn mongodb_rust_component() {
    check_all(&MONGODB);
}

#[test]
fn redis_rust_component() {
    check_all(&REDIS);
}

#[test]
fn imprun_server_rust_component() {
    check_all(&SERVER);
}

#[test]
fn imprun_console_javascript_component() {
    check_all(&CONSOLE);
}

#[test]
fn imp_runtime_exporter_python_component() {
    check_all(&EXPORTER);
}

fn ingress(objects: &[Value]) -> Value {
    let found = of_kind(objects, "Ingress");
    assert_eq!(found.len(), 1, "one Ingress expected");
    found[0].clone()
}

#[test]
fn console_ingress_is_off_by_default_and_uses_the_tls_secret_name() {
    let objects = render(CONSOLE.sub, GLOBALS, &[]).objects();
    assert!(
        of_kind(&objects, "Ingress").is_empty(),
        "an Ingress without ingress.enabled"
    );

    let args = [
        "--set",
        "imprun-console.ingress.enabled=true",
        "--set",
        "imprun-console.ingress.host=portal.example.test",
        "--set",
        "imprun-console.ingress.tls.secretName=portal-tls",
    ];
    let ing = ingress(&render(CONSOLE.sub, GLOBALS, &args).objects());
    assert_eq!(ing["apiVersion"], "networking.k8s.io/v1");
    assert_eq!(ing["spec"]["tls"][0]["secretName"], "portal-tls");
    assert_eq!(ing["spec"]["tls"][0]["hosts"][0], "portal.example.test");
    let rule = &ing["spec"]["rules"][0];
    assert_eq!(rule["host"], "portal.example.test");
    let backend = &rule["http"]["paths"][0]["backend"]["service"];
    assert_eq!(backend["name"], ing["metadata"]["name"]);
    assert_eq!(backend["port"]["name"], "http");
}

#[test]
fn console_ingress_host_defaults_to_the_global_domain_and_warns_without_tls() {
    let rendered = render(
        CONSOLE.sub,
        GLOBALS,
        &["--set", "imprun-console.ingress.enabled=true"],
    );
    let ing = ingress(&rendered.objects());
    assert_eq!(ing["spec"]["rules"][0]["host"], "console.example.test");
    assert!(ing["spec"].get("tls").is_none(), "TLS without a secret");
    assert!(
        rendered.stderr.contains("imprun-console") && rendered.stderr.contains("no TLS"),
        "the component's warning is not shown:\n{}",
        rendered.stderr
    );
}

#[test]
fn console_ingress_takes_tls_from_the_host_managed_certificate() {
    let values = format!(
        "{GLOBALS}\
imprun-console:
  usesCertificates: [portal]
  ingress: {{enabled: true, host: portal.example.test, tls: {{secretName: unused-tls}}}}
certificates:
  enabled: true
  issuer: letsencrypt-staging
  certs:
    - name: portal
      secretName: portal-cert-tls
      dnsNames: [portal.example.test]
"
    );
    let objects = render(CONSOLE.sub, &values, &[]).objects();
    let ing = ingress(&objects);
    assert_eq!(ing["spec"]["tls"][0]["secretName"], "portal-cert-tls");
}

#[test]
fn exporter_service_carries_prometheus_scrape_annotations() {
    let args = [
        "--set",
        "imp-runtime-exporter.metrics.port=9400",
        "--set",
        "imp-runtime-exporter.metrics.path=/stats",
    ];
    let objects = render(EXPORTER.sub, GLOBALS, &args).objects();
    let service = of_kind(&objects, "Service")[0].clone();
    let annotations = &service["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], "9400");
    assert_eq!(annotations["prometheus.io/path"], "/stats");
    let deployment = of_kind(&objects, "Deployment")[0].clone();
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["ports"][0]["containerPort"], 9400);
    assert_eq!(container["ports"][0]["name"], "metrics");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/stats");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "metrics");

    let off = render(
        EXPORTER.sub,
        GLOBALS,
        &["--set", "imp-runtime-exporter.metrics.scrape=false"],
    );
    let service = of_kind(&off.objects(), "Service")[0].clone();
    assert!(service["metadata"].get("annotations").is_none());
}
