//! The Kubernetes objects: the StatefulSet and its Services.

use crate::settings::{PASSWORD_KEY, REPLICA_KEY, Settings};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use wasmchart_sdk::{object_meta, serde_json, to_object};

/// Where mongod reads the replica-set key file (copied with mode 0400).
const KEYFILE_DIR: &str = "/etc/mongodb-keyfile";
/// Where the Secret holding the key is mounted for the copy.
const KEYFILE_SECRET_DIR: &str = "/etc/mongodb-keyfile-secret";
/// mongod's port inside the container.
const MONGOD_PORT: u16 = 27017;

fn service_metadata(settings: &Settings, name: &str) -> Value {
    object_meta(name, &settings.labels, &settings.service_annotations)
}

fn service_port(settings: &Settings) -> Value {
    json!({ "name": "mongodb", "port": settings.port, "targetPort": "mongodb", "protocol": "TCP" })
}

/// The headless Service: stable pod DNS names for the replica set, and the
/// client address. Not-ready pods are published so members can find each
/// other while the set forms.
pub fn headless_service(settings: &Settings) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": service_metadata(settings, &settings.name),
        "spec": {
            "type": "ClusterIP",
            "clusterIP": "None",
            "publishNotReadyAddresses": true,
            "ports": [service_port(settings)],
            "selector": to_object(&settings.selector),
        },
    })
}

/// The NodePort or LoadBalancer Service for access from outside the
/// cluster, when `service.type` asks for one.
pub fn external_service(settings: &Settings) -> Option<Value> {
    if settings.service_type == "ClusterIP" {
        return None;
    }
    let mut port = service_port(settings);
    if let Some(node_port) = settings.node_port {
        port["nodePort"] = json!(node_port);
    }
    let name = wasmchart_sdk::labels::trunc63(&format!("{}-external", settings.name));
    Some(json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": service_metadata(settings, &name),
        "spec": {
            "type": settings.service_type,
            "ports": [port],
            "selector": to_object(&settings.selector),
        },
    }))
}

/// The StatefulSet: one PersistentVolumeClaim per pod.
pub fn statefulset(settings: &Settings) -> Value {
    let mut claim_spec = json!({
        "accessModes": settings.storage.access_modes,
        "resources": { "requests": { "storage": settings.storage.size } },
    });
    if let Some(class) = &settings.storage.storage_class {
        claim_spec["storageClassName"] = json!(class);
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": object_meta(&settings.name, &settings.labels, &BTreeMap::new()),
        "spec": {
            "serviceName": settings.name,
            "replicas": settings.replicas,
            "selector": { "matchLabels": to_object(&settings.selector) },
            "template": pod_template(settings),
            "volumeClaimTemplates": [{
                "metadata": { "name": "data", "labels": to_object(&settings.selector) },
                "spec": claim_spec,
            }],
        },
    })
}

fn pod_template(settings: &Settings) -> Value {
    let meta = settings
        .pod
        .template_metadata(&settings.labels, &BTreeMap::new());
    let mut spec = Map::new();
    // mongod never calls the Kubernetes API.
    spec.insert("automountServiceAccountToken".into(), json!(false));
    if settings.replica_set.is_some() {
        spec.insert(
            "initContainers".into(),
            json!([keyfile_container(settings)]),
        );
    }
    spec.insert("containers".into(), json!([mongod_container(settings)]));
    spec.insert("volumes".into(), json!(volumes(settings)));
    settings.pod.apply_to_pod(&mut spec);
    json!({ "metadata": meta, "spec": spec })
}

/// mongod refuses a key file that others can read, and a Secret volume is
/// group-readable under `fsGroup`: copy the key with mode 0400 first.
fn keyfile_container(settings: &Settings) -> Value {
    let mut container = json!({
        "name": "keyfile",
        "image": settings.image.reference,
        "imagePullPolicy": settings.image.pull_policy,
        "command": [
            "install", "-m", "0400",
            format!("{KEYFILE_SECRET_DIR}/keyfile"),
            format!("{KEYFILE_DIR}/keyfile"),
        ],
        "resources": {
            "requests": { "cpu": "10m", "memory": "16Mi" },
            "limits": { "cpu": "100m", "memory": "64Mi" },
        },
        "volumeMounts": [
            { "name": "keyfile-secret", "mountPath": KEYFILE_SECRET_DIR, "readOnly": true },
            { "name": "keyfile", "mountPath": KEYFILE_DIR },
        ],
    });
    if let Some(context) = &settings.pod.security_context {
        container["securityContext"] = context.clone();
    }
    container
}

fn mongod_container(settings: &Settings) -> Value {
    let mut args = vec!["--bind_ip_all".to_string()];
    let mut mounts = vec![
        json!({ "name": "data", "mountPath": "/data/db" }),
        json!({ "name": "config", "mountPath": "/data/configdb" }),
        json!({ "name": "tmp", "mountPath": "/tmp" }),
    ];
    if let Some(set) = &settings.replica_set {
        args.extend([
            "--replSet".to_string(),
            set.clone(),
            "--keyFile".to_string(),
            format!("{KEYFILE_DIR}/keyfile"),
        ]);
        mounts.push(json!({ "name": "keyfile", "mountPath": KEYFILE_DIR, "readOnly": true }));
    }
    let mut container = Map::new();
    container.insert("name".into(), json!("mongodb"));
    container.insert("image".into(), json!(settings.image.reference));
    container.insert("imagePullPolicy".into(), json!(settings.image.pull_policy));
    container.insert("args".into(), json!(args));
    container.insert(
        "ports".into(),
        json!([{ "name": "mongodb", "containerPort": MONGOD_PORT, "protocol": "TCP" }]),
    );
    container.insert(
        "env".into(),
        json!([
            { "name": "MONGO_INITDB_ROOT_USERNAME", "value": settings.root_user },
            {
                "name": "MONGO_INITDB_ROOT_PASSWORD",
                "valueFrom": { "secretKeyRef": { "name": settings.secret.name, "key": PASSWORD_KEY } },
            },
        ]),
    );
    settings.pod.apply_to_container(&mut container);
    container.insert("volumeMounts".into(), json!(mounts));
    Value::Object(container)
}

fn volumes(settings: &Settings) -> Vec<Value> {
    let mut volumes = vec![
        json!({ "name": "config", "emptyDir": {} }),
        json!({ "name": "tmp", "emptyDir": {} }),
    ];
    if settings.replica_set.is_some() {
        volumes.push(json!({ "name": "keyfile", "emptyDir": {} }));
        volumes.push(json!({
            "name": "keyfile-secret",
            "secret": {
                "secretName": settings.secret.name,
                // 0400: readable by the owner only.
                "defaultMode": 0o400,
                "items": [{ "key": REPLICA_KEY, "path": "keyfile" }],
            },
        }));
    }
    volumes
}
