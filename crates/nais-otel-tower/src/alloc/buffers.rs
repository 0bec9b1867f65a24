//! Attribute buffers that the exporter hands back to the layers.
//!
//! Why: the SDK owns a span's attribute `Vec` once the span starts, and frees it where the
//! span is exported, on the batch span processor's thread. With glibc's allocator a chunk
//! freed on another thread never returns to the allocating thread's cache, so each
//! request's attribute `Vec` came from the shared arena, in memory last written on the
//! other core. [`ring`](super::ring) solves this for attribute strings by keeping a
//! clone; a `Vec` cannot be shared that way. Reusing the buffers saves about 0.1 µs a
//! request in the `http_layer` benchmark (`docs/benchmarks.md`).
//!
//! So an exporter that knows about this crate (nais-otel's do) calls [`recycle_attributes`]
//! on each batch: for a span this crate made, it moves the attributes into a new `Vec`
//! (allocated and freed on the export thread, off the request path) and puts the old,
//! now empty buffer into a bounded pool. The layers take their attribute `Vec` from the
//! pool when it has one and allocate as before when it has none. Bounded: at most
//! [`POOLED`] buffers in the pool and [`STASH`] in each thread's stash, each
//! [`CAPACITY`] attributes.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use opentelemetry::KeyValue;

/// The capacity of every attribute `Vec` the layers make: room for the request's
/// attributes and those the response adds (status code, `error.type`).
pub(crate) const CAPACITY: usize = 12;

/// Buffers the pool holds at most (with [`CAPACITY`] attributes of 56 bytes, about 670 KiB):
/// two batches of the batch processor's default size, so that the request thread still
/// finds buffers while the exporter is handing back the last batch's (with one batch,
/// about one request in ten allocated in the benchmark; with two, one in two hundred).
pub(crate) const POOLED: usize = 1024;

/// Buffers a thread takes from the pool at a time, so the pool's lock is taken once per
/// that many requests, not once per request.
pub(crate) const STASH: usize = 64;

/// The buffers handed back, shared by every thread.
struct Pool {
    buffers: Mutex<Vec<Vec<KeyValue>>>,
    /// The pool's length as of its last change: read without the lock, to skip it when
    /// empty (or full).
    available: AtomicUsize,
}

impl Pool {
    const fn new() -> Self {
        Self {
            buffers: Mutex::new(Vec::new()),
            available: AtomicUsize::new(0),
        }
    }

    /// Moves up to [`STASH`] buffers into `stash`.
    fn refill(&self, stash: &mut Vec<Vec<KeyValue>>) {
        if self.available.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut buffers = self.buffers.lock().unwrap_or_else(PoisonError::into_inner);
        let from = buffers.len().saturating_sub(STASH);
        stash.extend(buffers.drain(from..));
        self.available.store(buffers.len(), Ordering::Relaxed);
    }

    /// [`recycle_attributes`] for this pool.
    fn give_back<'a, I>(&self, spans: I)
    where
        I: IntoIterator<Item = (&'a str, &'a mut Vec<KeyValue>)>,
    {
        let room = POOLED.saturating_sub(self.available.load(Ordering::Relaxed));
        if room == 0 {
            return;
        }
        let mut returned = Vec::new();
        for (scope, attributes) in spans {
            if returned.len() == room {
                break;
            }
            if scope != crate::tracer::SCOPE_NAME || attributes.capacity() != CAPACITY {
                continue;
            }
            // `append` moves the attributes out and leaves the old buffer empty, its
            // capacity kept.
            let mut moved = Vec::with_capacity(attributes.len());
            moved.append(attributes);
            returned.push(std::mem::replace(attributes, moved));
        }
        if returned.is_empty() {
            return;
        }
        let mut buffers = self.buffers.lock().unwrap_or_else(PoisonError::into_inner);
        let room = POOLED.saturating_sub(buffers.len());
        returned.truncate(room);
        buffers.append(&mut returned);
        self.available.store(buffers.len(), Ordering::Relaxed);
    }
}

static POOL: Pool = Pool::new();

thread_local! {
    static STASHED: RefCell<Vec<Vec<KeyValue>>> = const { RefCell::new(Vec::new()) };
}

