//! Container image references and pull secrets.

use crate::{RenderError, Values, invalid};
use serde_json::{Value, json};

/// A resolved container image.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{Values, image, serde_json::json};
///
/// let values = Values::from_value(json!({"image": {"tag": "7.4"}}));
/// let image = image::resolve(&values, "image", "redis", "7.2")?;
/// assert_eq!(image.reference, "redis:7.4");
/// assert_eq!(image.pull_policy, "IfNotPresent");
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Full reference, e.g. `registry.example/redis:7.4.2`.
    pub reference: String,
    /// `imagePullPolicy`, e.g. `IfNotPresent`.
    pub pull_policy: String,
}

const PULL_POLICIES: [&str; 3] = ["Always", "IfNotPresent", "Never"];

/// Reads `<section>.repository`, `.tag`, `.digest`, `.registry` and
/// `.pullPolicy`, prefixing `global.imageRegistry` when set (it wins over the
/// section's own `registry`, as in Bitnami charts). `default_tag` is used
/// when `tag` is absent or empty (usually the chart's `appVersion`), as
/// Helm charts' `.Values.image.tag | default .Chart.AppVersion` does.
///
/// # Errors
///
/// `invalid-values` naming the key on a wrong type or an unknown pull policy.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{Values, image, serde_json::json};
///
/// let values = Values::from_value(json!({
///     "global": {"imageRegistry": "mirror.example"},
///     "image": {"repository": "bitnami/redis", "digest": "sha256:abc"},
/// }));
/// let image = image::resolve(&values, "image", "redis", "7.2")?;
/// assert_eq!(image.reference, "mirror.example/bitnami/redis@sha256:abc");
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
pub fn resolve(
    values: &Values,
    section: &str,
    default_repository: &str,
    default_tag: &str,
) -> Result<Image, RenderError> {
    let key = |k: &str| format!("{section}.{k}");
    let repository = values
        .non_empty_str(&key("repository"))?
        .unwrap_or_else(|| default_repository.to_string());
    let registry = match values.non_empty_str("global.imageRegistry")? {
        Some(r) => Some(r),
        None => values.non_empty_str(&key("registry"))?,
    };
    let tag = match values.scalar_or(&key("tag"), default_tag)? {
        t if t.is_empty() => default_tag.to_string(),
        t => t,
    };
    let mut reference = match registry {
        Some(r) => format!("{}/{repository}", r.trim_end_matches('/')),
        None => repository,
    };
    match values.non_empty_str(&key("digest"))? {
        Some(digest) => reference = format!("{reference}@{digest}"),
        None if !tag.is_empty() => reference = format!("{reference}:{tag}"),
        None => {}
    }
    let pull_policy = values.str_or(&key("pullPolicy"), "IfNotPresent")?;
    if !PULL_POLICIES.contains(&pull_policy.as_str()) {
        return Err(invalid(
            &key("pullPolicy"),
            format!("\"{pull_policy}\" is not one of Always, IfNotPresent, Never"),
        ));
    }
    Ok(Image {
        reference,
        pull_policy,
    })
}

/// `imagePullSecrets` for a pod: `global.imagePullSecrets` then the
/// chart's own `imagePullSecrets`, each item a name or `{name: ...}`,
/// without duplicates. Empty when none.
///
/// # Errors
///
/// `invalid-values` naming the item with the wrong shape.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{Values, image, serde_json::json};
///
/// let values = Values::from_value(json!({
///     "global": {"imagePullSecrets": ["shared"]},
///     "imagePullSecrets": [{"name": "own"}, "shared"],
/// }));
/// assert_eq!(image::pull_secrets(&values)?, [json!({"name": "shared"}), json!({"name": "own"})]);
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
pub fn pull_secrets(values: &Values) -> Result<Vec<Value>, RenderError> {
    let mut names: Vec<String> = Vec::new();
    for path in ["global.imagePullSecrets", "imagePullSecrets"] {
        let Some(items) = values.opt_array(path)? else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let name = match item {
                Value::String(s) => s.clone(),
                Value::Object(m) => match m.get("name") {
                    Some(Value::String(s)) => s.clone(),
                    _ => {
                        return Err(invalid(
                            &format!("{path}[{i}]"),
                            "expected a map with a string 'name'",
                        ));
                    }
                },
                _ => {
                    return Err(invalid(
                        &format!("{path}[{i}]"),
                        "expected a name or a map with 'name'",
                    ));
                }
            };
            if !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    Ok(names.into_iter().map(|n| json!({ "name": n })).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_tag_and_digest() {
        let v = Values::from_value(json!({
            "global": {"imageRegistry": "mirror.example/", "imagePullSecrets": ["a", {"name": "b"}]},
            "image": {"tag": "7.4", "pullPolicy": "Always"},
            "imagePullSecrets": [{"name": "a"}],
        }));
        let image = resolve(&v, "image", "redis", "latest").unwrap();
        assert_eq!(image.reference, "mirror.example/redis:7.4");
        assert_eq!(image.pull_policy, "Always");
        assert_eq!(
            pull_secrets(&v).unwrap(),
            [json!({"name": "a"}), json!({"name": "b"})]
        );

        let v = Values::from_value(
            json!({"image": {"digest": "sha256:abc", "pullPolicy": "Sometimes"}}),
        );
        assert!(resolve(&v, "image", "redis", "1").is_err());
        let v = Values::from_value(json!({"image": {"digest": "sha256:abc"}}));
        assert_eq!(
            resolve(&v, "image", "redis", "1").unwrap().reference,
            "redis@sha256:abc"
        );
    }

    #[test]
    fn empty_tag_falls_back_to_the_default_as_helm_default_does() {
        let v = Values::from_value(json!({"image": {"tag": ""}}));
        assert_eq!(
            resolve(&v, "image", "redis", "7.4.2").unwrap().reference,
            "redis:7.4.2"
        );
    }
}
