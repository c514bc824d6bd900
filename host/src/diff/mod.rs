//! `wasmchart diff`: what would change, object by object and field by
//! field, between two renders — two environments, or one environment and
//! a previous render (`--from`, e.g. what was last deployed). This is the
//! promotion check: bumping one image tag shows exactly the image lines.
//!
//! Objects match by (apiVersion, kind, namespace, name); lists of named
//! maps (containers, env, ports, volumes) match by `name`, as kubectl
//! merges them ([`compare`]). Secret values never print: a Secret's
//! `data`/`stringData` and a SealedSecret's `encryptedData` show only as
//! "changed" ([`print`]).
//!
//! Exit status as diff(1): 0 same, 1 different, 2 error.

mod compare;
mod from;
mod print;

pub use compare::{Field, FieldChange, Ignore, Key, ObjectChange, Step, compare};
pub use print::{path_text, report};

use crate::policy::{self, Policy};
use crate::render::{LimitFlags, RenderOptions};
use anyhow::{Result, bail};
use clap::Args;
use serde_json::Value;
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use wasmchart_values::ValueOptions;

/// When to colour the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Color {
    /// Only when stdout is a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always, even into a pipe.
    Always,
    /// Never.
    Never,
}

/// `wasmchart diff`'s flags: the render flags (one `--env` per side) plus
/// what to compare against and what to ignore.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The umbrella chart's directory.
    #[arg(default_value = ".")]
    pub chart: PathBuf,
    /// Environment: once with --from, twice to compare two environments (the second is the new side).
    #[arg(long, value_name = "ENV")]
    pub env: Vec<String>,
    /// Previous render to compare against: a YAML stream file, - for stdin, or an --output-dir tree.
    #[arg(long, value_name = "PATH")]
    pub from: Option<PathBuf>,
    /// Values file; may repeat, later files win (new side only with --from, both sides with two --env).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Set a value: a.b=c, list={x,y}, a[0]=z; may repeat.
    #[arg(long, value_name = "EXPR")]
    pub set: Vec<String>,
    /// Set a value, always as a string.
    #[arg(long, value_name = "EXPR")]
    pub set_string: Vec<String>,
    /// Set a value to a file's text: key=path.
    #[arg(long, value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
    /// Set a value from JSON: key=json.
    #[arg(long, value_name = "EXPR")]
    pub set_json: Vec<String>,
    /// Set a value verbatim: key=text, no escapes or lists.
    #[arg(long, value_name = "EXPR")]
    pub set_literal: Vec<String>,
    /// Release name (default: the chart's name).
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,
    /// Namespace (default: each environment's, else "default").
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Kubernetes version the objects are rendered for (v1.31.0 or 1.31; 1.19 or later).
    #[arg(long, value_name = "VERSION", default_value = "v1.31.0", value_parser = crate::kube::parse_kube_version)]
    pub kube_version: String,
    /// Extra API versions the cluster serves (group/version or group/version/Kind); may repeat.
    #[arg(short = 'a', long = "api-versions", value_name = "VERSION", value_parser = crate::kube::parse_api_version)]
    pub api_versions: Vec<String>,
    /// Render for an upgrade of an existing release instead of a first install.
    #[arg(long)]
    pub is_upgrade: bool,
    /// File holding the root key that secrets are derived from (else $WASMCHART_SECRET_KEY).
    #[arg(long, value_name = "PATH")]
    pub secret_key_file: Option<PathBuf>,
    /// Sealed Secrets controller certificate (PEM) for the `sealed` strategy.
    #[arg(long, value_name = "PATH")]
    pub seal_cert: Option<PathBuf>,
    /// Linear memory per component, e.g. 128Mi (default 128Mi).
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Wall-clock time per component, e.g. 5s or 500ms (default 5s).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Size of the output one component may return, e.g. 16Mi (default 16Mi).
    #[arg(long, value_name = "SIZE")]
    pub output_limit: Option<String>,
    /// Wall-clock time to compile one component on a cache miss (default 120s).
    #[arg(long, value_name = "DURATION")]
    pub compile_timeout: Option<String>,
    /// Memory the compiler may use for one component (default 1Gi).
    #[arg(long, value_name = "SIZE")]
    pub compile_memory: Option<String>,
    /// Operator policy file (else $WASMCHART_POLICY).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Match objects without their namespace and ignore namespace-only changes.
    #[arg(long)]
    pub ignore_namespace: bool,
    /// Ignore label-only changes (any metadata.labels).
    #[arg(long)]
    pub ignore_labels: bool,
    /// Colour the report: auto (a terminal, NO_COLOR unset), always or never.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: Color,
}

