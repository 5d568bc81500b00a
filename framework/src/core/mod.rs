//! The floor everything stands on: exact units (ticks, lots, micros, ppm,
//! ids), the seeded random streams, typed errors, the clock and the event
//! record. It imports nothing from the rest of the framework.

pub mod clock;
pub mod error;
pub mod event;
pub mod rng;
pub mod units;

pub use clock::Clock;
pub use error::{ExportError, ParamError};
pub use event::{EventKind, LiquidationEvent};

/// How many items ahead of the one in hand a walk over scattered records
/// prefetches (see [`prefetch`]).
pub const PREFETCH_AHEAD: usize = 6;

/// Asks the processor to bring `x` into the cache ahead of its use: for
/// walks that know which scattered records they will read next (a round's
/// candidates, say). It reads nothing and changes nothing; on other
/// architectures it does nothing.
#[inline]
pub fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code, reason = "a prefetch hint: it never dereferences the pointer")]
    // SAFETY: `_mm_prefetch` needs SSE, which every x86_64 processor has,
    // and a prefetch of any address is defined (it is only a hint).
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(std::ptr::from_ref(x).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Makes room in `v` for `additional` more items. When it must grow, it
/// doubles up to 65,536 items and then grows by 65,536 at a time. For the
/// per-account tables that a population reserves exactly when it installs:
/// a small population added after a large one costs at most 65,536 items
/// of room, not a doubling of the table. Tables past that size are moved
/// by their allocator remapping pages, not copying them.
pub fn reserve_gently<T>(v: &mut Vec<T>, additional: usize) {
    if v.capacity() - v.len() < additional {
        v.reserve_exact(additional.max(v.len().min(1 << 16)));
    }
}
