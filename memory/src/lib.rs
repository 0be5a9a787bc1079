//! Gives back the memory sled 0.34 takes for metrics it never records.
//!
//! The first `sled::Config::open` of a process builds sled's global metrics: 41 histograms of
//! 65,536 counters each, which `Histogram::default` writes with zeros — **20.5 MiB resident** in
//! every process that opens a database, for as long as it runs. The `no_metrics` feature (sled's
//! default, ours) only stops the histograms from being updated; they are built all the same.
//! On an idle desktop app that was 6 % of everything the app holds (docs/benchmarks.md).
//!
//! How: [`Allocator`] is the system allocator, plus, while this thread runs [`opening_sled`], it
//! notes every allocation with a histogram's layout (8 × 65,536 bytes, align 8). When the open
//! returns, every noted block that still holds only zeros has its whole pages handed back to the
//! kernel (`madvise(MADV_DONTNEED)`): a private anonymous page given back reads as zeros again,
//! so nothing changes for sled, and the page costs nothing until something writes to it.
//!
//! Why this is safe: only blocks allocated on this thread, inside sled's open, with that exact
//! layout, are touched; in sled 0.34.7 (pinned in the workspace) those are the histograms, which
//! live in a `static` and, without the `metrics` feature, are never written after they are built.
//! A block that is not all zeros is left alone; a block freed before the open returns is
//! forgotten; an open on another thread never releases this thread's blocks. Without the allocator installed (`#[global_allocator]` in a binary),
//! [`opening_sled`] just runs the open. Linux only; elsewhere everything is a pass-through.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The layout of one sled 0.34 histogram's counters: `Vec<AtomicUsize>` of 2^16.
const HISTOGRAM_BYTES: usize = 65_536 * std::mem::size_of::<usize>();
const HISTOGRAM_ALIGN: usize = std::mem::align_of::<usize>();

/// Blocks noted during the opens under way (sled 0.34.7 builds 41); more are left resident.
const SLOTS: usize = 64;

/// The noted blocks: `(address, owner)`, where the owner is the noting thread (see [`me`]) and
/// a zero address is a free slot.
///
/// Behind a spin lock rather than in atomics because three things must not interleave: one
/// thread's release must take only its own blocks (another thread's open may still be building
/// or writing a block of the same size), and a block must not be freed, by any thread, between
/// the zero check and `madvise`. An allocator cannot use `std::sync::Mutex` (it may allocate);
/// the lock is only taken for histogram-sized blocks, and held for at most one release.
struct Noted {
    locked: AtomicBool,
    slots: UnsafeCell<[(usize, usize); SLOTS]>,
}

// SAFETY: `slots` is only reached through `Noted::with`, which holds `locked`.
unsafe impl Sync for Noted {}

impl Noted {
    fn with<R>(&self, f: impl FnOnce(&mut [(usize, usize); SLOTS]) -> R) -> R {
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        struct Unlock<'a>(&'a AtomicBool);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _unlock = Unlock(&self.locked);
        // SAFETY: the lock is held until `_unlock` drops.
        f(unsafe { &mut *self.slots.get() })
    }
}

static NOTED: Noted = Noted {
    locked: AtomicBool::new(false),
    slots: UnsafeCell::new([(0, 0); SLOTS]),
};
static RELEASED: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // `const` and without a destructor: safe to read from inside the allocator.
    static OPENING: Cell<bool> = const { Cell::new(false) };
}

/// This thread, as a number unique among live threads: the address of its `OPENING`.
fn me() -> usize {
    OPENING.with(|o| o as *const Cell<bool> as usize)
}

/// The system allocator, noting histogram-sized blocks while [`opening_sled`] runs on the
/// allocating thread. Install it in a binary that opens sled databases:
///
/// ```ignore
/// #[global_allocator]
/// static ALLOC: tandem_memory::Allocator = tandem_memory::Allocator;
/// ```
pub struct Allocator;

fn is_histogram(layout: Layout) -> bool {
    layout.size() == HISTOGRAM_BYTES && layout.align() == HISTOGRAM_ALIGN
}

fn opening() -> bool {
    OPENING.try_with(Cell::get).unwrap_or(false)
}

