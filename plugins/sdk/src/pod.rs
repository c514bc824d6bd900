//! The pod and container knobs every workload chart exposes.
//!
//! Charts let users pass `resources`, security contexts, probes, extra pod
//! labels and annotations, and scheduling rules (`nodeSelector`,
//! `tolerations`, `affinity`) straight through to the pod spec. Reading and
//! writing them is the same in every component, so it lives here once:
//! [`PodSettings::read`] validates them, and the `apply_*` methods and
//! [`PodSettings::template_metadata`] write them into the objects.

use crate::image;
use crate::{RenderError, Values, to_object};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// What a pass-through map the user set to `{}` renders as.
///
/// Helm charts differ here, and a component must keep its chart's rule so
/// its output matches the Helm chart it replaces.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::pod::{EmptyMap, PodDefaults, PodSettings};
/// use wasmchart_sdk::{Values, serde_json::json};
///
/// let values = Values::from_value(json!({"resources": {}}));
/// let omit = PodSettings::read(&values, &PodDefaults::default())?;
/// assert_eq!(omit.resources, None);
/// let keep = PodDefaults { empty_map: EmptyMap::Keep, ..PodDefaults::default() };
/// assert_eq!(PodSettings::read(&values, &keep)?.resources, Some(json!({})));
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmptyMap {
    /// Left out, as `{{- with .Values.resources }}` does.
    Omit,
    /// Rendered as `{}`, as Bitnami-style `{{ toYaml .Values.resources }}`
    /// does: an empty map the user set replaces the default.
    Keep,
}

/// A component's defaults and rules for [`PodSettings::read`].
///
/// The defaults apply when the key is absent (or `null`); `Default` gives
/// the plain Helm rule: nothing rendered unless the user sets it.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::pod::{EmptyMap, PodDefaults, PodSettings};
/// use wasmchart_sdk::{Values, serde_json::json};
///
/// let defaults = PodDefaults {
///     resources: Some(json!({"requests": {"memory": "64Mi"}})),
///     security_context_key: "containerSecurityContext",
///     ..PodDefaults::default()
/// };
/// let settings = PodSettings::read(&Values::from_value(json!({})), &defaults)?;
/// assert_eq!(settings.resources, defaults.resources);
/// # let _ = EmptyMap::Omit;
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PodDefaults {
    /// How an empty map the user set renders.
    pub empty_map: EmptyMap,
    /// `resources` when the user sets none.
    pub resources: Option<Value>,
    /// The pod's `securityContext` when `podSecurityContext` is absent.
    pub pod_security_context: Option<Value>,
    /// The container's `securityContext` when its key is absent.
    pub security_context: Option<Value>,
    /// The values key of the container's security context: `securityContext`
    /// in most charts, `containerSecurityContext` in Bitnami-style ones.
    pub security_context_key: &'static str,
    /// Whether `livenessProbe` and `readinessProbe` are passed through as
    /// given; false for components that build their probes from switches.
    pub passthrough_probes: bool,
}

impl Default for PodDefaults {
    fn default() -> Self {
        PodDefaults {
            empty_map: EmptyMap::Omit,
            resources: None,
            pod_security_context: None,
            security_context: None,
            security_context_key: "securityContext",
            passthrough_probes: true,
        }
    }
}

