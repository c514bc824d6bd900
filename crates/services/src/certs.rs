//! cert-manager objects from `certificates:`.
//!
//! Each `certs[]` entry becomes a `cert-manager.io/v1` Certificate whose `issuerRef` points at
//! the named ClusterIssuer. With `ca.enabled`, the host also emits a CA chain for clusters
//! without a public issuer: a self-signed ClusterIssuer, a CA Certificate issued by it, and a
//! namespaced CA Issuer that signs the leaf certificates. The CA's key lives in a Secret that
//! cert-manager keeps across upgrades, and the objects themselves are deterministic, so leaf
//! certificates do not churn on re-render.

use serde_json::{Value, json};

use crate::HostObject;
use crate::spec::{CaSpec, CertSpec, CertsSpec};

/// Names of the CA chain objects for a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaNames {
    /// The self-signed ClusterIssuer. Cluster-scoped, so it carries the namespace too.
    pub self_signed: String,
    /// The CA Certificate, its Secret and the CA Issuer share this name.
    pub ca: String,
}

impl CaNames {
    /// `<namespace>-<release>-selfsigned` and `<release>-ca`.
    pub fn new(release: &str, namespace: &str) -> Self {
        CaNames {
            self_signed: format!("{namespace}-{release}-selfsigned"),
            ca: format!("{release}-ca"),
        }
    }
}

/// All cert-manager objects, in a fixed order: the CA chain first, then each certificate.
pub fn objects(spec: &CertsSpec, release: &str, namespace: &str) -> Vec<HostObject> {
    if !spec.enabled {
        return Vec::new();
    }
    let names = CaNames::new(release, namespace);
    let mut out = Vec::new();
    if let Some(ca) = &spec.ca {
        out.extend(ca_chain(ca, &names, release, namespace));
    }
    for cert in &spec.certs {
        let (issuer, kind) = issuer_for(spec, cert, &names);
        out.push(HostObject {
            source: format!("certificates/{}.yaml", cert.name),
            object: certificate(cert, namespace, issuer, kind),
        });
    }
    out
}

fn issuer_for<'a>(
    spec: &'a CertsSpec,
    cert: &'a CertSpec,
    names: &'a CaNames,
) -> (&'a str, &'a str) {
    if let Some(issuer) = &cert.issuer {
        let kind = cert.issuer_kind.as_deref().unwrap_or("ClusterIssuer");
        return (issuer, kind);
    }
    if spec.ca.is_some() {
        return (&names.ca, "Issuer");
    }
    (
        spec.issuer.as_deref().unwrap_or_default(),
        &spec.issuer_kind,
    )
}

fn issuer_ref(name: &str, kind: &str) -> Value {
    json!({ "name": name, "kind": kind, "group": "cert-manager.io" })
}

fn certificate(cert: &CertSpec, namespace: &str, issuer: &str, kind: &str) -> Value {
    let mut spec = json!({
        "secretName": cert.secret_name,
        "issuerRef": issuer_ref(issuer, kind),
    });
    if !cert.dns_names.is_empty() {
        spec["dnsNames"] = json!(cert.dns_names);
    }
    for (key, value) in [
        ("commonName", &cert.common_name),
        ("duration", &cert.duration),
        ("renewBefore", &cert.renew_before),
    ] {
        if let Some(v) = value {
            spec[key] = json!(v);
        }
    }
    json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": { "name": cert.name, "namespace": namespace },
        "spec": spec,
    })
}

fn ca_chain(ca: &CaSpec, names: &CaNames, release: &str, namespace: &str) -> Vec<HostObject> {
    let self_signed = json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": { "name": names.self_signed },
        "spec": { "selfSigned": {} },
    });
    let common_name = ca
        .common_name
        .clone()
        .unwrap_or_else(|| format!("{release} CA"));
    let mut ca_spec = json!({
        "isCA": true,
        "commonName": common_name,
        "secretName": names.ca,
        "privateKey": { "algorithm": "ECDSA", "size": 256 },
        "issuerRef": issuer_ref(&names.self_signed, "ClusterIssuer"),
    });
    if let Some(duration) = &ca.duration {
        ca_spec["duration"] = json!(duration);
    }
    let ca_cert = json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": { "name": names.ca, "namespace": namespace },
        "spec": ca_spec,
    });
    let ca_issuer = json!({
        "apiVersion": "cert-manager.io/v1",
        "kind": "Issuer",
        "metadata": { "name": names.ca, "namespace": namespace },
        "spec": { "ca": { "secretName": names.ca } },
    });
    [self_signed, ca_cert, ca_issuer]
        .into_iter()
        .map(|object| HostObject {
            source: "certificates/ca.yaml".into(),
            object,
        })
        .collect()
}
