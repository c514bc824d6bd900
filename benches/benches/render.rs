//! End to end: a warm (compile-cached) `render` of the bundled imprun
//! example, the way `wasmchart render examples/imprun --env prod
//! --no-render-cache` runs it, minus printing: every component runs; the
//! same when the render cache recalls every component's output (`-recalled`,
//! a render whose inputs did not change); and the same with a Chart.lock that
//! `--verify-lock` checks (every subchart's listing and component digest).
//!
//! Needs the example's components: run `scripts/build-components.sh` first.

use criterion::{Criterion, criterion_group, criterion_main};
use std::path::{Path, PathBuf};
use wasmchart::dependency::{DependencyArgs, DependencyCommand};
use wasmchart::render::{RenderOptions, render};
use wasmchart_values::ValueOptions;

fn example_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/imprun")
}

fn example(env: &str, cache: &Path) -> RenderOptions {
    RenderOptions {
        chart_dir: example_dir(),
        values: ValueOptions {
            env: Some(env.into()),
            ..Default::default()
        },
        kube_version: "v1.31.0".into(),
        cache_dir: Some(cache.to_path_buf()),
        no_render_cache: true,
        ..Default::default()
    }
}

fn warm_render(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("temporary cache directory");
    let mut group = c.benchmark_group("render");
    group.sample_size(20);
    for env in ["local", "prod"] {
        let options = example(env, cache.path());
        if let Err(e) = render(&options) {
            panic!(
                "cannot render examples/imprun --env {env} (run scripts/build-components.sh): {e:#}"
            );
        }
        group.bench_function(format!("imprun-{env}-warm"), |b| {
            b.iter(|| render(&options).expect("render"))
        });
        let recalled = RenderOptions {
            no_render_cache: false,
            ..options.clone()
        };
        render(&recalled).expect("render");
        group.bench_function(format!("imprun-{env}-recalled"), |b| {
            b.iter(|| render(&recalled).expect("render"))
        });
    }
    group.finish();
}

/// A copy of the example with a Chart.lock, as `wasmchart dependency update` writes it.
fn locked_example(dir: &Path) -> PathBuf {
    let chart = dir.join("imprun");
    let status = std::process::Command::new("cp")
        .arg("-R")
        .arg(example_dir())
        .arg(&chart)
        .status()
        .expect("cp");
    assert!(status.success(), "cannot copy examples/imprun");
    wasmchart::dependency::run(DependencyCommand::Update(DependencyArgs {
        chart: chart.clone(),
        registry: Default::default(),
    }))
    .expect("dependency update of the example");
    chart
}

fn locked_render(c: &mut Criterion) {
    let cache = tempfile::tempdir().expect("temporary cache directory");
    let dir = tempfile::tempdir().expect("temporary chart directory");
    let mut options = example("prod", cache.path());
    options.chart_dir = locked_example(dir.path());
    options.verify_lock = true;
    render(&options).expect("render of the locked example (run scripts/build-components.sh)");
    // Digest records are written only for files left alone for a few seconds.
    std::thread::sleep(std::time::Duration::from_secs(4));
    render(&options).expect("render of the locked example");
    let mut group = c.benchmark_group("render");
    group.sample_size(20);
    group.bench_function("imprun-prod-locked-warm", |b| {
        b.iter(|| render(&options).expect("render"))
    });
    group.finish();
}

criterion_group!(benches, warm_render, locked_render);
criterion_main!(benches);
