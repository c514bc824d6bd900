//! The plan: every secret's name, values, object and checksum, decided once before the
//! components run, then queried per subchart.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use wasmchart_values::chartfs::{self, ChartDir};

use crate::derive::{self, ValueAddress};
use crate::error::{Error, MissingKey};
use crate::generations::{Generations, fs_error};
use crate::kubeseal::SealingCert;
use crate::material::{RootKey, SecretValue, to_hex};
use crate::spec::{self, CertsSpec, ItemSpec, KeySpec, SecretsSpec, Strategy};
use crate::strategy::{self, Target};
use crate::{Context, HostObject, certs, rbac, workloads};

/// What a component is told about a secret it uses: where it is, never what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRef {
    /// Secret id under `secrets.items`.
    pub id: String,
    /// Name of the Kubernetes Secret, for `secretKeyRef.name`.
    pub secret_name: String,
    /// Keys the Secret holds, sorted.
    pub keys: Vec<String>,
}

/// What a component is told about a certificate it uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateRef {
    /// Certificate name under `certificates.certs[].name`.
    pub id: String,
    /// The TLS Secret cert-manager fills (`tls.crt`, `tls.key`, `ca.crt`).
    pub secret_name: String,
    /// The certificate's DNS names.
    pub dns_names: Vec<String>,
}

/// A secret whose values should be written to the external store (strategy `external`): the
/// store entry and its properties. See [`Plan::external_payloads`].
#[derive(Debug, Clone)]
pub struct ExternalPayload {
    /// Secret id under `secrets.items`.
    pub id: String,
    /// The store entry, `remoteRef.key`.
    pub remote_key: String,
    /// Property name (the Secret key) and value, sorted by property.
    pub properties: Vec<(String, SecretValue)>,
    /// Optional keys with no value: left out of the payload, although the ExternalSecret
    /// still reads them, so the store must get them some other way.
    pub missing_optional: Vec<String>,
}

/// Annotation on every host-made Secret, SealedSecret and ExternalSecret naming the chart and
/// environment its values were derived for (`imprun/prod`). Derivation takes both as input, so
/// this makes a render for the wrong environment visible in a diff; it reveals nothing secret.
pub const DERIVED_FOR_ANNOTATION: &str = "wasmchart.dev/derived-for";

/// The release label every host object carries, like the objects components make.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";

/// The derivation identity of a render, `<chart>/<env>`: what [`DERIVED_FOR_ANNOTATION`] and
/// `render -v` show.
pub fn derived_for(ctx: &Context) -> String {
    format!("{}/{}", ctx.chart, ctx.env)
}

/// One declared secret, fully decided.
#[derive(Clone)]
struct Planned {
    id: String,
    name: String,
    strategy: Strategy,
    keys: Vec<String>,
    /// Resolved values; for `external` only those that could be resolved without error.
    values: Vec<(String, SecretValue)>,
    /// `external` only.
    remote_key: Option<String>,
    /// Keys of `external` secrets that are generated but could not be (no root key).
    unresolved_generated: Vec<String>,
    /// Required keys of `external` secrets without a value: only an export needs them.
    missing_required: Vec<MissingKey>,
    /// Optional keys of `external` secrets without a value.
    missing_optional: Vec<String>,
    /// Rotation generation in this environment.
    generation: u64,
    object: Value,
    checksum: String,
}

/// Names, keys and checksum only: `object` and `values` may hold secret material.
impl std::fmt::Debug for Planned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planned")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("strategy", &self.strategy)
            .field("keys", &self.keys)
            .field("remote_key", &self.remote_key)
            .field("checksum", &self.checksum)
            .finish_non_exhaustive()
    }
}

/// Everything the host services decided for one render. Holds secret values, so it is kept
/// inside the host and never handed to a component.
#[derive(Debug, Clone)]
pub struct Plan {
    release: String,
    namespace: String,
    rbac_create: bool,
    secrets: Vec<Planned>,
    certs: CertsSpec,
}

