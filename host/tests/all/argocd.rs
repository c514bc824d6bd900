//! The Argo CD Config Management Plugin (`deploy/argocd/`) run the way
//! `argocd-cmp-server` runs it: the commands from `plugin.yaml`, executed
//! directly (command then args) in a copy of the Application's directory,
//! with the sidecar's environment (PATH with the plugin's programs first, a
//! private HOME, the image's cache directories, the root key) plus what
//! Argo CD adds (`ARGOCD_APP_*`, `ARGOCD_ENV_*`, `PARAM_*`, `KUBE_*`).
//!
//! The real binary checks the stream (objects only, release and namespace
//! from the Application, byte-identical to `wasmchart render` with the same
//! flags) and the failure shape; a recording stand-in for `wasmchart` checks
//! the exact flags, the allow-listed environment and the root key file.

use super::support::{copy_tree, expect_success, repo_root, run_bounded, shared_dir};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// The example's test root key (the one docs.rs uses; not a secret).
const KEY: &str = "646f63732d636f6d6d616e64732d746573742d726f6f742d6b65792d31323334";

/// The example's OAuth credentials (not secrets), read by its `env:` keys.
const OAUTH: &[(&str, &str)] = &[
    ("GITHUB_CLIENT_ID", "test-github-client-id"),
    ("GITHUB_CLIENT_SECRET", "test-github-client-secret"),
    ("GOOGLE_CLIENT_ID", "test-google-client-id"),
    ("GOOGLE_CLIENT_SECRET", "test-google-client-secret"),
];

/// How the operator lets those variables through to wasmchart.
const PASS_OAUTH: (&str, &str) = (
    "WASMCHART_ARGOCD_PASS_ENV",
    "GITHUB_CLIENT_ID GITHUB_CLIENT_SECRET GOOGLE_CLIENT_ID GOOGLE_CLIENT_SECRET",
);

/// A first render may compile the example's components.
const BOUND: Duration = Duration::from_secs(300);

fn deploy() -> PathBuf {
    repo_root().join("deploy/argocd")
}

fn yaml(file: &str) -> Value {
    let path = deploy().join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut docs = wasmchart_values::yaml::parse_documents(&text, file)
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(docs.len(), 1, "{file} holds one document");
    docs.remove(0)
}

fn plugin() -> Value {
    yaml("plugin.yaml")
}

