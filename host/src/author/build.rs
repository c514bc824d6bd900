//! `wasmchart build [CHART] [--only NAME...]`: runs the build command each
//! local subchart declares under `build:` in its Chart.yaml (see [`spec`]),
//! deepest subcharts first, checks that what it produced is a WebAssembly
//! component, and installs it atomically where `component:` points.
//!
//! This runs commands a chart names, with the user's privileges: it is the
//! chart author's tool and must never be run on a chart from elsewhere
//! (`render` never runs anything). Every chart file is read through
//! [`chartfs`], so `workdir`, `output` and `component:` stay inside the chart.
//!
//! [`spec`]: super::spec

use super::BuildArgs;
use super::spec::{self, BuildCommand, Spec};
use crate::text;
use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;
use wasmchart_values::chartfs::{self, ChartDir};
use wasmchart_values::yaml;

/// A WebAssembly binary starts with `\0asm`; a component's layer and version
/// follow (`0d 00 01 00`), where a core module has `01 00 00 00`.
const WASM_MAGIC: [u8; 4] = *b"\0asm";
const COMPONENT_LAYER: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];

/// One subchart to build.
struct Target {
    name: String,
    fs: ChartDir,
    component: PathBuf,
    spec: Spec,
    /// `build.workdir` resolved, checked inside the chart before anything runs.
    workdir: PathBuf,
}

/// Builds every selected subchart in order; stops at the first failure.
pub fn run(args: &BuildArgs) -> Result<()> {
    let root = args.chart.clone().unwrap_or_else(|| PathBuf::from("."));
    let fs = ChartDir::open(&root).map_err(|e| anyhow!("{e}"))?;
    if fs.kind("Chart.yaml").map_err(|e| anyhow!("{e}"))?.is_none() {
        bail!(
            "{} is not a chart: Chart.yaml is missing (give the umbrella's or a subchart's directory)",
            root.display()
        );
    }
    let mut targets = Vec::new();
    collect(fs, 0, &mut targets)?;
    let targets = select(targets, &args.only, &root)?;
    for target in &targets {
        build(target)?;
    }
    Ok(())
}

/// The chart's subcharts (depth first, in name order), then the chart itself.
fn collect(fs: ChartDir, depth: usize, out: &mut Vec<Target>) -> Result<()> {
    if depth > chartfs::MAX_CHART_DEPTH {
        bail!(
            "{}: subcharts are nested more than {} levels deep, the limit",
            fs.path().display(),
            chartfs::MAX_CHART_DEPTH
        );
    }
    if fs.kind("charts").map_err(|e| anyhow!("{e}"))? == Some(chartfs::Kind::Dir) {
        for entry in fs.list("charts").map_err(|e| anyhow!("{e}"))? {
            let name = entry.to_string_lossy().into_owned();
            let rel = Path::new("charts").join(&entry);
            if name.starts_with(['_', '.']) {
                continue;
            }
            if name.ends_with(".tgz") {
                note(&format!(
                    "skipping {}: a packaged subchart is never built (build it from its sources)",
                    fs.display(&rel).display()
                ));
            } else if fs.kind(&rel).map_err(|e| anyhow!("{e}"))? == Some(chartfs::Kind::Dir) {
                let sub = fs.open_subdir(&rel).map_err(|e| anyhow!("{e}"))?;
                collect(sub, depth + 1, out)?;
            }
        }
    }
    if let Some(target) = target(fs)? {
        out.push(target);
    }
    Ok(())
}

/// The chart as a build target, if its Chart.yaml has `build:`.
fn target(fs: ChartDir) -> Result<Option<Target>> {
    let chart_yaml = fs.display("Chart.yaml");
    let Some(text) = fs
        .read_optional_string("Chart.yaml", &chartfs::METADATA)
        .map_err(|e| anyhow!("{e}"))?
    else {
        return Ok(None);
    };
    let (raw, _) = yaml::parse_values(&text, &chart_yaml.display().to_string())?;
    let name = match raw.get("name") {
        Some(Value::String(n)) if !n.is_empty() => n.clone(),
        _ => bail!(
            "{}: key \"name\" must be a non-empty string",
            chart_yaml.display()
        ),
    };
    let component = raw.get("component").filter(|c| !c.is_null());
    let build = raw.get("build").filter(|b| !b.is_null());
    let (component, build) = match (component, build) {
        (_, None) => {
            if component.is_some() {
                note(&format!(
                    "skipping {name}: {} names a component but has no `build:` section",
                    chart_yaml.display()
                ));
            }
            return Ok(None);
        }
        (None, Some(_)) => bail!(
            "{}: `build:` needs `component:`, the path where the built component goes",
            chart_yaml.display()
        ),
        (Some(c), Some(b)) => (c, b),
    };
    let component = component
        .as_str()
        .ok_or_else(|| anyhow!("key \"component\" must be a string"))
        .and_then(|c| chartfs::relative_path(c).map_err(|why| anyhow!("key \"component\": {why}")))
        .with_context(|| chart_yaml.display().to_string())?;
    let spec = spec::parse(build).with_context(|| chart_yaml.display().to_string())?;
    let workdir = workdir(&fs, &spec).with_context(|| chart_yaml.display().to_string())?;
    Ok(Some(Target {
        name,
        fs,
        component,
        spec,
        workdir,
    }))
}

/// The directory the command runs in; opening it through the chart's handle
/// refuses one that leaves the chart (a symlink out, say).
fn workdir(fs: &ChartDir, spec: &Spec) -> Result<PathBuf> {
    if spec.workdir.as_os_str().is_empty() {
        return Ok(fs.path().to_path_buf());
    }
    let dir = fs
        .open_subdir(&spec.workdir)
        .map_err(|e| anyhow!("key \"build.workdir\": {e}"))?;
    Ok(dir.path().to_path_buf())
}