/// Builds the plan from the umbrella's computed `.Values`. `env_var` reads environment
/// variables named by `keys.<KEY>.env` (a closure, so tests need no process environment).
pub fn plan(
    umbrella_values: &Value,
    ctx: &Context,
    env_var: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, Error> {
    let secrets_spec = spec::parse_secrets(umbrella_values)?;
    let certs = spec::parse_certs(umbrella_values)?;
    let generations = if secrets_spec.items.is_empty() {
        Generations::default()
    } else {
        Generations::load(&ctx.chart_dir)?
    };
    let cert = sealing_cert(&secrets_spec, ctx)?;
    let planner = Planner {
        ctx,
        spec: &secrets_spec,
        generations: &generations,
        cert: cert.as_ref(),
        env_var,
        missing: std::cell::RefCell::new(Vec::new()),
    };
    let mut secrets = Vec::new();
    let mut names = BTreeMap::new();
    let identity = derived_for(ctx);
    for item in &secrets_spec.items {
        let mut planned = planner.plan_item(item)?;
        annotate(&mut planned.object, DERIVED_FOR_ANNOTATION, &identity);
        if let Some(other) = names.insert(planned.name.clone(), planned.id.clone()) {
            return Err(Error::values(
                format!("secrets.items.{}.name", planned.id),
                format!(
                    "Secret name \"{}\" is also used by secrets.items.{other}",
                    planned.name
                ),
            ));
        }
        secrets.push(planned);
    }
    let missing = planner.missing.take();
    if !missing.is_empty() {
        return Err(Error::MissingRequired { missing });
    }
    Ok(Plan {
        release: ctx.release.clone(),
        namespace: ctx.namespace.clone(),
        rbac_create: secrets_spec.rbac_create,
        secrets,
        certs,
    })
}

fn sealing_cert(spec: &SecretsSpec, ctx: &Context) -> Result<Option<SealingCert>, Error> {
    let sealed = spec
        .items
        .iter()
        .find(|i| i.strategy.unwrap_or(spec.strategy) == Strategy::Sealed);
    let Some(item) = sealed else {
        return Ok(None);
    };
    if let Some(pem) = &ctx.seal_cert_pem {
        return SealingCert::from_pem(pem, "--seal-cert").map(Some);
    }
    let Some(file) = &spec.cert_file else {
        return Err(Error::NoSealCert {
            id: item.id.clone(),
        });
    };
    let Ok(rel) = chartfs::relative_path(file) else {
        return Err(Error::values(
            "secrets.sealed.certFile",
            format!("\"{file}\" must be a relative path inside the chart directory"),
        ));
    };
    let chart = ChartDir::open(&ctx.chart_dir).map_err(fs_error)?;
    let pem = chart
        .read_to_string(&rel, &chartfs::CERTIFICATE)
        .map_err(fs_error)?;
    let full = chart.display(&rel);
    SealingCert::from_pem(&pem, &format!("secrets.sealed.certFile {}", full.display())).map(Some)
}

struct Planner<'a> {
    ctx: &'a Context,
    spec: &'a SecretsSpec,
    generations: &'a Generations,
    cert: Option<&'a SealingCert>,
    env_var: &'a dyn Fn(&str) -> Option<String>,
    /// Required keys without a value, over every in-cluster secret: reported together.
    missing: std::cell::RefCell<Vec<MissingKey>>,
}

/// Sets one annotation on an object's metadata, creating the map if needed.
fn annotate(object: &mut Value, key: &str, value: &str) {
    let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(map) = annotations.as_object_mut() {
        map.insert(key.to_string(), Value::String(value.to_string()));
    }
}

