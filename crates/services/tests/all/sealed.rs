//! Strategy `sealed`: the real-controller vector, and our own output decrypted under its scope.

use base64::Engine as _;
use serde_json::{Value, json};
use wasmchart_services::kubeseal::{SealingCert, UnsealingKey, scope_label};
use wasmchart_services::{Context, Error, Scope, plan};

use crate::common::*;

fn kseal_key() -> UnsealingKey {
    let secret: Value = serde_yaml::from_str(&read("kseal/controller-key.yaml")).unwrap();
    let pem = base64::engine::general_purpose::STANDARD
        .decode(secret["data"]["tls.key"].as_str().unwrap())
        .unwrap();
    UnsealingKey::from_pem(&String::from_utf8(pem).unwrap(), "controller-key.yaml").unwrap()
}

fn unseal_text(key: &UnsealingKey, sealed: &str, label: &str) -> Result<String, Error> {
    key.unseal(sealed, label)
        .map(|v| String::from_utf8(v.expose().to_vec()).unwrap())
}

#[test]
fn real_controller_vector_decrypts() {
    let key = kseal_key();
    for env in ["dev", "prd"] {
        let sealed: Value =
            serde_yaml::from_str(&read(&format!("kseal/sealedsecret-{env}.yaml"))).unwrap();
        let expected: Value =
            serde_json::from_str(&read(&format!("kseal/expected-{env}.json"))).unwrap();
        let data = sealed["spec"]["encryptedData"].as_object().unwrap();
        assert_eq!(data.len(), 3);
        for (k, v) in data {
            let plain = unseal_text(&key, v.as_str().unwrap(), "my-namespace/my-secret").unwrap();
            assert_eq!(plain, expected["stringData"][k], "{env} {k}");
            // The vector is strictly scoped: other labels fail.
            for wrong in [
                "other-namespace/my-secret",
                "my-namespace/other",
                "my-namespace",
                "",
            ] {
                assert!(key.unseal(v.as_str().unwrap(), wrong).is_err(), "{wrong}");
            }
        }
    }
}

#[test]
fn kseal_certificate_parses_and_our_sealing_decrypts_with_its_key() {
    let secret: Value = serde_yaml::from_str(&read("kseal/controller-key.yaml")).unwrap();
    let pem = base64::engine::general_purpose::STANDARD
        .decode(secret["data"]["tls.crt"].as_str().unwrap())
        .unwrap();
    let cert = SealingCert::from_pem(&String::from_utf8(pem).unwrap(), "tls.crt").unwrap();
    let value = wasmchart_services::SecretValue::new(b"hello".to_vec());
    let sealed =
        wasmchart_services::kubeseal::seal(&cert, &[9; 32], "ns/name", "k", &value).unwrap();
    assert_eq!(
        unseal_text(&kseal_key(), &sealed, "ns/name").unwrap(),
        "hello"
    );
    // 4096-bit key: 2-byte prefix, 512-byte RSA block, 5 bytes of data and a 16-byte tag.
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&sealed)
        .unwrap();
    assert_eq!(&raw[..2], &512u16.to_be_bytes());
    assert_eq!(raw.len(), 2 + 512 + 5 + 16);
}

fn sealed_plan(scope: &str) -> (Vec<Value>, Vec<(String, String, String)>) {
    let dir = tempfile::tempdir().unwrap();
    let mut v = values("sealed");
    v["secrets"]["sealed"] = json!({"scope": scope});
    let sealed = render(&plan(&v, &ctx(dir.path()), &env_var).unwrap());
    let plain = render(&plan(&values("secret"), &ctx(dir.path()), &env_var).unwrap());
    let objects = sealed
        .of_kind("SealedSecret")
        .into_iter()
        .cloned()
        .collect();
    (objects, secret_data(&plain))
}

