//! Interned span names and `http.route` values for route templates.
//!
//! Why: a span name or attribute value allocated per request is freed on the batch span
//! processor's thread, and with glibc's allocator that cross-thread free (and the arena lock
//! it contends on) was the largest single cost of a traced request in our benchmark. Route
//! templates come from the router's definition (axum's `MatchedPath`), so the set is small
//! and fixed: each template and each `{method} {route}` name is leaked once and reused as
//! `&'static str`. The table is capped at [`MAX_ENTRIES`]; past that, values are allocated
//! per request as before, so a router with unbounded routes cannot grow memory without end.

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::{OnceLock, PoisonError, RwLock};

use super::fnv::Fnv;

/// At most this many (method, route) names are interned.
const MAX_ENTRIES: usize = 1024;

#[derive(Default)]
struct Table {
    /// route template -> (the template, names by method)
    routes: HashMap<&'static str, Vec<(&'static str, &'static str)>, BuildHasherDefault<Fnv>>,
    entries: usize,
}

fn table() -> &'static RwLock<Table> {
    static TABLE: OnceLock<RwLock<Table>> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

/// One interned entry: (method, route, `"{method} {route}"`).
type Entry = (&'static str, &'static str, &'static str);

/// How many recent entries each thread remembers.
const RECENT: usize = 4;

thread_local! {
    /// The last few routes this thread served. A hit costs a length check and a short
    /// `memcmp`, and takes no lock: the table's `RwLock` is shared by every worker thread,
    /// and even a read lock writes to its cache line, which then moves between cores.
    static RECENT_ROUTES: [Cell<Option<Entry>>; RECENT] = const { [const { Cell::new(None) }; RECENT] };
    static NEXT_SLOT: Cell<usize> = const { Cell::new(0) };
}

/// `(route, "{method} {route}")` as static strings, or `None` when the table is full.
pub(crate) fn route_name(
    method: &'static str,
    route: &str,
) -> Option<(&'static str, &'static str)> {
    let recent = RECENT_ROUTES.with(|slots| {
        slots.iter().find_map(|slot| match slot.get() {
            // `method` is one of the `&'static str` literals of `method_name`, but compare
            // the text: the same literal is not guaranteed one address.
            Some((m, r, name)) if r == route && m == method => Some((r, name)),
            _ => None,
        })
    });
    if recent.is_some() {
        return recent;
    }
    let found = route_name_locked(method, route);
    if let Some((route, name)) = found {
        let slot = NEXT_SLOT.with(|next| {
            let slot = next.get();
            next.set((slot + 1) % RECENT);
            slot
        });
        RECENT_ROUTES.with(|slots| slots[slot].set(Some((method, route, name))));
    }
    found
}

fn route_name_locked(method: &'static str, route: &str) -> Option<(&'static str, &'static str)> {
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