/// An empty attribute `Vec` with room for [`CAPACITY`] attributes: a recycled one when
/// there is one.
pub(crate) fn attributes() -> Vec<KeyValue> {
    STASHED
        .try_with(|stash| {
            let mut stash = stash.try_borrow_mut().ok()?;
            if stash.is_empty() {
                POOL.refill(&mut stash);
            }
            stash.pop()
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| Vec::with_capacity(CAPACITY))
}

/// Hands back the attribute buffers of the spans this crate's layers made, for span
/// exporters on the batch processor's thread; nais-otel's exporters call it on every
/// batch.
///
/// Each item is a span's instrumentation scope name and its attributes. For a span of this
/// crate's scope (`nais-otel-tower`) whose buffer is the one the layer made, the attributes
/// are moved into a new `Vec` in place (same order, same values) and the old buffer goes to
/// the pool the layers take theirs from, so the request thread reuses it instead of
/// allocating. Other spans are left alone, and so is everything once the pool is full.
///
/// # Examples
///
/// ```
/// use opentelemetry::KeyValue;
///
/// let mut attributes = vec![KeyValue::new("http.request.method", "GET")];
/// // Not a span of this crate: nothing changes.
/// nais_otel_tower::recycle_attributes([("my-app", &mut attributes)]);
/// assert_eq!(attributes, [KeyValue::new("http.request.method", "GET")]);
/// ```
pub fn recycle_attributes<'a, I>(spans: I)
where
    I: IntoIterator<Item = (&'a str, &'a mut Vec<KeyValue>)>,
{
    POOL.give_back(spans);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A buffer as a layer makes it, with two attributes.
    fn layer_attributes() -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(CAPACITY);
        attributes.push(KeyValue::new("http.request.method", "GET"));
        attributes.push(KeyValue::new("url.path", "/dogs/1"));
        attributes
    }

    // A pool of the test's own: the global one is shared with every other test's layers.
    #[test]
    fn a_recycled_buffer_is_reused_and_its_attributes_kept() {
        let pool = Pool::new();
        let mut ours = layer_attributes();
        let buffer = ours.as_ptr() as usize;
        let mut theirs = layer_attributes();
        let their_buffer = theirs.as_ptr() as usize;

        pool.give_back([
            (crate::tracer::SCOPE_NAME, &mut ours),
            ("someone-else", &mut theirs),
        ]);
        assert_eq!(ours, layer_attributes(), "the span keeps its attributes");
        assert_ne!(ours.as_ptr() as usize, buffer, "in a new buffer");
        assert_eq!(
            theirs.as_ptr() as usize,
            their_buffer,
            "other scopes untouched"
        );

        let mut stash = Vec::new();
        pool.refill(&mut stash);
        let reused = stash.pop().expect("the old buffer is in the pool");
        assert_eq!(
            reused.as_ptr() as usize,
            buffer,
            "the old buffer comes back"
        );
        assert!(reused.is_empty());
        assert_eq!(reused.capacity(), CAPACITY);
        assert!(stash.is_empty());
        assert_eq!(pool.available.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_grown_buffer_is_not_taken() {
        let pool = Pool::new();
        let mut grown: Vec<KeyValue> = (0..=CAPACITY)
            .map(|i| KeyValue::new("k", i as i64))
            .collect();
        let buffer = grown.as_ptr() as usize;
        pool.give_back([(crate::tracer::SCOPE_NAME, &mut grown)]);
        assert_eq!(grown.as_ptr() as usize, buffer);
        assert_eq!(pool.available.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_pool_and_a_refill_are_bounded() {
        let pool = Pool::new();
        let mut spans: Vec<Vec<KeyValue>> = (0..POOLED + 10).map(|_| layer_attributes()).collect();
        pool.give_back(
            spans
                .iter_mut()
                .map(|attributes| (crate::tracer::SCOPE_NAME, attributes)),
        );
        assert_eq!(pool.buffers.lock().unwrap().len(), POOLED);
        assert_eq!(pool.available.load(Ordering::Relaxed), POOLED);
        let mut stash = Vec::new();
        pool.refill(&mut stash);
        assert_eq!(stash.len(), STASH);
        assert_eq!(pool.available.load(Ordering::Relaxed), POOLED - STASH);
    }

    #[test]
    fn attributes_always_have_the_capacity() {
        let attributes = attributes();
        assert!(attributes.is_empty());
        assert_eq!(attributes.capacity(), CAPACITY);
    }
}
