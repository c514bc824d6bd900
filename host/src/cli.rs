//! The command line: clap definitions and the thin glue from parsed flags to
//! the library. Nothing here renders or merges; it only translates.

use crate::output::{self, Format};
use crate::policy::{self, Policy};
use crate::render::{LimitFlags, RenderOptions};
use crate::sandbox::LogLevel;
use crate::text;
use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use wasmchart_values::path::Seg;
use wasmchart_values::{Explanation, ValueOptions};

/// Render Kubernetes umbrella charts whose subcharts are sandboxed
/// WebAssembly components.
#[derive(Debug, Parser)]
#[command(
    name = "wasmchart",
    version,
    propagate_version = true,
    about,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Render the chart's objects, like `helm template`.
    Render(Box<RenderArgs>),
    /// Print the umbrella's computed values, as Helm hands them to its templates.
    Values(ValuesArgs),
    /// Manage host-generated secrets.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Show what changed, object by object and field by field, between two environments or against a previous render; exits 0 same, 1 different, 2 error.
    Diff(Box<crate::diff::DiffArgs>),
    /// Push a packaged chart to an OCI registry, as `helm push` does.
    Push(crate::oci::PushArgs),
    /// Download a chart from an OCI registry, as `helm pull` does (digest-verified).
    Pull(crate::oci::PullArgs),
    /// Log in to or out of an OCI registry (credentials stored where Helm keeps them).
    Registry(crate::oci::RegistryArgs),
    /// Scaffold a subchart and its component project (Rust, JavaScript or Python) that builds from any directory.
    New(crate::author::NewArgs),
    /// Run the build command each local subchart declares in Chart.yaml (`build:`) and install its component; runs the chart's commands: never use it on charts you do not trust.
    Build(crate::author::BuildArgs),
    /// Package a chart directory as a Helm chart archive (NAME-VERSION.tgz), its component included.
    #[command(disable_version_flag = true)]
    Package(crate::package::PackageArgs),
    /// Resolve (update) or reinstall (build) a chart's dependencies into charts/, pinned by Chart.lock.
    #[command(subcommand)]
    Dependency(crate::dependency::DependencyCommand),
    /// Print wasmchart's version, the wasmtime it embeds and the WIT package its components target.
    Version {
        /// Print only wasmchart's version.
        #[arg(long)]
        short: bool,
    },
    /// Print a shell completion script (e.g. `wasmchart completion bash > /etc/bash_completion.d/wasmchart`).
    Completion {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

/// Flags that feed the values engine, shared by `render` and `values`.
#[derive(Debug, Args)]
struct ValueFlags {
    /// Environment: reads the files `environments.ENV` names in Chart.yaml (values-ENV.yaml for a chart without `environments:`) before any -f.
    #[arg(long, value_name = "ENV")]
    env: Option<String>,
    /// Values file; may repeat, later files win.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Set a value: a.b=c, list={x,y}, a[0]=z; may repeat.
    #[arg(long, value_name = "EXPR")]
    set: Vec<String>,
    /// Set a value, always as a string.
    #[arg(long, value_name = "EXPR")]
    set_string: Vec<String>,
    /// Set a value to a file's text: key=path.
    #[arg(long, value_name = "KEY=PATH")]
    set_file: Vec<String>,
    /// Set a value from JSON: key=json.
    #[arg(long, value_name = "EXPR")]
    set_json: Vec<String>,
    /// Set a value verbatim: key=text, no escapes or lists.
    #[arg(long, value_name = "EXPR")]
    set_literal: Vec<String>,
}

impl ValueFlags {
    fn into_options(self) -> ValueOptions {
        ValueOptions {
            env: self.env,
            files: self.files,
            set: self.set,
            set_string: self.set_string,
            set_json: self.set_json,
            set_literal: self.set_literal,
            set_file: self.set_file,
        }
    }
}

#[derive(Debug, Args)]
struct RenderArgs {
    /// Release name when CHART follows, as `helm template RELEASE CHART`; alone, the chart.
    #[arg(value_name = "RELEASE")]
    first: Option<PathBuf>,
    /// The umbrella chart's directory (default: the current directory).
    #[arg(value_name = "CHART")]
    second: Option<PathBuf>,
    #[command(flatten)]
    values: ValueFlags,
    /// Release name (default: the chart's name).
    #[arg(long, value_name = "NAME")]
    release: Option<String>,
    /// Namespace (default: the environment's, else "default").
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// Write one file per source under DIR instead of printing.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "yaml")]
    output: Format,
    /// Only print the objects of this source path (as after `# Source:`; a glob like helm's); may repeat.
    #[arg(short = 's', long = "show-only", value_name = "PATH")]
    show_only: Vec<String>,
    /// Check every object offline against the strict schemas of --kube-version (1.25 on) and of the custom resources wasmchart emits.
    #[arg(long)]
    validate: bool,
    /// Kubernetes version the objects are rendered for (v1.31.0 or 1.31; 1.19 or later).
    #[arg(long, value_name = "VERSION", default_value = "v1.31.0", value_parser = crate::kube::parse_kube_version)]
    kube_version: String,
    /// Extra API versions the cluster serves (group/version or group/version/Kind); may repeat.
    #[arg(short = 'a', long = "api-versions", value_name = "VERSION", value_parser = crate::kube::parse_api_version)]
    api_versions: Vec<String>,
    /// Render for an upgrade of an existing release instead of a first install.
    #[arg(long)]
    is_upgrade: bool,
    /// Print the CustomResourceDefinitions under crds/ (umbrella and enabled subcharts) first, as helm template --include-crds does.
    #[arg(long)]
    include_crds: bool,
    /// File holding the root key that secrets are derived from (else $WASMCHART_SECRET_KEY).
    #[arg(long, value_name = "PATH")]
    secret_key_file: Option<PathBuf>,
    /// Sealed Secrets controller certificate (PEM) for the `sealed` strategy.
    #[arg(long, value_name = "PATH")]
    seal_cert: Option<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
    /// Operator policy file: limit maximums and what components may emit (else $WASMCHART_POLICY).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Refuse to render without an up-to-date Chart.lock that pins every dependency and component.
    #[arg(long)]
    verify_lock: bool,
    /// Print the components' notes to stderr after rendering.
    #[arg(long)]
    notes: bool,
    /// Show every component log line, not only warnings and errors.
    #[arg(short = 'v', long)]
    verbose: bool,
    /// Run every component, even those whose output is cached for the same inputs.
    #[arg(long)]
    no_render_cache: bool,
}

/// Per-component sandbox limits; these beat `limits:` in Chart.yaml.
#[derive(Debug, Args)]
struct LimitArgs {
    /// Linear memory per component, e.g. 128Mi (default 128Mi).
    #[arg(long, value_name = "SIZE")]
    memory_limit: Option<String>,
    /// Wall-clock time per component, e.g. 5s or 500ms (default 5s).
    #[arg(long, value_name = "DURATION")]
    timeout: Option<String>,
    /// Size of the output one component may return, e.g. 16Mi (default 16Mi).
    #[arg(long, value_name = "SIZE")]
    output_limit: Option<String>,
    /// Wall-clock time to compile one component on a cache miss, e.g. 30s (default 120s).
    #[arg(long, value_name = "DURATION")]
    compile_timeout: Option<String>,
    /// Memory the compiler may use for one component, e.g. 512Mi (default 1Gi).
    #[arg(long, value_name = "SIZE")]
    compile_memory: Option<String>,
}

#[derive(Debug, Args)]
struct ValuesArgs {
    /// The umbrella chart's directory.
    #[arg(default_value = ".")]
    chart: PathBuf,
    #[command(flatten)]
    values: ValueFlags,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "yaml")]
    output: Format,
    /// Print the value at PATH (e.g. redis.auth.enabled) and every source that set it.
    #[arg(long, value_name = "PATH")]
    explain: Option<String>,
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// Write what an External Secrets store must hold for an environment (JSON, one entry per remoteRef.key).
    Export(crate::secrets::ExportArgs),
    /// Show each secret's name, strategy, keys, generation and consumers; never a value.
    List(crate::secrets::SecretsArgs),
    /// Bump a secret's generation so the next render derives a new value.
    Rotate {
        /// The secret's id in `secrets.items`.
        id: String,
        /// Environment whose generation is bumped.
        #[arg(long, value_name = "ENV")]
        env: String,
        /// The umbrella chart's directory.
        #[arg(long, default_value = ".")]
        chart: PathBuf,
    },
}

