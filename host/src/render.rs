//! The render pipeline: chart and values, host services, components in
//! parallel, post-processing. Output is left to the caller.

use crate::post::{self, Object};
use crate::sandbox::{
    self, Capabilities, ChartInfo, Limits, LoadedComponent, LogLine, Release, RenderRequest,
    RenderResult, Runtime, RuntimeOptions,
};
use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::Value;
use std::path::{Component, Path, PathBuf};
use wasmchart_services as services;
use wasmchart_values::{Chart, EnabledSubchart, ValueOptions};

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
    /// API versions beyond the built-in Kubernetes 1.31 set.
    pub api_versions: Vec<String>,
    /// Render for an upgrade rather than a first install.
    pub is_upgrade: bool,
    /// Root key file for derived secrets.
    pub secret_key_file: Option<PathBuf>,
    /// Sealed Secrets controller certificate.
    pub seal_cert: Option<PathBuf>,
    /// Limits given on the command line; they beat Chart.yaml.
    pub limits: LimitFlags,
    /// Compile cache directory; the user cache directory when `None`.
    pub cache_dir: Option<PathBuf>,
    /// Show compile progress on stderr.
    pub progress: bool,
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
}

/// The result of a render, ready for output.
#[derive(Debug)]
pub struct Rendered {
    /// Every object, validated and in install order.
    pub objects: Vec<Object>,
    /// Component log lines (stdout and stderr included), by component.
    pub logs: Vec<(String, LogLine)>,
    /// Notes returned by components, by component.
    pub notes: Vec<(String, String)>,
}

/// One component to run: what the fan-out needs, prepared up front so that
/// every error that does not need a component surfaces before any runs.
struct Job {
    /// Subchart path joined with '.', e.g. `mongodb`; names the component
    /// in messages and labels.
    name: String,
    /// `<umbrella>/charts/<sub>[/charts/<subsub>]`, the prefix of sources.
    source_prefix: String,
    component: PathBuf,
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
    let chart = Chart::load(&options.chart_dir)?;
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
    };
    let jobs = computed
        .enabled_subcharts()
        .iter()
        .map(|sub| prepare_job(sub, &facts, &plan))
        .collect::<Result<Vec<_>>>()?;
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: options.cache_dir.clone(),
        progress: options.progress,
    })?;
    let results = run_all(&runtime, &jobs);
    let ctx = PostContext {
        plan: &plan,
        umbrella: chart.name(),
        namespace: &namespace,
    };
    collect(&jobs, results, &ctx)
}

/// What post-processing needs besides a component's result.
struct PostContext<'a> {
    plan: &'a services::Plan,
    umbrella: &'a str,
    namespace: &'a str,
}

struct Facts<'a> {
    chart: &'a Chart,
    release: &'a str,
    namespace: &'a str,
    options: &'a RenderOptions,
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
    Ok(services::plan(values, &ctx, &env_var)?)
}

/// The Sealed Secrets certificate: `--seal-cert`, else
/// `secrets.sealed.certFile` (relative to the chart), else none.
fn read_seal_cert(
    chart: &Chart,
    values: &Value,
    options: &RenderOptions,
) -> Result<Option<String>> {
    let path = match &options.seal_cert {
        Some(p) => p.clone(),
        None => match values
            .pointer("/secrets/sealed/certFile")
            .and_then(Value::as_str)
        {
            Some(rel) => chart.dir().join(rel),
            None => return Ok(None),
        },
    };
    let pem = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the Sealed Secrets certificate '{}'",
            path.display()
        )
    })?;
    Ok(Some(pem))
}

fn prepare_job(sub: &EnabledSubchart<'_>, facts: &Facts<'_>, plan: &services::Plan) -> Result<Job> {
    let name = sub.path.join(".");
    let component = sub.chart.component().ok_or_else(|| {
        anyhow!(
            "subchart '{name}' ({}) has no component: add a `component:` path to its Chart.yaml",
            sub.chart.dir().join("Chart.yaml").display()
        )
    })?;
    let secret_refs = plan.secret_refs(&name, &sub.values)?;
    let certificate_refs = plan.certificate_refs(&name, &sub.values)?;
    let files_dir = sub.chart.dir().join("files");
    let request = RenderRequest {
        values_json: serde_json::to_string(&sub.values)?,
        release: Release {
            name: facts.release.to_string(),
            namespace: facts.namespace.to_string(),
            revision: if facts.options.is_upgrade { 2 } else { 1 },
            is_install: !facts.options.is_upgrade,
            is_upgrade: facts.options.is_upgrade,
        },
        chart: ChartInfo {
            name: sub.path.last().cloned().unwrap_or_default(),
            version: sub.chart.version().to_string(),
            app_version: sub.chart.app_version().map(str::to_string),
        },
        capabilities: capabilities(facts.options),
        secrets: secret_refs.iter().map(to_sandbox_secret).collect(),
        certificates: certificate_refs
            .iter()
            .map(|c| sandbox::CertificateRef {
                id: c.id.clone(),
                secret_name: c.secret_name.clone(),
                dns_names: c.dns_names.clone(),
            })
            .collect(),
        files_dir: files_dir.is_dir().then_some(files_dir),
    };
    let source_prefix = std::iter::once(facts.chart.name().to_string())
        .chain(sub.path.iter().map(|p| format!("charts/{p}")))
        .collect::<Vec<_>>()
        .join("/");
    Ok(Job {
        limits: limits_for(&name, sub, &facts.options.limits)?,
        name,
        source_prefix,
        component,
        request,
        secret_refs,
    })
}

fn to_sandbox_secret(r: &services::SecretRef) -> sandbox::SecretRef {
    sandbox::SecretRef {
        id: r.id.clone(),
        secret_name: r.secret_name.clone(),
        keys: r.keys.clone(),
    }
}

