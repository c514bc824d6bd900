//! Output: the rendered objects as a `helm template`-like YAML stream, as
//! JSON, or as a tree of files.

pub mod show_only;

use crate::post::Object;
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// Output formats of `render` and `values`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Multi-document YAML, `---` and `# Source:` before each object.
    Yaml,
    /// JSON; for `render` one `v1` `List` holding every object.
    Json,
}

/// Formats objects as `helm template` does: `---`, `# Source: <path>`,
/// then the object.
///
/// Sources were checked to be plain paths when they arrived; they are
/// escaped once more here, so that no source can ever end the `# Source:`
/// line and start a document of its own.
///
/// Objects are formatted in small contiguous chunks, which up to one thread
/// per core take in turn (an umbrella of hundreds of subcharts spends tens of
/// milliseconds here; objects in install order are far from equal in size, so
/// halves would leave one core idle), and joined in order: the stream is the
/// same whatever the thread count.
pub fn to_yaml_stream(objects: &[Object]) -> String {
    if objects.len() < PARALLEL_FROM {
        return yaml_documents(objects);
    }
    let chunks: Vec<&[Object]> = objects.chunks(CHUNK).collect();
    wasmchart_values::parallel::map_in_order(&chunks, 1, |chunk| yaml_documents(chunk)).concat()
}

/// Fewer objects than this are formatted on the calling thread: starting
/// threads would cost more than it saves.
const PARALLEL_FROM: usize = 64;

/// Objects per chunk: small enough to even out the threads' shares, large
/// enough that taking a chunk costs nothing next to formatting it.
const CHUNK: usize = 16;

fn yaml_documents(objects: &[Object]) -> String {
    let mut out = String::new();
    for o in objects {
        out.push_str("---\n# Source: ");
        out.push_str(&crate::text::escape(&o.source));
        out.push('\n');
        out.push_str(&wasmchart_values::yaml::to_string(&o.value));
    }
    out
}

