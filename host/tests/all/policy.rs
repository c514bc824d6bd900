//! Output integrity, terminal-safe text, limits decided from the root
//! umbrella, and the operator policy, through the real binary with the
//! probe guest's `emit` action (hostile sources, logs, errors, notes).

use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use super::support::{
    expect_error as failed, expect_success, redis_aliases_chart_with_limits, run_bounded,
    shared_dir,
};

/// A test root key (hex, 32 bytes); not a secret.
const SECRET_KEY: &str = "706f6c6963792d746573742d726f6f742d6b65792d303132333435363738393a";
/// No run may take longer (a hang fails the test). Generous: a cold
/// compile of the example's JavaScript and Python components on a busy
/// 2-core machine takes tens of seconds.
const BOUND: Duration = Duration::from_secs(300);

/// A temporary umbrella chart whose subcharts all run the probe guest,
/// copied into the chart so `component:` is relative.
struct Chart {
    dir: tempfile::TempDir,
}

impl Chart {
    /// `subs`: (name, umbrella `limits:` entry as YAML flow, or "") and the
    /// umbrella values (JSON, which is YAML).
    fn new(subs: &[(&str, &str)], values: Value) -> Chart {
        let dir = tempfile::tempdir().unwrap();
        let mut chart =
            String::from("apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n");
        for (name, limits) in subs {
            chart.push_str(&format!("  - name: {name}\n    version: 0.1.0\n"));
            if !limits.is_empty() {
                chart.push_str(&format!("    limits: {limits}\n"));
            }
            write_probe_chart(&dir.path().join("charts").join(name), name, "");
        }
        fs::write(dir.path().join("Chart.yaml"), chart).unwrap();
        // Written by our YAML writer, not as JSON: values files are read as
        // Helm reads them (YAML 1.1), where a raw NEL or LS inside a JSON
        // string is a line break; the writer escapes them.
        let text = wasmchart_values::yaml::to_string(&values);
        fs::write(dir.path().join("values.yaml"), text).unwrap();
        Chart { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn render(&self, args: &[&str]) -> Output {
        run(self.path(), args, &[])
    }
}

/// A subchart directory running the probe; `extra` is appended to its Chart.yaml.
fn write_probe_chart(dir: &Path, name: &str, extra: &str) {
    fs::create_dir_all(dir).unwrap();
    fs::copy(test_components::wasm("probe"), dir.join("probe.wasm")).unwrap();
    fs::write(
        dir.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\ncomponent: probe.wasm\n{extra}"),
    )
    .unwrap();
    fs::write(dir.join("values.yaml"), "{}\n").unwrap();
}

/// Runs `wasmchart render CHART ARGS` with a clean environment plus
/// `envs`, bounded by [`BOUND`].
fn run(chart: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
    cmd.arg("render")
        .arg(chart)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", chart)
        // The compile cache the imprun tests warm, with its key: the example's
        // JavaScript and Python components compile once per test run.
        .env("WASMCHART_CACHE_DIR", shared_dir("component-cache"))
        .env("WASMCHART_CONFIG_DIR", shared_dir("component-cache-config"))
        .env("WASMCHART_SECRET_KEY", SECRET_KEY)
        .envs(envs.iter().copied());
    run_bounded(cmd, BOUND).0
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

fn ok(out: &Output) -> (String, String) {
    (expect_success(out), stderr(out))
}

/// No ESC, BEL, CR or bidi override reaches the terminal, and no line but
/// the host's own starts like a host line.
fn assert_no_raw_controls(text: &str) {
    let bad = text
        .chars()
        .find(|&c| (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c));
    assert!(bad.is_none(), "raw {bad:?} in {text:?}");
}

fn config_map(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n")
}

fn emit(manifests: Value) -> Value {
    json!({"action": "emit", "manifests": manifests})
}

const HOSTILE: &str =
    "bad\u{1b}]0;pwned\u{7}\u{1b}[2K\rerror: forged\u{202e}txt.exe\nwarning: forged";
const HOSTILE_SHOWN: &str =
    "bad\\x1b]0;pwned\\x07\\x1b[2K\\rerror: forged\\u{202e}txt.exe\\nwarning: forged";

#[test]
fn a_source_that_is_not_a_plain_path_is_refused() {
    let forged = "templates/a.yaml\n---\n# Source: umbrella/host/evil.yaml\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding";
    let long = format!("templates/{}.yaml", "x".repeat(250));
    for (source, shown) in [
        (
            forged,
            "templates/a.yaml\\n---\\n# Source: umbrella/host/evil.yaml\\napiVersion: rbac.authorization.k8s.io/v1\\nkind: ClusterRoleBinding",
        ),
        (
            "templates/\u{1b}[31mred.yaml",
            "templates/\\x1b[31mred.yaml",
        ),
        ("../escape.yaml", "../escape.yaml"),
        ("templates//a.yaml", "templates//a.yaml"),
        ("/abs.yaml", "/abs.yaml"),
        ("templates/a b.yaml", "templates/a b.yaml"),
        (long.as_str(), long.as_str()),
    ] {
        let chart = Chart::new(
            &[("a", "")],
            json!({"a": emit(json!([{"source": source, "content": config_map("x")}]))}),
        );
        let err = failed(&chart.render(&[]));
        assert!(
            err.starts_with(&format!(
                "error: component 'a' returned a manifest with source '{shown}': a source must be a relative path"
            )),
            "{source:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "one paragraph: {err}");
    }
}

#[test]
fn safe_sources_render_and_stay_one_line() {
    let chart = Chart::new(
        &[("a", "")],
        json!({"a": emit(json!([{"source": "templates/sub_dir/x-1.yaml", "content": config_map("x")}]))}),
    );
    let (out, _) = ok(&chart.render(&[]));
    assert!(
        out.starts_with("---\n# Source: umbrella/charts/a/templates/sub_dir/x-1.yaml\n"),
        "{out}"
    );
}

#[test]
fn logs_stdout_stderr_and_notes_are_printed_escaped_and_prefixed() {
    let chart = Chart::new(
        &[("a", "")],
        json!({"a": {
            "action": "emit",
            "logs": [{"level": "warn", "message": HOSTILE}, {"level": "info", "message": "quiet"}],
            "stderr": format!("{HOSTILE}\n"),
            "notes": format!("Thanks!\n{HOSTILE}"),
            "manifests": [{"source": "templates/x.yaml", "content": config_map("x")}],
        }}),
    );
    let (_, err) = ok(&chart.render(&["--notes"]));
    assert_no_raw_controls(&err);
    // The guest's stderr is split at its newlines; each piece is its own
    // prefixed line.
    let (first, second) = HOSTILE_SHOWN.split_once("\\n").unwrap();
    let want = format!(
        "[a] warn: {HOSTILE_SHOWN}\n[a] warn: {first}\n[a] warn: {second}\n[a] NOTES:\n[a] Thanks!\n[a] {first}\n[a] {second}\n"
    );
    assert_eq!(err, want);
    for line in err.lines() {
        assert!(line.starts_with("[a] "), "{line}");
    }
}

#[test]
fn guest_errors_are_escaped_exactly() {
    let chart = Chart::new(
        &[("a", "")],
        json!({"a": {"action": "emit", "error": HOSTILE}}),
    );
    let err = failed(&chart.render(&[]));
    assert_eq!(
        err,
        format!("error: component 'a' refused to render (failed): {HOSTILE_SHOWN}\n")
    );
}

#[test]
fn panics_are_escaped_and_cannot_start_a_line() {
    let chart = Chart::new(
        &[("a", "")],
        json!({"a": {"action": "emit", "panic": HOSTILE}}),
    );
    let err = failed(&chart.render(&[]));
    assert!(err.contains("component 'a' crashed"), "{err}");
    assert!(
        err.contains("bad\\x1b]0;pwned\\x07\\x1b[2K\\rerror: forged\\u{202e}txt.exe"),
        "{err}"
    );
    for line in err.lines().skip(1) {
        assert!(
            line.starts_with(' '),
            "a continuation line starts at column 0: {line:?} in {err}"
        );
    }
}

#[test]
fn hostile_keys_and_values_cannot_break_the_yaml_stream() {
    let object = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "x",
            "labels": {"l\n---\n# Source: evil": "v\u{1b}[2J"},
            "annotations": {"a": "line\n---\napiVersion: v1\nkind: Secret\n# Source: evil\n", "b": "\r\u{7}\u{0}\u{85}\u{2028}x"},
        },
        "data": {"k\u{1b}\n---": "--- \n...\n", "# Source: y": "- a\n- b"},
    });
    let chart = Chart::new(
        &[("a", "")],
        json!({"a": emit(json!([{"source": "templates/x.yaml", "content": object.to_string()}]))}),
    );
    let (out, _) = ok(&chart.render(&["-n", "ns"]));
    assert_no_raw_controls(&out.replace(['\u{85}', '\u{2028}'], ""));
    let starts: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("---") || l.starts_with("# Source:"))
        .collect();
    assert_eq!(
        starts,
        ["---", "# Source: umbrella/charts/a/templates/x.yaml"],
        "{out}"
    );
    let docs = wasmchart_values::yaml::parse_documents(&out, "out").unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["data"], object["data"]);
    assert_eq!(
        docs[0]["metadata"]["annotations"],
        object["metadata"]["annotations"]
    );
    assert_eq!(
        docs[0]["metadata"]["labels"]["l\n---\n# Source: evil"],
        "v\u{1b}[2J"
    );
}