#[test]
fn every_sealed_secret_decrypts_under_its_scope_only() {
    let key = test_key();
    for (scope_name, scope) in [
        ("strict", Scope::Strict),
        ("namespace-wide", Scope::NamespaceWide),
        ("cluster-wide", Scope::ClusterWide),
    ] {
        let (objects, plain) = sealed_plan(scope_name);
        assert_eq!(objects.len(), 5, "{scope_name}");
        let mut checked = 0;
        for o in &objects {
            let name = o["metadata"]["name"].as_str().unwrap();
            let ns = o["metadata"]["namespace"].as_str().unwrap();
            assert_eq!(o["spec"]["template"]["metadata"]["name"], name);
            assert_eq!(o["spec"]["template"]["type"], "Opaque");
            check_annotations(o, scope);
            for (k, v) in o["spec"]["encryptedData"].as_object().unwrap() {
                let v = v.as_str().unwrap();
                let want = &plain
                    .iter()
                    .find(|(n, kk, _)| n == name && kk == k)
                    .unwrap()
                    .2;
                let got = unseal_text(&key, v, &scope_label(scope, ns, name)).unwrap();
                assert_eq!(&got, want, "{scope_name} {name} {k}");
                let wrong_ns = key.unseal(v, &scope_label(scope, "other-ns", name));
                let wrong_name = key.unseal(v, &scope_label(scope, ns, "other-name"));
                match scope {
                    Scope::Strict => assert!(wrong_ns.is_err() && wrong_name.is_err()),
                    Scope::NamespaceWide => assert!(wrong_ns.is_err() && wrong_name.is_ok()),
                    Scope::ClusterWide => assert!(wrong_ns.is_ok() && wrong_name.is_ok()),
                }
                if scope != Scope::ClusterWide {
                    assert!(key.unseal(v, "").is_err());
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 7, "{scope_name}");
    }
}

fn check_annotations(o: &Value, scope: Scope) {
    // The SealedSecret itself records what it was derived for; the Secret the controller makes
    // from the template does not.
    let mut outer = o["metadata"]["annotations"].clone();
    let derived_for = outer
        .as_object_mut()
        .and_then(|m| m.remove("wasmchart.dev/derived-for"));
    assert_eq!(derived_for, Some(Value::from("imprun/production")), "{o}");
    if outer.as_object().is_some_and(|m| m.is_empty()) {
        outer = Value::Null;
    }
    let annotations = [&outer, &o["spec"]["template"]["metadata"]["annotations"]];
    for a in annotations {
        match scope {
            Scope::Strict => assert!(a.is_null(), "{o}"),
            Scope::NamespaceWide => {
                assert_eq!(a["sealedsecrets.bitnami.com/namespace-wide"], "true")
            }
            Scope::ClusterWide => assert_eq!(a["sealedsecrets.bitnami.com/cluster-wide"], "true"),
        }
    }
}

#[test]
fn resealing_is_byte_identical_and_plaintexts_never_share_a_session_key() {
    let (a, _) = sealed_plan("strict");
    let (b, _) = sealed_plan("strict");
    assert_eq!(a, b);
    // Different plaintexts give different RSA blocks (a different session key and seed),
    // and so do equal plaintexts under different key names or labels.
    let mut blocks = std::collections::BTreeSet::new();
    let mut count = 0;
    for o in &a {
        for v in o["spec"]["encryptedData"].as_object().unwrap().values() {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap())
                .unwrap();
            blocks.insert(raw[2..2 + 256].to_vec());
            count += 1;
        }
    }
    assert_eq!(blocks.len(), count);
    let cert = SealingCert::from_pem(&test_cert(), "cert").unwrap();
    let seal = |label: &str, key: &str, text: &[u8]| {
        let v = wasmchart_services::SecretValue::new(text.to_vec());
        wasmchart_services::kubeseal::seal(&cert, &[1; 32], label, key, &v).unwrap()
    };
    let base = seal("ns/a", "K", b"same");
    assert_eq!(base, seal("ns/a", "K", b"same"));
    assert_ne!(base, seal("ns/a", "K", b"samf"));
    assert_ne!(base, seal("ns/b", "K", b"same"));
    assert_ne!(base, seal("ns/a", "L", b"same"));
}

#[test]
fn sealing_needs_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context {
        seal_cert_pem: None,
        ..ctx(dir.path())
    };
    let err = plan(&values("sealed"), &ctx, &env_var)
        .unwrap_err()
        .to_string();
    assert!(err.contains("pass --seal-cert PATH"), "{err}");
    let ctx = Context {
        seal_cert_pem: Some(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
        ),
        ..ctx
    };
    let err = plan(&values("sealed"), &ctx, &env_var)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("--seal-cert: not an X.509 certificate"),
        "{err}"
    );
}

#[test]
fn per_secret_strategy_and_scope_override() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = values("secret");
    v["secrets"]["items"]["jwt"]["strategy"] = json!("sealed");
    v["secrets"]["items"]["jwt"]["scope"] = json!("cluster-wide");
    let r = render(&plan(&v, &ctx(dir.path()), &env_var).unwrap());
    assert_eq!(r.of_kind("Secret").len(), 4);
    let s = r.find("SealedSecret", "imprun-jwt-secret");
    assert_eq!(
        s["metadata"]["annotations"]["sealedsecrets.bitnami.com/cluster-wide"],
        "true"
    );
}

#[test]
fn cert_file_in_values_is_read_from_the_chart_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), test_cert()).unwrap();
    let ctx = Context {
        seal_cert_pem: None,
        ..ctx(dir.path())
    };
    let mut v = values("sealed");
    v["secrets"]["sealed"] = json!({"certFile": "cert.pem"});
    let from_file = render(&plan(&v, &ctx, &env_var).unwrap()).text();
    let flag_ctx = crate::common::ctx(dir.path());
    let from_flag = render(&plan(&values("sealed"), &flag_ctx, &env_var).unwrap()).text();
    assert_eq!(from_file, from_flag);
    for bad in ["../cert.pem", "/etc/passwd"] {
        v["secrets"]["sealed"] = json!({"certFile": bad});
        let err = plan(&v, &ctx, &env_var).unwrap_err().to_string();
        assert!(
            err.contains("must be a relative path inside the chart directory"),
            "{err}"
        );
    }
}

#[test]
fn null_items_and_keys_are_deleted_entries() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = values("secret");
    v["secrets"]["items"]["jwt"] = Value::Null;
    v["secrets"]["items"]["github"]["keys"]["CLIENT_ID"] = Value::Null;
    let plan = plan(&v, &crate::common::ctx(dir.path()), &env_var).unwrap();
    assert!(!plan.secret_ids().contains(&"jwt"));
    let refs = plan
        .secret_refs("c", &json!({"usesSecrets": ["github"]}))
        .unwrap();
    assert_eq!(refs[0].keys, ["CLIENT_SECRET"]);
}
