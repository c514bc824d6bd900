//! ExternalSecret, Certificate, Issuer and SealedSecret output validates against the CRDs'
//! openAPIV3Schema (external-secrets and cert-manager v1, Bitnami sealed-secrets v1alpha1,
//! descriptions stripped: tests/data/crds/).

use serde_json::{Value, json};
use wasmchart_services::plan;

use crate::common::*;

fn validator(file: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read(&format!("crds/{file}"))).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn check(validator: &jsonschema::Validator, object: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(object)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{}: {errors:#?}",
        object["metadata"]["name"]
    );
}

#[test]
fn external_secrets_validate() {
    let v = validator("externalsecret-v1.schema.json");
    let dir = tempfile::tempdir().unwrap();
    let mut values = values("external");
    values["secrets"]["items"]["tls"] =
        json!({"type": "kubernetes.io/tls", "keys": {"tls.crt": {}, "tls.key": {}}});
    let r = render(&plan(&values, &ctx(dir.path()), &env_var).unwrap());
    let all = r.of_kind("ExternalSecret");
    assert_eq!(all.len(), 6);
    for o in all {
        check(&v, o);
    }
    // The schema is not vacuous.
    let bad = json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {},
        "spec": {"target": {"creationPolicy": "Sometimes"}, "data": [{"secretKey": "k"}]}});
    assert!(!v.is_valid(&bad));
}

#[test]
fn certificates_and_issuers_validate() {
    let cert = validator("certificate-v1.schema.json");
    let issuer = validator("issuer-v1.schema.json");
    let dir = tempfile::tempdir().unwrap();
    let mut values = values("secret");
    values["certificates"]["ca"] = json!({"enabled": true, "duration": "87600h"});
    values["certificates"]["certs"][0]["renewBefore"] = json!("360h");
    let plan = plan(&values, &ctx(dir.path()), &env_var).unwrap();
    let mut counted = 0;
    for o in plan.objects() {
        match o.object["kind"].as_str().unwrap() {
            "Certificate" => check(&cert, &o.object),
            "Issuer" | "ClusterIssuer" => check(&issuer, &o.object),
            _ => continue,
        }
        counted += 1;
    }
    assert_eq!(counted, 5);
    let bad = json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {},
        "spec": {"dnsNames": ["x"]}});
    assert!(
        !cert.is_valid(&bad),
        "secretName and issuerRef are required"
    );
}

#[test]
fn sealed_secrets_validate_in_every_scope() {
    let v = validator("sealedsecret-v1alpha1.schema.json");
    let mut counted = 0;
    for scope in ["strict", "namespace-wide", "cluster-wide"] {
        let dir = tempfile::tempdir().unwrap();
        let mut values = values("sealed");
        values["secrets"]["sealed"] = json!({"scope": scope});
        values["secrets"]["items"]["tls"] = json!({"type": "kubernetes.io/tls", "keys": {"tls.crt": {"value": "c"}, "tls.key": {"value": "k"}}});
        let r = render(&plan(&values, &ctx(dir.path()), &env_var).unwrap());
        let all = r.of_kind("SealedSecret");
        assert_eq!(all.len(), 6, "{scope}");
        for o in all {
            assert_eq!(o["apiVersion"], "bitnami.com/v1alpha1");
            check(&v, o);
            counted += 1;
        }
    }
    assert_eq!(counted, 18);
    // The schema is not vacuous: encryptedData is required and holds strings.
    let bad = json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {},
        "spec": {"template": {"type": "Opaque"}}});
    assert!(!v.is_valid(&bad), "spec.encryptedData is required");
    let bad = json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {},
        "spec": {"encryptedData": {"k": 1}}});
    assert!(!v.is_valid(&bad), "encrypted values are strings");
}
