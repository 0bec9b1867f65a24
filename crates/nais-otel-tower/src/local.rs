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

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::hash::Hasher;
use std::sync::atomic::{AtomicUsize, Ordering};
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

/// Values a thread keeps interned at most.
pub(crate) const REPEATED: usize = 32;

/// Longer values are never interned.
pub(crate) const REPEATED_MAX_LEN: usize = 128;

/// Bytes interned at most, over all threads: a bound on the memory the interned values
/// keep for the life of the process.
pub(crate) const REPEATED_BUDGET: usize = 64 * 1024;

static INTERNED_BYTES: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Values this thread has interned (leaked once, then shared as `&'static str`).
    static INTERNED: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
    /// Hashes of values seen once and not interned, so a value is interned on its second
    /// sighting: one-off values (a random `User-Agent`) do not take the slots.
    static SEEN: RefCell<[u64; 16]> = const { RefCell::new([0; 16]) };
    static SEEN_NEXT: Cell<usize> = const { Cell::new(0) };
}

/// `s` as an attribute value, for values that repeat from request to request: the
/// `Host` a service is called by, its callers' `User-Agent`s and addresses, gRPC service
/// and method names.
///
/// Why: even with [`string`], each per-request string is an allocation whose reference
/// count the export thread writes, so its cache line moves between cores twice a request.
/// A value seen twice on a thread is interned: leaked once and then shared as a
/// `&'static str`, which costs neither. Bounded: [`REPEATED`] values a thread, each at
/// most [`REPEATED_MAX_LEN`] bytes, and [`REPEATED_BUDGET`] bytes over all threads; past
/// those, values are per-request strings as before.
pub(crate) fn repeated(s: &str) -> StringValue {
    match interned(s) {
        Some(value) => StringValue::from(value),
        None => string(s),
    }
}

/// `s` as a span name: interned when it repeats (see [`interned`]), else owned.
pub(crate) fn name(s: &str) -> std::borrow::Cow<'static, str> {
    match interned(s) {
        Some(name) => std::borrow::Cow::Borrowed(name),
        None => std::borrow::Cow::Owned(s.to_owned()),
    }
}

/// `s` interned, when it is (or now becomes) one of this thread's interned values.
pub(crate) fn interned(s: &str) -> Option<&'static str> {
    if s.len() > REPEATED_MAX_LEN {
        return None;
    }
    INTERNED
        .try_with(|interned| {
            let mut interned = interned.try_borrow_mut().ok()?;
            if let Some(hit) = interned.iter().find(|v| v.len() == s.len() && **v == s) {
                return Some(*hit);
            }
            if interned.len() >= REPEATED || !seen_before(s) {
                return None;
            }
            let budget = INTERNED_BYTES.fetch_add(s.len(), Ordering::Relaxed) + s.len();
            if budget > REPEATED_BUDGET {
                INTERNED_BYTES.fetch_sub(s.len(), Ordering::Relaxed);
                return None;
            }
            let value: &'static str = Box::leak(Box::from(s));
            interned.push(value);
            Some(value)
        })
        .ok()
        .flatten()
}

/// FNV-1a, for keys that are not attacker-chosen in a way that matters (a router's own
/// route templates; the seen-ring here, which only decides when to intern): SipHash buys
/// nothing there, and on a short key it costs more than the rest of the lookup.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Whether `s` was seen (and not interned) before on this thread; notes it if not.
fn seen_before(s: &str) -> bool {
    let mut hasher = Fnv::default();
    hasher.write(s.as_bytes());
    // 0 marks an empty slot.
    let hash = hasher.finish() | 1;
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if seen.contains(&hash) {
            return true;
        }
        let slot = SEEN_NEXT.with(|next| {
            let slot = next.get();
            next.set((slot + 1) % seen.len());
            slot
        });
        seen[slot] = hash;
        false
    })
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

    #[test]
    fn repeated_values_are_interned_on_the_second_sighting_and_bounded() {
        std::thread::spawn(|| {
            let first = repeated("dogs.intern.nav.no");
            assert_eq!(first.as_str(), "dogs.intern.nav.no");
            assert!(
                interned("okhttp/4.12.0").is_none(),
                "first sighting: not interned"
            );
            let a = interned("okhttp/4.12.0").expect("second sighting: interned");
            let b = interned("okhttp/4.12.0").expect("and found again");
            assert_eq!(a, "okhttp/4.12.0");
            assert!(std::ptr::eq(a, b), "the same static string");

            let long = "x".repeat(REPEATED_MAX_LEN + 1);
            assert!(interned(&long).is_none() && interned(&long).is_none());
            assert_eq!(repeated(&long).as_str(), long);

            for i in 0..2 * REPEATED {
                let v = format!("value-{i}");
                let _ = interned(&v);
                let _ = interned(&v);
            }
            let count = INTERNED.with(|i| i.borrow().len());
            assert_eq!(count, REPEATED, "a thread interns at most REPEATED values");
            assert!(interned("value-63").is_none() && interned("value-63").is_none());
            assert_eq!(
                repeated("value-63").as_str(),
                "value-63",
                "past the bound: still right"
            );
        })
        .join()
        .unwrap();
    }
}
