//! The wasmtime engine: its configuration in one place, and the epoch
//! ticker that turns epochs into a wall-clock deadline.

use super::error::SandboxError;
use super::limits::{MAX_MEMORY_BYTES, ceiling};
use std::thread;
use std::time::Duration;
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
    Strategy,
};

/// How often the epoch advances. A deadline is a number of ticks, so a
/// render stops at most one tick (10 ms) after its time limit: precise
/// enough for limits in the hundreds of milliseconds, and one cheap atomic
/// increment per tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Most component instances alive at once in the pooling allocator: one
/// per render running in parallel, with room to spare.
const POOL_COMPONENT_INSTANCES: u32 = 128;

/// Memory a pool slot keeps mapped after its instance is dropped, reset
/// in place (only the pages the instance touched, where the kernel can
/// tell them: `PAGEMAP_SCAN`) instead of unmapped. Hundreds of aliases of
/// one component reuse a few slots; without this each render faulted its
/// pages in afresh and each drop cost an `madvise` and a TLB shootdown.
const KEEP_RESIDENT_BYTES: usize = 2 << 20;

/// Which compiler an engine uses. A component compiled by one tier only
/// loads into an engine of that tier (and its cache entries are apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Cranelift at `OptLevel::Speed`: what every warm render runs.
    Optimized,
    /// Winch, a single-pass compiler: about 5× less CPU to compile (4 s
    /// against 21 s for the JavaScript example) for code 1.3–2.3× slower,
    /// so that a cache miss renders in seconds while the optimised entry
    /// is compiled in the background. It supports epoch interruption
    /// (checks at function entry and loop headers), so deadlines hold.
    /// Its entry trampolines (Cranelift, one per function a table holds)
    /// are not optimised, and it keeps no address map (only backtraces
    /// use one, and messages leave them out): entries 9% smaller.
    Fast,
}

impl Tier {
    /// The name on the compiler child's command line and in entry keys.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Optimized => "optimized",
            Tier::Fast => "fast",
        }
    }

    /// The tier named `name` (see [`Tier::name`]).
    pub fn parse(name: &str) -> Option<Tier> {
        [Tier::Optimized, Tier::Fast]
            .into_iter()
            .find(|t| t.name() == name)
    }
}

/// Builds the engine: Cranelift, component model, epoch interruption, and
/// the pooling allocator when the machine lets it reserve its address space
/// (about 1 TiB of virtual memory, never committed); otherwise the on-demand
/// allocator, which is almost as fast here thanks to copy-on-write memory
/// images.
///
/// # Errors
///
/// [`SandboxError::Engine`] when neither configuration can be created.
pub fn build() -> Result<Engine, SandboxError> {
    match Engine::new(&config(true, Tier::Optimized)) {
        Ok(engine) => Ok(engine),
        Err(_) => build_compiler(Tier::Optimized),
    }
}

/// The fast tier's engine, for components not compiled by Cranelift yet:
/// the same settings with Winch, and the on-demand allocator (a second
/// pool would reserve another terabyte of address space for renders that
/// happen only on a cache miss).
///
/// # Errors
///
/// [`SandboxError::Engine`] when wasmtime cannot start.
pub fn build_fast() -> Result<Engine, SandboxError> {
    build_compiler(Tier::Fast)
}

fn config(pooling: bool, tier: Tier) -> Config {
    let mut config = Config::new();
    match tier {
        Tier::Optimized => config
            .strategy(Strategy::Cranelift)
            .cranelift_opt_level(OptLevel::Speed),
        Tier::Fast => config
            .strategy(Strategy::Winch)
            .cranelift_opt_level(OptLevel::None)
            .generate_address_map(false),
    };
    config
        .wasm_component_model(true)
        // Each store gets a deadline in ticks; the ticker thread advances the epoch.
        .epoch_interruption(true)
        // Code is made executable by our hook, so that a cache entry can run
        // in place from a read-only file mapping (see `code_memory`).
        .with_custom_code_memory(code_memory::hook());
    if pooling {
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool()));
    }
    config
}

/// Page protection for code, done by the host instead of wasmtime.
///
/// wasmtime makes code executable itself only in memory it allocated; for
/// memory the caller owns (`Component::deserialize_raw`, used to run a cache
/// entry from a read-only mapping without copying it) it needs this hook.
/// It does what wasmtime does: the text section, page-aligned, goes from
/// read-only to read+execute, never writable and executable at once.
mod code_memory {
    use std::sync::Arc;
    use wasmtime::CustomCodeMemory;

    /// The hook, on x86-64 Unix, where code needs no cache maintenance
    /// after it is written. Elsewhere wasmtime protects its own memory, and
    /// cache entries load from a copy (`deserialize_raw` is refused there
    /// and the cache falls back to `deserialize`).
    pub fn hook() -> Option<Arc<dyn CustomCodeMemory>> {
        if cfg!(all(unix, target_arch = "x86_64")) {
            Some(Arc::new(Protect))
        } else {
            None
        }
    }

    struct Protect;

    impl CustomCodeMemory for Protect {
        fn required_alignment(&self) -> usize {
            page_size()
        }

