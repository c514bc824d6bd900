//! Chart loading: Chart.yaml metadata, values.yaml (with positions for provenance),
//! values.schema.json and every chart under charts/, directories and packaged `.tgz` alike (as
//! Helm loads them, whether or not a dependency lists them, both when a directory and an
//! archive hold the same chart). Every read goes through the chart's confined handle
//! ([`ChartDir`]): regular files only, inside the chart, size-capped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::chartfs::{self, Budget, ChartDir, Limit};
use crate::error::Error;
use crate::path::Marks;
use crate::semver::Version;
use crate::yaml;

mod tree;
pub use tree::CrdFile;

/// A loaded chart and all its subcharts. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Chart {
    inner: Arc<ChartData>,
}

#[derive(Debug)]
struct ChartData {
    dir: PathBuf,
    fs: ChartDir,
    metadata: Metadata,
    values: Arc<Value>,
    marks: Option<Arc<yaml::LazyMarks>>,
    values_file: Option<PathBuf>,
    subcharts: Vec<Chart>,
    schema: Option<(PathBuf, Value)>,
    component: std::sync::OnceLock<ComponentFile>,
    component_bytes: std::sync::OnceLock<Arc<[u8]>>,
    /// YAML bytes read by `Chart::load` for this chart and its subcharts (set on the root).
    yaml_bytes: std::sync::atomic::AtomicU64,
}

/// A chart's component, opened and checked by [`Chart::component_file`]. Cheap to clone.
#[derive(Debug, Clone)]
pub enum ComponentFile {
    /// A regular file of a chart directory, opened (non-blocking, inside the chart, within
    /// [`chartfs::COMPONENT`] when opened) and not read: whoever reads it checks its size
    /// again on this descriptor.
    File(Arc<std::fs::File>),
    /// A packaged chart's component, whose bytes are in memory already.
    Bytes(Arc<[u8]>),
}

/// The parts of Chart.yaml that value computation and the host use.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// `apiVersion` (`v1` when absent, as Helm assumes).
    pub api_version: String,
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: String,
    /// `appVersion`, if any.
    pub app_version: Option<String>,
    /// `dependencies` (from requirements.yaml for apiVersion v1 charts).
    pub dependencies: Vec<Dependency>,
    /// wasmchart's top-level `component:` key: a path relative to the chart directory, checked
    /// at load to be neither absolute nor climbing out with `..`.
    pub component: Option<String>,
    /// wasmchart's `environments:` map, raw.
    pub environments: Option<Value>,
}

/// One entry of Chart.yaml `dependencies`.
#[derive(Debug, Clone, Default)]
pub struct Dependency {
    /// Chart name.
    pub name: String,
    /// Version constraint (Masterminds syntax).
    pub version: String,
    /// Repository (unused for rendering: charts come from charts/).
    pub repository: Option<String>,
    /// Comma-separated condition paths.
    pub condition: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Alias, which also names the subchart's values section.
    pub alias: Option<String>,
    /// `import-values` entries as written (strings or child/parent maps).
    pub import_values: Vec<Value>,
    /// wasmchart's per-component `limits:` map, raw; the host interprets it.
    pub limits: Option<Value>,
}

impl Dependency {
    /// The name of the subchart's values section: the alias, else the name.
    pub fn section(&self) -> &str {
        self.alias
            .as_deref()
            .filter(|a| !a.is_empty())
            .unwrap_or(&self.name)
    }
}

impl Chart {
    /// Loads a chart directory with its subcharts; every dependency of the top chart must
    /// have a chart under charts/ (Helm's check before rendering).
    pub fn load(dir: &Path) -> Result<Chart, Error> {
        let root = ChartDir::open(dir)?;
        let mut loading = Loading {
            values: Budget::new(chartfs::VALUES_TOTAL),
            archives: Budget::new(ARCHIVES_TOTAL),
            charts: 0,
        };
        let chart = load_dir(root, 0, &mut loading)?;
        chart
            .inner
            .yaml_bytes
            .store(loading.values.used(), std::sync::atomic::Ordering::Relaxed);
        let names: Vec<String> = chart
            .inner
            .metadata
            .dependencies
            .iter()
            .filter(|dep| !chart.inner.subcharts.iter().any(|c| c.name() == dep.name))
            .map(|dep| dep.name.clone())
            .collect();
        if !names.is_empty() {
            return Err(Error::MissingDependencies {
                chart: chart.name().to_string(),
                names,
                dir: dir.join("charts"),
            });
        }
        Ok(chart)
    }

