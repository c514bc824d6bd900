//! `wasmchart secrets export|list|rotate`, and the secret-related warnings and facts a render
//! reports: the operator's side of host-managed secrets.
//!
//! - `export` writes what an External Secrets store must hold for an environment: one JSON
//!   object per store entry (`remoteRef.key`), one property per key, with generated keys
//!   derived exactly as the other strategies derive them. Without it the `external` strategy
//!   has no publish step, and a rotation only changes a checksum while pods restart with the
//!   old value.
//! - `list` shows ids, Secret names, strategy, key sources, generations, store entries and
//!   the components consuming each secret, never a value, and needs no root key.
//! - `rotate` bumps a generation and, for `external`, says to export and publish again.
//!
//! Every derived value depends on the chart name and the environment name, so the identity a
//! render derived for (`imprun/prod`) is shown with `render -v`, and rendering an
//! environment's values file with `-f` but without `--env` is warned about.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use clap::Args;
use serde_json::Value;
use wasmchart_services::{self as services, Strategy};
use wasmchart_values::{Chart, ValueOptions};

use crate::render::RenderOptions;

/// Flags shared by `secrets export` and `secrets list`.
#[derive(Debug, Args)]
pub struct SecretsArgs {
    /// Environment: part of every derived value.
    #[arg(long, value_name = "ENV")]
    pub env: String,
    /// The umbrella chart's directory.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub chart: PathBuf,
    /// Release name (default: the chart's name); default Secret names are `<release>-<id>`.
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,
    /// Values file, as for `render`; may repeat.
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Set a value, as for `render` (e.g. a supplied secret's `value`); may repeat.
    #[arg(long, value_name = "EXPR")]
    pub set: Vec<String>,
    /// Set a value from a file's text: key=path; may repeat.
    #[arg(long, value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
}

/// `secrets export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub common: SecretsArgs,
    /// Write the export to FILE (mode 0600, replaced atomically) instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// File holding the root key (else $WASMCHART_SECRET_KEY), as for `render`.
    #[arg(long, value_name = "PATH")]
    pub secret_key_file: Option<PathBuf>,
}

/// The chart, its computed values and the services context of one environment.
struct Loaded {
    chart: Chart,
    values: Value,
    subcharts: Vec<(String, Value)>,
    ctx: services::Context,
}

/// Loads the chart and computes the environment's values; no root key (`list` and `rotate`
/// never need one; `export` loads it).
fn load(args: &SecretsArgs) -> Result<Loaded> {
    let chart = Chart::load(&args.chart)?;
    let environment = chart.environment(&args.env)?;
    let options = ValueOptions {
        env: Some(environment.name.clone()),
        files: args.files.clone(),
        set: args.set.clone(),
        set_file: args.set_file.clone(),
        ..Default::default()
    };
    let computed = wasmchart_values::compute(&chart, &options)?;
    let subcharts = computed
        .enabled_subcharts()
        .into_iter()
        .map(|sub| (sub.path.join("."), sub.values.into_owned()))
        .collect();
    let ctx = services::Context {
        chart: chart.name().to_string(),
        env: environment.name.clone(),
        release: args
            .release
            .clone()
            .unwrap_or_else(|| chart.name().to_string()),
        namespace: environment.namespace.clone(),
        chart_dir: chart.dir().to_path_buf(),
        root_key: None,
        seal_cert_pem: None,
    };
    Ok(Loaded {
        values: computed.values().clone(),
        chart,
        subcharts,
        ctx,
    })
}

