//! Attribute values and span names that repeat from request to request, interned per
//! thread: the `Host` a service is called by, its callers' `User-Agent`s and addresses,
//! gRPC service and method names.

use std::cell::{Cell, RefCell};
use std::hash::Hasher;
use std::sync::atomic::{AtomicUsize, Ordering};

use opentelemetry::StringValue;

use super::fnv::Fnv;

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
/// Why: each per-request string is an allocation that the export thread frees.
/// A value seen twice on a thread is interned: leaked once and then shared as a
/// `&'static str`, which costs neither. Bounded: [`REPEATED`] values a thread, each at
/// most [`REPEATED_MAX_LEN`] bytes, and [`REPEATED_BUDGET`] bytes over all threads; past
/// those, values are per-request strings as before.
pub(crate) fn repeated(s: &str) -> StringValue {
    match interned(s) {
        Some(value) => StringValue::from(value),
        None => StringValue::from(s.to_owned()),
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
