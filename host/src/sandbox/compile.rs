//! Compiling a component to native code under the compile limits.
//!
//! Cranelift's time and memory grow with the component, and a component
//! can be crafted to make them explode (a 7 MiB file has cost 900 MB and
//! 5 s). So, when the `wasmchart` binary is running, each compile happens
//! in a child process of that same binary (`wasmchart __compile-component`,
//! hidden): the child caps its own data segment (`RLIMIT_DATA`, every
//! private writable mapping counts) at `compileMemory` and its CPU time
//! (`RLIMIT_CPU`) at the deadline times the cores, reads the component on
//! stdin and writes the artifact on stdout, a memory file the parent made
//! and seals once the child has exited (`artifact.rs`); the parent kills it
//! at the `compileTimeout` wall deadline. The artifact is then checked and
//! loaded by the parent's engine exactly like a compile-cache entry.
//!
//! Library users (tests, benches, other hosts) have no such binary: there a
//! compile runs on a worker thread of the calling process and the caller
//! stops waiting at the deadline (the thread finishes in the background,
//! its result discarded); memory is not bounded. Call
//! [`compile_in_child_processes`] with a `wasmchart` executable to get the
//! full bounds.

use super::artifact::{self, Artifact};
use super::engine::{self, Tier};
use super::error::SandboxError;
use super::limits::{Limits, Size, Time};
use super::prune;
use std::io::{Read, Seek as _, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use wasmtime::Engine;

/// The hidden command line argument that makes the binary a compiler.
pub const CHILD_ARG: &str = "__compile-component";
/// Child exit status: compiling failed (the reason is on stderr).
const EXIT_INVALID: u8 = 3;
/// Child exit status: compiling ran out of memory.
const EXIT_MEMORY: u8 = 4;
/// Most stderr kept from the child.
const MAX_CHILD_STDERR: u64 = 16 * 1024;

static COMPILER: OnceLock<PathBuf> = OnceLock::new();

/// Makes every [`Runtime`](super::Runtime) created afterwards in this
/// process compile in child processes of `exe`, which must be a `wasmchart`
/// binary (its `main` handles [`CHILD_ARG`]). The binary calls this at
/// start; a library user may, to get bounded compile memory.
pub fn compile_in_child_processes(exe: PathBuf) {
    let _ = COMPILER.set(exe);
}

/// The compiler executable set by [`compile_in_child_processes`], if any.
pub fn default_compiler() -> Option<PathBuf> {
    COMPILER.get().cloned()
}

/// A compiler child process to compile in.
#[derive(Debug, Clone, Copy)]
pub struct Compiler<'a> {
    /// The `wasmchart` executable.
    pub exe: &'a Path,
    /// Compile threads, 0 for one per core.
    pub threads: usize,
}

/// Compiles `bytes` (component `name`) to an artifact for `engine` (of
/// `tier`), within `limits`' compile time and memory, in a child process
/// when `compiler` is given, else on a worker thread.
///
/// # Errors
///
/// [`SandboxError::CompileTimeout`], [`SandboxError::CompileMemory`], or
/// [`SandboxError::Load`] with wasmtime's reason when the component is
/// invalid.
pub fn compile(
    engine: &Engine,
    tier: Tier,
    name: &str,
    path: &Path,
    bytes: &[u8],
    limits: &Limits,
    compiler: Option<Compiler<'_>>,
) -> Result<Artifact, SandboxError> {
    let failure = Failure { name, path, limits };
    match compiler {
        Some(child) => in_child(child, tier, bytes, limits, &failure),
        None => on_thread(engine, bytes, limits, &failure).map(Artifact::Bytes),
    }
}

/// Compiles `bytes` without the core exports nothing can reach
/// (`prune.rs`). Should the pruned component be refused, the component as
/// given is compiled instead, so that the error names its offsets, not
/// those of a copy the author never saw (not after running out of memory,
/// which would only happen twice).
pub(super) fn precompile(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Vec<u8>> {
    let Some(pruned) = prune::prune(bytes) else {
        return engine.precompile_component(bytes);
    };
    match engine.precompile_component(&pruned) {
        Err(e) if !is_out_of_memory(&format!("{e:#}")) => engine.precompile_component(bytes),
        outcome => outcome,
    }
}

/// What a compile failure is reported with.
struct Failure<'a> {
    name: &'a str,
    path: &'a Path,
    limits: &'a Limits,
}