#[test]
fn a_nested_subcharts_own_limits_are_ignored_with_a_warning() {
    // The root umbrella gives `a` (and so `a.inner`) 2 log lines; `a`'s own
    // Chart.yaml asks 1000 for `inner`, which must not count.
    let chart = Chart::new(
        &[("a", "{logLines: 2}")],
        json!({"a": {"action": "ok", "inner": {"action": "log-spam", "lines": 5, "bytes": 1}}}),
    );
    let a = chart.path().join("charts/a");
    write_probe_chart(
        &a,
        "a",
        "dependencies:\n  - name: inner\n    version: 0.1.0\n    limits: {logLines: 1000, timeout: 1h}\n",
    );
    write_probe_chart(&a.join("charts/inner"), "inner", "");
    let (_, err) = ok(&chart.render(&[]));
    let warning = format!(
        "warning: ignoring `limits:` in '{}': only the root umbrella's Chart.yaml sets limits",
        a.join("Chart.yaml").display()
    );
    assert!(err.starts_with(&warning), "{err}");
    assert!(
        err.contains("[a.inner] warn: [wasmchart] output over the log limit of 2 lines"),
        "{err}"
    );
    assert_eq!(err.matches("[a.inner] warn: ").count(), 3, "{err}");
}

/// A chart with a host-managed Secret `app-jwt` and a component `a` that
/// emits `objects`.
fn chart_with(objects: &[Value]) -> Chart {
    let manifests: Vec<Value> = objects
        .iter()
        .enumerate()
        .map(|(i, o)| json!({"source": format!("templates/o{i}.yaml"), "content": o.to_string()}))
        .collect();
    Chart::new(
        &[("a", "")],
        json!({
            "secrets": {"strategy": "secret", "items": {"jwt": {"name": "app-jwt", "keys": {"TOKEN": {"generate": {"length": 16, "encoding": "hex"}}}}}},
            "a": emit(Value::Array(manifests)),
        }),
    )
}

