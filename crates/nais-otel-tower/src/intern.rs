//! Interned span names and `http.route` values for route templates.
//!
//! Why: a span name or attribute value allocated per request is freed on the batch span
//! processor's thread, and with glibc's allocator that cross-thread free (and the arena lock
//! it contends on) was the largest single cost of a traced request in our benchmark. Route
//! templates come from the router's definition (axum's `MatchedPath`), so the set is small
//! and fixed: each template and each `{method} {route}` name is leaked once and reused as
//! `&'static str`. The table is capped at [`MAX_ENTRIES`]; past that, values are allocated
//! per request as before, so a router with unbounded routes cannot grow memory without end.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{OnceLock, PoisonError, RwLock};

/// At most this many (method, route) names are interned.
const MAX_ENTRIES: usize = 1024;

#[derive(Default)]
struct Table {
    /// route template -> (the template, names by method)
    routes: HashMap<&'static str, Vec<(&'static str, &'static str)>, BuildHasherDefault<Fnv>>,
    entries: usize,
}

/// FNV-1a. The keys are a router's own route templates, not attacker-chosen, so the
/// SipHash default buys nothing here, and on a short template it costs more than the
/// rest of the lookup.
#[derive(Default)]
struct Fnv(u64);

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

fn table() -> &'static RwLock<Table> {
    static TABLE: OnceLock<RwLock<Table>> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

/// `(route, "{method} {route}")` as static strings, or `None` when the table is full.
pub(crate) fn route_name(
    method: &'static str,
    route: &str,
) -> Option<(&'static str, &'static str)> {
    {
        let table = table().read().unwrap_or_else(PoisonError::into_inner);
        if let Some((route, names)) = table.routes.get_key_value(route) {
            if let Some((_, name)) = names.iter().find(|(m, _)| *m == method) {
                return Some((route, name));
            }
        }
    }
    let mut table = table().write().unwrap_or_else(PoisonError::into_inner);
    if table.entries >= MAX_ENTRIES {
        return None;
    }
    let route: &'static str = match table.routes.get_key_value(route) {
        Some((route, _)) => route,
        None => {
            let leaked: &'static str = Box::leak(route.into());
            table.routes.insert(leaked, Vec::new());
            leaked
        }
    };
    let names = table.routes.entry(route).or_default();
    if let Some((_, name)) = names.iter().find(|(m, _)| *m == method) {
        return Some((route, name));
    }
    let name: &'static str = Box::leak(format!("{method} {route}").into_boxed_str());
    names.push((method, name));
    table.entries += 1;
    Some((route, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_route_same_strings() {
        let (r1, n1) = route_name("GET", "/intern/{id}").unwrap();
        let (r2, n2) = route_name("GET", &String::from("/intern/{id}")).unwrap();
        let (r3, n3) = route_name("POST", "/intern/{id}").unwrap();
        assert_eq!(n1, "GET /intern/{id}");
        assert_eq!(n3, "POST /intern/{id}");
        assert!(std::ptr::eq(r1, r2) && std::ptr::eq(r1, r3));
        assert!(std::ptr::eq(n1, n2));
    }
}