/// Entry point of the binary: parses flags, runs, prints any error once as
/// one paragraph and maps it to the exit status.
///
/// One rule for scripts and Argo CD: 0 on success, 1 on any error, usage
/// errors included (clap alone would exit 2 for those). `--help` and
/// `--version` print to stdout and exit 0.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if helm_flag_hint(&err).is_some() => {
            eprintln!("error: {}", helm_flag_hint(&err).unwrap_or_default());
            return usage_failure();
        }
        Err(err) => {
            let status = if err.use_stderr() {
                usage_failure()
            } else {
                ExitCode::SUCCESS
            };
            // clap's own rendering: usage errors to stderr, help and version to stdout.
            let _ = err.print();
            return status;
        }
    };
    let cli = match cli.command {
        Command::Diff(args) => return diff(*args),
        command => Cli { command },
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", text::escape_lines(&format!("{err:#}"), "  "));
            ExitCode::FAILURE
        }
    }
}

/// Helm flags that wasmchart does not take, with what to do instead. clap's
/// own tip for these is wrong: it suggests a look-alike (`--validate` →
/// `--values`) or passing the flag after `--`, which would make it a chart path.
const HELM_FLAGS: &[(&str, &str)] = &[
    (
        "--dry-run",
        "render never contacts a cluster, so there is nothing to dry-run; leave the flag out",
    ),
    (
        "--debug",
        "use -v/--verbose to see every component log line",
    ),
    (
        "--skip-crds",
        "CRDs are printed only with --include-crds, so leaving that out skips them",
    ),
    (
        "--skip-tests",
        "components emit no Helm test hooks; leave the flag out",
    ),
];

