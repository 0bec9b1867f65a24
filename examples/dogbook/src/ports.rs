//! Free loopback ports for processes about to be started.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};

/// The lowest port handed out.
const FLOOR: u32 = 10_000;

/// A port on 127.0.0.1 that is free when this returns, for a process about to bind it.
///
/// Why not `bind(0)`: that port comes from the kernel's ephemeral range
/// (`/proc/sys/net/ipv4/ip_local_port_range`, 32768–60999 by default), the range every
/// outgoing connection takes its local port from, so between this call and the child's
/// `bind` a connection made by anything else on the machine (a parallel test under load)
/// can take it. This picks a port between 10000 and the start of that range, which no
/// outgoing connection uses, different on each call in a process and spread by process id
/// across processes. When the range leaves no room below it, it falls back to `bind(0)`.
pub fn free_loopback_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let low = ephemeral_low().unwrap_or(32_768);
    if low > FLOOR + 1_000 {
        let span = low - FLOOR;
        let seed = std::process::id().wrapping_mul(2_654_435_761) % span;
        for _ in 0..span.min(4_096) {
            let step = NEXT.fetch_add(1, Ordering::Relaxed);
            let port = FLOOR + seed.wrapping_add(step.wrapping_mul(7_919)) % span;
            if let Ok(port) = u16::try_from(port) {
                if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
                    return port;
                }
            }
        }
    }
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map_or(0, |addr| addr.port())
}

/// The first port of the kernel's ephemeral range, on Linux.
fn ephemeral_low() -> Option<u32> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_bindable_distinct_and_below_the_ephemeral_range() {
        let low = ephemeral_low().unwrap_or(32_768);
        let ports: Vec<u16> = (0..50).map(|_| free_loopback_port()).collect();
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ports.len(), "{ports:?}");
        for port in ports {
            assert!(port != 0);
            if low > FLOOR + 1_000 {
                assert!(u32::from(port) >= FLOOR && u32::from(port) < low, "{port}");
            }
            TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("still free");
        }
    }
}
