//! Heap use of channels, counted by a wrapping global allocator. The file holds a
//! single test so that no other test allocates while it counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Waker};

use hoare::chan;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        BYTES.fetch_add(layout.size(), Ordering::SeqCst);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations and bytes allocated while running `f`.
fn count<R>(f: impl FnOnce() -> R) -> (usize, usize, R) {
    let (a0, b0) = (
        ALLOCATIONS.load(Ordering::SeqCst),
        BYTES.load(Ordering::SeqCst),
    );
    let r = f();
    let (a1, b1) = (
        ALLOCATIONS.load(Ordering::SeqCst),
        BYTES.load(Ordering::SeqCst),
    );
    (a1 - a0, b1 - b0, r)
}

#[test]
fn channels_allocate_once_and_waiting_allocates_nothing() {
    // An unbuffered channel is one allocation.
    let (allocs, bytes, (tx, rx)) = count(|| chan::<u64>(0));
    assert_eq!(allocs, 1, "chan::<u64>(0) should be one allocation");
    eprintln!("chan::<u64>(0): {allocs} allocation, {bytes} bytes");

    // A buffered channel: the channel and its first slots.
    let (allocs, bytes, buffered) = count(|| chan::<u64>(1024));
    assert!(allocs <= 2, "chan::<u64>(1024): {allocs} allocations");
    eprintln!("chan::<u64>(1024): {allocs} allocations, {bytes} bytes");
    drop(buffered);

    // A huge capacity reserves no more than a small one.
    let (_, huge_bytes, huge) = count(|| chan::<u64>(usize::MAX));
    assert!(
        huge_bytes < 64 * 1024,
        "chan(usize::MAX) reserved {huge_bytes} bytes"
    );
    drop(huge);

    // Waiting: the waiter lives in the future; once the wait queue has grown to hold
    // one entry, a pending receive allocates nothing.
    let mut cx = Context::from_waker(Waker::noop());
    {
        let mut warm = pin!(rx.recv_async());
        assert!(warm.as_mut().poll(&mut cx).is_pending());
    }
    let (allocs, _, ()) = count(|| {
        let mut recv = pin!(rx.recv_async());
        assert!(recv.as_mut().poll(&mut cx).is_pending());
    });
    assert_eq!(allocs, 0, "a pending recv_async allocated");
    eprintln!(
        "a blocked receive: 0 allocations; its future is {} bytes, its queue entry {} bytes",
        std::mem::size_of_val(&rx.recv_async()),
        3 * std::mem::size_of::<usize>()
    );
    drop((tx, rx));

    select_allocates_nothing();
}

/// A select allocates nothing, whether a case is ready or it has to wait (once the
/// wait queues it registers with have room for one entry).
fn select_allocates_nothing() {
    use hoare::{select, select_async};

    let (tx_a, rx_a) = chan::<u64>(4);
    let (tx_b, rx_b) = chan::<u64>(0);
    let (_tx_c, rx_c) = chan::<u64>(1);

    // Ready: a buffered value.
    tx_a.send(1).unwrap();
    let (allocs, _, got) = count(|| {
        select! {
            recv(&rx_a) -> v => v,
            recv(&rx_b) -> v => v,
            default => None,
        }
    });
    assert_eq!(got, Some(1));
    assert_eq!(allocs, 0, "a ready select allocated");

    // Waiting, async: registered with all three channels (warmed up first).
    let mut cx = Context::from_waker(Waker::noop());
    let pending = |cx: &mut Context<'_>| {
        let fut = async {
            select_async! {
                recv(&rx_a) -> v => v,
                recv(&rx_b) -> v => v,
                recv(&rx_c) -> v => v,
                send(&tx_b, 5) -> _ => None,
            }
        };
        let size = std::mem::size_of_val(&fut);
        let mut fut = pin!(fut);
        assert!(fut.as_mut().poll(cx).is_pending());
        size
    };
    pending(&mut cx);
    let (allocs, _, size) = count(|| pending(&mut cx));
    assert_eq!(allocs, 0, "a waiting select_async allocated");
    eprintln!("a waiting select over 4 cases: 0 allocations; its future is {size} bytes");
}
