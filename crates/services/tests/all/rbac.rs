//! Least privilege: each consumer's Role names exactly its Secrets; pods run as its account.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use wasmchart_services::plan;

use crate::common::*;

fn names(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn each_role_names_exactly_the_referenced_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(&values("secret"), &ctx(dir.path()), &env_var).unwrap();
    let r = render(&plan);
    let roles = r.of_kind("Role");
    assert_eq!(
        roles.len(),
        4,
        "the exporter uses no secrets and gets no Role"
    );
    for (subchart, refs) in &r.refs {
        if refs.is_empty() {
            continue;
        }
        let role = r.find("Role", &format!("imprun-{subchart}-secret-reader"));
        let rules = role["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0]["verbs"], json!(["get"]));
        assert_eq!(rules[0]["resources"], json!(["secrets"]));
        assert_eq!(rules[0]["apiGroups"], json!([""]));
        let want: BTreeSet<String> = refs.iter().map(|r| r.secret_name.clone()).collect();
        assert_eq!(names(&rules[0]["resourceNames"]), want, "{subchart}");
        let sa = r.find("ServiceAccount", &format!("imprun-{subchart}-secrets"));
        assert_eq!(sa["metadata"]["namespace"], "imprun-system");
        let binding = r.find("RoleBinding", &format!("imprun-{subchart}-secret-reader"));
        assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
        assert_eq!(binding["subjects"][0]["name"], sa["metadata"]["name"]);
    }
    let console = r.find("Role", "imprun-imprun-console-secret-reader");
    assert_eq!(
        console["rules"][0]["resourceNames"],
        json!(["imprun-github-oauth"])
    );
}

#[test]
fn pods_run_as_the_account_unless_they_name_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(&values("secret"), &ctx(dir.path()), &env_var).unwrap();
    let r = render(&plan);
    let server = r.find("Deployment", "imprun-server");
    assert_eq!(
        server["spec"]["template"]["spec"]["serviceAccountName"],
        "imprun-imprun-server-secrets"
    );
    let mongo = r.find("StatefulSet", "mongodb");
    assert_eq!(
        mongo["spec"]["template"]["spec"]["serviceAccountName"],
        "mongodb-own"
    );
    let cron = r.find("CronJob", "redis-backup");
    assert_eq!(
        cron.pointer("/spec/jobTemplate/spec/template/spec/serviceAccountName")
            .unwrap(),
        "imprun-redis-secrets"
    );
    let exporter = r.find("Deployment", "exporter");
    assert!(
        exporter["spec"]["template"]["spec"]
            .get("serviceAccountName")
            .is_none()
    );
    // The component's own account is bound instead; since no pod runs as the host's
    // account, that account is not created at all.
    let (_, values, manifests) = components().into_iter().find(|c| c.0 == "mongodb").unwrap();
    let refs = plan.secret_refs("mongodb", &values).unwrap();
    let objs = plan.rbac_objects_for_workloads("mongodb", &refs, &manifests);
    let kinds: Vec<_> = objs.iter().map(|o| o.object["kind"].clone()).collect();
    assert_eq!(kinds, [json!("Role"), json!("RoleBinding")]);
    let subjects: Vec<_> = objs[1].object["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(subjects, [json!("mongodb-own")]);
}

#[test]
fn checksum_annotations_on_every_template_that_references_a_managed_secret() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(&values("secret"), &ctx(dir.path()), &env_var).unwrap();
    let r = render(&plan);
    let annotations = |o: &Value, p: &str| o.pointer(p).unwrap()["metadata"]["annotations"].clone();
    let server = annotations(r.find("Deployment", "imprun-server"), "/spec/template");
    let keys: BTreeSet<&str> = server
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "checksum/secret-imprun-github-oauth",
            "checksum/secret-imprun-google-oauth",
            "checksum/secret-imprun-jwt-secret"
        ])
    );
    assert_eq!(
        server["checksum/secret-imprun-jwt-secret"],
        plan.checksum("jwt").unwrap()
    );
    assert_eq!(plan.checksum("jwt").unwrap().len(), 64);
    let mongo = annotations(r.find("StatefulSet", "mongodb"), "/spec/template");
    assert!(mongo["checksum/secret-imprun-mongodb-secret"].is_string());
    let cron = annotations(
        r.find("CronJob", "redis-backup"),
        "/spec/jobTemplate/spec/template",
    );
    assert!(cron["checksum/secret-imprun-redis"].is_string());
    // Existing labels and metadata stay.
    assert_eq!(
        r.find("Deployment", "imprun-server")["spec"]["template"]["metadata"]["labels"]["app"],
        "imprun-server"
    );
    assert!(
        r.find("Deployment", "exporter")["spec"]["template"]["metadata"]
            .get("annotations")
            .is_none()
    );
}

#[test]
fn rbac_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = values("secret");
    v["secrets"]["rbac"] = json!({"create": false});
    let plan = plan(&v, &ctx(dir.path()), &env_var).unwrap();
    let r = render(&plan);
    assert!(
        r.of_kind("Role").is_empty()
            && r.of_kind("ServiceAccount").is_empty()
            && r.of_kind("RoleBinding").is_empty()
    );
    let server = r.find("Deployment", "imprun-server");
    assert!(
        server["spec"]["template"]["spec"]
            .get("serviceAccountName")
            .is_none()
    );
    // Checksums stay on.
    assert!(
        server["spec"]["template"]["metadata"]["annotations"]["checksum/secret-imprun-jwt-secret"]
            .is_string()
    );
}
