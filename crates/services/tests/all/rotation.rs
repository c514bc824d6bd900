//! Rotation: bumping one secret's generation changes that secret and its consumers only.

use serde_json::Value;
use wasmchart_services::generations::{self, Generations};
use wasmchart_services::plan;

use crate::common::*;

fn checksums(r: &Rendered) -> Vec<(String, Value)> {
    r.objects
        .iter()
        .filter(|o| {
            o["kind"] == "Deployment" || o["kind"] == "StatefulSet" || o["kind"] == "CronJob"
        })
        .map(|o| {
            let t = o
                .pointer("/spec/template")
                .or_else(|| o.pointer("/spec/jobTemplate/spec/template"))
                .unwrap();
            (
                o["metadata"]["name"].as_str().unwrap().to_string(),
                t["metadata"]["annotations"].clone(),
            )
        })
        .collect()
}

fn rotate_and_compare(strategy: &str) {
    let dir = tempfile::tempdir().unwrap();
    let before = render(&plan(&values(strategy), &ctx(dir.path()), &env_var).unwrap());
    assert_eq!(
        generations::bump(dir.path(), "production", "jwt").unwrap(),
        1
    );
    let after = render(&plan(&values(strategy), &ctx(dir.path()), &env_var).unwrap());
    assert_eq!(before.objects.len(), after.objects.len());
    let changed: Vec<String> = before
        .objects
        .iter()
        .zip(&after.objects)
        .filter(|(a, b)| a != b)
        .map(|(a, _)| {
            format!(
                "{}/{}",
                a["kind"].as_str().unwrap(),
                a["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    let kind = match strategy {
        "secret" => "Secret",
        "sealed" => "SealedSecret",
        _ => "ExternalSecret",
    };
    let mut expected = vec!["Deployment/imprun-server".to_string()];
    if strategy != "external" {
        // The ExternalSecret's spec does not change: the new value is published to the store.
        expected.insert(0, format!("{kind}/imprun-jwt-secret"));
    }
    assert_eq!(changed, expected, "{strategy}");
    // Exactly the jwt checksum of the one consumer changed.
    for ((name, a), (_, b)) in checksums(&before).iter().zip(&checksums(&after)) {
        for (key, va) in a.as_object().into_iter().flatten() {
            let changed = va != &b[key];
            assert_eq!(
                changed,
                key == "checksum/secret-imprun-jwt-secret" && name == "imprun-server",
                "{strategy} {name} {key}"
            );
        }
    }
}

#[test]
fn rotation_changes_one_secret_and_its_consumers_plain() {
    rotate_and_compare("secret");
}

#[test]
fn rotation_changes_one_secret_and_its_consumers_sealed() {
    rotate_and_compare("sealed");
}

#[test]
fn rotation_changes_one_secret_and_its_consumers_external() {
    rotate_and_compare("external");
}

#[test]
fn rotation_is_per_environment_and_the_file_holds_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    generations::bump(dir.path(), "staging", "jwt").unwrap();
    let production = render(&plan(&values("secret"), &ctx(dir.path()), &env_var).unwrap());
    let fresh = tempfile::tempdir().unwrap();
    let untouched = render(&plan(&values("secret"), &ctx(fresh.path()), &env_var).unwrap());
    assert_eq!(production.text(), untouched.text());
    let text = std::fs::read_to_string(Generations::path(dir.path())).unwrap();
    for (_, _, v) in secret_data(&production) {
        assert!(!text.contains(&v));
    }
    assert!(text.contains("staging:\n  jwt: 1\n"), "{text}");
}
