//! Bounded capture of a component's stdout and stderr.
//!
//! Unlike wasmtime's `MemoryOutputPipe`, which makes writes past its
//! capacity fail (so a chatty Rust guest would panic in `println!`), this
//! pipe accepts every write and silently keeps only what its [`LogBudget`]
//! still allows, remembering how much it dropped. Both pipes and the `log`
//! import share one budget, so the three together never keep more than the
//! `logBytes` limit.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

#[derive(Debug, Default)]
struct Buffer {
    kept: Vec<u8>,
    dropped: u64,
}

/// Bytes of log a render may still keep; clones share the count.
#[derive(Debug, Clone)]
pub struct LogBudget {
    left: Arc<AtomicU64>,
}

impl LogBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: u64) -> Self {
        LogBudget {
            left: Arc::new(AtomicU64::new(bytes)),
        }
    }

    /// Takes up to `want` bytes; returns how many were granted.
    pub fn take_up_to(&self, want: u64) -> u64 {
        let before = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                Some(left - left.min(want))
            })
            .unwrap_or_else(|left| left);
        before.min(want)
    }

    /// Takes exactly `want` bytes, or nothing when fewer are left.
    pub fn take(&self, want: u64) -> bool {
        self.left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(want)
            })
            .is_ok()
    }

    /// Gives back `bytes` taken earlier.
    pub fn refund(&self, bytes: u64) {
        self.left.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// A cloneable handle to one captured stream.
#[derive(Debug, Clone)]
pub struct CapturePipe {
    budget: LogBudget,
    buffer: Arc<Mutex<Buffer>>,
}

impl CapturePipe {
    /// A pipe keeping what `budget` allows.
    pub fn new(budget: LogBudget) -> Self {
        CapturePipe {
            budget,
            buffer: Arc::default(),
        }
    }

    fn push(&self, bytes: &[u8]) {
        // A poisoned lock only means another writer panicked mid-push; the
        // bytes are still plain data.
        let mut buffer = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        let granted = self.budget.take_up_to(bytes.len() as u64);
        let take = usize::try_from(granted).unwrap_or(0).min(bytes.len());
        buffer.kept.extend_from_slice(&bytes[..take]);
        buffer.dropped += (bytes.len() - take) as u64;
    }

    /// A copy of the kept bytes, leaving them in place.
    pub fn peek(&self) -> Vec<u8> {
        self.buffer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .kept
            .clone()
    }

    /// The kept bytes and how many were dropped.
    pub fn take(&self) -> (Vec<u8>, u64) {
        let mut buffer = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        (std::mem::take(&mut buffer.kept), buffer.dropped)
    }
}

impl IsTerminal for CapturePipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturePipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CapturePipe {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always writable: overflow is dropped, never an error to the guest.
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturePipe {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CapturePipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipes_share_one_budget() {
        let budget = LogBudget::new(10);
        let (out, err) = (
            CapturePipe::new(budget.clone()),
            CapturePipe::new(budget.clone()),
        );
        out.push(b"123456");
        err.push(b"abcdef");
        out.push(b"zz");
        assert_eq!(out.take(), (b"123456".to_vec(), 2));
        assert_eq!(err.take(), (b"abcd".to_vec(), 2));
        assert!(!budget.take(1));
        budget.refund(3);
        assert!(budget.take(3));
        assert!(!budget.take(1));
    }
}
