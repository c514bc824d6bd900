//! Provenance: every source that set or overrode a value, in order, with file:line or flag.

use wasmchart_values::ValueOptions;

use crate::common::{chart_yaml, compute_tree, write_tree};

#[test]
fn explain_lists_every_source_in_order() {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml("top", "dependencies:\n- name: sub\n  version: 0.1.0\n"),
        ),
        ("values.yaml", "sub:\n  port: 2\nother: 1\n"),
        ("charts/sub/Chart.yaml", &chart_yaml("sub", "")),
        ("charts/sub/values.yaml", "image: x\nport: 1\n"),
        ("prod.yaml", "\nsub:\n  port: 3\n"),
    ]);
    let opts = ValueOptions {
        files: vec![d.path().join("prod.yaml")],
        set: vec!["sub.port=4".into()],
        ..Default::default()
    };
    let c = compute_tree(d.path(), &opts).expect("compute");
    let e = c.explain("sub.port").expect("explain");
    assert_eq!(e.value, Some(serde_json::json!(4)));
    let sources: Vec<&str> = e.steps.iter().map(|s| s.source.as_str()).collect();
    assert_eq!(sources.len(), 4, "{e}");
    assert!(sources[0].ends_with("charts/sub/values.yaml:2:7"), "{e}");
    assert!(sources[1].ends_with("/values.yaml:2:9"), "{e}");
    assert!(sources[2].ends_with("prod.yaml:3:9"), "{e}");
    assert_eq!(sources[3], "--set sub.port=4");
    let text = e.to_string();
    assert!(text.starts_with("sub.port = 4\n"), "{text}");
    let untouched = c.explain("sub.image").expect("explain");
    assert_eq!(untouched.steps.len(), 1);
    let none = c.explain("nothing.here").expect("explain");
    assert!(none.value.is_none() && none.to_string().contains("is not set"));
}

#[test]
fn explain_globals_and_deletions() {
    let d = write_tree(&[
        (
            "Chart.yaml",
            &chart_yaml("top", "dependencies:\n- name: sub\n  version: 0.1.0\n"),
        ),
        ("values.yaml", "global:\n  region: eu\n"),
        ("charts/sub/Chart.yaml", &chart_yaml("sub", "")),
        ("charts/sub/values.yaml", "global:\n  region: us\ndrop: 1\n"),
    ]);
    let opts = ValueOptions {
        set: vec!["sub.drop=null".into()],
        ..Default::default()
    };
    let c = compute_tree(d.path(), &opts).expect("compute");
    let e = c.explain("sub.global.region").expect("explain");
    assert_eq!(e.value, Some(serde_json::json!("eu")));
    assert_eq!(e.steps.len(), 2, "{e}");
    assert!(e.steps[0].source.contains("charts/sub/values.yaml"), "{e}");
    assert_eq!(e.steps[1].at, "global.region");
    let gone = c.explain("sub.drop").expect("explain");
    assert!(gone.value.is_none());
    assert_eq!(
        gone.steps.last().expect("step").source,
        "--set sub.drop=null"
    );
    assert!(gone.to_string().contains("deletes the default"), "{gone}");
    assert!(c.explain("a[x").is_err());
}
