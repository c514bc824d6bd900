//! Rotation generations: `secret-generations.yaml` in the chart directory.
//!
//! The file maps environment → secret id → generation, e.g.
//!
//! ```yaml
//! prod:
//!   jwt: 2
//! ```
//!
//! It holds no secret material, so it is committed with the chart: the generation is an input
//! of the derivation, and bumping it (`wasmchart secrets rotate jwt --env prod`) gives that
//! secret's generated keys new values on the next render while every other secret stays as it
//! is. A missing file or entry means generation 0.
//!
//! The file is part of the untrusted chart: it is read through the chart's confined handle
//! (a regular file inside the chart, 1 MiB at most) and replaced through the same handle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wasmchart_values::chartfs::{self, ChartDir, FsError};

use crate::error::Error;

/// File name of the rotation file inside the chart directory.
pub const GENERATIONS_FILE: &str = "secret-generations.yaml";

const HEADER: &str = "# Rotation generations of wasmchart-generated secrets: environment -> secret id -> generation.\n\
# Written by `wasmchart secrets rotate ID --env ENV`. Holds no secret material; commit it.\n";

/// The parsed rotation file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generations(BTreeMap<String, BTreeMap<String, u64>>);

impl Generations {
    /// The generation of one secret in one environment (0 when not recorded).
    pub fn get(&self, env: &str, id: &str) -> u64 {
        self.0
            .get(env)
            .and_then(|ids| ids.get(id))
            .copied()
            .unwrap_or(0)
    }

    /// Path of the rotation file for a chart directory.
    pub fn path(chart_dir: &Path) -> PathBuf {
        chart_dir.join(GENERATIONS_FILE)
    }

    /// Loads the chart's rotation file; a missing file is empty.
    pub fn load(chart_dir: &Path) -> Result<Self, Error> {
        let path = Self::path(chart_dir);
        let chart = ChartDir::open(chart_dir).map_err(fs_error)?;
        let Some(text) = chart
            .read_optional_string(GENERATIONS_FILE, &chartfs::GENERATIONS)
            .map_err(fs_error)?
        else {
            return Ok(Self::default());
        };
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let map: Option<BTreeMap<String, Option<BTreeMap<String, u64>>>> =
            serde_yaml::from_str(&text).map_err(|e| Error::Generations {
                path: path.clone(),
                message: format!(
                    "expected a map of environment -> secret id -> generation (a non-negative integer): {e}"
                ),
            })?;
        let map = map
            .unwrap_or_default()
            .into_iter()
            .map(|(env, ids)| (env, ids.unwrap_or_default()))
            .collect();
        Ok(Generations(map))
    }

    /// The file text: a header comment and the map with sorted keys.
    pub fn to_yaml(&self) -> String {
        let mut out = String::from(HEADER);
        // Serialising a BTreeMap of strings and integers cannot fail.
        out.push_str(&serde_yaml::to_string(&self.0).unwrap_or_default());
        out
    }
}

/// Increments one secret's generation in the chart's rotation file and returns the new
/// generation. The file is replaced atomically (written beside it, then renamed).
pub fn bump(chart_dir: &Path, env: &str, id: &str) -> Result<u64, Error> {
    let mut generations = Generations::load(chart_dir)?;
    let slot = generations
        .0
        .entry(env.to_string())
        .or_default()
        .entry(id.to_string())
        .or_insert(0);
    *slot += 1;
    let next = *slot;
    // A committed, non-secret file: ordinary permissions.
    ChartDir::open(chart_dir)
        .and_then(|chart| {
            chart.write_atomic(GENERATIONS_FILE, generations.to_yaml().as_bytes(), 0o644)
        })
        .map_err(fs_error)?;
    Ok(next)
}

