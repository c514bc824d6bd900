//! The README's claims about the command line, each through the real binary
//! on throwaway charts of probe subcharts (`plugins/fixtures/probe`): the
//! exit status rule, every failing component listed, log filtering and `-v`,
//! `--notes`, `secrets rotate`, compile progress on a terminal only,
//! `--output-dir` never leaving half a tree, what reaches a component
//! (capabilities, certificate and secret references, `--is-upgrade`),
//! and `scripts/render-component.sh`.
//!
//! Every run has a time bound, so a hang fails the test instead of CI.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::support::{
    expect_failure as failed, expect_success as ok, repo_root, run_bounded, shared_dir,
};

/// How long one run of the binary may take (a warm render takes well under
/// a second; a first compile of the probe about one).
const BOUND: Duration = Duration::from_secs(120);
/// A fixed test root key for generated secrets (not a secret).
const ROOT_KEY: &str = "636c61696d732d746573742d726f6f742d6b65792d6e6f742d612d7265616c21";

/// The compile cache the tests of this module share, so the probe is
/// compiled once per test process, not once per test.
fn shared_cache() -> PathBuf {
    shared_dir("claims-cache")
}

/// `wasmchart ARGS` in a clean environment (PATH, a private HOME, the
/// shared compile cache, the test root key) plus `envs`.
fn wasmchart(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("claims-home");
    fs::create_dir_all(&home).expect("create test HOME");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("WASMCHART_CACHE_DIR", shared_cache())
        .env("WASMCHART_SECRET_KEY", ROOT_KEY)
        .envs(envs.iter().copied());
    bounded(cmd)
}