/// The message for a Helm flag wasmchart does not take, if `err` is one.
fn helm_flag_hint(err: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if err.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
        return None;
    };
    let name = arg.split('=').next().unwrap_or(arg);
    let (flag, hint) = HELM_FLAGS.iter().find(|(flag, _)| *flag == name)?;
    Some(format!(
        "{flag} is a helm flag wasmchart does not take: {hint}"
    ))
}

/// `diff` exits as diff(1) does: 0 same, 1 different, 2 on any error,
/// usage errors included; a closed pipe means differences were printed.
fn diff(args: crate::diff::DiffArgs) -> ExitCode {
    match crate::diff::run(args) {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(1),
        Err(err) if is_broken_pipe(&err) => ExitCode::from(1),
        Err(err) => {
            eprintln!("error: {}", text::escape_lines(&format!("{err:#}"), "  "));
            ExitCode::from(2)
        }
    }
}

/// The exit status of a usage error: 2 for `diff` (as diff(1)), else 1.
fn usage_failure() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|a| a == "diff") {
        ExitCode::from(2)
    } else {
        ExitCode::FAILURE
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Render(args) => render(args),
        Command::Values(args) => values(args),
        Command::Secrets(SecretsCommand::Rotate { id, env, chart }) => {
            crate::secrets::rotate(&chart, &env, &id)
        }
        Command::Secrets(SecretsCommand::Export(args)) => crate::secrets::export(&args),
        Command::Secrets(SecretsCommand::List(args)) => crate::secrets::list(&args),
        Command::Push(a) => crate::oci::run_push(a),
        Command::Pull(a) => crate::oci::run_pull(a),
        Command::Registry(a) => crate::oci::run_registry(a),
        Command::New(a) => crate::author::run_new(a),
        Command::Build(a) => crate::author::run_build(a),
        Command::Package(a) => crate::package::run(a),
        Command::Dependency(a) => crate::dependency::run(a),
        Command::Version { short } => write_stdout(&version_text(short)),
        Command::Completion { shell } => completion(shell),
        // `main` runs diff itself, for diff(1)'s exit statuses.
        Command::Diff(args) => crate::diff::run(*args).map(drop),
    }
}

/// The wasmtime release the binary embeds; a unit test holds it to Cargo.lock.
const WASMTIME_VERSION: &str = "48.0.8";

