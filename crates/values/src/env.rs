//! `--env ENV`: which values files come first and which namespace the environment uses.
//! The files are inside the chart: relative paths, read through the chart's confined handle.

use std::path::PathBuf;

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
    /// Resolves `--env`: `environments.<env>` in Chart.yaml when that key exists, else
    /// `values-<env>.yaml`; an unknown environment is an error listing the known ones.
    pub fn environment(&self, env: &str) -> Result<Environment, Error> {
        let default_ns = format!("{}-{env}", self.name());
        if let Some(Value::Object(envs)) = &self.metadata().environments
            && let Some(entry) = envs.get(env)
        {
            return self.entry_environment(env, entry, default_ns);
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

    /// Environment names from Chart.yaml `environments:` and `values-*.yaml` files, sorted.
    pub fn known_environments(&self) -> Vec<String> {
        let mut known = std::collections::BTreeSet::new();
        if let Some(Value::Object(envs)) = &self.metadata().environments {
            known.extend(envs.keys().cloned());
        }
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