/// The targets `--only` names (all without it); a name that matches none is an error.
fn select(targets: Vec<Target>, only: &[String], root: &Path) -> Result<Vec<Target>> {
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    if names.is_empty() {
        bail!(
            "nothing to build in {}: neither the chart nor a subchart directory under charts/ has \
             a `build:` section in its Chart.yaml",
            root.display()
        );
    }
    if let Some(unknown) = only.iter().find(|o| !names.contains(&o.as_str())) {
        bail!(
            "--only {unknown}: no subchart with a `build:` section has that name (there are: {})",
            names.join(", ")
        );
    }
    Ok(targets
        .into_iter()
        .filter(|t| only.is_empty() || only.contains(&t.name))
        .collect())
}

fn note(message: &str) {
    eprintln!("note: {}", text::escape(message));
}

/// Runs one build and installs its component; on any failure the previous
/// component is left (or put back) as it was.
fn build(t: &Target) -> Result<()> {
    let command = t.spec.command.to_string();
    eprintln!(
        "building {}: {}",
        text::escape(&t.name),
        text::escape(&command)
    );
    let started = Instant::now();
    // Without `output`, the command writes the component itself: keep the old one to put back.
    let previous = match t.spec.output {
        Some(_) => None,
        None => Some(read_optional(&t.fs, &t.component)?),
    };
    let outcome = match spawn(t) {
        Err(e) => Err(format!("cannot run `{command}`: {e:#}")),
        Ok(status) if !status.success() => Err(format!("`{command}` {}", describe(status))),
        Ok(_) => built_bytes(t).map_err(|why| format!("`{command}` succeeded, but {why}")),
    };
    let bytes = match outcome {
        Ok(bytes) => bytes,
        Err(why) => {
            let kept = restore(t, previous)?;
            bail!(
                "building subchart {} ({}): {why}; {kept}",
                t.name,
                t.fs.display("Chart.yaml").display()
            );
        }
    };
    if t.spec.output.is_some() {
        write(t, &bytes)?;
    }
    eprintln!(
        "built {}: {} ({}) in {:.1}s",
        text::escape(&t.name),
        t.fs.display(&t.component).display(),
        chartfs::size(bytes.len() as u64),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn spawn(t: &Target) -> Result<ExitStatus> {
    let mut cmd = match &t.spec.command {
        BuildCommand::Shell(s) => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(s);
            c
        }
        BuildCommand::Argv(argv) => {
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        }
    };
    Ok(cmd.current_dir(&t.workdir).stdin(Stdio::null()).status()?)
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => format!("failed ({status})"),
    }
}

/// The produced component (`output`, else `component:`), checked to be one.
fn built_bytes(t: &Target) -> Result<Vec<u8>, String> {
    let rel = t.spec.output.as_ref().unwrap_or(&t.component);
    let what = if t.spec.output.is_some() {
        "build.output"
    } else {
        "component:"
    };
    let shown = t.fs.display(rel);
    let bytes = t.fs.read(rel, &chartfs::COMPONENT).map_err(|e| {
        if e.is_not_found() {
            format!(
                "{what} {} does not exist (did the command write it?)",
                shown.display()
            )
        } else {
            format!("{what}: {e}")
        }
    })?;
    check_component(&bytes).map_err(|why| format!("{what} {} {why}", shown.display()))?;
    Ok(bytes)
}

/// Why `bytes` is not a WebAssembly component, if it is not.
pub fn check_component(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 8 || bytes[..4] != WASM_MAGIC {
        return Err("is not WebAssembly (it does not start with \\0asm)".into());
    }
    if bytes[4..8] != COMPONENT_LAYER {
        return Err(
            "is a core WebAssembly module, not a component: build for wasm32-wasip2 \
                    (Rust) or componentize it (componentize-js, componentize-py)"
                .into(),
        );
    }
    Ok(())
}

fn read_optional(fs: &ChartDir, rel: &Path) -> Result<Option<Vec<u8>>> {
    fs.read_optional(rel, &chartfs::COMPONENT)
        .map_err(|e| anyhow!("{e}"))
}

/// After a failure: with `output` (`previous` is `None`), nothing was
/// touched; without it, the previous component is written back, or a new
/// invalid one removed. Returns what happened, for the message.
fn restore(t: &Target, previous: Option<Option<Vec<u8>>>) -> Result<String> {
    let shown = t.fs.display(&t.component);
    let Some(previous) = previous else {
        return Ok(format!("{} is unchanged", shown.display()));
    };
    let now = read_optional(&t.fs, &t.component).ok().flatten();
    match (previous, now) {
        (Some(old), Some(now)) if old == now => Ok(format!("{} is unchanged", shown.display())),
        (Some(old), _) => {
            write(t, &old)?;
            Ok(format!("the previous {} was put back", shown.display()))
        }
        (None, Some(_)) => {
            std::fs::remove_file(&shown)
                .with_context(|| format!("cannot remove {}", shown.display()))?;
            Ok(format!("the invalid {} was removed", shown.display()))
        }
        (None, None) => Ok(format!("no component was installed at {}", shown.display())),
    }
}

/// Writes `bytes` to `component:`, atomically (temporary file, then rename).
fn write(t: &Target, bytes: &[u8]) -> Result<()> {
    let file = t
        .component
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| anyhow!("component: {} names no file", t.component.display()))?;
    let result = match t.component.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => {
            t.fs.open_subdir(parent)
                .and_then(|dir| dir.write_atomic(file, bytes, 0o644))
        }
        None => t.fs.write_atomic(file, bytes, 0o644),
    };
    result.map_err(|e| anyhow!("cannot install the component: {e}"))
}
