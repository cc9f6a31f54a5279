//! loom models of `hoare::sync::Pool`'s per-thread slots: an object handed from one
//! thread's slot to another, and two threads taking and returning objects at once.
//! Under loom a pool has two slots and each modelled thread its own index, so the
//! models cover a thread taking from another thread's slot.
//!
//! Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p hoare
//! --release --test loom_pool`.
#![cfg(loom)]

use hoare::sync::{Pool, Pooled};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;

/// Counts makes and drops, and flags an object lent to two holders at once.
struct Obj {
    in_use: AtomicBool,
    drops: Arc<AtomicUsize>,
}

impl Drop for Obj {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn pool(max_idle: usize) -> (Arc<Pool<Obj>>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (made, drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (m, d) = (made.clone(), drops.clone());
    let pool = Pool::with_max_idle(
        move || {
            m.fetch_add(1, Ordering::SeqCst);
            Obj {
                in_use: AtomicBool::new(false),
                drops: d.clone(),
            }
        },
        max_idle,
    );
    (Arc::new(pool), made, drops)
}

fn use_once(pool: &Pool<Obj>) {
    let obj = pool.get();
    assert!(!obj.in_use.swap(true, Ordering::SeqCst), "lent twice");
    obj.in_use.store(false, Ordering::SeqCst);
}

/// An object put back by one thread is taken by another, whose own slot is
/// empty: the constructor is never called and the object is dropped once.
#[test]
fn an_object_moves_between_threads_slots() {
    loom::model(|| {
        let (pool, made, drops) = pool(1);
        let obj = Pooled::take(pool.get());
        let taker = {
            let pool = pool.clone();
            thread::spawn(move || {
                let got = pool.get();
                assert!(!got.in_use.load(Ordering::SeqCst));
            })
        };
        pool.put(obj);
        taker.join().unwrap();
        drop(pool);
        let made = made.load(Ordering::SeqCst);
        assert!(made == 1 || made == 2, "made {made}");
        assert_eq!(drops.load(Ordering::SeqCst), made);
    });
}

/// Two threads take and return objects at the same time: no object is lent to
/// both, none is lost, and each is dropped exactly once.
#[test]
fn two_threads_take_and_return_at_once() {
    loom::model(|| {
        let (pool, made, drops) = pool(1);
        pool.put(Pooled::take(pool.get())); // one idle object to fight over
        let other = {
            let pool = pool.clone();
            thread::spawn(move || use_once(&pool))
        };
        use_once(&pool);
        other.join().unwrap();
        assert!(pool.idle() <= 3, "one per slot plus one spare");
        drop(pool);
        assert_eq!(drops.load(Ordering::SeqCst), made.load(Ordering::SeqCst));
    });
}

/// A loan is returned while another thread clears the pool and then takes from
/// it: the loaned object is never freed under its holder, and every object is
/// dropped exactly once.
#[test]
fn clear_races_a_loan_and_its_return() {
    loom::model(|| {
        let (pool, made, drops) = pool(1);
        pool.put(Pooled::take(pool.get()));
        let holder = {
            let pool = pool.clone();
            thread::spawn(move || {
                let obj = pool.get();
                assert!(!obj.in_use.swap(true, Ordering::SeqCst), "lent twice");
                obj.in_use.store(false, Ordering::SeqCst);
            })
        };
        pool.clear();
        use_once(&pool);
        holder.join().unwrap();
        drop(pool);
        assert_eq!(drops.load(Ordering::SeqCst), made.load(Ordering::SeqCst));
    });
}
