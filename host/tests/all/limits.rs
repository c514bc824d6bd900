//! Every sandbox limit, obeyed and violated, through the real binary (a
//! flag where one exists, else the umbrella's `limits:` map), plus the hard
//! ceilings, the exact log budget, the `/files` descriptor cap and frozen
//! `/files` metadata, and compile bounds.

use serde_json::json;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::support::{expect_error as error, expect_success as ok, run_bounded};
use wasmchart::sandbox::{
    LIMITS, LimitUnit, Limits, LogLevel, RenderRequest, Runtime, RuntimeOptions, SandboxError,
};

/// An umbrella chart with one or more aliases of the probe guest.
struct Chart {
    dir: tempfile::TempDir,
}

impl Chart {
    /// `subs`: (alias, values YAML on one line as a flow map, `limits:` flow map or "").
    fn new(subs: &[(&str, &str, &str)]) -> Chart {
        let dir = tempfile::tempdir().unwrap();
        let probe = dir.path().join("charts/probe");
        fs::create_dir_all(&probe).unwrap();
        fs::copy(test_components::wasm("probe"), probe.join("probe.wasm")).unwrap();
        fs::write(
            probe.join("Chart.yaml"),
            "apiVersion: v2\nname: probe\nversion: 0.1.0\ncomponent: probe.wasm\n",
        )
        .unwrap();
        fs::write(probe.join("values.yaml"), "{}\n").unwrap();
        let mut chart =
            String::from("apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n");
        let mut values = String::new();
        for (alias, sub_values, limits) in subs {
            chart.push_str(&format!(
                "  - name: probe\n    version: 0.1.0\n    repository: file://./charts/probe\n    alias: {alias}\n"
            ));
            if !limits.is_empty() {
                chart.push_str(&format!("    limits: {limits}\n"));
            }
            values.push_str(&format!("{alias}: {sub_values}\n"));
        }
        fs::write(dir.path().join("Chart.yaml"), chart).unwrap();
        fs::write(dir.path().join("values.yaml"), values).unwrap();
        Chart { dir }
    }

    /// One probe, aliased `probe`.
    fn probe(values: &str, limits: &str) -> Chart {
        Chart::new(&[("probe", values, limits)])
    }

    fn files_dir(&self) -> std::path::PathBuf {
        let files = self.dir.path().join("charts/probe/files");
        fs::create_dir_all(&files).unwrap();
        files
    }

    fn render(&self, args: &[&str]) -> Output {
        self.render_with_cache(shared_cache(), args)
    }

    fn render_with_cache(&self, cache: &Path, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wasmchart"));
        command
            .arg("render")
            .arg(self.dir.path())
            .args(args)
            .env("WASMCHART_CACHE_DIR", cache.join("cache"))
            .env("WASMCHART_CONFIG_DIR", cache.join("config"))
            .env_remove("WASMCHART_SECRET_KEY")
            .env_remove("WASMCHART_POLICY");
        run_bounded(command, Duration::from_secs(120)).0
    }
}

/// One compile cache for the tests that do not test compiling.
fn shared_cache() -> &'static Path {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    CACHE.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn assert_has(text: &str, needle: &str) {
    assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
}

// ---- memory, time, output: flags ------------------------------------------

#[test]
fn memory_flag_obeyed_and_violated() {
    let fits = Chart::probe("{action: alloc, mib: 8}", "");
    assert_has(
        &ok(&fits.render(&["--memory-limit", "64Mi"])),
        "allocated: 8 MiB",
    );
    let over = Chart::probe("{action: alloc, mib: 100}", "");
    let err = error(&over.render(&["--memory-limit", "64Mi"]));
    assert_has(&err, "component 'probe' exceeded its 64Mi memory limit");
}

