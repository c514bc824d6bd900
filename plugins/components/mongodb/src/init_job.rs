//! The Job that forms the replica set: the official image starts each mongod
//! with `--replSet` but never initiates the set.
//!
//! It runs as a Helm post-install/post-upgrade hook (Argo CD runs those as
//! PostSync hooks), connects to pod 0, initiates the set with pod 0 alone
//! when it is not yet initiated, waits until pod 0 is primary, then adds
//! every pod the set lacks. The other pods start empty of replicated data,
//! so they join by initial sync. Running it again changes nothing, and
//! after a scale-up it adds the new pods.

use crate::settings::{PASSWORD_KEY, Settings};
use serde_json::{Value, json};
use wasmchart_sdk::{labels, serde_json};

/// The mongosh script; `SET` and `HOSTS` are defined before it.
const SCRIPT: &str = r#"
const uri = `mongodb://${encodeURIComponent(process.env.MONGO_USER)}:${encodeURIComponent(process.env.MONGO_PASSWORD)}@${HOSTS[0]}/admin?directConnection=true`;
for (let i = 0; ; i++) {
  try { db = connect(uri); db.adminCommand({ ping: 1 }); break; }
  catch (e) { if (i >= 150) throw e; sleep(2000); }
}
let initiated = true;
try { db.adminCommand({ replSetGetStatus: 1 }); }
catch (e) { if (e.code !== 94) throw e; initiated = false; }
if (!initiated) {
  db.adminCommand({ replSetInitiate: { _id: SET, members: [{ _id: 0, host: HOSTS[0] }] } });
  print(`initiated replica set ${SET} with ${HOSTS[0]}`);
}
for (let i = 0; !db.hello().isWritablePrimary; i++) {
  if (i >= 150) throw new Error(`${HOSTS[0]} did not become primary`);
  sleep(2000);
}
const known = db.adminCommand({ replSetGetConfig: 1 }).config.members.map((m) => m.host);
for (const host of HOSTS.filter((h) => !known.includes(h))) {
  rs.add(host);
  print(`added ${host}`);
}
"#;

/// Stable DNS names of the pods (`<pod>.<headless service>.<namespace>.svc.<domain>`).
fn hosts(settings: &Settings, namespace: &str) -> Vec<String> {
    (0..settings.replicas)
        .map(|i| {
            format!(
                "{name}-{i}.{name}.{namespace}.svc.{domain}:{port}",
                name = settings.name,
                domain = settings.cluster_domain,
                port = 27017
            )
        })
        .collect()
}

/// The script with its inputs, as JSON literals (safe quoting).
fn script(set: &str, hosts: &[String]) -> String {
    format!(
        "const SET = {};\nconst HOSTS = {};{SCRIPT}",
        json!(set),
        json!(hosts)
    )
}

/// The hook Job, when the pods form a replica set.
pub fn job(settings: &Settings, namespace: &str) -> Option<Value> {
    let set = settings.replica_set.as_ref()?;
    let name = labels::trunc63(&format!("{}-rs-init", settings.name));
    // Not the StatefulSet's selector labels: the Services must not select
    // this pod.
    let mut pod_labels = settings.labels.clone();
    pod_labels.insert(
        labels::NAME.into(),
        labels::trunc63(&format!("{}-rs-init", settings.chart_name)),
    );
    pod_labels.insert(labels::COMPONENT.into(), "replica-set-init".into());
    let mut container = json!({
        "name": "rs-init",
        "image": settings.image.reference,
        "imagePullPolicy": settings.image.pull_policy,
        "command": ["mongosh", "--nodb", "--quiet", "--eval", script(set, &hosts(settings, namespace))],
        "env": [
            { "name": "HOME", "value": "/tmp" },
            { "name": "MONGO_USER", "value": settings.root_user },
            {
                "name": "MONGO_PASSWORD",
                "valueFrom": { "secretKeyRef": { "name": settings.secret.name, "key": PASSWORD_KEY } },
            },
        ],
        "resources": {
            "requests": { "cpu": "50m", "memory": "64Mi" },
            "limits": { "cpu": "500m", "memory": "256Mi" },
        },
        "volumeMounts": [{ "name": "tmp", "mountPath": "/tmp" }],
    });
    if let Some(context) = &settings.pod.security_context {
        container["securityContext"] = context.clone();
    }
    let mut pod = json!({
        "restartPolicy": "OnFailure",
        "automountServiceAccountToken": false,
        "containers": [container],
        "volumes": [{ "name": "tmp", "emptyDir": {} }],
    });
    if let Some(context) = &settings.pod.pod_security_context {
        pod["securityContext"] = context.clone();
    }
    if !settings.pod.pull_secrets.is_empty() {
        pod["imagePullSecrets"] = json!(settings.pod.pull_secrets);
    }
    Some(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "labels": wasmchart_sdk::to_object(&settings.labels),
            "annotations": {
                "helm.sh/hook": "post-install,post-upgrade",
                "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded",
            },
        },
        "spec": {
            "backoffLimit": 6,
            "template": {
                "metadata": { "labels": wasmchart_sdk::to_object(&pod_labels) },
                "spec": pod,
            },
        },
    }))
}
