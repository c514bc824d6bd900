//! Per-component costs of the imprun example's five components (Rust,
//! JavaScript, Python): cold compile (Cranelift, no cache) and a warm
//! render (cached, fresh instance, the `prod` values the example gives it).
//!
//! Needs the example's components: run `scripts/build-components.sh` first.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;
use wasmchart::sandbox::{CacheStatus, Limits, RenderRequest, Runtime, RuntimeOptions};
use wasmchart_values::{Chart, ValueOptions, compute};

fn components(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/imprun");
    let chart = Chart::load(&dir).expect("examples/imprun loads");
    let opts = ValueOptions {
        env: Some("prod".into()),
        ..Default::default()
    };
    let computed = compute(&chart, &opts).expect("prod values");
    let cache = tempfile::tempdir().expect("temp dir");
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: Some(cache.path().join("cache")),
        config_dir: Some(cache.path().join("config")),
        progress: false,
    })
    .expect("runtime");
    let mut group = c.benchmark_group("components");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500));
    for sub in computed.enabled_subcharts() {
        let name = sub.path.join(".");
        let path = sub.chart.component().expect("component path");
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        eprintln!("{name}: {size} bytes ({})", path.display());
        group.bench_function(format!("{name} cold compile"), |b| {
            b.iter_batched(
                || clear(&runtime),
                |()| {
                    let loaded = runtime.load(&name, &path).expect("load");
                    assert_eq!(loaded.cache_status(), CacheStatus::Miss);
                    black_box(loaded)
                },
                BatchSize::PerIteration,
            )
        });
        let loaded = runtime.load(&name, &path).expect("load");
        let request = RenderRequest {
            values_json: serde_json::to_string(&sub.values).expect("json"),
            ..Default::default()
        };
        let limits = Limits::default();
        group.bench_function(format!("{name} warm render"), |b| {
            b.iter(|| black_box(runtime.render(&loaded, &request, &limits).expect("render")))
        });
    }
    group.finish();
}

fn clear(runtime: &Runtime) {
    let dir = runtime.cache_dir().expect("cache dir");
    for entry in std::fs::read_dir(dir).expect("read cache dir").flatten() {
        std::fs::remove_file(entry.path()).expect("remove cache entry");
    }
}

criterion_group!(benches, components);
criterion_main!(benches);
