//! The mutable chart view Helm's dependency processing works on: names become aliases,
//! disabled subcharts are dropped, values are replaced after import-values.

use serde_json::Value;

use super::gv::{self, GMap};
use crate::chart::Chart;

/// One dependency entry as Helm's processing sees it (`chart.Dependency`).
#[derive(Debug, Clone)]
pub struct Req {
    /// Name, replaced by the alias once processed.
    pub name: String,
    /// Version constraint.
    pub version: String,
    /// Alias ("" when none).
    pub alias: String,
    /// Condition list.
    pub condition: String,
    /// Tags.
    pub tags: Vec<String>,
    /// import-values entries.
    pub import_values: Vec<Value>,
    /// Enabled flag.
    pub enabled: bool,
    /// Index in the chart's Chart.yaml dependencies.
    pub index: usize,
}

/// A chart in the processed tree.
#[derive(Debug, Clone)]
pub struct Node {
    /// Chart name, or the alias it is used under.
    pub name: String,
    /// Chart version.
    pub version: String,
    /// The chart's values (`c.Values`), replaced by import processing.
    pub values: GMap,
    /// `Metadata.Dependencies` (None when the chart lists none).
    pub reqs: Option<Vec<Req>>,
    /// `c.Dependencies()`.
    pub deps: Vec<Node>,
    /// Indexes from the umbrella through `Chart::subcharts` to this chart.
    pub chart_path: Vec<usize>,
    /// Index of the parent's dependency entry this node was made from.
    pub dep_index: Option<usize>,
}

impl Node {
    /// Builds the initial tree: every chart under charts/, names unaliased.
    pub fn build(chart: &Chart, chart_path: Vec<usize>) -> Node {
        let deps = chart
            .subcharts()
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut p = chart_path.clone();
                p.push(i);
                Node::build(c, p)
            })
            .collect();
        let md = chart.metadata();
        let reqs = if md.dependencies.is_empty() {
            None
        } else {
            Some(
                md.dependencies
                    .iter()
                    .enumerate()
                    .map(|(index, d)| Req {
                        name: d.name.clone(),
                        version: d.version.clone(),
                        alias: d.alias.clone().unwrap_or_default(),
                        condition: d.condition.clone().unwrap_or_default(),
                        tags: d.tags.clone(),
                        import_values: d.import_values.clone(),
                        enabled: true,
                        index,
                    })
                    .collect(),
            )
        };
        Node {
            name: chart.name().to_string(),
            version: chart.version().to_string(),
            values: gv::map_from_json(chart.values()),
            reqs,
            deps,
            chart_path,
            dep_index: None,
        }
    }
}
