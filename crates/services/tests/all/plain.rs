//! Strategy `secret`: plain Secrets, value sources and the missing-value error.

use serde_json::json;
use wasmchart_services::{Context, Error, plan};

use crate::common::*;

#[test]
fn secrets_are_opaque_kept_and_carry_every_value_source() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(&values("secret"), &ctx(dir.path()), &env_var).unwrap();
    let r = render(&plan);
    let secrets = r.of_kind("Secret");
    assert_eq!(secrets.len(), 5);
    for s in &secrets {
        assert_eq!(s["type"], "Opaque");
        assert_eq!(s["metadata"]["namespace"], "imprun-system");
        assert_eq!(
            s["metadata"]["annotations"]["helm.sh/resource-policy"],
            "keep"
        );
    }
    let data = secret_data(&r);
    let get = |name: &str, key: &str| {
        data.iter()
            .find(|(n, k, _)| n == name && k == key)
            .map(|(_, _, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name}/{key}"))
    };
    assert_eq!(get("imprun-github-oauth", "CLIENT_SECRET"), GITHUB_SECRET);
    assert_eq!(get("imprun-github-oauth", "CLIENT_ID"), "Iv1.abc");
    assert_eq!(get("imprun-google-oauth", "CLIENT_SECRET"), GOOGLE_SECRET);
    let jwt = get("imprun-jwt-secret", "JWT_SECRET");
    assert_eq!(jwt.len(), 44, "base64 of 32 bytes");
    let mongo = get("imprun-mongodb-secret", "MONGODB_ROOT_PASSWORD");
    assert_eq!(mongo.len(), 24);
    assert!(mongo.bytes().all(|b| b.is_ascii_alphanumeric()));
    // Default name `<release>-<id>`.
    assert_eq!(get("imprun-redis", "REDIS_PASSWORD").len(), 32);
}

#[test]
fn missing_required_value_names_the_flag_and_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let err = plan(&values("secret"), &ctx(dir.path()), &|_| None).unwrap_err();
    assert!(matches!(err, Error::MissingRequired { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "secret \"google\" key \"CLIENT_SECRET\" is required but has no value: pass \
         --set secrets.items.google.keys.CLIENT_SECRET.value=VALUE or --set-file \
         secrets.items.google.keys.CLIENT_SECRET.value=PATH, or set the environment variable \
         GOOGLE_CLIENT_SECRET"
    );
}

#[test]
fn empty_supplied_value_counts_as_missing_and_dots_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let v = json!({"secrets": {"items": {"tls": {"keys": {"tls.key": {"value": ""}}}}}});
    let err = plan(&v, &ctx(dir.path()), &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--set secrets.items.tls.keys.tls\\.key.value=VALUE"),
        "{err}"
    );
    assert!(!err.contains("environment variable"), "{err}");
}

#[test]
fn optional_key_without_value_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let v = json!({"secrets": {"items": {"smtp": {"keys": {
        "USER": {"value": "mailer"},
        "PASSWORD": {"required": false, "env": "SMTP_PASSWORD"}
    }}}}});
    let plan = plan(&v, &ctx(dir.path()), &|_| None).unwrap();
    let refs = plan
        .secret_refs("api", &json!({"usesSecrets": ["smtp"]}))
        .unwrap();
    assert_eq!(refs[0].keys, ["USER"]);
    let obj = &plan.objects()[0].object;
    assert!(obj["data"].get("PASSWORD").is_none());
}

#[test]
fn generated_value_without_root_key_says_how_to_provide_one() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Context {
        root_key: None,
        ..ctx(dir.path())
    };
    let v = json!({"secrets": {"strategy": "external",
        "external": {"secretStoreRef": {"name": "s"}},
        "items": {"jwt": {"strategy": "secret", "keys": {"JWT_SECRET": {"generate": {}}}}}}});
    let err = plan(&v, &ctx, &|_| None).unwrap_err().to_string();
    assert!(err.contains("needs a root key"), "{err}");
    assert!(err.contains("WASMCHART_SECRET_KEY"), "{err}");
    assert!(err.contains("--secret-key-file"), "{err}");
}

