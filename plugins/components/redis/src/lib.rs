//! The Redis subchart as a wasmchart component.
//!
//! Renders a single-node Redis ("master"):
//! - a Deployment with an `emptyDir` data volume, or a StatefulSet with a
//!   PersistentVolumeClaim template and a headless Service when
//!   `persistence.enabled`;
//! - a Service named `redis-master` by default (what the umbrella's
//!   `global.redis.host` points at): `service.name` or `fullnameOverride`
//!   change it;
//! - with `auth.enabled` (the default), a password read by `secretKeyRef`
//!   from the host-managed secret with id `redis` (or `auth.existingSecret`),
//!   passed as `--requirepass $(REDIS_PASSWORD)`; probes authenticate through
//!   `REDISCLI_AUTH`, so the password never appears on a command line the
//!   probes run.
//!
//! Every value is validated: a wrong type is an `invalid-values` error that
//! names the key.

mod settings;
mod workload;

use settings::Settings;
use wasmchart_sdk::{Guest, RenderError, RenderInput, RenderOutput, Values, log, manifest};

struct Redis;

impl Guest for Redis {
    fn render(input: RenderInput) -> Result<RenderOutput, RenderError> {
        let values = Values::parse(&input.values_json)?;
        let settings = Settings::read(&input, &values)?;
        if settings.auth_fallback {
            log::debug("no host-managed secret 'redis'; using Secret imprun-redis-secret");
        }
        let mut manifests = vec![manifest(
            "templates/master/service.yaml",
            &workload::service(&settings),
        )?];
        if settings.persistence.is_some() {
            manifests.push(manifest(
                "templates/headless-svc.yaml",
                &workload::headless_service(&settings),
            )?);
            manifests.push(manifest(
                "templates/master/statefulset.yaml",
                &workload::statefulset(&settings),
            )?);
        } else {
            manifests.push(manifest(
                "templates/master/deployment.yaml",
                &workload::deployment(&settings),
            )?);
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
        settings.service_name, input.release.namespace
    );
    let mut text = format!("Redis is reachable at {host}:{}.\n", settings.port);
    if let Some(auth) = &settings.auth {
        text.push_str(&format!(
            "The password is in Secret '{}', key '{}'.\n",
            auth.secret_name, auth.key
        ));
    } else {
        text.push_str("Authentication is disabled (auth.enabled=false).\n");
    }
    text
}

wasmchart_sdk::export!(Redis);