#[test]
fn timeout_flag_obeyed_and_violated() {
    let chart = Chart::probe("{action: ok}", "");
    ok(&chart.render(&["--timeout", "300ms"]));
    let spin = Chart::probe("{action: loop}", "");
    let start = Instant::now();
    let err = error(&spin.render(&["--timeout", "300ms"]));
    assert_has(&err, "component 'probe' exceeded its 300ms time limit");
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn output_flag_obeyed_and_violated() {
    let fits = Chart::probe("{action: flood, bytes: 100000}", "");
    ok(&fits.render(&["--output-limit", "1Mi"]));
    let over = Chart::probe("{action: flood, bytes: 2000000}", "");
    let err = error(&over.render(&["--output-limit", "1Mi"]));
    assert_has(&err, "component 'probe' exceeded its 1Mi output limit");
}

// ---- hard ceilings --------------------------------------------------------

/// One unit past the ceiling, in the limit's own notation.
fn past(unit: LimitUnit, ceiling: u64) -> String {
    match unit {
        LimitUnit::Duration => format!("{}ms", ceiling / 1_000_000 + 1),
        _ => (ceiling + 1).to_string(),
    }
}

fn at(unit: LimitUnit, ceiling: u64) -> String {
    match unit {
        LimitUnit::Duration => format!("{}ms", ceiling / 1_000_000),
        _ => ceiling.to_string(),
    }
}

#[test]
fn every_limit_has_a_ceiling() {
    for spec in LIMITS {
        let mut limits = Limits::default();
        limits
            .set(spec.key, &at(spec.unit, spec.ceiling))
            .unwrap_or_else(|e| panic!("{}: the ceiling itself is allowed: {e}", spec.key));
        let err = limits
            .set(spec.key, &past(spec.unit, spec.ceiling))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("limit '{}': ", spec.key))
                && err.contains("out of range (from "),
            "{err}"
        );
        let zero = if spec.unit == LimitUnit::Duration {
            "0ms"
        } else {
            "0"
        };
        assert!(limits.set(spec.key, zero).is_err(), "{}: zero", spec.key);
    }
}

#[test]
fn ceilings_are_refused_from_flags_and_chart_yaml() {
    let chart = Chart::probe("{action: ok}", "");
    let err = error(&chart.render(&["--memory-limit", "5Gi"]));
    assert_has(&err, "--memory-limit '5Gi'");
    assert_has(&err, "out of range (from 1 byte to 4Gi)");
    let err = error(&chart.render(&["--timeout", "11m"]));
    assert_has(&err, "out of range (from 1ms to 10m)");
    let err = error(&chart.render(&["--compile-memory", "17Gi"]));
    assert_has(&err, "--compile-memory '17Gi'");
    let greedy = Chart::probe("{action: ok}", "{instances: 5000}");
    let err = error(&greedy.render(&[]));
    assert_has(
        &err,
        "limit 'instances': '5000' is out of range (from 1 to 1000)",
    );
    let greedy = Chart::probe("{action: ok}", "{files: 100000}");
    assert_has(
        &error(&greedy.render(&[])),
        "limit 'files': '100000' is out of range (from 1 to 1024)",
    );
}

// ---- logs -----------------------------------------------------------------

#[test]
fn log_lines_obeyed_and_violated() {
    let fits = Chart::probe("{action: log-spam, lines: 20, bytes: 10}", "{logLines: 20}");
    let out = fits.render(&[]);
    ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("[probe] warn: ").count(), 20, "{stderr}");
    assert!(!stderr.contains("was dropped"), "{stderr}");

    let over = Chart::probe(
        "{action: log-spam, lines: 1000, bytes: 10}",
        "{logLines: 20}",
    );
    let out = over.render(&[]);
    ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // 20 lines and the notice.
    assert_eq!(stderr.matches("[probe] warn: ").count(), 21, "{stderr}");
    assert_has(&stderr, "(980 lines, ");
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<(Runtime, tempfile::TempDir)> = OnceLock::new();
    let (runtime, _) = RUNTIME.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let runtime = Runtime::new(RuntimeOptions {
            cache_dir: Some(dir.path().join("cache")),
            config_dir: Some(dir.path().join("config")),
            ..RuntimeOptions::default()
        })
        .unwrap();
        (runtime, dir)
    });
    runtime
}

fn render_probe(
    values: serde_json::Value,
    limits: &Limits,
) -> Result<wasmchart::sandbox::RenderResult, SandboxError> {
    let probe = runtime()
        .load("probe", test_components::wasm("probe"))
        .unwrap();
    let request = RenderRequest {
        values_json: values.to_string(),
        ..RenderRequest::default()
    };
    runtime().render(&probe, &request, limits)
}

/// Bytes kept, not counting the host's own "dropped" notice.
fn kept_bytes(logs: &[wasmchart::sandbox::LogLine]) -> usize {
    logs.iter()
        .filter(|l| !l.message.starts_with("[wasmchart]"))
        .map(|l| l.message.len())
        .sum()
}

