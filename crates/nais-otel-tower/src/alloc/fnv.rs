//! The FNV-1a hasher of the interning tables.

use std::hash::Hasher;

/// FNV-1a, for keys that are not attacker-chosen (a router's own route templates):
/// SipHash buys nothing there, and on a short key it costs more than the rest of the lookup.
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
