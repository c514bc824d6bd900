//! `wasmchart new NAME --lang L [--dir DIR]`: a subchart and its component
//! project, written into a temporary directory beside DIR and renamed into
//! place at the end, so a failure never leaves half a project.

use super::kit::{self, Kit};
use super::{Lang, NewArgs};
use anyhow::{Context, Result, bail};
use std::fs;
use std::path::{Path, PathBuf};

/// The longest chart name: it becomes part of object names, which are DNS
/// labels of at most 63 characters.
const MAX_NAME: usize = 63;

/// Scaffolds the subchart and prints what was created and what to run next.
pub fn run(args: &NewArgs) -> Result<()> {
    check_name(&args.name)?;
    let kit = kit::kit(args.lang);
    if kit.files.is_empty() {
        bail!(
            "the {} kit is not available yet in this wasmchart (--lang {}); use --lang rust",
            args.lang.title(),
            lang_flag(args.lang)
        );
    }
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(&args.name));
    check_target(&dir)?;
    let staging = Staging::create(&dir)?;
    write_kit(&staging.path, kit, &vars(&args.name, args.lang))?;
    staging.finish(&dir)?;
    print!("{}", summary(&dir, &args.name, args.lang, kit));
    Ok(())
}

/// Helm's chart-name rule (lowercase letters, digits and `-`), starting with a
/// letter and ending with a letter or digit because the name also names the
/// component's crate, package or module and its objects.
fn check_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        bail!(
            "invalid chart name {name:?}: use lowercase letters, digits and '-', starting with a \
             letter and ending with a letter or digit, at most {MAX_NAME} characters (Helm's \
             chart-name rule; the name also names the component and its objects)"
        );
    }
    Ok(())
}

fn lang_flag(lang: Lang) -> &'static str {
    match lang {
        Lang::Rust => "rust",
        Lang::Js => "js",
        Lang::Python => "python",
    }
}

/// DIR may not exist yet, or be an empty directory; anything else is refused.
fn check_target(dir: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot inspect {}", dir.display())),
    };
    if !meta.is_dir() {
        bail!(
            "{} exists and is not a directory; choose another --dir",
            dir.display()
        );
    }
    let mut entries =
        fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if entries.next().is_some() {
        bail!(
            "{} exists and is not empty; `wasmchart new` only writes into a new or empty \
             directory (choose another --dir, or remove it)",
            dir.display()
        );
    }
    Ok(())
}

fn vars(name: &str, lang: Lang) -> Vec<(&'static str, String)> {
    vec![
        ("{{name}}", name.to_string()),
        ("{{name_snake}}", name.replace('-', "_")),
        ("{{lang}}", lang.title().to_string()),
        (
            "{{wasmchart_version}}",
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ]
}

/// The chart files (with the kit's `build:` section) and the kit's files.
fn write_kit(root: &Path, kit: &Kit, vars: &[(&'static str, String)]) -> Result<()> {
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let build = kit::fill(&build_section(kit), &vars);
    for (rel, text) in kit::CHART.iter().chain(kit.files) {
        let text = kit::fill(text, &vars).replace("{{build}}", build.trim_end());
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The `build:` keys as YAML lines, indented under `build:`.
fn build_section(kit: &Kit) -> String {
    [
        ("workdir", kit.workdir),
        ("command", kit.command),
        ("output", kit.output),
    ]
    .iter()
    .map(|(key, value)| format!("  {key}: {}\n", yaml_scalar(value)))
    .collect()
}

/// `text` as a YAML scalar: plain when that reads back as the same string,
/// else double-quoted (JSON's quoting is valid YAML).
fn yaml_scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && !text.starts_with(|c: char| " -?:,[]{}#&*!|>'\"%@`".contains(c))
        && !text.ends_with(' ')
        && !text.contains(": ")
        && !text.contains(" #")
        && !is_yaml_word(text);
    if plain {
        text.to_string()
    } else {
        serde_json::Value::String(text.to_string()).to_string()
    }
}

/// Words and numbers a plain YAML scalar would not read back as a string.
fn is_yaml_word(text: &str) -> bool {
    const WORDS: [&str; 12] = [
        "true", "false", "yes", "no", "y", "n", "on", "off", "null", "~", "nan", "inf",
    ];
    WORDS.contains(
        &text
            .to_ascii_lowercase()
            .trim_start_matches(['.', '+', '-']),
    ) || text.parse::<f64>().is_ok()
}

/// A directory beside the target, removed on drop unless renamed into place.
struct Staging {
    path: PathBuf,
    done: bool,
}

impl Staging {
    fn create(dir: &Path) -> Result<Staging> {
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let base = dir
            .file_name()
            .with_context(|| format!("--dir {} does not name a directory", dir.display()))?;
        let path = parent.join(format!(
            ".{}.wasmchart-new-{}",
            base.to_string_lossy(),
            std::process::id()
        ));
        fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Staging { path, done: false })
    }

    /// Renames the finished project onto `dir` (an empty directory there is
    /// replaced, atomically).
    fn finish(mut self, dir: &Path) -> Result<()> {
        fs::rename(&self.path, dir).with_context(|| {
            format!(
                "cannot move the new project into {} (did something write there meanwhile?)",
                dir.display()
            )
        })?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// What `new` prints: the files and the next commands.
fn summary(dir: &Path, name: &str, lang: Lang, kit: &Kit) -> String {
    let d = dir.display();
    let rows = [
        (
            format!("{d}/Chart.yaml"),
            format!("the chart; `component: {name}.wasm` and the `build:` that makes it"),
        ),
        (
            format!("{d}/values.yaml"),
            "the default values (`message`)".to_string(),
        ),
        (
            format!("{d}/values.schema.json"),
            "what the values may be, checked before the component runs".to_string(),
        ),
        (
            format!("{d}/.helmignore"),
            "keeps component/ out of a packaged chart".to_string(),
        ),
        (
            format!("{d}/component/"),
            format!(
                "the {} project; its unit test: cd {d}/component && {}",
                lang.title(),
                kit.test
            ),
        ),
    ];
    let width = rows.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
    let mut out = format!(
        "created {d}: the {name} subchart, a {} component\n",
        lang.title()
    );
    for (path, what) in &rows {
        out.push_str(&format!("  {path:width$}  {what}\n"));
    }
    out.push_str(&format!(
        "next:\n  wasmchart build {d}     runs the build command, installs {d}/{name}.wasm\n  \
         wasmchart render {d}    renders it; or list it in an umbrella's Chart.yaml:\n      \
         dependencies:\n        - name: {name}\n          version: 0.1.0\n          \
         repository: file://./charts/{name}\n    then `wasmchart build` and `wasmchart render` \
         the umbrella\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_helms_rule() {
        for good in ["a", "my-chart", "web2", "a-1-b"] {
            check_name(good).unwrap();
        }
        for bad in ["", "A", "1a", "a_b", "a-", "a.b", "a/b", &"a".repeat(64)] {
            let e = check_name(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("invalid chart name {bad:?}")), "{e}");
        }
    }

    #[test]
    fn scalars_are_quoted_only_when_yaml_needs_it() {
        assert_eq!(
            yaml_scalar("cargo build --release"),
            "cargo build --release"
        );
        assert_eq!(yaml_scalar("a: b"), "\"a: b\"");
        assert_eq!(yaml_scalar("x # y"), "\"x # y\"");
        assert_eq!(yaml_scalar("-x"), "\"-x\"");
        assert_eq!(yaml_scalar("true"), "\"true\"");
        assert_eq!(yaml_scalar("1.5"), "\"1.5\"");
    }
}