    /// Chart name from Chart.yaml.
    pub fn name(&self) -> &str {
        &self.inner.metadata.name
    }

    /// Chart version from Chart.yaml.
    pub fn version(&self) -> &str {
        &self.inner.metadata.version
    }

    /// `appVersion` from Chart.yaml.
    pub fn app_version(&self) -> Option<&str> {
        self.inner.metadata.app_version.as_deref()
    }

    /// The chart directory, as named (for messages).
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The chart directory's confined handle: every further read of the chart's files (its
    /// component, `files/`, certificates) goes through it.
    pub fn fs(&self) -> &ChartDir {
        &self.inner.fs
    }

    /// The parsed metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.inner.metadata
    }

    /// The component path from Chart.yaml `component:`, joined to the chart dir, for messages;
    /// read it through [`Chart::fs`].
    pub fn component(&self) -> Option<PathBuf> {
        self.inner
            .metadata
            .component
            .as_ref()
            .map(|c| self.inner.dir.join(c))
    }

    /// The component `component:` names, opened through the chart's handle (a regular file
    /// inside the chart, [`chartfs::COMPONENT`] at most) once per chart however many aliases
    /// render it, and not read: a compile cache that already holds it by the file's identity
    /// never needs its bytes. `None` when Chart.yaml names no component.
    ///
    /// # Errors
    ///
    /// The file is missing, outside the chart, not a regular file, too large or unreadable.
    pub fn component_file(&self) -> Result<Option<ComponentFile>, chartfs::FsError> {
        let Some(name) = &self.inner.metadata.component else {
            return Ok(None);
        };
        if let Some(file) = self.inner.component.get() {
            return Ok(Some(file.clone()));
        }
        let opened = self
            .inner
            .fs
            .open_file(self.component_rel(name)?, &chartfs::COMPONENT)?;
        let file = match opened {
            chartfs::Opened::File(file) => ComponentFile::File(Arc::new(file)),
            chartfs::Opened::Bytes(bytes) => ComponentFile::Bytes(bytes.into()),
        };
        Ok(Some(self.inner.component.get_or_init(|| file).clone()))
    }

    /// The bytes of the component `component:` names, read once per chart from the
    /// descriptor [`Chart::component_file`] opened (the very file a render loads), at most
    /// [`chartfs::COMPONENT`]; `None` when Chart.yaml names no component. Renders use
    /// [`Chart::component_file`], which reads only if needed.
    ///
    /// # Errors
    ///
    /// The file is missing, outside the chart, not a regular file, too large or unreadable.
    pub fn component_bytes(&self) -> Result<Option<Arc<[u8]>>, chartfs::FsError> {
        let Some(name) = &self.inner.metadata.component else {
            return Ok(None);
        };
        if let Some(bytes) = self.inner.component_bytes.get() {
            return Ok(Some(bytes.clone()));
        }
        let bytes = match self.component_file()? {
            None => return Ok(None),
            Some(ComponentFile::Bytes(bytes)) => bytes,
            Some(ComponentFile::File(file)) => {
                chartfs::read_open_file(&file, &chartfs::COMPONENT, self.inner.dir.join(name))?
                    .into()
            }
        };
        Ok(Some(
            self.inner.component_bytes.get_or_init(|| bytes).clone(),
        ))
    }

    /// `name` (Chart.yaml `component:`) as a path inside the chart; checked at load, checked
    /// again so that this read stays inside the chart on its own.
    fn component_rel(&self, name: &str) -> Result<PathBuf, chartfs::FsError> {
        chartfs::relative_path(name).map_err(|why| chartfs::FsError {
            op: "read",
            path: self.inner.dir.join(name),
            reason: std::io::Error::other(why),
        })
    }

    /// Every chart found under charts/, in directory-name order.
    pub fn subcharts(&self) -> &[Chart] {
        &self.inner.subcharts
    }