/// Runs `wasmchart diff`: renders (or reads) both sides, prints the report
/// on stdout and returns whether anything differs.
///
/// # Errors
///
/// Wrong `--env`/`--from` combination, a failed render, or an unreadable
/// `--from`; the error names the flag, file or component.
pub fn run(args: DiffArgs) -> Result<bool> {
    let policy = policy::policy_path(args.policy.clone())
        .map(|path| Policy::load(&path))
        .transpose()?;
    let stdin = |p: &PathBuf| p.as_os_str() == "-";
    if args.from.as_ref().is_some_and(stdin) && args.files.iter().any(stdin) {
        bail!(
            "--from - and -f - both read standard input, which holds one stream; give one of them a file"
        );
    }
    let (old, new) = match (&args.from, args.env.as_slice()) {
        (Some(from), [] | [_]) => {
            let old = from::load(from)?;
            let env = args.env.first().cloned();
            (old, render_side(&args, env, policy)?)
        }
        (None, [a, b]) => {
            let old = render_side(&args, Some(a.clone()), policy.clone())?;
            (old, render_side(&args, Some(b.clone()), policy)?)
        }
        (Some(_), _) => bail!(
            "diff takes at most one --env with --from (got {}): the other side is the --from render",
            args.env.len()
        ),
        (None, envs) => bail!(
            "diff needs two sides: --env OLD --env NEW, or --env ENV --from PATH (got {} --env and no --from)",
            envs.len()
        ),
    };
    let ignore = Ignore {
        namespace: args.ignore_namespace,
        labels: args.ignore_labels,
    };
    let changes = compare(&old, &new, ignore);
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(report(&changes, color).as_bytes())?;
    out.flush()?;
    Ok(!changes.is_empty())
}

/// Renders one side with the shared flags and environment `env`; the
/// render's warnings go to stderr, escaped, as `render` prints them.
fn render_side(args: &DiffArgs, env: Option<String>, policy: Option<Policy>) -> Result<Vec<Value>> {
    let options = RenderOptions {
        chart_dir: args.chart.clone(),
        values: ValueOptions {
            env,
            files: args.files.clone(),
            set: args.set.clone(),
            set_string: args.set_string.clone(),
            set_json: args.set_json.clone(),
            set_literal: args.set_literal.clone(),
            set_file: args.set_file.clone(),
        },
        release: args.release.clone(),
        namespace: args.namespace.clone(),
        kube_version: args.kube_version.clone(),
        api_versions: args.api_versions.clone(),
        is_upgrade: args.is_upgrade,
        secret_key_file: args.secret_key_file.clone(),
        seal_cert: args.seal_cert.clone(),
        limits: LimitFlags {
            memory: args.memory_limit.clone(),
            timeout: args.timeout.clone(),
            output: args.output_limit.clone(),
            compile_timeout: args.compile_timeout.clone(),
            compile_memory: args.compile_memory.clone(),
        },
        policy,
        cache_dir: None,
        progress: std::io::stderr().is_terminal(),
        ..RenderOptions::default()
    };
    let rendered = crate::render::render(&options)?;
    for warning in &rendered.warnings {
        eprintln!("warning: {}", crate::text::escape(warning));
    }
    Ok(rendered.objects.into_iter().map(|o| o.value).collect())
}