/// `wasmchart secrets rotate ID --env ENV`: checks that the umbrella values declare `id` with
/// at least one generated key (rotating anything else would change nothing), then bumps it.
pub fn rotate(
    chart_dir: &Path,
    umbrella_values: &serde_json::Value,
    env: &str,
    id: &str,
) -> Result<u64, Error> {
    let spec = crate::spec::parse_secrets(umbrella_values)?;
    let Some(item) = spec.items.iter().find(|i| i.id == id) else {
        let known: Vec<&str> = spec.items.iter().map(|i| i.id.as_str()).collect();
        return Err(Error::values(
            format!("secrets.items.{id}"),
            format!(
                "no secret \"{id}\" to rotate (declared: {})",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            ),
        ));
    };
    if item.keys.iter().all(|k| k.generate.is_none()) {
        return Err(Error::values(
            format!("secrets.items.{id}.keys"),
            format!(
                "secret \"{id}\" has no generated key, so rotation would change nothing; supply new values with --set instead"
            ),
        ));
    }
    bump(chart_dir, env, id)
}

/// A chart file error as this crate's error, keeping its one-sentence reason.
pub(crate) fn fs_error(e: FsError) -> Error {
    let action = if e.op == "write" {
        "cannot write"
    } else {
        "cannot read"
    };
    Error::io(action, e.path, e.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_creates_and_increments_one_entry() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Generations::load(dir.path()).unwrap().get("prod", "jwt"), 0);
        assert_eq!(bump(dir.path(), "prod", "jwt").unwrap(), 1);
        assert_eq!(bump(dir.path(), "prod", "jwt").unwrap(), 2);
        assert_eq!(bump(dir.path(), "prod", "mongodb").unwrap(), 1);
        let g = Generations::load(dir.path()).unwrap();
        assert_eq!(g.get("prod", "jwt"), 2);
        assert_eq!(g.get("prod", "mongodb"), 1);
        assert_eq!(g.get("staging", "jwt"), 0);
        let text = std::fs::read_to_string(Generations::path(dir.path())).unwrap();
        assert!(text.starts_with("# Rotation generations"), "{text}");
    }

    #[test]
    fn rotate_checks_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let values = serde_json::json!({"secrets": {"items": {
            "jwt": {"keys": {"K": {"generate": {}}}},
            "oauth": {"keys": {"K": {"required": true}}}
        }}});
        assert_eq!(rotate(dir.path(), &values, "prod", "jwt").unwrap(), 1);
        let err = rotate(dir.path(), &values, "prod", "jwtt")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no secret \"jwtt\" to rotate (declared: jwt, oauth)"),
            "{err}"
        );
        let err = rotate(dir.path(), &values, "prod", "oauth")
            .unwrap_err()
            .to_string();
        assert!(err.contains("has no generated key"), "{err}");
        assert_eq!(
            Generations::load(dir.path()).unwrap().get("prod", "oauth"),
            0
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_read_and_replaced_inside_the_chart_only() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("g.yaml");
        std::fs::write(&target, "prod: {jwt: 5}\n").unwrap();
        std::os::unix::fs::symlink(&target, Generations::path(dir.path())).unwrap();
        let err = Generations::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(GENERATIONS_FILE) && err.contains("leads outside the chart directory"),
            "{err}"
        );
        assert!(bump(dir.path(), "prod", "jwt").is_err());
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "prod: {jwt: 5}\n"
        );

        let inside = tempfile::tempdir().unwrap();
        std::fs::write(inside.path().join("real.yaml"), "prod: {jwt: 5}\n").unwrap();
        std::os::unix::fs::symlink("real.yaml", Generations::path(inside.path())).unwrap();
        assert_eq!(bump(inside.path(), "prod", "jwt").unwrap(), 6);
        let meta = std::fs::symlink_metadata(Generations::path(inside.path())).unwrap();
        assert!(
            meta.file_type().is_file(),
            "the link is replaced, not written through"
        );
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(meta.permissions().mode() & 0o777, 0o644);
        let real = std::fs::read_to_string(inside.path().join("real.yaml")).unwrap();
        assert_eq!(real, "prod: {jwt: 5}\n");
        let leftovers: Vec<_> = std::fs::read_dir(inside.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "no temporary file is left behind");
    }

    #[test]
    fn bad_file_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(Generations::path(dir.path()), "prod: {jwt: -1}\n").unwrap();
        let err = Generations::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains(GENERATIONS_FILE), "{err}");
    }
}
