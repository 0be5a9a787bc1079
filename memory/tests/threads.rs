//! Two opens at once on two threads: each releases only the blocks its own thread noted, so an
//! open that finishes first cannot give back (or race with writes to) a block another thread's
//! open is still building.

use std::sync::mpsc;

#[global_allocator]
static ALLOC: tandem_memory::Allocator = tandem_memory::Allocator;

/// A block with a sled histogram's layout, written with zeros after allocation (as sled does;
/// `vec![0; n]` would use `alloc_zeroed`, which is not watched).
#[allow(clippy::slow_vector_initialization)] // on purpose, see above
fn histogram_sized_zeros() -> Vec<usize> {
    let mut v = Vec::with_capacity(65_536);
    v.resize(65_536, 0);
    v
}

#[test]
fn an_open_on_another_thread_leaves_this_threads_blocks_alone() {
    let (allocated, wait_allocated) = mpsc::channel();
    let (other_done, wait_other_done) = mpsc::channel();
    let a = std::thread::spawn(move || {
        tandem_memory::opening_sled(|| {
            let zeros = histogram_sized_zeros();
            let mut data = histogram_sized_zeros();
            allocated.send(()).unwrap();
            // The other thread's open starts and ends while this one is still under way.
            wait_other_done.recv().unwrap();
            let after_other = tandem_memory::released_bytes();
            // Written after the other open ended: with a shared release it would have been
            // given back (all zeros then) and this write would race the release.
            data[1234] = 42;
            (zeros, data, after_other)
        })
    });
    wait_allocated.recv().unwrap();
    let before = tandem_memory::released_bytes();
    tandem_memory::opening_sled(|| ());
    assert_eq!(
        tandem_memory::released_bytes(),
        before,
        "an open that noted nothing released another thread's blocks"
    );
    other_done.send(()).unwrap();
    let (zeros, data, after_other) = a.join().unwrap();
    assert_eq!(after_other, before);
    // Thread A's own release: the block of zeros went back (whole pages only), the one with
    // data stayed.
    let released = tandem_memory::released_bytes() - before;
    assert!(released >= 65_536 * 8 - 2 * 4096, "{released}");
    assert!(released <= 65_536 * 8, "{released}");
    assert!(zeros.iter().all(|&z| z == 0));
    assert_eq!(data[1234], 42);
}
