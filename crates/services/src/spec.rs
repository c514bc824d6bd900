//! The `secrets:` and `certificates:` sections of the umbrella values, parsed into types.
//!
//! Parsing is by hand rather than with serde so that each error names its exact key path
//! (`secrets.items.jwt.keys.JWT_SECRET.generate.length`) and never echoes a supplied value.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::derive::{Encoding, GenerateSpec};
use crate::error::Error;
use crate::material::SecretValue;

/// The longest value that may be generated (characters or bytes).
pub const MAX_GENERATED_LENGTH: usize = 4096;

/// How a secret reaches the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strategy {
    /// A plain `v1` Secret in the output.
    Secret,
    /// A kubeseal-compatible SealedSecret.
    Sealed,
    /// An External Secrets Operator ExternalSecret.
    External,
}

impl Strategy {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "secret" => Some(Strategy::Secret),
            "sealed" => Some(Strategy::Sealed),
            "external" => Some(Strategy::External),
            _ => None,
        }
    }

    /// The values spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Secret => "secret",
            Strategy::Sealed => "sealed",
            Strategy::External => "external",
        }
    }
}

/// Sealed Secrets scope: what the ciphertext is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Bound to namespace and name.
    Strict,
    /// Bound to the namespace; may be renamed.
    NamespaceWide,
    /// Not bound; may be renamed and moved.
    ClusterWide,
}

impl Scope {
    /// Parses the values spelling (`strict`, `namespace-wide`, `cluster-wide`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "strict" => Some(Scope::Strict),
            "namespace-wide" => Some(Scope::NamespaceWide),
            "cluster-wide" => Some(Scope::ClusterWide),
            _ => None,
        }
    }
}

/// The whole `secrets:` section.
#[derive(Debug, Clone)]
pub struct SecretsSpec {
    pub strategy: Strategy,
    /// `secrets.sealed.certFile`: controller certificate path relative to the chart directory.
    pub cert_file: Option<String>,
    pub rbac_create: bool,
    pub scope: Scope,
    pub external: ExternalSpec,
    /// Sorted by id.
    pub items: Vec<ItemSpec>,
}

/// `secrets.external`.
#[derive(Debug, Clone)]
pub struct ExternalSpec {
    pub store_kind: String,
    pub store_name: Option<String>,
    pub refresh_interval: String,
    pub key_prefix: Option<String>,
}

/// One `secrets.items.<id>`.
#[derive(Debug, Clone)]
pub struct ItemSpec {
    pub id: String,
    pub name: Option<String>,
    pub strategy: Option<Strategy>,
    pub scope: Option<Scope>,
    pub secret_type: String,
    pub remote_key: Option<String>,
    /// Sorted by key name.
    pub keys: Vec<KeySpec>,
}

/// One `secrets.items.<id>.keys.<KEY>`.
#[derive(Debug, Clone)]
pub struct KeySpec {
    pub name: String,
    pub value: Option<SecretValue>,
    pub env: Option<String>,
    pub generate: Option<GenerateSpec>,
    pub required: bool,
}

/// The `certificates:` section.
#[derive(Debug, Clone, Default)]
pub struct CertsSpec {
    pub enabled: bool,
    pub issuer: Option<String>,
    pub issuer_kind: String,
    pub ca: Option<CaSpec>,
    pub certs: Vec<CertSpec>,
}

/// `certificates.ca` when enabled.
#[derive(Debug, Clone)]
pub struct CaSpec {
    pub common_name: Option<String>,
    pub duration: Option<String>,
}

/// One `certificates.certs[]` entry.
#[derive(Debug, Clone)]
pub struct CertSpec {
    pub name: String,
    pub secret_name: String,
    pub dns_names: Vec<String>,
    pub issuer: Option<String>,
    pub issuer_kind: Option<String>,
    pub common_name: Option<String>,
    pub duration: Option<String>,
    pub renew_before: Option<String>,
}

