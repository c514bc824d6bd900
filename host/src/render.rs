//! The render pipeline: chart and values, host services, components in
//! parallel, post-processing. Output is left to the caller.
//!
//! Components render the umbrella's enabled subcharts and, when the
//! umbrella's own Chart.yaml names a `component:`, the umbrella itself.
//! `crds/` files are checked and, with `--include-crds`, printed first
//! ([`crds`]); Go templates are refused ([`templates`]).

mod crds;
mod templates;

use crate::policy::{self, Policy};
use crate::post::{self, Object};
use crate::sandbox::{
    self, Capabilities, ChartInfo, Limits, LoadedComponent, LogLine, Origin, Release,
    RenderRequest, Runtime, RuntimeOptions,
};
use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::Value;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use wasmchart_services as services;
use wasmchart_values::{Chart, ComponentFile, EnabledSubchart, ValueOptions, chartfs, parallel};

/// Everything `render` needs, resolved from flags by the CLI.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// The umbrella chart's directory.
    pub chart_dir: PathBuf,
    /// Value sources (environment, files, `--set*`).
    pub values: ValueOptions,
    /// Release name; the umbrella chart's name when `None`.
    pub release: Option<String>,
    /// Namespace; the environment's default, else `default`, when `None`.
    pub namespace: Option<String>,
    /// Kubernetes version handed to components.
    pub kube_version: String,
    /// API versions beyond those `kube_version` serves by default ([`crate::kube`]).
    pub api_versions: Vec<String>,
    /// Render for an upgrade rather than a first install.
    pub is_upgrade: bool,
    /// Root key file for derived secrets.
    pub secret_key_file: Option<PathBuf>,
    /// Sealed Secrets controller certificate.
    pub seal_cert: Option<PathBuf>,
    /// Limits given on the command line; they beat Chart.yaml.
    pub limits: LimitFlags,
    /// The operator's policy (`--policy`, `WASMCHART_POLICY`): maximum
    /// limits and what components may emit. `None` keeps rendering
    /// Helm-compatible, except that host Secrets can never be shadowed.
    pub policy: Option<Policy>,
    /// Compile cache directory; the user cache directory when `None`.
    pub cache_dir: Option<PathBuf>,
    /// Show compile progress on stderr.
    pub progress: bool,
    /// Put the `crds/` objects of the umbrella and its enabled subcharts
    /// first in the output, as `helm template --include-crds` does; without
    /// it they are not read, as Helm's `template` does not print them.
    pub include_crds: bool,
    /// `--verify-lock`: a missing or stale Chart.lock is an error (a lock that exists is
    /// always checked against what is loaded; see [`crate::lock`]).
    pub verify_lock: bool,
    /// Run every component, even those whose output the render cache holds
    /// for the same inputs (`--no-render-cache`; see
    /// [`Runtime::render_remembered`]).
    pub no_render_cache: bool,
}

/// Who demands a Chart.lock for this render: `--verify-lock`, else the policy's
/// `requireLock: true`.
fn lock_requirement(options: &RenderOptions) -> Option<crate::lock::Requirement> {
    if options.verify_lock {
        return Some(crate::lock::Requirement {
            by: "--verify-lock".into(),
        });
    }
    options
        .policy
        .as_ref()
        .filter(|p| p.require_lock)
        .map(|p| crate::lock::Requirement {
            by: format!("the policy '{}' (requireLock: true)", p.origin),
        })
}

/// Sandbox limits as typed on the command line (`None` = not given).
#[derive(Debug, Clone, Default)]
pub struct LimitFlags {
    /// `--memory-limit`.
    pub memory: Option<String>,
    /// `--timeout`.
    pub timeout: Option<String>,
    /// `--output-limit`.
    pub output: Option<String>,
    /// `--compile-timeout`.
    pub compile_timeout: Option<String>,
    /// `--compile-memory`.
    pub compile_memory: Option<String>,
}

