//! Standard labels and Helm-style resource names.
//!
//! The host adds `app.kubernetes.io/managed-by` and a component label
//! itself; components add the recommended `app.kubernetes.io/*` labels that
//! tie objects to the release and drive selectors.

use crate::{RenderError, RenderInput, Values};
use std::collections::BTreeMap;

/// Label keys from the Kubernetes recommended set.
///
/// # Examples
///
/// ```
/// assert_eq!(wasmchart_sdk::labels::NAME, "app.kubernetes.io/name");
/// ```
pub const NAME: &str = "app.kubernetes.io/name";
/// Label key for the release (instance) name.
///
/// # Examples
///
/// ```
/// assert_eq!(wasmchart_sdk::labels::INSTANCE, "app.kubernetes.io/instance");
/// ```
pub const INSTANCE: &str = "app.kubernetes.io/instance";
/// Label key for the application version.
///
/// # Examples
///
/// ```
/// assert_eq!(wasmchart_sdk::labels::VERSION, "app.kubernetes.io/version");
/// ```
pub const VERSION: &str = "app.kubernetes.io/version";
/// Label key for the component role inside the app (e.g. `master`).
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// use wasmchart_sdk::labels::COMPONENT;
///
/// let mut labels = BTreeMap::new();
/// labels.insert(COMPONENT.to_string(), "metrics".to_string());
/// ```
pub const COMPONENT: &str = "app.kubernetes.io/component";
/// Label key for the chart that made the object.
///
/// # Examples
///
/// ```
/// assert_eq!(wasmchart_sdk::labels::HELM_CHART, "helm.sh/chart");
/// ```
pub const HELM_CHART: &str = "helm.sh/chart";

/// Kubernetes names are at most 63 characters (DNS-1123 label); Helm trims
/// and drops a trailing `-` the same way.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::labels::trunc63;
///
/// assert_eq!(trunc63(&"a".repeat(70)).len(), 63);
/// assert_eq!(trunc63(&format!("{}-b", "a".repeat(62))), "a".repeat(62), "no trailing '-'");
/// ```
pub fn trunc63(name: &str) -> String {
    let cut: String = name.chars().take(63).collect();
    cut.trim_end_matches('-').to_string()
}

/// The chart name honouring `nameOverride` (Helm's `<chart>.name`).
///
/// # Errors
///
/// `invalid-values` when `nameOverride` is not a string.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{Values, labels, serde_json::json, testing};
///
/// let input = testing::input("redis", json!({}));
/// let values = Values::from_value(json!({"nameOverride": "cache"}));
/// assert_eq!(labels::chart_name(&input, &values)?, "cache");
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
pub fn chart_name(input: &RenderInput, values: &Values) -> Result<String, RenderError> {
    let name = values
        .non_empty_str("nameOverride")?
        .unwrap_or_else(|| input.chart.name.clone());
    Ok(trunc63(&name))
}

/// Helm's `<chart>.fullname`: `fullnameOverride`, else `<release>-<name>`,
/// or just the release name when it already contains the chart name.
///
/// # Errors
///
/// `invalid-values` when `nameOverride` or `fullnameOverride` is not a string.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{Values, labels, serde_json::json, testing};
///
/// let input = testing::input("redis", json!({}));   // release "release"
/// assert_eq!(labels::fullname(&input, &Values::from_value(json!({})))?, "release-redis");
/// let over = Values::from_value(json!({"fullnameOverride": "db"}));
/// assert_eq!(labels::fullname(&input, &over)?, "db");
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
pub fn fullname(input: &RenderInput, values: &Values) -> Result<String, RenderError> {
    if let Some(name) = values.non_empty_str("fullnameOverride")? {
        return Ok(trunc63(&name));
    }
    let name = chart_name(input, values)?;
    let release = &input.release.name;
    if release.contains(&name) {
        Ok(trunc63(release))
    } else {
        Ok(trunc63(&format!("{release}-{name}")))
    }
}

/// Selector labels: stable for the life of a workload (`name`, `instance`).
///
/// # Errors
///
/// `invalid-values` when `nameOverride` is not a string.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{Values, labels, serde_json::json, testing};
///
/// let input = testing::input("redis", json!({}));
/// let selector = labels::selector(&input, &Values::from_value(json!({})))?;
/// assert_eq!(selector[labels::NAME], "redis");
/// assert_eq!(selector[labels::INSTANCE], "release");
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
pub fn selector(
    input: &RenderInput,
    values: &Values,
) -> Result<BTreeMap<String, String>, RenderError> {
    Ok(BTreeMap::from([
        (NAME.to_string(), chart_name(input, values)?),
        (INSTANCE.to_string(), input.release.name.clone()),
    ]))
}

/// Standard labels: selector labels plus `version` (the chart's
/// `appVersion`, when set), `helm.sh/chart` and the user's `commonLabels`.
///
/// # Errors
///
/// `invalid-values` when `nameOverride` or `commonLabels` has the wrong type.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{Values, labels, serde_json::json, testing};
///
/// let input = testing::input("redis", json!({}));
/// let values = Values::from_value(json!({"commonLabels": {"team": "data"}}));
/// let standard = labels::standard(&input, &values)?;
/// assert_eq!(standard[labels::HELM_CHART], "redis-0.1.0");
/// assert_eq!(standard["team"], "data");
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
pub fn standard(
    input: &RenderInput,
    values: &Values,
) -> Result<BTreeMap<String, String>, RenderError> {
    let mut labels = values.string_map("commonLabels")?;
    labels.extend(selector(input, values)?);
    if let Some(version) = &input.chart.app_version {
        labels.insert(VERSION.to_string(), label_value(version));
    }
    let chart = format!("{}-{}", input.chart.name, input.chart.version).replace('+', "_");
    labels.insert(HELM_CHART.to_string(), label_value(&chart));
    Ok(labels)
}

/// Makes text a valid label value: at most 63 characters of
/// `[A-Za-z0-9._-]`, starting and ending alphanumeric.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::labels::label_value;
///
/// assert_eq!(label_value("1.0.0+build 7"), "1.0.0_build_7");
/// ```
pub fn label_value(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect();
    cleaned
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_names() {
        assert_eq!(label_value("7.4.2+build"), "7.4.2_build");
        assert_eq!(label_value("-x-"), "x");
        assert_eq!(trunc63(&"a".repeat(70)).len(), 63);
        assert_eq!(trunc63(&format!("{}-b", "a".repeat(62))), "a".repeat(62));
    }
}
