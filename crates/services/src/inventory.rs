//! What `wasmchart secrets list` shows: every declared secret of an environment with its
//! Secret name, strategy, keys and where each key's value comes from, rotation generation and
//! store entry, and never a value. Built from the values alone, so it needs no root key.

use serde_json::Value;

use crate::Context;
use crate::derive::Encoding;
use crate::error::Error;
use crate::generations::Generations;
use crate::plan::{consumer_ids, remote_key};
use crate::spec::{self, KeySpec, Strategy};

/// One declared secret, described without its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSummary {
    /// Secret id under `secrets.items`.
    pub id: String,
    /// The Kubernetes Secret's name.
    pub name: String,
    /// The strategy in this environment (after a per-secret override).
    pub strategy: Strategy,
    /// Each key and where its value comes from, sorted by key.
    pub keys: Vec<KeySummary>,
    /// Rotation generation in this environment (0 when never rotated).
    pub generation: u64,
    /// For `external`: the store entry, `remoteRef.key`.
    pub remote_key: Option<String>,
}

/// One key of a secret and the source of its value, e.g. `generated (32, base64)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySummary {
    /// The key inside the Secret.
    pub name: String,
    /// Where the value comes from: `supplied`, `env NAME`, `generated (N, encoding)`, or
    /// `missing (required)` / `none (optional)` when nothing gives it one.
    pub source: String,
}

/// Describes every declared secret for the environment in `ctx`, sorted by id. Environment
/// variables are read through `env_var` only to tell whether a key's variable is set.
pub fn inventory(
    umbrella_values: &Value,
    ctx: &Context,
    env_var: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<SecretSummary>, Error> {
    let secrets = spec::parse_secrets(umbrella_values)?;
    let generations = if secrets.items.is_empty() {
        Generations::default()
    } else {
        Generations::load(&ctx.chart_dir)?
    };
    Ok(secrets
        .items
        .iter()
        .map(|item| {
            let strategy = item.strategy.unwrap_or(secrets.strategy);
            SecretSummary {
                id: item.id.clone(),
                name: item
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{}-{}", ctx.release, item.id)),
                strategy,
                keys: item.keys.iter().map(|k| key_summary(k, env_var)).collect(),
                generation: generations.get(&ctx.env, &item.id),
                remote_key: (strategy == Strategy::External)
                    .then(|| remote_key(&secrets, item, ctx)),
            }
        })
        .collect())
}

fn key_summary(key: &KeySpec, env_var: &dyn Fn(&str) -> Option<String>) -> KeySummary {
    let env_set = |name: &str| env_var(name).is_some_and(|v| !v.is_empty());
    let source = if key.value.is_some() {
        "supplied".to_string()
    } else if let Some(name) = key.env.as_deref().filter(|n| env_set(n)) {
        format!("env {name}")
    } else if let Some(generate) = key.generate {
        let encoding = match generate.encoding {
            Encoding::Alphanumeric => "alphanumeric",
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
        };
        format!("generated ({}, {encoding})", generate.length)
    } else if key.required {
        match &key.env {
            Some(name) => format!("missing (required; set {name} or --set its value)"),
            None => "missing (required)".to_string(),
        }
    } else {
        "none (optional)".to_string()
    };
    KeySummary {
        name: key.name.clone(),
        source,
    }
}

/// The secret ids a subchart lists in its `usesSecrets` value, in order, without repeats:
/// who consumes which secret, for `secrets list`.
pub fn used_secret_ids(subchart: &str, subchart_values: &Value) -> Result<Vec<String>, Error> {
    consumer_ids(subchart, subchart_values, "usesSecrets")
}