/// The result of a render, ready for output.
#[derive(Debug)]
pub struct Rendered {
    /// Every object, validated: the `crds/` objects first when they are
    /// included (in Helm's `crds/` order), then the rest in install order.
    pub objects: Vec<Object>,
    /// Component log lines (stdout and stderr included), by component.
    pub logs: Vec<(String, LogLine)>,
    /// Notes returned by components, by component.
    pub notes: Vec<(String, String)>,
    /// Things the user should know that do not stop the render (ignored
    /// settings, capped limits), one line each, without a `warning:`
    /// prefix. Other stages may add theirs.
    pub warnings: Vec<String>,
    /// The components whose output came from the render cache (their
    /// inputs had not changed), in job order.
    pub recalled: Vec<String>,
    /// The chart, its computed values and the sandbox runtime, dropped with
    /// the output: freeing a large umbrella's values node by node, or the
    /// runtime's loaded components (unmapping them, restoring their code
    /// pages, purging their memory images from the pool: 3–4 ms for the
    /// example's prod render), takes milliseconds that a caller that exits
    /// after printing need not wait for.
    inputs: Option<Box<Inputs>>,
}

/// What [`Rendered::inputs`] keeps.
struct Inputs {
    _chart: Chart,
    _computed: wasmchart_values::Computed,
    _runtime: Option<Runtime>,
}

impl std::fmt::Debug for Inputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inputs").finish_non_exhaustive()
    }
}

/// One component to run: what the fan-out needs, prepared up front so that
/// every error that does not need a component surfaces before any runs.
struct Job {
    /// Subchart path joined with '.', e.g. `mongodb`; names the component
    /// in messages and labels.
    name: String,
    /// `<umbrella>/charts/<sub>[/charts/<subsub>]`, the prefix of sources.
    source_prefix: String,
    /// The component file, for messages.
    component: PathBuf,
    /// Its bytes, read once through the chart's confined handle.
    component_file: sandbox::ComponentSource,
    /// The validated copy of the subchart's `files/`, mounted at `/files`;
    /// removed when the job is dropped.
    _files: Option<chartfs::Snapshot>,
    request: RenderRequest,
    limits: Limits,
    secret_refs: Vec<services::SecretRef>,
}

/// Renders the umbrella chart at `options.chart_dir`.
///
/// # Errors
///
/// Any failure, naming the file, flag, key path or component at fault. When
/// several components fail, the error lists each of them.
pub fn render(options: &RenderOptions) -> Result<Rendered> {
    // The engine, its pool and the cache take milliseconds to set up and need
    // nothing from the chart: set them up while the chart and values are read.
    let runtime = PendingRuntime::start(RuntimeOptions {
        cache_dir: options.cache_dir.clone(),
        config_dir: None,
        progress: options.progress,
    })?;
    let chart = Chart::load(&options.chart_dir)?;
    let lock_warnings =
        crate::lock::verify(&chart, lock_requirement(options).as_ref(), &|c: &Chart| {
            locked_digest(runtime.get()?, c)
        })?;
    let env = match &options.values.env {
        Some(name) => Some(chart.environment(name)?),
        None => None,
    };
    let computed = wasmchart_values::compute(&chart, &options.values)?;
    let release = options
        .release
        .clone()
        .unwrap_or_else(|| chart.name().to_string());
    let namespace = options
        .namespace
        .clone()
        .or_else(|| env.as_ref().map(|e| e.namespace.clone()))
        .unwrap_or_else(|| "default".into());
    let env_name = env.as_ref().map_or("default", |e| e.name.as_str());
    let subs = computed.enabled_subcharts();
    templates::refuse_go_templates(&chart, &subs)?;
    let crds = if options.include_crds {
        crds::load(&chart, &subs)?
    } else {
        Vec::new()
    };
    crds::check_policy(&crds, options.policy.as_ref(), &namespace)?;
    let plan = plan_services(
        &chart,
        computed.values(),
        env_name,
        &release,
        &namespace,
        options,
    )?;
    let facts = Facts {
        chart: &chart,
        release: &release,
        namespace: &namespace,
        options,
        capabilities: capabilities(options),
    };
    let mut warnings = lock_warnings;
    warnings.extend(nested_limit_warnings(&subs));
    warnings.extend(crate::secrets::render_warnings(&chart, options, &plan));
    let jobs = prepare_jobs(
        &targets(&chart, computed.values(), &subs)?,
        &facts,
        &plan,
        &mut warnings,
    )?;
    let results = run_all(runtime.get()?, &jobs, !options.no_render_cache);
    runtime.get()?.start_upgrades();
    runtime.get()?.trim_render_cache();
    let ctx = PostContext {
        plan: &plan,
        umbrella: chart.name(),
        namespace: &namespace,
        policy: options.policy.as_ref(),
    };
    let rendered = collect(&jobs, results, &ctx).and_then(|mut rendered| {
        rendered.objects = crds::prepend(crds, rendered.objects)?;
        Ok(rendered)
    });
    match rendered {
        Ok(mut rendered) => {
            rendered.warnings.splice(0..0, warnings);
            rendered.inputs = Some(Box::new(Inputs {
                _chart: chart,
                _computed: computed,
                _runtime: runtime.runtime.into_inner(),
            }));
            Ok(rendered)
        }
        Err(e) if warnings.is_empty() => Err(e),
        // A capped or ignored limit often explains the failure: keep it.
        Err(e) => Err(anyhow!(
            "{e:#}\n{}",
            warnings
                .iter()
                .map(|w| format!("  warning: {w}"))
                .collect::<Vec<_>>()
                .join("\n")
        )),
    }
}