/// The validated pod and container knobs; `None` and empty maps are left
/// out of the objects.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::pod::{EmptyMap, PodDefaults, PodSettings};
/// use wasmchart_sdk::{Values, serde_json::json};
///
/// let values = Values::from_value(json!({"nodeSelector": {"disk": "ssd"}, "tolerations": []}));
/// let settings = PodSettings::read(&values, &PodDefaults::default())?;
/// assert_eq!(settings.node_selector["disk"], "ssd");
/// assert_eq!(settings.tolerations, None, "an empty list is left out");
/// # let _ = EmptyMap::Omit;
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodSettings {
    /// Extra labels on the pod (`podLabels`).
    pub labels: BTreeMap<String, String>,
    /// Annotations on the pod (`podAnnotations`).
    pub annotations: BTreeMap<String, String>,
    /// `imagePullSecrets`, global ones first (see [`image::pull_secrets`]).
    pub pull_secrets: Vec<Value>,
    /// The pod's `securityContext` (`podSecurityContext`).
    pub pod_security_context: Option<Value>,
    /// `nodeSelector`.
    pub node_selector: BTreeMap<String, String>,
    /// `tolerations`; an empty list is left out in either [`EmptyMap`] rule.
    pub tolerations: Option<Value>,
    /// `affinity`.
    pub affinity: Option<Value>,
    /// The main container's `resources`.
    pub resources: Option<Value>,
    /// The main container's `securityContext`.
    pub security_context: Option<Value>,
    /// The main container's `livenessProbe`, when passed through.
    pub liveness_probe: Option<Value>,
    /// The main container's `readinessProbe`, when passed through.
    pub readiness_probe: Option<Value>,
}

impl PodSettings {
    /// Reads the knobs from the values, falling back to `defaults`.
    ///
    /// # Errors
    ///
    /// `invalid-values` naming the key when a knob has the wrong type.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::pod::{EmptyMap, PodDefaults, PodSettings};
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"podLabels": "oops"}));
    /// assert!(PodSettings::read(&values, &PodDefaults::default()).is_err(), "names podLabels");
    /// # let _ = EmptyMap::Omit;
    /// ```
    pub fn read(values: &Values, defaults: &PodDefaults) -> Result<Self, RenderError> {
        let map = |path: &str, default: &Option<Value>| {
            pass_map(values, path, defaults.empty_map, default)
        };
        let probe = |path: &str| match defaults.passthrough_probes {
            true => map(path, &None),
            false => Ok(None),
        };
        Ok(PodSettings {
            pull_secrets: image::pull_secrets(values)?,
            resources: map("resources", &defaults.resources)?,
            pod_security_context: map("podSecurityContext", &defaults.pod_security_context)?,
            security_context: map(defaults.security_context_key, &defaults.security_context)?,
            liveness_probe: probe("livenessProbe")?,
            readiness_probe: probe("readinessProbe")?,
            labels: values.string_map("podLabels")?,
            annotations: values.string_map("podAnnotations")?,
            node_selector: values.string_map("nodeSelector")?,
            tolerations: non_empty_array(values, "tolerations")?,
            affinity: map("affinity", &None)?,
        })
    }

    /// The pod template's `metadata`: `labels`, then `podLabels`, then
    /// `pinned` (labels the selector needs, which `podLabels` must not
    /// change), and `podAnnotations` when there are any.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::pod::{EmptyMap, PodDefaults, PodSettings};
    /// use wasmchart_sdk::{Values, serde_json::json};
    /// use std::collections::BTreeMap;
    ///
    /// let values = Values::from_value(json!({"podLabels": {"app": "x", "tier": "db"}}));
    /// let settings = PodSettings::read(&values, &PodDefaults::default())?;
    /// let pinned = BTreeMap::from([("app".to_string(), "redis".to_string())]);
    /// let meta = settings.template_metadata(&BTreeMap::new(), &pinned);
    /// assert_eq!(meta, json!({"labels": {"app": "redis", "tier": "db"}}), "podLabels cannot move the selector");
    /// # let _ = EmptyMap::Omit;
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn template_metadata(
        &self,
        labels: &BTreeMap<String, String>,
        pinned: &BTreeMap<String, String>,
    ) -> Value {
        let mut all = labels.clone();
        all.extend(self.labels.clone());
        all.extend(pinned.clone());
        let mut meta = json!({ "labels": to_object(&all) });
        if !self.annotations.is_empty() {
            meta["annotations"] = to_object(&self.annotations);
        }
        meta
    }

    /// Writes the pod-level knobs into a pod `spec`: `imagePullSecrets`,
    /// `securityContext`, `nodeSelector`, `tolerations` and `affinity`.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::pod::{EmptyMap, PodDefaults, PodSettings};
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"affinity": {"podAntiAffinity": {}}}));
    /// let settings = PodSettings::read(&values, &PodDefaults::default())?;
    /// let mut spec = wasmchart_sdk::serde_json::Map::new();
    /// settings.apply_to_pod(&mut spec);
    /// assert!(spec.contains_key("affinity") && !spec.contains_key("nodeSelector"));
    /// # let _ = EmptyMap::Omit;
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn apply_to_pod(&self, spec: &mut Map<String, Value>) {
        if !self.pull_secrets.is_empty() {
            spec.insert("imagePullSecrets".into(), json!(self.pull_secrets));
        }
        insert_some(spec, "securityContext", &self.pod_security_context);
        if !self.node_selector.is_empty() {
            spec.insert("nodeSelector".into(), to_object(&self.node_selector));
        }
        insert_some(spec, "tolerations", &self.tolerations);
        insert_some(spec, "affinity", &self.affinity);
    }

    /// Writes the main container's knobs into a container: `resources`,
    /// `securityContext` and the passed-through probes.
    ///
    /// # Examples
    ///
    /// ```
    /// use wasmchart_sdk::pod::{EmptyMap, PodDefaults, PodSettings};
    /// use wasmchart_sdk::{Values, serde_json::json};
    ///
    /// let values = Values::from_value(json!({"resources": {"limits": {"cpu": "1"}}}));
    /// let settings = PodSettings::read(&values, &PodDefaults::default())?;
    /// let mut container = wasmchart_sdk::serde_json::Map::new();
    /// settings.apply_to_container(&mut container);
    /// assert_eq!(container["resources"], json!({"limits": {"cpu": "1"}}));
    /// # let _ = EmptyMap::Omit;
    /// # Ok::<(), wasmchart_sdk::RenderError>(())
    /// ```
    pub fn apply_to_container(&self, container: &mut Map<String, Value>) {
        insert_some(container, "resources", &self.resources);
        insert_some(container, "securityContext", &self.security_context);
        insert_some(container, "livenessProbe", &self.liveness_probe);
        insert_some(container, "readinessProbe", &self.readiness_probe);
    }
}

