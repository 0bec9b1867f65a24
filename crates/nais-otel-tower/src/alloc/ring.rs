//! Attribute strings of a request that are freed on the thread that made them.
//!
//! Why: a span's attribute values are dropped where the span is exported, on the batch
//! span processor's thread. With glibc's allocator, a chunk freed on another thread never
//! returns to the allocating thread's cache: that thread's next allocation of the same size
//! comes from the shared arena, in memory last written on the other core, and the request
//! thread's other allocations of that size (axum's, hyper's) lose their cached chunks too.
//! In the `http_layer` benchmark the one string of a request without headers, a 9-byte
//! `url.path`, cost about 0.4 µs a request this way, a third of the layer's overhead.
//!
//! So a per-request string is an `Arc<str>`, and the thread that made it keeps a clone in a
//! ring. Once the span's copy is gone (the strong count is back to 1), the ring's drop is
//! the last one, and the memory returns to this thread's cache. Bounded: at most [`RING`]
//! strings a thread, each at most [`MAX_LEN`] bytes (longer strings are allocated as
//! before); when the ring is full, its oldest string is let go whether or not its span is
//! done (it is then freed wherever the last copy is dropped, as without the ring).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;

use opentelemetry::StringValue;

/// Strings a thread keeps at most: more than a batch of spans' worth (the batch processor
/// exports 512 spans at a time by default), so that the batch holding a span is usually
/// exported before the ring lets its strings go.
pub(crate) const RING: usize = 4096;

/// Longer strings are not kept: the ring must not hold on to much memory.
pub(crate) const MAX_LEN: usize = 256;

thread_local! {
    static KEPT: RefCell<VecDeque<Arc<str>>> = const { RefCell::new(VecDeque::new()) };
}

/// `s` as an attribute value whose memory this thread frees.
pub(crate) fn string(s: &str) -> StringValue {
    if s.len() > MAX_LEN {
        return StringValue::from(s.to_owned());
    }
    let value: Arc<str> = Arc::from(s);
    // `try_with`: a thread-local being torn down (a span made in another thread-local's
    // destructor) just means this string is freed wherever its span is.
    let _ = KEPT.try_with(|kept| {
        let Ok(mut kept) = kept.try_borrow_mut() else {
            return;
        };
        // Let go of the strings whose spans are done, oldest first.
        while kept.front().is_some_and(|s| Arc::strong_count(s) == 1) {
            kept.pop_front();
        }
        if kept.len() >= RING {
            kept.pop_front();
        }
        kept.push_back(value.clone());
    });
    StringValue::from(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept() -> usize {
        KEPT.with(|kept| kept.borrow().len())
    }

    #[test]
    fn kept_until_the_span_is_done_then_released() {
        std::thread::spawn(|| {
            let a = string("/users/42");
            let b = string("/users/43");
            assert_eq!(a.as_str(), "/users/42");
            assert_eq!(kept(), 2, "both spans still hold their strings");
            drop(a);
            let c = string("/users/44");
            assert_eq!(kept(), 2, "the done one (a) was let go, b and c kept");
            drop((b, c));
            let _d = string("/users/45");
            assert_eq!(kept(), 1, "b and c were let go");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn bounded_in_count_and_length() {
        std::thread::spawn(|| {
            let long = "x".repeat(MAX_LEN + 1);
            let value = string(&long);
            assert_eq!(value.as_str(), long);
            assert_eq!(kept(), 0, "a long string is not kept");

            // Spans that never finish: the ring still stops at RING.
            let alive: Vec<StringValue> = (0..RING + 10).map(|i| string(&i.to_string())).collect();
            assert_eq!(kept(), RING);
            assert_eq!(alive[RING + 9].as_str(), (RING + 9).to_string());
        })
        .join()
        .unwrap();
    }
}