/// The argv a plugin command runs as: `command` followed by `args`.
fn argv(spec: &Value) -> Vec<String> {
    let list = |key: &str| -> Vec<String> {
        spec.get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|s| s.as_str().expect("a string").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut all = list("command");
    all.extend(list("args"));
    all
}

/// A sidecar: `bin/` (what the image puts in /usr/local/bin), a HOME and a
/// copy of the Application's directory.
struct Sidecar {
    dir: tempfile::TempDir,
}

impl Sidecar {
    /// With the real `wasmchart`, and the bundled example as the Application.
    fn real() -> Sidecar {
        let sidecar = Sidecar::empty();
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_wasmchart"), sidecar.bin("wasmchart"))
            .expect("link wasmchart");
        copy_tree(&repo_root().join("examples/imprun"), &sidecar.app());
        sidecar
    }

    /// With a stand-in `wasmchart` that runs `body` (sh) after recording
    /// its arguments and environment in `log`, and an app directory made by the caller.
    fn stub(body: &str) -> Sidecar {
        let sidecar = Sidecar::empty();
        let log = sidecar.log();
        let script = format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf 'arg:%s\\n' \"$a\"; done >> '{log}'\n\
             env | sort | sed 's/^/env:/' >> '{log}'\n\
             for a in \"$@\"; do case $a in --secret-key-file=*) f=${{a#*=}}; \
             printf 'keymode:%s\\nkey:%s\\n' \"$(stat -c %a \"$f\")\" \"$(cat \"$f\")\" >> '{log}';; \
             esac; done\n{body}\n",
            log = log.display()
        );
        let path = sidecar.bin("wasmchart");
        fs::write(&path, script).expect("write the stand-in");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
        fs::create_dir_all(sidecar.app()).expect("app dir");
        fs::write(
            sidecar.app().join("Chart.yaml"),
            "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        )
        .expect("Chart.yaml");
        sidecar
    }

    fn empty() -> Sidecar {
        let dir = tempfile::tempdir().expect("temp dir");
        let sidecar = Sidecar { dir };
        fs::create_dir_all(sidecar.path().join("bin")).expect("bin");
        fs::create_dir_all(sidecar.path().join("home")).expect("home");
        std::os::unix::fs::symlink(
            deploy().join("wasmchart-argocd"),
            sidecar.bin("wasmchart-argocd"),
        )
        .expect("link wasmchart-argocd");
        sidecar
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.path().join("bin").join(name)
    }

    fn app(&self) -> PathBuf {
        self.path().join("app")
    }

    fn log(&self) -> PathBuf {
        self.path().join("calls.log")
    }

    /// The stand-in's record: its arguments, then its environment.
    fn calls(&self) -> (Vec<String>, Vec<String>) {
        let text = fs::read_to_string(self.log()).unwrap_or_default();
        let pick = |prefix: &str| {
            text.lines()
                .filter_map(|l| l.strip_prefix(prefix).map(str::to_string))
                .collect()
        };
        (pick("arg:"), pick("env:"))
    }

    /// Runs the plugin command `argv` in `dir` as the cmp-server would:
    /// the sidecar's environment, then Argo CD's `env`.
    fn run(&self, argv: &[String], dir: &Path, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(dir)
            .env_clear()
            .env(
                "PATH",
                format!(
                    "{}:/usr/local/bin:/usr/bin:/bin",
                    self.path().join("bin").display()
                ),
            )
            .env("HOME", self.path().join("home"))
            .env("TMPDIR", self.path())
            .env("WASMCHART_CACHE_DIR", shared_dir("component-cache"))
            .env("WASMCHART_CONFIG_DIR", shared_dir("component-cache-config"))
            .envs(env.iter().copied());
        run_bounded(cmd, BOUND).0
    }

    fn generate(&self, env: &[(&str, &str)]) -> Output {
        self.run(&argv(&plugin()["spec"]["generate"]), &self.app(), env)
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `wasmchart render ARGS` in `dir` with the key and credentials in the environment.
fn render_directly(dir: &Path, args: &[&str], extra: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    cmd.arg("render")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("WASMCHART_CACHE_DIR", shared_dir("component-cache"))
        .env("WASMCHART_CONFIG_DIR", shared_dir("component-cache-config"))
        .env("WASMCHART_SECRET_KEY", KEY)
        .envs(OAUTH.iter().copied())
        .envs(extra.iter().copied());
    expect_success(&run_bounded(cmd, BOUND).0)
}

#[test]
fn plugin_yaml_has_the_shape_the_cmp_server_accepts() {
    let plugin = plugin();
    assert_eq!(plugin["apiVersion"], "argoproj.io/v1alpha1");
    assert_eq!(plugin["kind"], "ConfigManagementPlugin");
    assert_eq!(plugin["metadata"]["name"], "wasmchart");
    let spec = &plugin["spec"];
    assert_eq!(spec["version"], "v1");
    assert_eq!(argv(&spec["generate"]), ["wasmchart-argocd", "generate"]);
    assert_eq!(argv(&spec["init"]), ["wasmchart-argocd", "init"]);
    assert_eq!(
        argv(&spec["discover"]["find"]),
        ["wasmchart-argocd", "discover"]
    );
    let names: Vec<&str> = spec["parameters"]["static"]
        .as_array()
        .expect("static parameters")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "env",
            "values-files",
            "set",
            "release",
            "namespace",
            "kube-version",
            "include-crds"
        ]
    );
    for list in ["values-files", "set"] {
        let p = spec["parameters"]["static"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == list)
            .unwrap();
        assert_eq!(p["collectionType"], "array", "{list}");
    }
    let script = fs::metadata(deploy().join("wasmchart-argocd")).expect("the script");
    assert_eq!(
        script.permissions().mode() & 0o111,
        0o111,
        "the script is executable"
    );

    // The Application names the plugin as <name>-<version>.
    let app = yaml("application.yaml");
    assert_eq!(app["kind"], "Application");
    assert_eq!(app["spec"]["source"]["plugin"]["name"], "wasmchart-v1");

    // The sidecar: Argo CD's cmp-server as entrypoint, user 999, its volumes, its own /tmp.
    let patch = yaml("repo-server-patch.yaml");
    let container = &patch["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["command"][0], "/var/run/argocd/argocd-cmp-server");
    assert_eq!(container["securityContext"]["runAsUser"], 999.0);
    let mounts: Vec<(&str, &str)> = container["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap(),
                m["mountPath"].as_str().unwrap(),
            )
        })
        .collect();
    for want in [
        ("var-files", "/var/run/argocd"),
        ("plugins", "/home/argocd/cmp-server/plugins"),
        ("wasmchart-tmp", "/tmp"),
    ] {
        assert!(mounts.contains(&want), "{want:?} in {mounts:?}");
    }
    let key = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "WASMCHART_SECRET_KEY")
        .expect("the root key from a Secret");
    assert!(key["valueFrom"]["secretKeyRef"].is_object(), "{key}");

    // The image: the locked build, plugin.yaml where the cmp-server reads it, user 999.
    let dockerfile = fs::read_to_string(deploy().join("Dockerfile")).expect("Dockerfile");
    for want in [
        "cargo build --release --locked -p wasmchart",
        "COPY deploy/argocd/plugin.yaml /home/argocd/cmp-server/config/plugin.yaml",
        "COPY deploy/argocd/wasmchart-argocd /usr/local/bin/wasmchart-argocd",
        "USER 999",
    ] {
        assert!(dockerfile.contains(want), "Dockerfile lacks {want:?}");
    }
}

