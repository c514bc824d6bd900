//! `crds/`: the CustomResourceDefinitions a chart ships beside its templates. Helm installs
//! them verbatim before everything else and `helm template` prints them, first, only with
//! `--include-crds`; wasmchart does the same, but checks them like any object first.
//!
//! Which files and in what order is Helm's `Chart.CRDObjects` after dependency processing
//! (pkg/action/install.go runs `ProcessDependencies` before `renderResources`): the umbrella's
//! own files, then each enabled subchart's, depth first in dependency order, a disabled
//! subchart's never, an aliased one's under its alias.

use super::refusal;
use crate::policy::{self, Policy};
use crate::post::{self, Object};
use anyhow::{Context as _, Result, bail};
use std::collections::BTreeSet;
use wasmchart_values::chartfs::Budget;
use wasmchart_values::{Chart, CrdFile, EnabledSubchart};

/// The API group every object in `crds/` must belong to.
const GROUP: &str = "apiextensions.k8s.io";

/// The objects of one chart's `crds/`, with who shipped them (for policy messages).
pub(super) struct ChartCrds {
    who: String,
    objects: Vec<Object>,
}

/// Reads, parses and checks the `crds/` of the umbrella and of every enabled subchart, in
/// Helm's order. Each object carries no namespace and keeps its own labels: the host's labels
/// are left off on purpose, because Helm never deletes or upgrades a `crds/` CRD and a prune
/// by those labels (`kubectl apply --prune -l app.kubernetes.io/managed-by=wasmchart`) after a
/// render without `--include-crds` would delete the CRD and with it every object of its kind.
///
/// # Errors
///
/// A file that cannot be read (see [`Chart::crd_files`]), is not YAML or JSON, or holds
/// something other than a valid CustomResourceDefinition; the error names the file and the
/// document.
pub(super) fn load(chart: &Chart, subs: &[EnabledSubchart<'_>]) -> Result<Vec<ChartCrds>> {
    let mut budget = Budget::new(CrdFile::TOTAL_LIMIT);
    let umbrella = chart.name().to_string();
    let mut out = vec![chart_crds(
        chart,
        &umbrella,
        format!("the crds/ of the umbrella '{umbrella}'"),
        &mut budget,
    )?];
    for sub in subs {
        let name = sub.path.join(".");
        let prefix = std::iter::once(umbrella.clone())
            .chain(sub.path.iter().map(|p| format!("charts/{p}")))
            .collect::<Vec<_>>()
            .join("/");
        let who = format!("the crds/ of subchart '{name}'");
        out.push(chart_crds(sub.chart, &prefix, who, &mut budget)?);
    }
    out.retain(|c| !c.objects.is_empty());
    Ok(out)
}

fn chart_crds(chart: &Chart, prefix: &str, who: String, budget: &mut Budget) -> Result<ChartCrds> {
    let files = chart
        .crd_files(budget)
        .with_context(|| format!("cannot read {who}"))?;
    let mut objects = Vec::new();
    for file in &files {
        let source = format!("{prefix}/{}", file.name);
        objects.extend(file_objects(file, &source)?);
    }
    Ok(ChartCrds { who, objects })
}

/// The documents of one file (empty ones skipped, as Kubernetes' YAML reader does), each
/// checked to be a valid CustomResourceDefinition.
fn file_objects(file: &CrdFile, source: &str) -> Result<Vec<Object>> {
    let shown = file.path.display();
    let docs = wasmchart_values::yaml::parse_documents(&file.text, &shown.to_string())
        .with_context(|| format!("{shown} is not valid YAML or JSON"))?;
    docs.into_iter()
        .enumerate()
        .map(|(i, value)| {
            let mut object = Object {
                source: source.to_string(),
                value,
            };
            check(&object)
                .map_err(|reason| anyhow::anyhow!("{shown}: document {}: {reason}", i + 1))?;
            post::set_namespace(&mut object, "");
            Ok(object)
        })
        .collect()
}

fn check(object: &Object) -> Result<(), String> {
    post::check_object(&object.value)?;
    let group = object.api_version().rsplit_once('/').map_or("", |(g, _)| g);
    if object.kind() != "CustomResourceDefinition" || group != GROUP {
        return Err(format!(
            "{} '{}' (apiVersion {}) is not a CustomResourceDefinition of {GROUP}: crds/ may \
             hold only CRDs, which are installed before everything else; other objects belong \
             in a component's output",
            crate::text::escape_short(object.kind(), 100),
            crate::text::escape_short(object.name(), 300),
            crate::text::escape_short(object.api_version(), 100),
        ));
    }
    Ok(())
}

/// Applies the operator's policy to the CRDs, before any component runs. CRDs are denied
/// under any policy unless `kinds.allow` lists them, as when a component emits them.
///
/// # Errors
///
/// Every refused object, all listed in one message.
pub(super) fn check_policy(
    crds: &[ChartCrds],
    policy: Option<&Policy>,
    namespace: &str,
) -> Result<()> {
    // CRDs are never Secrets, so no host Secret can be shadowed here.
    let checker = policy::Checker::new(policy, namespace, BTreeSet::new());
    let mut violations = Vec::new();
    for chart in crds {
        checker.check(&chart.who, &chart.objects, true, &mut violations);
    }
    if !violations.is_empty() {
        bail!("{}", refusal(policy, &violations));
    }
    Ok(())
}

/// Puts the CRDs before every other object, in the order read, and refuses an object that
/// both `crds/` and a component (or the host) produce.
///
/// # Errors
///
/// The same object twice, naming both sources.
pub(super) fn prepend(crds: Vec<ChartCrds>, mut objects: Vec<Object>) -> Result<Vec<Object>> {
    if crds.is_empty() {
        return Ok(objects);
    }
    let mut all: Vec<Object> = crds.into_iter().flat_map(|c| c.objects).collect();
    all.append(&mut objects);
    post::reject_duplicates(&all)?;
    Ok(all)
}
