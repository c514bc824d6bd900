//! The Kubernetes objects: Deployment, Service, ServiceAccount and
//! HorizontalPodAutoscaler.

use crate::settings::Settings;
use serde_json::{Map, Value, json};
use wasmchart_sdk::{serde_json, to_object};

fn metadata(settings: &Settings, name: &str) -> Value {
    json!({ "name": name, "labels": to_object(&settings.labels) })
}

fn insert_some(map: &mut Map<String, Value>, key: &str, value: &Option<Value>) {
    if let Some(value) = value {
        map.insert(key.into(), value.clone());
    }
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
    let mut pod_labels = settings.labels.clone();
    pod_labels.extend(settings.pod_labels.clone());
    let mut meta = json!({ "labels": to_object(&pod_labels) });
    if !settings.pod_annotations.is_empty() {
        meta["annotations"] = to_object(&settings.pod_annotations);
    }
    let mut spec = Map::new();
    if !settings.pull_secrets.is_empty() {
        spec.insert("imagePullSecrets".into(), json!(settings.pull_secrets));
    }
    spec.insert("serviceAccountName".into(), json!(settings.account.name));
    spec.insert(
        "automountServiceAccountToken".into(),
        json!(settings.account.automount_token),
    );
    insert_some(&mut spec, "securityContext", &settings.pod_security_context);
    spec.insert("containers".into(), json!([container(settings)]));
    spec.insert("volumes".into(), json!([{ "name": "tmp", "emptyDir": {} }]));
    if !settings.node_selector.is_empty() {
        spec.insert("nodeSelector".into(), to_object(&settings.node_selector));
    }
    insert_some(&mut spec, "affinity", &settings.affinity);
    insert_some(&mut spec, "tolerations", &settings.tolerations);
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
    insert_some(&mut container, "livenessProbe", &settings.liveness_probe);
    insert_some(&mut container, "readinessProbe", &settings.readiness_probe);
    insert_some(&mut container, "resources", &settings.resources);
    insert_some(
        &mut container,
        "securityContext",
        &settings.security_context,
    );
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
    let mut meta = metadata(settings, &settings.name);
    if !service.annotations.is_empty() {
        meta["annotations"] = to_object(&service.annotations);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
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
    let mut meta = metadata(settings, &account.name);
    if !account.annotations.is_empty() {
        meta["annotations"] = to_object(&account.annotations);
    }
    Some(json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta,
        "automountServiceAccountToken": account.automount_token,
    }))
}

/// The `autoscaling/v2` HorizontalPodAutoscaler, when `autoscaling.enabled`.
pub fn autoscaler(settings: &Settings) -> Option<Value> {
    let scaling = settings.autoscaling.as_ref()?;
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
    Some(json!({
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(settings, &settings.name),
        "spec": {
            "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": settings.name },
            "minReplicas": scaling.min,
            "maxReplicas": scaling.max,
            "metrics": metrics,
        },
    }))
}
