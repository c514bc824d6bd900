//! Chart.lock: Helm's lock file, plus what pins the bytes a render runs.
//!
//! The file is Helm's (`dependencies:` with `name`, `repository`, `version`; a top `digest:`
//! over Chart.yaml's dependencies and the locked versions, computed as Helm's `HashReq`; a
//! `generated:` time), so `helm dependency build` accepts it. Each dependency entry also
//! carries two keys Helm ignores:
//!
//! - `digest: sha256:…` — of the archive in `charts/` (the `.tgz` file's bytes), or, for a
//!   dependency kept unpacked in `charts/NAME/`, of a canonical listing of its files
//!   ([`digest::dir_digest`]);
//! - `components: {PATH: sha256:…}` — every component inside it, nested subcharts included
//!   (`PATH` is the `component:` path, under `charts/SUBCHART/` for a nested one).
//!
//! `render` checks what it loads against the lock when there is one ([`verify`]); with
//! `--verify-lock` or the policy's `requireLock: true`, a missing or stale lock is an error
//! too, so a CI renders only pinned component bytes.

pub mod digest;
pub mod golang;
mod verify;

pub use digest::{ComponentDigests, Observed, component_digest, observe};
pub use verify::{Requirement, verify};

use anyhow::{Result, anyhow, bail};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use wasmchart_values::chartfs::{ChartDir, Limit};

use golang::GoDependency;

/// The lock file's name, next to Chart.yaml.
pub const LOCK_FILE: &str = "Chart.lock";

/// A lock file is metadata: 1 MiB is generous.
const LOCK_LIMIT: Limit = Limit {
    what: "a Chart.lock",
    bytes: 1 << 20,
};

/// A parsed Chart.lock.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lock {
    /// `generated:`, as written.
    pub generated: String,
    /// `digest:`, Helm's hash of Chart.yaml's dependencies and the locked versions.
    pub digest: String,
    /// `dependencies:`, in Chart.yaml's order.
    pub dependencies: Vec<Locked>,
}

/// One locked dependency.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Locked {
    /// The chart's name.
    pub name: String,
    /// Where it came from (`file://…`, `oci://…`, or empty for a chart kept in charts/).
    pub repository: String,
    /// The exact version.
    pub version: String,
    /// `sha256:…` of the archive, or of the unpacked directory's listing; `None` in a lock
    /// Helm wrote.
    pub digest: Option<String>,
    /// `sha256:…` of every component inside, by path.
    pub components: BTreeMap<String, String>,
}

impl Lock {
    /// Reads `Chart.lock` from the chart directory; `None` when there is none.
    ///
    /// # Errors
    ///
    /// Unreadable (a rule of the confined reader), not YAML, or not a lock's shape.
    pub fn read(fs: &ChartDir) -> Result<Option<Lock>> {
        let Some(text) = fs.read_optional_string(LOCK_FILE, &LOCK_LIMIT)? else {
            return Ok(None);
        };
        let origin = fs.display(LOCK_FILE).display().to_string();
        Lock::parse(&text, &origin).map(Some)
    }