fn write_policy(chart: &Chart, text: &str) -> PathBuf {
    let path = chart.path().join("policy.yaml");
    fs::write(&path, text).unwrap();
    path
}

fn rbac(kind: &str, role: &str) -> Value {
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": "b"},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
           "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "ns"}]})
}

#[test]
fn shadowing_a_host_secret_is_refused_even_without_a_policy() {
    let shadows = [
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-jwt", "namespace": "other"}}),
        json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": "e"}, "spec": {"target": {"name": "app-jwt"}}}),
        json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"name": "s"}, "spec": {"template": {"metadata": {"name": "app-jwt"}}}}),
    ];
    let err = failed(&chart_with(&shadows).render(&["-n", "ns"]));
    let lines: Vec<&str> = err.lines().collect();
    let why = "it names the host-managed Secret 'app-jwt'; only the host writes it [rule hostSecrets.allowShadow]";
    assert_eq!(
        lines,
        [
            "error: 3 objects refused by a rule that holds even without a policy:".to_string(),
            format!(
                "  component 'a': Secret 'app-jwt' in namespace 'other' (umbrella/charts/a/templates/o0.yaml): {why}"
            ),
            format!(
                "  component 'a': ExternalSecret 'e' in namespace 'ns' (umbrella/charts/a/templates/o1.yaml): {why}"
            ),
            format!(
                "  component 'a': SealedSecret 's' in namespace 'ns' (umbrella/charts/a/templates/o2.yaml): {why}"
            ),
        ],
        "{err}"
    );
    let chart = chart_with(&shadows);
    let policy = write_policy(&chart, "hostSecrets: {allowShadow: true}\n");
    ok(&chart.render(&["-n", "ns", "--policy", policy.to_str().unwrap()]));
}

