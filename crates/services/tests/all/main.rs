//! Integration tests of the host services, one binary (see the crate docs for the API).

mod common;

mod certificates;
mod crd;
mod determinism;
mod external;
mod leaks;
mod plain;
mod rbac;
mod root_key;
mod rotation;
mod sealed;

#[test]
fn redact_supplied_hides_only_supplied_values() {
    let mut values = serde_json::json!({"secrets": {"items": {
        "db": {"name": "db", "keys": {"PASSWORD": {"value": "hunter2"}, "GEN": {"generate": {"length": 8}}, "OPT": {"value": null}}}
    }}, "other": {"value": "kept"}});
    wasmchart_services::redact_supplied(&mut values);
    let text = values.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert_eq!(
        values["secrets"]["items"]["db"]["keys"]["PASSWORD"]["value"],
        wasmchart_services::REDACTED
    );
    assert!(values["secrets"]["items"]["db"]["keys"]["OPT"]["value"].is_null());
    assert_eq!(values["other"]["value"], "kept");
}
