//! Work split across the cores, with results in input order.
//!
//! A render fans out at several points (sealing a secret's values, preparing
//! subchart jobs, running components, formatting the output), and every one
//! needs the same three things: the output must not depend on the thread
//! count, a chart must not decide how many threads start, and a thread the
//! system refuses (`RLIMIT_NPROC`, memory) must not be a panic. This module
//! lives in the lowest crate of the workspace so every stage shares it.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The number of cores this process may use, worked out once.
///
/// `std::thread::available_parallelism` opens and reads three cgroup files
/// on every call on Linux, and a render asks at each fan-out.
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `f` applied to every item, the results in item order.
///
/// The items are cut into chunks of `chunk` (at least one); up to [`cores`]
/// threads, the calling one among them, take chunks in turn until none is
/// left, so unequal items still keep every core busy. With one chunk or one
/// core no thread starts. A helper thread that cannot be started is simply
/// missing: the threads that did start, the caller at least, take its share.
/// A panic in `f` is resumed on the calling thread.
pub fn map_in_order<T, R, F>(items: &[T], chunk: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let chunks: Vec<&[T]> = items.chunks(chunk.max(1)).collect();
    let threads = cores().min(chunks.len());
    if threads < 2 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let take_chunks = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(chunk) = chunks.get(i) else {
                return done;
            };
            done.push((i, chunk.iter().map(&f).collect::<Vec<R>>()));
        }
    };
    let mut parts = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .spawn_scoped(scope, take_chunks)
                    .ok()
            })
            .collect();
        let mut parts = take_chunks();
        for helper in helpers {
            parts.extend(
                helper
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        parts
    });
    parts.sort_unstable_by_key(|(i, _)| *i);
    parts.into_iter().flat_map(|(_, part)| part).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_item_order_whatever_the_chunk_size() {
        let items: Vec<u64> = (0..1000).collect();
        for chunk in [0, 1, 3, 16, 999, 1000, 5000] {
            let out = map_in_order(&items, chunk, |&n| {
                // Uneven work, so threads finish chunks out of order.
                if n % 7 == 0 {
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
                n * 2
            });
            assert_eq!(
                out,
                items.iter().map(|n| n * 2).collect::<Vec<_>>(),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn no_items_give_no_results() {
        let out: Vec<u8> = map_in_order(&[] as &[u8], 4, |&b| b);
        assert!(out.is_empty());
    }

    #[test]
    fn a_panic_in_a_worker_reaches_the_caller() {
        let items: Vec<u32> = (0..64).collect();
        let caught = std::panic::catch_unwind(|| {
            map_in_order(&items, 1, |&n| {
                assert!(n != 63, "item 63 fails");
                n
            })
        });
        assert!(caught.is_err());
    }
}