impl Planner<'_> {
    fn plan_item(&self, item: &ItemSpec) -> Result<Planned, Error> {
        let strategy = item.strategy.unwrap_or(self.spec.strategy);
        let name = match &item.name {
            Some(name) => name.clone(),
            None => {
                let name = format!("{}-{}", self.ctx.release, item.id);
                spec::check_dns_subdomain(&format!("secrets.items.{}.name", item.id), &name)?;
                name
            }
        };
        let target = Target {
            name: &name,
            namespace: &self.ctx.namespace,
            secret_type: &item.secret_type,
        };
        match strategy {
            Strategy::External => self.plan_external(item, &target),
            Strategy::Secret | Strategy::Sealed => self.plan_in_cluster(item, &target, strategy),
        }
    }

    fn plan_in_cluster(
        &self,
        item: &ItemSpec,
        target: &Target<'_>,
        strategy: Strategy,
    ) -> Result<Planned, Error> {
        let root = self.root_key(|| {
            format!(
                "the rollout checksum of secret \"{}\" (strategy {})",
                item.id,
                strategy.as_str()
            )
        })?;
        let mut values = Vec::new();
        for key in &item.keys {
            if let Some(v) = self.resolve(item, key)? {
                values.push((key.name.clone(), v));
            } else if key.required {
                self.missing.borrow_mut().push(missing(item, key));
            }
        }
        let object = match strategy {
            Strategy::Sealed => {
                let seal_key = derive::subkey(root, &[b"seal", self.ctx.chart.as_bytes()]);
                let cert = self.cert.ok_or_else(|| Error::NoSealCert {
                    id: item.id.clone(),
                })?;
                strategy::sealed_secret(
                    target,
                    item.scope.unwrap_or(self.spec.scope),
                    cert,
                    seal_key.as_ref(),
                    &values,
                )?
            }
            _ => strategy::plain_secret(target, &values),
        };
        let checksum = content_checksum(root, &self.ctx.chart, target, &values);
        Ok(Planned {
            id: item.id.clone(),
            name: target.name.to_string(),
            strategy,
            keys: values.iter().map(|(k, _)| k.clone()).collect(),
            values,
            remote_key: None,
            unresolved_generated: Vec::new(),
            missing_required: Vec::new(),
            missing_optional: Vec::new(),
            generation: self.generations.get(&self.ctx.env, &item.id),
            object,
            checksum,
        })
    }

    fn plan_external(&self, item: &ItemSpec, target: &Target<'_>) -> Result<Planned, Error> {
        let store_name = self.spec.external.store_name.as_deref().ok_or_else(|| {
            Error::values(
                "secrets.external.secretStoreRef.name",
                format!(
                    "secret \"{}\" uses strategy external, which needs the name of a SecretStore or ClusterSecretStore",
                    item.id
                ),
            )
        })?;
        let remote_key = remote_key(self.spec, item, self.ctx);
        let keys: Vec<String> = item.keys.iter().map(|k| k.name.clone()).collect();
        let object =
            strategy::external_secret(target, &self.spec.external, store_name, &remote_key, &keys);
        // Values live in the store; resolve what can be resolved for `external_payloads`.
        let mut values = Vec::new();
        let mut unresolved_generated = Vec::new();
        let (mut missing_required, mut missing_optional) = (Vec::new(), Vec::new());
        for key in &item.keys {
            match self.resolve(item, key) {
                Ok(Some(v)) => values.push((key.name.clone(), v)),
                Ok(None) if key.required => missing_required.push(missing(item, key)),
                Ok(None) => missing_optional.push(key.name.clone()),
                Err(_) => unresolved_generated.push(key.name.clone()),
            }
        }
        let generation = self.generations.get(&self.ctx.env, &item.id);
        let checksum = spec_checksum(&object, generation);
        Ok(Planned {
            id: item.id.clone(),
            name: target.name.to_string(),
            strategy: Strategy::External,
            keys,
            values,
            remote_key: Some(remote_key),
            unresolved_generated,
            missing_required,
            missing_optional,
            generation,
            object,
            checksum,
        })
    }

    /// A key's value: the supplied `value`, else its environment variable, else generated.
    fn resolve(&self, item: &ItemSpec, key: &KeySpec) -> Result<Option<SecretValue>, Error> {
        if let Some(v) = &key.value {
            return Ok(Some(v.clone()));
        }
        if let Some(v) = key
            .env
            .as_deref()
            .and_then(|name| (self.env_var)(name))
            .filter(|v| !v.is_empty())
        {
            return Ok(Some(SecretValue::new(v.into_bytes())));
        }
        let Some(generate) = key.generate else {
            return Ok(None);
        };
        let root =
            self.root_key(|| format!("secret \"{}\" key \"{}\" (generated)", item.id, key.name))?;
        let at = ValueAddress {
            chart: &self.ctx.chart,
            env: &self.ctx.env,
            id: &item.id,
            key: &key.name,
            generation: self.generations.get(&self.ctx.env, &item.id),
        };
        Ok(Some(derive::generate(root, at, generate)))
    }

    fn root_key(&self, what: impl FnOnce() -> String) -> Result<&RootKey, Error> {
        self.ctx
            .root_key
            .as_ref()
            .ok_or_else(|| Error::NoRootKey { what: what() })
    }
}

