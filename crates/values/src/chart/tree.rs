//! The parts of a chart that are not values: its `crds/` files, which Helm installs verbatim
//! before anything else, and its `templates/`, which wasmchart cannot run but must notice. Both
//! are walked through the chart's confined handle and only on demand, so `wasmchart values`
//! never touches them.

use std::path::PathBuf;

use super::{Chart, chart_err};
use crate::chartfs::{Budget, ChartDir, Kind, Limit};
use crate::error::Error;

/// Entries one walk of `crds/` or `templates/` may visit, and how deep it may go: far beyond
/// real charts, small enough that a symlink loop or a generated tree fails at once.
const WALK_ENTRIES: usize = 10_000;
const WALK_DEPTH: usize = 16;

/// One file under a chart's `crds/` directory, read whole: Helm installs (and `helm template
/// --include-crds` prints) these files as they are, before every rendered object.
#[derive(Debug, Clone)]
pub struct CrdFile {
    /// Path inside the chart with `/` separators, e.g. `crds/widgets.yaml`.
    pub name: String,
    /// The chart directory joined with `name`, for messages.
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
}

impl CrdFile {
    /// Cap on one `crds/` file. The largest CRDs of common operators are about 1 MiB; a few
    /// charts ship every CRD in one bundle file of several MiB.
    pub const FILE_LIMIT: Limit = Limit {
        what: "a crds/ file",
        bytes: 8 << 20,
    };
    /// Cap on all `crds/` files of one render together (the umbrella and every enabled
    /// subchart), so that many files cannot add up to what one may not. Parsing and printing
    /// cost about nine times the text in memory: measured with a release build on 2 busy
    /// cores, 31 MiB of CRDs in four files peaked at 290 MB and took 1.8 s, one 7.8 MiB file
    /// 85 MB and 0.45 s.
    pub const TOTAL_LIMIT: Limit = Limit {
        what: "the crds/ files of one render",
        bytes: 32 << 20,
    };
}

impl Chart {
    /// The chart's own `crds/` files as Helm selects them (`Chart.CRDObjects`): every file at
    /// any depth under `crds/` whose extension is `.yaml`, `.yml` or `.json` in any case,
    /// hidden files included, in Helm's order (entries sorted by name, a directory's files
    /// where its name sorts). Each is read through the chart's handle, at most
    /// [`CrdFile::FILE_LIMIT`], and counted against `budget`.
    ///
    /// # Errors
    ///
    /// A file or directory leading out of the chart, a file that is not regular, not UTF-8 or
    /// over a cap, a name that is not UTF-8, or a tree over the walk's bounds.
    pub fn crd_files(&self, budget: &mut Budget) -> Result<Vec<CrdFile>, Error> {
        let fs = &self.inner.fs;
        let mut out = Vec::new();
        for name in walk(fs, "crds")? {
            if !has_manifest_extension(&name) {
                continue;
            }
            let text = fs.read_to_string(&name, &CrdFile::FILE_LIMIT)?;
            budget.spend(text.len() as u64, fs.display(&name))?;
            out.push(CrdFile {
                path: fs.display(&name),
                name,
                text,
            });
        }
        Ok(out)
    }

    /// The files under `templates/` that Helm would render into manifests, as paths inside
    /// the chart: everything except `_*` partials, `NOTES.txt` and hidden files (`.gitkeep`).
    /// Empty when the chart has no `templates/` directory. Nothing is read.
    ///
    /// # Errors
    ///
    /// A path leading out of the chart, a name that is not UTF-8, or a tree over the walk's
    /// bounds.
    pub fn template_files(&self) -> Result<Vec<String>, Error> {
        let mut files = walk(&self.inner.fs, "templates")?;
        files.retain(|name| is_template(name));
        Ok(files)
    }
}

/// Helm's `hasManifestExtension`: Go's `filepath.Ext` (from the last dot of the base name,
/// so `crds/.yaml` counts), compared without case.
fn has_manifest_extension(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.rsplit_once('.').is_some_and(|(_, ext)| {
        ["yaml", "yml", "json"]
            .iter()
            .any(|e| ext.eq_ignore_ascii_case(e))
    })
}

/// Whether Helm's engine would turn this `templates/` file into output: partials (`_*`)
/// and `NOTES.txt` never are; hidden files are placeholders, not templates.
fn is_template(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    !base.starts_with('_')
        && !name.ends_with("NOTES.txt")
        && !name.split('/').any(|segment| segment.starts_with('.'))
}

/// Every path below `top` that is not a directory, depth first with entries sorted by name
/// (Go's `filepath.Walk` order, which Helm's loader uses). Empty when `top` is not a directory.
fn walk(fs: &ChartDir, top: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    if fs.kind(top)? == Some(Kind::Dir) {
        let mut visited = 0;
        walk_dir(fs, top, 0, &mut visited, &mut out)?;
    }
    Ok(out)
}

fn walk_dir(
    fs: &ChartDir,
    dir: &str,
    depth: usize,
    visited: &mut usize,
    out: &mut Vec<String>,
) -> Result<(), Error> {
    for entry in fs.list(dir)? {
        *visited += 1;
        if *visited > WALK_ENTRIES {
            return Err(chart_err(
                fs.path(),
                format!("{dir}: more than {WALK_ENTRIES} entries below it, the limit"),
            ));
        }
        let Some(entry) = entry.to_str() else {
            return Err(chart_err(
                fs.path(),
                format!(
                    "{dir}/{}: the file name is not UTF-8",
                    entry.to_string_lossy()
                ),
            ));
        };
        let rel = format!("{dir}/{entry}");
        if fs.kind(&rel)? == Some(Kind::Dir) {
            if depth + 1 >= WALK_DEPTH {
                return Err(chart_err(
                    fs.path(),
                    format!(
                        "{rel}: directories are nested more than {WALK_DEPTH} levels deep, the \
                         limit (a symlink loop?)"
                    ),
                ));
            }
            walk_dir(fs, &rel, depth + 1, visited, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_extensions_follow_go_filepath_ext() {
        for yes in [
            "crds/a.yaml",
            "crds/A.YML",
            "crds/x.Json",
            "crds/.yaml",
            "crds/d/.h.yaml",
        ] {
            assert!(has_manifest_extension(yes), "{yes}");
        }
        for no in [
            "crds/a.txt",
            "crds/yaml",
            "crds/a.yaml.bak",
            "crds/a.yaml/b",
        ] {
            assert!(!has_manifest_extension(no), "{no}");
        }
    }

    #[test]
    fn partials_notes_and_hidden_files_are_not_templates() {
        for yes in [
            "templates/a.yaml",
            "templates/sub/b.tpl",
            "templates/NOTES.md",
        ] {
            assert!(is_template(yes), "{yes}");
        }
        for no in [
            "templates/_helpers.tpl",
            "templates/sub/_x.yaml",
            "templates/NOTES.txt",
            "templates/.gitkeep",
            "templates/.hidden/x.yaml",
        ] {
            assert!(!is_template(no), "{no}");
        }
    }
}