        fn publish_executable(&self, ptr: *const u8, len: usize) -> wasmtime::Result<()> {
            protect(ptr, len, true)
        }

        fn unpublish_executable(&self, ptr: *const u8, len: usize) -> wasmtime::Result<()> {
            protect(ptr, len, false)
        }
    }

    #[cfg(unix)]
    fn page_size() -> usize {
        rustix::param::page_size()
    }

    #[cfg(not(unix))]
    fn page_size() -> usize {
        4096
    }

    /// Read+execute, or back to read+write (wasmtime unpublishes only once
    /// no code runs from the region, before freeing it).
    #[cfg(unix)]
    fn protect(ptr: *const u8, len: usize, executable: bool) -> wasmtime::Result<()> {
        use rustix::mm::{MprotectFlags, mprotect};
        let flags = if executable {
            MprotectFlags::READ | MprotectFlags::EXEC
        } else {
            MprotectFlags::READ | MprotectFlags::WRITE
        };
        // SAFETY: wasmtime passes the page-aligned text section of code
        // memory it holds (its own allocation, or an entry mapping that
        // outlives every component made from it, see `cache/map.rs`); on
        // publish no one writes it any more, on unpublish no code runs in it.
        #[allow(unsafe_code)]
        let result = unsafe { mprotect(ptr.cast_mut().cast(), len, flags) };
        result.map_err(|e| wasmtime::Error::msg(format!("cannot change code page protection: {e}")))
    }

    #[cfg(not(unix))]
    fn protect(_: *const u8, _: usize, _: bool) -> wasmtime::Result<()> {
        Err(wasmtime::Error::msg("no custom code memory off Unix"))
    }
}

/// An engine that only compiles: the same code-generation settings as
/// [`build`]'s (or [`build_fast`]'s) for `tier`, so its artifacts load
/// there, but no pooling allocator (whose address-space reservation would
/// not fit under a compile memory limit) and no epoch ticker.
///
/// # Errors
///
/// [`SandboxError::Engine`] when wasmtime cannot start.
pub fn build_compiler(tier: Tier) -> Result<Engine, SandboxError> {
    Engine::new(&config(false, tier)).map_err(|e| SandboxError::Engine {
        reason: format!("{e:#}"),
    })
}

/// A limit's ceiling as a pool size.
fn pool_max(key: &str) -> u32 {
    u32::try_from(ceiling(key)).unwrap_or(u32::MAX)
}

/// Pool sizes. The per-component maxima are the hard ceilings of the
/// matching limits, so the pool never refuses a component that its limits
/// allow, and every limit up to its ceiling is enforced by `StoreLimits`
/// (with a message naming the limit), never by the pool. The totals are
/// shared by every render in the process; running out of them is a
/// concurrency error, not the component's fault.
fn pool() -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(POOL_COMPONENT_INSTANCES)
        // componentize-py makes about 20 core instances per component; the
        // total also admits several components at the ceiling at once.
        .total_core_instances(POOL_COMPONENT_INSTANCES * 32)
        .total_memories(POOL_COMPONENT_INSTANCES * 2)
        .total_tables(POOL_COMPONENT_INSTANCES * 32)
        // Stacks are for async fibers only, and renders are synchronous:
        // a pool of them cost a 256 MiB mapping and 128 `mprotect` calls
        // (5 ms of CPU, 11% of a warm render of the example).
        .total_stacks(0)
        .max_memories_per_component(pool_max("memories"))
        .max_tables_per_component(pool_max("tables"))
        .max_core_instances_per_component(pool_max("instances"))
        .max_memories_per_module(pool_max("memories"))
        .max_tables_per_module(pool_max("tables"))
        .table_elements(usize::try_from(ceiling("tableElements")).unwrap_or(usize::MAX))
        .max_memory_size(usize::try_from(MAX_MEMORY_BYTES).unwrap_or(usize::MAX))
        .max_component_instance_size(16 << 20)
        .max_core_instance_size(1 << 20)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES)
        .pagemap_scan(Enabled::Auto);
    pool
}

/// Starts the thread that advances the engine's epoch every [`EPOCH_TICK`].
///
/// It holds only a weak reference, so it stops by itself once the last
/// clone of the engine is dropped: "epochs on" always means "ticker running",
/// and no runtime leaks a thread.
///
/// # Errors
///
/// [`SandboxError::Engine`] when the thread cannot be spawned: without it
/// no deadline would ever fire.
pub fn spawn_ticker(engine: &Engine) -> Result<(), SandboxError> {
    let weak = engine.weak();
    thread::Builder::new()
        .name("wasmchart-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                thread::sleep(EPOCH_TICK);
            }
        })
        .map(drop)
        .map_err(|e| SandboxError::Engine {
            reason: format!("cannot start the epoch ticker thread: {e}"),
        })
}

/// Epoch ticks for a deadline of `timeout`: rounded up, plus one for the
/// tick already under way (a rough deadline, as in Spin).
pub fn ticks_for(timeout: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos();
    let ticks = timeout.as_nanos().div_ceil(tick);
    u64::try_from(ticks).unwrap_or(u64::MAX).saturating_add(1)
}