/// The sandbox runtime, set up on its own thread from the start of a render
/// and waited for by its first user (the lock check, else the fan-out).
struct PendingRuntime {
    thread: RefCell<Option<std::thread::JoinHandle<Result<Runtime, sandbox::SandboxError>>>>,
    runtime: std::cell::OnceCell<Runtime>,
}

impl PendingRuntime {
    fn start(options: RuntimeOptions) -> Result<Self> {
        let thread = std::thread::Builder::new()
            .name("wasmchart-runtime".into())
            .spawn(move || Runtime::new(options))
            .context("cannot start the thread that sets up the sandbox")?;
        Ok(PendingRuntime {
            thread: RefCell::new(Some(thread)),
            runtime: std::cell::OnceCell::new(),
        })
    }

    /// The runtime, once set up; its setup error the first time it is asked for.
    fn get(&self) -> Result<&Runtime> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        let thread = self
            .thread
            .take()
            .ok_or_else(|| anyhow!("internal error: the sandbox failed to start earlier"))?;
        let runtime = thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok(self.runtime.get_or_init(|| runtime))
    }
}

/// The digest Chart.lock pins for `chart`'s component, as the runtime knows
/// it: from the authenticated identity record of the same opened file the
/// render then loads, reading it only when no record vouches for it.
fn locked_digest(runtime: &Runtime, chart: &Chart) -> Result<Option<String>> {
    let (Some(path), Some(file)) = (
        chart.component(),
        chart
            .component_file()
            .with_context(|| format!("cannot read the component of chart '{}'", chart.name()))?,
    ) else {
        return Ok(None);
    };
    let digest = runtime.component_digest(chart.name(), &path, &sandbox_source(file))?;
    Ok(Some(format!("sha256:{digest}")))
}

fn sandbox_source(file: ComponentFile) -> sandbox::ComponentSource {
    match file {
        ComponentFile::File(file) => sandbox::ComponentSource::File(file),
        ComponentFile::Bytes(bytes) => sandbox::ComponentSource::Bytes(bytes),
    }
}

/// What post-processing needs besides a component's result.
struct PostContext<'a> {
    plan: &'a services::Plan,
    umbrella: &'a str,
    namespace: &'a str,
    policy: Option<&'a Policy>,
}

struct Facts<'a> {
    chart: &'a Chart,
    release: &'a str,
    namespace: &'a str,
    options: &'a RenderOptions,
    /// What every component is told the cluster serves, worked out once.
    capabilities: Capabilities,
}

