//! `render --validate`: every rendered object checked offline against the
//! strict Kubernetes schemas of `--kube-version` and the schemas of the
//! custom resources wasmchart itself emits, so a component's malformed
//! object is caught before `kubectl apply` (Helm's `--validate` needs a
//! cluster; this needs nothing).
//!
//! The schemas ship inside the binary (`host/data/k8s-schemas.json.gz`,
//! made by `scripts/gen_k8s_schemas.py` from the kubernetes-validate
//! wheel). Error messages never quote a value: a rendered Secret's data
//! must not reach a terminal or a CI log.

use crate::post::Object;
use anyhow::{Context, Result};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::io::Read;

/// The compressed schemas: `{"crds": {KEY: schema}, "pool": [schema],
/// "versions": {"1.31": {"defs": {name: pool index}, "kinds": {KEY: name}}}}`,
/// with KEY `apiVersion/Kind`.
const SCHEMAS: &[u8] = include_bytes!("../data/k8s-schemas.json.gz");

/// Largest accepted size of the decompressed schemas; they are ours, this
/// only keeps a corrupted build from exhausting memory.
const MAX_SCHEMAS: u64 = 64 << 20;

/// The result of checking objects: objects whose kind has no shipped
/// schema are not judged, and said so.
#[derive(Debug, Default)]
pub struct Report {
    /// `apiVersion/Kind` of objects that could not be checked, once each.
    pub unchecked: Vec<String>,
}

/// Checks `objects` against the schemas of Kubernetes `kube_version`
/// (`v1.31.0` as `--kube-version` gives it; the newest shipped minor not
/// newer than it is used).
///
/// # Errors
///
/// Every failure of every object at once, each naming the object (kind,
/// namespace/name, source) and the field path; or a version older than
/// the oldest shipped schemas.
pub fn check(objects: &[Object], kube_version: &str) -> Result<Report> {
    let data = load()?;
    let (minor, version) = pick_version(&data, kube_version)?;
    let defs = defs_of(&data, version)?;
    let mut validators: HashMap<String, Option<jsonschema::Validator>> = HashMap::new();
    let mut failures = Vec::new();
    let mut report = Report::default();
    for object in objects {
        let key = kind_key(&object.value);
        if !validators.contains_key(&key) {
            let validator = validator_for(&data, version, &defs, &key)?;
            validators.insert(key.clone(), validator);
        }
        let Some(validator) = validators.get(&key).and_then(Option::as_ref) else {
            if !report.unchecked.contains(&key) {
                report.unchecked.push(key);
            }
            continue;
        };
        for err in validator.iter_errors(&object.value) {
            let path = dotted(err.instance_path().as_str());
            failures.push(format!(
                "{}: {path}: {}",
                describe(object),
                crate::text::escape(&err.masked().to_string())
            ));
        }
    }
    anyhow::ensure!(
        failures.is_empty(),
        "--validate: {} problem(s) against the Kubernetes {minor} schemas:\n{}",
        failures.len(),
        failures.join("\n")
    );
    Ok(report)
}

fn load() -> Result<Value> {
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(SCHEMAS)
        .take(MAX_SCHEMAS)
        .read_to_end(&mut text)
        .context("the built-in Kubernetes schemas are corrupt")?;
    serde_json::from_slice(&text).context("the built-in Kubernetes schemas are corrupt")
}

/// The newest shipped `1.MINOR` not newer than `kube_version`, and its entry.
fn pick_version<'a>(data: &'a Value, kube_version: &str) -> Result<(String, &'a Value)> {
    let minor_of = |v: &str| -> Option<u32> {
        let body = v.strip_prefix('v').unwrap_or(v);
        body.split('.')
            .nth(1)?
            .split(['-', '+'])
            .next()?
            .parse()
            .ok()
    };
    let wanted = minor_of(kube_version)
        .with_context(|| format!("--kube-version {kube_version} has no minor version"))?;
    let versions = data["versions"].as_object().context("no schema versions")?;
    let mut shipped: Vec<(u32, &String)> = versions
        .keys()
        .filter_map(|k| Some((minor_of(k)?, k)))
        .collect();
    shipped.sort();
    let oldest = shipped.first().map_or(0, |(m, _)| *m);
    let newest = shipped.last().map_or(0, |(m, _)| *m);
    let (_, name) = shipped
        .iter()
        .rev()
        .find(|(m, _)| *m <= wanted)
        .with_context(|| {
            format!(
                "--validate has schemas for Kubernetes 1.{oldest} to 1.{newest}; \
                 --kube-version {kube_version} is older"
            )
        })?;
    Ok(((*name).clone(), &versions[name.as_str()]))
}

