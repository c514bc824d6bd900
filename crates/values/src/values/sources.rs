//! User-supplied values in Helm's fixed order: env files and `-f` files (merged), then
//! `--set-json`, `--set`, `--set-string`, `--set-file`, `--set-literal`, each family in
//! command-line order. Every source is also kept for provenance.
//!
//! Environment files are inside the chart and read through its confined handle; `-f` and
//! `--set-file` files are the operator's, read by path but with the same rules (regular files
//! only, opened non-blocking, [`chartfs::VALUES`] at most).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::ValueOptions;
use super::strvals::{self, Assignment, SetKind};
use crate::chart::Chart;
use crate::chartfs::{self, Budget};
use crate::env::Environment;
use crate::error::Error;
use crate::path::Seg;
use crate::yaml::{self, LazyMarks};
use std::sync::Arc;

/// What one source contributed, for `explain` and schema error messages.
#[derive(Debug, Clone)]
pub enum Content {
    /// A YAML file: its merged tree and node positions.
    File {
        /// The file as named on the command line or in the chart.
        file: String,
        /// The parsed values.
        tree: Arc<Value>,
        /// Node positions, computed when needed.
        marks: Option<Arc<LazyMarks>>,
    },
    /// A flag expression and what it assigned.
    Flag {
        /// The flag name.
        flag: &'static str,
        /// The expression.
        expr: String,
        /// The assignments it made, in order.
        assigned: Vec<Assignment>,
    },
}

/// One source of values, mounted at a path of the umbrella values.
#[derive(Debug, Clone)]
pub struct Source {
    /// Where the source's root sits in the umbrella's values.
    pub mount: Vec<Seg>,
    /// What it contributed.
    pub content: Content,
}

/// The user values Helm hands to the chart, plus their sources.
pub struct UserValues {
    /// The merged map.
    pub values: Map<String, Value>,
    /// Each file and flag, in application order.
    pub sources: Vec<Source>,
}

/// Parses one values file, keeping its text for positions.
fn values_text(text: String, path: &Path) -> Result<(Map<String, Value>, LazyMarks), Error> {
    let origin = path.display().to_string();
    let m = yaml::parse_values_map(&text, &origin)?;
    Ok((m, LazyMarks::new(text, origin)))
}

/// The environment's files (through the chart's handle), then the `-f` files, each with the
/// path messages show.
fn value_files(
    chart: &Chart,
    env: Option<&Environment>,
    opts: &ValueOptions,
    budget: &mut Budget,
) -> Result<Vec<(PathBuf, String)>, Error> {
    let mut out = Vec::new();
    if let Some(env) = env {
        for (shown, rel) in env.values_files.iter().zip(&env.in_chart) {
            let text = chart.fs().read_to_string(rel, &chartfs::VALUES)?;
            budget.spend(text.len() as u64, shown.clone())?;
            out.push((shown.clone(), text));
        }
    }
    for f in &opts.files {
        let (shown, text) = if f.as_os_str() == "-" {
            let text = chartfs::read_stdin_string(&chartfs::VALUES)?;
            (PathBuf::from(chartfs::STDIN_NAME), text)
        } else {
            (
                f.clone(),
                chartfs::read_operator_string(f, &chartfs::VALUES)?,
            )
        };
        budget.spend(text.len() as u64, shown.clone())?;
        out.push((shown, text));
    }
    Ok(out)
}

/// Builds the user values from files (environment files first) and flags.
pub fn user_values(
    chart: &Chart,
    env: Option<&Environment>,
    opts: &ValueOptions,
) -> Result<UserValues, Error> {
    let mut base = Map::new();
    let mut sources = Vec::new();
    let mut budget = Budget::new(chartfs::VALUES_TOTAL);
    budget.spend(chart.yaml_bytes(), chart.dir().to_path_buf())?;
    for (f, text) in value_files(chart, env, opts, &mut budget)? {
        let (m, marks) = values_text(text, &f)?;
        sources.push(Source {
            mount: Vec::new(),
            content: Content::File {
                file: f.display().to_string(),
                tree: Arc::new(Value::Object(m.clone())),
                marks: Some(Arc::new(marks)),
            },
        });
        yaml::merge_maps(&mut base, m);
    }
    for e in &opts.set_json {
        let assigned = set_json(e, &mut base)?;
        sources.push(flag_source("--set-json", e, assigned));
    }
    let families: [(&'static str, SetKind, &Vec<String>); 4] = [
        ("--set", SetKind::Plain, &opts.set),
        ("--set-string", SetKind::String, &opts.set_string),
        ("--set-file", SetKind::File, &opts.set_file),
        ("--set-literal", SetKind::Literal, &opts.set_literal),
    ];
    let budget = std::cell::RefCell::new(budget);
    for (flag, kind, exprs) in families {
        for e in exprs {
            let reader = |p: &str| -> Result<Value, String> {
                let text = chartfs::read_operator_string(Path::new(p), &chartfs::VALUES)
                    .map_err(|err| err.to_string())?;
                budget
                    .borrow_mut()
                    .spend(text.len() as u64, PathBuf::from(p))
                    .map_err(|err| err.to_string())?;
                Ok(Value::String(text))
            };
            let assigned =
                strvals::parse_into(kind, e, &mut base, Some(&reader)).map_err(|message| {
                    Error::Set {
                        flag,
                        expr: e.clone(),
                        message,
                    }
                })?;
            sources.push(flag_source(flag, e, assigned));
        }
    }
    Ok(UserValues {
        values: base,
        sources,
    })
}

fn flag_source(flag: &'static str, expr: &str, assigned: Vec<Assignment>) -> Source {
    Source {
        mount: Vec::new(),
        content: Content::Flag {
            flag,
            expr: expr.to_string(),
            assigned,
        },
    }
}

/// `--set-json`: a whole JSON object merges into the values; otherwise `key=json` pairs.
fn set_json(expr: &str, base: &mut Map<String, Value>) -> Result<Vec<Assignment>, Error> {
    let trimmed = expr.trim();
    let err = |message: String| Error::Set {
        flag: "--set-json",
        expr: expr.to_string(),
        message,
    };
    if trimmed.starts_with('{') {
        let v: Value =
            serde_json::from_str(trimmed).map_err(|e| err(format!("invalid JSON: {e}")))?;
        let Value::Object(m) = strvals::json_floats(v) else {
            return Err(err("expected a JSON object".into()));
        };
        let assigned = m
            .iter()
            .map(|(k, v)| Assignment {
                path: vec![Seg::Key(k.clone())],
                value: v.clone(),
            })
            .collect();
        yaml::merge_maps(base, m);
        return Ok(assigned);
    }
    strvals::parse_into(SetKind::Json, expr, base, None).map_err(err)
}
