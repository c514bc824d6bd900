//! Reading and validating the server's values.

use crate::env::{self, EnvVar};
use serde_json::Value;
use std::collections::BTreeMap;
use wasmchart_sdk::image::{self, Image};
use wasmchart_sdk::{RenderError, RenderInput, Values, invalid, labels, serde_json};

/// Image tag when neither `image.tag` nor the chart's appVersion is set.
const DEFAULT_TAG: &str = "latest";

/// The ServiceAccount the pods run as.
pub struct Account {
    pub name: String,
    pub create: bool,
    pub annotations: BTreeMap<String, String>,
    pub automount_token: bool,
}

/// The Service in front of the pods.
pub struct Service {
    pub kind: String,
    pub port: u16,
    pub node_port: Option<i64>,
    pub annotations: BTreeMap<String, String>,
}

/// The HorizontalPodAutoscaler's bounds and targets.
pub struct Autoscaling {
    pub min: i64,
    pub max: i64,
    pub cpu: Option<i64>,
    pub memory: Option<i64>,
}

/// Everything the objects need, validated.
pub struct Settings {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub selector: BTreeMap<String, String>,
    pub replicas: i64,
    pub autoscaling: Option<Autoscaling>,
    pub image: Image,
    pub pull_secrets: Vec<Value>,
    pub account: Account,
    pub container_port: u16,
    pub service: Service,
    pub env: Vec<EnvVar>,
    /// Ids of secrets the host passed no reference for.
    pub fallback_secrets: Vec<String>,
    pub resources: Option<Value>,
    pub pod_security_context: Option<Value>,
    pub security_context: Option<Value>,
    pub liveness_probe: Option<Value>,
    pub readiness_probe: Option<Value>,
    pub pod_labels: BTreeMap<String, String>,
    pub pod_annotations: BTreeMap<String, String>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Option<Value>,
    pub affinity: Option<Value>,
}

impl Settings {
    /// Validates the values and resolves names, image, env and secrets.
    pub fn read(input: &RenderInput, values: &Values) -> Result<Self, RenderError> {
        let name = labels::fullname(input, values)?;
        let mut all_labels = labels::standard(input, values)?;
        all_labels.insert(labels::COMPONENT.into(), "api".into());
        let default_tag = input.chart.app_version.as_deref().unwrap_or(DEFAULT_TAG);
        let (env, fallback_secrets) = env::read(input, values)?;
        Ok(Settings {
            labels: all_labels,
            selector: labels::selector(input, values)?,
            replicas: values.int_in("replicaCount", 0..=1000, 1)?,
            autoscaling: read_autoscaling(values)?,
            image: image::resolve(values, "image", "junsik/imprun-server", default_tag)?,
            pull_secrets: image::pull_secrets(values)?,
            account: read_account(values, &name)?,
            container_port: values.port_or("containerPort", 3000)?,
            service: read_service(values)?,
            env,
            fallback_secrets,
            resources: non_empty_object(values, "resources")?,
            pod_security_context: non_empty_object(values, "podSecurityContext")?,
            security_context: non_empty_object(values, "securityContext")?,
            liveness_probe: non_empty_object(values, "livenessProbe")?,
            readiness_probe: non_empty_object(values, "readinessProbe")?,
            pod_labels: values.string_map("podLabels")?,
            pod_annotations: values.string_map("podAnnotations")?,
            node_selector: values.string_map("nodeSelector")?,
            tolerations: non_empty_array(values, "tolerations")?,
            affinity: non_empty_object(values, "affinity")?,
            name,
        })
    }
}

/// A map passed through as given; absent, `null` or `{}` leave it out (Helm's
/// `with`).
fn non_empty_object(values: &Values, path: &str) -> Result<Option<Value>, RenderError> {
    Ok(values
        .opt_object(path)?
        .filter(|m| !m.is_empty())
        .map(|m| Value::Object(m.clone())))
}

/// A list passed through as given; absent, `null` or `[]` leave it out.
fn non_empty_array(values: &Values, path: &str) -> Result<Option<Value>, RenderError> {
    Ok(values
        .opt_array(path)?
        .filter(|a| !a.is_empty())
        .map(|a| Value::Array(a.clone())))
}

fn read_autoscaling(values: &Values) -> Result<Option<Autoscaling>, RenderError> {
    if !values.bool_or("autoscaling.enabled", false)? {
        return Ok(None);
    }
    let min = values.int_in("autoscaling.minReplicas", 1..=1000, 1)?;
    let max = values.int_in("autoscaling.maxReplicas", 1..=1000, 3)?;
    if max < min {
        return Err(invalid(
            "autoscaling.maxReplicas",
            format!("{max} is below autoscaling.minReplicas ({min})"),
        ));
    }
    let percent = |key: &str| -> Result<Option<i64>, RenderError> {
        let path = format!("autoscaling.{key}");
        match values.opt_i64(&path)? {
            Some(p) if !(1..=1000).contains(&p) => Err(invalid(
                &path,
                format!("{p} is out of range 1..=1000 (percent of the requests)"),
            )),
            other => Ok(other),
        }
    };
    let cpu = percent("targetCPUUtilizationPercentage")?;
    let memory = percent("targetMemoryUtilizationPercentage")?;
    if cpu.is_none() && memory.is_none() {
        return Err(invalid(
            "autoscaling",
            "enabled without targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage",
        ));
    }
    Ok(Some(Autoscaling {
        min,
        max,
        cpu,
        memory,
    }))
}

fn read_account(values: &Values, fullname: &str) -> Result<Account, RenderError> {
    let create = values.bool_or("serviceAccount.create", true)?;
    let name = match values.non_empty_str("serviceAccount.name")? {
        Some(name) => name,
        None if create => fullname.to_string(),
        None => "default".to_string(),
    };
    Ok(Account {
        name,
        create,
        annotations: values.string_map("serviceAccount.annotations")?,
        automount_token: values.bool_or("serviceAccount.automountToken", false)?,
    })
}

fn read_service(values: &Values) -> Result<Service, RenderError> {
    let kind = values.str_or("service.type", "ClusterIP")?;
    if !["ClusterIP", "NodePort", "LoadBalancer"].contains(&kind.as_str()) {
        return Err(invalid(
            "service.type",
            format!("\"{kind}\" is not one of ClusterIP, NodePort, LoadBalancer"),
        ));
    }
    let node_port = match values.opt_i64("service.nodePort")? {
        Some(port) if !(30000..=32767).contains(&port) => {
            return Err(invalid(
                "service.nodePort",
                format!("{port} is outside the node port range 30000..=32767"),
            ));
        }
        Some(_) if kind == "ClusterIP" => None,
        other => other,
    };
    Ok(Service {
        port: values.port_or("service.port", 80)?,
        node_port,
        annotations: values.string_map("service.annotations")?,
        kind,
    })
}
