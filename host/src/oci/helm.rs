//! Helm's chart-in-OCI format (Helm 3.8+): an OCI image manifest whose config blob is the
//! chart's metadata as JSON and whose one layer is the `.tgz`. What `helm push` writes and
//! `helm pull` accepts, so both tools and every registry that lists Helm charts agree.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use wasmchart_values::chartfs::{self, ChartDir, archive};

/// The image manifest media type Helm writes.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Helm's config blob: `Chart.yaml`'s metadata as JSON.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm's chart layer: the `.tgz` as `helm package` writes it.
pub const CHART_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Helm's optional provenance layer (`helm package --sign`); carried, never required.
pub const PROV_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";

/// A manifest larger than this is refused (real ones are well under 1 KiB).
pub const MAX_MANIFEST: usize = 4 << 20;

/// One blob a manifest points at.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The manifest, as much of it as a Helm chart uses.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    #[serde(rename = "schemaVersion")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// `sha256:HEX` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(bytes);
    let mut s = String::with_capacity(71);
    s.push_str("sha256:");
    for b in d {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// A chart archive ready to push: its bytes, name, version, and Helm's config JSON.
pub struct Packaged {
    pub archive: Vec<u8>,
    pub name: String,
    pub version: String,
    pub config: Vec<u8>,
    pub annotations: BTreeMap<String, String>,
}

/// Reads the `.tgz` at `path` through the hardened archive reader, takes NAME and VERSION
/// from its `Chart.yaml`, and refuses a file name that says otherwise (`NAME-VERSION.tgz`).
pub fn read_archive(path: &Path) -> Result<Packaged> {
    let archive = chartfs::read_operator_file(path, &archive::ARCHIVE)?;
    let meta = metadata_of(&archive, path)?;
    let (name, version) = (string(&meta, "name"), string(&meta, "version"));
    let (Some(name), Some(version)) = (name, version) else {
        bail!(
            "{}: Chart.yaml needs a name and a version to be pushed",
            path.display()
        );
    };
    let tag = super::tag_of(&version);
    let tag_ok = tag.len() <= 128
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if wasmchart_values::semver::Version::parse(&version).is_none() || !tag_ok {
        bail!(
            "{}: Chart.yaml version {:?} is not a SemVer version; Helm and registries need one \
             (it becomes the tag)",
            path.display(),
            crate::text::escape_short(&version, 80)
        );
    }
    let expected = format!("{name}-{version}.tgz");
    let file = path.file_name().map(|f| f.to_string_lossy().into_owned());
    if file.as_deref() != Some(expected.as_str()) {
        bail!(
            "{}: the archive's Chart.yaml says {name} {version}, so the file should be named \
             {expected}; refusing to push a chart whose file name disagrees with its contents",
            path.display()
        );
    }
    let config = helm_config(&meta).into_bytes();
    let annotations = annotations(&meta);
    Ok(Packaged {
        archive,
        name,
        version,
        config,
        annotations,
    })
}

/// The `Chart.yaml` of the archive `bytes` (named `origin` in errors), as JSON.
pub fn metadata_of(bytes: &[u8], origin: &Path) -> Result<Map<String, Value>> {
    let tree = archive::unpack(bytes, origin)?;
    let dir = ChartDir::archive(tree);
    let text = dir.read_to_string("Chart.yaml", &chartfs::METADATA)?;
    let origin_text = format!("{}: Chart.yaml", origin.display());
    let docs = wasmchart_values::yaml::parse_documents(&text, &origin_text)?;
    match docs.into_iter().next() {
        Some(Value::Object(m)) => Ok(m),
        _ => bail!("{origin_text}: not a mapping"),
    }
}

fn string(meta: &Map<String, Value>, key: &str) -> Option<String> {
    match meta.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Helm's `chart.Metadata` marshalled to JSON: its fields in its order, empty ones left
/// out (`omitempty`), keys Helm does not know (like `component:`) dropped. Written by hand
/// because a JSON map here sorts its keys.
fn helm_config(meta: &Map<String, Value>) -> String {
    const FIELDS: [&str; 17] = [
        "name",
        "home",
        "sources",
        "version",
        "description",
        "keywords",
        "maintainers",
        "icon",
        "apiVersion",
        "condition",
        "tags",
        "appVersion",
        "deprecated",
        "annotations",
        "kubeVersion",
        "dependencies",
        "type",
    ];
    let mut fields = Vec::new();
    for key in FIELDS {
        match meta.get(key) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::Array(a)) if a.is_empty() => {}
            Some(Value::Object(o)) if o.is_empty() => {}
            Some(v) => fields.push(format!("{}:{v}", Value::from(key))),
        }
    }
    format!("{{{}}}", fields.join(","))
}