    /// Parses lock text; `origin` names it in messages.
    ///
    /// # Errors
    ///
    /// Not YAML, or a key of the wrong type, naming the key path.
    pub fn parse(text: &str, origin: &str) -> Result<Lock> {
        let (map, _) = wasmchart_values::yaml::parse_values(text, origin)?;
        let bad = |path: &str, what: &str| anyhow!("{origin}: {path} must be {what}");
        let string = |m: &Map<String, Value>, k: &str, path: &str| -> Result<String> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                Some(_) => Err(bad(path, "a string")),
            }
        };
        let mut lock = Lock {
            generated: string(&map, "generated", "generated")?,
            digest: string(&map, "digest", "digest")?,
            dependencies: Vec::new(),
        };
        let deps = match map.get("dependencies") {
            None | Some(Value::Null) => return Ok(lock),
            Some(Value::Array(a)) => a,
            Some(_) => return Err(bad("dependencies", "a list")),
        };
        for (i, d) in deps.iter().enumerate() {
            let at = format!("dependencies[{i}]");
            let Value::Object(m) = d else {
                return Err(bad(&at, "a map"));
            };
            let digest = string(m, "digest", &format!("{at}.digest"))?;
            let mut components = BTreeMap::new();
            match m.get("components") {
                None | Some(Value::Null) => {}
                Some(Value::Object(c)) => {
                    for (k, v) in c {
                        let Value::String(v) = v else {
                            return Err(bad(&format!("{at}.components.{k}"), "a sha256: digest"));
                        };
                        components.insert(k.clone(), v.clone());
                    }
                }
                Some(_) => return Err(bad(&format!("{at}.components"), "a map")),
            }
            let locked = Locked {
                name: string(m, "name", &format!("{at}.name"))?,
                repository: string(m, "repository", &format!("{at}.repository"))?,
                version: string(m, "version", &format!("{at}.version"))?,
                digest: Some(digest).filter(|d| !d.is_empty()),
                components,
            };
            check_entry(&locked).map_err(|(key, why)| anyhow!("{origin}: {at}.{key} {why}"))?;
            lock.dependencies.push(locked);
        }
        Ok(lock)
    }

    /// The file's text, in Helm's layout (keys sorted as sigs.k8s.io/yaml writes them).
    pub fn to_yaml(&self) -> String {
        let deps = self
            .dependencies
            .iter()
            .map(|d| {
                let mut m = Map::new();
                m.insert("name".into(), Value::String(d.name.clone()));
                m.insert("repository".into(), Value::String(d.repository.clone()));
                m.insert("version".into(), Value::String(d.version.clone()));
                if let Some(digest) = &d.digest {
                    m.insert("digest".into(), Value::String(digest.clone()));
                }
                if !d.components.is_empty() {
                    let c = d
                        .components
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect();
                    m.insert("components".into(), Value::Object(c));
                }
                Value::Object(m)
            })
            .collect();
        let mut top = Map::new();
        top.insert("dependencies".into(), Value::Array(deps));
        top.insert("digest".into(), Value::String(self.digest.clone()));
        top.insert("generated".into(), Value::String(self.generated.clone()));
        wasmchart_values::yaml::to_string(&Value::Object(top))
    }

    /// Helm's `digest:` for these locked entries against Chart.yaml's `requested` ones.
    pub fn hash(requested: &[GoDependency], locked: &[Locked]) -> String {
        let locked: Vec<GoDependency> = locked
            .iter()
            .map(|l| GoDependency::locked(&l.name, &l.version, &l.repository))
            .collect();
        golang::hash_req(requested, &locked)
    }

    /// Whether Chart.yaml's dependencies still hash to this lock's `digest:` (Helm's check
    /// before `dependency build`).
    pub fn in_sync(&self, requested: &[GoDependency]) -> bool {
        Lock::hash(requested, &self.dependencies) == self.digest
    }
}

/// A lock is as hostile as the chart it sits in: its names become file names
/// (`charts/NAME-VERSION.tgz`), its versions registry tags, its component keys lock paths.
/// So each is held to what `dependency update` writes: a chart name (no `/`, not `.` or
/// `..`), a SemVer version, `sha256:` and 64 lower-case hex digits, relative component paths.
/// Returns the offending key and why.
fn check_entry(l: &Locked) -> std::result::Result<(), (String, String)> {
    let quoted = |s: &str| format!("{:?}", crate::text::escape_short(s, 100));
    if l.name.is_empty() || l.name == "." || l.name == ".." || l.name.contains(['/', '\\']) {
        return Err((
            "name".into(),
            format!("{} is not a chart name", quoted(&l.name)),
        ));
    }
    if wasmchart_values::semver::Version::parse(&l.version).is_none() {
        return Err((
            "version".into(),
            format!("{} is not a SemVer version", quoted(&l.version)),
        ));
    }
    if let Some(d) = &l.digest
        && !is_sha256(d)
    {
        return Err((
            "digest".into(),
            format!("{} is not sha256: and 64 lower-case hex digits", quoted(d)),
        ));
    }
    for (path, d) in &l.components {
        let key = format!("components.{}", quoted(path));
        if let Err(why) = wasmchart_values::chartfs::relative_path(path) {
            return Err((
                key,
                format!("is refused: {}", crate::text::escape_short(&why, 200)),
            ));
        }
        if !is_sha256(d) {
            return Err((
                key,
                format!("{} is not sha256: and 64 lower-case hex digits", quoted(d)),
            ));
        }
    }
    Ok(())
}

