//! The MongoDB subchart as a wasmchart component.
//!
//! Renders:
//! - a StatefulSet of `replicas` mongod pods, each with a PersistentVolumeClaim
//!   of `storage.size`; with more than one replica they form the replica set
//!   `replicaSetName`, authenticating to each other with a key file copied
//!   from the host-managed secret;
//! - a headless Service named like the StatefulSet (the pods' stable DNS
//!   names, and the address the umbrella's `global.mongodb.host` names);
//! - with `service.type` NodePort or LoadBalancer, a second Service
//!   `<name>-external` of that type;
//! - with more than one replica, a post-install/post-upgrade hook Job that
//!   initiates the replica set and adds missing members.
//!
//! The root password is read by `secretKeyRef` from the host-managed secret
//! with id `mongodb` (falling back to the Secret `imprun-mongodb-secret` when
//! the host passed none). Every value is validated: a wrong type is an
//! `invalid-values` error that names the key.

mod init_job;
mod objects;
mod settings;

use settings::Settings;
use wasmchart_sdk::{Guest, RenderError, RenderInput, RenderOutput, Values, log, manifest};

struct MongoDb;

impl Guest for MongoDb {
    fn render(input: RenderInput) -> Result<RenderOutput, RenderError> {
        let values = Values::parse(&input.values_json)?;
        let settings = Settings::read(&input, &values)?;
        if settings.secret.fallback {
            log::debug("no host-managed secret 'mongodb'; using Secret imprun-mongodb-secret");
        }
        let mut manifests = vec![
            manifest(
                "templates/service.yaml",
                &objects::headless_service(&settings),
            )?,
            manifest(
                "templates/statefulset.yaml",
                &objects::statefulset(&settings),
            )?,
        ];
        if let Some(service) = objects::external_service(&settings) {
            manifests.push(manifest("templates/service.yaml", &service)?);
        }
        if let Some(job) = init_job::job(&settings, &input.release.namespace) {
            manifests.push(manifest("templates/rs-init-job.yaml", &job)?);
        }
        Ok(RenderOutput {
            manifests,
            notes: Some(notes(&settings, &input)),
        })
    }
}

fn notes(settings: &Settings, input: &RenderInput) -> String {
    let host = format!(
        "{}.{}.svc.cluster.local",
        settings.name, input.release.namespace
    );
    let mut text = format!(
        "MongoDB is reachable at {host}:{} as user '{}'; the password is in Secret '{}', key '{}'.\n",
        settings.port,
        settings.root_user,
        settings.secret.name,
        settings::PASSWORD_KEY
    );
    if let Some(set) = &settings.replica_set {
        text.push_str(&format!(
            "The {} pods form replica set '{set}'; the hook Job {}-rs-init initiates it and adds new members.\n",
            settings.replicas, settings.name
        ));
    }
    text
}

wasmchart_sdk::export!(MongoDb);
