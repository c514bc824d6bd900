//! values.schema.json validation, per chart, against the values that chart really receives,
//! exactly as Helm 4 does (`ValidateAgainstSchema`): the umbrella's schema sees the umbrella's
//! computed values; each enabled subchart's schema sees its own section (alias name, nested
//! sections for nested subcharts), `global` and every key the umbrella sets in it (a
//! condition's `enabled`) included, so a strict schema that does not declare them fails as it
//! does in Helm. A disabled subchart is not validated. Beyond Helm: `$ref` is resolved only
//! inside the chart (never the network or other files: through the chart's confined handle,
//! [`chartfs::SCHEMA`] at most per file), and each failure names the JSON path, the rule and
//! the file or flag that supplied the value.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Computed;
use super::explain::last_source;
use super::node::Node;
use crate::chart::Chart;
use crate::chartfs::{self, ChartDir};
use crate::error::Error;
use crate::path::{self, Seg};

/// Validates every enabled chart that has a schema.
pub fn validate(c: &Computed, root: &Node) -> Result<(), Error> {
    let mut failures = Vec::new();
    let mut first_chart = None;
    walk(
        c,
        root,
        &c.values,
        &mut Vec::new(),
        &mut failures,
        &mut first_chart,
    )?;
    if failures.is_empty() {
        return Ok(());
    }
    Err(Error::Schema {
        chart: first_chart.unwrap_or_default(),
        failures,
    })
}

fn chart_of<'a>(c: &'a Computed, node: &Node) -> &'a Chart {
    super::chart_at(&c.chart, &node.chart_path)
}

fn walk(
    c: &Computed,
    node: &Node,
    values: &Value,
    mount: &mut Vec<Seg>,
    failures: &mut Vec<String>,
    first: &mut Option<String>,
) -> Result<(), Error> {
    let chart = chart_of(c, node);
    if let Some((schema_path, schema)) = chart.schema() {
        let label = if mount.is_empty() {
            chart.name().to_string()
        } else {
            path::display(mount)
        };
        let before = failures.len();
        check(c, chart, schema_path, schema, values, mount, failures)?;
        if failures.len() > before && first.is_none() {
            *first = Some(label);
        }
    }
    for d in &node.deps {
        let raw = match values {
            Value::Object(m) => m.get(&d.name),
            _ => None,
        };
        match raw {
            None | Some(Value::Null) => {}
            Some(v @ Value::Object(_)) => {
                mount.push(Seg::Key(d.name.clone()));
                walk(c, d, v, mount, failures, first)?;
                mount.pop();
            }
            Some(other) => failures.push(format!(
                "{}: expected a map of values for subchart {:?}, got {}",
                d.name,
                d.name,
                crate::yaml::kind_name(other)
            )),
        }
    }
    Ok(())
}

fn file_uri(p: &Path) -> String {
    let s = p.to_string_lossy().replace('%', "%25").replace(' ', "%20");
    format!("file://{s}")
}

fn check(
    c: &Computed,
    chart: &Chart,
    schema_path: &Path,
    schema: &Value,
    values: &Value,
    mount: &[Seg],
    failures: &mut Vec<String>,
) -> Result<(), Error> {
    // URIs only: `$ref`s resolve against the chart directory's absolute name, then are read
    // through the chart's handle, never by path.
    let root = lexical_absolute(chart.dir());
    let validator = jsonschema::options()
        .with_base_uri(file_uri(&root.join("values.schema.json")))
        .with_retriever(ChartRetriever {
            root,
            chart: chart.clone(),
        })
        .build(schema)
        .map_err(|e| Error::BadSchema {
            path: schema_path.to_path_buf(),
            message: e.to_string(),
        })?;
    for err in validator.iter_errors(values) {
        let rel = pointer_to_path(values, err.instance_path().as_str());
        let mut full = mount.to_vec();
        full.extend(rel.iter().cloned());
        let rule = err
            .schema_path()
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string();
        let shown = if full.is_empty() {
            "(root)".to_string()
        } else {
            path::display(&full)
        };
        let source = last_source(c, &full)
            .map(|s| format!("value from {s}"))
            .unwrap_or_else(|| "value from chart defaults".to_string());
        failures.push(format!(
            "{shown}: {err} (rule {rule:?} in {}; {source})",
            schema_path.display()
        ));
    }
    Ok(())
}

/// `dir` made absolute with `.` and `..` resolved by name, as URI resolution does; only a
/// namespace for `$ref` URIs, never opened.
fn lexical_absolute(dir: &Path) -> PathBuf {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn pointer_to_path(inst: &Value, ptr: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut cur = Some(inst);
    for raw in ptr.split('/').skip(1) {
        let part = raw.replace("~1", "/").replace("~0", "~");
        let seg = match (cur, part.parse::<usize>()) {
            (Some(Value::Array(_)), Ok(i)) => Seg::Index(i),
            _ => Seg::Key(part),
        };
        cur = cur.and_then(|v| match (&seg, v) {
            (Seg::Key(k), Value::Object(m)) => m.get(k),
            (Seg::Index(i), Value::Array(a)) => a.get(*i),
            _ => None,
        });
        out.push(seg);
    }
    out
}

/// Loads `$ref` targets only from files inside the chart directory, through its handle.
struct ChartRetriever {
    root: PathBuf,
    chart: Chart,
}

impl ChartRetriever {
    fn fs(&self) -> &ChartDir {
        self.chart.fs()
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

impl jsonschema::Retrieve for ChartRetriever {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let text = uri.as_str();
        let Some(rest) = text.strip_prefix("file://") else {
            return Err(
                format!("$ref {text:?} is not allowed: only files inside the chart are").into(),
            );
        };
        let rest = rest.split('#').next().unwrap_or(rest);
        let path = PathBuf::from(percent_decode(rest));
        let inside = path
            .strip_prefix(&self.root)
            .ok()
            .and_then(|rel| chartfs::relative_path(&rel.to_string_lossy()).ok());
        let Some(rel) = inside else {
            return Err(format!("$ref {text:?} points outside the chart directory").into());
        };
        let body = self
            .fs()
            .read_to_string(&rel, &chartfs::SCHEMA)
            .map_err(|e| format!("$ref {text:?}: {e}"))?;
        Ok(serde_json::from_str(&body).map_err(|e| {
            format!(
                "$ref {text:?}: invalid JSON in {}: {e}",
                self.fs().display(&rel).display()
            )
        })?)
    }
}
