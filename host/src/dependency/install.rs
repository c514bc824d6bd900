//! Staging, checking and installing resolved dependencies; writing Chart.lock.

use anyhow::{Context as _, Result, bail};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use wasmchart_values::Chart;
use wasmchart_values::chartfs::ChartDir;

use super::resolve::{self, Source, Want};
use crate::lock::golang::{self, GoDependency};
use crate::lock::{self, Lock, Locked, Observed};
use crate::oci::RegistryOptions;
use crate::text::escape;

/// `dependency update`.
///
/// # Errors
///
/// See [`super::run`].
pub fn update(chart_dir: &Path, registry: &RegistryOptions) -> Result<()> {
    let fs = ChartDir::open(chart_dir)?;
    let requested = lock::requested(&fs)?;
    if requested.is_empty() {
        println!("No dependencies in Chart.yaml; nothing to do.");
        return Ok(());
    }
    flag_credentials_for_one_registry(&requested, registry)?;
    let sources = requested
        .iter()
        .map(|d| resolve::resolve(chart_dir, &fs, d, Want::Constraint, registry))
        .collect::<Result<Vec<_>>>()?;
    let entries = install(chart_dir, &fs, &requested, sources, None)?;
    let old = Lock::read(&fs).ok().flatten();
    let mut lock = Lock {
        generated: golang::now_rfc3339(),
        digest: Lock::hash(&requested, &entries),
        dependencies: entries,
    };
    if let Some(old) = old
        && old.digest == lock.digest
        && old.dependencies == lock.dependencies
    {
        lock.generated = old.generated;
    }
    fs.write_atomic(lock::LOCK_FILE, lock.to_yaml().as_bytes(), 0o644)?;
    report(&lock, "Saved")
}

/// `dependency build`.
///
/// # Errors
///
/// See [`super::run`]; also a stale lock or any digest differing from the lock's.
pub fn build(chart_dir: &Path, registry: &RegistryOptions) -> Result<()> {
    let fs = ChartDir::open(chart_dir)?;
    let Some(lock) = Lock::read(&fs)? else {
        println!("No Chart.lock; running `dependency update`.");
        return update(chart_dir, registry);
    };
    let requested = lock::requested(&fs)?;
    if !lock.in_sync(&requested) {
        bail!(
            "the lock file {} is out of sync with the dependencies in Chart.yaml (Helm: \"the \
             lock file (Chart.lock) is out of sync with the dependencies file (Chart.yaml)\"); \
             run `wasmchart dependency update {}`",
            fs.display(lock::LOCK_FILE).display(),
            chart_dir.display()
        );
    }
    for l in &lock.dependencies {
        unpinned_outside(chart_dir, l)?;
    }
    let locked: Vec<GoDependency> = lock
        .dependencies
        .iter()
        .map(|l| GoDependency::locked(&l.name, &l.version, &l.repository))
        .collect();
    flag_credentials_for_one_registry(&locked, registry)?;
    let sources = lock
        .dependencies
        .iter()
        .map(|l| {
            let dep = GoDependency::locked(&l.name, &l.version, &l.repository);
            resolve::resolve(chart_dir, &fs, &dep, Want::Exact(&l.version), registry)
        })
        .collect::<Result<Vec<_>>>()?;
    install(chart_dir, &fs, &locked, sources, Some(&lock))?;
    report(&lock, "Installed")
}

/// `build` runs on other people's charts from their committed lock: a `file://` path that
/// leads outside the chart (another checkout on a shared runner, say) is followed only when
/// the lock pins its digest, so nothing unknown is ever copied into `charts/`. A lock Helm
/// wrote (no digests) must be re-resolved by `update`, which is for charts you trust.
fn unpinned_outside(chart_dir: &Path, l: &Locked) -> Result<()> {
    let Some(path) = l.repository.strip_prefix("file://") else {
        return Ok(());
    };
    if l.digest.is_some() {
        return Ok(());
    }
    let root = chart_dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", chart_dir.display()))?;
    // A path that does not resolve is reported by the resolver, naming it.
    let Ok(real) = root.join(path).canonicalize() else {
        return Ok(());
    };
    if !real.starts_with(&root) {
        bail!(
            "dependency '{}': Chart.lock pins no digest for {}, which leads outside the chart; \
             `dependency build` follows such a path only to content the lock pins (run \
             `wasmchart dependency update {}` if you trust this chart); nothing was installed",
            escape(&l.name),
            escape(&l.repository),
            chart_dir.display()
        );
    }
    Ok(())
}