/// Runs `wasmchart secrets export`.
///
/// # Errors
///
/// An unknown environment, no secret with strategy `external`, a missing required value
/// (all of them listed), a missing root key, stdout a terminal, or a failed write.
pub fn export(args: &ExportArgs) -> Result<()> {
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    if to_terminal {
        bail!(
            "secrets export prints secret values, and stdout is a terminal: pass -o FILE (written with mode 0600) or pipe it to the tool that publishes it"
        );
    }
    let loaded = load_for_export(args)?;
    let env_var = |key: &str| std::env::var(key).ok();
    let plan = services::plan(&loaded.values, &loaded.ctx, &env_var)?;
    if !plan.uses(Strategy::External) {
        bail!(
            "environment '{}' of chart '{}' has no secret with strategy external (secrets.strategy is {}): secrets export publishes the values an External Secrets store must hold, and the other strategies carry their values in the rendered output",
            loaded.ctx.env,
            loaded.chart.name(),
            strategies(&loaded)?
        );
    }
    let payloads = plan.external_payloads()?;
    let document = services::export_document(&payloads)?;
    let values: usize = payloads.iter().map(|p| p.properties.len()).sum();
    for p in &payloads {
        for key in &p.missing_optional {
            eprintln!(
                "warning: secret '{}' key '{key}' has no value and is not exported, but its ExternalSecret still reads property '{key}' of '{}': put it in the store yourself, or the ExternalSecret fails",
                p.id, p.remote_key
            );
        }
    }
    match &args.output {
        Some(path) => {
            write_private(path, document.expose())?;
            eprintln!(
                "wrote {} store entries ({values} values) for {} to {} (mode 0600)",
                payloads.len(),
                services::derived_for(&loaded.ctx),
                path.display()
            );
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(document.expose())?;
            out.flush()?;
        }
    }
    Ok(())
}

fn load_for_export(args: &ExportArgs) -> Result<Loaded> {
    let mut loaded = load(&args.common)?;
    let env_var = |key: &str| std::env::var(key).ok();
    loaded.ctx.root_key = services::load_root_key(
        &services::RootKeyOptions {
            key_file: args.secret_key_file.clone(),
            create_local: services::is_local_env(&loaded.ctx.env),
            chart_dir: loaded.chart.dir().to_path_buf(),
        },
        &env_var,
    )?;
    Ok(loaded)
}

