//! The one error type of this crate: every variant names the file, line, key path or flag at
//! fault so the CLI can print it as a one-paragraph message.

use std::path::PathBuf;

/// Everything that can go wrong while loading a chart or computing its values.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read (missing values file, unreadable Chart.yaml, a FIFO, a file over
    /// its size limit, a path leading outside the chart, ...).
    #[error("cannot read {}: {reason}", path.display())]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// Why: the operating-system error or the rule broken. Not exposed as `source()`, since
        /// the message already says it and a chain printer would repeat it.
        reason: std::io::Error,
    },
    /// YAML that does not parse, with the position of the problem.
    #[error("invalid YAML in {origin}:{line}:{col}: {message}")]
    Yaml {
        /// File name or other origin of the text.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// A values file whose document is not a map of keys to values.
    #[error("{origin}:{line}:{col}: values must be a map of keys to values, found {found}")]
    NotAMap {
        /// File name of the values file.
        origin: String,
        /// 1-based line of the offending document.
        line: usize,
        /// 1-based column of the offending document.
        col: usize,
        /// What was found instead ("a list", "a string", ...).
        found: String,
    },
    /// A chart directory that is not a valid chart.
    #[error("invalid chart {}: {message}", dir.display())]
    Chart {
        /// The chart directory.
        dir: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// Dependencies listed in Chart.yaml that have no chart under charts/: all of them at once,
    /// as Helm lists them, so one run tells what to fetch.
    #[error(
        "chart {chart:?}: {} listed in Chart.yaml {} missing in {}: {} (Helm: \"found in \
         Chart.yaml, but missing in charts/ directory\"); run `helm dependency build`, or put \
         each chart (a directory or a .tgz) under charts/",
        plural(.names.len(), "dependency", "dependencies"),
        if .names.len() == 1 { "is" } else { "are" },
        dir.display(),
        quoted(.names)
    )]
    MissingDependencies {
        /// The chart whose Chart.yaml lists the dependencies.
        chart: String,
        /// Every missing dependency name, in Chart.yaml order.
        names: Vec<String>,
        /// The charts/ directory that was searched.
        dir: PathBuf,
    },
    /// A packaged subchart (`charts/*.tgz`) that cannot be unpacked or breaks an archive rule.
    /// Not exposed as `source()`: the message already says it all.
    #[error("cannot load {0}")]
    Archive(crate::chartfs::archive::ArchiveError),
    /// `--env` named an environment the umbrella chart does not define.
    #[error("unknown environment {env:?}: known environments are {}", known_list(.known))]
    UnknownEnv {
        /// The requested environment.
        env: String,
        /// Environments defined by Chart.yaml `environments:` or `values-*.yaml` files.
        known: Vec<String>,
    },
    /// A `--set`-family expression that Helm would reject.
    #[error("failed parsing {flag} {expr:?}: {message}")]
    Set {
        /// The flag (`--set`, `--set-string`, ...).
        flag: &'static str,
        /// The expression as given.
        expr: String,
        /// What is wrong.
        message: String,
    },
    /// Values whose shapes clash (for example a subchart section that is not a map).
    #[error("type mismatch at {path:?}: {message}")]
    TypeMismatch {
        /// The key path.
        path: String,
        /// The clash, naming the sources involved.
        message: String,
    },
    /// values.schema.json validation failures, one line per failure.
    #[error("values do not meet the schema of chart {chart:?}:\n{}", .failures.join("\n"))]
    Schema {
        /// The chart whose schema failed (name or alias path).
        chart: String,
        /// One line per failure: JSON path, rule broken, source of the value.
        failures: Vec<String>,
    },
    /// A values.schema.json that cannot be used.
    #[error("invalid schema {}: {message}", path.display())]
    BadSchema {
        /// The schema file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `explain` was asked about a malformed path.
    #[error("invalid value path {path:?}: {message}")]
    BadPath {
        /// The path as given.
        path: String,
        /// What is wrong.
        message: String,
    },
}

/// "1 dependency" / "2 dependencies".
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `"a", "b"`.
fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "none (add values-<env>.yaml or an environments: entry to Chart.yaml)".to_string()
    } else {
        known.join(", ")
    }
}

impl From<crate::chartfs::archive::ArchiveError> for Error {
    fn from(e: crate::chartfs::archive::ArchiveError) -> Self {
        Error::Archive(e)
    }
}

impl Error {
    /// A YAML error at `mark` in the text from `origin`.
    pub(crate) fn yaml(origin: &str, mark: crate::path::Mark, message: impl Into<String>) -> Error {
        Error::Yaml {
            origin: origin.to_string(),
            line: mark.line,
            col: mark.col,
            message: message.into(),
        }
    }
}
