//! The `build:` section of a Chart.yaml: `command` (a string run with
//! `sh -c`, or a list run as argv without a shell), `workdir` (relative to
//! the chart directory, default the chart directory) and `output` (the
//! component the command produces, relative to the chart directory; without
//! it the command writes `component:` itself).

use anyhow::{Result, bail};
use serde_json::{Map, Value};
use std::fmt;
use std::path::PathBuf;
use wasmchart_values::chartfs;

/// How a subchart's component is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// What runs.
    pub command: BuildCommand,
    /// Where it runs, relative to the chart directory (empty: the chart directory).
    pub workdir: PathBuf,
    /// The component it produces, relative to the chart directory.
    pub output: Option<PathBuf>,
}

/// `build.command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildCommand {
    /// A string, run with `sh -c` (as spin does).
    Shell(String),
    /// A list: the program and its arguments, no shell.
    Argv(Vec<String>),
}

impl fmt::Display for BuildCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildCommand::Shell(s) => f.write_str(s),
            BuildCommand::Argv(args) => {
                let quoted: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
                f.write_str(&quoted.join(" "))
            }
        }
    }
}

/// `arg` as a shell word, for display only.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

const KEYS: [&str; 3] = ["command", "workdir", "output"];

/// Parses `build:` (`raw`, the Chart.yaml's value for it). Errors name the key.
pub fn parse(raw: &Value) -> Result<Spec> {
    let Value::Object(map) = raw else {
        bail!("key \"build\" must be a map with `command` (and optionally `workdir`, `output`)");
    };
    if let Some(key) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        bail!("key \"build.{key}\" is not known; `build:` takes command, workdir and output");
    }
    Ok(Spec {
        command: command(map)?,
        workdir: match optional_string(map, "workdir")?.as_deref() {
            None | Some("" | ".") => PathBuf::new(),
            Some(dir) => inside("workdir", dir)?,
        },
        output: optional_string(map, "output")?
            .map(|o| inside("output", &o))
            .transpose()?,
    })
}

fn command(map: &Map<String, Value>) -> Result<BuildCommand> {
    match map.get("command") {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(BuildCommand::Shell(s.clone())),
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) if i > 0 || !s.is_empty() => Ok(s.clone()),
                _ => bail!("key \"build.command[{i}]\" must be a non-empty string"),
            })
            .collect::<Result<_>>()
            .map(BuildCommand::Argv),
        None | Some(Value::Null) => bail!("key \"build.command\" is missing"),
        Some(_) => bail!(
            "key \"build.command\" must be a non-empty string (run with sh -c) or a non-empty \
             list of strings (the program and its arguments)"
        ),
    }
}

fn optional_string(map: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => bail!("key \"build.{key}\" must be a string"),
    }
}

/// A path that must stay inside the chart directory.
fn inside(key: &str, path: &str) -> Result<PathBuf> {
    chartfs::relative_path(path).or_else(|why| bail!("key \"build.{key}\": {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_command_forms_and_the_defaults() {
        let spec = parse(&json!({"command": "make"})).unwrap();
        assert_eq!(spec.command, BuildCommand::Shell("make".into()));
        assert_eq!(spec.workdir, PathBuf::new());
        assert_eq!(spec.output, None);
        let spec = parse(
            &json!({"command": ["cargo", "build", "a b"], "workdir": "c", "output": "c/x.wasm"}),
        )
        .unwrap();
        assert_eq!(spec.command.to_string(), "cargo build 'a b'");
        assert_eq!(spec.workdir, PathBuf::from("c"));
        assert_eq!(spec.output, Some(PathBuf::from("c/x.wasm")));
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (json!("make"), "key \"build\" must be a map"),
            (json!({}), "key \"build.command\" is missing"),
            (json!({"command": 3}), "key \"build.command\" must be"),
            (json!({"command": ["make", 1]}), "key \"build.command[1]\""),
            (
                json!({"command": "make", "workdir": "../x"}),
                "key \"build.workdir\": \"../x\" climbs out",
            ),
            (
                json!({"command": "make", "output": "/tmp/x.wasm"}),
                "key \"build.output\": \"/tmp/x.wasm\" is an absolute path",
            ),
            (
                json!({"command": "make", "ouput": "x"}),
                "key \"build.ouput\" is not known",
            ),
        ];
        for (raw, want) in cases {
            let e = parse(&raw).unwrap_err().to_string();
            assert!(e.starts_with(want), "{raw}: {e}");
        }
    }
}