/// Runs `cmd` under [`BOUND`].
fn bounded(cmd: Command) -> Output {
    run_bounded(cmd, BOUND).0
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// A throwaway umbrella chart `umbrella` whose dependencies are all the
/// probe, each in its own subchart directory with its own copy of the
/// component (`component: probe.wasm`), plus a `dev` environment.
struct ProbeChart {
    dir: tempfile::TempDir,
}

impl ProbeChart {
    /// `subs`: (name, the probe's values in that dependency's section);
    /// `umbrella`: extra top-level umbrella values (secrets, certificates).
    fn new(umbrella: &str, subs: &[(&str, &str)]) -> ProbeChart {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut chart =
            String::from("apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n");
        let mut values = format!("{umbrella}\n");
        for (name, sub_values) in subs {
            chart.push_str(&format!(
                "  - name: {name}\n    version: 0.1.0\n    repository: file://./charts/{name}\n"
            ));
            let sub = dir.path().join("charts").join(name);
            fs::create_dir_all(&sub).expect("create subchart");
            fs::write(
                sub.join("Chart.yaml"),
                format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\ncomponent: probe.wasm\n"),
            )
            .expect("write subchart Chart.yaml");
            fs::write(sub.join("values.yaml"), "{}\n").expect("write subchart values");
            fs::copy(test_components::wasm("probe"), sub.join("probe.wasm"))
                .expect("copy the probe");
            values.push_str(&format!("{name}:\n"));
            for line in sub_values.lines() {
                values.push_str(&format!("  {line}\n"));
            }
            if sub_values.trim().is_empty() {
                values.push_str("  {}\n");
            }
        }
        fs::write(dir.path().join("Chart.yaml"), chart).expect("write Chart.yaml");
        fs::write(dir.path().join("values.yaml"), values).expect("write values.yaml");
        fs::write(dir.path().join("values-dev.yaml"), "{}\n").expect("write values-dev.yaml");
        ProbeChart { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn arg(&self) -> &str {
        self.path().to_str().expect("UTF-8 temp path")
    }

    /// `wasmchart render <chart> ARGS`.
    fn render(&self, args: &[&str]) -> Output {
        let mut all = vec!["render", self.arg()];
        all.extend_from_slice(args);
        wasmchart(&all, &[])
    }
}

// ---- exit status ------------------------------------------------------------

/// One rule (README, "Command line"): 0 on success, 1 on any error, usage
/// errors included (clap's own default would be 2).
#[test]
fn usage_errors_exit_1_with_clap_message() {
    let chart = ProbeChart::new("", &[("probe", "")]);
    for (args, want) in [
        (
            vec!["render", chart.arg(), "--no-such-flag"],
            "unexpected argument '--no-such-flag'",
        ),
        (
            vec!["render", chart.arg(), "-o", "xml"],
            "invalid value 'xml'",
        ),
        (
            vec!["render", chart.arg(), "--env"],
            "a value is required for '--env <ENV>'",
        ),
        (vec!["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (vec!["secrets", "rotate", "jwt"], "--env <ENV>"),
        (vec![], "Usage: wasmchart"),
    ] {
        let out = wasmchart(&args, &[]);
        let stderr = failed(&out);
        assert!(
            stderr.contains(want),
            "{args:?}: expected {want:?} in:\n{stderr}"
        );
    }
}

#[test]
fn help_and_version_exit_0_on_stdout() {
    for (args, want) in [
        (&["--help"][..], "Usage: wasmchart"),
        (&["render", "--help"][..], "--output-dir <DIR>"),
        (
            &["--version"][..],
            concat!("wasmchart ", env!("CARGO_PKG_VERSION")),
        ),
    ] {
        let out = wasmchart(args, &[]);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(
            text(&out.stdout).contains(want),
            "{args:?}: {}",
            text(&out.stdout)
        );
        assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
    }
}

/// Errors of every stage, not only usage, exit 1 with a paragraph naming
/// what is at fault.
#[test]
fn every_kind_of_error_exits_1_naming_the_cause() {
    let empty = tempfile::tempdir().expect("temp dir");
    let stderr = failed(&wasmchart(&["render", empty.path().to_str().unwrap()], &[]));
    assert!(
        stderr.starts_with("error: ") && stderr.contains("Chart.yaml"),
        "{stderr}"
    );

    let chart = ProbeChart::new("", &[("probe", "action: guest-error")]);
    let stderr = failed(&chart.render(&[]));
    assert!(
        stderr.contains("'probe'") && stderr.contains("the probe was asked to fail"),
        "{stderr}"
    );

    // The reason, not only the echoed flag: Helm's "maximum supported index".
    let stderr = failed(&wasmchart(
        &["values", chart.arg(), "--set", "a[65537]=1"],
        &[],
    ));
    assert!(stderr.contains("a[65537]=1"), "names the flag: {stderr}");
    assert!(
        stderr.contains("index of 65537 is greater than maximum supported index of 65536"),
        "says why: {stderr}"
    );
}

// ---- several failures, logs, notes -------------------------------------------

/// README: "When several components fail, each is listed."
#[test]
fn several_failing_components_are_each_listed() {
    let chart = ProbeChart::new(
        "",
        &[
            ("alpha", "action: guest-error"),
            ("beta", "action: trap"),
            ("gamma", "action: ok"),
        ],
    );
    let stderr = failed(&chart.render(&[]));
    assert!(stderr.contains("2 components failed"), "{stderr}");
    assert!(
        stderr.contains("'alpha'") && stderr.contains("the probe was asked to fail"),
        "{stderr}"
    );
    assert!(stderr.contains("'beta'"), "{stderr}");
    assert!(
        !stderr.contains("'gamma'"),
        "a component that rendered is not listed: {stderr}"
    );
}

/// README: log lines are shown prefixed with the component's name, warnings
/// and errors by default, everything with `-v`. The probe prints one line to
/// stdout (level info) and one to stderr (level warn).
#[test]
fn default_shows_warnings_and_v_shows_every_log_line() {
    let chart = ProbeChart::new("", &[("talker", "action: stdout\nlines: 1\nbytes: 3")]);
    let quiet = chart.render(&[]);
    ok(&quiet);
    let stderr = text(&quiet.stderr);
    assert!(stderr.contains("[talker] warn: err 0 yyy"), "{stderr}");
    assert!(
        !stderr.contains("out 0 yyy"),
        "info is hidden by default: {stderr}"
    );

    let verbose = chart.render(&["-v"]);
    let stderr = text(&verbose.stderr);
    assert!(stderr.contains("[talker] warn: err 0 yyy"), "{stderr}");
    assert!(
        stderr.contains("[talker] info: out 0 yyy"),
        "-v shows info: {stderr}"
    );
    assert_eq!(ok(&verbose), ok(&quiet), "logs never reach stdout");
}

/// `--notes` prints the components' notes on stderr, and only then.
#[test]
fn notes_are_printed_with_the_flag_only() {
    let chart = ProbeChart::new("", &[("noter", "action: flood-notes\nbytes: 7")]);
    let plain = chart.render(&[]);
    let manifests = ok(&plain);
    assert!(
        !text(&plain.stderr).contains("NOTES"),
        "{}",
        text(&plain.stderr)
    );
    let with = chart.render(&["--notes"]);
    assert_eq!(ok(&with), manifests, "notes never reach stdout");
    let stderr = text(&with.stderr);
    let (_, notes) = stderr
        .split_once("[noter] NOTES:\n")
        .unwrap_or_else(|| panic!("no notes header: {stderr}"));
    let first = notes.lines().next().unwrap_or_default();
    assert!(
        first.ends_with("nnnnnnn") && !first.contains("nnnnnnnn"),
        "the notes follow their header: {stderr}"
    );
}

// ---- secrets rotate -------------------------------------------------------------

const TWO_SECRETS: &str = "\
secrets:
  strategy: secret
  items:
    jwt: {name: demo-jwt, keys: {JWT_SECRET: {generate: {length: 24}}}}
    db: {name: demo-db, keys: {PASSWORD: {generate: {length: 24}}}}";

/// The documents of a YAML stream, by `# Source:` and name, as text.
fn documents(stream: &str) -> Vec<String> {
    stream
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// README "Rotation": `wasmchart secrets rotate jwt --env ENV` bumps jwt's
/// generation in `secret-generations.yaml` (no secret material in it); the
/// next render changes jwt's Secret only, byte for byte.
#[test]
fn secrets_rotate_through_the_binary_changes_one_secret() {
    let chart = ProbeChart::new(TWO_SECRETS, &[("app", "usesSecrets: [jwt, db]")]);
    let before = documents(&ok(&chart.render(&["--env", "dev"])));
    assert_eq!(before, documents(&ok(&chart.render(&["--env", "dev"]))));

    let out = wasmchart(
        &[
            "secrets",
            "rotate",
            "jwt",
            "--env",
            "dev",
            "--chart",
            chart.arg(),
        ],
        &[],
    );
    ok(&out);
    assert!(
        text(&out.stderr).contains("secret 'jwt' of environment 'dev' is now at generation 1"),
        "{}",
        text(&out.stderr)
    );
    let generations =
        fs::read_to_string(chart.path().join("secret-generations.yaml")).expect("generations file");
    assert!(generations.contains("dev:\n  jwt: 1\n"), "{generations}");

    let after = documents(&ok(&chart.render(&["--env", "dev"])));
    assert_eq!(before.len(), after.len());
    let changed: Vec<&String> = before.iter().filter(|d| !after.contains(d)).collect();
    assert_eq!(changed.len(), 1, "exactly one object changes: {changed:#?}");
    assert!(changed[0].contains("name: demo-jwt"), "{}", changed[0]);
    for doc in &after {
        for line in doc
            .lines()
            .filter(|l| l.trim_start().starts_with("JWT_SECRET:"))
        {
            let value = line.split_once(':').expect("key: value").1.trim();
            assert!(
                !generations.contains(value),
                "the generations file holds no secret"
            );
        }
    }

    let stderr = failed(&wasmchart(
        &[
            "secrets",
            "rotate",
            "nope",
            "--env",
            "dev",
            "--chart",
            chart.arg(),
        ],
        &[],
    ));
    assert!(stderr.contains("nope"), "names the unknown id: {stderr}");
}

// ---- progress on a terminal -----------------------------------------------------

/// README: "A first compile shows progress on a terminal": `compiling NAME
/// (SIZE)…` on stderr, only when stderr is a terminal and the cache is cold.
/// The terminal is a pseudo-terminal from `script(1)`.
#[test]
fn first_compile_shows_progress_on_a_terminal_only() {
    let chart = ProbeChart::new("", &[("probe", "")]);
    let has_script = Command::new("script")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has_script,
        "script(1) from util-linux is needed for the terminal test"
    );
    let bin = env!("CARGO_BIN_EXE_wasmchart");
    let on_terminal = |cache: &Path| {
        let mut cmd = Command::new("script");
        cmd.args([
            "-qefc",
            &format!("'{bin}' render '{}' -o json", chart.arg()),
            "/dev/null",
        ])
        .env("WASMCHART_CACHE_DIR", cache)
        .env("WASMCHART_SECRET_KEY", ROOT_KEY)
        .env_remove("CARGO_TARGET_DIR");
        let out = bounded(cmd);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let cold = tempfile::tempdir().expect("temp dir");
    let first = on_terminal(cold.path());
    let progress = first
        .lines()
        .find(|l| l.contains("compiling probe ("))
        .unwrap_or_else(|| panic!("no progress line on a terminal:\n{first}"));
    assert!(progress.trim_end().ends_with(")…"), "{progress:?}");
    let warm = on_terminal(cold.path());
    assert!(
        !warm.contains("compiling"),
        "a cached component is not compiled: {warm}"
    );

    let piped = tempfile::tempdir().expect("temp dir");
    let out = bounded({
        let mut cmd = Command::new(bin);
        cmd.args(["render", chart.arg()])
            .env("WASMCHART_CACHE_DIR", piped.path())
            .env("WASMCHART_SECRET_KEY", ROOT_KEY);
        cmd
    });
    ok(&out);
    assert!(
        !text(&out.stderr).contains("compiling"),
        "no progress when stderr is not a terminal: {}",
        text(&out.stderr)
    );
}

// ---- --output-dir -----------------------------------------------------------------

/// Every file under `dir`, relative, with its content.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root").to_path_buf();
                out.push((rel, fs::read(&path).expect("read file")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// README: "the tree is written aside and moved into place only when
/// complete, so an error never leaves half a tree"; a later render replaces
/// the earlier tree whole.
#[test]
fn output_dir_is_replaced_whole_or_not_at_all() {
    let out = tempfile::tempdir().expect("temp dir");
    let target = out.path().join("manifests");
    let dir = target.to_str().expect("UTF-8");
    let good = ProbeChart::new("", &[("one", "action: ok"), ("two", "action: echo")]);
    ok(&good.render(&["--output-dir", dir]));
    let tree = snapshot(&target);
    let names: Vec<String> = tree.iter().map(|(p, _)| p.display().to_string()).collect();
    assert_eq!(
        names,
        [
            "umbrella/charts/one/templates/probe.yaml",
            "umbrella/charts/two/templates/probe.yaml"
        ]
    );

    // A failing render (one component of two fails) leaves the tree as it was.
    let bad = ProbeChart::new("", &[("one", "action: ok"), ("two", "action: guest-error")]);
    failed(&bad.render(&["--output-dir", dir]));
    assert_eq!(snapshot(&target), tree, "an error changed the output tree");

    // Moving the old tree aside fails (its aside name is taken by a file):
    // an error naming the path, the old tree intact, no staging left behind.
    fs::write(target.join("umbrella.wasmchart-old"), "in the way").expect("write blocker");
    let stderr = failed(&good.render(&["--output-dir", dir, "--set", "one.action=clock"]));
    let aside = format!("cannot move '{}' aside", target.join("umbrella").display());
    assert!(stderr.contains(&aside), "{stderr}");
    let mut expected = tree.clone();
    expected.push(("umbrella.wasmchart-old".into(), b"in the way".to_vec()));
    expected.sort();
    assert_eq!(
        snapshot(&target),
        expected,
        "a failed move changed the tree"
    );
    fs::remove_file(target.join("umbrella.wasmchart-old")).expect("remove blocker");

    // A later render replaces the tree whole: a file it no longer produces goes.
    let stale = target.join("umbrella/charts/gone/templates/old.yaml");
    fs::create_dir_all(stale.parent().expect("parent")).expect("mkdir");
    fs::write(&stale, "kind: Stale\n").expect("write stale file");
    ok(&good.render(&["--output-dir", dir, "--set", "one.action=clock"]));
    let names: Vec<String> = snapshot(&target)
        .iter()
        .map(|(p, _)| p.display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "umbrella/charts/one/templates/probe.yaml",
            "umbrella/charts/two/templates/probe.yaml"
        ],
        "the previous tree's extra file lingers, or staging was left behind"
    );
}

// ---- what reaches a component ---------------------------------------------------------

/// The probe's `echo` ConfigMap of the named dependency, from `-o json`.
fn echoed(stdout: &str, field: &str) -> Value {
    let list: Value = serde_json::from_str(stdout).expect("-o json prints JSON");
    let items = list["items"].as_array().expect("a List");
    let echo: Vec<&Value> = items
        .iter()
        .filter(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "probe-echo")
        .collect();
    assert_eq!(echo.len(), 1, "one echo ConfigMap");
    let data = echo[0]["data"][field].as_str().expect("echoed field");
    serde_json::from_str(data).expect("echoed JSON")
}

/// The contract's render-input at the component boundary: `--kube-version`
/// and `-a` become capabilities, `--is-upgrade` the release facts, and the
/// component gets references to the certificates and secrets it asked for,
/// never a value.
#[test]
fn capabilities_references_and_upgrade_reach_the_component() {
    let umbrella = "\
secrets:
  strategy: secret
  items:
    db: {name: demo-db, keys: {PASSWORD: {value: plaintext-never-shown}}}
certificates:
  enabled: true
  issuer: letsencrypt-prod
  certs:
    - {name: web, secretName: web-tls, dnsNames: [web.example.test]}";
    let chart = ProbeChart::new(
        umbrella,
        &[(
            "probe",
            "action: echo\nusesSecrets: [db]\nusesCertificates: [web]",
        )],
    );
    let install = ok(&chart.render(&["-o", "json"]));
    let release = echoed(&install, "release");
    assert_eq!(release["isInstall"], true, "{release}");
    assert_eq!(release["isUpgrade"], false, "{release}");
    assert_eq!(release["revision"], 1, "{release}");
    let caps = echoed(&install, "capabilities");
    assert_eq!(caps["kubeVersion"], "v1.31.0", "the default: {caps}");

    let upgrade = ok(&chart.render(&[
        "-o",
        "json",
        "--is-upgrade",
        "--kube-version",
        "v1.29.4",
        "-a",
        "monitoring.coreos.com/v1/ServiceMonitor",
    ]));
    let release = echoed(&upgrade, "release");
    assert_eq!(release["isInstall"], false, "{release}");
    assert_eq!(release["isUpgrade"], true, "{release}");
    let caps = echoed(&upgrade, "capabilities");
    assert_eq!(caps["kubeVersion"], "v1.29.4", "{caps}");
    let apis = caps["apiVersions"].as_array().expect("apiVersions");
    assert!(
        apis.iter()
            .any(|a| a == "monitoring.coreos.com/v1/ServiceMonitor"),
        "-a reaches the component: {caps}"
    );
    assert!(
        apis.iter().any(|a| a == "apps/v1"),
        "built-in APIs too: {caps}"
    );

    assert_eq!(
        echoed(&upgrade, "certificates"),
        serde_json::json!([{"id": "web", "secretName": "web-tls", "dnsNames": ["web.example.test"]}])
    );
    assert_eq!(
        echoed(&upgrade, "secrets"),
        serde_json::json!([{"id": "db", "secretName": "demo-db", "keys": ["PASSWORD"]}])
    );
    let values = echoed(&upgrade, "values");
    assert!(
        !values.to_string().contains("plaintext-never-shown"),
        "a secret value reached the component: {values}"
    );
}

// ---- scripts/render-component.sh ---------------------------------------------------------

/// `scripts/render-component.sh` as plugins/README section 7 documents it:
/// the second argument becomes the subchart's values, `--name` and
/// `--app-version` the chart facts, everything after `--` goes to
/// `wasmchart render`, the exit status is the host's, and the throwaway
/// chart is removed.
#[test]
fn render_component_script_works_as_documented() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let values = tmp.path().join("values.yaml");
    fs::write(&values, "action: echo\nmarker: from-values-file\n").expect("write values");
    let charts = tempfile::tempdir().expect("temp dir for the script's charts");
    let script = |args: &[&str]| {
        let mut cmd = Command::new("bash");
        cmd.arg(repo_root().join("scripts/render-component.sh"))
            .args(args)
            .env("WASMCHART", env!("CARGO_BIN_EXE_wasmchart"))
            .env("WASMCHART_CACHE_DIR", shared_cache())
            .env("TMPDIR", charts.path());
        bounded(cmd)
    };
    let probe = test_components::wasm("probe").to_str().expect("UTF-8");
    let values_arg = values.to_str().expect("UTF-8");
    let out = script(&[
        "--name",
        "hello",
        "--app-version",
        "9.8.7",
        probe,
        values_arg,
        "--",
        "--set",
        "hello.extra=from-set",
        "-n",
        "demo",
        "-o",
        "json",
    ]);
    let stdout = ok(&out);
    let chart = echoed(&stdout, "chart");
    assert_eq!(chart["name"], "hello", "{chart}");
    assert_eq!(chart["appVersion"], "9.8.7", "{chart}");
    let values = echoed(&stdout, "values");
    assert_eq!(values["marker"], "from-values-file", "{values}");
    assert_eq!(values["extra"], "from-set", "{values}");
    assert_eq!(echoed(&stdout, "release")["namespace"], "demo");

    let out = script(&[
        "--name",
        "hello",
        probe,
        "--",
        "--set",
        "hello.action=guest-error",
    ]);
    let stderr = failed(&out);
    assert!(stderr.contains("the probe was asked to fail"), "{stderr}");

    let out = script(&["/nonexistent/x.wasm"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "usage errors of the script exit 2"
    );
    assert!(text(&out.stderr).contains("component '/nonexistent/x.wasm' not found"));

    let left: Vec<_> = fs::read_dir(charts.path()).expect("read TMPDIR").collect();
    assert!(
        left.is_empty(),
        "the script left its chart behind: {left:?}"
    );
}