impl Failure<'_> {
    fn timeout(&self) -> SandboxError {
        SandboxError::CompileTimeout {
            component: self.name.to_string(),
            limit: Time(self.limits.compile_timeout),
        }
    }

    fn memory(&self) -> SandboxError {
        SandboxError::CompileMemory {
            component: self.name.to_string(),
            limit: Size(self.limits.compile_memory_bytes),
        }
    }

    fn invalid(&self, reason: String) -> SandboxError {
        SandboxError::Load {
            component: self.name.to_string(),
            path: self.path.to_path_buf(),
            reason,
        }
    }
}

fn on_thread(
    engine: &Engine,
    bytes: &[u8],
    limits: &Limits,
    failure: &Failure<'_>,
) -> Result<Vec<u8>, SandboxError> {
    let (send, receive) = mpsc::channel();
    let engine = engine.clone();
    let bytes = bytes.to_vec();
    thread::Builder::new()
        .name("wasmchart-compile".into())
        .spawn(move || {
            let _ = send.send(precompile(&engine, &bytes));
        })
        .map_err(|e| failure.invalid(format!("cannot start a compile thread: {e}")))?;
    match receive.recv_timeout(limits.compile_timeout) {
        Ok(Ok(artifact)) => Ok(artifact),
        Ok(Err(e)) => Err(failure.invalid(format!("{e:#}"))),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(failure.timeout()),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(failure.invalid("the compile thread stopped without a result".into()))
        }
    }
}

/// The compiler child's command: its limits, tier and threads on the
/// command line, nothing inherited from the environment.
fn child_command(child: Compiler<'_>, tier: Tier, limits: &Limits) -> Command {
    let cores = wasmchart_values::parallel::cores() as u64;
    let cpu_seconds = limits.compile_timeout.as_secs().saturating_add(1) * cores;
    let mut command = Command::new(child.exe);
    command
        .arg(CHILD_ARG)
        .arg(limits.compile_memory_bytes.to_string())
        .arg(cpu_seconds.to_string())
        .arg(tier.name())
        .arg(child.threads.to_string())
        .env_clear();
    command
}

fn in_child(
    compiler: Compiler<'_>,
    tier: Tier,
    bytes: &[u8],
    limits: &Limits,
    failure: &Failure<'_>,
) -> Result<Artifact, SandboxError> {
    let exe = compiler.exe;
    let cannot_start = |e: std::io::Error| {
        failure.invalid(format!(
            "cannot start the compiler '{}': {e}",
            exe.display()
        ))
    };
    let output = artifact::anonymous_file().map_err(cannot_start)?;
    let mut child = child_command(compiler, tier, limits)
        .stdin(Stdio::piped())
        .stdout(output.try_clone().map_err(cannot_start)?)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(cannot_start)?;
    let (outcome, stderr) = thread::scope(|scope| {
        // A write error means the child died; its status tells why.
        let feed = child
            .stdin
            .take()
            .map(|mut pipe| scope.spawn(move || drop(pipe.write_all(bytes))));
        let stderr = child
            .stderr
            .take()
            .map(|pipe| drain(pipe, MAX_CHILD_STDERR));
        let outcome = wait_until(&mut child, Instant::now() + limits.compile_timeout);
        if let Some(feed) = feed {
            let _ = feed.join();
        }
        let stderr = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
        (outcome, String::from_utf8_lossy(&stderr).into_owned())
    });
    match outcome {
        None => Err(failure.timeout()),
        Some(status) if status.success() => artifact::from_child(output)
            .map_err(|e| failure.invalid(format!("cannot take the compiled artifact: {e}"))),
        Some(status) => Err(classify(status, &stderr, failure)),
    }
}

/// Reads up to `max` bytes of `pipe` on a thread, and discards the rest so
/// that the child never blocks on a full pipe.
fn drain(pipe: impl Read + Send + 'static, max: u64) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut out = Vec::new();
        let mut pipe = pipe;
        let _ = pipe.by_ref().take(max).read_to_end(&mut out);
        let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        out
    })
}

/// Waits for the child until `deadline`; kills it then and returns `None`.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// Why a compiler child failed, from its exit status and stderr.
fn classify(status: ExitStatus, stderr: &str, failure: &Failure<'_>) -> SandboxError {
    const SIGXCPU: i32 = 24;
    if signal(status) == Some(SIGXCPU) {
        return failure.timeout();
    }
    // Killed by a signal: an allocation failure aborts (SIGABRT), and a
    // stack that cannot grow faults.
    let out_of_memory = status.code() == Some(i32::from(EXIT_MEMORY))
        || is_out_of_memory(stderr)
        || signal(status).is_some();
    if out_of_memory {
        return failure.memory();
    }
    let reason = stderr.trim();
    if status.code() == Some(i32::from(EXIT_INVALID)) && !reason.is_empty() {
        return failure.invalid(super::state::truncate(reason, 4096));
    }
    failure.invalid(format!(
        "the compiler process failed ({status}): {}",
        super::state::truncate(reason, 1024)
    ))
}

