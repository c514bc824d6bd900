//! Strategy `external`: ExternalSecrets reading `<keyPrefix>/<id>`, and store payloads.

use serde_json::json;
use wasmchart_services::{Context, plan};

use crate::common::*;

#[test]
fn external_secrets_point_at_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let r = render(&plan(&values("external"), &ctx(dir.path()), &env_var).unwrap());
    assert!(r.of_kind("Secret").is_empty());
    let es = r.find("ExternalSecret", "imprun-github-oauth");
    assert_eq!(es["apiVersion"], "external-secrets.io/v1");
    assert_eq!(es["metadata"]["namespace"], "imprun-system");
    assert_eq!(
        es["spec"],
        json!({
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"},
            "target": {"name": "imprun-github-oauth", "creationPolicy": "Owner"},
            "data": [
                {"secretKey": "CLIENT_ID", "remoteRef": {"key": "imprun/production/github", "property": "CLIENT_ID"}},
                {"secretKey": "CLIENT_SECRET", "remoteRef": {"key": "imprun/production/github", "property": "CLIENT_SECRET"}}
            ]
        })
    );
}

#[test]
fn default_key_prefix_is_chart_and_env_and_no_root_key_is_needed_to_render() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = values("external");
    v["secrets"]["external"] = json!({"secretStoreRef": {"name": "vault"}});
    let ctx = Context {
        root_key: None,
        ..ctx(dir.path())
    };
    // No value source at all for google: fine, the store holds it.
    let plan = plan(&v, &ctx, &|_| None).unwrap();
    let r = render(&plan);
    let es = r.find("ExternalSecret", "imprun-jwt-secret");
    assert_eq!(
        es["spec"]["data"][0]["remoteRef"]["key"],
        "imprun/production/jwt"
    );
    assert_eq!(es["spec"]["secretStoreRef"]["kind"], "SecretStore");
    // The payloads need the root key for generated keys.
    let err = plan.external_payloads().unwrap_err().to_string();
    assert!(
        err.contains("secret \"jwt\" key \"JWT_SECRET\" (generated) needs a root key"),
        "{err}"
    );
}

#[test]
fn payloads_hold_the_same_derived_values_as_the_other_strategies() {
    let dir = tempfile::tempdir().unwrap();
    let plain = render(&plan(&values("secret"), &ctx(dir.path()), &env_var).unwrap());
    let ext = plan(&values("external"), &ctx(dir.path()), &env_var).unwrap();
    let payloads = ext.external_payloads().unwrap();
    assert_eq!(payloads.len(), 5);
    for p in &payloads {
        assert!(p.remote_key.starts_with("imprun/production/"));
        for (key, value) in &p.properties {
            let name = if p.id == "redis" {
                "imprun-redis".to_string()
            } else {
                plain
                    .of_kind("Secret")
                    .iter()
                    .find(|s| s["metadata"]["name"].as_str().unwrap().contains(&p.id))
                    .unwrap()["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string()
            };
            let want = secret_data(&plain)
                .into_iter()
                .find(|(n, k, _)| *n == name && k == key)
                .unwrap()
                .2;
            assert_eq!(value.expose(), want.as_bytes(), "{} {key}", p.id);
        }
    }
}

#[test]
fn external_needs_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = values("external");
    v["secrets"]["external"] = json!({});
    let err = plan(&v, &ctx(dir.path()), &env_var)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("invalid value at secrets.external.secretStoreRef.name"),
        "{err}"
    );
}

/// An export needs every required value: all missing ones are listed in one error, while the
/// render itself (the store holds them) does not need them.
#[test]
fn payloads_list_every_missing_required_value() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = values("external");
    v["secrets"]["items"]["github"]["keys"]["CLIENT_SECRET"]["value"] = serde_json::Value::Null;
    let plan = plan(&v, &ctx(dir.path()), &|_| None).unwrap();
    let err = plan.external_payloads().unwrap_err().to_string();
    assert!(
        err.starts_with("2 required secret keys have no value:"),
        "{err}"
    );
    assert!(
        err.contains("secrets.items.github.keys.CLIENT_SECRET.value=VALUE"),
        "{err}"
    );
    assert!(
        err.contains("secrets.items.google.keys.CLIENT_SECRET.value=VALUE"),
        "{err}"
    );
}

/// `secrets list` material: names, strategy, key sources, generations, store keys; no value.
#[test]
fn inventory_describes_without_values() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("secret-generations.yaml"),
        "production:\n  jwt: 3\n",
    )
    .unwrap();
    let list =
        wasmchart_services::inventory(&values("external"), &ctx(dir.path()), &env_var).unwrap();
    let ids: Vec<&str> = list.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["github", "google", "jwt", "mongodb", "redis"]);
    let jwt = &list[2];
    assert_eq!(jwt.generation, 3);
    assert_eq!(jwt.remote_key.as_deref(), Some("imprun/production/jwt"));
    assert_eq!(jwt.keys[0].source, "generated (32, base64)");
    let google = &list[1];
    assert_eq!(google.keys[1].source, "env GOOGLE_CLIENT_SECRET");
    assert_eq!(list[0].keys[1].source, "supplied");
    assert_eq!(list[0].generation, 0);
    let text = format!("{list:?}");
    assert!(
        !text.contains(GITHUB_SECRET) && !text.contains(GOOGLE_SECRET),
        "{text}"
    );
}
