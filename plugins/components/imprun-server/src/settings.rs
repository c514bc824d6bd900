//! Reading and validating the server's values.

use crate::env::{self, EnvVar};
use std::collections::BTreeMap;
use wasmchart_sdk::image::{self, Image};
use wasmchart_sdk::pod::{PodDefaults, PodSettings};
use wasmchart_sdk::service;
use wasmchart_sdk::{RenderError, RenderInput, Values, invalid, labels};

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
    pub account: Account,
    pub container_port: u16,
    pub service: Service,
    pub env: Vec<EnvVar>,
    /// Ids of secrets the host passed no reference for.
    pub fallback_secrets: Vec<String>,
    /// Pull secrets, pod labels, scheduling and the container's knobs.
    pub pod: PodSettings,
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
            account: read_account(values, &name)?,
            container_port: values.port_or("containerPort", 3000)?,
            service: read_service(values)?,
            env,
            fallback_secrets,
            pod: PodSettings::read(values, &PodDefaults::default())?,
            name,
        })
    }
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
    let kind = service::service_type(values)?;
    // A ClusterIP Service has no node port to set.
    let node_port = service::node_port(values)?.filter(|_| kind != "ClusterIP");
    Ok(Service {
        port: values.port_or("service.port", 80)?,
        node_port,
        annotations: values.string_map("service.annotations")?,
        kind,
    })
}