/// Limits for one component: defaults, then the umbrella dependency's
/// `limits:` map, then command-line flags.
fn limits_for(name: &str, sub: &EnabledSubchart<'_>, flags: &LimitFlags) -> Result<Limits> {
    let mut limits = Limits::default();
    if let Some(map) = sub.dependency.and_then(|d| d.limits.as_ref()) {
        limits.apply_map(map).map_err(|e| {
            anyhow!("invalid `limits` for dependency '{name}' in the umbrella Chart.yaml: {e}")
        })?;
    }
    let flag_pairs = [
        ("memory", &flags.memory),
        ("timeout", &flags.timeout),
        ("output", &flags.output),
    ];
    for (key, value) in flag_pairs {
        if let Some(value) = value {
            let flag = match key {
                "memory" => "--memory-limit",
                "timeout" => "--timeout",
                _ => "--output-limit",
            };
            limits
                .set(key, value)
                .map_err(|e| anyhow!("invalid {flag} '{value}': {e}"))?;
        }
    }
    Ok(limits)
}

/// Kubernetes 1.31's built-in API versions, plus `--api-versions`.
fn capabilities(options: &RenderOptions) -> Capabilities {
    const BUILT_IN: &[&str] = &[
        "admissionregistration.k8s.io/v1",
        "apiextensions.k8s.io/v1",
        "apiregistration.k8s.io/v1",
        "apps/v1",
        "authentication.k8s.io/v1",
        "authorization.k8s.io/v1",
        "autoscaling/v1",
        "autoscaling/v2",
        "batch/v1",
        "certificates.k8s.io/v1",
        "coordination.k8s.io/v1",
        "discovery.k8s.io/v1",
        "events.k8s.io/v1",
        "flowcontrol.apiserver.k8s.io/v1",
        "networking.k8s.io/v1",
        "node.k8s.io/v1",
        "policy/v1",
        "rbac.authorization.k8s.io/v1",
        "scheduling.k8s.io/v1",
        "storage.k8s.io/v1",
        "v1",
    ];
    let mut api_versions: Vec<String> = BUILT_IN.iter().map(|s| s.to_string()).collect();
    api_versions.extend(options.api_versions.iter().cloned());
    api_versions.sort();
    api_versions.dedup();
    Capabilities {
        kube_version: options.kube_version.clone(),
        api_versions,
    }
}

/// Loads and renders every job, in parallel on up to one thread per core,
/// returning results in job order whatever order they finish in.
fn run_all(runtime: &Runtime, jobs: &[Job]) -> Vec<Result<RenderResult>> {
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(jobs.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<Result<RenderResult>>>> =
        jobs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let result = run_one(runtime, job);
                    if let Ok(mut slot) = slots[i].lock() {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(anyhow!("internal error: a render thread stopped early")))
        })
        .collect()
}

fn run_one(runtime: &Runtime, job: &Job) -> Result<RenderResult> {
    let loaded: LoadedComponent = runtime.load(&job.name, &job.component)?;
    Ok(runtime.render(&loaded, &job.request, &job.limits)?)
}

fn collect(
    jobs: &[Job],
    results: Vec<Result<RenderResult>>,
    ctx: &PostContext<'_>,
) -> Result<Rendered> {
    let mut failures = Vec::new();
    let mut rendered = Rendered {
        objects: Vec::new(),
        logs: Vec::new(),
        notes: Vec::new(),
    };
    for (job, result) in jobs.iter().zip(results) {
        match result.and_then(|r| job_objects(job, r, ctx, &mut rendered)) {
            Ok(objects) => rendered.objects.extend(objects),
            Err(e) => failures.push(format!("{e:#}")),
        }
    }
    match failures.len() {
        0 => {}
        1 => bail!("{}", failures.remove(0)),
        n => bail!("{n} components failed:\n  {}", failures.join("\n  ")),
    }
    for host in ctx.plan.objects() {
        rendered.objects.push(host_object(ctx, &host));
    }
    post::reject_duplicates(&rendered.objects)?;
    post::sort_objects(&mut rendered.objects);
    Ok(rendered)
}

/// Turns one component's result into validated objects, plus the RBAC the
/// host emits for its secrets.
fn job_objects(
    job: &Job,
    result: RenderResult,
    ctx: &PostContext<'_>,
    rendered: &mut Rendered,
) -> Result<Vec<Object>> {
    rendered
        .logs
        .extend(result.logs.into_iter().map(|l| (job.name.clone(), l)));
    if let Some(notes) = result.notes {
        rendered.notes.push((job.name.clone(), notes));
    }
    let mut sources = Vec::with_capacity(result.manifests.len());
    let mut values = Vec::with_capacity(result.manifests.len());
    for manifest in result.manifests {
        let source = component_source(job, &manifest.source)?;
        let value = post::parse_manifest(&manifest.content, &source)
            .map_err(|reason| post::PostError::Invalid {
                source_path: source.clone(),
                reason,
            })
            .with_context(|| format!("component '{}' returned an invalid manifest", job.name))?;
        sources.push(source);
        values.push(value);
    }
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
    objects.extend(rbac.iter().map(|host| host_object(ctx, host)));
    Ok(objects)
}

/// The full source path of a component's manifest, refusing sources that
/// are absolute or climb out of the subchart.
fn component_source(job: &Job, source: &str) -> Result<String> {
    let path = Path::new(source);
    let plain = !source.is_empty()
        && !source.contains('\\')
        && path.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        bail!(
            "component '{}' returned a manifest with source '{source}': a source must be a relative path inside the subchart, like templates/deployment.yaml",
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
