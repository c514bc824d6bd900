//! Value computation: user values, dependency processing, coalescing, schema validation and
//! provenance, giving the umbrella's `.Values` and each enabled subchart's values exactly as
//! Helm hands them to templates.

mod coalesce;
mod deps;
mod explain;
mod gv;
mod node;
mod schema;
mod sources;
pub mod strvals;

use std::borrow::Cow;
use std::path::PathBuf;

use serde_json::Value;

use crate::chart::{Chart, Dependency};
use crate::error::Error;
use crate::path::{self, Seg};
use node::Node;

pub use explain::{Explanation, Step};

/// The value flags of `wasmchart values` / `render`, each family in command-line order.
#[derive(Debug, Clone, Default)]
pub struct ValueOptions {
    /// `--env`: the environment whose values files come first.
    pub env: Option<String>,
    /// `-f` files, in order.
    pub files: Vec<PathBuf>,
    /// `--set` expressions.
    pub set: Vec<String>,
    /// `--set-string` expressions.
    pub set_string: Vec<String>,
    /// `--set-json` expressions.
    pub set_json: Vec<String>,
    /// `--set-literal` expressions.
    pub set_literal: Vec<String>,
    /// `--set-file` expressions (`key=path`).
    pub set_file: Vec<String>,
}

/// The result of [`compute`]: the umbrella values, the enabled subcharts and provenance.
#[derive(Debug)]
pub struct Computed {
    chart: Chart,
    values: Value,
    enabled: Vec<Enabled>,
    sources: Vec<sources::Source>,
}

#[derive(Debug)]
struct Enabled {
    path: Vec<String>,
    chart_path: Vec<usize>,
    parent_chart_path: Vec<usize>,
    dep_index: Option<usize>,
}

/// A subchart that renders, with the values its templates (or component) receive.
#[derive(Debug)]
pub struct EnabledSubchart<'a> {
    /// Names or aliases from the umbrella down, e.g. `["backend", "db"]`.
    pub path: Vec<String>,
    /// The loaded chart.
    pub chart: &'a Chart,
    /// The subchart's section of the values, with `global` merged in:
    /// borrowed from the umbrella's, unless the section is absent (empty).
    pub values: Cow<'a, Value>,
    /// The parent's dependency entry (alias, `limits:`), None for charts not listed there.
    pub dependency: Option<&'a Dependency>,
}

fn chart_at<'a>(root: &'a Chart, path: &[usize]) -> &'a Chart {
    let mut c = root;
    for &i in path {
        c = &c.subcharts()[i];
    }
    c
}

impl Computed {
    /// The umbrella's `.Values`.
    pub fn values(&self) -> &Value {
        &self.values
    }

    /// The umbrella chart the values were computed for.
    pub fn chart(&self) -> &Chart {
        &self.chart
    }

    /// Enabled subcharts, depth-first in dependency order; disabled ones are absent.
    pub fn enabled_subcharts(&self) -> Vec<EnabledSubchart<'_>> {
        self.enabled
            .iter()
            .map(|e| {
                let segs: Vec<Seg> = e.path.iter().map(|p| Seg::Key(p.clone())).collect();
                let values = path::lookup(&self.values, &segs).map_or_else(
                    || Cow::Owned(Value::Object(Default::default())),
                    Cow::Borrowed,
                );
                let parent = chart_at(&self.chart, &e.parent_chart_path);
                EnabledSubchart {
                    path: e.path.clone(),
                    chart: chart_at(&self.chart, &e.chart_path),
                    values,
                    dependency: e.dep_index.map(|i| &parent.metadata().dependencies[i]),
                }
            })
            .collect()
    }

    /// The final value at `path` (`a.b[0].c`) and every source that set or overrode it.
    pub fn explain(&self, path: &str) -> Result<Explanation, Error> {
        let segs = path::parse(path).map_err(|message| Error::BadPath {
            path: path.to_string(),
            message,
        })?;
        Ok(explain::explain(self, &segs))
    }
}

/// Computes the umbrella's values and each enabled subchart's values as Helm would.
pub fn compute(chart: &Chart, opts: &ValueOptions) -> Result<Computed, Error> {
    let env = match &opts.env {
        Some(env) => Some(chart.environment(env)?),
        None => None,
    };
    let user = sources::user_values(chart, env.as_ref(), opts)?;
    let vals = gv::map_from_json(&user.values);
    let mut root = Node::build(chart, Vec::new());
    deps::process(&mut root, &vals)?;
    let fin = coalesce::coalesce_values_taking(&mut root, &vals)?;
    let values = Value::Object(gv::map_into_json(fin));
    let mut enabled = Vec::new();
    collect(&root, &mut Vec::new(), &mut enabled);
    let mut all = chart_sources(chart, &enabled);
    all.extend(user.sources);
    let computed = Computed {
        chart: chart.clone(),
        values,
        enabled,
        sources: all,
    };
    schema::validate(&computed, &root)?;
    Ok(computed)
}

fn collect(node: &Node, prefix: &mut Vec<String>, out: &mut Vec<Enabled>) {
    for d in &node.deps {
        prefix.push(d.name.clone());
        out.push(Enabled {
            path: prefix.clone(),
            chart_path: d.chart_path.clone(),
            parent_chart_path: node.chart_path.clone(),
            dep_index: d.dep_index,
        });
        collect(d, prefix, out);
        prefix.pop();
    }
}

/// Chart defaults as sources: deepest subcharts first (lowest precedence), umbrella last.
fn chart_sources(chart: &Chart, enabled: &[Enabled]) -> Vec<sources::Source> {
    let mut list: Vec<(usize, Vec<Seg>, &Chart)> = enabled
        .iter()
        .map(|e| {
            let mount = e.path.iter().map(|p| Seg::Key(p.clone())).collect();
            (e.path.len(), mount, chart_at(chart, &e.chart_path))
        })
        .collect();
    list.push((0, Vec::new(), chart));
    list.sort_by_key(|e| std::cmp::Reverse(e.0));
    list.into_iter()
        .filter_map(|(_, mount, c)| {
            let file = c.values_file()?.display().to_string();
            Some(sources::Source {
                mount,
                content: sources::Content::File {
                    file,
                    tree: c.values_shared(),
                    marks: c.lazy_marks(),
                },
            })
        })
        .collect()
}