#[test]
fn every_policy_rule_refuses_and_lists_all_violations_at_once() {
    let objects = [
        rbac("ClusterRoleBinding", "cluster-admin"),
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration", "metadata": {"name": "w"}}),
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "things.example.com"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "kube-system"}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-b"}}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"}}),
    ];
    let chart = chart_with(&objects);
    let policy = write_policy(
        &chart,
        "kinds: {deny: [policy/PodDisruptionBudget]}\nnamespaces: {allowOther: false}\nclusterScoped: deny\n",
    );
    let err = failed(&chart.render(&["-n", "ns", "--policy", policy.to_str().unwrap()]));
    let head = format!(
        "error: the policy '{}' refuses 6 objects:",
        policy.display()
    );
    assert_eq!(err.lines().next(), Some(head.as_str()), "{err}");
    for want in [
        "ClusterRoleBinding 'b' (umbrella/charts/a/templates/o0.yaml): it binds the cluster-admin ClusterRole [rule rbac.allowClusterAdmin]",
        "ClusterRoleBinding 'b' (umbrella/charts/a/templates/o0.yaml): it is cluster-scoped, and the policy denies cluster-scoped objects [rule clusterScoped]",
        "ValidatingWebhookConfiguration 'w' (umbrella/charts/a/templates/o1.yaml): admissionregistration.k8s.io/ValidatingWebhookConfiguration is denied under a policy unless kinds.allow lists it [rule kinds.allow]",
        "CustomResourceDefinition 'things.example.com' (umbrella/charts/a/templates/o2.yaml): apiextensions.k8s.io/CustomResourceDefinition is denied under a policy unless kinds.allow lists it [rule kinds.allow]",
        "ConfigMap 'c' in namespace 'kube-system' (umbrella/charts/a/templates/o3.yaml): its namespace is not the release namespace 'ns' [rule namespaces.allowOther]",
        "Namespace 'tenant-b' (umbrella/charts/a/templates/o4.yaml): it is cluster-scoped, and the policy denies cluster-scoped objects [rule clusterScoped]",
        "PodDisruptionBudget 'p' in namespace 'ns' (umbrella/charts/a/templates/o5.yaml): the policy denies policy/PodDisruptionBudget [rule kinds.deny]",
    ] {
        assert!(
            err.contains(&format!("\n  component 'a': {want}")),
            "missing {want}\nin {err}"
        );
    }
    // Obeyed: the same objects under a policy that allows each of them.
    let permissive = write_policy(
        &chart,
        "kinds: {allow: [ValidatingWebhookConfiguration, apiextensions.k8s.io/CustomResourceDefinition, core/Namespace, ClusterRoleBinding]}\nrbac: {allowClusterAdmin: true}\nnamespaces: {allowOther: true}\nclusterScoped: deny\n",
    );
    let (out, _) = ok(&chart.render(&["-n", "ns", "--policy", permissive.to_str().unwrap()]));
    assert!(
        out.contains("kind: ClusterRoleBinding") && out.contains("namespace: kube-system"),
        "{out}"
    );
}

#[test]
fn many_subcharts_report_limit_warnings_and_errors_in_dependency_order() {
    // More subcharts than a render prepares one by one (64): their jobs are
    // then prepared on every core, which must not change what is reported.
    let names: Vec<String> = (0..70).map(|i| format!("s{i:02}")).collect();
    let aliases: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut limits = vec!["{memory: 1Gi}"; names.len()];
    let chart = redis_aliases_chart_with_limits(&aliases, &limits);
    let policy = chart.path().join("policy.yaml");
    fs::write(&policy, "limits: {max: {memory: 64Mi}}\n").unwrap();
    let (_, err) = ok(&run(
        chart.path(),
        &["--policy", policy.to_str().unwrap()],
        &[],
    ));
    let capped: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("asks memory 1Gi"))
        .collect();
    assert_eq!(capped.len(), names.len(), "{err}");
    for (line, name) in capped.iter().zip(&names) {
        assert!(
            line.contains(&format!("entry for '{name}' asks memory 1Gi for '{name}'")),
            "out of order: {line}\n{err}"
        );
    }
    // Two bad entries, one in each half: the first in dependency order is the error.
    limits[10] = "{memory: lots}";
    limits[50] = "{memory: lots}";
    let chart = redis_aliases_chart_with_limits(&aliases, &limits);
    let err = failed(&run(chart.path(), &[], &[]));
    assert!(err.contains("'s10'") && !err.contains("'s50'"), "{err}");
}