/// The manifest annotations Helm sets from Chart.yaml, without `created`: pushing the same
/// archive twice then gives the same manifest digest. The config blob is byte-identical to
/// Helm's (checked against helm push in host/tests/all/oci.rs).
fn annotations(meta: &Map<String, Value>) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            a.insert(format!("org.opencontainers.image.{k}"), v);
        }
    };
    put("title", string(meta, "name"));
    put("version", string(meta, "version"));
    put("description", string(meta, "description"));
    put("url", string(meta, "home"));
    let source = match meta.get("sources") {
        Some(Value::Array(s)) => s.first().and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    put("source", source);
    a
}

/// The manifest for a pushed chart: config and layer descriptors, Helm's annotations.
pub fn manifest_for(p: &Packaged) -> Manifest {
    Manifest {
        schema_version: 2,
        // Helm leaves the manifest's own mediaType out (the Content-Type carries it).
        media_type: None,
        config: Descriptor {
            media_type: CONFIG_MEDIA_TYPE.into(),
            digest: sha256(&p.config),
            size: p.config.len() as u64,
            annotations: None,
        },
        layers: vec![Descriptor {
            media_type: CHART_MEDIA_TYPE.into(),
            digest: sha256(&p.archive),
            size: p.archive.len() as u64,
            annotations: None,
        }],
        annotations: Some(p.annotations.clone()).filter(|a| !a.is_empty()),
    }
}

/// Parses and checks a manifest a registry sent for `what`: Helm's media types, exactly
/// one chart layer, a SHA-256 digest on it. Returns the chart layer's descriptor.
pub fn chart_layer(body: &[u8], what: &str) -> Result<Descriptor> {
    let m: Manifest = serde_json::from_slice(body).map_err(|e| {
        anyhow::anyhow!(
            "{what}: the registry sent a manifest that is not an OCI image manifest ({e})"
        )
    })?;
    if m.schema_version != 2 {
        bail!(
            "{what}: manifest schemaVersion {} (expected 2)",
            m.schema_version
        );
    }
    if let Some(t) = m
        .media_type
        .as_deref()
        .filter(|t| *t != MANIFEST_MEDIA_TYPE)
    {
        bail!("{what}: manifest media type {t:?} is not an OCI image manifest");
    }
    if m.config.media_type != CONFIG_MEDIA_TYPE {
        bail!(
            "{what}: not a Helm chart: its config media type is {:?}, expected {CONFIG_MEDIA_TYPE}",
            crate::text::escape_short(&m.config.media_type, 120)
        );
    }
    let mut charts = Vec::new();
    for l in m.layers {
        match l.media_type.as_str() {
            CHART_MEDIA_TYPE => charts.push(l),
            PROV_MEDIA_TYPE => {}
            other => bail!(
                "{what}: unexpected layer media type {:?} in a Helm chart manifest",
                crate::text::escape_short(other, 120)
            ),
        }
    }
    let layer = match charts.len() {
        1 => charts.remove(0),
        n => bail!("{what}: the manifest has {n} chart layers; a Helm chart has exactly one"),
    };
    let hex = layer.digest.strip_prefix("sha256:").unwrap_or("");
    if hex.len() != 64 || !hex.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
        bail!(
            "{what}: the chart layer's digest {:?} is not a sha256 digest",
            crate::text::escape_short(&layer.digest, 100)
        );
    }
    Ok(layer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(config: &str, layers: &[&str]) -> Vec<u8> {
        let d = format!("sha256:{}", "a".repeat(64));
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "config": {"mediaType": config, "digest": d, "size": 1},
            "layers": layers.iter().map(|t| serde_json::json!({"mediaType": t, "digest": d, "size": 3})).collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    #[test]
    fn manifests_are_checked() {
        assert_eq!(
            chart_layer(
                &manifest(CONFIG_MEDIA_TYPE, &[CHART_MEDIA_TYPE, PROV_MEDIA_TYPE]),
                "x"
            )
            .unwrap()
            .size,
            3
        );
        for (body, part) in [
            (
                manifest(
                    "application/vnd.oci.image.config.v1+json",
                    &[CHART_MEDIA_TYPE],
                ),
                "not a Helm chart",
            ),
            (manifest(CONFIG_MEDIA_TYPE, &[]), "0 chart layers"),
            (
                manifest(CONFIG_MEDIA_TYPE, &[CHART_MEDIA_TYPE, CHART_MEDIA_TYPE]),
                "2 chart layers",
            ),
            (
                manifest(CONFIG_MEDIA_TYPE, &["text/plain"]),
                "unexpected layer media type",
            ),
            (b"{}".to_vec(), "not an OCI image manifest"),
        ] {
            let e = chart_layer(&body, "oci://h/x:1").unwrap_err().to_string();
            assert!(e.contains(part) && e.starts_with("oci://h/x:1"), "{e}");
        }
    }

    #[test]
    fn config_is_helm_metadata_in_helms_order() {
        let meta: Map<String, Value> = serde_json::from_str(
            r#"{"apiVersion":"v2","version":"1.0.0","name":"a","component":"c.wasm","keywords":[],"type":"application"}"#,
        )
        .unwrap();
        assert_eq!(
            helm_config(&meta),
            r#"{"name":"a","version":"1.0.0","apiVersion":"v2","type":"application"}"#
        );
    }
}