/// `--username`/`--password-stdin` are meant for one registry, but the registries here are
/// the ones the chart names: a chart adding a dependency on its own registry would receive
/// them. So flag credentials are refused when the dependencies span several registries
/// (stored logins, which are per registry, are the way then).
fn flag_credentials_for_one_registry(
    deps: &[GoDependency],
    registry: &RegistryOptions,
) -> Result<()> {
    if registry.username.is_none() {
        return Ok(());
    }
    let hosts: std::collections::BTreeSet<String> = deps
        .iter()
        .filter(|d| d.repository.starts_with("oci://"))
        .filter_map(|d| crate::oci::ChartRef::in_namespace(&d.repository, &d.name).ok())
        .map(|r| r.registry().to_string())
        .collect();
    if hosts.len() > 1 {
        let hosts: Vec<String> = hosts.iter().map(|h| escape(h).into_owned()).collect();
        bail!(
            "--username/--password-stdin would be sent to every registry the chart names ({}); \
             give credentials per registry instead (`wasmchart registry login HOST --username \
             USER --password-stdin`, or a Docker config), so a chart cannot collect them",
            hosts.join(", ")
        );
    }
    Ok(())
}

fn report(lock: &Lock, verb: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for d in &lock.dependencies {
        writeln!(
            out,
            "{verb} {} {} ({}): {}",
            escape(&d.name),
            escape(&d.version),
            if d.repository.is_empty() {
                "charts/".to_string()
            } else {
                escape(&crate::oci::redact(&d.repository)).into_owned()
            },
            d.digest.as_deref().unwrap_or("-")
        )?;
    }
    Ok(())
}

/// Stages the archives, observes everything, checks against `pinned` (build), then moves the
/// archives into `charts/` and removes the replaced ones. Returns the lock entries, in `deps`
/// order.
fn install(
    chart_dir: &Path,
    fs: &ChartDir,
    deps: &[GoDependency],
    sources: Vec<Source>,
    pinned: Option<&Lock>,
) -> Result<Vec<Locked>> {
    let charts = charts_dir(chart_dir)?;
    let staging = tempfile::Builder::new()
        .prefix(".wasmchart-staging-")
        .tempdir_in(&charts)
        .with_context(|| format!("cannot create a staging directory in {}", charts.display()))?;
    std::fs::create_dir(staging.path().join("charts"))?;
    std::fs::write(
        staging.path().join("Chart.yaml"),
        "apiVersion: v2\nname: wasmchart-staging\nversion: 0.0.0\n",
    )?;
    let mut archives: BTreeMap<String, usize> = BTreeMap::new();
    for (i, s) in sources.iter().enumerate() {
        if let Source::Archive { file_name, bytes } = s
            && archives.insert(file_name.clone(), i).is_none()
        {
            plain_file_name(file_name)?;
            crate::package::write_file_atomic(
                &staging.path().join("charts").join(file_name),
                bytes,
            )?;
        }
    }
    let staged =
        Chart::load(staging.path()).context("a fetched or packaged dependency does not load")?;
    let mut entries = Vec::with_capacity(deps.len());
    for (dep, source) in deps.iter().zip(&sources) {
        let observed = observe_source(chart_dir, fs, &staged, source)
            .with_context(|| format!("dependency '{}'", escape(&dep.name)))?;
        if let Some(lock) = pinned {
            check_pinned(lock, dep, &observed)?;
        }
        entries.push(Locked {
            name: dep.name.clone(),
            repository: dep.repository.clone(),
            version: observed.version,
            digest: Some(observed.digest),
            components: observed.components,
        });
    }
    for file_name in archives.keys() {
        std::fs::rename(
            staging.path().join("charts").join(file_name),
            charts.join(file_name),
        )
        .with_context(|| format!("cannot move {file_name} into {}", charts.display()))?;
    }
    remove_replaced(&charts, deps, &archives)?;
    Ok(entries)
}