fn plan_services(
    chart: &Chart,
    values: &Value,
    env: &str,
    release: &str,
    namespace: &str,
    options: &RenderOptions,
) -> Result<services::Plan> {
    let env_var = |key: &str| std::env::var(key).ok();
    let key_options = services::RootKeyOptions {
        key_file: options.secret_key_file.clone(),
        create_local: services::is_local_env(env),
        chart_dir: chart.dir().to_path_buf(),
    };
    let root_key = services::load_root_key(&key_options, &env_var)?;
    let seal_cert_pem = read_seal_cert(chart, values, options)?;
    let ctx = services::Context {
        chart: chart.name().to_string(),
        env: env.to_string(),
        release: release.to_string(),
        namespace: namespace.to_string(),
        chart_dir: chart.dir().to_path_buf(),
        root_key,
        seal_cert_pem,
    };
    let gate = crate::policy::EnvGate::new(options.policy.as_ref());
    let plan = services::plan(values, &ctx, &|name| gate.read(name));
    gate.check()?;
    Ok(plan?)
}

/// The Sealed Secrets certificate: `--seal-cert`, else
/// `secrets.sealed.certFile` (relative to the chart), else none.
fn read_seal_cert(
    chart: &Chart,
    values: &Value,
    options: &RenderOptions,
) -> Result<Option<String>> {
    let pem = match &options.seal_cert {
        Some(p) => chartfs::read_operator_string(p, &chartfs::CERTIFICATE),
        None => match values
            .pointer("/secrets/sealed/certFile")
            .and_then(Value::as_str)
            .filter(|f| !f.is_empty())
        {
            Some(file) => {
                let rel = chartfs::relative_path(file)
                    .map_err(|why| anyhow!("secrets.sealed.certFile: {why}"))?;
                chart.fs().read_to_string(rel, &chartfs::CERTIFICATE)
            }
            None => return Ok(None),
        },
    };
    Ok(Some(pem.map_err(|e| {
        anyhow!("the Sealed Secrets certificate is unusable: {e}")
    })?))
}

/// What one job renders: an enabled subchart with a component, or the
/// umbrella itself when its own Chart.yaml names one.
struct Target<'a> {
    /// Names the component in messages, logs, labels and RBAC names: the
    /// subchart path joined with '.', or the umbrella's name.
    name: String,
    /// How messages introduce it: `subchart 'a.b'`, `the umbrella 'u'`.
    what: String,
    chart: &'a Chart,
    /// The chart name the component is told (an alias for an aliased subchart).
    chart_name: String,
    /// The values it renders with, exactly what Helm would give its templates.
    values: Cow<'a, Value>,
    /// `<umbrella>` or `<umbrella>/charts/<sub>...`, the prefix of its sources.
    source_prefix: String,
    /// The top-level section whose entry in the root umbrella's Chart.yaml
    /// sets its limits; `None` for the umbrella, which has no entry of its own.
    limits_section: Option<String>,
}

/// Everything that renders through a component, the umbrella first. A
/// subchart without a component renders nothing (it has no templates either:
/// [`templates::refuse_go_templates`] ran first), as in Helm.
///
/// The umbrella's component gets the umbrella's computed values, as Helm
/// gives them to the umbrella's templates, with supplied secret values
/// redacted: components only ever see references to secrets.
fn targets<'a>(
    chart: &'a Chart,
    values: &'a Value,
    subs: &'a [EnabledSubchart<'a>],
) -> Result<Vec<Target<'a>>> {
    let mut out = Vec::with_capacity(subs.len() + 1);
    if chart.component().is_some() {
        let name = chart.name().to_string();
        if let Some(clash) = subs
            .iter()
            .find(|s| s.path.len() == 1 && s.path[0] == name && s.chart.component().is_some())
        {
            bail!(
                "the umbrella '{name}' has a component, and so does its subchart '{}': both would render as component '{name}' (labels, logs and RBAC names would collide); give the dependency an alias",
                clash.path[0]
            );
        }
        let mut values = values.clone();
        services::redact_supplied(&mut values);
        out.push(Target {
            what: format!("the umbrella '{name}'"),
            chart,
            chart_name: name.clone(),
            values: Cow::Owned(values),
            source_prefix: name.clone(),
            limits_section: None,
            name,
        });
    }
    for sub in subs.iter().filter(|s| s.chart.component().is_some()) {
        let name = sub.path.join(".");
        out.push(Target {
            what: format!("subchart '{name}'"),
            name,
            chart: sub.chart,
            chart_name: sub.path.last().cloned().unwrap_or_default(),
            values: Cow::Borrowed(&*sub.values),
            source_prefix: std::iter::once(chart.name().to_string())
                .chain(sub.path.iter().map(|p| format!("charts/{p}")))
                .collect::<Vec<_>>()
                .join("/"),
            limits_section: sub.path.first().cloned(),
        });
    }
    Ok(out)
}