/// The version's definitions, resolved from the shared pool.
fn defs_of(data: &Value, version: &Value) -> Result<Map<String, Value>> {
    let pool = data["pool"].as_array().context("no schema pool")?;
    let names = version["defs"].as_object().context("no definitions")?;
    names
        .iter()
        .map(|(name, index)| {
            let body = index
                .as_u64()
                .and_then(|i| pool.get(usize::try_from(i).ok()?))
                .with_context(|| format!("definition {name} is missing"))?;
            Ok((name.clone(), body.clone()))
        })
        .collect()
}

/// The validator for `key`, or `None` when no schema of that kind ships.
fn validator_for(
    data: &Value,
    version: &Value,
    defs: &Map<String, Value>,
    key: &str,
) -> Result<Option<jsonschema::Validator>> {
    let schema = if let Some(crd) = data["crds"].get(key) {
        crd.clone()
    } else if let Some(name) = version["kinds"].get(key).and_then(Value::as_str) {
        serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": format!("#/$defs/{name}"),
            "$defs": defs,
        })
    } else {
        return Ok(None);
    };
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&schema)
        .map_err(|e| anyhow::anyhow!("the built-in schema of {key} does not compile: {e}"))?;
    Ok(Some(validator))
}

fn kind_key(object: &Value) -> String {
    let text = |k: &str| object[k].as_str().unwrap_or("?").to_string();
    format!("{}/{}", text("apiVersion"), text("kind"))
}

/// `Kind namespace/name (source)`, as an operator finds the object.
fn describe(object: &Object) -> String {
    let v = &object.value;
    let meta = &v["metadata"];
    let name = meta["name"].as_str().unwrap_or("?");
    let at = match meta["namespace"].as_str() {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    };
    crate::text::escape(&format!(
        "{} {at} ({})",
        v["kind"].as_str().unwrap_or("?"),
        object.source
    ))
    .into_owned()
}

/// A JSON pointer as a dotted field path (`spec.containers.0.image`), the
/// object itself as `(root)`.
fn dotted(pointer: &str) -> String {
    let parts: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|p| p.replace("~1", "/").replace("~0", "~"))
        .collect();
    if parts.is_empty() {
        "(root)".to_string()
    } else {
        parts.join(".")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Object {
        Object {
            source: "u/charts/a/templates/x.yaml".into(),
            value,
        }
    }

    #[test]
    fn a_valid_deployment_passes_and_a_bad_one_names_the_field() {
        let good = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "prod"},
            "spec": {"selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}
        });
        check(&[object(good.clone())], "v1.31.0").expect("valid");
        let mut bad = good;
        bad["spec"]["replicas"] = json!("three");
        bad["spec"]["template"]["spec"]["containers"][0]["imagee"] = json!("x");
        let err = format!("{:#}", check(&[object(bad)], "v1.31.0").unwrap_err());
        assert!(err.contains("Kubernetes 1.31"), "{err}");
        assert!(
            err.contains("Deployment prod/web (u/charts/a/templates/x.yaml): spec.replicas: "),
            "{err}"
        );
        assert!(
            err.contains("spec.template.spec.containers.0: ") && err.contains("imagee"),
            "{err}"
        );
        assert!(!err.contains("three"), "values are never quoted: {err}");
    }

    #[test]
    fn versions_crds_and_unknown_kinds() {
        let err = format!("{:#}", check(&[], "v1.19.0").unwrap_err());
        assert!(
            err.contains("1.25 to 1.37") && err.contains("1.19"),
            "{err}"
        );
        check(&[], "v1.99.0").expect("newer than shipped: the newest schemas");
        let sealed = json!({"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
                            "metadata": {"name": "s"}, "spec": {"encryptedDataa": {}}});
        let err = format!("{:#}", check(&[object(sealed)], "1.31").unwrap_err());
        assert!(
            err.contains("SealedSecret s (")
                && err.contains("spec: ")
                && err.contains("encryptedDataa"),
            "{err}"
        );
        let other =
            json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
        let report = check(&[object(other.clone()), object(other)], "1.31").expect("unchecked");
        assert_eq!(report.unchecked, ["example.com/v1/Widget"]);
    }
}