/// `sha256:` and exactly 64 lower-case hex digits, as [`digest::sha256`] writes.
fn is_sha256(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Chart.yaml's `dependencies:` as Helm's loader reads them, for the lock's digest.
///
/// # Errors
///
/// No Chart.yaml, not YAML, or an apiVersion v1 chart (whose dependencies live in
/// requirements.yaml and whose lock is requirements.lock: not supported).
pub fn requested(fs: &ChartDir) -> Result<Vec<GoDependency>> {
    let text = fs.read_to_string("Chart.yaml", &wasmchart_values::chartfs::METADATA)?;
    let origin = fs.display("Chart.yaml").display().to_string();
    let (map, _) = wasmchart_values::yaml::parse_values(&text, &origin)?;
    if map.get("apiVersion").and_then(Value::as_str) != Some("v2") {
        bail!(
            "{origin}: Chart.lock is for apiVersion v2 charts; this chart's dependencies live in \
             requirements.yaml (apiVersion v1): set `apiVersion: v2` and move them to \
             Chart.yaml `dependencies:`"
        );
    }
    Ok(match map.get("dependencies") {
        Some(Value::Array(a)) => a.iter().map(GoDependency::from_chart_yaml).collect(),
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hexd(byte: &str) -> String {
        format!("sha256:{}", byte.repeat(32))
    }

    fn sample() -> Lock {
        Lock {
            generated: "2026-12-01T13:27:44.649301636Z".into(),
            digest: "sha256:456f".into(),
            dependencies: vec![
                Locked {
                    name: "redis".into(),
                    repository: "oci://r.example/charts".into(),
                    version: "0.1.5".into(),
                    digest: Some(hexd("d7")),
                    components: [
                        ("redis.wasm".to_string(), hexd("c6")),
                        ("charts/x/x.wasm".to_string(), hexd("01")),
                    ]
                    .into(),
                },
                Locked {
                    name: "plain".into(),
                    repository: String::new(),
                    version: "1.0.0".into(),
                    digest: None,
                    components: BTreeMap::new(),
                },
            ],
        }
    }

    #[test]
    fn the_file_round_trips_in_helms_layout() {
        let text = sample().to_yaml();
        assert!(
            text.starts_with(&format!(
                "dependencies:\n- components:\n    charts/x/x.wasm: {}\n",
                hexd("01")
            )),
            "{text}"
        );
        assert!(
            text.contains(
                "\n  name: redis\n  repository: oci://r.example/charts\n  version: 0.1.5\n"
            )
        );
        assert!(
            text.ends_with("digest: sha256:456f\ngenerated: \"2026-12-01T13:27:44.649301636Z\"\n"),
            "{text}"
        );
        assert_eq!(Lock::parse(&text, "Chart.lock").unwrap(), sample());
    }

    #[test]
    fn a_malformed_lock_names_the_key() {
        let err = Lock::parse("dependencies:\n- name: a\n  components: [x]\n", "L").unwrap_err();
        assert_eq!(
            err.to_string(),
            "L: dependencies[0].components must be a map"
        );
        let err = Lock::parse("dependencies: {}\n", "L").unwrap_err();
        assert_eq!(err.to_string(), "L: dependencies must be a list");
    }

    #[test]
    fn hostile_entries_are_refused_naming_the_key() {
        let entry = |extra: &str| {
            format!("dependencies:\n- name: a\n  version: 1.0.0\n  repository: oci://r/x\n{extra}")
        };
        let cases = [
            (
                "dependencies:\n- name: ../a\n  version: 1.0.0\n".to_string(),
                "L: dependencies[0].name \"../a\" is not a chart name",
            ),
            (
                "dependencies:\n- name: a\n  version: 1.0.0/../../../x\n".to_string(),
                "L: dependencies[0].version \"1.0.0/../../../x\" is not a SemVer version",
            ),
            (
                entry("  digest: sha256:abc\n"),
                "L: dependencies[0].digest \"sha256:abc\" is not sha256: and 64 lower-case hex digits",
            ),
            (
                entry(&format!(
                    "  digest: {}\n  components:\n    ../../etc/passwd: {}\n",
                    hexd("aa"),
                    hexd("bb")
                )),
                "L: dependencies[0].components.\"../../etc/passwd\" is refused: \"../../etc/passwd\" climbs out with `..`; it must be a path inside the chart directory",
            ),
            (
                entry(&format!(
                    "  digest: {}\n  components:\n    a.wasm: sha256:{}\n",
                    hexd("aa"),
                    "AB".repeat(32)
                )),
                "is not sha256: and 64 lower-case hex digits",
            ),
        ];
        for (text, want) in cases {
            let err = Lock::parse(&text, "L").unwrap_err().to_string();
            assert!(err.ends_with(want), "{err}\nwanted: {want}");
        }
    }

    #[test]
    fn the_digest_follows_chart_yaml() {
        let req = vec![GoDependency::from_chart_yaml(&serde_json::json!(
            {"name": "redis", "version": "^0.1", "repository": "oci://r.example/charts"}
        ))];
        let lock = Lock {
            digest: Lock::hash(&req, &sample().dependencies[..1]),
            ..sample()
        };
        let mut lock = lock;
        lock.dependencies.truncate(1);
        assert!(lock.in_sync(&req));
        let changed = vec![GoDependency {
            version: "~0.1".into(),
            ..req[0].clone()
        }];
        assert!(!lock.in_sync(&changed));
    }
}