    /// The chart's default values (values.yaml, documents merged).
    pub fn values(&self) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.inner
            .values
            .as_object()
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// The default values as a shared value (for provenance without copying).
    pub(crate) fn values_shared(&self) -> Arc<Value> {
        self.inner.values.clone()
    }

    /// Where each node of values.yaml starts (computed on first use).
    pub fn value_marks(&self) -> Marks {
        self.inner
            .marks
            .as_ref()
            .map(|m| m.get().clone())
            .unwrap_or_default()
    }

    /// The lazily computed positions of values.yaml.
    pub(crate) fn lazy_marks(&self) -> Option<Arc<yaml::LazyMarks>> {
        self.inner.marks.clone()
    }

    /// The YAML bytes `Chart::load` read for this chart and its subcharts: the start of the
    /// render's [`chartfs::VALUES_TOTAL`] budget.
    pub fn yaml_bytes(&self) -> u64 {
        self.inner
            .yaml_bytes
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The values.yaml path, when the chart has one.
    pub fn values_file(&self) -> Option<&Path> {
        self.inner.values_file.as_deref()
    }

    /// The parsed values.schema.json and its path, when present.
    pub fn schema(&self) -> Option<(&Path, &Value)> {
        self.inner.schema.as_ref().map(|(p, v)| (p.as_path(), v))
    }
}

/// Every packaged subchart of one load together, decompressed (nested archives included):
/// each archive is bounded on its own ([`chartfs::archive`]); this bounds their sum in memory.
const ARCHIVES_TOTAL: Limit = Limit {
    what: "all packaged subcharts of a chart together, decompressed",
    bytes: 512 << 20,
};

/// Counts across one `Chart::load`: charts loaded, YAML bytes read, archive bytes held.
struct Loading {
    values: Budget,
    archives: Budget,
    charts: usize,
}

impl Loading {
    /// Reads a YAML file of the chart, if present, counting it against the chart-wide budget.
    fn read(&mut self, fs: &ChartDir, name: &str, limit: &Limit) -> Result<Option<String>, Error> {
        let text = fs.read_optional_string(name, limit)?;
        if let Some(t) = &text {
            self.values.spend(t.len() as u64, fs.display(name))?;
        }
        Ok(text)
    }
}

fn chart_err(dir: &Path, message: impl Into<String>) -> Error {
    Error::Chart {
        dir: dir.to_path_buf(),
        message: message.into(),
    }
}

fn load_dir(fs: ChartDir, depth: usize, loading: &mut Loading) -> Result<Chart, Error> {
    let dir = fs.path().to_path_buf();
    let dir = dir.as_path();
    loading.charts += 1;
    if loading.charts > chartfs::MAX_CHARTS {
        return Err(chart_err(
            dir,
            format!(
                "the chart holds more than {} charts under charts/, the limit (a symlink loop?)",
                chartfs::MAX_CHARTS
            ),
        ));
    }
    let Some(text) = loading.read(&fs, "Chart.yaml", &chartfs::METADATA)? else {
        return Err(chart_err(dir, "Chart.yaml file is missing"));
    };
    let origin = fs.display("Chart.yaml").display().to_string();
    // Positions are not kept for chart metadata: the reader without them is
    // several times cheaper (a Chart.yaml of 500 dependencies: 6 ms).
    let raw = yaml::parse_values_map(&text, &origin)?;
    let mut metadata = parse_metadata(dir, &raw)?;
    if metadata.api_version == "v1"
        && let Some(text) = loading.read(&fs, "requirements.yaml", &chartfs::METADATA)?
    {
        let origin = fs.display("requirements.yaml").display().to_string();
        let raw_req = yaml::parse_values_map(&text, &origin)?;
        metadata.dependencies = parse_dependencies(dir, raw_req.get("dependencies"))?;
    }
    let (values, marks, values_file) = match loading.read(&fs, "values.yaml", &chartfs::VALUES)? {
        Some(text) => {
            let values_path = fs.display("values.yaml");
            let origin = values_path.display().to_string();
            let v = yaml::parse_values_map(&text, &origin)?;
            let lazy = Arc::new(yaml::LazyMarks::new(text, origin));
            (v, Some(lazy), Some(values_path))
        }
        None => (Map::new(), None, None),
    };
    let schema = match fs.read_optional_string("values.schema.json", &chartfs::SCHEMA)? {
        Some(text) => {
            let schema_path = fs.display("values.schema.json");
            let v: Value = serde_json::from_str(&text).map_err(|e| Error::BadSchema {
                path: schema_path.clone(),
                message: format!("line {} column {}: {e}", e.line(), e.column()),
            })?;
            Some((schema_path, v))
        }
        None => None,
    };
    claim_component(&fs, &metadata);
    let subcharts = load_subcharts(&fs, &metadata.name, depth, loading)?;
    if let Some(tree) = fs.packaged()
        && fs.archive_key(Path::new("")).is_some_and(|k| k.is_empty())
    {
        tree.check_large()?;
    }
    Ok(Chart {
        inner: Arc::new(ChartData {
            dir: dir.to_path_buf(),
            fs,
            metadata,
            values: Arc::new(Value::Object(values)),
            marks,
            values_file,
            subcharts,
            schema,
            component: std::sync::OnceLock::new(),
            component_bytes: std::sync::OnceLock::new(),
            yaml_bytes: std::sync::atomic::AtomicU64::new(0),
        }),
    })
}

/// Loads every chart under charts/ (a directory, or a `.tgz` unpacked in memory), each through
/// a handle of its own (so a subchart cannot reach its parent), in name order, refusing nesting
/// deeper than [`chartfs::MAX_CHART_DEPTH`]. As in Helm, names starting with `_` or `.` and
/// provenance files (`.prov`) are skipped, and any other file is an error (Helm tries to load
/// it as a chart and fails).
fn load_subcharts(
    fs: &ChartDir,
    parent: &str,
    depth: usize,
    loading: &mut Loading,
) -> Result<Vec<Chart>, Error> {
    let dir = fs.path();
    if fs.kind("charts")? != Some(chartfs::Kind::Dir) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in fs.list("charts")? {
        let name = entry.to_string_lossy().to_string();
        if name.starts_with(['_', '.']) {
            continue;
        }
        let rel = PathBuf::from("charts").join(&entry);
        let kind = fs.kind(&rel)?;
        let packaged = name.ends_with(".tgz");
        if kind == Some(chartfs::Kind::Dir) && packaged {
            // Helm: "error unpacking subchart tar ... expected x.tgz, got x.tgz/Chart.yaml".
            return Err(chart_err(
                dir,
                format!(
                    "charts/{name} is a directory; a name ending in .tgz must be a packaged chart"
                ),
            ));
        }
        if kind == Some(chartfs::Kind::Dir) || packaged {
            if depth + 1 > chartfs::MAX_CHART_DEPTH {
                return Err(chart_err(
                    dir,
                    format!(
                        "charts/{name}: subcharts are nested more than {} levels deep, the limit \
                         (a symlink loop?)",
                        chartfs::MAX_CHART_DEPTH
                    ),
                ));
            }
            let sub = if packaged {
                unpack(fs, &rel, loading)?
            } else {
                fs.open_subdir(&rel)?
            };
            out.push(load_dir(sub, depth + 1, loading)?);
        } else if !name.ends_with(".prov") {
            return Err(chart_err(
                dir,
                format!(
                    "charts/{name} is not a chart (neither a chart directory nor a packaged \
                     .tgz); Helm refuses it too (\"error unpacking subchart {name} in {parent}: \
                     Chart.yaml file is missing\"): remove it, or start its name with `_` or `.`"
                ),
            ));
        }
    }
    Ok(out)
}

/// In a packaged chart, the component may be larger than Helm's per-file cap.
fn claim_component(fs: &ChartDir, metadata: &Metadata) {
    if let Some(tree) = fs.packaged()
        && let Some(rel) = metadata
            .component
            .as_deref()
            .and_then(|c| chartfs::relative_path(c).ok())
        && let Some(key) = fs.archive_key(&rel)
    {
        tree.claim(&key);
    }
}

/// Reads the packaged subchart `rel` through the parent's handle (so a symlinked .tgz leading
/// out of the chart is refused like any file) and unpacks it in memory.
fn unpack(fs: &ChartDir, rel: &Path, loading: &mut Loading) -> Result<ChartDir, Error> {
    let bytes = fs.read(rel, &chartfs::archive::ARCHIVE)?;
    if let Some(parent) = fs.packaged()
        && let Some(key) = fs.archive_key(rel)
    {
        parent.claim(&key);
    }
    let tree = chartfs::archive::unpack(&bytes, &fs.display(rel))?;
    loading.archives.spend(tree.bytes(), fs.display(rel))?;
    Ok(ChartDir::archive(tree))
}

fn string_field(dir: &Path, raw: &Map<String, Value>, key: &str) -> Result<Option<String>, Error> {
    match raw.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(chart_err(
            dir,
            format!(
                "Chart.yaml {key:?} must be a string, found {}",
                yaml::kind_name(other)
            ),
        )),
    }
}

