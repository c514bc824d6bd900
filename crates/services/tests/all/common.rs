//! Shared fixtures: imprun-like umbrella values, contexts, consuming components and a full
//! "render" of everything the host services add to the output.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use wasmchart_services::kubeseal::UnsealingKey;
use wasmchart_services::{Context, Plan, RootKey, SecretRef};

/// A fixed test root key (never a real one).
pub const ROOT_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// A supplied OAuth client secret that every leak test searches for.
pub const GITHUB_SECRET: &str = "gh-client-secret-Zq9xW3";
/// A supplied Google secret, given through an environment variable.
pub const GOOGLE_SECRET: &str = "google-secret-Pm4kT8";

pub fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

pub fn read(path: &str) -> String {
    std::fs::read_to_string(data(path)).unwrap()
}

pub fn test_cert() -> String {
    read("test-seal-key/test-controller-cert.pem")
}

pub fn test_key() -> UnsealingKey {
    UnsealingKey::from_pem(&read("test-seal-key/test-controller-key.pem"), "test key").unwrap()
}

pub fn root() -> RootKey {
    RootKey::parse(ROOT_HEX).unwrap()
}

/// Umbrella values shaped like the guide's, with `strategy` as the default strategy.
pub fn values(strategy: &str) -> Value {
    json!({
        "secrets": {
            "strategy": strategy,
            "external": {
                "secretStoreRef": {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"},
                "refreshInterval": "1h",
                "keyPrefix": "imprun/production"
            },
            "items": {
                "jwt": {
                    "name": "imprun-jwt-secret",
                    "keys": {"JWT_SECRET": {"generate": {"length": 32, "encoding": "base64"}}}
                },
                "mongodb": {
                    "name": "imprun-mongodb-secret",
                    "keys": {"MONGODB_ROOT_PASSWORD": {"generate": {"length": 24, "encoding": "alphanumeric"}}}
                },
                "redis": {
                    "keys": {"REDIS_PASSWORD": {"generate": {"length": 16, "encoding": "hex"}}}
                },
                "github": {
                    "name": "imprun-github-oauth",
                    "keys": {
                        "CLIENT_ID": {"value": "Iv1.abc"},
                        "CLIENT_SECRET": {"required": true, "env": "GITHUB_CLIENT_SECRET", "value": GITHUB_SECRET}
                    }
                },
                "google": {
                    "name": "imprun-google-oauth",
                    "keys": {
                        "CLIENT_ID": {"value": "123.apps.googleusercontent.com"},
                        "CLIENT_SECRET": {"required": true, "env": "GOOGLE_CLIENT_SECRET"}
                    }
                }
            }
        },
        "certificates": {
            "enabled": true,
            "issuer": "letsencrypt-prod",
            "certs": [
                {"name": "app-imprun-dev", "secretName": "app-imprun-dev-tls", "dnsNames": ["app.imprun.dev"]},
                {"name": "wildcard-app-imprun-dev", "secretName": "wildcard-app-imprun-dev-tls", "dnsNames": ["*.app.imprun.dev"]}
            ]
        }
    })
}

pub fn env_var(name: &str) -> Option<String> {
    (name == "GOOGLE_CLIENT_SECRET").then(|| GOOGLE_SECRET.to_string())
}

pub fn ctx(chart_dir: &Path) -> Context {
    Context {
        chart: "imprun".into(),
        env: "production".into(),
        release: "imprun".into(),
        namespace: "imprun-system".into(),
        chart_dir: chart_dir.to_path_buf(),
        root_key: Some(root()),
        seal_cert_pem: Some(test_cert()),
    }
}

fn deployment(name: &str, env: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"template": {"metadata": {"labels": {"app": name}}, "spec": {
            "containers": [{"name": name, "image": "x", "env": env}]
        }}}
    })
}