#[test]
fn generate_renders_the_example_as_wasmchart_render_does() {
    let sidecar = Sidecar::real();
    let mut env: Vec<(&str, &str)> = vec![
        ("ARGOCD_APP_NAME", "imprun-blue"),
        ("ARGOCD_APP_NAMESPACE", "team-a"),
        (
            "ARGOCD_APP_REVISION",
            "f913b6cbf58aa5ae5ca1f8a2b149477aebcbd9d8",
        ),
        ("ARGOCD_ENV_WASMCHART_ENV", "prod"),
        ("PARAM_SET_0", "imprun-server.image.tag=v9.9.9"),
        // Argo CD removes "+", so a managed cluster's version arrives like this.
        ("KUBE_VERSION", "1.22.17-eks-0a21954"),
        (
            "KUBE_API_VERSIONS",
            "v1,apps/v1,apps/v1/Deployment,monitoring.coreos.com/v1/ServiceMonitor",
        ),
        ("WASMCHART_SECRET_KEY", KEY),
        PASS_OAUTH,
    ];
    env.extend(OAUTH.iter().copied());

    let init = sidecar.run(&argv(&plugin()["spec"]["init"]), &sidecar.app(), &env);
    assert_eq!(
        expect_success(&init),
        "",
        "init prints nothing without a Chart.lock"
    );

    let out = sidecar.generate(&env);
    let stdout = expect_success(&out);
    let docs = wasmchart_values::yaml::parse_documents(&stdout, "generate")
        .unwrap_or_else(|e| panic!("stdout is a YAML stream: {e}\n{stdout}"));
    assert!(docs.len() > 20, "{} objects", docs.len());
    let mut labelled = 0;
    let mut namespaced = 0;
    for doc in &docs {
        assert!(
            doc["apiVersion"].is_string()
                && doc["kind"].is_string()
                && doc["metadata"]["name"].is_string(),
            "every document is a Kubernetes object: {doc}"
        );
        if let Some(ns) = doc["metadata"].get("namespace") {
            assert_eq!(ns, "team-a", "namespace from ARGOCD_APP_NAMESPACE: {doc}");
            namespaced += 1;
        }
        if let Some(release) = doc["metadata"]["labels"].get("app.kubernetes.io/instance") {
            assert_eq!(
                release, "imprun-blue",
                "release from ARGOCD_APP_NAME: {doc}"
            );
            labelled += 1;
        }
    }
    assert!(
        namespaced > 10 && labelled > 10,
        "{namespaced} namespaced, {labelled} labelled"
    );
    for line in stdout.lines() {
        assert!(
            !line.starts_with("warning")
                && !line.starts_with("error")
                && !line.starts_with("wasmchart"),
            "a log line on stdout: {line}"
        );
    }

    let direct = render_directly(
        &sidecar.app(),
        &[
            "--env",
            "prod",
            "--set",
            "imprun-server.image.tag=v9.9.9",
            "--release",
            "imprun-blue",
            "--namespace",
            "team-a",
            "--kube-version",
            "1.22.17",
            "--api-versions",
            "v1",
            "--api-versions",
            "apps/v1",
            "--api-versions",
            "apps/v1/Deployment",
            "--api-versions",
            "monitoring.coreos.com/v1/ServiceMonitor",
            "--include-crds",
            ".",
        ],
        &[],
    );
    assert!(
        stdout == direct,
        "generate differs from wasmchart render with the same flags"
    );
    let default_kube = render_directly(
        &sidecar.app(),
        &[
            "--env",
            "prod",
            "--set",
            "imprun-server.image.tag=v9.9.9",
            "--release",
            "imprun-blue",
            "-n",
            "team-a",
            ".",
        ],
        &[],
    );
    assert_ne!(stdout, default_kube, "KUBE_VERSION reached --kube-version");
    assert!(
        stdout.contains("imprun-server:v9.9.9"),
        "the set parameter reached --set"
    );
}