fn note(ptr: *mut u8) {
    let owner = me();
    NOTED.with(|slots| {
        if let Some(slot) = slots.iter_mut().find(|(addr, _)| *addr == 0) {
            *slot = (ptr as usize, owner);
        }
    });
}

/// Called before a histogram-sized block is freed or moved (on any thread): a release under
/// way finishes first, and none will touch the block afterwards.
fn forget(ptr: *mut u8) {
    NOTED.with(|slots| {
        if let Some(slot) = slots.iter_mut().find(|(addr, _)| *addr == ptr as usize) {
            *slot = (0, 0);
        }
    });
}

// SAFETY: every call is forwarded to `System` with the same arguments; the bookkeeping around it
// neither allocates nor touches the blocks, and holds no lock while `System` runs.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() && is_histogram(layout) && opening() {
            note(ptr);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_histogram(layout) {
            forget(ptr);
        }
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if is_histogram(layout) {
            forget(ptr);
        }
        System.realloc(ptr, layout, new_size)
    }
}

/// Runs `open` (a `sled::Config::open` and nothing else) and gives back the pages of the metric
/// histograms it built. Nested calls and other threads are not watched.
pub fn opening_sled<T>(open: impl FnOnce() -> T) -> T {
    if OPENING.with(Cell::get) {
        return open();
    }
    OPENING.with(|o| o.set(true));
    // Reset the flag even if `open` panics, and release what was noted either way.
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            OPENING.with(|o| o.set(false));
            release_noted();
        }
    }
    let _done = Done;
    open()
}

/// Bytes given back by [`opening_sled`] in this process so far (for tests and logs).
pub fn released_bytes() -> usize {
    RELEASED.load(Ordering::Relaxed)
}

fn release_noted() {
    let owner = me();
    NOTED.with(|slots| {
        for slot in slots.iter_mut().filter(|(addr, o)| *addr != 0 && *o == owner) {
            // SAFETY: a live block of HISTOGRAM_BYTES noted by this thread during its open (a
            // freed block is forgotten first, and frees wait for this lock), owned by sled and
            // not written by it.
            let released = unsafe { release_if_zero(slot.0 as *mut u8, HISTOGRAM_BYTES) };
            RELEASED.fetch_add(released, Ordering::Relaxed);
            *slot = (0, 0);
        }
    });
}

/// Gives back the whole pages inside `[ptr, ptr + len)` if the block holds only zeros; returns
/// the bytes given back.
///
/// # Safety
/// `ptr..ptr + len` must be one live allocation that no other thread writes meanwhile.
#[cfg(target_os = "linux")]
unsafe fn release_if_zero(ptr: *mut u8, len: usize) -> usize {
    let block = std::slice::from_raw_parts(ptr, len);
    if block.iter().any(|&b| b != 0) {
        return 0;
    }
    let page = page_size();
    let start = (ptr as usize).div_ceil(page) * page;
    let end = (ptr as usize + len) / page * page;
    if end <= start {
        return 0;
    }
    // Only pages wholly inside the block: the allocator's own bookkeeping around it is untouched.
    if libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) == 0 {
        end - start
    } else {
        0
    }
}

#[cfg(not(target_os = "linux"))]
unsafe fn release_if_zero(_ptr: *mut u8, _len: usize) -> usize {
    0
}

#[cfg(target_os = "linux")]
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as usize,
        _ => 4096,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_of_zeros_gives_its_whole_pages_back_and_still_reads_as_zeros() {
        let mut block = vec![0u8; HISTOGRAM_BYTES];
        // SAFETY: the test's own block, not shared with any thread.
        let released = unsafe { release_if_zero(block.as_mut_ptr(), block.len()) };
        assert!(released >= HISTOGRAM_BYTES - 2 * page_size(), "{released}");
        assert!(block.iter().all(|&b| b == 0));
    }

    #[test]
    fn a_block_with_data_is_left_alone() {
        let mut block = vec![0u8; HISTOGRAM_BYTES];
        block[HISTOGRAM_BYTES / 2] = 7;
        // SAFETY: as above.
        assert_eq!(unsafe { release_if_zero(block.as_mut_ptr(), block.len()) }, 0);
        assert_eq!(block[HISTOGRAM_BYTES / 2], 7);
    }
}