/// A JSON object and its key path, for path-naming accessors.
struct Node<'a> {
    path: String,
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Node<'a> {
    fn root(value: &'a Value, key: &str) -> Result<Self, Error> {
        Node {
            path: String::new(),
            map: value.as_object(),
        }
        .child(key)
    }

    fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    /// A nested object; absent or null gives an empty node, any other type is an error.
    fn child(&self, key: &str) -> Result<Node<'a>, Error> {
        let path = self.at(key);
        match self.get(key) {
            None => Ok(Node { path, map: None }),
            Some(Value::Object(map)) => Ok(Node {
                path,
                map: Some(map),
            }),
            Some(other) => Err(Error::values(
                path,
                format!("expected a map, found {}", kind(other)),
            )),
        }
    }

    fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Value)> {
        self.map.into_iter().flat_map(|m| m.iter())
    }

    fn string(&self, key: &str) -> Result<Option<String>, Error> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Error::values(
                self.at(key),
                format!("expected a string, found {}", kind(other)),
            )),
        }
    }

    fn boolean(&self, key: &str, default: bool) -> Result<bool, Error> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
            Some(other) => Err(Error::values(
                self.at(key),
                format!("expected true or false, found {}", kind(other)),
            )),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, Error> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(Error::values(
                        format!("{}[{i}]", self.at(key)),
                        format!("expected a string, found {}", kind(other)),
                    )),
                })
                .collect(),
            Some(other) => Err(Error::values(
                self.at(key),
                format!("expected a list, found {}", kind(other)),
            )),
        }
    }
}

/// A JSON type name for messages (never the value itself).
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// Parses `secrets:` from the umbrella values (absent means no secrets).
pub fn parse_secrets(values: &Value) -> Result<SecretsSpec, Error> {
    let node = Node::root(values, "secrets")?;
    let strategy = parse_strategy(&node, "strategy")?.unwrap_or(Strategy::Secret);
    let rbac_create = node.child("rbac")?.boolean("create", true)?;
    let sealed = node.child("sealed")?;
    let scope = parse_scope(&sealed, "scope")?.unwrap_or(Scope::Strict);
    let cert_file = sealed.string("certFile")?.filter(|f| !f.is_empty());
    let external = parse_external(&node.child("external")?)?;
    let items_node = node.child("items")?;
    let mut items = Vec::new();
    // A null item is one an environment deleted (`jwt: null`), as Helm's coalescing does.
    for (id, _) in items_node.entries().filter(|(_, v)| !v.is_null()) {
        items.push(parse_item(&items_node, id)?);
    }
    items.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(SecretsSpec {
        strategy,
        cert_file,
        rbac_create,
        scope,
        external,
        items,
    })
}

fn parse_strategy(node: &Node<'_>, key: &str) -> Result<Option<Strategy>, Error> {
    node.string(key)?
        .map(|s| {
            Strategy::parse(&s).ok_or_else(|| {
                Error::values(
                    node.at(key),
                    format!("unknown strategy \"{s}\", expected secret, sealed or external"),
                )
            })
        })
        .transpose()
}

fn parse_scope(node: &Node<'_>, key: &str) -> Result<Option<Scope>, Error> {
    node.string(key)?
        .map(|s| {
            Scope::parse(&s).ok_or_else(|| {
                Error::values(
                    node.at(key),
                    format!(
                        "unknown scope \"{s}\", expected strict, namespace-wide or cluster-wide"
                    ),
                )
            })
        })
        .transpose()
}

fn parse_external(node: &Node<'_>) -> Result<ExternalSpec, Error> {
    let store = node.child("secretStoreRef")?;
    Ok(ExternalSpec {
        store_kind: store
            .string("kind")?
            .unwrap_or_else(|| "SecretStore".into()),
        store_name: store.string("name")?,
        refresh_interval: node
            .string("refreshInterval")?
            .unwrap_or_else(|| "1h".into()),
        key_prefix: node.string("keyPrefix")?,
    })
}

