//! Sandbox costs for the Redis component: a cold load (sha256, Cranelift
//! compile, cache write), a cached load on the warm path (stamp check,
//! header check, map and deserialize in place) and with the full HMAC of the
//! entry (the first load after a restore), a later subchart's load of the
//! same component in one render (`load_shared`), and one render (fresh store, instantiate, call,
//! copy out).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use wasmchart::sandbox::{
    CacheStatus, Capabilities, ChartInfo, Limits, Release, RenderRequest, Runtime, RuntimeOptions,
};

/// A runtime with its compile cache in `dir/cache` and its key in
/// `dir/config`.
fn runtime(dir: &tempfile::TempDir) -> Runtime {
    Runtime::new(RuntimeOptions {
        cache_dir: Some(dir.path().join("cache")),
        config_dir: Some(dir.path().join("config")),
        progress: false,
    })
    .expect("runtime starts")
}

/// Removes the stamps, so the next load verifies the entry's MAC in full.
fn unstamp(runtime: &Runtime) {
    let dir = runtime.cache_dir().expect("cache dir");
    for entry in std::fs::read_dir(dir).expect("read cache dir").flatten() {
        if entry.path().extension().is_some_and(|e| e == "stamp") {
            std::fs::remove_file(entry.path()).expect("remove stamp");
        }
    }
}

fn clear(runtime: &Runtime) {
    let dir = runtime.cache_dir().expect("cache dir");
    for entry in std::fs::read_dir(dir).expect("read cache dir").flatten() {
        std::fs::remove_file(entry.path()).expect("remove cache entry");
    }
}

fn request() -> RenderRequest {
    RenderRequest {
        values_json: r#"{"auth":{"enabled":true},"service":{"port":6379}}"#.into(),
        release: Release {
            name: "imprun".into(),
            namespace: "imprun".into(),
            revision: 1,
            is_install: true,
            is_upgrade: false,
        },
        chart: ChartInfo {
            name: "redis".into(),
            version: "0.1.0".into(),
            app_version: Some("7.4.2".into()),
        },
        capabilities: Capabilities {
            kube_version: "v1.31.0".into(),
            api_versions: vec!["apps/v1".into(), "v1".into()],
        },
        ..Default::default()
    }
}

fn sandbox(c: &mut Criterion) {
    c.bench_function("sandbox/runtime new (engine, linker, cache)", |b| {
        let cache = tempfile::tempdir().expect("temp dir");
        b.iter(|| black_box(runtime(&cache)))
    });

    let path = test_components::wasm("redis");
    let cache = tempfile::tempdir().expect("temp dir");
    let rt = runtime(&cache);

    let mut group = c.benchmark_group("sandbox");
    group.sample_size(20);
    group.bench_function("redis cold load (compile)", |b| {
        b.iter_batched(
            || clear(&rt),
            |()| {
                let loaded = rt.load("redis", path).expect("load");
                assert_eq!(loaded.cache_status(), CacheStatus::Miss);
                black_box(loaded)
            },
            BatchSize::PerIteration,
        )
    });
    let bytes = std::fs::read(path).expect("read redis.wasm");
    group.bench_function("redis precompile only (Cranelift)", |b| {
        b.iter(|| black_box(rt.engine().precompile_component(&bytes).expect("compile")))
    });
    group.finish();

    rt.load("redis", path).expect("warm the cache");
    c.bench_function("sandbox/redis cached load", |b| {
        b.iter(|| {
            let loaded = rt.load("redis", path).expect("load");
            assert_eq!(loaded.cache_status(), CacheStatus::Hit);
            black_box(loaded)
        })
    });
    c.bench_function("sandbox/redis cached load, full MAC check", |b| {
        b.iter_batched(
            || unstamp(&rt),
            |()| {
                let loaded = rt.load("redis", path).expect("load");
                assert_eq!(loaded.cache_status(), CacheStatus::Verified);
                black_box(loaded)
            },
            BatchSize::PerIteration,
        )
    });

    // What every alias or nested copy after the first costs in a render.
    let shared: std::sync::Arc<[u8]> = bytes.clone().into();
    rt.load_shared("redis", path, &shared, &Limits::default())
        .expect("first shared load");
    c.bench_function("sandbox/redis shared load (a later subchart)", |b| {
        b.iter(|| {
            black_box(
                rt.load_shared("redis-b", path, &shared, &Limits::default())
                    .expect("shared load"),
            )
        })
    });

    let redis = rt.load("redis", path).expect("load");
    let request = request();
    let limits = Limits::default();
    c.bench_function("sandbox/redis instantiate + render", |b| {
        b.iter(|| black_box(rt.render(&redis, &request, &limits).expect("render")))
    });
}

criterion_group!(benches, sandbox);
criterion_main!(benches);