/// `wasmchart version`: what a bug report needs. The WIT package is read
/// from the world file the host is built against, so it cannot drift.
fn version_text(short: bool) -> String {
    let version = env!("CARGO_PKG_VERSION");
    if short {
        return format!("{version}\n");
    }
    let wit = include_str!("../../wit/chart.wit")
        .lines()
        .find_map(|l| l.trim().strip_prefix("package "))
        .map_or("unknown", |p| p.trim_end_matches(';').trim());
    format!("wasmchart {version}\nwasmtime {WASMTIME_VERSION}\nwit {wit}\n")
}

/// Writes the completion script for `shell` to stdout.
fn completion(shell: clap_complete::Shell) -> Result<()> {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "wasmchart", &mut script);
    write_stdout(&String::from_utf8_lossy(&script))
}

/// The chart directory and release name from `[RELEASE] CHART` and
/// `--release`, as `helm template` reads them.
fn chart_and_release(args: &mut RenderArgs) -> Result<(PathBuf, Option<String>)> {
    let flag = args.release.take();
    match (args.first.take(), args.second.take()) {
        (None, _) => Ok((PathBuf::from("."), flag)),
        (Some(chart), None) => Ok((chart, flag)),
        (Some(release), Some(chart)) => {
            let release = release.into_os_string().into_string().map_err(|r| {
                anyhow::anyhow!(
                    "the release name {} is not UTF-8 text",
                    text::escape(&r.to_string_lossy())
                )
            })?;
            if let Some(flag) = flag {
                anyhow::bail!(
                    "the release name is given twice, as the argument '{}' and as --release '{}'; \
                     give it once",
                    text::escape(&release),
                    text::escape(&flag)
                );
            }
            Ok((chart, Some(release)))
        }
    }
}

/// Standard input holds one stream, so `-f -` may appear once.
fn check_stdin_once(files: &[PathBuf]) -> Result<()> {
    let stdin = files.iter().filter(|f| f.as_os_str() == "-").count();
    anyhow::ensure!(
        stdin <= 1,
        "-f - is given {stdin} times; standard input can be read only once, so give it once"
    );
    Ok(())
}

fn render(args: Box<RenderArgs>) -> Result<()> {
    let mut args = *args;
    let (chart_dir, release) = chart_and_release(&mut args)?;
    check_stdin_once(&args.values.files)?;
    let policy = policy::policy_path(args.policy)
        .map(|path| Policy::load(&path))
        .transpose()?;
    let options = RenderOptions {
        chart_dir,
        values: args.values.into_options(),
        release,
        namespace: args.namespace,
        kube_version: args.kube_version,
        api_versions: args.api_versions,
        is_upgrade: args.is_upgrade,
        secret_key_file: args.secret_key_file,
        seal_cert: args.seal_cert,
        limits: LimitFlags {
            memory: args.limits.memory_limit,
            timeout: args.limits.timeout,
            output: args.limits.output_limit,
            compile_timeout: args.limits.compile_timeout,
            compile_memory: args.limits.compile_memory,
        },
        policy,
        cache_dir: None,
        progress: std::io::stderr().is_terminal(),
        include_crds: args.include_crds,
        verify_lock: args.verify_lock,
        no_render_cache: args.no_render_cache,
    };
    let mut rendered = crate::render::render(&options)?;
    if args.validate {
        let report = crate::validate::check(&rendered.objects, &options.kube_version)?;
        for kind in report.unchecked {
            rendered.warnings.push(format!(
                "--validate: no schema for {kind} in Kubernetes {} or wasmchart's own custom \
                 resources; its objects were not checked",
                options.kube_version
            ));
        }
    }
    if !args.show_only.is_empty() {
        let objects = std::mem::take(&mut rendered.objects);
        rendered.objects = output::show_only::filter(objects, &args.show_only)?;
    }
    if args.verbose {
        let identity =
            crate::secrets::derived_for(&options.chart_dir, options.values.env.as_deref())?;
        eprintln!("secrets: derived for {}", text::escape(&identity));
        if !rendered.recalled.is_empty() {
            let names: Vec<_> = rendered.recalled.iter().map(|n| text::escape(n)).collect();
            eprintln!(
                "render cache: output reused, inputs unchanged: {} (--no-render-cache runs them)",
                names.join(", ")
            );
        }
    }
    print_diagnostics(&rendered, args.verbose, args.notes);
    if let Some(dir) = &args.output_dir {
        return output::write_tree(dir, &rendered.objects);
    }
    let text = match args.output {
        Format::Yaml => output::to_yaml_stream(&rendered.objects),
        Format::Json => output::to_json(&rendered.objects),
    };
    let written = write_stdout(&text);
    // Only memory, mappings and open files, nothing buffered, and the
    // process exits next: freeing every object one by one (about 4% of the
    // main thread's time for a thousand objects) and unloading every
    // component would only delay the exit.
    std::mem::forget(rendered);
    written
}

