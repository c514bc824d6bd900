//! `wasmchart package CHART [-d DIR] [--version V] [--app-version V]`: a chart directory as a
//! Helm-format archive (`NAME-VERSION.tgz`, every entry under `NAME/`, `Chart.yaml` first),
//! component included, so `helm pull`, `helm show` and registries treat it as any chart and
//! `wasmchart render` loads it from `charts/`.
//!
//! Reads go through the chart's confined handle ([`ChartDir`]): only regular files inside the
//! chart, each capped as the archive loader caps it (Helm's 5 MiB per file, the component and
//! nested packaged charts excepted), so a package we write is one we load. `.helmignore` is
//! applied with Helm's rules ([`ignore`]). The archive is deterministic — entries sorted in
//! Helm's order, fixed modification time, owner and mode — so its sha256 identifies its
//! content: the same chart always packs to the same bytes, which is what a lock pins.
//!
//! Unlike `helm package`, `Chart.yaml` is kept byte for byte (Helm rewrites it from its own
//! struct, which would drop `component:`), unless `--version`/`--app-version` change it, and
//! packaged subcharts under `charts/` stay archives (Helm unpacks them), so their digests
//! (and a nested lock) still hold.

pub mod ignore;
mod tar;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::Args;
use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use wasmchart_values::Chart;
use wasmchart_values::chartfs::{self, ChartDir, Kind, Limit, archive};

pub use self::tar::{ENTRY_MTIME, archive_bytes};

/// `wasmchart package`'s flags, Helm's names.
#[derive(Debug, Args)]
pub struct PackageArgs {
    /// The chart directory to package.
    #[arg(value_name = "CHART_PATH")]
    pub chart: PathBuf,
    /// Directory to write the archive to (default: the current directory).
    #[arg(short = 'd', long = "destination", value_name = "DIR")]
    pub destination: Option<PathBuf>,
    /// Set the chart's version in the package (a semantic version).
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// Set the chart's appVersion in the package.
    #[arg(long, value_name = "VERSION")]
    pub app_version: Option<String>,
}

/// `wasmchart package`: writes the archive and says where, as Helm does.
///
/// # Errors
///
/// The chart does not load, a file breaks a rule, the component is missing or not a
/// component, or the archive cannot be written.
pub fn run(args: PackageArgs) -> Result<()> {
    let overrides = Overrides {
        version: args.version,
        app_version: args.app_version,
    };
    let packaged = package(&args.chart, &overrides)?;
    let dest = args.destination.unwrap_or_else(|| PathBuf::from("."));
    let path = write(&dest, &packaged)?;
    let shown = std::path::absolute(&path).unwrap_or(path);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Successfully packaged chart and saved it to: {}",
        crate::text::escape(&shown.display().to_string())
    )?;
    Ok(())
}

/// Chart.yaml fields `package` may set, as `helm package --version/--app-version`.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--version`.
    pub version: Option<String>,
    /// `--app-version`.
    pub app_version: Option<String>,
}

/// A packaged chart, in memory.
#[derive(Debug, Clone)]
pub struct Packaged {
    /// The chart's name.
    pub name: String,
    /// The chart's version (after `--version`).
    pub version: String,
    /// The `.tgz` bytes.
    pub bytes: Vec<u8>,
}

impl Packaged {
    /// `NAME-VERSION.tgz`, Helm's archive name.
    pub fn file_name(&self) -> String {
        format!("{}-{}.tgz", self.name, self.version)
    }
}

/// A `.helmignore` is a page of patterns.
const HELMIGNORE: Limit = Limit {
    what: "a .helmignore",
    bytes: 1 << 20,
};

/// The chart's `.helmignore` rules (Helm's default rule alone when there is none), read through
/// the confined handle: what `package` leaves out, and what the lock's digest of an unpacked
/// chart leaves out.
///
/// # Errors
///
/// The file breaks a rule of the confined reader, or holds a line Helm refuses (named).
pub fn helmignore(fs: &ChartDir) -> Result<ignore::Rules> {
    Ok(match fs.read_optional_string(".helmignore", &HELMIGNORE)? {
        Some(text) if rule_count(&text) > MAX_RULES => bail!(
            "{} holds {} rules, over the limit of {MAX_RULES}: every rule is tried on every \
             file, for `package` and for the lock digest each render checks",
            fs.display(".helmignore").display(),
            rule_count(&text)
        ),
        Some(text) => ignore::Rules::parse(&text).map_err(|e| {
            anyhow!(
                "{} line {}: the rule {:?} is refused: {} (Helm refuses it too)",
                fs.display(".helmignore").display(),
                e.line,
                e.rule,
                e.why
            )
        })?,
        None => ignore::Rules::parse("").unwrap_or_default(),
    })
}

/// Rules in one `.helmignore` at most. Real ones hold a few dozen; each is matched against
/// every path, so a page of them would cost minutes per package or lock check.
const MAX_RULES: usize = 1000;

/// The lines of a `.helmignore` that are rules (not blank, not comments).
fn rule_count(text: &str) -> usize {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count()
}