#[test]
fn log_bytes_obeyed_and_violated_exactly() {
    let budget = 64 << 10;
    let limits = Limits {
        log_bytes: budget,
        log_lines: 100_000,
        ..Limits::default()
    };
    // Obeyed: 50 lines of ~110 bytes on each stream fit; nothing dropped.
    let result = render_probe(
        json!({"action": "stdout", "lines": 50, "bytes": 100}),
        &limits,
    )
    .unwrap();
    assert_eq!(result.logs.len(), 100, "{:?}", result.logs.last());
    // Violated: 20 MB to stdout and stderr and 1 MB of log calls; the kept
    // total is the budget, not a multiple of it (each stream once had its own).
    for values in [
        json!({"action": "stdout", "lines": 10_000, "bytes": 1000}),
        json!({"action": "log-spam", "lines": 1_000, "bytes": 1000}),
    ] {
        let result = render_probe(values.clone(), &limits).unwrap();
        let kept = kept_bytes(&result.logs);
        assert!(
            kept as u64 <= budget,
            "{values}: kept {kept} bytes of a {budget} budget"
        );
        assert!(
            kept as u64 > budget - 2100,
            "{values}: kept only {kept} bytes"
        );
        let notice = &result.logs.last().unwrap();
        assert_eq!(notice.level, LogLevel::Warn);
        assert_has(&notice.message, "/ 64Ki was dropped");
    }
}

// ---- /files: descriptors and metadata -------------------------------------

#[test]
fn open_files_obeyed_and_violated() {
    let fits = Chart::probe(
        "{action: open-many, path: /files/x, count: 8}",
        "{files: 8}",
    );
    fs::write(fits.files_dir().join("x"), "x").unwrap();
    let out = ok(&fits.render(&[]));
    assert!(
        out.contains("opened: '8'") || out.contains("opened: \"8\""),
        "{out}"
    );

    let over = Chart::probe(
        "{action: open-many, path: /files/x, count: 9}",
        "{files: 8}",
    );
    fs::write(over.files_dir().join("x"), "x").unwrap();
    let err = error(&over.render(&[]));
    assert_has(&err, "component 'probe' exceeded its limit of 8 open files");
}

#[test]
fn a_component_hoarding_descriptors_fails_alone() {
    let chart = Chart::new(&[
        (
            "hoarder",
            "{action: open-many, path: /files/x, count: 100000}",
            "",
        ),
        (
            "tenant",
            "{action: open-many, path: /files/x, count: 60}",
            "",
        ),
    ]);
    fs::write(chart.files_dir().join("x"), "x").unwrap();
    let err = error(&chart.render(&[]));
    assert_has(
        &err,
        "component 'hoarder' exceeded its limit of 64 open files",
    );
    assert!(!err.contains("tenant"), "{err}");
}

#[test]
fn files_metadata_is_frozen_and_renders_are_identical() {
    let render = |mtime: &str| {
        let chart = Chart::probe("{action: stat, path: /files/x}", "");
        let file = chart.files_dir().join("x");
        fs::write(&file, "same bytes").unwrap();
        let touch = Command::new("touch")
            .args(["-d", mtime])
            .arg(&file)
            .status()
            .unwrap();
        assert!(touch.success());
        ok(&chart.render(&[]))
    };
    let old = render("2001-02-03 04:05:06");
    let new = render("2024-06-07 08:09:10");
    assert_eq!(old, new, "real mtimes must not reach the output");
    assert!(old.matches("allowed: 946684800").count() >= 2, "{old}");
}

// ---- component size and compiling -----------------------------------------

#[test]
fn component_size_obeyed_and_violated() {
    let size = fs::metadata(test_components::wasm("probe")).unwrap().len();
    let fits = Chart::probe("{action: ok}", &format!("{{componentSize: {size}}}"));
    ok(&fits.render(&[]));
    let limit = size - 1;
    let over = Chart::probe("{action: ok}", &format!("{{componentSize: {limit}}}"));
    let err = error(&over.render(&[]));
    assert_has(
        &err,
        &format!("component 'probe' is {size} bytes, over its {limit} bytes component size limit"),
    );
}

