//! No secret value outside Secret objects: not in other objects, refs, errors or Debug output.

use base64::Engine as _;
use serde_json::json;
use wasmchart_services::plan;

use crate::common::*;

/// Every secret value of the fixture, in plain text and base64.
fn needles() -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let r = render(&plan(&values("secret"), &ctx(dir.path()), &env_var).unwrap());
    let mut out = Vec::new();
    for (name, key, value) in secret_data(&r) {
        if key == "CLIENT_ID" {
            continue; // public identifiers, not secrets
        }
        assert!(value.len() >= 16, "{name}/{key}");
        out.push(base64::engine::general_purpose::STANDARD.encode(&value));
        out.push(value);
    }
    assert_eq!(out.len(), 10);
    out
}

#[test]
fn values_appear_only_inside_secret_objects() {
    let needles = needles();
    for strategy in ["secret", "sealed", "external"] {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan(&values(strategy), &ctx(dir.path()), &env_var).unwrap();
        let r = render(&plan);
        let refs = serde_json::to_string(&r.refs).unwrap();
        for o in &r.objects {
            if o["kind"] == "Secret" {
                continue;
            }
            let text = serde_json::to_string(o).unwrap();
            for n in &needles {
                assert!(
                    !text.contains(n.as_str()),
                    "{strategy}: value leaked into {text}"
                );
            }
        }
        let debug = format!("{plan:?}");
        for n in &needles {
            assert!(
                !refs.contains(n.as_str()),
                "{strategy}: value leaked into refs"
            );
            assert!(
                !debug.contains(n.as_str()),
                "{strategy}: value leaked into Debug"
            );
        }
        // Inside Secret objects only the base64 form is present, never the raw text.
        for s in r.of_kind("Secret") {
            let text = serde_json::to_string(s).unwrap();
            for (i, n) in needles.iter().enumerate() {
                if i % 2 == 1 {
                    assert!(!text.contains(n.as_str()), "raw value in {text}");
                }
            }
        }
    }
}

#[test]
fn errors_never_carry_values() {
    let needles = needles();
    let dir = tempfile::tempdir().unwrap();
    let mut errors = Vec::new();
    // Missing required value while other values are present.
    errors.push(plan(&values("secret"), &ctx(dir.path()), &|_| None).unwrap_err());
    // A bad shape next to supplied values.
    let mut v = values("secret");
    v["secrets"]["items"]["github"]["keys"]["CLIENT_SECRET"]["generate"] = json!({"length": -1});
    errors.push(plan(&v, &ctx(dir.path()), &env_var).unwrap_err());
    // A value of the wrong type.
    let mut v = values("secret");
    v["secrets"]["items"]["github"]["keys"]["CLIENT_SECRET"]["value"] = json!([GITHUB_SECRET]);
    errors.push(plan(&v, &ctx(dir.path()), &env_var).unwrap_err());
    // Wrong label when unsealing our own output.
    let sealed = render(&plan(&values("sealed"), &ctx(dir.path()), &env_var).unwrap());
    let s = sealed.find("SealedSecret", "imprun-github-oauth");
    let ct = s["spec"]["encryptedData"]["CLIENT_SECRET"]
        .as_str()
        .unwrap();
    errors.push(test_key().unseal(ct, "wrong/label").unwrap_err());
    // A garbled root key.
    let garbled = format!("{GITHUB_SECRET}!!");
    let e = wasmchart_services::load_root_key(&Default::default(), &|n| {
        (n == "WASMCHART_SECRET_KEY").then(|| garbled.clone())
    })
    .unwrap_err();
    assert!(!e.to_string().contains(GITHUB_SECRET));
    for e in &errors {
        let text = format!("{e} {e:?}");
        for n in &needles {
            assert!(!text.contains(n.as_str()), "value leaked into error {text}");
        }
    }
}

/// A chart naming wasmchart's own variables in a key's `env:` (the root key,
/// the policy path) would copy them into a Secret: refused, naming the key
/// path, whatever the case, and the variable's value is never read.
#[test]
fn env_of_wasmchart_variables_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["WASMCHART_SECRET_KEY", "wasmchart_policy", "1BAD", "A-B"] {
        let mut v = values("secret");
        v["secrets"]["items"]["github"]["keys"]["CLIENT_SECRET"]["env"] = json!(name);
        let read = std::cell::RefCell::new(Vec::new());
        let reader = |n: &str| {
            read.borrow_mut().push(n.to_string());
            Some("the-root-key-material".to_string())
        };
        let err = plan(&v, &ctx(dir.path()), &reader).unwrap_err().to_string();
        assert!(
            err.contains("secrets.items.github.keys.CLIENT_SECRET.env") && err.contains(name),
            "{name}: {err}"
        );
        assert!(!err.contains("the-root-key-material"), "{err}");
        assert!(!read.borrow().iter().any(|n| n == name), "{name} was read");
    }
}
