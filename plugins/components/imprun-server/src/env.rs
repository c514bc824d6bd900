//! The server container's environment: plain values, data-store addresses
//! from `global`, and secrets by `secretKeyRef`.

use serde_json::{Value, json};
use wasmchart_sdk::{RenderError, RenderInput, Values, invalid, secret, serde_json};

/// One environment variable, already in its Kubernetes shape.
pub type EnvVar = Value;

/// A secret the server reads: env var, secret id, key, and the Secret name
/// the guide's umbrella creates (used when the host passed no reference).
struct SecretEnv {
    var: &'static str,
    id: &'static str,
    key: &'static str,
    fallback: &'static str,
}

const MONGODB_PASSWORD: SecretEnv = SecretEnv {
    var: "MONGODB_PASSWORD",
    id: "mongodb",
    key: "MONGODB_ROOT_PASSWORD",
    fallback: "imprun-mongodb-secret",
};
const REDIS_PASSWORD: SecretEnv = SecretEnv {
    var: "REDIS_PASSWORD",
    id: "redis",
    key: "REDIS_PASSWORD",
    fallback: "imprun-redis-secret",
};
/// The JWT signing key and the OAuth client credentials, in output order.
const APP_SECRETS: [SecretEnv; 5] = [
    SecretEnv {
        var: "JWT_SECRET",
        id: "jwt",
        key: "JWT_SECRET",
        fallback: "imprun-jwt-secret",
    },
    SecretEnv {
        var: "GITHUB_CLIENT_ID",
        id: "github",
        key: "CLIENT_ID",
        fallback: "imprun-github-oauth",
    },
    SecretEnv {
        var: "GITHUB_CLIENT_SECRET",
        id: "github",
        key: "CLIENT_SECRET",
        fallback: "imprun-github-oauth",
    },
    SecretEnv {
        var: "GOOGLE_CLIENT_ID",
        id: "google",
        key: "CLIENT_ID",
        fallback: "imprun-google-oauth",
    },
    SecretEnv {
        var: "GOOGLE_CLIENT_SECRET",
        id: "google",
        key: "CLIENT_SECRET",
        fallback: "imprun-google-oauth",
    },
];

/// The whole environment, and the ids of secrets that fell back to the
/// guide's names.
///
/// Order: `env` values by name, then MongoDB, Redis, JWT and OAuth.
pub fn read(
    input: &RenderInput,
    values: &Values,
) -> Result<(Vec<EnvVar>, Vec<String>), RenderError> {
    let mut vars = plain(values)?;
    let mut fallbacks = Vec::new();
    let mut from_secret = |spec: &SecretEnv| -> Result<EnvVar, RenderError> {
        let (var, fell_back) = secret_var(input, spec)?;
        if fell_back && !fallbacks.iter().any(|id| id == spec.id) {
            fallbacks.push(spec.id.to_string());
        }
        Ok(var)
    };
    vars.push(value_var(
        "MONGODB_HOST",
        required_host(values, "global.mongodb.host")?,
    ));
    vars.push(value_var(
        "MONGODB_PORT",
        port_text(values, "global.mongodb.port", 27017)?,
    ));
    vars.push(value_var(
        "MONGODB_DATABASE",
        values.scalar_or("global.mongodb.database", "sys_db")?,
    ));
    vars.push(value_var(
        "MONGODB_USERNAME",
        values.scalar_or("global.mongodb.username", "root")?,
    ));
    vars.push(from_secret(&MONGODB_PASSWORD)?);
    vars.push(value_var(
        "REDIS_HOST",
        required_host(values, "global.redis.host")?,
    ));
    vars.push(value_var(
        "REDIS_PORT",
        port_text(values, "global.redis.port", 6379)?,
    ));
    if values.bool_or("global.redis.auth.enabled", false)? {
        vars.push(from_secret(&REDIS_PASSWORD)?);
    }
    for spec in &APP_SECRETS {
        vars.push(from_secret(spec)?);
    }
    Ok((vars, fallbacks))
}

fn value_var(name: &str, value: String) -> EnvVar {
    json!({ "name": name, "value": value })
}

/// `env` as name/value pairs sorted by name; scalars become text, `null`
/// leaves the variable out.
fn plain(values: &Values) -> Result<Vec<EnvVar>, RenderError> {
    let Some(map) = values.opt_object("env")? else {
        return Ok(Vec::new());
    };
    let mut names: Vec<&String> = map.keys().collect();
    names.sort();
    let mut vars = Vec::new();
    for name in names {
        let path = format!("env.{name}");
        if name.is_empty() || name.contains('=') {
            return Err(invalid(&path, "is not a valid environment variable name"));
        }
        let text = match &map[name] {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            v @ (Value::Number(_) | Value::Bool(_)) => v.to_string(),
            _ => return Err(invalid(&path, "expected a string, number or boolean")),
        };
        vars.push(value_var(name, text));
    }
    Ok(vars)
}

fn required_host(values: &Values, path: &str) -> Result<String, RenderError> {
    values
        .non_empty_str(path)?
        .ok_or_else(|| invalid(path, "is required: the Service name of the data store"))
}

fn port_text(values: &Values, path: &str, default: u16) -> Result<String, RenderError> {
    Ok(values.port_or(path, default)?.to_string())
}

/// The `secretKeyRef` variable for `spec`, and whether it fell back to the
/// guide's Secret name.
fn secret_var(input: &RenderInput, spec: &SecretEnv) -> Result<(EnvVar, bool), RenderError> {
    let (name, fell_back) = match secret(input, spec.id) {
        Some(found) => {
            if !found.keys.iter().any(|k| k == spec.key) {
                return Err(RenderError::InvalidValues(format!(
                    "secret '{}' (Secret '{}') has no key '{}': declare it under secrets.items.{}.keys",
                    spec.id, found.secret_name, spec.key, spec.id
                )));
            }
            (found.secret_name.clone(), false)
        }
        None => (spec.fallback.to_string(), true),
    };
    let var = json!({
        "name": spec.var,
        "valueFrom": { "secretKeyRef": { "name": name, "key": spec.key } },
    });
    Ok((var, fell_back))
}
