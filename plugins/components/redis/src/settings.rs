//! Reading and validating the Redis values.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use wasmchart_sdk::image::{self, Image};
use wasmchart_sdk::pod::{EmptyMap, PodDefaults, PodSettings};
use wasmchart_sdk::service;
use wasmchart_sdk::{RenderError, RenderInput, Values, invalid, labels, secret, serde_json};

/// The id of the host-managed secret holding the password.
const SECRET_ID: &str = "redis";
/// Secret used when the host passed no `redis` secret (the umbrella's name).
const FALLBACK_SECRET: &str = "imprun-redis-secret";
/// Key of the password inside the secret.
const PASSWORD_KEY: &str = "REDIS_PASSWORD";
/// Redis image tag when neither `image.tag` nor the chart's appVersion is set.
const DEFAULT_TAG: &str = "7.4.2-alpine";
/// UID/GID of the `redis` user in the official image.
const REDIS_UID: i64 = 999;

/// Where the password comes from.
pub struct Auth {
    pub secret_name: String,
    pub key: String,
}

/// The PersistentVolumeClaim template of the StatefulSet.
pub struct Persistence {
    pub size: String,
    pub storage_class: Option<String>,
    pub access_modes: Vec<String>,
    pub annotations: BTreeMap<String, String>,
}

/// One probe's switches and timings.
pub struct Probe {
    pub enabled: bool,
    pub timing: Value,
}

/// Everything the templates need, validated.
pub struct Settings {
    pub name: String,
    pub service_name: String,
    pub headless_name: String,
    pub labels: BTreeMap<String, String>,
    pub selector: BTreeMap<String, String>,
    pub image: Image,
    pub port: u16,
    pub service_type: String,
    pub service_annotations: BTreeMap<String, String>,
    pub node_port: Option<i64>,
    pub auth: Option<Auth>,
    pub auth_fallback: bool,
    pub persistence: Option<Persistence>,
    pub append_only: bool,
    pub extra_flags: Vec<String>,
    /// Pull secrets, pod labels, scheduling, resources and security contexts.
    pub pod: PodSettings,
    pub liveness: Probe,
    pub readiness: Probe,
    pub priority_class: Option<String>,
}

impl Settings {
    pub fn read(input: &RenderInput, values: &Values) -> Result<Self, RenderError> {
        let base = match values.non_empty_str("fullnameOverride")? {
            Some(name) => labels::trunc63(&name),
            None => labels::chart_name(input, values)?,
        };
        let name = labels::trunc63(&format!("{base}-master"));
        let service_name = match values.non_empty_str("service.name")? {
            Some(name) => labels::trunc63(&name),
            None => name.clone(),
        };
        let mut selector = labels::selector(input, values)?;
        selector.insert(labels::COMPONENT.into(), "master".into());
        let mut all_labels = labels::standard(input, values)?;
        all_labels.extend(selector.clone());
        let default_tag = input.chart.app_version.as_deref().unwrap_or(DEFAULT_TAG);
        let (auth, auth_fallback) = read_auth(input, values)?;
        Ok(Settings {
            headless_name: labels::trunc63(&format!("{base}-headless")),
            name,
            service_name,
            labels: all_labels,
            selector,
            image: image::resolve(values, "image", "redis", default_tag)?,
            port: values.port_or("service.port", 6379)?,
            service_type: service::service_type(values)?,
            service_annotations: values.string_map("service.annotations")?,
            node_port: values.opt_i64("service.nodePort")?,
            auth,
            auth_fallback,
            persistence: read_persistence(values)?,
            append_only: values.bool_or("appendOnly", true)?,
            extra_flags: values.strings("extraFlags")?,
            pod: PodSettings::read(values, &pod_defaults())?,
            liveness: read_probe(values, "livenessProbe", 20, 5)?,
            readiness: read_probe(values, "readinessProbe", 5, 5)?,
            priority_class: values.non_empty_str("priorityClassName")?,
        })
    }
}

fn read_auth(input: &RenderInput, values: &Values) -> Result<(Option<Auth>, bool), RenderError> {
    if !values.bool_or("auth.enabled", true)? {
        return Ok((None, false));
    }
    if let Some(secret_name) = values.non_empty_str("auth.existingSecret")? {
        let key = values.str_or("auth.existingSecretPasswordKey", PASSWORD_KEY)?;
        return Ok((Some(Auth { secret_name, key }), false));
    }
    match secret(input, SECRET_ID) {
        Some(found) => {
            let key = if found.keys.iter().any(|k| k == PASSWORD_KEY) || found.keys.is_empty() {
                PASSWORD_KEY.to_string()
            } else {
                found.keys[0].clone()
            };
            Ok((
                Some(Auth {
                    secret_name: found.secret_name.clone(),
                    key,
                }),
                false,
            ))
        }
        None => Ok((
            Some(Auth {
                secret_name: FALLBACK_SECRET.into(),
                key: PASSWORD_KEY.into(),
            }),
            true,
        )),
    }
}

fn read_persistence(values: &Values) -> Result<Option<Persistence>, RenderError> {
    if !values.bool_or("persistence.enabled", false)? {
        return Ok(None);
    }
    let size = values.scalar_or("persistence.size", "8Gi")?;
    if size.is_empty() {
        return Err(invalid("persistence.size", "must not be empty"));
    }
    let mut access_modes = values.strings("persistence.accessModes")?;
    if access_modes.is_empty() {
        access_modes.push("ReadWriteOnce".into());
    }
    Ok(Some(Persistence {
        size,
        // "-" means "no storage class" (the cluster default), as in Helm charts.
        storage_class: values.opt_str("persistence.storageClass")?,
        access_modes,
        annotations: values.string_map("persistence.annotations")?,
    }))
}

fn read_probe(values: &Values, key: &str, delay: i64, period: i64) -> Result<Probe, RenderError> {
    let section = values.section(key)?;
    let field = |k: &str, d: i64| -> Result<i64, RenderError> {
        section
            .int_in(k, 0..=3600, d)
            .map_err(|_| invalid(&format!("{key}.{k}"), "expected an integer from 0 to 3600"))
    };
    Ok(Probe {
        enabled: values.bool_or(&format!("{key}.enabled"), true)?,
        timing: json!({
            "initialDelaySeconds": field("initialDelaySeconds", delay)?,
            "periodSeconds": field("periodSeconds", period)?,
            "timeoutSeconds": field("timeoutSeconds", 3)?,
            "successThreshold": field("successThreshold", 1)?,
            "failureThreshold": field("failureThreshold", 5)?,
        }),
    })
}

/// Bitnami-style knobs: the security contexts and resources below unless
/// set, a map set to `{}` rendered as given, and probes built from switches.
fn pod_defaults() -> PodDefaults {
    PodDefaults {
        empty_map: EmptyMap::Keep,
        resources: Some(default_resources()),
        pod_security_context: Some(default_pod_security()),
        security_context: Some(default_container_security()),
        security_context_key: "containerSecurityContext",
        passthrough_probes: false,
    }
}

fn default_resources() -> Value {
    json!({
        "requests": { "cpu": "100m", "memory": "128Mi" },
        "limits": { "memory": "256Mi" },
    })
}

fn default_pod_security() -> Value {
    json!({
        "fsGroup": REDIS_UID,
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

fn default_container_security() -> Value {
    json!({
        "runAsUser": REDIS_UID,
        "runAsGroup": REDIS_UID,
        "runAsNonRoot": true,
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "capabilities": { "drop": ["ALL"] },
    })
}