/// Inserts `value` under `key` when there is one; objects leave out what
/// the user did not set rather than render `null`.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{pod::insert_some, serde_json::{Map, json}};
///
/// let mut map = Map::new();
/// insert_some(&mut map, "a", &None);
/// insert_some(&mut map, "b", &Some(json!(1)));
/// assert_eq!(json!(map), json!({"b": 1}));
/// ```
pub fn insert_some(map: &mut Map<String, Value>, key: &str, value: &Option<Value>) {
    if let Some(value) = value {
        map.insert(key.into(), value.clone());
    }
}

/// A list passed through as given; absent, `null` or `[]` leave it out.
///
/// # Errors
///
/// `invalid-values` when present but not a list.
///
/// # Examples
///
/// ```
/// use wasmchart_sdk::{Values, pod::non_empty_array, serde_json::json};
///
/// let values = Values::from_value(json!({"a": [], "b": [1]}));
/// assert_eq!(non_empty_array(&values, "a")?, None);
/// assert_eq!(non_empty_array(&values, "b")?, Some(json!([1])));
/// # Ok::<(), wasmchart_sdk::RenderError>(())
/// ```
pub fn non_empty_array(values: &Values, path: &str) -> Result<Option<Value>, RenderError> {
    Ok(values
        .opt_array(path)?
        .filter(|a| !a.is_empty())
        .map(|a| Value::Array(a.clone())))
}

