//! The Kubernetes objects: Services and the Deployment or StatefulSet.

use crate::settings::{Persistence, Probe, Settings};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use wasmchart_sdk::{object_meta, serde_json, to_object};

fn metadata(settings: &Settings, name: &str) -> Value {
    object_meta(name, &settings.labels, &BTreeMap::new())
}

/// The client-facing Service (`redis-master` by default).
pub fn service(settings: &Settings) -> Value {
    let mut port = json!({
        "name": "tcp-redis",
        "port": settings.port,
        "targetPort": "redis",
        "protocol": "TCP",
    });
    if let (Some(node_port), "NodePort" | "LoadBalancer") =
        (settings.node_port, settings.service_type.as_str())
    {
        port["nodePort"] = json!(node_port);
    }
    let meta = object_meta(
        &settings.service_name,
        &settings.labels,
        &settings.service_annotations,
    );
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": settings.service_type,
            "ports": [port],
            "selector": to_object(&settings.selector),
        },
    })
}

/// The headless Service that gives the StatefulSet's pod a stable DNS name.
pub fn headless_service(settings: &Settings) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(settings, &settings.headless_name),
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "None",
            "ports": [{ "name": "tcp-redis", "port": settings.port, "targetPort": "redis" }],
            "selector": to_object(&settings.selector),
        },
    })
}

/// A single-replica Deployment with an `emptyDir` data volume.
pub fn deployment(settings: &Settings) -> Value {
    let mut pod = pod_template(settings);
    pod["spec"]["volumes"] = json!([
        { "name": "data", "emptyDir": {} },
        { "name": "tmp", "emptyDir": {} },
    ]);
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(settings, &settings.name),
        "spec": {
            "replicas": 1,
            // Two Redis processes must never share one data directory.
            "strategy": { "type": "Recreate" },
            "selector": { "matchLabels": to_object(&settings.selector) },
            "template": pod,
        },
    })
}

/// A single-replica StatefulSet whose data lives on a PersistentVolumeClaim.
pub fn statefulset(settings: &Settings) -> Value {
    let mut pod = pod_template(settings);
    pod["spec"]["volumes"] = json!([{ "name": "tmp", "emptyDir": {} }]);
    let claim = settings
        .persistence
        .as_ref()
        .map(|p| claim_template(settings, p))
        .unwrap_or(Value::Null);
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": metadata(settings, &settings.name),
        "spec": {
            "replicas": 1,
            "serviceName": settings.headless_name,
            "updateStrategy": { "type": "RollingUpdate" },
            "selector": { "matchLabels": to_object(&settings.selector) },
            "template": pod,
            "volumeClaimTemplates": [claim],
        },
    })
}

fn claim_template(settings: &Settings, persistence: &Persistence) -> Value {
    let mut spec = json!({
        "accessModes": persistence.access_modes,
        "resources": { "requests": { "storage": persistence.size } },
    });
    match persistence.storage_class.as_deref() {
        None => {}
        Some("-") => spec["storageClassName"] = json!(""),
        Some(class) => spec["storageClassName"] = json!(class),
    }
    let meta = object_meta("data", &settings.selector, &persistence.annotations);
    json!({ "metadata": meta, "spec": spec })
}

fn pod_template(settings: &Settings) -> Value {
    let meta = settings
        .pod
        .template_metadata(&settings.labels, &settings.selector);
    let mut spec = Map::new();
    spec.insert("automountServiceAccountToken".into(), json!(false));
    spec.insert("containers".into(), json!([container(settings)]));
    settings.pod.apply_to_pod(&mut spec);
    if let Some(class) = &settings.priority_class {
        spec.insert("priorityClassName".into(), json!(class));
    }
    json!({ "metadata": meta, "spec": spec })
}

fn container(settings: &Settings) -> Value {
    let mut args = vec![
        "--port".to_string(),
        settings.port.to_string(),
        "--dir".to_string(),
        "/data".to_string(),
        "--appendonly".to_string(),
        if settings.append_only { "yes" } else { "no" }.to_string(),
    ];
    let mut env = Vec::new();
    if let Some(auth) = &settings.auth {
        let from_secret = json!({ "secretKeyRef": { "name": auth.secret_name, "key": auth.key } });
        env.push(json!({ "name": "REDIS_PASSWORD", "valueFrom": from_secret }));
        // redis-cli reads REDISCLI_AUTH, so probes need no password argument.
        env.push(json!({ "name": "REDISCLI_AUTH", "valueFrom": from_secret }));
        args.push("--requirepass".into());
        // Kubernetes expands $(VAR) in args from the container's env.
        args.push("$(REDIS_PASSWORD)".into());
    }
    args.extend(settings.extra_flags.iter().cloned());
    let mut container = json!({
        "name": "redis",
        "image": settings.image.reference,
        "imagePullPolicy": settings.image.pull_policy,
        "command": ["redis-server"],
        "args": args,
        "ports": [{ "name": "redis", "containerPort": settings.port, "protocol": "TCP" }],
        "volumeMounts": [
            { "name": "data", "mountPath": "/data" },
            { "name": "tmp", "mountPath": "/tmp" },
        ],
    });
    if let Some(fields) = container.as_object_mut() {
        settings.pod.apply_to_container(fields);
    }
    if !env.is_empty() {
        container["env"] = json!(env);
    }
    if let Some(probe) = probe(&settings.liveness, settings.port) {
        container["livenessProbe"] = probe;
    }
    if let Some(probe) = probe(&settings.readiness, settings.port) {
        container["readinessProbe"] = probe;
    }
    container
}

fn probe(probe: &Probe, port: u16) -> Option<Value> {
    if !probe.enabled {
        return None;
    }
    let check = format!("redis-cli -h 127.0.0.1 -p {port} ping | grep -q PONG");
    let mut value = probe.timing.clone();
    value["exec"] = json!({ "command": ["sh", "-c", check] });
    Some(value)
}
