//! Go templates: wasmchart renders through components and never runs `templates/`. A chart
//! whose Chart.yaml names a `component:` renders through it (its `templates/`, if any, serve
//! Helm users of the same chart); one that names none but has templates would silently lose
//! objects, so the render refuses it, listing every such chart at once.

use anyhow::{Context as _, Result, bail};
use wasmchart_values::{Chart, EnabledSubchart};

/// How many template files an entry of the refusal names before "and N more".
const SHOWN: usize = 3;

/// Refuses the render when the umbrella or an enabled subchart has templates Helm would
/// render but no component to replace them.
///
/// # Errors
///
/// One message listing each such chart (its Chart.yaml and some template files) and saying
/// what to do: an umbrella-level component, a subchart component, or disabling the subchart.
pub(super) fn refuse_go_templates(chart: &Chart, subs: &[EnabledSubchart<'_>]) -> Result<()> {
    let mut charts = Vec::new();
    if let Some(entry) = entry(chart, &format!("the umbrella '{}'", chart.name()))? {
        charts.push(entry);
    }
    for sub in subs {
        let what = format!("subchart '{}'", sub.path.join("."));
        if let Some(entry) = entry(sub.chart, &what)? {
            charts.push(entry);
        }
    }
    if charts.is_empty() {
        return Ok(());
    }
    bail!(
        "wasmchart renders charts through WebAssembly components and does not run Go \
         templates, but {} templates/ and no `component:` in {} Chart.yaml:\n  {}\n\
         Give the umbrella its own component with a top-level `component: <file>.wasm` in its \
         Chart.yaml (it renders with the umbrella's values, sources under \
         '<umbrella>/templates/'); give each subchart a `component:` or disable it (its \
         `condition` or `tags`). `wasmchart values` works on these charts as they are.",
        if charts.len() == 1 {
            "this chart has"
        } else {
            "these charts have"
        },
        if charts.len() == 1 { "its" } else { "their" },
        charts.join("\n  ")
    )
}

/// `what (Chart.yaml): a, b, c and N more` for a chart with templates and no component.
fn entry(chart: &Chart, what: &str) -> Result<Option<String>> {
    if chart.component().is_some() {
        return Ok(None);
    }
    let files = chart
        .template_files()
        .with_context(|| format!("cannot list the templates/ of {what}"))?;
    if files.is_empty() {
        return Ok(None);
    }
    let mut shown = files
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if files.len() > SHOWN {
        shown.push_str(&format!(" and {} more", files.len() - SHOWN));
    }
    Ok(Some(format!(
        "{what} ({}): {shown}",
        chart.dir().join("Chart.yaml").display()
    )))
}