/// Formats objects as one pretty-printed `v1` `List`, which `kubectl apply
/// -f` accepts as it is.
pub fn to_json(objects: &[Object]) -> String {
    let items: Vec<&Value> = objects.iter().map(|o| &o.value).collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    let mut text = serde_json::to_string_pretty(&list).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes one file per source path under `dir`, like `helm template
/// --output-dir`: `dir/<umbrella>/charts/<sub>/templates/x.yaml`.
///
/// All files are first written into a fresh directory beside `dir`; only
/// when every file is written is the umbrella's tree moved into place, by
/// renames. An error therefore never leaves half a tree behind, and an
/// earlier tree is replaced whole, so files from a previous render that
/// this one no longer produces do not linger.
///
/// # Errors
///
/// A source path that would escape `dir`, or an I/O failure (naming the
/// path).
pub fn write_tree(dir: &Path, objects: &[Object]) -> Result<()> {
    let files = group_by_file(objects)?;
    let roots: std::collections::BTreeSet<&Path> = files
        .keys()
        .filter_map(|p| p.components().next())
        .map(|c| Path::new(c.as_os_str()))
        .collect();
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output directory '{}'", dir.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".wasmchart-")
        .tempdir_in(dir)
        .with_context(|| format!("cannot create a temporary directory in '{}'", dir.display()))?;
    for (rel, text) in &files {
        let path = staging.path().join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create '{}'", parent.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("cannot write '{}'", path.display()))?;
    }
    for root in roots {
        replace_dir(&staging.path().join(root), &dir.join(root))?;
    }
    Ok(())
}

fn group_by_file(objects: &[Object]) -> Result<BTreeMap<PathBuf, String>> {
    let mut files: BTreeMap<PathBuf, String> = BTreeMap::new();
    for o in objects {
        let rel = safe_relative(&o.source)?;
        let text = files.entry(rel).or_default();
        text.push_str("---\n# Source: ");
        text.push_str(&crate::text::escape(&o.source));
        text.push('\n');
        text.push_str(&wasmchart_values::yaml::to_string(&o.value));
    }
    Ok(files)
}

/// A source path as a relative path that stays inside the output
/// directory. Component-supplied sources are checked when they arrive;
/// this is the last line of defence before touching the file system.
fn safe_relative(source: &str) -> Result<PathBuf> {
    let path = Path::new(source);
    let ok = !source.is_empty() && path.components().all(|c| matches!(c, Component::Normal(_)));
    anyhow::ensure!(
        ok,
        "source path '{}' is not a plain relative path",
        crate::text::escape(source)
    );
    Ok(path.to_path_buf())
}

/// Moves the staged tree `new` to `target`, replacing an earlier tree
/// whole: the old one is moved aside first and put back if the move fails,
/// so `target` always holds one complete tree. Anything at `target` that is
/// not a directory (a file, a symlink) is refused before anything moves.
fn replace_dir(new: &Path, target: &Path) -> Result<()> {
    let old = aside(target);
    let had_old = match fs::symlink_metadata(target) {
        Ok(meta) if meta.is_dir() => true,
        Ok(_) => bail!(
            "'{}' exists and is not a directory; remove it or choose another --output-dir",
            target.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(e).with_context(|| format!("cannot inspect '{}'", target.display())),
    };
    if had_old {
        // A tree left aside by an interrupted run; anything else there is
        // not ours to delete, and the move below then fails, naming it.
        let _ = fs::remove_dir_all(&old);
        fs::rename(target, &old)
            .with_context(|| format!("cannot move '{}' aside", target.display()))?;
    }
    if let Err(e) = fs::rename(new, target) {
        if had_old {
            let _ = fs::rename(&old, target);
        }
        return Err(e)
            .with_context(|| format!("cannot move the rendered tree to '{}'", target.display()));
    }
    if had_old {
        fs::remove_dir_all(&old)
            .with_context(|| format!("cannot remove the previous tree '{}'", old.display()))?;
    }
    Ok(())
}

/// Where the previous tree waits while the new one moves in:
/// `<target>.wasmchart-old` (appended, so `u.v2` does not become `u.wasmchart-old`).
fn aside(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".wasmchart-old");
    target.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(source: &str, name: &str) -> Object {
        Object {
            source: source.into(),
            value: json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}),
        }
    }

    #[test]
    fn tree_groups_by_source_and_replaces_old_files() {
        let dir = tempfile::tempdir().unwrap();
        let first = [
            obj("u/charts/a/templates/x.yaml", "one"),
            obj("u/charts/a/templates/x.yaml", "two"),
            obj("u/charts/a/templates/old.yaml", "o"),
        ];
        write_tree(dir.path(), &first).unwrap();
        let x = fs::read_to_string(dir.path().join("u/charts/a/templates/x.yaml")).unwrap();
        assert_eq!(
            x.matches("---\n# Source: u/charts/a/templates/x.yaml\n")
                .count(),
            2
        );
        write_tree(dir.path(), &first[..2]).unwrap();
        assert!(!dir.path().join("u/charts/a/templates/old.yaml").exists());
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, ["u"]);
    }

    /// Whatever strings a component puts in keys and values, the stream
    /// reads back as exactly the objects written, one document each, and
    /// holds no raw control character.
    #[test]
    fn hostile_strings_cannot_break_the_stream() {
        let hostile = [
            "a\n---\napiVersion: v1\nkind: Secret\n",
            "--- \n...\n# Source: x",
            "\u{1b}]0;t\u{7}\r\n",
            "\0\u{85}\u{2028}\u{2029}\u{feff}\u{202e}",
            "  leading\n\ttabs\n",
            "key: value\n- item",
            "...",
            "---",
            "'\"\\",
            &"long ".repeat(300),
        ];
        let objects: Vec<Object> = hostile
            .iter()
            .enumerate()
            .map(|(i, h)| Object {
                source: format!("u/t{i}.yaml\n---\nforged"),
                value: json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": format!("c{i}"), "labels": {*h: *h}, "annotations": {"a": h}},
                    "data": {*h: h, "list": [h, {*h: h}]}}),
            })
            .collect();
        let stream = to_yaml_stream(&objects);
        let bad = stream.chars().find(|&c| c.is_control() && c != '\n');
        assert_eq!(bad, None, "{stream}");
        let headers = stream
            .lines()
            .filter(|l| l.starts_with("---") || l.starts_with("# Source:"))
            .count();
        assert_eq!(headers, 2 * objects.len(), "{stream}");
        let docs = wasmchart_values::yaml::parse_documents(&stream, "t").unwrap();
        let values: Vec<&Value> = objects.iter().map(|o| &o.value).collect();
        assert_eq!(docs.iter().collect::<Vec<_>>(), values);
    }

    /// Formatting in chunks on several threads gives the very stream one
    /// thread gives, whatever the object sizes.
    #[test]
    fn the_stream_does_not_depend_on_the_threads() {
        let objects: Vec<Object> = (0..PARALLEL_FROM * 5 + 3)
            .map(|i| Object {
                source: format!("u/charts/s{i}/templates/t.yaml"),
                value: json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": format!("c{i}")},
                    "data": {"text": "x ".repeat(i * 7 % 500)}}),
            })
            .collect();
        assert_eq!(to_yaml_stream(&objects), yaml_documents(&objects));
    }

    /// The rollback path: when the new tree cannot be moved in after the
    /// old one was moved aside, the old one is put back, whole.
    #[test]
    fn a_failed_move_puts_the_previous_tree_back() {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), &[obj("u/a.yaml", "a")]).unwrap();
        let missing = dir.path().join("no-such-staging-tree");
        let target = dir.path().join("u");
        let err = replace_dir(&missing, &target).unwrap_err();
        assert!(
            format!("{err:#}").starts_with("cannot move the rendered tree to"),
            "{err:#}"
        );
        let a = fs::read_to_string(target.join("a.yaml")).unwrap();
        assert!(a.contains("name: a"), "{a}");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["u"], "no tree left aside");
    }

    /// A file or symlink where the umbrella's tree goes is refused before
    /// anything moves: nothing is installed, nothing is left aside.
    #[test]
    fn a_file_or_symlink_at_the_target_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("u"), "not a tree").unwrap();
        let err = write_tree(dir.path(), &[obj("u/a.yaml", "a")]).unwrap_err();
        assert!(
            format!("{err:#}").contains("exists and is not a directory"),
            "{err:#}"
        );
        assert_eq!(
            fs::read_to_string(dir.path().join("u")).unwrap(),
            "not a tree"
        );
        let outside = tempfile::tempdir().unwrap();
        fs::remove_file(dir.path().join("u")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("u")).unwrap();
        assert!(write_tree(dir.path(), &[obj("u/a.yaml", "a")]).is_err());
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["u"], "no staging or aside tree left");
    }

    #[test]
    fn the_aside_name_is_appended() {
        assert_eq!(
            aside(Path::new("d/u.v2")),
            Path::new("d/u.v2.wasmchart-old")
        );
    }

    #[test]
    fn escaping_sources_are_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_tree(
            dir.path(),
            &[obj("u/a.yaml", "a"), obj("../evil.yaml", "b")],
        )
        .unwrap_err();
        assert!(err.to_string().contains("'../evil.yaml'"), "{err}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
