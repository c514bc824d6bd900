//! One test per Helm rule the issue lists, on small charts written to temp dirs.

use serde_json::json;
use wasmchart_values::{Chart, ValueOptions, compute};

use crate::common::{chart_yaml, compute_tree, json_eq, sets, write_tree};

fn assert_json(got: &serde_json::Value, want: serde_json::Value) {
    assert!(json_eq(got, &want), "got {got}\nwant {want}");
}

#[test]
fn nested_conditions_are_relative_to_the_umbrella() {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml("top", "dependencies:\n- name: backend\n  version: 0.1.0\n"),
        ),
        ("values.yaml", "backend:\n  db:\n    enabled: false\n"),
        (
            "charts/backend/Chart.yaml",
            &chart_yaml(
                "backend",
                "dependencies:\n- name: db\n  version: \"~0.1\"\n  condition: db.enabled\n",
            ),
        ),
        ("charts/backend/values.yaml", "port: 1\n"),
        ("charts/backend/charts/db/Chart.yaml", &chart_yaml("db", "")),
        ("charts/backend/charts/db/values.yaml", "size: 10\n"),
    ]);
    let c = compute_tree(d.path(), &ValueOptions::default()).expect("compute");
    assert_json(
        c.values(),
        json!({"backend": {"db": {"enabled": false}, "global": {}, "port": 1}}),
    );
    let paths: Vec<Vec<String>> = c
        .enabled_subcharts()
        .iter()
        .map(|s| s.path.clone())
        .collect();
    assert_eq!(paths, vec![vec!["backend".to_string()]]);
    let c = compute_tree(d.path(), &sets(&["backend.db.enabled=true"])).expect("compute");
    let paths: Vec<String> = c
        .enabled_subcharts()
        .iter()
        .map(|s| s.path.join("."))
        .collect();
    assert_eq!(paths, vec!["backend", "backend.db"]);
    assert_json(
        &c.enabled_subcharts()[1].values,
        json!({"enabled": true, "global": {}, "size": 10}),
    );
}

#[test]
fn condition_beats_tags_and_first_bool_decides() {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml(
                "top",
                "dependencies:\n- name: a\n  version: 0.1.0\n  tags: [x]\n  condition: a.flag\n- name: b\n  version: 0.1.0\n  tags: [x]\n",
            ),
        ),
        ("values.yaml", "tags:\n  x: false\na:\n  flag: true\n"),
        ("charts/a/Chart.yaml", &chart_yaml("a", "")),
        ("charts/b/Chart.yaml", &chart_yaml("b", "")),
    ]);
    let c = compute_tree(d.path(), &ValueOptions::default()).expect("compute");
    let paths: Vec<String> = c
        .enabled_subcharts()
        .iter()
        .map(|s| s.path.join("."))
        .collect();
    assert_eq!(paths, vec!["a"]);
    assert!(c.values().get("b").is_none());
}

#[test]
fn import_values_child_parent_form_and_disabled_dependency() {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml(
                "top",
                "dependencies:\n- name: lib\n  version: 0.1.0\n  import-values:\n  - child: data.inner\n    parent: imported.here\n- name: unused\n  version: 0.1.0\n  condition: unused.enabled\n  import-values: [stuff]\n",
            ),
        ),
        (
            "values.yaml",
            "imported:\n  here:\n    b: parent\nunused:\n  enabled: false\n",
        ),
        ("charts/lib/Chart.yaml", &chart_yaml("lib", "")),
        (
            "charts/lib/values.yaml",
            "data:\n  inner:\n    a: 1\n    b: child\n",
        ),
        ("charts/unused/Chart.yaml", &chart_yaml("unused", "")),
        (
            "charts/unused/values.yaml",
            "exports:\n  stuff:\n    leaked: true\n",
        ),
    ]);
    let c = compute_tree(d.path(), &ValueOptions::default()).expect("compute");
    let v = c.values();
    assert_json(&v["imported"], json!({"here": {"a": 1, "b": "parent"}}));
    assert!(v.get("leaked").is_none());
    assert_json(&v["unused"], json!({"enabled": false}));
}