#[test]
fn bad_values_name_their_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            json!({"secrets": {"strategy": "vault"}}),
            "invalid value at secrets.strategy: unknown strategy \"vault\"",
        ),
        (
            json!({"secrets": {"items": {"jwt": {"keys": {"K": {"generate": {"length": 0}}}}}}}),
            "invalid value at secrets.items.jwt.keys.K.generate.length",
        ),
        (
            json!({"secrets": {"items": {"jwt": {"keys": {"K": {"generate": {"encoding": "emoji"}}}}}}}),
            "unknown encoding \"emoji\"",
        ),
        (
            json!({"secrets": {"items": {"Bad_Id": {"keys": {"K": {"value": "v"}}}}}}),
            "invalid value at secrets.items.Bad_Id",
        ),
        (
            json!({"secrets": {"items": {"a": {"name": "same", "keys": {"K": {"value": "v"}}},
                                          "b": {"name": "same", "keys": {"K": {"value": "v"}}}}}}),
            "Secret name \"same\" is also used by secrets.items.a",
        ),
        (
            json!({"certificates": {"enabled": true, "certs": [{"name": "c", "secretName": "c-tls", "dnsNames": ["x"]}]}}),
            "invalid value at certificates.issuer",
        ),
    ];
    for (v, want) in cases {
        let err = plan(&v, &ctx(dir.path()), &|_| None)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "want {want:?} in {err:?}");
    }
}

#[test]
fn unknown_consumer_id_names_subchart_and_id() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(&values("secret"), &ctx(dir.path()), &env_var).unwrap();
    let err = plan
        .secret_refs(
            "imprun-console",
            &json!({"usesSecrets": ["jwt", "githubb"]}),
        )
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "subchart \"imprun-console\" uses secret \"githubb\" but secrets.items has no such id \
         (declared: github, google, jwt, mongodb, redis)"
    );
    let err = plan
        .secret_refs("x", &json!({"usesSecrets": "jwt"}))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("subchart \"x\" value usesSecrets: expected a list"),
        "{err}"
    );
}

/// Every missing key of the render is in one error, each with its own flag and variable, so an
/// operator fixes them all in one go instead of one per run.
#[test]
fn all_missing_required_values_are_reported_in_one_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = values("secret");
    v["secrets"]["items"]["github"]["keys"]["CLIENT_SECRET"]["value"] = serde_json::Value::Null;
    v["secrets"]["items"]["jwt"]["keys"]["EXTRA"] = json!({"required": true});
    let err = plan(&v, &ctx(dir.path()), &|_| None).unwrap_err();
    let Error::MissingRequired { missing } = &err else {
        panic!("{err:?}");
    };
    let ids: Vec<(&str, &str)> = missing
        .iter()
        .map(|m| (m.id.as_str(), m.key.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("github", "CLIENT_SECRET"),
            ("google", "CLIENT_SECRET"),
            ("jwt", "EXTRA")
        ]
    );
    let text = err.to_string();
    assert!(
        text.starts_with("3 required secret keys have no value:\n"),
        "{text}"
    );
    for needle in [
        "--set secrets.items.github.keys.CLIENT_SECRET.value=VALUE",
        "or set the environment variable GITHUB_CLIENT_SECRET",
        "--set secrets.items.google.keys.CLIENT_SECRET.value=VALUE",
        "or set the environment variable GOOGLE_CLIENT_SECRET",
        "secret \"jwt\" key \"EXTRA\" is required but has no value: pass --set secrets.items.jwt.keys.EXTRA.value=VALUE or --set-file secrets.items.jwt.keys.EXTRA.value=PATH\n",
    ] {
        assert!(
            text.contains(needle) || text.ends_with(needle.trim_end()),
            "{needle}\n{text}"
        );
    }
    assert_eq!(text.lines().count(), 4, "{text}");
}

/// Every host-made Secret says which chart and environment its values were derived for.
#[test]
fn secrets_record_what_they_were_derived_for() {
    let dir = tempfile::tempdir().unwrap();
    for strategy in ["secret", "external"] {
        let p = plan(&values(strategy), &ctx(dir.path()), &env_var).unwrap();
        let secrets: Vec<_> = p
            .objects()
            .into_iter()
            .filter(|o| o.source.starts_with("secrets/"))
            .collect();
        assert_eq!(secrets.len(), 5, "{strategy}");
        for o in secrets {
            assert_eq!(
                o.object["metadata"]["annotations"]["wasmchart.dev/derived-for"],
                "imprun/production",
                "{strategy} {}",
                o.source
            );
            assert_eq!(
                o.object["metadata"]["labels"]["app.kubernetes.io/instance"], "imprun",
                "{strategy} {}",
                o.source
            );
        }
    }
}
