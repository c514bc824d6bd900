//! The per-render store state: a deny-by-default WASI context, resource
//! limits, captured output and the `log` import.
//!
//! What a component gets (everything else is denied):
//! - no environment variables, no arguments, no stdin (closed);
//! - no network: TCP, UDP and name lookups are off, and every socket address
//!   is refused;
//! - no files, except the subchart's own `files/` directory, read-only at
//!   `/files`, when it exists (cap-std confines paths to it, `..` and
//!   symlinks included), with at most `files` descriptors open at once and
//!   frozen timestamps (see `files.rs`);
//! - stdout and stderr captured into bounded buffers and returned as log
//!   lines, never inherited;
//! - a wall clock frozen at 2000-01-01T00:00:00Z, a monotonic clock that
//!   advances 1 µs per reading, and sleeps that return at once (see
//!   `clocks.rs`), so timings are the same every run and nothing blocks;
//! - random bytes from a generator seeded with a hash of the component and
//!   its request, so two identical renders see the same "random" data.

use super::bindings::wasmchart::chart::log::{self, Level};
use super::bindings::wasmchart::chart::types;
use super::capture::{CapturePipe, LogBudget};
use super::clocks::{FrozenClock, StepClock};
use super::error::SandboxError;
use super::files::{self, FileGuard};
use super::limits::Limits;
use super::request::{LogLevel, LogLine};
use sha2::{Digest, Sha256};
use std::path::Path;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Where the subchart's `files/` directory appears inside the component.
pub const FILES_MOUNT: &str = "/files";
/// Longest log line kept; longer ones are cut.
const MAX_LINE_BYTES: usize = 8 * 1024;
/// Largest single request for random bytes; bigger ones trap.
const MAX_RANDOM_REQUEST: u64 = 1 << 20;
/// Bytes of deterministic random data; the generator cycles through them.
const RANDOM_POOL_BYTES: usize = 4096;

/// The data of one render's `Store`.
pub struct HostState {
    wasi: WasiCtx,
    pub(super) table: ResourceTable,
    pub(super) clock: StepClock,
    pub(super) limiter: Limiter,
    pub(super) logs: LogSink,
    pub(super) files: FileGuard,
    stdout: CapturePipe,
    stderr: CapturePipe,
}

impl HostState {
    /// A fresh state for one render. `seed` makes randomness reproducible.
    ///
    /// # Errors
    ///
    /// [`SandboxError::Load`]-style failure when `files_dir` exists but
    /// cannot be opened.
    pub fn new(
        component: &str,
        limits: &Limits,
        seed: [u8; 32],
        files_dir: Option<&Path>,
    ) -> Result<Self, SandboxError> {
        // One byte budget for log calls, stdout and stderr together.
        let budget = LogBudget::new(limits.log_bytes);
        let stdout = CapturePipe::new(budget.clone());
        let stderr = CapturePipe::new(budget.clone());
        let clock = StepClock::default();
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .wall_clock(FrozenClock)
            .monotonic_clock(clock.clone())
            .secure_random(Pool::new(seed, b"secure"))
            .insecure_random(Pool::new(seed, b"insecure"))
            // A guest must not make the host allocate much for it at once.
            .max_random_size(MAX_RANDOM_REQUEST)
            .insecure_random_seed(u128::from_le_bytes(
                pool_block(&seed, b"seed", 0)[..16]
                    .try_into()
                    .unwrap_or([0; 16]),
            ));
        if let Some(dir) = files_dir.filter(|d| d.is_dir()) {
            builder
                .preopened_dir(dir, FILES_MOUNT, FsPerms::ReadOnly)
                .map_err(|e| SandboxError::Load {
                    component: component.to_string(),
                    path: dir.to_path_buf(),
                    reason: format!("cannot open the files directory: {e}"),
                })?;
        }
        let mut table = ResourceTable::new();
        files::cap_table(&mut table);
        Ok(HostState {
            wasi: builder.build(),
            table,
            clock,
            limiter: Limiter::new(limits),
            logs: LogSink::new(limits, budget),
            files: FileGuard::new(limits.files),
            stdout,
            stderr,
        })
    }