#[test]
fn global_precedence_umbrella_over_section_over_subchart_default() {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml("top", "dependencies:\n- name: sub\n  version: 0.1.0\n"),
        ),
        (
            "values.yaml",
            "global:\n  a: umbrella\nsub:\n  global:\n    a: section\n    b: section\n",
        ),
        ("charts/sub/Chart.yaml", &chart_yaml("sub", "")),
        (
            "charts/sub/values.yaml",
            "global:\n  a: own\n  b: own\n  c: own\n",
        ),
    ]);
    let c = compute_tree(d.path(), &ValueOptions::default()).expect("compute");
    assert_json(
        &c.values()["sub"]["global"],
        json!({"a": "umbrella", "b": "section", "c": "own"}),
    );
    assert_json(&c.values()["global"], json!({"a": "umbrella"}));
    let sub = &c.enabled_subcharts()[0];
    assert_json(
        &sub.values["global"],
        json!({"a": "umbrella", "b": "section", "c": "own"}),
    );
}

#[test]
fn set_index_edits_a_list_from_a_file() {
    let d = write_tree(&[
        ("Chart.yaml", &chart_yaml("top", "")),
        ("values.yaml", "list: [a, b, c]\n"),
        ("over.yaml", "list: [x, y, z]\nobjs:\n- name: one\n  v: 1\n"),
    ]);
    let mut o = sets(&["list[1]=B", "list[4]=E", "objs[0].v=2"]);
    o.files.push(d.path().join("over.yaml"));
    let c = compute_tree(d.path(), &o).expect("compute");
    assert_json(&c.values()["list"], json!(["x", "B", "z", null, "E"]));
    assert_json(&c.values()["objs"], json!([{"name": "one", "v": 2}]));
}

#[test]
fn yaml11_scalars_and_keys_in_values_files() {
    let d = write_tree(&[
        ("Chart.yaml", &chart_yaml("top", "")),
        (
            "values.yaml",
            "yes: 1\nOff: 2\n12: twelve\n0x10: hex\nv:\n  a: yes\n  b: NO\n  c: 0777\n  d: 0x1A\n  e: ~\n  f: 1.0\n  g: 'yes'\n  h: 1_000\n  i: 2024-01-02\n  j: yEs\n",
        ),
    ]);
    let c = compute_tree(d.path(), &ValueOptions::default()).expect("compute");
    assert_json(
        c.values(),
        json!({
            "true": 1, "false": 2, "12": "twelve", "16": "hex",
            "v": {"a": true, "b": false, "c": 511, "d": 26, "f": 1,
                  "g": "yes", "h": 1000, "i": "2024-01-02", "j": "yEs"}
        }),
    );
}

#[test]
fn big_integers_from_files_become_float64() {
    let d = write_tree(&[
        ("Chart.yaml", &chart_yaml("top", "")),
        ("values.yaml", "num: 12345678901234567\n"),
    ]);
    let c = compute_tree(d.path(), &ValueOptions::default()).expect("compute");
    assert_eq!(c.values()["num"].as_i64(), Some(12345678901234568));
}

#[test]
fn multi_document_values_files_merge_in_order() {
    let d = write_tree(&[
        ("Chart.yaml", &chart_yaml("top", "")),
        (
            "values.yaml",
            "a:\n  x: 1\n  z: 1\n---\n---\na:\n  z: 2\nb: 3\n",
        ),
    ]);
    let c = compute_tree(d.path(), &ValueOptions::default()).expect("compute");
    assert_json(c.values(), json!({"a": {"x": 1, "z": 2}, "b": 3}));
}