fn parse_item(items: &Node<'_>, id: &str) -> Result<ItemSpec, Error> {
    let node = items.child(id)?;
    check_dns_label(&node.path, id, "secret id")?;
    let name = node.string("name")?;
    if let Some(name) = &name {
        check_dns_subdomain(&node.at("name"), name)?;
    }
    let keys_node = node.child("keys")?;
    let mut keys = Vec::new();
    for (key, _) in keys_node.entries().filter(|(_, v)| !v.is_null()) {
        keys.push(parse_key(&keys_node, key)?);
    }
    if keys.is_empty() {
        return Err(Error::values(
            node.at("keys"),
            "a secret needs at least one key",
        ));
    }
    keys.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ItemSpec {
        id: id.to_string(),
        name,
        strategy: parse_strategy(&node, "strategy")?,
        scope: parse_scope(&node, "scope")?,
        secret_type: node.string("type")?.unwrap_or_else(|| "Opaque".into()),
        remote_key: node.string("remoteKey")?,
        keys,
    })
}

fn parse_key(keys: &Node<'_>, key: &str) -> Result<KeySpec, Error> {
    let node = keys.child(key)?;
    let valid = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !valid {
        return Err(Error::values(
            node.path.clone(),
            format!("\"{key}\" is not a valid Secret key (letters, digits, '-', '_' and '.')"),
        ));
    }
    let generate = parse_generate(&node.child("generate")?)?;
    let value = supplied_value(&node)?;
    let env = node.string("env")?.filter(|e| !e.is_empty());
    if let Some(name) = &env {
        check_env_name(&node, name)?;
    }
    let required = node.boolean("required", generate.is_none())?;
    Ok(KeySpec {
        name: key.to_string(),
        value,
        env,
        generate,
        required,
    })
}

/// Variables whose names start with this are wasmchart's own (the root key, the
/// policy path): a chart naming one in `env:` could copy the root key into its
/// output, so they are never readable through values.
pub const RESERVED_ENV_PREFIX: &str = "WASMCHART_";

/// A key's `env:` must be a plain variable name, and not one of wasmchart's own.
fn check_env_name(node: &Node<'_>, name: &str) -> Result<(), Error> {
    let plain = name.bytes().next().is_some_and(|b| !b.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !plain {
        return Err(Error::values(
            node.at("env"),
            format!(
                "\"{name}\" is not an environment variable name (letters, digits and '_', not starting with a digit)"
            ),
        ));
    }
    if name.to_ascii_uppercase().starts_with(RESERVED_ENV_PREFIX) {
        return Err(Error::values(
            node.at("env"),
            format!(
                "\"{name}\" is reserved: variables starting with {RESERVED_ENV_PREFIX} hold wasmchart's own settings and keys, and are never read into a secret"
            ),
        ));
    }
    Ok(())
}

/// The supplied `value`: scalars are turned into their text, empty text counts as absent.
fn supplied_value(node: &Node<'_>) -> Result<Option<SecretValue>, Error> {
    let text = match node.get("value") {
        None => return Ok(None),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(other) => {
            return Err(Error::values(
                node.at("value"),
                format!("expected a string, found {}", kind(other)),
            ));
        }
    };
    Ok((!text.is_empty()).then(|| SecretValue::new(text.into_bytes())))
}

fn parse_generate(node: &Node<'_>) -> Result<Option<GenerateSpec>, Error> {
    if node.map.is_none() {
        return Ok(None);
    }
    let length = match node.get("length") {
        None => 32,
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1..=MAX_GENERATED_LENGTH).contains(n))
            .ok_or_else(|| {
                Error::values(
                    node.at("length"),
                    format!("expected a whole number from 1 to {MAX_GENERATED_LENGTH}"),
                )
            })?,
    };
    let name = match node.string("encoding")? {
        Some(name) => Some(name),
        None => node.string("alphabet")?,
    };
    let encoding = match name {
        None => Encoding::Alphanumeric,
        Some(name) => Encoding::parse(&name).ok_or_else(|| {
            Error::values(
                node.at("encoding"),
                format!("unknown encoding \"{name}\", expected alphanumeric, base64 or hex"),
            )
        })?,
    };
    Ok(Some(GenerateSpec { length, encoding }))
}