/// The store entry an `external` secret is read from: `remoteKey`, else
/// `<keyPrefix>/<id>` with the prefix defaulting to `<chart>/<env>`.
pub(crate) fn remote_key(spec: &SecretsSpec, item: &ItemSpec, ctx: &Context) -> String {
    item.remote_key.clone().unwrap_or_else(|| {
        let prefix = spec
            .external
            .key_prefix
            .clone()
            .unwrap_or_else(|| format!("{}/{}", ctx.chart, ctx.env));
        format!("{}/{}", prefix.trim_end_matches('/'), item.id)
    })
}

fn missing(item: &ItemSpec, key: &KeySpec) -> MissingKey {
    let flag_path = format!(
        "secrets.items.{}.keys.{}.value",
        escape_set_segment(&item.id),
        escape_set_segment(&key.name)
    );
    MissingKey {
        id: item.id.clone(),
        key: key.name.clone(),
        flag_path,
        env: key.env.clone(),
    }
}

/// Escapes a key for Helm's `--set` path grammar, where `.`, `,`, `=` and `[` are special.
fn escape_set_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '.' | ',' | '=' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Keyed hash of a Secret's content: changes exactly when name, type or any key or value
/// changes, and reveals nothing without the root key.
fn content_checksum(
    root: &RootKey,
    chart: &str,
    target: &Target<'_>,
    values: &[(String, SecretValue)],
) -> String {
    let key = derive::subkey(root, &[b"checksum", chart.as_bytes()]);
    let mut parts: Vec<&[u8]> = vec![target.name.as_bytes(), target.secret_type.as_bytes()];
    for (k, v) in values {
        parts.push(k.as_bytes());
        parts.push(v.expose());
    }
    to_hex(&derive::keyed_hash(key.as_ref(), &parts))
}

/// Hash of an ExternalSecret's (non-secret) spec and its rotation generation.
fn spec_checksum(object: &Value, generation: u64) -> String {
    let mut spec = String::new();
    canonical_json(&object["spec"], &mut spec);
    let bytes = derive::length_prefixed(&[spec.as_bytes(), generation.to_string().as_bytes()]);
    to_hex(&Sha256::digest(bytes))
}

/// JSON text with object keys sorted, whatever serde_json's map order is (its
/// `preserve_order` feature may be switched on by any crate in the build).
fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

impl Plan {
    /// The references for the secrets a subchart lists in its `usesSecrets` value.
    pub fn secret_refs(
        &self,
        subchart: &str,
        subchart_values: &Value,
    ) -> Result<Vec<SecretRef>, Error> {
        let ids = consumer_ids(subchart, subchart_values, "usesSecrets")?;
        ids.iter()
            .map(|id| {
                let s = self.secrets.iter().find(|s| &s.id == id).ok_or_else(|| {
                    Error::UnknownSecret {
                        subchart: subchart.into(),
                        id: id.clone(),
                        known: known(self.secrets.iter().map(|s| s.id.as_str())),
                    }
                })?;
                Ok(SecretRef {
                    id: s.id.clone(),
                    secret_name: s.name.clone(),
                    keys: s.keys.clone(),
                })
            })
            .collect()
    }