#[test]
fn a_bad_env_fails_with_the_error_on_stderr_and_nothing_on_stdout() {
    let sidecar = Sidecar::real();
    let mut env = vec![
        ("ARGOCD_APP_NAME", "imprun"),
        ("ARGOCD_APP_NAMESPACE", "imprun-system"),
        ("ARGOCD_ENV_WASMCHART_ENV", "production"),
        ("WASMCHART_SECRET_KEY", KEY),
        PASS_OAUTH,
    ];
    env.extend(OAUTH.iter().copied());
    let out = sidecar.generate(&env);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains(
            "unknown environment \"production\": known environments are local, prod, staging"
        ),
        "names the env and the declared ones: {err}"
    );
    assert!(!err.contains(KEY), "{err}");

    // The plugin's own checks fail the same way, before wasmchart runs.
    let out = sidecar.generate(&[
        ("ARGOCD_APP_NAME", "imprun"),
        ("PARAM_VALUES_FILES_0", "../../etc/passwd"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(
        err.starts_with("error: values file \"../../etc/passwd\" (parameter values-files)"),
        "{err}"
    );
}

#[test]
fn discover_matches_wasmchart_umbrellas_and_not_plain_helm_charts() {
    let sidecar = Sidecar::real();
    let discover = argv(&plugin()["spec"]["discover"]["find"]);
    let found = |dir: &Path| {
        let out = sidecar.run(&discover, dir, &[]);
        expect_success(&out)
    };
    // The example: a subchart's Chart.yaml names its component.
    let first = found(&sidecar.app());
    assert!(
        first.starts_with("charts/") && first.ends_with("/Chart.yaml\n"),
        "{first:?}"
    );

    // A plain Helm chart, with a plain subchart: nothing printed, exit 0 (not ours).
    let helm = sidecar.path().join("helm");
    fs::create_dir_all(helm.join("templates")).unwrap();
    fs::create_dir_all(helm.join("charts/db")).unwrap();
    fs::write(
        helm.join("Chart.yaml"),
        "apiVersion: v2\nname: web\nversion: 1.0.0\n# component: not a key\n",
    )
    .unwrap();
    fs::write(
        helm.join("templates/cm.yaml"),
        "component: {{ .Values.x }}\n",
    )
    .unwrap();
    fs::write(
        helm.join("charts/db/Chart.yaml"),
        "apiVersion: v2\nname: db\nversion: 1.0.0\n",
    )
    .unwrap();
    assert_eq!(found(&helm), "");

    // No Chart.yaml at all, even with a component somewhere below: not an umbrella.
    let bare = sidecar.path().join("bare");
    copy_tree(&sidecar.app().join("charts"), &bare.join("charts"));
    assert_eq!(found(&bare), "");

    // Packaged subcharts (.tgz) only.
    let packed = sidecar.path().join("packed");
    copy_tree(&sidecar.app(), &packed);
    let charts = packed.join("charts");
    for sub in fs::read_dir(&charts).unwrap() {
        let name = sub.unwrap().file_name().into_string().unwrap();
        let status = Command::new("tar")
            .args(["-czf", &format!("{name}-0.1.0.tgz"), &name])
            .current_dir(&charts)
            .status()
            .expect("tar");
        assert!(status.success());
        fs::remove_dir_all(charts.join(&name)).unwrap();
    }
    let archive = found(&packed);
    assert!(
        archive.starts_with("charts/") && archive.ends_with("-0.1.0.tgz\n"),
        "{archive:?}"
    );

    // The umbrella's own component is enough.
    let own = sidecar.path().join("own");
    fs::create_dir_all(&own).unwrap();
    fs::write(
        own.join("Chart.yaml"),
        "apiVersion: v2\nname: own\nversion: 1.0.0\ncomponent: own.wasm\n",
    )
    .unwrap();
    assert_eq!(found(&own), "Chart.yaml\n");
}

#[test]
fn parameters_become_exactly_these_flags_and_unset_ones_none() {
    let sidecar = Sidecar::stub("");
    fs::create_dir_all(sidecar.app().join("env")).unwrap();
    fs::write(sidecar.app().join("env/a b.yaml"), "x: 1\n").unwrap();
    fs::write(sidecar.app().join("values-extra.yaml"), "y: 2\n").unwrap();

    // Nothing set but what Argo CD always sets: no empty flag, CRDs on by default.
    let out = sidecar.generate(&[("ARGOCD_APP_NAME", "app"), ("KUBE_API_VERSIONS", "")]);
    expect_success(&out);
    let (args, _) = sidecar.calls();
    assert_eq!(args, ["render", "--release=app", "--include-crds", "."]);

    // Everything: parameters win over plugin env; odd values stay one argument each.
    fs::remove_file(sidecar.log()).unwrap();
    let out = sidecar.generate(&[
        ("ARGOCD_APP_NAME", "app"),
        ("ARGOCD_APP_NAMESPACE", "dest"),
        ("ARGOCD_ENV_WASMCHART_ENV", "staging"),
        ("PARAM_ENV", "prod"),
        ("PARAM_VALUES_FILES_0", "env/a b.yaml"),
        ("PARAM_VALUES_FILES_1", "./values-extra.yaml"),
        ("PARAM_SET_0", "a.b=c d"),
        ("PARAM_SET_1", "--policy=/dev/null"),
        ("ARGOCD_ENV_WASMCHART_RELEASE", "rel"),
        ("PARAM_NAMESPACE", "ns"),
        ("PARAM_INCLUDE_CRDS", "false"),
        ("KUBE_VERSION", "v1.31.2k3s1"),
        (
            "KUBE_API_VERSIONS",
            "v1,v1/Pod,apps/v1,example.com/v1beta,cert-manager.io/v1/Certificate,x/V1",
        ),
    ]);
    expect_success(&out);
    let (args, _) = sidecar.calls();
    assert_eq!(
        args,
        [
            "render",
            "--env=prod",
            "--values=env/a b.yaml",
            "--values=./values-extra.yaml",
            "--set=a.b=c d",
            "--set=--policy=/dev/null",
            "--release=rel",
            "--namespace=ns",
            "--kube-version=1.31.2",
            "--api-versions=v1",
            "--api-versions=v1/Pod",
            "--api-versions=apps/v1",
            "--api-versions=cert-manager.io/v1/Certificate",
            ".",
        ]
    );
    let err = stderr(&out);
    assert!(
        err.contains("left out") && err.contains("example.com/v1beta x/V1"),
        "{err}"
    );

    // Mistakes in the Application fail with the parameter named, wasmchart never runs.
    for (env, want) in [
        (
            vec![("PARAM_SET_IMAGE_TAG", "v1")],
            "parameter set is a list",
        ),
        (
            vec![("PARAM_VALUES_FILES", "a.yaml")],
            "parameter values-files is a list",
        ),
        (
            vec![("PARAM_VALUES_FILES_0", "/etc/passwd")],
            "values file \"/etc/passwd\"",
        ),
        (
            vec![("PARAM_VALUES_FILES_0", "missing.yaml")],
            "does not exist",
        ),
        (
            vec![("PARAM_VALUES_FILES_0", "env")],
            "is not a regular file",
        ),
        (
            vec![("PARAM_INCLUDE_CRDS", "yes")],
            "include-crds is \"yes\"",
        ),
        (vec![("KUBE_VERSION", "latest")], "KUBE_VERSION \"latest\""),
    ] {
        let _ = fs::remove_file(sidecar.log());
        let out = sidecar.generate(&env);
        assert_eq!(out.status.code(), Some(1), "{env:?}");
        assert!(out.stdout.is_empty(), "{env:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with("error: ") && err.contains(want),
            "{env:?}: {err}"
        );
        assert!(!sidecar.log().exists(), "{env:?}: wasmchart ran");
    }

    // A symlink out of the application's directory is refused too.
    std::os::unix::fs::symlink("/etc/passwd", sidecar.app().join("link.yaml")).unwrap();
    let out = sidecar.generate(&[("PARAM_VALUES_FILES_0", "link.yaml")]);
    assert!(
        stderr(&out).contains("resolves outside the application's directory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_root_key_reaches_wasmchart_only_as_a_private_file() {
    let sidecar = Sidecar::stub("");
    let out = sidecar.generate(&[
        ("ARGOCD_APP_NAME", "app"),
        ("WASMCHART_SECRET_KEY", KEY),
        ("GITHUB_CLIENT_SECRET", "from-the-sidecar"),
        ("UNRELATED", "x"),
        ("WASMCHART_ARGOCD_PASS_ENV", "GITHUB_CLIENT_SECRET"),
        ("WASMCHART_POLICY", "/etc/wasmchart/policy.yaml"),
    ]);
    expect_success(&out);
    let (args, env) = sidecar.calls();
    let keyfile = args
        .iter()
        .find_map(|a| a.strip_prefix("--secret-key-file="))
        .expect("--secret-key-file");
    let log = fs::read_to_string(sidecar.log()).unwrap();
    assert!(log.contains("keymode:600\n"), "{log}");
    assert!(log.contains(&format!("key:{KEY}\n")), "{log}");
    assert!(
        !Path::new(keyfile).exists(),
        "the key file is removed after the render"
    );
    let names: Vec<&str> = env.iter().map(|e| e.split('=').next().unwrap()).collect();
    assert!(!names.contains(&"WASMCHART_SECRET_KEY"), "{names:?}");
    assert!(
        !names.contains(&"UNRELATED") && !names.iter().any(|n| n.starts_with("ARGOCD_")),
        "{names:?}"
    );
    assert!(
        env.contains(&"GITHUB_CLIENT_SECRET=from-the-sidecar".to_string()),
        "{env:?}"
    );
    assert!(
        env.contains(&"WASMCHART_POLICY=/etc/wasmchart/policy.yaml".to_string()),
        "{env:?}"
    );

    // The operator cannot pass the key itself by name.
    let out = sidecar.generate(&[
        ("WASMCHART_SECRET_KEY", KEY),
        ("WASMCHART_ARGOCD_PASS_ENV", "WASMCHART_SECRET_KEY"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("must not name WASMCHART_SECRET_KEY"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_chart_cannot_read_the_root_key_from_the_sidecar_environment() {
    let sidecar = Sidecar::real();
    // The root key itself: wasmchart refuses WASMCHART_* names in `env:` (core rule).
    let mut direct = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    direct
        .args(["render", "--env", "prod", "--set"])
        .arg("secrets.items.github.keys.CLIENT_SECRET.env=WASMCHART_SECRET_KEY")
        .arg(".")
        .current_dir(sidecar.app())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("WASMCHART_CACHE_DIR", shared_dir("component-cache"))
        .env("WASMCHART_CONFIG_DIR", shared_dir("component-cache-config"))
        .env("WASMCHART_SECRET_KEY", KEY)
        .envs(OAUTH.iter().copied());
    let out = run_bounded(direct, BOUND).0;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("secrets.items.github.keys.CLIENT_SECRET.env") && err.contains("reserved"),
        "{err}"
    );
    assert!(!err.contains(KEY) && out.stdout.is_empty(), "{err}");

    // Any other sidecar variable: a tenant's values route it into a plain Secret.
    let steal = [
        "secrets.items.github.strategy=secret",
        "secrets.items.github.keys.CLIENT_SECRET.env=SIDECAR_TOKEN",
    ];
    let token = ("SIDECAR_TOKEN", "sidecar-token-of-another-tenant");
    let encoded = "c2lkZWNhci10b2tlbi1vZi1hbm90aGVyLXRlbmFudA==";
    let args = ["--env", "prod", "--set", steal[0], "--set", steal[1], "."];
    let direct = render_directly(&sidecar.app(), &args, &[token]);
    assert!(
        direct.contains(encoded),
        "control: wasmchart alone reads the variable"
    );

    // Through the plugin the variable is not there: the render fails naming it.
    let mut env = vec![
        ("ARGOCD_APP_NAME", "imprun"),
        ("ARGOCD_ENV_WASMCHART_ENV", "prod"),
        ("PARAM_SET_0", steal[0]),
        ("PARAM_SET_1", steal[1]),
        ("WASMCHART_SECRET_KEY", KEY),
        token,
        PASS_OAUTH,
    ];
    env.extend(OAUTH.iter().copied());
    let out = sidecar.generate(&env);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let err = stderr(&out);
    assert!(
        err.contains("secret \"github\" key \"CLIENT_SECRET\" is required but has no value")
            && err.contains("set the environment variable SIDECAR_TOKEN"),
        "{err}"
    );
    assert!(
        err.ends_with(
            "wasmchart-argocd: wasmchart sees only the sidecar variables named in \
             WASMCHART_ARGOCD_PASS_ENV (\"GITHUB_CLIENT_ID GITHUB_CLIENT_SECRET GOOGLE_CLIENT_ID \
             GOOGLE_CLIENT_SECRET\"): set the variable in the sidecar and add its name there\n"
        ),
        "the hint follows the error: {err}"
    );
    assert!(!err.contains(token.1) && !err.contains(encoded), "{err}");
}

#[test]
fn init_builds_dependencies_only_when_there_is_a_lock() {
    let init = argv(&plugin()["spec"]["init"]);
    // A wasmchart with `dependency build`.
    let sidecar = Sidecar::stub("");
    let out = sidecar.run(&init, &sidecar.app(), &[]);
    assert_eq!(expect_success(&out), "");
    assert!(!sidecar.log().exists(), "no Chart.lock: nothing runs");
    fs::write(sidecar.app().join("Chart.lock"), "dependencies: []\n").unwrap();
    let out = sidecar.run(&init, &sidecar.app(), &[("WASMCHART_SECRET_KEY", KEY)]);
    expect_success(&out);
    let (args, env) = sidecar.calls();
    assert_eq!(
        args,
        ["dependency", "build", "--help", "dependency", "build", "."],
        "probed, then built"
    );
    let text = fs::read_to_string(sidecar.log()).unwrap();
    assert!(
        env.iter().all(|e| !e.starts_with("WASMCHART_SECRET_KEY=")),
        "{env:?}"
    );
    assert!(!text.contains(KEY), "{text}");

    // A wasmchart without it: a note, and the committed charts/ are rendered.
    let old = Sidecar::stub("case $1 in dependency) exit 1;; esac");
    fs::write(old.app().join("Chart.lock"), "dependencies: []\n").unwrap();
    let out = old.run(&init, &old.app(), &[]);
    assert_eq!(expect_success(&out), "");
    assert!(
        stderr(&out).contains("has no `dependency build`"),
        "{}",
        stderr(&out)
    );

    // A failing build fails init.
    let broken = Sidecar::stub(
        "case $* in 'dependency build .') echo 'error: no registry' >&2; exit 1;; esac",
    );
    fs::write(broken.app().join("Chart.lock"), "dependencies: []\n").unwrap();
    let out = broken.run(&init, &broken.app(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("error: no registry"));
}

#[test]
fn init_installs_what_chart_lock_pins_and_refuses_a_tampered_lock() {
    let sidecar = Sidecar::real();
    let mut env = vec![
        ("ARGOCD_APP_NAME", "imprun"),
        ("ARGOCD_ENV_WASMCHART_ENV", "staging"),
        ("WASMCHART_SECRET_KEY", KEY),
        PASS_OAUTH,
    ];
    env.extend(OAUTH.iter().copied());
    let unlocked = expect_success(&sidecar.generate(&env));

    // The umbrella's author locked it (file:// dependencies: no registry needed).
    let mut lock = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    lock.args(["dependency", "update", "."])
        .current_dir(sidecar.app())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sidecar.path().join("home"));
    expect_success(&run_bounded(lock, BOUND).0);
    let lock_file = sidecar.app().join("Chart.lock");
    let pinned = fs::read_to_string(&lock_file).expect("Chart.lock written");

    let init = argv(&plugin()["spec"]["init"]);
    expect_success(&sidecar.run(&init, &sidecar.app(), &env));
    assert_eq!(
        expect_success(&sidecar.generate(&env)),
        unlocked,
        "the locked render is the same render"
    );

    // One component digest changed in the lock: init fails naming the dependency.
    let digest = pinned
        .lines()
        .find_map(|l| l.trim().strip_prefix("mongodb.wasm: sha256:"))
        .expect("the lock pins mongodb's component");
    let forged: String = digest
        .chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect();
    fs::write(&lock_file, pinned.replace(digest, &forged)).unwrap();
    let out = sidecar.run(&init, &sidecar.app(), &env);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with("error: ") && err.contains("dependency 'mongodb'"),
        "{err}"
    );
    let out = sidecar.generate(&env);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "nothing rendered from unpinned bytes"
    );
}