/// A map passed through as given: `default` when absent, an empty map by
/// the `empty` rule.
fn pass_map(
    values: &Values,
    path: &str,
    empty: EmptyMap,
    default: &Option<Value>,
) -> Result<Option<Value>, RenderError> {
    Ok(match values.opt_object(path)? {
        None => default.clone(),
        Some(m) if m.is_empty() && empty == EmptyMap::Omit => None,
        Some(m) => Some(Value::Object(m.clone())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(v: Value, defaults: &PodDefaults) -> PodSettings {
        PodSettings::read(&Values::from_value(v), defaults).unwrap()
    }

    fn keep_with_defaults() -> PodDefaults {
        PodDefaults {
            empty_map: EmptyMap::Keep,
            resources: Some(json!({"limits": {"memory": "1Gi"}})),
            pod_security_context: Some(json!({"fsGroup": 1})),
            security_context: Some(json!({"runAsUser": 1})),
            security_context_key: "containerSecurityContext",
            passthrough_probes: false,
        }
    }

    #[test]
    fn omit_rule_leaves_out_empty_and_absent_knobs() {
        let s = read(
            json!({"resources": {}, "affinity": {}, "tolerations": [], "podLabels": {}}),
            &PodDefaults::default(),
        );
        assert_eq!(s, PodSettings::default());
        let mut spec = Map::new();
        s.apply_to_pod(&mut spec);
        s.apply_to_container(&mut spec);
        assert!(spec.is_empty(), "{spec:?}");
    }

    #[test]
    fn omit_rule_passes_set_knobs_through() {
        let s = read(
            json!({
                "livenessProbe": {"httpGet": {"path": "/"}},
                "securityContext": {"runAsNonRoot": true},
                "tolerations": [{"key": "k"}],
                "nodeSelector": {"disk": "ssd"},
                "imagePullSecrets": ["pull"],
            }),
            &PodDefaults::default(),
        );
        let mut container = Map::new();
        s.apply_to_container(&mut container);
        assert_eq!(
            Value::Object(container),
            json!({
                "livenessProbe": {"httpGet": {"path": "/"}},
                "securityContext": {"runAsNonRoot": true},
            })
        );
        let mut spec = Map::new();
        s.apply_to_pod(&mut spec);
        assert_eq!(
            Value::Object(spec),
            json!({
                "imagePullSecrets": [{"name": "pull"}],
                "nodeSelector": {"disk": "ssd"},
                "tolerations": [{"key": "k"}],
            })
        );
    }

    #[test]
    fn keep_rule_renders_defaults_and_empty_maps() {
        let defaults = keep_with_defaults();
        let s = read(json!({}), &defaults);
        assert_eq!(s.resources, defaults.resources);
        assert_eq!(s.pod_security_context, defaults.pod_security_context);
        assert_eq!(s.security_context, defaults.security_context);
        assert_eq!(s.affinity, None);

        let s = read(
            json!({
                "resources": {},
                "affinity": {},
                "tolerations": [],
                "containerSecurityContext": {"runAsUser": 2},
                "securityContext": {"ignored": true},
                "livenessProbe": {"enabled": false},
            }),
            &defaults,
        );
        assert_eq!(s.resources, Some(json!({})));
        assert_eq!(s.affinity, Some(json!({})));
        assert_eq!(s.tolerations, None);
        assert_eq!(s.security_context, Some(json!({"runAsUser": 2})));
        assert_eq!(s.liveness_probe, None, "probes are not passed through");
    }

    #[test]
    fn template_metadata_pins_labels_over_pod_labels() {
        let s = read(
            json!({"podLabels": {"a": "pod", "b": "pod"}, "podAnnotations": {"x": "1"}}),
            &PodDefaults::default(),
        );
        let base = BTreeMap::from([("a".to_string(), "base".to_string())]);
        let pinned = BTreeMap::from([("b".to_string(), "pinned".to_string())]);
        assert_eq!(
            s.template_metadata(&base, &pinned),
            json!({"labels": {"a": "pod", "b": "pinned"}, "annotations": {"x": "1"}})
        );
        let s = read(json!({}), &PodDefaults::default());
        assert_eq!(
            s.template_metadata(&base, &BTreeMap::new()),
            json!({"labels": {"a": "base"}})
        );
    }

    #[test]
    fn wrong_types_name_the_key() {
        let err = PodSettings::read(
            &Values::from_value(json!({"affinity": "zone-a"})),
            &PodDefaults::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&err, RenderError::InvalidValues(m) if m.starts_with("key 'affinity'")),
            "{err:?}"
        );
        let err = PodSettings::read(
            &Values::from_value(json!({"tolerations": {}})),
            &PodDefaults::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&err, RenderError::InvalidValues(m) if m.starts_with("key 'tolerations'")),
            "{err:?}"
        );
    }
}