#[test]
fn without_a_policy_rendering_stays_helm_compatible() {
    let chart = chart_with(&[
        rbac("ClusterRoleBinding", "cluster-admin"),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "kube-system"}}),
    ]);
    ok(&chart.render(&["-n", "ns"]));
}

#[test]
fn the_policy_caps_chart_limits_with_a_warning_and_refuses_flags_above_it() {
    let chart = Chart::new(
        &[("a", "{logLines: 100, memory: 1Gi}")],
        json!({"a": {"action": "log-spam", "lines": 5, "bytes": 1}}),
    );
    let policy = write_policy(
        &chart,
        "limits:\n  max: {logLines: 2, memory: 64Mi, timeout: 2s}\n  default: {timeout: 1s}\n",
    );
    let p = policy.to_str().unwrap();
    let (_, err) = ok(&chart.render(&["--policy", p]));
    let umbrella = chart.path().join("Chart.yaml");
    for want in [
        format!(
            "warning: the umbrella Chart.yaml ('{}') entry for 'a' asks logLines 100 for 'a'; the policy '{p}' caps it at 2\n",
            umbrella.display()
        ),
        format!(
            "warning: the umbrella Chart.yaml ('{}') entry for 'a' asks memory 1Gi for 'a'; the policy '{p}' caps it at 64Mi\n",
            umbrella.display()
        ),
        "[a] warn: [wasmchart] output over the log limit of 2 lines".to_string(),
    ] {
        assert!(err.contains(&want), "missing {want}\nin {err}");
    }
    // The capped limit is the one enforced, and the failure says why.
    let hungry = Chart::new(
        &[("a", "{memory: 1Gi}")],
        json!({"a": {"action": "alloc", "mib": 100}}),
    );
    let policy = write_policy(&hungry, "limits: {max: {memory: 64Mi}}\n");
    let err = failed(&hungry.render(&["--policy", policy.to_str().unwrap()]));
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines[0], "error: component 'a' exceeded its 64Mi memory limit",
        "{err}"
    );
    assert!(
        lines[1].starts_with("  warning: the umbrella Chart.yaml (")
            && lines[1].ends_with("caps it at 64Mi"),
        "{err}"
    );
    // A flag within the maximum is obeyed; one above it is an error.
    ok(&chart.render(&["--policy", p, "--timeout", "2s"]));
    let err = failed(&chart.render(&["--policy", p, "--timeout", "10s"]));
    assert_eq!(
        err,
        format!(
            "error: --timeout 10s is above the maximum of 2s that the policy '{p}' allows (limits.max.timeout); ask for at most 2s or change the policy\n"
        )
    );
}

#[test]
fn the_policy_comes_from_the_environment_unless_the_flag_names_one() {
    let chart =
        chart_with(&[json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}})]);
    let strict = write_policy(&chart, "clusterScoped: deny\n");
    let open = chart.path().join("open.yaml");
    fs::write(&open, "clusterScoped: allow\n").unwrap();
    let env = [("WASMCHART_POLICY", strict.to_str().unwrap())];
    let err = failed(&run(chart.path(), &["-n", "ns"], &env));
    assert!(err.contains("[rule clusterScoped]"), "{err}");
    ok(&run(
        chart.path(),
        &["-n", "ns", "--policy", open.to_str().unwrap()],
        &env,
    ));
}