    /// The log lines: log calls, then stdout and stderr lines, bounded, with
    /// a final notice when some were dropped.
    pub fn take_logs(&mut self) -> Vec<LogLine> {
        let (out, out_dropped) = self.stdout.take();
        let (err, err_dropped) = self.stderr.take();
        self.logs.dropped_bytes += out_dropped + err_dropped;
        // The pipes paid for these bytes as they were written; give the
        // bytes back so that the lines made of them are charged once.
        self.logs.budget.refund((out.len() + err.len()) as u64);
        for line in String::from_utf8_lossy(&out).lines() {
            self.logs.push(LogLevel::Info, line);
        }
        for line in String::from_utf8_lossy(&err).lines() {
            self.logs.push(LogLevel::Warn, line);
        }
        self.logs.finish()
    }

    /// The end of stderr that explains a crash: a Rust panic's "panicked
    /// at" line and its message when present, else the last line.
    pub fn crash_report(&self) -> Option<String> {
        let err = self.stderr.peek();
        let text = String::from_utf8_lossy(&err);
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("note: run with `RUST_BACKTRACE"))
            .collect();
        let start = match lines.iter().rposition(|l| l.contains("panicked at")) {
            Some(i) => i,
            None => lines.len().checked_sub(1)?,
        };
        let end = lines.len().min(start + 3);
        let report = lines[start..end].join(" ");
        Some(truncate(&crate::text::escape(&report), 1024))
    }
}

impl HostState {
    /// The last line the component wrote, from stderr, else stdout, else
    /// its `log` calls: for a crashed JavaScript or Python component, whose
    /// runtime prints no panic message.
    pub fn last_output(&self) -> Option<String> {
        let last_line = |bytes: Vec<u8>| {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            text.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::to_string)
        };
        let line = last_line(self.stderr.peek())
            .or_else(|| last_line(self.stdout.peek()))
            .or_else(|| self.logs.lines.last().map(|l| l.message.clone()))?;
        Some(truncate(&crate::text::escape(&line), 1024))
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

impl log::Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        self.logs.push(level, &message);
    }
}

/// Block `counter` of the pool `label`: SHA-256 in counter mode over the
/// seed.
fn pool_block(seed: &[u8; 32], label: &[u8], counter: u64) -> [u8; 32] {
    Sha256::new()
        .chain_update(seed)
        .chain_update(label)
        .chain_update(counter.to_le_bytes())
        .finalize()
        .into()
}

/// A guest's deterministic random bytes: the [`RANDOM_POOL_BYTES`] of the
/// pool `label` (blocks of [`pool_block`]), over and over, each block made
/// when first read. A render that asks for none (most) hashes nothing: with
/// the pools made up front, 500 renders spent a tenth of their CPU on them.
struct Pool {
    seed: [u8; 32],
    label: &'static [u8],
    /// Where the next byte comes from, in `0..RANDOM_POOL_BYTES`.
    at: usize,
    block: [u8; 32],
}

impl Pool {
    fn new(seed: [u8; 32], label: &'static [u8]) -> Self {
        Pool {
            seed,
            label,
            at: 0,
            block: pool_block(&seed, label, 0),
        }
    }

    fn next_byte(&mut self) -> u8 {
        let byte = self.block[self.at % 32];
        self.at = (self.at + 1) % RANDOM_POOL_BYTES;
        if self.at.is_multiple_of(32) {
            self.block = pool_block(&self.seed, self.label, (self.at / 32) as u64);
        }
        byte
    }
}

// The byte order of wasmtime-wasi's `Deterministic`, which the pools went
// through before: guests see the same numbers.
impl rand_core_wasi::TryRng for Pool {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let bytes = [(); 4].map(|()| self.next_byte());
        Ok(u32::from_be_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let high = self.try_next_u32()?;
        let low = self.try_next_u32()?;
        Ok((u64::from(high) << 32) + u64::from(low))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for byte in dst {
            *byte = self.next_byte();
        }
        Ok(())
    }
}

/// Store limits, remembering which one was hit so the error can name it.
pub struct Limiter {
    inner: StoreLimits,
    /// A linear memory wanted to grow past the memory limit.
    pub memory_hit: bool,
    /// A table wanted to grow past its limit.
    pub table_hit: bool,
}