/// The strategies in use, for messages: `secret`, or `secret, sealed`.
fn strategies(loaded: &Loaded) -> Result<String> {
    let list = services::inventory(&loaded.values, &loaded.ctx, &|_| None)?;
    let mut names: Vec<&str> = list.iter().map(|s| s.strategy.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    Ok(if names.is_empty() {
        "not used: no secrets are declared".into()
    } else {
        names.join(", ")
    })
}

/// Writes `bytes` to `path` with mode 0600: a temporary file beside it, then a rename, so the
/// file is never half-written and never readable by others, even for a moment.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let fail = |e: std::io::Error| anyhow!("cannot write {}: {e}", path.display());
    // tempfile creates the file with mode 0600.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Runs `wasmchart secrets list`: one block per secret, never a value.
///
/// # Errors
///
/// An unknown chart or environment, or invalid `secrets:` values.
pub fn list(args: &SecretsArgs) -> Result<()> {
    let loaded = load(args)?;
    let env_var = |key: &str| std::env::var(key).ok();
    let list = services::inventory(&loaded.values, &loaded.ctx, &env_var)?;
    let mut consumers: Vec<(String, Vec<String>)> = Vec::new();
    for (name, values) in &loaded.subcharts {
        consumers.push((name.clone(), services::used_secret_ids(name, values)?));
    }
    let mut text = format!(
        "secrets of {} (namespace {}):\n",
        services::derived_for(&loaded.ctx),
        loaded.ctx.namespace
    );
    if list.is_empty() {
        text.push_str("  none declared (secrets.items is empty)\n");
    }
    for s in &list {
        let users: Vec<&str> = consumers
            .iter()
            .filter(|(_, ids)| ids.contains(&s.id))
            .map(|(name, _)| name.as_str())
            .collect();
        text.push_str(&format!(
            "{}: Secret {}, strategy {}, generation {}\n",
            s.id,
            s.name,
            s.strategy.as_str(),
            s.generation
        ));
        if let Some(key) = &s.remote_key {
            text.push_str(&format!("  store entry: {key}\n"));
        }
        let users = if users.is_empty() {
            "none".to_string()
        } else {
            users.join(", ")
        };
        text.push_str(&format!("  consumers: {users}\n"));
        for k in &s.keys {
            text.push_str(&format!("  key {}: {}\n", k.name, k.source));
        }
    }
    let mut out = std::io::stdout().lock();
    out.write_all(crate::text::escape_lines(&text, "").as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Runs `wasmchart secrets rotate`; for a secret with strategy `external`, says how to
/// publish the new value.
///
/// # Errors
///
/// An unknown chart, environment or secret id, or a failed write.
pub fn rotate(chart_dir: &Path, env: &str, id: &str) -> Result<()> {
    let generation = crate::render::rotate_secret(chart_dir, env, id)?;
    eprintln!("secret '{id}' of environment '{env}' is now at generation {generation}");
    let args = SecretsArgs {
        env: env.to_string(),
        chart: chart_dir.to_path_buf(),
        release: None,
        files: Vec::new(),
        set: Vec::new(),
        set_file: Vec::new(),
    };
    let loaded = load(&args)?;
    let list = services::inventory(&loaded.values, &loaded.ctx, &|_| None)?;
    if list
        .iter()
        .any(|s| s.id == id && s.strategy == Strategy::External)
    {
        eprintln!(
            "secret '{id}' uses strategy external: the store still holds the old value, and pods would restart with it. Publish the new one before rendering: wasmchart secrets export --env {env} --chart {} -o FILE, then load FILE into the store (docs/secrets.md)",
            chart_dir.display()
        );
    }
    Ok(())
}

/// What a render derived its secrets for, `<chart>/<env>`, for `render -v`; the environment
/// is `default` without `--env`.
///
/// # Errors
///
/// The chart cannot be loaded.
pub fn derived_for(chart_dir: &Path, env: Option<&str>) -> Result<String> {
    let chart = Chart::load(chart_dir)?;
    let env = match env {
        Some(name) => chart.environment(name)?.name,
        None => "default".to_string(),
    };
    Ok(format!("{}/{env}", chart.name()))
}

/// Warnings about secrets for one render: an environment's values file given with `-f` but
/// without `--env` (secrets are then derived for environment `default`, and the namespace is
/// not the environment's), and `--seal-cert` when no secret is sealed.
pub fn render_warnings(
    chart: &Chart,
    options: &RenderOptions,
    plan: &services::Plan,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if options.values.env.is_none() {
        for file in &options.values.files {
            if let Some(env) = chart.environment_of_file(file) {
                warnings.push(format!(
                    "-f {} is the values file of environment '{env}', but --env is not given: secrets are derived for {}/default, not {}/{env}, and the namespace is not the environment's; pass --env {env} instead of -f",
                    file.display(),
                    chart.name(),
                    chart.name()
                ));
            }
        }
    }
    if options.seal_cert.is_some() && !plan.uses(Strategy::Sealed) {
        warnings.push(
            "--seal-cert is ignored: no secret in this render uses strategy sealed".to_string(),
        );
    }
    warnings
}

/// The text `--explain` shows for a flag (`--set EXPR`), with the expression hidden when it
/// supplies a secret value (`secrets.items.<id>.keys.<KEY>.value`), whichever path is being
/// explained: the flag text would otherwise print the value the explanation redacts.
/// `None` when the text can be shown as it is.
pub fn redact_flag_source(source: &str) -> Option<String> {
    use wasmchart_values::strvals::{SetKind, parse_into};
    let (flag, expr) = source.split_once(' ')?;
    let kind = match flag {
        "--set" => SetKind::Plain,
        "--set-string" => SetKind::String,
        "--set-json" => SetKind::Json,
        "--set-literal" => SetKind::Literal,
        // `key=PATH`: the path is not secret, and the file's text is not in the flag.
        _ => return None,
    };
    let hidden = format!("{flag} (expression hidden: it supplies a secret value)");
    let mut tree = if kind == SetKind::Json && expr.trim_start().starts_with('{') {
        match serde_json::from_str::<Value>(expr) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Some(hidden),
        }
    } else {
        let mut map = serde_json::Map::new();
        if parse_into(kind, expr, &mut map, None).is_err() {
            return Some(hidden);
        }
        Value::Object(map)
    };
    let before = tree.clone();
    services::redact_supplied(&mut tree);
    (tree != before).then_some(hidden)
}