#[test]
fn a_bad_policy_file_is_an_error_naming_the_key_path() {
    let chart = Chart::new(&[("a", "")], json!({"a": {"action": "ok"}}));
    for (text, want) in [
        (
            "kinds: {alow: [Secret]}\n",
            "unknown key 'kinds.alow' (known here: allow, deny)",
        ),
        (
            "limits: {max: {memroy: 1Gi}}\n",
            "unknown key 'limits.max.memroy' (known here: memory, timeout, output, instances, tables, tableElements, memories, logLines, logBytes, files, componentSize, compileTimeout, compileMemory)",
        ),
        (
            "namespaces: {allowOther: maybe}\n",
            "namespaces.allowOther: must be true or false, not 'maybe'",
        ),
    ] {
        let policy = write_policy(&chart, text);
        let err = failed(&chart.render(&["--policy", policy.to_str().unwrap()]));
        assert_eq!(
            err,
            format!("error: the policy file '{}': {want}\n", policy.display())
        );
    }
    let missing = chart.path().join("nope.yaml");
    let err = failed(&chart.render(&["--policy", missing.to_str().unwrap()]));
    assert!(
        err.starts_with(&format!(
            "error: cannot read the policy file '{}'",
            missing.display()
        )),
        "{err}"
    );
}

#[test]
fn the_imprun_example_renders_under_the_strict_example_policy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let chart = root.join("examples/imprun");
    let policy = root.join("examples/policies/multi-tenant-ci.yaml");
    let prod = chart.join("charts/imprun-console/imprun-console.wasm");
    if !prod.is_file() {
        panic!(
            "{} is missing: run scripts/build-components.sh",
            prod.display()
        );
    }
    let envs = [
        ("GITHUB_CLIENT_ID", "id"),
        ("GITHUB_CLIENT_SECRET", "s"),
        ("GOOGLE_CLIENT_ID", "id"),
        ("GOOGLE_CLIENT_SECRET", "s"),
    ];
    let out = run(
        &chart,
        &["--env", "prod", "--policy", policy.to_str().unwrap()],
        &envs,
    );
    let (text, err) = ok(&out);
    assert!(text.contains("kind: Deployment"), "{text}");
    assert!(!err.contains("warning:"), "{err}");
}

/// A chart reading the runner's `CI_JOB_TOKEN` through a secret key's `env:`:
/// refused under a policy whose `secretEnv.allow` does not list it, with
/// every refused name and never the value; rendered when a prefix lists it.
#[test]
fn secret_env_reads_only_what_the_policy_allows() {
    let chart = Chart::new(
        &[("a", "")],
        json!({
            "secrets": {"strategy": "secret", "items": {"ci": {"name": "app-ci", "keys": {
                "TOKEN": {"required": true, "env": "CI_JOB_TOKEN"},
                "OTHER": {"required": true, "env": "CLOUD_KEY"}}}}},
            "a": emit(json!([])),
        }),
    );
    let envs = [
        ("CI_JOB_TOKEN", "tenant-b-token"),
        ("CLOUD_KEY", "cloud-secret"),
    ];
    let strict = write_policy(&chart, "secretEnv:\n  allow: [GITHUB_*]\n");
    let out = run(chart.path(), &["--policy", strict.to_str().unwrap()], &envs);
    let err = failed(&out);
    assert!(
        err.contains("CI_JOB_TOKEN, CLOUD_KEY") && err.contains("secretEnv.allow"),
        "{err}"
    );
    assert!(!err.contains("tenant-b-token"), "{err}");

    let open = write_policy(&chart, "secretEnv:\n  allow: [CI_*, CLOUD_KEY]\n");
    let out = run(chart.path(), &["--policy", open.to_str().unwrap()], &envs);
    let (text, _) = ok(&out);
    assert!(text.contains("name: app-ci"), "{text}");
}

/// `WASMCHART_*` variables (the root key) are never readable through `env:`,
/// with or without a policy.
#[test]
fn the_root_key_cannot_be_read_through_secret_env() {
    let chart = Chart::new(
        &[("a", "")],
        json!({
            "secrets": {"strategy": "secret", "items": {"k": {"name": "app-k", "keys": {
                "K": {"env": "WASMCHART_SECRET_KEY"}}}}},
            "a": emit(json!([])),
        }),
    );
    let out = run(chart.path(), &[], &[]);
    let err = failed(&out);
    assert!(
        err.contains("secrets.items.k.keys.K.env") && err.contains("reserved"),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(SECRET_KEY));
}
