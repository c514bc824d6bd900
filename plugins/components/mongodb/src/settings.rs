//! Reading and validating the MongoDB values.

use std::collections::BTreeMap;
use wasmchart_sdk::image::{self, Image};
use wasmchart_sdk::pod::{PodDefaults, PodSettings};
use wasmchart_sdk::service;
use wasmchart_sdk::{RenderError, RenderInput, Values, invalid, labels, secret};

/// The id of the host-managed secret holding the root password.
const SECRET_ID: &str = "mongodb";
/// Secret used when the host passed no `mongodb` secret (the umbrella's name).
const FALLBACK_SECRET: &str = "imprun-mongodb-secret";
/// Key of the root password inside the secret.
pub const PASSWORD_KEY: &str = "MONGODB_ROOT_PASSWORD";
/// Key of the replica-set members' shared key inside the secret.
pub const REPLICA_KEY: &str = "MONGODB_REPLICA_SET_KEY";
/// Image tag when neither `image.tag` nor the chart's appVersion is set.
const DEFAULT_TAG: &str = "7.0.14";
/// The most mongod pods a replica set can vote with (MongoDB allows 50
/// members, of which at most 7 vote); more is almost certainly a typo.
const MAX_REPLICAS: i64 = 50;

/// The Secret the pods read the root password (and replica-set key) from.
pub struct SecretSource {
    pub name: String,
    /// True when the host passed no reference and the guide's name is used.
    pub fallback: bool,
}

/// The PersistentVolumeClaim template of each pod.
pub struct Storage {
    pub size: String,
    pub storage_class: Option<String>,
    pub access_modes: Vec<String>,
}

/// Everything the objects need, validated.
pub struct Settings {
    pub name: String,
    /// The chart name (`nameOverride` honoured), for the Job's own labels.
    pub chart_name: String,
    /// The cluster's DNS domain, for the pods' stable host names.
    pub cluster_domain: String,
    pub labels: BTreeMap<String, String>,
    pub selector: BTreeMap<String, String>,
    pub replicas: i64,
    /// The replica set's name, when there is more than one replica.
    pub replica_set: Option<String>,
    pub image: Image,
    pub root_user: String,
    pub secret: SecretSource,
    pub port: u16,
    pub service_type: String,
    pub node_port: Option<i64>,
    pub service_annotations: BTreeMap<String, String>,
    pub storage: Storage,
    /// Pull secrets, pod labels, scheduling and mongod's container knobs.
    pub pod: PodSettings,
}

impl Settings {
    /// Validates the values and resolves names, image and secret.
    pub fn read(input: &RenderInput, values: &Values) -> Result<Self, RenderError> {
        let mut all_labels = labels::standard(input, values)?;
        all_labels.insert(labels::COMPONENT.into(), "database".into());
        let replicas = values.int_in("replicas", 0..=MAX_REPLICAS, 1)?;
        let replica_set = read_replica_set(values, replicas)?;
        let default_tag = input.chart.app_version.as_deref().unwrap_or(DEFAULT_TAG);
        Ok(Settings {
            name: labels::fullname(input, values)?,
            chart_name: labels::chart_name(input, values)?,
            cluster_domain: read_cluster_domain(values)?,
            labels: all_labels,
            selector: labels::selector(input, values)?,
            secret: read_secret(input, replica_set.is_some())?,
            replicas,
            replica_set,
            image: image::resolve(values, "image", "mongo", default_tag)?,
            root_user: read_root_user(values)?,
            port: values.port_or("service.port", 27017)?,
            service_type: service::service_type(values)?,
            node_port: service::node_port(values)?,
            service_annotations: values.string_map("service.annotations")?,
            storage: read_storage(values)?,
            pod: PodSettings::read(values, &PodDefaults::default())?,
        })
    }
}

fn read_replica_set(values: &Values, replicas: i64) -> Result<Option<String>, RenderError> {
    if replicas <= 1 {
        return Ok(None);
    }
    match values.non_empty_str("replicaSetName")? {
        Some(name) => Ok(Some(name)),
        None => Err(invalid(
            "replicaSetName",
            format!("must be set when replicas is {replicas} (more than one)"),
        )),
    }
}

fn read_root_user(values: &Values) -> Result<String, RenderError> {
    match values.non_empty_str("auth.rootUser")? {
        Some(user) => Ok(user),
        None if values.get("auth.rootUser").is_some() => {
            Err(invalid("auth.rootUser", "must not be empty"))
        }
        None => Ok("root".into()),
    }
}

fn read_secret(input: &RenderInput, replica_set: bool) -> Result<SecretSource, RenderError> {
    let Some(found) = secret(input, SECRET_ID) else {
        return Ok(SecretSource {
            name: FALLBACK_SECRET.into(),
            fallback: true,
        });
    };
    let mut needed = vec![PASSWORD_KEY];
    if replica_set {
        needed.push(REPLICA_KEY);
    }
    for key in needed {
        if !found.keys.iter().any(|k| k == key) {
            return Err(RenderError::InvalidValues(format!(
                "secret '{SECRET_ID}' (Secret '{}') has no key '{key}': declare it under \
                 secrets.items.{SECRET_ID}.keys",
                found.secret_name
            )));
        }
    }
    Ok(SecretSource {
        name: found.secret_name.clone(),
        fallback: false,
    })
}

fn read_storage(values: &Values) -> Result<Storage, RenderError> {
    let size = values.scalar_or("storage.size", "8Gi")?;
    if !is_quantity(&size) {
        return Err(invalid(
            "storage.size",
            format!("\"{size}\" is not a Kubernetes quantity such as 10Gi"),
        ));
    }
    let mut access_modes = values.strings("storage.accessModes")?;
    if access_modes.is_empty() {
        access_modes.push("ReadWriteOnce".into());
    }
    Ok(Storage {
        size,
        storage_class: values.non_empty_str("storage.storageClass")?,
        access_modes,
    })
}

/// A Kubernetes resource quantity: a decimal number and an optional
/// binary (`Ki`..`Ei`), decimal (`k`..`E`) or exponent (`e3`) suffix.
fn is_quantity(text: &str) -> bool {
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let digits = number.replace('.', "");
    let valid_number = !digits.is_empty() && number.matches('.').count() <= 1;
    let valid_suffix = matches!(
        suffix,
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "m" | "k" | "M" | "G" | "T" | "P" | "E"
    ) || suffix
        .strip_prefix(['e', 'E'])
        .is_some_and(|exp| exp.parse::<i32>().is_ok());
    valid_number && valid_suffix
}

fn read_cluster_domain(values: &Values) -> Result<String, RenderError> {
    let domain = values.str_or("clusterDomain", "cluster.local")?;
    let valid = !domain.is_empty()
        && domain.split('.').all(|part| {
            !part.is_empty()
                && part.len() <= 63
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        });
    if valid {
        Ok(domain)
    } else {
        Err(invalid(
            "clusterDomain",
            format!("\"{domain}\" is not a DNS domain such as cluster.local"),
        ))
    }
}
