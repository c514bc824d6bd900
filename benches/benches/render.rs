//! End to end: a warm (cached) `render` of the bundled imprun example, the
//! way `wasmchart render examples/imprun --env prod` runs it, minus printing.
//!
//! Needs the example's components: run `scripts/build-components.sh` first.

use criterion::{Criterion, criterion_group, criterion_main};
use std::path::PathBuf;
use wasmchart::render::{RenderOptions, render};
use wasmchart_values::ValueOptions;

fn example(env: &str, cache: &std::path::Path) -> RenderOptions {
    RenderOptions {
        chart_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/imprun"),
        values: ValueOptions {
            env: Some(env.into()),
            ..Default::default()
        },
        kube_version: "v1.31.0".into(),
        cache_dir: Some(cache.to_path_buf()),
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
    }
    group.finish();
}

criterion_group!(benches, warm_render);
criterion_main!(benches);
