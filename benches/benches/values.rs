//! Value-engine benchmarks: parsing a 1 MiB values file and the example chart's YAML files,
//! computing a 50-subchart umbrella and one of 500 aliases, applying 1,000 `--set` flags.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use wasmchart_values::{Chart, ValueOptions, compute, yaml};

/// A values file of about 1 MiB with maps, lists and YAML 1.1 scalars.
fn big_values() -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < 1 << 20 {
        let _ = write!(
            s,
            "svc{i}:\n  enabled: yes\n  replicas: {i}\n  image:\n    repository: registry.example.com/team/app{i}\n    tag: \"1.{i}.0\"\n  ports: [80, 443, 0x1F90]\n  env:\n  - name: MODE\n    value: production\n  - name: LEVEL\n    value: info\n"
        );
        i += 1;
    }
    s
}

/// Every YAML file of examples/imprun (Chart.yaml and values files, the umbrella's and each
/// subchart's): what a render of the example parses before any component runs.
fn example_yaml_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/imprun");
    let mut dirs = vec![root.clone()];
    let mut subs: Vec<_> = std::fs::read_dir(root.join("charts"))
        .expect("examples/imprun/charts")
        .map(|e| e.expect("entry").path())
        .collect();
    subs.sort();
    dirs.extend(subs);
    let mut files = Vec::new();
    for dir in dirs {
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .expect("chart dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        names.sort();
        for path in names {
            let text = std::fs::read_to_string(&path).expect("read");
            files.push((path.display().to_string(), text));
        }
    }
    assert!(files.len() >= 10, "the example's YAML files");
    files
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// An umbrella with 50 subcharts, conditions, tags, an alias and globals.
fn umbrella(dir: &Path) {
    let mut deps = String::from("apiVersion: v2\nname: umbrella\nversion: 1.0.0\ndependencies:\n");
    let mut vals = String::from(
        "global:\n  region: eu\n  image:\n    registry: r.example.com\ntags:\n  extra: true\n",
    );
    for i in 0..50 {
        let _ = write!(
            deps,
            "- name: sub{i}\n  version: \"~1.0\"\n  condition: sub{i}.enabled\n  tags: [extra]\n"
        );
        let _ = write!(
            vals,
            "sub{i}:\n  enabled: {}\n  replicas: {i}\n",
            i % 10 != 0
        );
        let sub = dir.join(format!("charts/sub{i}"));
        write(
            &sub.join("Chart.yaml"),
            &format!("apiVersion: v2\nname: sub{i}\nversion: 1.0.{i}\n"),
        );
        write(
            &sub.join("values.yaml"),
            "replicas: 1\nimage:\n  repository: app\n  tag: v1\nresources:\n  limits: {cpu: 1, memory: 1Gi}\nglobal:\n  own: default\n",
        );
    }
    write(&dir.join("Chart.yaml"), &deps);
    write(&dir.join("values.yaml"), &vals);
}

/// An umbrella of `n` aliases of the example's Redis subchart, each with a
/// condition (the shape of `scripts/bench_vs_helm.py --aliases`).
fn aliases(dir: &Path, n: usize) {
    let redis = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/imprun/charts/redis");
    let mut deps = String::from("apiVersion: v2\nname: aliases\nversion: 0.1.0\ndependencies:\n");
    for i in 0..n {
        let _ = writeln!(
            deps,
            "- {{name: redis, alias: r{i}, version: 0.1.0, condition: r{i}.enabled}}"
        );
    }
    write(&dir.join("Chart.yaml"), &deps);
    write(&dir.join("values.yaml"), "");
    for file in ["Chart.yaml", "values.yaml"] {
        let text = std::fs::read_to_string(redis.join(file)).expect("redis chart");
        write(&dir.join("charts/redis").join(file), &text);
    }
}

fn benches(c: &mut Criterion) {
    let text = big_values();
    c.bench_function("parse 1 MiB values file", |b| {
        b.iter(|| yaml::parse_values_map(black_box(&text), "big.yaml").expect("parse"))
    });

    c.bench_function("parse 1 MiB values file with positions (explain)", |b| {
        b.iter(|| yaml::parse_values(black_box(&text), "big.yaml").expect("parse"))
    });

    let example = example_yaml_files();
    c.bench_function("parse the example chart's YAML files", |b| {
        b.iter(|| {
            for (name, text) in &example {
                yaml::parse_values_map(black_box(text), name).expect("parse");
            }
        })
    });

    let dir = tempfile::tempdir().expect("tempdir");
    umbrella(dir.path());
    let chart = Chart::load(dir.path()).expect("load");
    let opts = ValueOptions::default();
    c.bench_function("compute 50-subchart umbrella", |b| {
        b.iter(|| compute(black_box(&chart), &opts).expect("compute"))
    });

    let many = tempfile::tempdir().expect("tempdir");
    aliases(many.path(), 500);
    let aliased = Chart::load(many.path()).expect("load");
    c.bench_function("compute 500 aliases of one subchart", |b| {
        b.iter(|| compute(black_box(&aliased), &opts).expect("compute"))
    });

    let small = tempfile::tempdir().expect("tempdir");
    write(
        &small.path().join("Chart.yaml"),
        "apiVersion: v2\nname: flags\nversion: 1.0.0\n",
    );
    let flags = ValueOptions {
        set: (0..1000)
            .map(|i| format!("app{}.settings.key{i}={i},list[{}]=v{i}", i % 37, i % 50))
            .collect(),
        ..Default::default()
    };
    let small_chart = Chart::load(small.path()).expect("load");
    c.bench_function("apply 1000 --set flags", |b| {
        b.iter(|| compute(black_box(&small_chart), &flags).expect("compute"))
    });
}

criterion_group!(values, benches);
criterion_main!(values);
