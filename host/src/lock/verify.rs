//! Render-time lock verification: what `charts/` holds must be what Chart.lock pins.

use anyhow::{Result, bail};
use std::collections::BTreeSet;
use wasmchart_values::Chart;

use super::{ComponentDigests, Lock, Locked, Observed, observe, requested};
use crate::text::escape;

/// Who demands a lock, named in the error when there is none or it is stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// "--verify-lock" or "the policy 'FILE' (requireLock: true)".
    pub by: String,
}

/// Checks the loaded umbrella `chart` against its Chart.lock, if it has one: every
/// dependency in `charts/` must be locked, every locked one present, at the locked version,
/// with the locked archive or directory digest and every component's digest. Returns
/// warnings (a lock Helm wrote, without digests; a stale lock when nothing requires one).
///
/// Without a lock and without `require`, this costs one failed file lookup.
///
/// # Errors
///
/// Any mismatch (all of them in one message, each naming the dependency, the file, the
/// expected and the actual digest); with `require`, a missing or stale lock, or one without
/// digests.
pub fn verify(
    chart: &Chart,
    require: Option<&Requirement>,
    digests: ComponentDigests<'_>,
) -> Result<Vec<String>> {
    let fs = chart.fs();
    let lock_path = fs.display(super::LOCK_FILE);
    let Some(lock) = Lock::read(fs)? else {
        if let Some(r) = require {
            bail!(
                "{} requires a lock, and {} does not exist; run `wasmchart dependency update {}` \
                 and commit Chart.lock",
                r.by,
                lock_path.display(),
                chart.dir().display()
            );
        }
        return Ok(Vec::new());
    };
    let mut warnings = Vec::new();
    if !lock.in_sync(&requested(fs)?) {
        let what = format!(
            "{} is out of sync with the dependencies in Chart.yaml (its digest: no longer \
             matches); run `wasmchart dependency update {}`",
            lock_path.display(),
            chart.dir().display()
        );
        match require {
            Some(r) => bail!("{} requires an up-to-date lock: {what}", r.by),
            None => warnings.push(format!("{what}; the charts are still checked against it")),
        }
    }
    let unpinned: Vec<&str> = lock
        .dependencies
        .iter()
        .filter(|d| d.digest.is_none())
        .map(|d| d.name.as_str())
        .collect();
    if !unpinned.is_empty() {
        let what = format!(
            "{} pins no content for {} (a lock written by helm has no digests); run \
             `wasmchart dependency update {}`",
            lock_path.display(),
            unpinned.join(", "),
            chart.dir().display()
        );
        match require {
            Some(r) => bail!("{} requires pinned components: {what}", r.by),
            None => warnings.push(what),
        }
    }
    let problems = compare(chart, &lock, digests)?;
    if !problems.is_empty() {
        bail!(
            "the charts do not match {}; refusing to render bytes the lock does not pin (run \
             `wasmchart dependency build` to restore the locked charts, or `dependency update` \
             if the change is intended):\n{}",
            lock_path.display(),
            problems.join("\n")
        );
    }
    Ok(warnings)
}

/// Every difference between the subcharts loaded and the lock, one line each.
fn compare(chart: &Chart, lock: &Lock, digests: ComponentDigests<'_>) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for sub in chart.subcharts() {
        let name = sub.name();
        let Some(locked) = lock.dependencies.iter().find(|d| d.name == name) else {
            problems.push(format!(
                "- dependency '{}' is in charts/ but not in Chart.lock",
                escape(name)
            ));
            continue;
        };
        if !seen.insert(name.to_string()) {
            problems.push(format!(
                "- dependency '{}' is in charts/ more than once",
                escape(name)
            ));
            continue;
        }
        let observed = observe(chart.fs(), sub, digests)?;
        compare_one(locked, &observed, &mut problems);
    }
    for d in &lock.dependencies {
        if !seen.contains(&d.name) {
            problems.push(format!(
                "- dependency '{}' is locked at {} but not in charts/",
                escape(&d.name),
                escape(&d.version)
            ));
        }
    }
    Ok(problems)
}

fn compare_one(locked: &Locked, o: &Observed, problems: &mut Vec<String>) {
    let name = escape(&o.name);
    if locked.version != o.version {
        problems.push(format!(
            "- dependency '{name}': charts/ holds version {}, the lock pins {}",
            escape(&o.version),
            escape(&locked.version)
        ));
    }
    if let Some(expected) = &locked.digest
        && *expected != o.digest
    {
        problems.push(format!(
            "- dependency '{name}': {} {}: expected {}, actual {}",
            if o.packaged { "archive" } else { "directory" },
            escape(&o.place),
            escape(expected),
            o.digest
        ));
    }
    if locked.digest.is_none() {
        return;
    }
    for (path, actual) in &o.components {
        match locked.components.get(path) {
            Some(expected) if expected == actual => {}
            Some(expected) => problems.push(format!(
                "- dependency '{name}': component {}/{}: expected {}, actual {actual}",
                escape(&o.place),
                escape(path),
                escape(expected)
            )),
            None => problems.push(format!(
                "- dependency '{name}': component {}/{} is not in the lock",
                escape(&o.place),
                escape(path)
            )),
        }
    }
    for path in locked.components.keys() {
        if !o.components.contains_key(path) {
            problems.push(format!(
                "- dependency '{name}': the locked component {} is missing from {}",
                escape(path),
                escape(&o.place)
            ));
        }
    }
}