#[test]
fn alias_dependency_entry_and_limits_reach_the_host() {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml(
                "top",
                "dependencies:\n- name: app\n  version: 0.1.0\n  alias: web\n  limits:\n    memory: 64Mi\n- name: app\n  version: 0.1.0\n  alias: api\n",
            ),
        ),
        ("values.yaml", "api:\n  port: 9\n"),
        (
            "charts/app/Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 0.1.0\ncomponent: app.wasm\n",
        ),
        ("charts/app/values.yaml", "port: 1\n"),
    ]);
    let c = compute_tree(d.path(), &ValueOptions::default()).expect("compute");
    let subs = c.enabled_subcharts();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].path, vec!["web"]);
    let dep = subs[0].dependency.expect("dependency");
    assert_eq!(dep.alias.as_deref(), Some("web"));
    assert_json(
        dep.limits.as_ref().expect("limits"),
        json!({"memory": "64Mi"}),
    );
    assert_eq!(subs[1].values["port"], json!(9));
    assert_eq!(subs[0].values["port"], json!(1));
    assert_eq!(
        subs[0].chart.component(),
        Some(d.path().join("charts/app/app.wasm"))
    );
}

#[test]
fn unlisted_subcharts_load_and_render() {
    let d = write_tree(&[
        ("Chart.yaml", &chart_yaml("top", "")),
        ("charts/extra/Chart.yaml", &chart_yaml("extra", "")),
        ("charts/extra/values.yaml", "k: v\n"),
        ("charts/_ignored/Chart.yaml", "not: a chart"),
    ]);
    let c = compute_tree(d.path(), &ValueOptions::default()).expect("compute");
    assert_json(c.values(), json!({"extra": {"global": {}, "k": "v"}}));
    assert!(c.enabled_subcharts()[0].dependency.is_none());
    assert_eq!(c.enabled_subcharts()[0].chart.component(), None);
}

#[test]
fn environments_from_chart_yaml_and_values_files() {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml(
                "top",
                "environments:\n  prod:\n    values: [envs/prod.yaml, envs/prod-eu.yaml]\n    namespace: live\n",
            ),
        ),
        ("values.yaml", "a: base\nb: base\nc: base\n"),
        ("envs/prod.yaml", "a: prod\nb: prod\n"),
        ("envs/prod-eu.yaml", "b: eu\n"),
        ("values-dev.yaml", "a: dev\n"),
        ("user.yaml", "b: user\n"),
    ]);
    let chart = Chart::load(d.path()).expect("load");
    let env = chart.environment("prod").expect("prod");
    assert_eq!(env.namespace, "live");
    assert_eq!(env.values_files.len(), 2);
    // The map is the whole list: values-dev.yaml does not add `dev` beside it.
    let err = chart
        .environment("dev")
        .expect_err("undeclared")
        .to_string();
    assert_eq!(
        err,
        "unknown environment \"dev\": known environments are prod"
    );
    let opts = ValueOptions {
        env: Some("prod".into()),
        files: vec![d.path().join("user.yaml")],
        ..Default::default()
    };
    let c = compute(&chart, &opts).expect("compute");
    assert_json(c.values(), json!({"a": "prod", "b": "user", "c": "base"}));
    assert_eq!(chart.known_environments(), vec!["prod"]);
    assert_eq!(
        chart.environment_of_file(&d.path().join("envs/prod-eu.yaml")),
        Some("prod".into())
    );
    assert_eq!(chart.environment_of_file(&d.path().join("user.yaml")), None);
}

/// Without an `environments:` map, one `values-<env>.yaml` file makes an environment.
#[test]
fn environments_from_values_files_only_without_a_map() {
    let d = write_tree(&[
        ("Chart.yaml", &chart_yaml("top", "")),
        ("values.yaml", "a: base\n"),
        ("values-dev.yaml", "a: dev\n"),
    ]);
    let chart = Chart::load(d.path()).expect("load");
    let dev = chart.environment("dev").expect("dev");
    assert_eq!(dev.namespace, "top-dev");
    assert_eq!(chart.known_environments(), vec!["dev"]);
    assert_eq!(
        chart.environment_of_file(&d.path().join("values-dev.yaml")),
        Some("dev".into())
    );
    let err = chart.environment("qa").expect_err("no file").to_string();
    assert_eq!(
        err,
        "unknown environment \"qa\": known environments are dev"
    );
}

