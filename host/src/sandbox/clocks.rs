//! Deterministic clocks, and sleeps that never block the host.
//!
//! - The wall clock is frozen at 2000-01-01T00:00:00Z.
//! - The monotonic clock advances 1 µs per reading, and by exactly the
//!   requested amount on a sleep.
//! - Sleeps (`monotonic-clock.subscribe-duration` / `subscribe-instant`)
//!   return at once. wasmtime-wasi would sleep on the host's real clock,
//!   and epoch interruption cannot stop a component blocked inside a host
//!   call: `sleep(1h)` would hold a render for an hour past its deadline.
//!   Instant sleeps make that impossible and keep timing deterministic; a
//!   component that sleeps in a loop is still stopped by the deadline,
//!   which fires as soon as it is back in its own code.

use super::state::HostState;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::{DynPollable, Pollable, subscribe};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock};

/// The frozen wall clock: 2000-01-01T00:00:00Z, a date no real render happens on.
pub const FROZEN_WALL_CLOCK: Duration = Duration::from_secs(946_684_800);
/// How much the monotonic clock advances per reading.
const STEP_NANOS: u64 = 1_000;
/// The interface whose sleeps are replaced (the version wasmtime-wasi 48 links).
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// The wall clock, frozen.
pub struct FrozenClock;

impl HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        FROZEN_WALL_CLOCK
    }
}

/// A monotonic clock that only moves when read or slept on. Clones share
/// the same time.
#[derive(Clone, Default)]
pub struct StepClock {
    nanos: Arc<AtomicU64>,
}

impl StepClock {
    /// Moves the clock forward by `nanos` (a sleep).
    fn advance(&self, nanos: u64) {
        // fetch_update cannot fail with a closure that always returns Some.
        let _ = self
            .nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(nanos))
            });
    }

    /// Moves the clock forward to at least `instant` (a sleep until).
    fn advance_to(&self, instant: u64) {
        self.nanos.fetch_max(instant, Ordering::Relaxed);
    }
}

impl HostMonotonicClock for StepClock {
    fn resolution(&self) -> u64 {
        STEP_NANOS
    }

    fn now(&self) -> u64 {
        self.advance(STEP_NANOS);
        self.nanos.load(Ordering::Relaxed)
    }
}

/// A pollable that is always ready: what a sleep returns.
struct Ready;

#[wasmtime_wasi::async_trait]
impl Pollable for Ready {
    async fn ready(&mut self) {}
}

fn ready(
    mut store: StoreContextMut<'_, HostState>,
    advance: impl FnOnce(&StepClock),
) -> wasmtime::Result<(Resource<DynPollable>,)> {
    let state = store.data_mut();
    advance(&state.clock);
    let pollable = state.table.push(Ready)?;
    Ok((subscribe(&mut state.table, pollable)?,))
}

/// Replaces the two sleep functions of the monotonic clock in `linker`,
/// which must already hold wasmtime-wasi's definitions.
///
/// # Errors
///
/// When the interface is missing or has other signatures (a wasmtime-wasi
/// upgrade changed them).
pub fn add_instant_sleeps(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap("subscribe-duration", |store, (nanos,): (u64,)| {
        ready(store, |c| c.advance(nanos))
    })?;
    clock.func_wrap("subscribe-instant", |store, (instant,): (u64,)| {
        ready(store, |c| c.advance_to(instant))
    })?;
    linker.allow_shadowing(false);
    Ok(())
}