fn signal(status: ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        status.signal()
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        None
    }
}

fn is_out_of_memory(text: &str) -> bool {
    [
        "memory allocation of",
        "out of memory",
        "Cannot allocate memory",
        "os error 12",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// What a background compile reads the component from (see [`spawn_upgrade`]).
pub enum Input<'a> {
    /// The component's file, read whole by offset (it may have changed
    /// since it was loaded: the child checks the digest).
    File(&'a std::fs::File),
    /// The component's bytes.
    Bytes(&'a [u8]),
}

/// Where a background compile stores its artifact (see [`spawn_upgrade`]).
pub struct Upgrade<'a> {
    /// SHA-256 of the component, lower-case hex: the child checks the bytes
    /// it reads against it before compiling.
    pub digest: String,
    /// The cache root (`WASMCHART_CACHE_DIR`) and config directory (key).
    pub cache_dir: &'a Path,
    /// The directory holding the cache key.
    pub config_dir: &'a Path,
}

/// Starts a detached, nice'd compiler child that compiles `input` with
/// `tier` under `limits`' compile memory and CPU bounds and writes the
/// cache entry itself (MAC'd with the user's key, temporary file and
/// rename, under a per-entry lock so that two never compile one component
/// at once). The caller does not wait: the child outlives a short command,
/// and a thread reaps it in a long one. Best effort: the next render
/// compiles again if it fails.
///
/// # Errors
///
/// The child's input could not be written, or the child could not start.
pub fn spawn_upgrade(
    exe: &Path,
    tier: Tier,
    input: Input<'_>,
    limits: &Limits,
    upgrade: &Upgrade<'_>,
) -> std::io::Result<()> {
    // The child reads a file, never a pipe: a pipe would hold this thread
    // until the child (nice'd, beside the earlier ones compiling) had read
    // it all, about 0.2 s for the example's five components.
    let input = match input {
        Input::File(file) => file.try_clone()?,
        Input::Bytes(bytes) => {
            let mut copy = artifact::anonymous_file()?;
            copy.write_all(bytes)?;
            copy.rewind()?;
            copy
        }
    };
    let mut command = child_command(Compiler { exe, threads: 0 }, tier, limits);
    command
        .arg("--store")
        .arg(&upgrade.digest)
        .arg(upgrade.cache_dir)
        .arg(upgrade.config_dir)
        .stdin(input)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        // Out of the terminal's process group: Ctrl-C on the render does not
        // kill a compile whose result is valid anyway.
        command.process_group(0);
    }
    let mut child = command.spawn()?;
    thread::Builder::new()
        .name("wasmchart-upgrade".into())
        .spawn(move || drop(child.wait()))?;
    Ok(())
}

/// `main` of `wasmchart __compile-component MEMORY_BYTES CPU_SECONDS
/// [TIER [THREADS]] [--store DIGEST CACHE_DIR CONFIG_DIR]`: caps its own
/// memory and CPU time, reads a component on stdin, writes the artifact on
/// stdout (or, with `--store`, into the cache; see [`spawn_upgrade`]).
/// THREADS 0 (the default) compiles on one thread per core. Exit status 0,
/// [`EXIT_INVALID`] with the reason on stderr, or [`EXIT_MEMORY`].
pub fn child_main(args: &[String]) -> ExitCode {
    let tier = match args.get(2) {
        None => Some(Tier::Optimized),
        Some(name) => Tier::parse(name),
    };
    let (threads, rest) = match args.get(3) {
        Some(n) if n != "--store" => (n.parse::<usize>().ok(), 4),
        _ => (Some(0), 3),
    };
    let (Some(memory), Some(cpu), Some(tier), Some(threads)) = (
        args.first().and_then(|a| a.parse::<u64>().ok()),
        args.get(1).and_then(|a| a.parse::<u64>().ok()),
        tier,
        threads,
    ) else {
        eprintln!(
            "usage: wasmchart {CHILD_ARG} MEMORY_BYTES CPU_SECONDS [optimized|fast [THREADS]] \
             [--store DIGEST CACHE_DIR CONFIG_DIR] < component.wasm"
        );
        return ExitCode::from(2);
    };
    let store = match &args[rest.min(args.len())..] {
        [] => None,
        [flag, digest, cache, config] if flag == "--store" => Some((digest, cache, config)),
        _ => {
            eprintln!("unexpected arguments after the tier: {:?}", &args[rest..]);
            return ExitCode::from(2);
        }
    };
    if let Err(e) = rlimits::apply(memory, cpu) {
        eprintln!("cannot set the compile limits: {e}");
        return ExitCode::from(2);
    }
    if threads > 0 {
        // wasmtime compiles functions on rayon's global pool.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
    if store.is_some() {
        rlimits::lower_priority();
    }
    let bytes = match read_component() {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("cannot read the component: {e}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let compile = || {
        engine::build_compiler(tier)
            .map_err(|e| e.to_string())
            .and_then(|engine| precompile(&engine, &bytes).map_err(|e| format!("{e:#}")))
    };
    let outcome = match store {
        Some((digest, cache, config)) => {
            store_entry(tier, &bytes, digest, cache, config, compile).map(|()| Vec::new())
        }
        None => compile(),
    };
    match outcome {
        Ok(artifact) => match std::io::stdout().lock().write_all(&artifact) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cannot write the artifact: {e}");
                ExitCode::from(EXIT_INVALID)
            }
        },
        Err(reason) if is_out_of_memory(&reason) => ExitCode::from(EXIT_MEMORY),
        Err(reason) => {
            eprintln!("{reason}");
            ExitCode::from(EXIT_INVALID)
        }
    }
}

/// The component on stdin. A regular file (a background compile's) is read
/// from its start by offset, never through the file offset it shares with
/// the parent's descriptor (and with any other child given the same file);
/// anything else (a pipe) to its end.
fn read_component() -> std::io::Result<Vec<u8>> {
    let stdin = std::io::stdin();
    #[cfg(unix)]
    {
        use std::os::fd::AsFd as _;
        let file = std::fs::File::from(stdin.as_fd().try_clone_to_owned()?);
        let meta = file.metadata()?;
        if meta.is_file() {
            return super::source::read_whole(&file, meta.len());
        }
    }
    let mut bytes = Vec::new();
    stdin.lock().read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The `--store` half of [`child_main`]: checks the bytes are the
/// component named, then compiles and writes its entry unless another
/// process holds the entry's lock or the entry exists.
fn store_entry(
    tier: Tier,
    bytes: &[u8],
    digest: &str,
    cache_dir: &str,
    config_dir: &str,
    compile: impl FnOnce() -> Result<Vec<u8>, String>,
) -> Result<(), String> {
    use sha2::{Digest as _, Sha256};
    let actual: [u8; 32] = Sha256::digest(bytes).into();
    if super::cache::hex(&actual) != digest {
        return Err(format!(
            "the component read does not have SHA-256 {digest}; not stored"
        ));
    }
    let engine = engine::build_compiler(tier).map_err(|e| e.to_string())?;
    let cache = super::cache::Cache::open(
        &engine,
        tier,
        Some(PathBuf::from(cache_dir)),
        Some(PathBuf::from(config_dir)),
    )
    .map_err(|e| e.to_string())?;
    cache.fill(&actual, compile)
}

#[cfg(not(unix))]
mod rlimits {
    /// No portable way to cap a process here: only the deadline applies.
    pub fn apply(_memory: u64, _cpu: u64) -> std::io::Result<()> {
        Ok(())
    }

    /// No portable priority call here.
    pub fn lower_priority() {}
}

#[cfg(unix)]
mod rlimits {
    use rustix::process::{Resource, Rlimit, setrlimit};

    /// Caps this process: data segment at `memory` bytes, CPU time at
    /// `cpu` seconds (SIGXCPU, then SIGKILL a second later), no core dumps.
    pub fn apply(memory: u64, cpu: u64) -> std::io::Result<()> {
        let cap = |limit: u64, hard: u64| Rlimit {
            current: Some(limit),
            maximum: Some(hard),
        };
        setrlimit(Resource::Core, cap(0, 0))?;
        setrlimit(Resource::Cpu, cap(cpu, cpu.saturating_add(1)))?;
        setrlimit(Resource::Data, cap(memory, memory))?;
        Ok(())
    }

    /// Lets renders (and everything else) run first: a background compile
    /// only prepares the next render. Best effort.
    pub fn lower_priority() {
        let _ = rustix::process::nice(10);
    }
}