    /// The references for the certificates a subchart lists in its `usesCertificates` value.
    /// Empty when certificates are disabled (names are still checked when certs are listed).
    pub fn certificate_refs(
        &self,
        subchart: &str,
        subchart_values: &Value,
    ) -> Result<Vec<CertificateRef>, Error> {
        let ids = consumer_ids(subchart, subchart_values, "usesCertificates")?;
        let mut refs = Vec::new();
        for id in ids {
            let Some(cert) = self.certs.certs.iter().find(|c| c.name == id) else {
                if !self.certs.enabled && self.certs.certs.is_empty() {
                    continue;
                }
                return Err(Error::UnknownCertificate {
                    subchart: subchart.into(),
                    id,
                    known: known(self.certs.certs.iter().map(|c| c.name.as_str())),
                });
            };
            if self.certs.enabled {
                refs.push(CertificateRef {
                    id: cert.name.clone(),
                    secret_name: cert.secret_name.clone(),
                    dns_names: cert.dns_names.clone(),
                });
            }
        }
        Ok(refs)
    }

    /// The Secrets, SealedSecrets or ExternalSecrets (sorted by secret id), then the
    /// cert-manager objects.
    pub fn objects(&self) -> Vec<HostObject> {
        let secrets = self.secrets.iter().map(|s| HostObject {
            source: format!("secrets/{}.yaml", s.id),
            object: s.object.clone(),
        });
        secrets
            .chain(certs::objects(&self.certs, &self.release, &self.namespace))
            .map(|o| self.with_instance(o))
            .collect()
    }

    /// ServiceAccount, Role and RoleBinding for a subchart that consumes `refs`; empty when it
    /// consumes none or `secrets.rbac.create` is false.
    pub fn rbac_objects(&self, subchart: &str, refs: &[SecretRef]) -> Vec<HostObject> {
        self.rbac_objects_for_workloads(subchart, refs, &[])
    }

    /// Like [`Plan::rbac_objects`], and also binds the Role to service accounts the
    /// component's own pod templates name (except `default`, which every pod shares). Call it
    /// after [`Plan::apply_to_workloads`]: when every pod template names its own account, the
    /// host's account would go unused and is left out.
    pub fn rbac_objects_for_workloads(
        &self,
        subchart: &str,
        refs: &[SecretRef],
        objects: &[Value],
    ) -> Vec<HostObject> {
        let Some(names) = self.rbac_names(subchart, refs) else {
            return Vec::new();
        };
        let secret_names: Vec<String> = refs
            .iter()
            .map(|r| r.secret_name.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let accounts: BTreeSet<&str> = objects
            .iter()
            .filter_map(workloads::pod_template)
            .filter_map(workloads::own_service_account)
            .collect();
        let extra: Vec<String> = accounts
            .iter()
            .filter(|sa| **sa != "default" && **sa != names.service_account)
            .map(|sa| sa.to_string())
            .collect();
        // The host's own account only when some pod runs as it (or when there are no
        // workloads to look at): an account nobody uses is clutter, not least privilege.
        let with_account = objects.is_empty()
            || accounts.contains(names.service_account.as_str())
            || extra.is_empty();
        rbac::objects(&names, &self.namespace, &secret_names, &extra, with_account)
            .into_iter()
            .map(|object| {
                self.with_instance(HostObject {
                    source: format!("rbac/{subchart}.yaml"),
                    object,
                })
            })
            .collect()
    }

    /// Labels a host object `app.kubernetes.io/instance: <release>`, as components label
    /// theirs, so `kubectl apply --prune -l app.kubernetes.io/instance=<release>` and
    /// selectors by release find the host's objects too.
    fn with_instance(&self, mut host: HostObject) -> HostObject {
        if let Some(metadata) = host
            .object
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
        {
            let labels = metadata
                .entry("labels")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(labels) = labels.as_object_mut() {
                labels.insert(INSTANCE_LABEL.into(), Value::String(self.release.clone()));
            }
        }
        host
    }

    /// The ServiceAccount the host creates for a subchart, if it creates one.
    pub fn service_account_name(&self, subchart: &str, refs: &[SecretRef]) -> Option<String> {
        self.rbac_names(subchart, refs).map(|n| n.service_account)
    }

    fn rbac_names(&self, subchart: &str, refs: &[SecretRef]) -> Option<rbac::RbacNames> {
        (self.rbac_create && !refs.is_empty())
            .then(|| rbac::RbacNames::new(&self.release, subchart))
    }

    /// Edits a component's manifests: pod templates without a service account get the
    /// host-created one (when RBAC is on and the component consumes secrets), and every pod
    /// template referencing a host-managed Secret gets `checksum/secret-<name>`.
    pub fn apply_to_workloads(&self, subchart: &str, refs: &[SecretRef], objects: &mut [Value]) {
        let account = self.service_account_name(subchart, refs);
        for object in objects.iter_mut() {
            let Some(template) = workloads::pod_template_mut(object) else {
                continue;
            };
            if let Some(account) = &account {
                workloads::set_service_account(template, account);
            }
            for name in workloads::referenced_secrets(template) {
                if let Some(s) = self.secrets.iter().find(|s| s.name == name) {
                    workloads::annotate(
                        template,
                        &workloads::checksum_annotation(&name),
                        &s.checksum,
                    );
                }
            }
        }
    }

    /// The rollout checksum of one secret (by id), as put on pod templates.
    pub fn checksum(&self, id: &str) -> Option<&str> {
        self.secrets
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.checksum.as_str())
    }

