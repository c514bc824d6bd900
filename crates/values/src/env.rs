//! `--env ENV`: which values files come first and which namespace the environment uses.
//! The files are inside the chart: relative paths, read through the chart's confined handle.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::chart::Chart;
use crate::chartfs;
use crate::error::Error;

/// An environment of the umbrella chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Environment {
    /// The environment name.
    pub name: String,
    /// Its values files, applied before any `-f`, as shown in messages (the chart directory
    /// joined with each file's path inside it).
    pub values_files: Vec<PathBuf>,
    /// Its namespace: `environments.<env>.namespace`, else `<chart>-<env>`.
    pub namespace: String,
    /// The same files as paths inside the chart, for its confined reader.
    pub(crate) in_chart: Vec<PathBuf>,
}

impl Environment {
    fn new(chart: &Chart, name: &str, in_chart: Vec<PathBuf>, namespace: String) -> Self {
        Environment {
            name: name.to_string(),
            values_files: in_chart.iter().map(|f| chart.dir().join(f)).collect(),
            namespace,
            in_chart,
        }
    }
}

impl Chart {
    /// Resolves `--env`. When Chart.yaml has an `environments:` map, it is the whole list: an
    /// environment it does not declare is an error listing the ones it does, even when a
    /// `values-<env>.yaml` file exists. Environment names feed secret derivation and the
    /// default namespace, so a second spelling of an environment (`production` beside `prod`)
    /// would silently render another namespace with other passwords. Only a chart without
    /// that map falls back to `values-<env>.yaml`.
    pub fn environment(&self, env: &str) -> Result<Environment, Error> {
        let default_ns = format!("{}-{env}", self.name());
        if let Some(Value::Object(envs)) = &self.metadata().environments {
            return match envs.get(env) {
                Some(entry) => self.entry_environment(env, entry, default_ns),
                None => Err(Error::UnknownEnv {
                    env: env.to_string(),
                    known: envs.keys().cloned().collect(),
                }),
            };
        }
        let file = PathBuf::from(format!("values-{env}.yaml"));
        if chartfs::relative_path(&format!("values-{env}.yaml")).is_ok()
            && !env.contains('/')
            && self.fs().kind(&file)?.is_some()
        {
            return Ok(Environment::new(self, env, vec![file], default_ns));
        }
        Err(Error::UnknownEnv {
            env: env.to_string(),
            known: self.known_environments(),
        })
    }

    /// The environment whose values files include `file` (a `-f` path), if any: rendering with
    /// `-f values-staging.yaml` but no `--env staging` derives other secrets and picks another
    /// namespace than `--env staging` does, so the caller warns.
    pub fn environment_of_file(&self, file: &Path) -> Option<String> {
        let wanted = std::fs::canonicalize(file).ok()?;
        self.known_environments().into_iter().find(|name| {
            self.environment(name).is_ok_and(|env| {
                env.values_files
                    .iter()
                    .any(|f| std::fs::canonicalize(f).is_ok_and(|f| f == wanted))
            })
        })
    }

    fn entry_environment(
        &self,
        env: &str,
        entry: &Value,
        default_ns: String,
    ) -> Result<Environment, Error> {
        let bad = |message: String| Error::Chart {
            dir: self.dir().to_path_buf(),
            message,
        };
        let inside = |s: &str| {
            chartfs::relative_path(s)
                .map_err(|why| bad(format!("Chart.yaml environments.{env}.values: {why}")))
        };
        let files = match entry.get("values") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => vec![inside(s)?],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => inside(s),
                    other => Err(bad(format!(
                        "Chart.yaml environments.{env}.values must list file names, found {other}"
                    ))),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(bad(format!(
                    "Chart.yaml environments.{env}.values must be a list of files, found {other}"
                )));
            }
        };
        let namespace = match entry.get("namespace") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => default_ns,
        };
        Ok(Environment::new(self, env, files, namespace))
    }

    /// The environments `--env` accepts, sorted: the keys of Chart.yaml `environments:` when
    /// that map exists, else the `values-*.yaml` files.
    pub fn known_environments(&self) -> Vec<String> {
        if let Some(Value::Object(envs)) = &self.metadata().environments {
            return envs.keys().cloned().collect();
        }
        let mut known = std::collections::BTreeSet::new();
        if let Ok(names) = self.fs().list("") {
            for name in names {
                let n = name.to_string_lossy().to_string();
                if let Some(env) = n
                    .strip_prefix("values-")
                    .and_then(|r| r.strip_suffix(".yaml"))
                    && !env.is_empty()
                {
                    known.insert(env.to_string());
                }
            }
        }
        known.into_iter().collect()
    }
}