fn secret_env(var: &str, secret: &str, key: &str) -> Value {
    json!({"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
}

/// Subcharts, their values and the manifests their components would return.
pub fn components() -> Vec<(&'static str, Value, Vec<Value>)> {
    vec![
        (
            "imprun-server",
            json!({"usesSecrets": ["jwt", "mongodb", "github", "google"], "usesCertificates": ["app-imprun-dev"]}),
            vec![
                deployment(
                    "imprun-server",
                    json!([
                        secret_env("JWT_SECRET", "imprun-jwt-secret", "JWT_SECRET"),
                        secret_env("GITHUB_CLIENT_SECRET", "imprun-github-oauth", "CLIENT_SECRET"),
                        secret_env("GOOGLE_CLIENT_SECRET", "imprun-google-oauth", "CLIENT_SECRET"),
                        {"name": "PLAIN", "value": "x"}
                    ]),
                ),
                json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "imprun-server"}, "spec": {}}),
            ],
        ),
        (
            "imprun-console",
            json!({"usesSecrets": ["github"]}),
            vec![deployment(
                "imprun-console",
                json!([secret_env(
                    "GITHUB_CLIENT_ID",
                    "imprun-github-oauth",
                    "CLIENT_ID"
                )]),
            )],
        ),
        (
            "mongodb",
            json!({"usesSecrets": ["mongodb"]}),
            vec![json!({
                "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "mongodb"},
                "spec": {"template": {"spec": {
                    "serviceAccountName": "mongodb-own",
                    "containers": [{"name": "mongo", "envFrom": [{"secretRef": {"name": "imprun-mongodb-secret"}}]}]
                }}}
            })],
        ),
        (
            "redis",
            json!({"usesSecrets": ["redis"]}),
            vec![json!({
                "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "redis-backup"},
                "spec": {"jobTemplate": {"spec": {"template": {"spec": {
                    "containers": [{"name": "b"}],
                    "volumes": [{"name": "pw", "secret": {"secretName": "imprun-redis"}}]
                }}}}}
            })],
        ),
        (
            "exporter",
            json!({}),
            vec![deployment("exporter", json!([]))],
        ),
    ]
}

/// Everything the host would add or change, as one JSON text per object, in output order.
pub struct Rendered {
    pub objects: Vec<Value>,
    pub refs: Vec<(String, Vec<SecretRef>)>,
}

pub fn render(plan: &Plan) -> Rendered {
    let mut objects: Vec<Value> = plan.objects().into_iter().map(|o| o.object).collect();
    let mut refs = Vec::new();
    for (subchart, values, mut manifests) in components() {
        let r = plan.secret_refs(subchart, &values).unwrap();
        objects.extend(
            plan.rbac_objects(subchart, &r)
                .into_iter()
                .map(|o| o.object),
        );
        plan.apply_to_workloads(subchart, &r, &mut manifests);
        objects.extend(manifests);
        refs.push((subchart.to_string(), r));
    }
    Rendered { objects, refs }
}

impl Rendered {
    /// One line per object with keys sorted (independent of serde_json's map order).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for o in &self.objects {
            out.push_str(&serde_json::to_string(&sorted(o)).unwrap());
            out.push('\n');
        }
        out.push_str(&serde_json::to_string(&self.refs).unwrap());
        out
    }

    pub fn find(&self, kind: &str, name: &str) -> &Value {
        self.objects
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    }

    pub fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|o| o["kind"] == kind).collect()
    }
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The plaintext of each key of each plain Secret, decoded from its base64 `data`.
pub fn secret_data(rendered: &Rendered) -> Vec<(String, String, String)> {
    use base64::Engine as _;
    let mut out = Vec::new();
    for s in rendered.of_kind("Secret") {
        for (k, v) in s["data"].as_object().unwrap() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap())
                .unwrap();
            out.push((
                s["metadata"]["name"].as_str().unwrap().to_string(),
                k.clone(),
                String::from_utf8(bytes).unwrap(),
            ));
        }
    }
    out
}
