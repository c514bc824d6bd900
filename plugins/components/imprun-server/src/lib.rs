//! The imprun API server subchart as a wasmchart component.
//!
//! Renders:
//! - a Deployment (`replicaCount` pods, left to the autoscaler when
//!   `autoscaling.enabled`), running as its own ServiceAccount;
//! - a Service in front of it;
//! - a ServiceAccount when `serviceAccount.create`;
//! - a HorizontalPodAutoscaler when `autoscaling.enabled`: `autoscaling/v2` when the
//!   cluster serves it, else `autoscaling/v2beta2`, else `autoscaling/v1` (CPU only), as a
//!   Helm chart chooses with `.Capabilities.APIVersions.Has`.
//!
//! The container gets the plain `env` values, MongoDB and Redis addresses
//! from `global`, and the JWT key, database and cache passwords and OAuth
//! client credentials by `secretKeyRef` from host-managed secrets (the
//! guide's Secret names when the host passed no reference). Every value is
//! validated: a wrong type is an `invalid-values` error that names the key.

mod env;
mod objects;
mod settings;

use settings::Settings;
use wasmchart_sdk::{Guest, RenderError, RenderInput, RenderOutput, Values, log, manifest};

struct ImprunServer;

impl Guest for ImprunServer {
    fn render(input: RenderInput) -> Result<RenderOutput, RenderError> {
        let values = Values::parse(&input.values_json)?;
        let settings = Settings::read(&input, &values)?;
        for id in &settings.fallback_secrets {
            log::debug(&format!(
                "no host-managed secret '{id}'; using the guide's Secret name"
            ));
        }
        let mut manifests = vec![
            manifest("templates/deployment.yaml", &objects::deployment(&settings))?,
            manifest("templates/service.yaml", &objects::service(&settings))?,
        ];
        if let Some(account) = objects::service_account(&settings) {
            manifests.push(manifest("templates/serviceaccount.yaml", &account)?);
        }
        let hpa_api = objects::autoscaler_api(&input.capabilities.api_versions);
        if let Some(hpa) = objects::autoscaler(&settings, hpa_api) {
            if hpa_api == "autoscaling/v1"
                && settings
                    .autoscaling
                    .as_ref()
                    .is_some_and(|a| a.memory.is_some())
            {
                log::warn(
                    "the cluster serves neither autoscaling/v2 nor autoscaling/v2beta2: the autoscaling/v1 HorizontalPodAutoscaler scales on CPU only, autoscaling.targetMemoryUtilizationPercentage is ignored",
                );
            }
            manifests.push(manifest("templates/hpa.yaml", &hpa)?);
        }
        Ok(RenderOutput {
            manifests,
            notes: Some(notes(&settings, &input)),
        })
    }
}

fn notes(settings: &Settings, input: &RenderInput) -> String {
    let mut text = format!(
        "The imprun API server is reachable in the cluster at http://{}.{}.svc.cluster.local:{}.\n",
        settings.name, input.release.namespace, settings.service.port
    );
    if let Some(scaling) = &settings.autoscaling {
        text.push_str(&format!(
            "It scales between {} and {} pods.\n",
            scaling.min, scaling.max
        ));
    }
    text
}

wasmchart_sdk::export!(ImprunServer);
