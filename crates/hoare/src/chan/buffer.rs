//! The slots of a buffered channel, allocated as they are first used.
//!
//! A channel of capacity `cap` needs `cap` slots, but a channel made with a huge
//! capacity (say `usize::MAX`, "effectively unbounded") must neither reserve that
//! memory up front nor abort. So the first [`FIRST_CHUNK`] slots (or all of them,
//! when fewer) are allocated with the channel, and the rest in chunks that double in
//! size, each allocated by whoever first touches it. A channel thus holds memory for
//! at most about twice the most values it ever buffered at once (plus the first chunk).
//!
//! Chunk `k ≥ 1` holds slots `F·(2^k − 1) .. F·(2^(k+1) − 1)` where `F` is the first
//! chunk's length, so finding a slot is a shift and a leading-zero count.

use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::Ordering;

use crate::loom::{AtomicPtr, AtomicUsize, UnsafeCell};

/// Slots allocated together with the channel.
/// (Eight under miri, so its tests reach the lazily allocated chunks quickly.)
pub(crate) const FIRST_CHUNK: usize = if cfg!(miri) { 8 } else { 1024 };

/// One slot: a value and the stamp that says whose turn it is (see `array.rs`).
pub(crate) struct Slot<T> {
    pub(crate) stamp: AtomicUsize,
    pub(crate) msg: UnsafeCell<MaybeUninit<T>>,
}

pub(crate) struct Buffer<T> {
    first: Box<[Slot<T>]>,
    /// Chunk `k` (k ≥ 1) is `rest[k - 1]`: null until allocated, then a pointer to
    /// a boxed slice of `chunk_len(k)` slots, freed in `Drop`.
    rest: Box<[AtomicPtr<Slot<T>>]>,
    cap: usize,
}

fn new_slots<T>(start: usize, len: usize) -> Box<[Slot<T>]> {
    (start..start + len)
        .map(|i| Slot {
            stamp: AtomicUsize::new(i),
            msg: UnsafeCell::new(MaybeUninit::uninit()),
        })
        .collect()
}

impl<T> Buffer<T> {
    /// Slots `0..cap`; `cap ≥ 1`.
    pub(crate) fn new(cap: usize) -> Self {
        let first_len = cap.min(FIRST_CHUNK);
        let mut chunks = 0;
        while Self::chunk_start(first_len, chunks + 1) < cap {
            chunks += 1;
        }
        Self {
            first: new_slots(0, first_len),
            rest: (0..chunks)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
            cap,
        }
    }

    /// Index of the first slot of chunk `k`: `F·(2^k − 1)`, saturating.
    fn chunk_start(first_len: usize, k: u32) -> usize {
        first_len.saturating_mul((1usize << k.min(usize::BITS - 1)) - 1)
    }

    fn chunk_len(&self, k: u32) -> usize {
        let start = Self::chunk_start(self.first.len(), k);
        let end = Self::chunk_start(self.first.len(), k + 1).min(self.cap);
        end - start
    }

    /// The slot at `index < cap`.
    #[inline(always)]
    pub(crate) fn get(&self, index: usize) -> &Slot<T> {
        if index < self.first.len() {
            // SAFETY: just checked.
            return unsafe { self.first.get_unchecked(index) };
        }
        self.get_in_chunk(index)
    }

    #[cold]
    fn get_in_chunk(&self, index: usize) -> &Slot<T> {
        let f = self.first.len();
        // index ≥ F, so q ≥ 2 and chunk k = floor(log2(q)) ≥ 1.
        let q = index / f + 1;
        let k = usize::BITS - 1 - q.leading_zeros();
        let start = Self::chunk_start(f, k);
        let cell = &self.rest[k as usize - 1];
        // ORDERING: Acquire pairs with the AcqRel CAS below, so the slots' initial
        // stamps are visible to whoever sees the pointer.
        let mut chunk = cell.load(Ordering::Acquire);
        if chunk.is_null() {
            let fresh = Box::into_raw(new_slots::<T>(start, self.chunk_len(k))) as *mut Slot<T>;
            match cell.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => chunk = fresh,
                Err(existing) => {
                    // SAFETY: `fresh` came from `Box::into_raw` just above with this
                    // length and was never published, so this is its only owner.
                    drop(unsafe {
                        Box::from_raw(ptr::slice_from_raw_parts_mut(fresh, self.chunk_len(k)))
                    });
                    chunk = existing;
                }
            }
        }
        // SAFETY: `chunk` points to `chunk_len(k)` initialised slots that live until
        // the buffer drops, and `index - start < chunk_len(k)` because `index < cap`
        // and `index` lies in chunk k by the choice of k.
        unsafe { &*chunk.add(index - start) }
    }
}

impl<T> Drop for Buffer<T> {
    fn drop(&mut self) {
        for k in 1..=self.rest.len() as u32 {
            let chunk = self.rest[k as usize - 1].load(Ordering::Acquire);
            if !chunk.is_null() {
                // SAFETY: a non-null pointer was published by `get_in_chunk` from a
                // `Box<[Slot<T>]>` of `chunk_len(k)` slots; we are its last user.
                // Values still inside slots were dropped by the channel beforehand.
                drop(unsafe {
                    Box::from_raw(ptr::slice_from_raw_parts_mut(chunk, self.chunk_len(k)))
                });
            }
        }
    }
}

// SAFETY: a slot's value is written by exactly one sender and read by exactly one
// receiver, each of which gained that right by a CAS on `tail`/`head` checked
// against the slot's stamp (see `array.rs`); so sharing the buffer between threads
// only ever moves `T` values from one thread to another, which `T: Send` permits.
unsafe impl<T: Send> Send for Buffer<T> {}
// SAFETY: as above; no `&T` is ever handed out from a slot.
unsafe impl<T: Send> Sync for Buffer<T> {}