/// An archive's name becomes a path in `charts/`: it must be one plain file name (the chart
/// name and version checks upstream guarantee it; this is the last line before a write).
fn plain_file_name(name: &str) -> Result<()> {
    let plain = std::path::Path::new(name)
        .components()
        .map(|c| matches!(c, std::path::Component::Normal(_)))
        .collect::<Vec<_>>()
        == [true];
    if !plain || name.contains('\\') {
        bail!(
            "refusing to write the archive {:?}: not a plain file name inside charts/",
            escape(name)
        );
    }
    Ok(())
}

/// `charts/`, created if missing; refused when it is a symlink (a chart is untrusted, and
/// writing through its link would write wherever it points).
fn charts_dir(chart_dir: &Path) -> Result<std::path::PathBuf> {
    let charts = chart_dir.join("charts");
    match std::fs::symlink_metadata(&charts) {
        Ok(m) if m.file_type().is_symlink() => bail!(
            "{} is a symlink; dependency update writes only into a real charts/ directory",
            charts.display()
        ),
        Ok(m) if !m.is_dir() => bail!("{} is not a directory", charts.display()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(&charts)
            .with_context(|| format!("cannot create {}", charts.display()))?,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", charts.display())),
    }
    Ok(charts)
}

fn observe_source(
    chart_dir: &Path,
    fs: &ChartDir,
    staged: &Chart,
    source: &Source,
) -> Result<Observed> {
    match source {
        Source::Archive { file_name, .. } => {
            let sub = staged
                .subcharts()
                .iter()
                .find(|s| {
                    s.fs()
                        .packaged()
                        .is_some_and(|t| t.archive().file_name() == Some(file_name.as_ref()))
                })
                .with_context(|| format!("{file_name} did not load as a chart"))?;
            let mut o = lock::observe(staged.fs(), sub, &lock::component_digest)?;
            o.place = format!("charts/{file_name}");
            Ok(o)
        }
        Source::InPlace { rel } => {
            let chart = Chart::load(&chart_dir.join(rel))?;
            lock::observe(fs, &chart, &lock::component_digest)
        }
    }
}

/// `build`: what was fetched, packaged or kept must be what the lock pins.
fn check_pinned(lock: &Lock, dep: &GoDependency, o: &Observed) -> Result<()> {
    let Some(locked) = lock
        .dependencies
        .iter()
        .find(|l| l.name == dep.name && l.repository == dep.repository)
    else {
        return Ok(());
    };
    let name = escape(&dep.name);
    if let Some(expected) = &locked.digest
        && *expected != o.digest
    {
        bail!(
            "dependency '{name}': {} has digest {}, but Chart.lock pins {}; the source changed \
             since the lock was written (run `wasmchart dependency update` if that is \
             intended); nothing was installed",
            escape(&o.place),
            o.digest,
            escape(expected)
        );
    }
    if locked.digest.is_some() && locked.components != o.components {
        bail!(
            "dependency '{name}': the components in {} differ from those Chart.lock pins; \
             nothing was installed",
            escape(&o.place)
        );
    }
    Ok(())
}

/// Removes the archives in `charts/` of the dependencies just installed that were not
/// written now (an older version, say), as Helm deletes outdated charts. Archives of other
/// charts are left alone.
fn remove_replaced(
    charts: &Path,
    deps: &[GoDependency],
    written: &BTreeMap<String, usize>,
) -> Result<()> {
    for entry in std::fs::read_dir(charts)? {
        let entry = entry?;
        let Some(file) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if written.contains_key(&file) || !entry.file_type()?.is_file() {
            continue;
        }
        let Some(stem) = file.strip_suffix(".tgz") else {
            continue;
        };
        let replaced = deps.iter().any(|d| {
            stem.strip_prefix(&d.name)
                .and_then(|v| v.strip_prefix('-'))
                .is_some_and(|v| wasmchart_values::is_compatible_range(v, v))
        });
        if replaced {
            std::fs::remove_file(entry.path()).with_context(|| {
                format!("cannot remove the outdated {}", entry.path().display())
            })?;
        }
    }
    Ok(())
}
