//! The digests a lock pins, computed one way for `dependency update`, `dependency build` and
//! `render`: of an archive's bytes, of an unpacked chart directory's canonical listing, and
//! of each component.

use anyhow::{Context as _, Result, bail};
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use wasmchart_values::Chart;
use wasmchart_values::chartfs::{self, ChartDir, Kind};

use super::golang::hex;

/// `sha256:` and the hex digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// How component digests are found: [`component_digest`] reads and hashes; `render` passes
/// its sandbox runtime's, which names an unchanged file's digest from its authenticated
/// identity record without reading it (the same record the load trusts, for the same
/// opened file), so a locked render costs no more than an unlocked one.
pub type ComponentDigests<'a> = &'a dyn Fn(&Chart) -> Result<Option<String>>;

/// The digest of the component `chart` names, of the very bytes the render compiles (read
/// once through the chart's confined handle and kept), or `None` when it names none.
///
/// # Errors
///
/// The component cannot be read (missing, outside the chart, over the size cap).
pub fn component_digest(chart: &Chart) -> Result<Option<String>> {
    let bytes = chart
        .component_bytes()
        .with_context(|| format!("cannot read the component of chart '{}'", chart.name()))?;
    Ok(bytes.map(|b| sha256(&b)))
}

/// What one dependency in `charts/` is, as the lock pins it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The chart's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Where it is, relative to the umbrella (`charts/x-0.1.0.tgz` or `charts/x`).
    pub place: String,
    /// Whether it is a packaged archive (else an unpacked directory).
    pub packaged: bool,
    /// `sha256:…` of the archive, or of the directory's listing.
    pub digest: String,
    /// Every component inside, by path.
    pub components: BTreeMap<String, String>,
}

/// Observes the subchart `sub` of the umbrella whose confined handle is `umbrella`: an
/// archive's digest is of the very bytes the load unpacked, a directory is listed and hashed,
/// and every component's digest comes from `digests`.
///
/// # Errors
///
/// A file cannot be read, or breaks a rule of the confined reader.
pub fn observe(
    umbrella: &ChartDir,
    sub: &Chart,
    digests: ComponentDigests<'_>,
) -> Result<Observed> {
    let mut components = BTreeMap::new();
    let mut known = BTreeMap::new();
    let mut found = Found {
        digests,
        out: &mut components,
        known: &mut known,
    };
    found.collect(sub, sub, "")?;
    let (place, packaged, digest) = match sub.fs().packaged() {
        Some(tree) => (
            relative(umbrella.path(), tree.archive()),
            true,
            sha256(tree.raw()),
        ),
        None => {
            let rel = relative(umbrella.path(), sub.dir());
            (rel, false, dir_digest_with(sub.fs(), &known)?)
        }
    };
    Ok(Observed {
        name: sub.name().to_string(),
        version: sub.version().to_string(),
        place,
        packaged,
        digest,
        components,
    })
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The components of a subchart, by lock path (`out`) and, for those in unpacked
/// directories, by path inside the subchart's directory (`known`), so the listing digest
/// reuses the component digests instead of hashing the same bytes again.
struct Found<'a> {
    digests: ComponentDigests<'a>,
    out: &'a mut BTreeMap<String, String>,
    known: &'a mut BTreeMap<String, String>,
}

impl Found<'_> {
    /// Adds the components of `chart` (inside `root`) and of its subcharts.
    fn collect(&mut self, root: &Chart, chart: &Chart, prefix: &str) -> Result<()> {
        let path = chart
            .metadata()
            .component
            .as_deref()
            .and_then(|c| chartfs::relative_path(c).ok());
        if let (Some(path), Some(digest)) = (path, (self.digests)(chart)?) {
            let path = relative(Path::new(""), &path);
            if chart.fs().packaged().is_none() {
                let dir = relative(root.dir(), chart.dir());
                let file = if dir.is_empty() {
                    path.clone()
                } else {
                    format!("{dir}/{path}")
                };
                self.known.insert(file, digest.clone());
            }
            self.out.insert(format!("{prefix}{path}"), digest);
        }
        for sub in chart.subcharts() {
            let prefix = format!("{prefix}charts/{}/", sub.name());
            self.collect(root, sub, &prefix)?;
        }
        Ok(())
    }
}

/// Directories deeper than this are refused (a symlink loop inside the chart).
const MAX_DEPTH: usize = 32;

/// Bytes hashed for one directory at most (every file, components included).
const MAX_DIR_BYTES: u64 = 1 << 30;

