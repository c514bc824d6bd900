//! The Kubernetes objects: Deployment, Service, ServiceAccount and
//! HorizontalPodAutoscaler.

use crate::settings::Settings;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use wasmchart_sdk::{object_meta, serde_json, to_object};

fn metadata(settings: &Settings, name: &str) -> Value {
    object_meta(name, &settings.labels, &BTreeMap::new())
}

/// The Deployment; `replicas` is left to the autoscaler when there is one.
pub fn deployment(settings: &Settings) -> Value {
    let mut spec = Map::new();
    if settings.autoscaling.is_none() {
        spec.insert("replicas".into(), json!(settings.replicas));
    }
    spec.insert(
        "selector".into(),
        json!({ "matchLabels": to_object(&settings.selector) }),
    );
    spec.insert("template".into(), pod_template(settings));
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(settings, &settings.name),
        "spec": spec,
    })
}

fn pod_template(settings: &Settings) -> Value {
    let meta = settings
        .pod
        .template_metadata(&settings.labels, &BTreeMap::new());
    let mut spec = Map::new();
    spec.insert("serviceAccountName".into(), json!(settings.account.name));
    spec.insert(
        "automountServiceAccountToken".into(),
        json!(settings.account.automount_token),
    );
    spec.insert("containers".into(), json!([container(settings)]));
    spec.insert("volumes".into(), json!([{ "name": "tmp", "emptyDir": {} }]));
    settings.pod.apply_to_pod(&mut spec);
    json!({ "metadata": meta, "spec": spec })
}

fn container(settings: &Settings) -> Value {
    let mut container = Map::new();
    container.insert("name".into(), json!("imprun-server"));
    container.insert("image".into(), json!(settings.image.reference));
    container.insert("imagePullPolicy".into(), json!(settings.image.pull_policy));
    container.insert(
        "ports".into(),
        json!([{ "name": "http", "containerPort": settings.container_port, "protocol": "TCP" }]),
    );
    container.insert("env".into(), json!(settings.env));
    settings.pod.apply_to_container(&mut container);
    // The root filesystem is read-only; Node.js needs a writable /tmp.
    container.insert(
        "volumeMounts".into(),
        json!([{ "name": "tmp", "mountPath": "/tmp" }]),
    );
    Value::Object(container)
}

/// The Service in front of the pods' `http` port.
pub fn service(settings: &Settings) -> Value {
    let service = &settings.service;
    let mut port =
        json!({ "name": "http", "port": service.port, "targetPort": "http", "protocol": "TCP" });
    if let Some(node_port) = service.node_port {
        port["nodePort"] = json!(node_port);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(&settings.name, &settings.labels, &service.annotations),
        "spec": {
            "type": service.kind,
            "ports": [port],
            "selector": to_object(&settings.selector),
        },
    })
}

/// The pods' own ServiceAccount, when `serviceAccount.create`.
pub fn service_account(settings: &Settings) -> Option<Value> {
    let account = &settings.account;
    if !account.create {
        return None;
    }
    Some(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": object_meta(&account.name, &settings.labels, &account.annotations),
        "automountServiceAccountToken": account.automount_token,
    }))
}

/// The HorizontalPodAutoscaler API to emit: the newest the cluster serves, as a Helm chart
/// picks it with `.Capabilities.APIVersions.Has` (a 1.22 cluster serves `autoscaling/v2beta2`,
/// not `autoscaling/v2`).
pub fn autoscaler_api(api_versions: &[String]) -> &'static str {
    ["autoscaling/v2", "autoscaling/v2beta2"]
        .into_iter()
        .find(|v| api_versions.iter().any(|a| a == v))
        .unwrap_or("autoscaling/v1")
}

/// The HorizontalPodAutoscaler, when `autoscaling.enabled`, in `api` (see
/// [`autoscaler_api`]). `autoscaling/v1` scales on CPU only.
pub fn autoscaler(settings: &Settings, api: &str) -> Option<Value> {
    let scaling = settings.autoscaling.as_ref()?;
    let mut spec = json!({
        "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": settings.name },
        "minReplicas": scaling.min,
        "maxReplicas": scaling.max,
    });
    if api == "autoscaling/v1" {
        if let Some(cpu) = scaling.cpu {
            spec["targetCPUUtilizationPercentage"] = json!(cpu);
        }
    } else {
        let target = |resource: &str, percent: i64| {
            json!({
                "type": "Resource",
                "resource": {
                    "name": resource,
                    "target": { "type": "Utilization", "averageUtilization": percent },
                },
            })
        };
        let mut metrics = Vec::new();
        if let Some(cpu) = scaling.cpu {
            metrics.push(target("cpu", cpu));
        }
        if let Some(memory) = scaling.memory {
            metrics.push(target("memory", memory));
        }
        spec["metrics"] = json!(metrics);
    }
    Some(json!({
        "apiVersion": api,
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(settings, &settings.name),
        "spec": spec,
    }))
}
