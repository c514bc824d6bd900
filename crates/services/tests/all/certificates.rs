//! Certificates: cert-manager objects, the optional CA chain, and consumer references.

use serde_json::json;
use wasmchart_services::plan;

use crate::common::*;

#[test]
fn certificates_reference_the_cluster_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(&values("secret"), &ctx(dir.path()), &env_var).unwrap();
    let r = render(&plan);
    let certs = r.of_kind("Certificate");
    assert_eq!(certs.len(), 2);
    let app = r.find("Certificate", "app-imprun-dev");
    assert_eq!(
        app["spec"],
        json!({
            "secretName": "app-imprun-dev-tls",
            "dnsNames": ["app.imprun.dev"],
            "issuerRef": {"name": "letsencrypt-prod", "kind": "ClusterIssuer", "group": "cert-manager.io"}
        })
    );
    let refs = plan
        .certificate_refs(
            "imprun-console",
            &json!({"usesCertificates": ["app-imprun-dev"]}),
        )
        .unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].secret_name, "app-imprun-dev-tls");
    assert_eq!(refs[0].dns_names, ["app.imprun.dev"]);
    let err = plan
        .certificate_refs("imprun-console", &json!({"usesCertificates": ["nope"]}))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "subchart \"imprun-console\" uses certificate \"nope\" but certificates.certs has no entry with that name (declared: app-imprun-dev, wildcard-app-imprun-dev)"
    );
}

#[test]
fn ca_chain_replaces_the_public_issuer() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = values("secret");
    v["certificates"]["ca"] = json!({"enabled": true, "commonName": "imprun local CA"});
    let plan = plan(&v, &ctx(dir.path()), &env_var).unwrap();
    let objs = plan.objects();
    let kinds: Vec<(String, String)> = objs
        .iter()
        .filter(|o| o.source.starts_with("certificates/"))
        .map(|o| {
            (
                o.object["kind"].as_str().unwrap().into(),
                o.object["metadata"]["name"].as_str().unwrap().into(),
            )
        })
        .collect();
    let pairs = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds,
        pairs(&[
            ("ClusterIssuer", "imprun-system-imprun-selfsigned"),
            ("Certificate", "imprun-ca"),
            ("Issuer", "imprun-ca"),
            ("Certificate", "app-imprun-dev"),
            ("Certificate", "wildcard-app-imprun-dev"),
        ])
    );
    let ca = &objs
        .iter()
        .find(|o| o.object["metadata"]["name"] == "imprun-ca")
        .unwrap()
        .object;
    assert_eq!(ca["spec"]["isCA"], true);
    assert_eq!(ca["spec"]["commonName"], "imprun local CA");
    assert_eq!(
        ca["spec"]["issuerRef"]["name"],
        "imprun-system-imprun-selfsigned"
    );
    let leaf = &objs
        .iter()
        .find(|o| o.object["metadata"]["name"] == "app-imprun-dev")
        .unwrap()
        .object;
    assert_eq!(
        leaf["spec"]["issuerRef"],
        json!({"name": "imprun-ca", "kind": "Issuer", "group": "cert-manager.io"})
    );
}

#[test]
fn disabled_certificates_emit_nothing_and_give_no_refs() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = values("secret");
    v["certificates"]["enabled"] = json!(false);
    let plan = plan(&v, &ctx(dir.path()), &env_var).unwrap();
    assert!(
        plan.objects()
            .iter()
            .all(|o| o.object["kind"] != "Certificate")
    );
    let uses = json!({"usesCertificates": ["app-imprun-dev"]});
    assert!(
        plan.certificate_refs("imprun-console", &uses)
            .unwrap()
            .is_empty()
    );
    // Typos are still caught while certs are listed.
    assert!(
        plan.certificate_refs("imprun-console", &json!({"usesCertificates": ["typo"]}))
            .is_err()
    );
}
