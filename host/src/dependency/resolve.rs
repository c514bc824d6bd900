//! One dependency to what goes into `charts/`: an archive (packaged from `file://`, pulled
//! from `oci://`) or a directory already in `charts/`.

use anyhow::{Context as _, Result, bail};
use std::path::{Path, PathBuf};
use wasmchart_values::chartfs::{ChartDir, Kind};

use crate::lock::golang::GoDependency;
use crate::oci::{self, ChartRef, RegistryOptions};
use crate::text::escape;

/// Where a resolved dependency's chart comes from.
#[derive(Debug)]
pub enum Source {
    /// Kept where it is: `charts/DIR`.
    InPlace {
        /// `charts/DIR`.
        rel: String,
    },
    /// An archive to install as `charts/FILE`.
    Archive {
        /// `NAME-VERSION.tgz`.
        file_name: String,
        /// Its bytes.
        bytes: Vec<u8>,
    },
}

/// What to resolve a dependency to: the constraint (update) or the exact locked version
/// (build).
#[derive(Debug, Clone, Copy)]
pub enum Want<'a> {
    /// Chart.yaml's version constraint.
    Constraint,
    /// The version Chart.lock pins.
    Exact(&'a str),
}

/// Resolves `dep` of the chart at `chart_dir` (handle `fs`).
///
/// # Errors
///
/// An unsupported repository, a missing path, a version that does not satisfy the constraint
/// (or differs from the lock), a registry or packaging failure; each names the dependency.
pub fn resolve(
    chart_dir: &Path,
    fs: &ChartDir,
    dep: &GoDependency,
    want: Want<'_>,
    registry: &RegistryOptions,
) -> Result<Source> {
    let name = escape(&dep.name);
    let repo = dep.repository.as_str();
    let shown = oci::redact(repo);
    let context = || format!("dependency '{name}' (repository {:?})", escape(&shown));
    if repo.is_empty() {
        return in_place(fs, &format!("charts/{}", dep.name)).with_context(context);
    }
    if let Some(path) = repo.strip_prefix("file://") {
        return from_path(chart_dir, fs, dep, path, want).with_context(context);
    }
    if repo.starts_with("oci://") {
        return from_registry(dep, want, registry).with_context(context);
    }
    if repo.starts_with("http://") || repo.starts_with("https://") {
        bail!(
            "dependency '{name}': {:?} is a classic chart repository (index.yaml), which \
             wasmchart does not fetch; publish the chart to an OCI registry (`wasmchart push`) \
             and use `repository: oci://…`, use `file://PATH`, or vendor it into charts/",
            escape(&shown)
        );
    }
    bail!(
        "dependency '{name}': repository {:?} is not supported; use oci://HOST/PATH, \
         file://PATH, or none for a chart kept in charts/",
        escape(&shown)
    )
}

/// A directory in `charts/`, checked to stay inside the chart.
fn in_place(fs: &ChartDir, rel: &str) -> Result<Source> {
    match fs.kind(rel)? {
        Some(Kind::Dir) => {
            fs.open_subdir(rel)?;
            Ok(Source::InPlace { rel: rel.into() })
        }
        _ => bail!(
            "{} is not a chart directory (a dependency without a repository must be kept \
             there)",
            fs.display(rel).display()
        ),
    }
}

/// `file://PATH`: packaged, unless it is the dependency's own directory in `charts/`, which is
/// kept in place; either way its name and version must be what Chart.yaml asks for (Helm
/// refuses a `file://` chart outside the constraint too).
fn from_path(
    chart_dir: &Path,
    fs: &ChartDir,
    dep: &GoDependency,
    path: &str,
    want: Want<'_>,
) -> Result<Source> {
    let dir: PathBuf = if path.starts_with('/') {
        PathBuf::from(path)
    } else {
        chart_dir.join(path)
    };
    let real = dir
        .canonicalize()
        .with_context(|| format!("directory {} not found", dir.display()))?;
    let charts = chart_dir.join("charts").canonicalize().ok();
    if let (Some(parent), Some(charts)) = (real.parent(), charts)
        && parent == charts
        && let Some(leaf) = real.file_name().and_then(|l| l.to_str())
        && fs.kind(format!("charts/{leaf}"))? == Some(Kind::Dir)
    {
        let rel = format!("charts/{leaf}");
        let source = in_place(fs, &rel)?;
        let chart = wasmchart_values::Chart::load(&real)?;
        let place = fs.display(&rel).display().to_string();
        check_identity(dep, chart.name(), chart.version(), want, &place)?;
        return Ok(source);
    }
    let packaged = crate::package::package(&dir, &crate::package::Overrides::default())?;
    check_identity(
        dep,
        &packaged.name,
        &packaged.version,
        want,
        &dir.display().to_string(),
    )?;
    Ok(Source::Archive {
        file_name: packaged.file_name(),
        bytes: packaged.bytes,
    })
}

/// The chart found must carry the dependency's name and a version the constraint (or lock)
/// accepts.
pub fn check_identity(
    dep: &GoDependency,
    name: &str,
    version: &str,
    want: Want<'_>,
    place: &str,
) -> Result<()> {
    if name != dep.name {
        bail!(
            "{} holds chart '{}', not '{}'",
            escape(place),
            escape(name),
            escape(&dep.name)
        );
    }
    match want {
        Want::Constraint => {
            if !dep.version.is_empty()
                && !wasmchart_values::is_compatible_range(&dep.version, version)
            {
                bail!(
                    "{} holds version {}, which does not satisfy the constraint {:?} in \
                     Chart.yaml",
                    escape(place),
                    escape(version),
                    escape(&dep.version)
                );
            }
        }
        Want::Exact(locked) => {
            if version != locked {
                bail!(
                    "{} holds version {}, but Chart.lock pins {}; run `wasmchart dependency \
                     update` if the change is intended",
                    escape(place),
                    escape(version),
                    escape(locked)
                );
            }
        }
    }
    Ok(())
}

/// `oci://HOST/PATH`: the chart `HOST/PATH/NAME`, newest version matching (or the locked one).
fn from_registry(dep: &GoDependency, want: Want<'_>, registry: &RegistryOptions) -> Result<Source> {
    let r = ChartRef::in_namespace(&dep.repository, &dep.name)?;
    let version = match want {
        Want::Exact(v) => v.to_string(),
        Want::Constraint => {
            let versions = oci::list_versions(&r, registry)?;
            match oci::resolve_version(&versions, &dep.version) {
                Some(v) => v,
                None => bail!(
                    "no version of {r} satisfies the constraint {:?} in Chart.yaml; {}",
                    escape(&dep.version),
                    oci::available(&versions)
                ),
            }
        }
    };
    let pulled = oci::pull_chart(&r, &version, registry)?;
    check_identity(dep, &pulled.name, &pulled.version, want, &r.to_string())?;
    Ok(Source::Archive {
        file_name: format!("{}-{}.tgz", pulled.name, pulled.version),
        bytes: pulled.archive,
    })
}