    /// For strategy `external`: what to write into the store so the ExternalSecrets resolve,
    /// with generated keys derived exactly as for the other strategies (so a rotation is a
    /// generation bump plus re-publishing). Keys without a supplied or generated value are
    /// left out. Errors if a generated key needs the root key and there is none.
    pub fn external_payloads(&self) -> Result<Vec<ExternalPayload>, Error> {
        let mut out = Vec::new();
        let mut missing = Vec::new();
        for s in self
            .secrets
            .iter()
            .filter(|s| s.strategy == Strategy::External)
        {
            if let Some(key) = s.unresolved_generated.first() {
                return Err(Error::NoRootKey {
                    what: format!("secret \"{}\" key \"{key}\" (generated)", s.id),
                });
            }
            missing.extend(s.missing_required.iter().cloned());
            out.push(ExternalPayload {
                id: s.id.clone(),
                remote_key: s.remote_key.clone().unwrap_or_default(),
                properties: s.values.clone(),
                missing_optional: s.missing_optional.clone(),
            });
        }
        if !missing.is_empty() {
            return Err(Error::MissingRequired { missing });
        }
        Ok(out)
    }

    /// Whether any declared secret uses `strategy` (after per-secret overrides).
    pub fn uses(&self, strategy: Strategy) -> bool {
        self.secrets.iter().any(|s| s.strategy == strategy)
    }

    /// The rotation generation of one secret (by id) in the planned environment.
    pub fn generation(&self, id: &str) -> Option<u64> {
        self.secrets
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.generation)
    }

    /// Ids of the declared secrets, sorted.
    pub fn secret_ids(&self) -> Vec<&str> {
        self.secrets.iter().map(|s| s.id.as_str()).collect()
    }
}

pub(crate) fn consumer_ids(
    subchart: &str,
    values: &Value,
    key: &str,
) -> Result<Vec<String>, Error> {
    let err = |message: String| Error::Consumer {
        subchart: subchart.into(),
        key: key.into(),
        message,
    };
    let list = match values.get(key) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(other) => {
            return Err(err(format!(
                "expected a list of names, found {}",
                spec::kind(other)
            )));
        }
    };
    let mut ids: Vec<String> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let id = item.as_str().ok_or_else(|| {
            err(format!(
                "item {i}: expected a name, found {}",
                spec::kind(item)
            ))
        })?;
        if !ids.iter().any(|x| x == id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

fn known<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<&str> = names.collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}
