//! Reading `--from`: a previous render as a YAML stream (a file, or `-`
//! for stdin) or an `--output-dir` tree; a `v1` `List` (`render -o json`)
//! counts as its items. The operator names it, so it is
//! not confined, but every file is read as a regular file, non-blocking and
//! size-capped, and a tree holds only directories and regular files.

use anyhow::{Context as _, Result, bail};
use serde_json::Value;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use wasmchart_values::chartfs::{self, Budget, Limit};

/// One render, as one stream or the whole tree together.
const RENDER: Limit = Limit {
    what: "a --from render",
    bytes: 256 << 20,
};

/// Directories deeper than this in a `--from` tree are refused (a render
/// tree is `<umbrella>/charts/<sub>/templates/…`, a few levels).
const MAX_DEPTH: usize = 32;

/// The objects of the render at `path` (`-` is stdin), in stream order
/// (for a tree: files in path order).
///
/// # Errors
///
/// Unreadable, not a regular file or directory, over the size cap, or not
/// YAML; the error names the file.
pub fn load(path: &Path) -> Result<Vec<Value>> {
    if path == Path::new("-") {
        return parse(&read_stdin()?, "<stdin>");
    }
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read --from '{}'", path.display()))?;
    if meta.is_dir() {
        let mut files = Vec::new();
        walk(path, 0, &mut files)?;
        files.sort();
        let mut budget = Budget::new(RENDER);
        let mut objects = Vec::new();
        for file in files {
            let text = chartfs::read_operator_string(&file, &RENDER)?;
            budget.spend(text.len() as u64, file.clone())?;
            objects.extend(parse(&text, &file.display().to_string())?);
        }
        return Ok(objects);
    }
    let text = chartfs::read_operator_string(path, &RENDER)?;
    parse(&text, &path.display().to_string())
}

fn parse(text: &str, origin: &str) -> Result<Vec<Value>> {
    let docs = wasmchart_values::yaml::parse_documents(text, origin)
        .with_context(|| format!("--from {origin} is not a YAML stream of objects"))?;
    let mut objects = Vec::with_capacity(docs.len());
    for doc in docs {
        match doc {
            Value::Object(mut map) if is_list(&map) => match map.remove("items") {
                Some(Value::Array(items)) if items.iter().all(Value::is_object) => {
                    objects.extend(items);
                }
                _ => bail!("--from {origin} holds a List whose items are not all objects"),
            },
            Value::Object(_) => objects.push(doc),
            _ => bail!(
                "--from {origin} holds a document that is not a Kubernetes object (not a map)"
            ),
        }
    }
    Ok(objects)
}

/// A `v1` `List` (what `render -o json` and `kubectl get -o yaml` print):
/// its items are the objects.
fn is_list(map: &serde_json::Map<String, Value>) -> bool {
    map.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && map.get("kind").and_then(Value::as_str) == Some("List")
}

fn read_stdin() -> Result<String> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(RENDER.bytes + 1)
        .read_to_end(&mut bytes)
        .context("cannot read --from - (stdin)")?;
    if bytes.len() as u64 > RENDER.bytes {
        bail!(
            "cannot read --from - (stdin): it is over the {} limit for {}",
            chartfs::size(RENDER.bytes),
            RENDER.what
        );
    }
    String::from_utf8(bytes).context("cannot read --from - (stdin): it is not UTF-8 text")
}

/// Collects the `.yaml`/`.yml` files under `dir`; anything but a directory
/// or regular file (a symlink, FIFO, device) is an error naming it.
fn walk(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) -> Result<()> {
    if depth > MAX_DEPTH {
        bail!(
            "cannot read --from tree: '{}' is nested more than {MAX_DEPTH} directories deep",
            dir.display()
        );
    }
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list '{}'", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list '{}'", dir.display()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .with_context(|| format!("cannot read '{}'", path.display()))?;
        if kind.is_dir() {
            walk(&path, depth + 1, files)?;
        } else if kind.is_file() {
            if is_yaml(&path) {
                files.push(path);
            }
        } else {
            let what = if kind.is_symlink() {
                "a symlink"
            } else {
                "a FIFO, socket or device"
            };
            bail!(
                "cannot read --from tree: '{}' is {what}; a render tree holds only directories and regular files",
                path.display()
            );
        }
    }
    Ok(())
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}