/// The digest of an unpacked chart directory: sha256 of its listing, one line per regular
/// file, sorted by path, `sha256sum` style (`HEX  PATH\n`, paths `/`-separated and relative
/// to the directory), every file read through the confined handle. The same content gives
/// the same digest wherever it lies; any change to any listed file, name or file set changes
/// it.
///
/// The listing is what a package of the chart holds: `.helmignore` applies, as Helm's loader
/// and `package` apply it, so a component's sources and build outputs beside the chart
/// (`component/target/`, `node_modules/`, as `wasmchart new` lays them out) are neither
/// hashed nor pinned, and rebuilding identical bytes keeps the lock valid. What a render
/// reads is listed whatever the rules say (see [`always_listed`]).
///
/// # Errors
///
/// A file that is not regular (FIFO, device, dangling or escaping symlink), unreadable, or
/// over the caps.
pub fn dir_digest(fs: &ChartDir) -> Result<String> {
    dir_digest_with(fs, &BTreeMap::new())
}

/// [`dir_digest`], taking the digests of the files in `known` (by path) as given: the
/// components, already hashed by [`component_digest`].
fn dir_digest_with(fs: &ChartDir, known: &BTreeMap<String, String>) -> Result<String> {
    let mut lines = Vec::new();
    let mut budget = chartfs::Budget::new(chartfs::Limit {
        what: "the files of one unpacked dependency together (hashed for the lock)",
        bytes: MAX_DIR_BYTES,
    });
    let rules = crate::package::helmignore(fs)?;
    let mut walk = Walk {
        fs,
        known,
        rules: &rules,
        out: &mut lines,
        budget: &mut budget,
    };
    walk.dir("", 0)?;
    lines.sort();
    let mut listing = String::new();
    for (path, digest) in lines {
        listing.push_str(&digest);
        listing.push_str("  ");
        listing.push_str(&path);
        listing.push('\n');
    }
    Ok(sha256(listing.as_bytes()))
}

struct Walk<'a> {
    fs: &'a ChartDir,
    known: &'a BTreeMap<String, String>,
    rules: &'a crate::package::ignore::Rules,
    out: &'a mut Vec<(String, String)>,
    budget: &'a mut chartfs::Budget,
}

impl Walk<'_> {
    fn dir(&mut self, rel: &str, depth: usize) -> Result<()> {
        let fs = self.fs;
        if depth > MAX_DEPTH {
            bail!(
                "{} is nested more than {MAX_DEPTH} directories deep (a symlink loop?)",
                fs.display(rel).display()
            );
        }
        for name in fs.list(rel)? {
            let name = name.to_string_lossy();
            let path = if rel.is_empty() {
                name.into_owned()
            } else {
                format!("{rel}/{name}")
            };
            let kind = fs.kind(&path)?;
            if self.rules.ignore(&path, kind == Some(Kind::Dir))
                && !always_listed(&path, self.known)
            {
                continue;
            }
            match kind {
                Some(Kind::Dir) => self.dir(&path, depth + 1)?,
                Some(Kind::File) => self.file(path)?,
                Some(other) => bail!(
                    "{} is {}; a locked chart holds only regular files and directories",
                    fs.display(&path).display(),
                    other.describe()
                ),
                None => bail!(
                    "{} is a dangling symlink; a locked chart holds only regular files and \
                     directories",
                    fs.display(&path).display()
                ),
            }
        }
        Ok(())
    }

    fn file(&mut self, path: String) -> Result<()> {
        if let Some(digest) = self.known.get(&path) {
            let hex = digest.trim_start_matches("sha256:").to_string();
            self.out.push((path, hex));
            return Ok(());
        }
        let bytes = self.fs.read(&path, &chartfs::COMPONENT)?;
        self.budget
            .spend(bytes.len() as u64, self.fs.display(&path))?;
        self.out.push((path, hex(&Sha256::digest(&bytes))));
        Ok(())
    }
}

/// Whether `path` (relative to the chart) is listed even when `.helmignore` leaves it out,
/// because a render reads it from an unpacked chart: Chart.yaml, requirements.yaml, the
/// values files, the schema, `.helmignore` itself, everything under `files/`, `charts/`,
/// `crds/` (printed by `--include-crds`) and `templates/` (checked for Go templates), the
/// components and the directories holding them. A rule can thus narrow the digest only
/// to files no render reads.
fn always_listed(path: &str, known: &BTreeMap<String, String>) -> bool {
    let top = !path.contains('/');
    let values_file = top
        && path.starts_with("values")
        && (path.ends_with(".yaml") || path.ends_with(".yml") || path.ends_with(".json"));
    let tree = |root: &str| path == root || path.starts_with(&format!("{root}/"));
    values_file
        || matches!(path, "Chart.yaml" | "requirements.yaml" | ".helmignore")
        || tree("files")
        || tree("charts")
        || tree("crds")
        || tree("templates")
        || known.contains_key(path)
        || known.keys().any(|k| k.starts_with(&format!("{path}/")))
}