/// Parses `certificates:` from the umbrella values (absent means disabled).
pub fn parse_certs(values: &Value) -> Result<CertsSpec, Error> {
    let node = Node::root(values, "certificates")?;
    let enabled = node.boolean("enabled", false)?;
    let ca_node = node.child("ca")?;
    let ca = if ca_node.boolean("enabled", false)? {
        Some(CaSpec {
            common_name: ca_node.string("commonName")?,
            duration: ca_node.string("duration")?,
        })
    } else {
        None
    };
    let certs = parse_cert_list(&node)?;
    let issuer = node.string("issuer")?;
    if enabled && issuer.is_none() && ca.is_none() && certs.iter().any(|c| c.issuer.is_none()) {
        return Err(Error::values(
            node.at("issuer"),
            "certificates are enabled but no issuer is set (name a ClusterIssuer, or enable certificates.ca)",
        ));
    }
    Ok(CertsSpec {
        enabled,
        issuer,
        issuer_kind: node
            .string("issuerKind")?
            .unwrap_or_else(|| "ClusterIssuer".into()),
        ca,
        certs,
    })
}

fn parse_cert_list(node: &Node<'_>) -> Result<Vec<CertSpec>, Error> {
    let items = match node.get("certs") {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(Error::values(
                node.at("certs"),
                format!("expected a list, found {}", kind(other)),
            ));
        }
    };
    let mut seen = BTreeMap::new();
    let mut certs = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("{}[{i}]", node.at("certs"));
        let entry = Node {
            path: path.clone(),
            map: item.as_object(),
        };
        if entry.map.is_none() {
            return Err(Error::values(
                path,
                format!("expected a map, found {}", kind(item)),
            ));
        }
        let cert = parse_cert(&entry)?;
        if seen.insert(cert.name.clone(), i).is_some() {
            return Err(Error::values(
                entry.at("name"),
                format!("duplicate certificate name \"{}\"", cert.name),
            ));
        }
        certs.push(cert);
    }
    Ok(certs)
}

fn parse_cert(entry: &Node<'_>) -> Result<CertSpec, Error> {
    let need = |key: &str| -> Result<String, Error> {
        entry
            .string(key)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::values(entry.at(key), "is required"))
    };
    let name = need("name")?;
    check_dns_subdomain(&entry.at("name"), &name)?;
    let secret_name = need("secretName")?;
    check_dns_subdomain(&entry.at("secretName"), &secret_name)?;
    let dns_names = entry.strings("dnsNames")?;
    let common_name = entry.string("commonName")?;
    if dns_names.is_empty() && common_name.is_none() {
        return Err(Error::values(
            entry.at("dnsNames"),
            "a certificate needs at least one DNS name",
        ));
    }
    Ok(CertSpec {
        name,
        secret_name,
        dns_names,
        issuer: entry.string("issuer")?,
        issuer_kind: entry.string("issuerKind")?,
        common_name,
        duration: entry.string("duration")?,
        renew_before: entry.string("renewBefore")?,
    })
}

/// A DNS-1123 label: lower-case letters, digits and '-', 1-63 chars, alphanumeric ends.
pub(crate) fn check_dns_label(path: &str, s: &str, what: &str) -> Result<(), Error> {
    if is_dns_label(s) {
        Ok(())
    } else {
        Err(Error::values(
            path,
            format!(
                "{what} \"{s}\" must be lower-case letters, digits and '-', start and end with a letter or digit, at most 63 characters"
            ),
        ))
    }
}

fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// A DNS-1123 subdomain, the rule for Secret and Certificate names.
pub(crate) fn check_dns_subdomain(path: &str, s: &str) -> Result<(), Error> {
    if s.len() <= 253 && s.split('.').all(is_dns_label) {
        Ok(())
    } else {
        Err(Error::values(
            path,
            format!(
                "\"{s}\" is not a valid Kubernetes name (lower-case letters, digits, '-' and '.', at most 253 characters)"
            ),
        ))
    }
}