/// `component:`, which must name a file inside the chart directory.
fn component_field(dir: &Path, raw: &Map<String, Value>) -> Result<Option<String>, Error> {
    let component = string_field(dir, raw, "component")?;
    if let Some(c) = &component {
        chartfs::relative_path(c)
            .map_err(|why| chart_err(dir, format!("Chart.yaml key \"component\": {why}")))?;
    }
    Ok(component)
}

fn parse_metadata(dir: &Path, raw: &Map<String, Value>) -> Result<Metadata, Error> {
    let api_version = string_field(dir, raw, "apiVersion")?.unwrap_or_else(|| "v1".into());
    if api_version != "v1" && api_version != "v2" {
        return Err(chart_err(
            dir,
            format!(
                "unsupported apiVersion {api_version:?} in Chart.yaml (expected \"v2\" or \"v1\")"
            ),
        ));
    }
    let name = string_field(dir, raw, "name")?.unwrap_or_default();
    if name.is_empty() {
        return Err(chart_err(dir, "Chart.yaml: name is required"));
    }
    if name == "." || name == ".." || name.contains('/') {
        return Err(chart_err(
            dir,
            format!("Chart.yaml: name {name:?} is not allowed"),
        ));
    }
    let version = string_field(dir, raw, "version")?.unwrap_or_default();
    if version.is_empty() {
        return Err(chart_err(dir, "Chart.yaml: version is required"));
    }
    if Version::parse(&version).is_none() {
        return Err(chart_err(
            dir,
            format!("Chart.yaml: version {version:?} is invalid"),
        ));
    }
    let app_version = match raw.get("appVersion") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let dependencies = parse_dependencies(dir, raw.get("dependencies"))?;
    let mut seen = std::collections::HashSet::new();
    for d in &dependencies {
        if !seen.insert(d.section().to_string()) {
            return Err(chart_err(
                dir,
                format!(
                    "more than one dependency with name or alias {:?}",
                    d.section()
                ),
            ));
        }
    }
    Ok(Metadata {
        api_version,
        name,
        version,
        app_version,
        dependencies,
        component: component_field(dir, raw)?,
        environments: raw.get("environments").cloned(),
    })
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_dependencies(dir: &Path, raw: Option<&Value>) -> Result<Vec<Dependency>, Error> {
    let list = match raw {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(chart_err(dir, "Chart.yaml: dependencies must be a list")),
    };
    let mut out = Vec::new();
    for (i, d) in list.iter().enumerate() {
        let Value::Object(m) = d else {
            return Err(chart_err(
                dir,
                format!("Chart.yaml: dependencies[{i}] must be a map"),
            ));
        };
        let get = |k: &str| m.get(k).and_then(scalar_string);
        let alias = get("alias").filter(|a| !a.is_empty());
        if let Some(a) = &alias
            && !a
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(chart_err(
                dir,
                format!(
                    "dependency {:?} has disallowed characters in the alias {a:?}",
                    get("name").unwrap_or_default()
                ),
            ));
        }
        let tags = match m.get("tags") {
            Some(Value::Array(t)) => t.iter().filter_map(scalar_string).collect(),
            _ => Vec::new(),
        };
        let import_values = match m.get("import-values") {
            Some(Value::Array(v)) => v.clone(),
            _ => Vec::new(),
        };
        out.push(Dependency {
            name: get("name").unwrap_or_default(),
            version: get("version").unwrap_or_default(),
            repository: get("repository"),
            condition: get("condition"),
            tags,
            alias,
            import_values,
            limits: m.get("limits").cloned(),
        });
    }
    Ok(out)
}