/// Directories deeper than this are refused (a symlink loop inside the chart would otherwise
/// recurse).
const MAX_DEPTH: usize = 32;

/// Files in one package at most.
const MAX_FILES: usize = 20_000;

/// Packages the chart directory `dir` in memory.
///
/// # Errors
///
/// As [`run`], except writing.
pub fn package(dir: &Path, overrides: &Overrides) -> Result<Packaged> {
    let chart = Chart::load(dir).with_context(|| format!("cannot package '{}'", dir.display()))?;
    let fs = ChartDir::open(dir)?;
    let rules = helmignore(&fs)?;
    let components = component_paths(&chart);
    let mut walk = Walk {
        fs: &fs,
        rules: &rules,
        components: &components,
        files: Vec::new(),
        ordinary: 0,
    };
    walk.dir("", 0)?;
    let mut files = walk.files;
    for component in &components {
        check_component(&fs, &files, component)?;
    }
    let version = apply_overrides(&fs, &mut files, &chart, overrides)?;
    files.sort_by(|a, b| order(&a.0).cmp(&order(&b.0)));
    let bytes = archive_bytes(chart.name(), &files)?;
    if bytes.len() as u64 > archive::ARCHIVE.bytes {
        bail!(
            "cannot package '{}': the archive would be {}, over the {} limit for {} (Helm's)",
            dir.display(),
            chartfs::size(bytes.len() as u64),
            chartfs::size(archive::ARCHIVE.bytes),
            archive::ARCHIVE.what
        );
    }
    Ok(Packaged {
        name: chart.name().to_string(),
        version,
        bytes,
    })
}

/// Writes `packaged` into `dir` as `NAME-VERSION.tgz`, atomically (temporary file, then
/// rename): a reader sees the old archive or the new one, never half of one.
///
/// # Errors
///
/// The directory cannot be created or written.
pub fn write(dir: &Path, packaged: &Packaged) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the directory '{}'", dir.display()))?;
    let path = dir.join(packaged.file_name());
    write_file_atomic(&path, &packaged.bytes)?;
    Ok(path)
}

/// Replaces `path` with `bytes` through a temporary file in the same directory (mode 0644).
///
/// # Errors
///
/// The temporary file cannot be written, synced or renamed.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = dir.unwrap_or(Path::new("."));
    let context = || format!("cannot write '{}'", path.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(".wasmchart-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(context)?;
    tmp.write_all(bytes).with_context(context)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(context)?;
    }
    tmp.as_file().sync_all().with_context(context)?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(context)?;
    Ok(())
}

/// Every component of the chart and of its unpacked subcharts, as paths inside the chart
/// directory, with the chart that names it (for messages).
fn component_paths(chart: &Chart) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect_components(chart, chart.dir(), &mut out);
    out
}

fn collect_components(chart: &Chart, root: &Path, out: &mut Vec<(String, String)>) {
    if chart.fs().packaged().is_some() {
        return;
    }
    let prefix = chart.dir().strip_prefix(root).unwrap_or(Path::new(""));
    if let Some(c) = chart
        .metadata()
        .component
        .as_deref()
        .and_then(|c| chartfs::relative_path(c).ok())
    {
        let rel = prefix.join(c);
        out.push((slash(&rel), chart.name().to_string()));
    }
    for sub in chart.subcharts() {
        collect_components(sub, root, out);
    }
}