#[test]
fn set_file_and_set_literal_families() {
    let d = write_tree(&[
        ("Chart.yaml", &chart_yaml("top", "")),
        ("cert.pem", "line1\nline2\n"),
    ]);
    let opts = ValueOptions {
        set_file: vec![format!("tls.cert={}", d.path().join("cert.pem").display())],
        set_literal: vec!["tls.cert=literal wins".into()],
        set_string: vec!["n=007".into()],
        ..Default::default()
    };
    let c = compute_tree(d.path(), &opts).expect("compute");
    assert_json(
        c.values(),
        json!({"tls": {"cert": "literal wins"}, "n": "007"}),
    );
    let opts = ValueOptions {
        set_file: vec![format!("tls.cert={}", d.path().join("cert.pem").display())],
        ..Default::default()
    };
    let c = compute_tree(d.path(), &opts).expect("compute");
    assert_eq!(c.values()["tls"]["cert"], json!("line1\nline2\n"));
}

#[test]
fn null_in_umbrella_values_does_not_delete_subchart_default_but_user_null_does() {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml("top", "dependencies:\n- name: sub\n  version: 0.1.0\n"),
        ),
        (
            "values.yaml",
            "sub:\n  gone: null\n  mode:\n    deep: true\n",
        ),
        ("charts/sub/Chart.yaml", &chart_yaml("sub", "")),
        ("charts/sub/values.yaml", "gone: 1\nmode: simple\nkeep: 2\n"),
    ]);
    let c = compute_tree(d.path(), &ValueOptions::default()).expect("compute");
    assert_json(
        &c.values()["sub"],
        json!({"global": {}, "gone": 1, "keep": 2, "mode": {"deep": true}}),
    );
    let c = compute_tree(d.path(), &sets(&["sub.gone=null"])).expect("compute");
    assert_json(
        &c.values()["sub"],
        json!({"global": {}, "keep": 2, "mode": {"deep": true}}),
    );
}

#[test]
fn dependency_version_must_match_for_alias_and_condition() {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml(
                "top",
                "dependencies:\n- name: app\n  version: \">=2.0.0\"\n  alias: renamed\n  condition: renamed.enabled\n",
            ),
        ),
        ("values.yaml", "renamed:\n  enabled: false\n"),
        ("charts/app/Chart.yaml", &chart_yaml("app", "")),
    ]);
    // Helm treats a chart whose version does not match as unlisted: no alias, no condition.
    let c = compute_tree(d.path(), &ValueOptions::default()).expect("compute");
    let paths: Vec<String> = c
        .enabled_subcharts()
        .iter()
        .map(|s| s.path.join("."))
        .collect();
    assert_eq!(paths, vec!["app"]);
}

#[test]
fn output_is_deterministic() {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml(
                "top",
                "dependencies:\n- name: a\n  version: 0.1.0\n- name: b\n  version: 0.1.0\n",
            ),
        ),
        ("values.yaml", "global:\n  g:\n    x: 1\n"),
        ("charts/a/Chart.yaml", &chart_yaml("a", "")),
        ("charts/a/values.yaml", "global:\n  g:\n    y: 2\n"),
        ("charts/b/Chart.yaml", &chart_yaml("b", "")),
    ]);
    let first = compute_tree(d.path(), &ValueOptions::default()).expect("compute");
    for _ in 0..5 {
        let again = compute_tree(d.path(), &ValueOptions::default()).expect("compute");
        assert_eq!(first.values(), again.values());
    }
}

/// An index without its `]` is refused, naming the flag, the expression and the position,
/// where Helm silently drops the rest of the expression (`x=1,a[=1` sets only `x`).
#[test]
fn unterminated_index_is_an_error_not_a_silent_drop() {
    let d = write_tree(&[("Chart.yaml", &chart_yaml("top", ""))]);
    for (flag, expr, at) in [
        ("--set", "a[=1", 2),
        ("--set", "x=1,b.a[0=1", 8),
        ("--set-string", "a[", 2),
    ] {
        let mut opts = ValueOptions::default();
        if flag == "--set" {
            opts.set = vec![expr.into()];
        } else {
            opts.set_string = vec![expr.into()];
        }
        let err = compute_tree(d.path(), &opts).expect_err(expr).to_string();
        assert_eq!(
            err,
            format!(
                "failed parsing {flag} {expr:?}: the '[' at character {at} has no closing ']' (Helm would silently ignore the rest of the expression)"
            )
        );
    }
}