/// Jobs from this many targets on are prepared on every core: about 24 µs a
/// subchart (serialising its values is most of it), while the other cores
/// have nothing to do until the components run.
const PARALLEL_PREPARE_FROM: usize = 64;

/// Every target's job, in target order; the first target (in that order)
/// that cannot be prepared fails the render, before any component runs. The
/// warnings the jobs' limits give are added to `warnings` in target order.
/// Large umbrellas are prepared on every core.
fn prepare_jobs(
    targets: &[Target<'_>],
    facts: &Facts<'_>,
    plan: &services::Plan,
    warnings: &mut Vec<String>,
) -> Result<Vec<Job>> {
    let prepare = |t: &Target<'_>| prepare_job(t, facts, plan);
    let prepared = if targets.len() < PARALLEL_PREPARE_FROM {
        targets.iter().map(prepare).collect()
    } else {
        parallel::map_in_order(targets, PREPARE_CHUNK, prepare)
    };
    let mut jobs = Vec::with_capacity(prepared.len());
    for result in prepared {
        let (job, job_warnings) = result?;
        warnings.extend(job_warnings);
        jobs.push(job);
    }
    Ok(jobs)
}

/// Targets per share when jobs are prepared on several cores (a job takes
/// tens of microseconds).
const PREPARE_CHUNK: usize = 8;

/// One target's job, and the warnings its limits gave.
fn prepare_job(
    target: &Target<'_>,
    facts: &Facts<'_>,
    plan: &services::Plan,
) -> Result<(Job, Vec<String>)> {
    let Target { name, what, .. } = target;
    let component = target
        .chart
        .component()
        .ok_or_else(|| anyhow!("internal error: {what} has no component"))?;
    let component_file = target
        .chart
        .component_file()
        .with_context(|| format!("cannot load the component of {what}"))?
        .map_or_else(
            || sandbox::ComponentSource::Bytes(std::sync::Arc::default()),
            sandbox_source,
        );
    let secret_refs = plan.secret_refs(name, &target.values)?;
    let certificate_refs = plan.certificate_refs(name, &target.values)?;
    let files = target
        .chart
        .fs()
        .snapshot_files(&chartfs::FilesLimits::default())
        .with_context(|| format!("cannot give {what} its files/ directory"))?;
    let request = RenderRequest {
        values_json: serde_json::to_string(&*target.values)?,
        release: Release {
            name: facts.release.to_string(),
            namespace: facts.namespace.to_string(),
            revision: if facts.options.is_upgrade { 2 } else { 1 },
            is_install: !facts.options.is_upgrade,
            is_upgrade: facts.options.is_upgrade,
        },
        chart: ChartInfo {
            name: target.chart_name.clone(),
            version: target.chart.version().to_string(),
            app_version: target.chart.app_version().map(str::to_string),
        },
        capabilities: facts.capabilities.clone(),
        secrets: secret_refs.iter().map(to_sandbox_secret).collect(),
        certificates: certificate_refs
            .iter()
            .map(|c| sandbox::CertificateRef {
                id: c.id.clone(),
                secret_name: c.secret_name.clone(),
                dns_names: c.dns_names.clone(),
            })
            .collect(),
        files_dir: files.as_ref().map(|f| f.path().to_path_buf()),
    };
    let mut warnings = Vec::new();
    let limits = limits_for(name, target.limits_section.as_deref(), facts, &mut warnings)?;
    let job = Job {
        limits,
        name: name.clone(),
        source_prefix: target.source_prefix.clone(),
        component,
        component_file,
        _files: files,
        request,
        secret_refs,
    };
    Ok((job, warnings))
}

fn to_sandbox_secret(r: &services::SecretRef) -> sandbox::SecretRef {
    sandbox::SecretRef {
        id: r.id.clone(),
        secret_name: r.secret_name.clone(),
        keys: r.keys.clone(),
    }
}

/// Limits for one component. Only the root umbrella's owner decides them
/// (above them, the operator): the umbrella's dependency entry for the
/// component's top-level subchart (`section`) applies to it and to every
/// subchart nested under it; then the flags; all bounded by the policy. The
/// umbrella's own component has no entry (`section` is `None`): defaults,
/// the policy's defaults and the flags decide. See [`policy::resolve_limits`].
fn limits_for(
    name: &str,
    section: Option<&str>,
    facts: &Facts<'_>,
    warnings: &mut Vec<String>,
) -> Result<Limits> {
    let top = section.unwrap_or("");
    let entry = section.and_then(|top| {
        facts
            .chart
            .metadata()
            .dependencies
            .iter()
            .find(|d| d.section() == top)
    });
    let chart_origin = format!(
        "the umbrella Chart.yaml ('{}') entry for '{}'",
        facts.chart.dir().join("Chart.yaml").display(),
        crate::text::escape(top)
    );
    let flags = &facts.options.limits;
    let given: Vec<(&'static str, String)> = [
        ("memory", &flags.memory),
        ("timeout", &flags.timeout),
        ("output", &flags.output),
        ("compileTimeout", &flags.compile_timeout),
        ("compileMemory", &flags.compile_memory),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.clone().map(|v| (key, v)))
    .collect();
    let sources = policy::LimitSources {
        chart_map: entry.and_then(|d| d.limits.as_ref()),
        chart_origin: &chart_origin,
        flags: &given,
        policy: facts.options.policy.as_ref(),
    };
    policy::resolve_limits(name, &sources, warnings)
}

/// One warning per subchart Chart.yaml (at any depth) whose dependencies
/// carry `limits:`: a third-party subchart must not set the limits of what
/// it pulls in, so those keys are ignored, visibly.
fn nested_limit_warnings(subs: &[EnabledSubchart<'_>]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    subs.iter()
        .filter(|sub| {
            sub.chart
                .metadata()
                .dependencies
                .iter()
                .any(|d| d.limits.is_some())
        })
        .filter(|sub| seen.insert(sub.chart.dir().to_path_buf()))
        .map(|sub| {
            let top = sub.path.first().map_or("", String::as_str);
            format!(
                "ignoring `limits:` in '{}': only the root umbrella's Chart.yaml sets limits (its entry for '{}' covers every subchart under it), then the operator's flags and policy",
                sub.chart.dir().join("Chart.yaml").display(),
                crate::text::escape(top)
            )
        })
        .collect()
}

/// The API versions `--kube-version` serves by default (see [`crate::kube`]), plus
/// `--api-versions`.
fn capabilities(options: &RenderOptions) -> Capabilities {
    let mut api_versions = crate::kube::built_in_api_versions(&options.kube_version);
    api_versions.extend(options.api_versions.iter().cloned());
    api_versions.sort();
    api_versions.dedup();
    Capabilities {
        kube_version: options.kube_version.clone(),
        api_versions,
    }
}

/// Loads and renders every job, in parallel on up to one thread per core,
/// returning results in job order whatever order they finish in. The
/// largest components start first: they take longest to compile and to
/// render, and the small ones fill in around them.
fn run_all(runtime: &Runtime, jobs: &[Job], remember: bool) -> Vec<Result<Ran>> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_cached_key(|&i| std::cmp::Reverse(jobs[i].component_file.len()));
    let distinct: BTreeMap<&Path, u64> = jobs
        .iter()
        .map(|job| (job.component.as_path(), job.component_file.len()))
        .collect();
    runtime.share_compile_cores(&distinct.into_values().collect::<Vec<_>>());
    let mut ran = parallel::map_in_order(&order, 1, |&i| (i, run_one(runtime, &jobs[i], remember)));
    ran.sort_unstable_by_key(|(i, _)| *i);
    ran.into_iter().map(|(_, result)| result).collect()
}

/// A component's result, its manifests already parsed on the thread that
/// ran it (parsing is most of post-processing, and runs in parallel there).
struct Ran {
    origin: Origin,
    logs: Vec<LogLine>,
    notes: Option<String>,
    /// `(source, object)` per manifest, or the first invalid one.
    manifests: Result<Vec<(String, Value)>>,
}

fn run_one(runtime: &Runtime, job: &Job, remember: bool) -> Result<Ran> {
    let (result, origin) = if remember {
        runtime.render_remembered(
            &job.name,
            &job.component,
            &job.component_file,
            &job.request,
            &job.limits,
        )?
    } else {
        // Aliases and nested copies of one component share one load.
        let loaded: LoadedComponent =
            runtime.load_source(&job.name, &job.component, &job.component_file, &job.limits)?;
        (
            runtime.render(&loaded, &job.request, &job.limits)?,
            Origin::Ran,
        )
    };
    let manifests = result
        .manifests
        .into_iter()
        .map(|manifest| {
            let source = component_source(job, &manifest.source)?;
            let value = post::parse_manifest(&manifest.content, &source)
                .map_err(|reason| post::PostError::Invalid {
                    source_path: source.clone(),
                    reason,
                })
                .with_context(|| {
                    format!("component '{}' returned an invalid manifest", job.name)
                })?;
            Ok((source, value))
        })
        .collect();
    Ok(Ran {
        origin,
        logs: result.logs,
        notes: result.notes,
        manifests,
    })
}

fn collect(jobs: &[Job], results: Vec<Result<Ran>>, ctx: &PostContext<'_>) -> Result<Rendered> {
    let mut failures = Vec::new();
    let mut rendered = Rendered {
        objects: Vec::new(),
        logs: Vec::new(),
        notes: Vec::new(),
        warnings: Vec::new(),
        recalled: Vec::new(),
        inputs: None,
    };
    let host_objects: Vec<Object> = ctx
        .plan
        .objects()
        .iter()
        .map(|host| host_object(ctx, host))
        .collect();
    let checker = policy::Checker::new(
        ctx.policy,
        ctx.namespace,
        policy::host_secret_names(host_objects.iter().map(|o| &o.value)),
    );
    let mut violations = Vec::new();
    for (job, result) in jobs.iter().zip(results) {
        match result.and_then(|r| job_objects(job, r, ctx, &mut rendered)) {
            Ok((objects, rbac)) => {
                let who = format!("component '{}'", job.name);
                checker.check(&who, &objects, true, &mut violations);
                checker.check(
                    &format!("the host (RBAC for {who})"),
                    &rbac,
                    false,
                    &mut violations,
                );
                rendered.objects.extend(objects);
                rendered.objects.extend(rbac);
            }
            Err(e) => failures.push(format!("{e:#}")),
        }
    }
    match failures.len() {
        0 => {}
        1 => bail!("{}", failures.remove(0)),
        n => bail!("{n} components failed:\n  {}", failures.join("\n  ")),
    }
    checker.check("the host", &host_objects, false, &mut violations);
    if !violations.is_empty() {
        bail!("{}", refusal(ctx.policy, &violations));
    }
    rendered.objects.extend(host_objects);
    post::reject_duplicates(&rendered.objects)?;
    post::sort_objects(&mut rendered.objects);
    Ok(rendered)
}

/// One paragraph listing every refused object.
fn refusal(policy: Option<&Policy>, violations: &[policy::Violation]) -> String {
    let n = violations
        .iter()
        .map(|v| (&v.source, &v.object))
        .collect::<BTreeSet<_>>()
        .len();
    let objects = if n == 1 { "object" } else { "objects" };
    let head = match policy {
        Some(p) => format!("the policy '{}' refuses {n} {objects}:", p.origin),
        None => format!("{n} {objects} refused by a rule that holds even without a policy:"),
    };
    let lines: Vec<String> = violations.iter().map(ToString::to_string).collect();
    format!("{head}\n  {}", lines.join("\n  "))
}

/// Turns one component's result into validated objects, plus the RBAC the
/// host emits for its secrets (returned apart: the host made those).
fn job_objects(
    job: &Job,
    result: Ran,
    ctx: &PostContext<'_>,
    rendered: &mut Rendered,
) -> Result<(Vec<Object>, Vec<Object>)> {
    if result.origin == Origin::Recalled {
        rendered.recalled.push(job.name.clone());
    }
    rendered
        .logs
        .extend(result.logs.into_iter().map(|l| (job.name.clone(), l)));
    if let Some(notes) = result.notes {
        rendered.notes.push((job.name.clone(), notes));
    }
    let (sources, mut values): (Vec<String>, Vec<Value>) = result.manifests?.into_iter().unzip();
    ctx.plan
        .apply_to_workloads(&job.name, &job.secret_refs, &mut values);
    let rbac = ctx
        .plan
        .rbac_objects_for_workloads(&job.name, &job.secret_refs, &values);
    let mut objects: Vec<Object> = sources
        .into_iter()
        .zip(values)
        .map(|(source, value)| Object { source, value })
        .collect();
    for o in &mut objects {
        post::set_namespace(o, ctx.namespace);
        post::add_labels(o, &job.name);
    }
    let rbac = rbac.iter().map(|host| host_object(ctx, host)).collect();
    Ok((objects, rbac))
}

/// Longest source a component may give, in bytes.
const MAX_SOURCE_BYTES: usize = 256;

/// The full source path of a component's manifest. A source is printed
/// after `# Source:` and becomes a file under `--output-dir`, so it must be
/// a plain relative path of safe characters: `[A-Za-z0-9._-]` segments
/// separated by `/`, none empty, `.` or `..`, at most 256 bytes. Anything
/// else (a newline that would start a forged document, an escape sequence,
/// a path climbing out) fails the render.
fn component_source(job: &Job, source: &str) -> Result<String> {
    let segment_ok = |seg: &str| {
        !seg.is_empty()
            && seg != "."
            && seg != ".."
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    if source.len() > MAX_SOURCE_BYTES || !source.split('/').all(segment_ok) {
        let shown = crate::text::escape_short(source, 300);
        bail!(
            "component '{}' returned a manifest with source '{shown}': a source must be a relative path inside the subchart, like templates/deployment.yaml, made of segments of A-Z, a-z, 0-9, '.', '_' and '-' separated by '/' (no empty, '.' or '..' segment), at most {MAX_SOURCE_BYTES} bytes",
            job.name
        );
    }
    Ok(format!("{}/{source}", job.source_prefix))
}

/// A host-made object (secret, certificate, RBAC); its source lives under
/// `<umbrella>/host/` so no component can claim it.
fn host_object(ctx: &PostContext<'_>, host: &services::HostObject) -> Object {
    let mut o = Object {
        source: format!("{}/host/{}", ctx.umbrella, host.source),
        value: host.object.clone(),
    };
    post::set_namespace(&mut o, ctx.namespace);
    post::add_labels(&mut o, "host");
    o
}

/// Bumps the rotation generation of secret `id` in environment `env` of the
/// chart at `chart_dir`; returns the new generation.
///
/// # Errors
///
/// An unknown chart, environment or secret id, or a failed write.
pub fn rotate_secret(chart_dir: &Path, env: &str, id: &str) -> Result<u64> {
    let chart = Chart::load(chart_dir)?;
    let environment = chart.environment(env)?;
    let computed = wasmchart_values::compute(
        &chart,
        &ValueOptions {
            env: Some(environment.name.clone()),
            ..Default::default()
        },
    )?;
    Ok(services::generations::rotate(
        chart.dir(),
        computed.values(),
        &environment.name,
        id,
    )?)
}