/// Warnings, component log lines and (with `--notes`) notes on stderr.
/// Every line starts with `warning: ` or `[component] `, and whatever a
/// component wrote is escaped, so no component can print a line that looks
/// like the host's own or drive the terminal.
fn print_diagnostics(rendered: &crate::render::Rendered, verbose: bool, notes: bool) {
    let mut err = std::io::stderr().lock();
    for warning in &rendered.warnings {
        let _ = writeln!(err, "warning: {}", text::escape(warning));
    }
    for (component, line) in &rendered.logs {
        if verbose || matches!(line.level, LogLevel::Warn | LogLevel::Error) {
            let _ = writeln!(
                err,
                "[{}] {}: {}",
                text::escape(component),
                line.level,
                text::escape(&line.message)
            );
        }
    }
    if notes {
        for (component, notes) in &rendered.notes {
            let component = text::escape(component);
            let _ = writeln!(err, "[{component}] NOTES:");
            for line in notes.lines() {
                let _ = writeln!(err, "[{component}] {}", text::escape(line));
            }
        }
    }
}

fn values(args: ValuesArgs) -> Result<()> {
    check_stdin_once(&args.values.files)?;
    let chart = wasmchart_values::Chart::load(&args.chart)?;
    let computed = wasmchart_values::compute(&chart, &args.values.into_options())?;
    if let Some(path) = &args.explain {
        let mut explanation = computed.explain(path)?;
        redact_explanation(&mut explanation);
        return write_stdout(&format!("{explanation}\n"));
    }
    let mut values = computed.values().clone();
    wasmchart_services::redact_supplied(&mut values);
    let text = match args.output {
        Format::Yaml => wasmchart_values::yaml::to_string(&values),
        Format::Json => {
            let mut s =
                serde_json::to_string_pretty(&values).context("cannot print values as JSON")?;
            s.push('\n');
            s
        }
    };
    write_stdout(&text)
}

/// Redacts supplied secret values in an explanation: each value is put
/// back at its path in an otherwise empty tree, redacted there with the
/// same rule as `values` output, and taken out again.
fn redact_explanation(explanation: &mut Explanation) {
    let path = explanation.path.clone();
    if let Some(value) = explanation.value.as_mut() {
        redact_at(&path, value);
    }
    for step in &mut explanation.steps {
        let at = step.at.clone();
        redact_at(&at, &mut step.value);
        if let Some(source) = crate::secrets::redact_flag_source(&step.source) {
            step.source = source;
        }
    }
}

fn redact_at(path: &str, value: &mut Value) {
    let Ok(segs) = wasmchart_values::path::parse(path) else {
        return;
    };
    let mut tree = value.clone();
    for seg in segs.iter().rev() {
        let Seg::Key(key) = seg else {
            return;
        };
        let mut map = serde_json::Map::new();
        map.insert(key.clone(), tree);
        tree = Value::Object(map);
    }
    wasmchart_services::redact_supplied(&mut tree);
    if let Some(redacted) = wasmchart_values::path::lookup(&tree, &segs) {
        *value = redacted.clone();
    }
}

fn write_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn wasmtime_version_matches_the_lock_file() {
        let lock = include_str!("../../Cargo.lock");
        let pinned = lock
            .split("[[package]]")
            .find(|p| p.contains("\nname = \"wasmtime\"\n"))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
            .map(|v| v.trim_end_matches('"'));
        assert_eq!(pinned, Some(super::WASMTIME_VERSION));
    }

    #[test]
    fn version_names_the_wit_package() {
        let text = super::version_text(false);
        assert!(text.contains("\nwit wasmchart:chart@0.1.0\n"), "{text}");
        assert_eq!(
            super::version_text(true),
            format!("{}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}