fn slash(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The component must be packaged and be a component (not a core module, not text).
fn check_component(
    fs: &ChartDir,
    files: &[(String, Vec<u8>)],
    rel: &(String, String),
) -> Result<()> {
    let (path, chart) = rel;
    let Some((_, bytes)) = files.iter().find(|(p, _)| p == path) else {
        bail!(
            "cannot package the chart: the component '{}' that chart '{chart}' names in \
             Chart.yaml `component:` is missing{} (build it first, e.g. `wasmchart build`)",
            fs.display(path).display(),
            if fs.kind(path).ok().flatten().is_some() {
                " from the package: .helmignore leaves it out; remove the rule"
            } else {
                ""
            }
        );
    };
    const MAGIC: &[u8] = b"\0asm";
    const COMPONENT: &[u8] = &[0x0d, 0x00, 0x01, 0x00];
    const MODULE: &[u8] = &[0x01, 0x00, 0x00, 0x00];
    let shown = fs.display(path);
    match (bytes.get(..4), bytes.get(4..8)) {
        (Some(MAGIC), Some(COMPONENT)) => Ok(()),
        (Some(MAGIC), Some(MODULE)) => bail!(
            "cannot package the chart: '{}' (chart '{chart}' `component:`) is a core \
             WebAssembly module, not a component; build it for wasm32-wasip2 or wrap it with \
             `wasm-tools component new`",
            shown.display()
        ),
        _ => bail!(
            "cannot package the chart: '{}' (chart '{chart}' `component:`) is not a \
             WebAssembly component (it does not start with the component header \
             00 61 73 6d 0d 00 01 00)",
            shown.display()
        ),
    }
}

/// Applies `--version`/`--app-version` to Chart.yaml (rewritten from its parsed form, as Helm
/// rewrites it); returns the package's version.
fn apply_overrides(
    fs: &ChartDir,
    files: &mut [(String, Vec<u8>)],
    chart: &Chart,
    overrides: &Overrides,
) -> Result<String> {
    let version = overrides
        .version
        .clone()
        .unwrap_or_else(|| chart.version().to_string());
    if overrides.version.is_none() && overrides.app_version.is_none() {
        return Ok(version);
    }
    if !wasmchart_values::is_compatible_range(&version, &version) {
        bail!("--version {version:?} is not a valid semantic version (e.g. 1.2.3 or 0.1.0-rc.1)");
    }
    let Some((_, bytes)) = files.iter_mut().find(|(p, _)| p == "Chart.yaml") else {
        bail!(
            "cannot package the chart: {} is left out by .helmignore",
            fs.display("Chart.yaml").display()
        );
    };
    let text = String::from_utf8_lossy(bytes).into_owned();
    let origin = fs.display("Chart.yaml").display().to_string();
    let (mut map, _) = wasmchart_values::yaml::parse_values(&text, &origin)?;
    map.insert("version".into(), Value::String(version.clone()));
    if let Some(app) = &overrides.app_version {
        map.insert("appVersion".into(), Value::String(app.clone()));
    }
    *bytes = wasmchart_values::yaml::to_string(&Value::Object(map)).into_bytes();
    Ok(version)
}

/// Helm's entry order: Chart.yaml, Chart.lock, values.yaml, values.schema.json, templates/,
/// the other files, then charts/; by path within each group.
fn order(path: &str) -> (u8, &str) {
    let group = match path {
        "Chart.yaml" => 0,
        "Chart.lock" => 1,
        "values.yaml" => 2,
        "values.schema.json" => 3,
        p if p.starts_with("templates/") => 4,
        p if p.starts_with("charts/") => 6,
        _ => 5,
    };
    (group, path)
}

/// The chart's files, `.helmignore` applied, read through the confined handle.
struct Walk<'a> {
    fs: &'a ChartDir,
    rules: &'a ignore::Rules,
    components: &'a [(String, String)],
    files: Vec<(String, Vec<u8>)>,
    ordinary: u64,
}

impl Walk<'_> {
    fn dir(&mut self, rel: &str, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            bail!(
                "cannot package the chart: {} is nested more than {MAX_DEPTH} directories deep \
                 (a symlink loop?)",
                self.fs.display(rel).display()
            );
        }
        for name in self.fs.list(rel)? {
            let Some(name) = name.to_str() else {
                bail!(
                    "cannot package the chart: a name in {} is not UTF-8 ({}); archives hold \
                     UTF-8 names",
                    self.fs.display(rel).display(),
                    crate::text::escape(&name.to_string_lossy())
                );
            };
            let path = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            self.entry(&path, depth)?;
        }
        Ok(())
    }

    fn entry(&mut self, path: &str, depth: usize) -> Result<()> {
        let kind = self.fs.kind(path)?;
        let is_dir = kind == Some(Kind::Dir);
        if self.rules.ignore(path, is_dir) {
            return Ok(());
        }
        match kind {
            Some(Kind::Dir) => self.dir(path, depth + 1),
            Some(Kind::File) => self.file(path),
            Some(other) => bail!(
                "cannot package the chart: {} is {}; only regular files are packaged (Helm: \
                 \"cannot load irregular file\"); remove it or list it in .helmignore",
                self.fs.display(path).display(),
                other.describe()
            ),
            None => bail!(
                "cannot package the chart: {} is a dangling symlink; remove it or list it in \
                 .helmignore",
                self.fs.display(path).display()
            ),
        }
    }

    fn file(&mut self, path: &str) -> Result<()> {
        if self.files.len() >= MAX_FILES {
            bail!(
                "cannot package the chart: it holds more than {MAX_FILES} files, the limit for \
                 one package"
            );
        }
        let large = self.components.iter().any(|(c, _)| c == path)
            || (path.starts_with("charts/") && path.ends_with(".tgz"));
        let limit = if large {
            chartfs::COMPONENT
        } else {
            Limit {
                what: "a file of a packaged chart (Helm's limit per file)",
                bytes: archive::HELM_FILE,
            }
        };
        let mut bytes = self.fs.read(path, &limit)?;
        if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
            // Helm's loader drops a UTF-8 byte-order mark from every file it packages.
            bytes.drain(..3);
        }
        if !large {
            self.ordinary += bytes.len() as u64;
            if self.ordinary > archive::HELM_TOTAL {
                bail!(
                    "cannot package the chart: its files add up to more than {}, Helm's limit \
                     for one chart decompressed",
                    chartfs::size(archive::HELM_TOTAL)
                );
            }
        }
        self.files.push((path.to_string(), bytes));
        Ok(())
    }
}