#[test]
fn compile_time_obeyed_and_violated() {
    // A fresh cache each: the compile must really happen.
    let chart = Chart::probe("{action: ok}", "");
    let cache = tempfile::tempdir().unwrap();
    ok(&chart.render_with_cache(cache.path(), &["--compile-timeout", "60s"]));
    let cache = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let err = error(&chart.render_with_cache(cache.path(), &["--compile-timeout", "1ms"]));
    assert_has(
        &err,
        "component 'probe' exceeded its 1ms compile time limit",
    );
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn compile_memory_obeyed_and_violated() {
    let chart = Chart::probe("{action: ok}", "");
    let cache = tempfile::tempdir().unwrap();
    ok(&chart.render_with_cache(cache.path(), &["--compile-memory", "512Mi"]));
    let cache = tempfile::tempdir().unwrap();
    let err = error(&chart.render_with_cache(cache.path(), &["--compile-memory", "8Mi"]));
    assert_has(
        &err,
        "component 'probe' exceeded its 8Mi compile memory limit",
    );
}

#[test]
fn library_compiles_stop_waiting_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: Some(dir.path().join("cache")),
        config_dir: Some(dir.path().join("config")),
        ..RuntimeOptions::default()
    })
    .unwrap();
    let limits = Limits {
        compile_timeout: Duration::from_millis(1),
        ..Limits::default()
    };
    let err = runtime
        .load_limited("redis", test_components::wasm("redis"), &limits)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "component 'redis' exceeded its 1ms compile time limit"
    );
}

// ---- instances, tables, memories: generated components ---------------------

/// How many extra core instances a generated component makes, and how many
/// tables and memories each of them defines.
#[derive(Clone, Copy)]
struct Shape {
    fillers: u32,
    tables_each: u32,
    memories_each: u32,
    /// Initial elements of each filler table.
    elements: u64,
}

/// A core module defining `tables` tables of `elements` elements and
/// `memories` empty memories, and nothing else.
fn filler_module(tables: u32, elements: u64, memories: u32) -> wasm_encoder::Module {
    use wasm_encoder::{MemorySection, MemoryType, Module, RefType, TableSection, TableType};
    let mut module = Module::new();
    let mut table_section = TableSection::new();
    for _ in 0..tables {
        table_section.table(TableType {
            element_type: RefType::FUNCREF,
            table64: false,
            minimum: elements,
            maximum: None,
            shared: false,
        });
    }
    module.section(&table_section);
    let mut memory_section = MemorySection::new();
    for _ in 0..memories {
        memory_section.memory(MemoryType {
            minimum: 0,
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
    }
    module.section(&memory_section);
    module
}

/// The core module behind `render`: one page of memory, a bump `realloc`,
/// and `render` returning a pointer to zeros, which lifts as
/// `ok({manifests: [], notes: none})`.
fn main_module() -> wasm_encoder::Module {
    use wasm_encoder::{
        CodeSection, ConstExpr, ExportKind, ExportSection, Function, FunctionSection,
        GlobalSection, GlobalType, Instruction as I, MemorySection, MemoryType, Module,
        TypeSection, ValType,
    };
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]);
    types.ty().function([ValType::I32; 4], [ValType::I32]);
    let mut functions = FunctionSection::new();
    functions.function(0).function(1);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut globals = GlobalSection::new();
    let heap = GlobalType {
        val_type: ValType::I32,
        mutable: true,
        shared: false,
    };
    globals.global(heap, &ConstExpr::i32_const(1024));
    let mut exports = ExportSection::new();
    exports
        .export("render", ExportKind::Func, 0)
        .export("realloc", ExportKind::Func, 1)
        .export("memory", ExportKind::Memory, 0);
    let mut code = CodeSection::new();
    let mut render = Function::new([]);
    render.instruction(&I::I32Const(16)).instruction(&I::End);
    code.function(&render);
    // realloc(old, old_size, align, size): heap += size (8-aligned), return old heap.
    let mut realloc = Function::new([]);
    for instruction in [
        I::GlobalGet(0),
        I::GlobalGet(0),
        I::LocalGet(3),
        I::I32Add,
        I::I32Const(7),
        I::I32Add,
        I::I32Const(-8),
        I::I32And,
        I::GlobalSet(0),
        I::End,
    ] {
        realloc.instruction(&instruction);
    }
    code.function(&realloc);
    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&memories)
        .section(&globals)
        .section(&exports)
        .section(&code);
    module
}