impl Limiter {
    fn new(limits: &Limits) -> Self {
        let inner = StoreLimitsBuilder::new()
            .memory_size(usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX))
            .table_elements(usize::try_from(limits.table_elements).unwrap_or(usize::MAX))
            .instances(limits.instances as usize)
            .tables(limits.tables as usize)
            .memories(limits.memories as usize)
            // A failed grow traps with a host-side error we can name, instead
            // of the guest's allocator aborting with an opaque `unreachable`.
            .trap_on_grow_failure(true)
            .build();
        Limiter {
            inner,
            memory_hit: false,
            table_hit: false,
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let result = self.inner.memory_growing(current, desired, maximum);
        if !matches!(result, Ok(true)) {
            self.memory_hit = true;
        }
        result
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let result = self.inner.table_growing(current, desired, maximum);
        if !matches!(result, Ok(true)) {
            self.table_hit = true;
        }
        result
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// Collects log lines within the line and byte budgets. The byte budget is
/// shared with the stdout and stderr pipes, so all three together keep at
/// most `log_bytes` bytes, in memory as in the result.
pub struct LogSink {
    lines: Vec<LogLine>,
    budget: LogBudget,
    max_lines: usize,
    max_bytes: u64,
    dropped_lines: u64,
    dropped_bytes: u64,
}

impl LogSink {
    fn new(limits: &Limits, budget: LogBudget) -> Self {
        LogSink {
            lines: Vec::new(),
            budget,
            max_lines: limits.log_lines as usize,
            max_bytes: limits.log_bytes,
            dropped_lines: 0,
            dropped_bytes: 0,
        }
    }

    fn push(&mut self, level: LogLevel, message: &str) {
        // Escaped here, at the boundary (helper D): no control or bidi character leaves the sandbox.
        let message = truncate(&crate::text::escape(message), MAX_LINE_BYTES);
        let len = message.len() as u64;
        if self.lines.len() >= self.max_lines || !self.budget.take(len) {
            self.dropped_lines += 1;
            self.dropped_bytes += len;
            return;
        }
        self.lines.push(LogLine { level, message });
    }

    fn finish(&mut self) -> Vec<LogLine> {
        let mut lines = std::mem::take(&mut self.lines);
        if self.dropped_lines > 0 || self.dropped_bytes > 0 {
            lines.push(LogLine {
                level: LogLevel::Warn,
                message: format!(
                    "[wasmchart] output over the log limit of {} lines / {} was dropped ({} lines, {} bytes)",
                    self.max_lines,
                    super::limits::format_size(self.max_bytes),
                    self.dropped_lines,
                    self.dropped_bytes
                ),
            });
        }
        lines
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_sink_bounds_lines_and_bytes() {
        let limits = Limits {
            log_lines: 3,
            log_bytes: 10,
            ..Limits::default()
        };
        let mut sink = LogSink::new(&limits, LogBudget::new(limits.log_bytes));
        for message in ["aaaa", "bbbb", "cccc", "ddd", "ee"] {
            sink.push(LogLevel::Info, message);
        }
        let lines = sink.finish();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0].message, "aaaa");
        assert_eq!(lines[1].message, "bbbb");
        assert_eq!(lines[2].message, "ee", "fits the byte budget");
        assert_eq!(lines[3].level, LogLevel::Warn);
        let notice = &lines[3].message;
        assert!(notice.contains("(2 lines, 7 bytes)"), "{notice}");
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h…");
        assert_eq!(truncate("abc", 3), "abc");
    }

    /// The pool as it was made before, all at once.
    fn whole_pool(seed: [u8; 32], label: &[u8]) -> Vec<u8> {
        (0..(RANDOM_POOL_BYTES / 32) as u64)
            .flat_map(|counter| pool_block(&seed, label, counter))
            .collect()
    }

    #[test]
    fn pools_are_seeded_cycle_and_match_wasi_deterministic() {
        use rand_core_wasi::TryRng as _;
        let mut a = Pool::new([1; 32], b"x");
        let mut twice = vec![0; 2 * RANDOM_POOL_BYTES + 5];
        a.try_fill_bytes(&mut twice).unwrap();
        let whole = whole_pool([1; 32], b"x");
        assert_eq!(&twice[..RANDOM_POOL_BYTES], &whole[..]);
        assert_eq!(&twice[RANDOM_POOL_BYTES..2 * RANDOM_POOL_BYTES], &whole[..]);
        assert_eq!(&twice[2 * RANDOM_POOL_BYTES..], &whole[..5]);
        assert_ne!(whole, whole_pool([2; 32], b"x"));
        // The order wasmtime-wasi's `Deterministic` gave them in.
        let mut lazy = Pool::new([3; 32], b"y");
        let mut eager = wasmtime_wasi::Deterministic::new(whole_pool([3; 32], b"y"));
        for _ in 0..RANDOM_POOL_BYTES {
            assert_eq!(lazy.try_next_u32(), eager.try_next_u32());
            assert_eq!(lazy.try_next_u64(), eager.try_next_u64());
        }
    }
}
