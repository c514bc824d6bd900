//! Bad input gets a clear error naming the file, position, key path or flag; never a panic.

use wasmchart_values::{Chart, Error, ValueOptions, compute, yaml};

use crate::common::{chart_yaml, compute_tree, sets, write_tree};

#[test]
fn missing_values_file() {
    let d = write_tree(&[("Chart.yaml", &chart_yaml("top", ""))]);
    let opts = ValueOptions {
        files: vec![d.path().join("nope.yaml")],
        ..Default::default()
    };
    let e = compute_tree(d.path(), &opts).expect_err("error");
    assert!(matches!(e, Error::Io { .. }));
    assert!(e.to_string().contains("nope.yaml"), "{e}");
}

#[test]
fn invalid_yaml_names_file_line_and_column() {
    let d = write_tree(&[
        ("Chart.yaml", &chart_yaml("top", "")),
        ("values.yaml", "a: 1\nb: [1, 2\nc: 3\n"),
    ]);
    let e = Chart::load(d.path()).expect_err("error");
    let msg = e.to_string();
    assert!(msg.contains("values.yaml:"), "{msg}");
    let Error::Yaml { line, col, .. } = e else {
        panic!("not a YAML error: {msg}")
    };
    assert!(line >= 2 && col >= 1, "{msg}");
}

#[test]
fn values_file_that_is_not_a_map() {
    let d = write_tree(&[
        ("Chart.yaml", &chart_yaml("top", "")),
        ("list.yaml", "a: 1\n---\n- x\n- y\n"),
    ]);
    let opts = ValueOptions {
        files: vec![d.path().join("list.yaml")],
        ..Default::default()
    };
    let e = compute_tree(d.path(), &opts).expect_err("error");
    let msg = e.to_string();
    assert!(
        msg.contains("list.yaml:3:1") && msg.contains("a list"),
        "{msg}"
    );
}

#[test]
fn unknown_env_lists_known_ones() {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml("top", "environments:\n  staging:\n    values: []\n"),
        ),
        ("values-prod.yaml", "a: 1\n"),
    ]);
    let opts = ValueOptions {
        env: Some("qa".into()),
        ..Default::default()
    };
    let e = compute_tree(d.path(), &opts).expect_err("error");
    let msg = e.to_string();
    // A chart that declares `environments:` lists only those: values-prod.yaml does not
    // make `prod` an environment beside them.
    assert_eq!(
        msg,
        "unknown environment \"qa\": known environments are staging"
    );
    let opts = ValueOptions {
        env: Some("prod".into()),
        ..Default::default()
    };
    let msg = compute_tree(d.path(), &opts).expect_err("prod").to_string();
    assert_eq!(
        msg,
        "unknown environment \"prod\": known environments are staging"
    );
}

#[test]
fn deep_nesting_is_bounded() {
    let deep = format!("a: {}1{}\n", "[".repeat(5000), "]".repeat(5000));
    let e = yaml::parse_values(&deep, "deep.yaml").expect_err("error");
    assert!(
        e.to_string().contains("deep.yaml:1:") && e.to_string().contains("nesting"),
        "{e}"
    );
    let mut block = String::new();
    for i in 0..400 {
        block.push_str(&" ".repeat(i * 2));
        block.push_str("k:\n");
    }
    assert!(yaml::parse_values(&block, "block.yaml").is_err());
}

#[test]
fn alias_bomb_is_bounded() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let e = yaml::parse_values(&text, "bomb.yaml").expect_err("error");
    assert!(
        e.to_string().contains("bomb.yaml:") && e.to_string().contains("alias"),
        "{e}"
    );
    let chained: String = (0..300)
        .map(|i| {
            if i == 0 {
                "a0: &a0 [x]\n".to_string()
            } else {
                format!("a{i}: &a{i} [*a{}]\n", i - 1)
            }
        })
        .collect();
    assert!(yaml::parse_values(&chained, "chain.yaml").is_err());
}

#[test]
fn index_over_the_limit() {
    let d = write_tree(&[("Chart.yaml", &chart_yaml("top", ""))]);
    let e = compute_tree(d.path(), &sets(&["a[65537]=1"])).expect_err("error");
    let msg = e.to_string();
    assert!(
        msg.contains("--set") && msg.contains("65537") && msg.contains("a[65537]=1"),
        "{msg}"
    );
    assert!(compute_tree(d.path(), &sets(&["a[65536]=1"])).is_ok());
}

#[test]
fn chart_errors() {
    let none = write_tree(&[("values.yaml", "a: 1\n")]);
    assert!(
        Chart::load(none.path())
            .expect_err("e")
            .to_string()
            .contains("Chart.yaml")
    );
    let bad_api = write_tree(&[("Chart.yaml", "apiVersion: v9\nname: x\nversion: 0.1.0\n")]);
    assert!(
        Chart::load(bad_api.path())
            .expect_err("e")
            .to_string()
            .contains("v9")
    );
    let missing = write_tree(&[(
        "Chart.yaml",
        &chart_yaml("top", "dependencies:\n- name: db\n  version: 0.1.0\n"),
    )]);
    let msg = Chart::load(missing.path()).expect_err("e").to_string();
    assert!(msg.contains("\"db\"") && msg.contains("charts"), "{msg}");
    let bad_version = write_tree(&[("Chart.yaml", "apiVersion: v2\nname: x\nversion: one\n")]);
    assert!(Chart::load(bad_version.path()).is_err());
}

#[test]
fn subchart_section_must_be_a_map() {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml("top", "dependencies:\n- name: sub\n  version: 0.1.0\n"),
        ),
        ("charts/sub/Chart.yaml", &chart_yaml("sub", "")),
    ]);
    let e = compute_tree(d.path(), &sets(&["sub=oops"])).expect_err("error");
    assert!(e.to_string().contains("sub"), "{e}");
}

#[test]
fn set_errors_name_the_flag() {
    let d = write_tree(&[("Chart.yaml", &chart_yaml("top", ""))]);
    let chart = Chart::load(d.path()).expect("chart");
    for (opts, flag) in [
        (sets(&["a.b=1,a.b.c=2"]), "--set"),
        (
            ValueOptions {
                set_json: vec!["a={bad}".into()],
                ..Default::default()
            },
            "--set-json",
        ),
        (
            ValueOptions {
                set_file: vec!["a=/nonexistent/file".into()],
                ..Default::default()
            },
            "--set-file",
        ),
    ] {
        let e = compute(&chart, &opts).expect_err("error");
        assert!(e.to_string().contains(flag), "{e}");
    }
}