/// Defines a record, variant... with `define` and exports it as `name`
/// (the component model wants named types in exported signatures);
/// returns the exported type.
fn named_type(
    builder: &mut wasm_encoder::ComponentBuilder,
    name: &str,
    define: impl FnOnce(wasm_encoder::ComponentDefinedTypeEncoder<'_>),
) -> wasm_encoder::ComponentValType {
    use wasm_encoder::{ComponentExportKind, ComponentValType};
    let (index, encoder) = builder.type_defined(None);
    define(encoder);
    let exported = builder.export(name, ComponentExportKind::Type, index, None);
    ComponentValType::Type(exported)
}

fn anonymous_type(
    builder: &mut wasm_encoder::ComponentBuilder,
    define: impl FnOnce(wasm_encoder::ComponentDefinedTypeEncoder<'_>),
) -> wasm_encoder::ComponentValType {
    let (index, encoder) = builder.type_defined(None);
    define(encoder);
    wasm_encoder::ComponentValType::Type(index)
}

/// A component implementing `render` of wasmchart:chart@0.1.0 (it returns
/// no manifests) that also instantiates `shape.fillers` filler modules.
fn generated_component(shape: Shape) -> Vec<u8> {
    use wasm_encoder::{
        CanonicalOption, ComponentBuilder, ComponentExportKind, ComponentValType as V, ExportKind,
        PrimitiveValType as P,
    };
    let mut b = ComponentBuilder::default();
    let string = V::Primitive(P::String);
    let strings = anonymous_type(&mut b, |t| t.list(string));
    let opt_string = anonymous_type(&mut b, |t| t.option(string));
    let release = named_type(&mut b, "release", |t| {
        t.record([
            ("name", string),
            ("namespace", string),
            ("revision", V::Primitive(P::U32)),
            ("is-install", V::Primitive(P::Bool)),
            ("is-upgrade", V::Primitive(P::Bool)),
        ])
    });
    let chart = named_type(&mut b, "chart-info", |t| {
        t.record([
            ("name", string),
            ("version", string),
            ("app-version", opt_string),
        ])
    });
    let caps = named_type(&mut b, "capabilities", |t| {
        t.record([("kube-version", string), ("api-versions", strings)])
    });
    let secret = named_type(&mut b, "secret-ref", |t| {
        t.record([("id", string), ("secret-name", string), ("keys", strings)])
    });
    let cert = named_type(&mut b, "certificate-ref", |t| {
        t.record([
            ("id", string),
            ("secret-name", string),
            ("dns-names", strings),
        ])
    });
    let secrets = anonymous_type(&mut b, |t| t.list(secret));
    let certs = anonymous_type(&mut b, |t| t.list(cert));
    let input = named_type(&mut b, "render-input", |t| {
        t.record([
            ("values-json", string),
            ("release", release),
            ("chart", chart),
            ("capabilities", caps),
            ("secrets", secrets),
            ("certificates", certs),
        ])
    });
    let manifest = named_type(&mut b, "manifest", |t| {
        t.record([("source", string), ("content", string)])
    });
    let manifests = anonymous_type(&mut b, |t| t.list(manifest));
    let output = named_type(&mut b, "render-output", |t| {
        t.record([("manifests", manifests), ("notes", opt_string)])
    });
    let error = named_type(&mut b, "render-error", |t| {
        t.variant([
            ("invalid-values", Some(string)),
            ("unsupported", Some(string)),
            ("failed", Some(string)),
        ])
    });
    let result = anonymous_type(&mut b, |t| t.result(Some(output), Some(error)));
    let (func_type, mut encoder) = b.type_function(None);
    encoder.params([("input", input)]).result(Some(result));

    let main = b.core_module(None, &main_module());
    let instance = b.core_instantiate(None, main, []);
    let filler = b.core_module(
        None,
        &filler_module(shape.tables_each, shape.elements, shape.memories_each),
    );
    for _ in 0..shape.fillers {
        b.core_instantiate(None, filler, []);
    }
    let render = b.core_alias_export(None, instance, "render", ExportKind::Func);
    let realloc = b.core_alias_export(None, instance, "realloc", ExportKind::Func);
    let memory = b.core_alias_export(None, instance, "memory", ExportKind::Memory);
    let options = [
        CanonicalOption::UTF8,
        CanonicalOption::Memory(memory),
        CanonicalOption::Realloc(realloc),
    ];
    let lifted = b.lift_func(None, render, func_type, options);
    b.export("render", ComponentExportKind::Func, lifted, None);
    b.finish()
}

/// Renders a generated component of `shape` under `limits` (a flow map).
fn render_generated(shape: Shape, limits: &str) -> Output {
    let chart = Chart::probe("{}", limits);
    let wasm = chart.dir.path().join("charts/probe/probe.wasm");
    fs::write(&wasm, generated_component(shape)).unwrap();
    chart.render(&[])
}

#[test]
fn instances_obeyed_and_violated() {
    let shape = Shape {
        fillers: 9,
        tables_each: 0,
        memories_each: 0,
        elements: 1,
    };
    ok(&render_generated(shape, "{instances: 10}"));
    let shape = Shape {
        fillers: 10,
        ..shape
    };
    let err = error(&render_generated(shape, "{instances: 10}"));
    assert_has(&err, "component 'probe' exceeded its limit of 10 instances");
}

#[test]
fn tables_obeyed_and_violated() {
    let shape = Shape {
        fillers: 2,
        tables_each: 3,
        memories_each: 0,
        elements: 1,
    };
    ok(&render_generated(shape, "{tables: 6}"));
    let shape = Shape {
        tables_each: 4,
        ..shape
    };
    let err = error(&render_generated(shape, "{tables: 6}"));
    assert_has(&err, "component 'probe' exceeded its limit of 6 tables");
}

#[test]
fn memories_obeyed_and_violated() {
    // The main module has one memory.
    let shape = Shape {
        fillers: 3,
        tables_each: 0,
        memories_each: 1,
        elements: 1,
    };
    ok(&render_generated(shape, "{memories: 4}"));
    let shape = Shape {
        fillers: 4,
        ..shape
    };
    let err = error(&render_generated(shape, "{memories: 4}"));
    assert_has(&err, "component 'probe' exceeded its limit of 4 memories");
}

/// The documented defaults are reachable under the pooling allocator: a
/// component right at the default counts instantiates, and the ceilings
/// themselves are accepted (the pool is sized for them).
#[test]
fn defaults_and_ceilings_are_reachable() {
    let at_default = Shape {
        fillers: 99,
        tables_each: 1,
        memories_each: 0,
        elements: 1,
    };
    ok(&render_generated(at_default, ""));
    let err = error(&render_generated(
        Shape {
            fillers: 100,
            ..at_default
        },
        "",
    ));
    assert_has(&err, "exceeded its limit of 100 instances");
    let at_ceiling = Shape {
        fillers: 999,
        tables_each: 1,
        memories_each: 0,
        elements: 1,
    };
    ok(&render_generated(
        at_ceiling,
        "{instances: 1000, tables: 1000}",
    ));
    let many_memories = Shape {
        fillers: 63,
        tables_each: 0,
        memories_each: 1,
        elements: 1,
    };
    ok(&render_generated(
        many_memories,
        "{memories: 64, instances: 64}",
    ));
}

// ---- trap causes ------------------------------------------------------------

#[test]
fn a_crash_keeps_its_trap_kind_and_stderr_without_backtrace() {
    let err = error(&Chart::probe("{action: panic}", "").render(&[]));
    assert_has(&err, "component 'probe' crashed: ");
    assert_has(&err, "wasm `unreachable` instruction executed");
    assert_has(&err, "probe panicked on purpose");
    assert!(!err.contains("backtrace") && !err.contains("0x"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one paragraph: {err}");
    let err = error(&Chart::probe("{action: trap}", "").render(&[]));
    assert_has(&err, "wasm trap: wasm `unreachable` instruction executed");
}

#[test]
fn a_component_is_never_compiled_twice_at_once() {
    use wasmchart::sandbox::CacheStatus;
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: Some(dir.path().join("cache")),
        config_dir: Some(dir.path().join("config")),
        ..RuntimeOptions::default()
    })
    .unwrap();
    let statuses: Vec<CacheStatus> = std::thread::scope(|scope| {
        let loads: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| runtime.load("redis", test_components::wasm("redis"))))
            .collect();
        loads
            .into_iter()
            .map(|l| l.join().unwrap().unwrap().cache_status())
            .collect()
    });
    let misses = statuses.iter().filter(|s| **s == CacheStatus::Miss).count();
    assert_eq!(misses, 1, "one compile, then cache hits: {statuses:?}");
}

#[test]
fn table_elements_obeyed_and_violated() {
    let shape = Shape {
        fillers: 1,
        tables_each: 1,
        memories_each: 0,
        elements: 1000,
    };
    ok(&render_generated(shape, "{tableElements: 1000}"));
    let shape = Shape {
        elements: 1001,
        ..shape
    };
    let err = error(&render_generated(shape, "{tableElements: 1000}"));
    assert_has(
        &err,
        "component 'probe' exceeded its limit of 1000 table elements",
    );
}
