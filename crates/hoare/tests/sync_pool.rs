//! `hoare::sync::Pool`: reuse, the bound on idle objects, `clear`, panicking
//! constructors, objects moving between threads, and a stress test across threads
//! and tasks in which no object is ever lent to two holders at once.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use hoare::sync::{Pool, PoolError, Pooled, DEFAULT_MAX_IDLE};

/// Counts how many objects were made and dropped.
#[derive(Default)]
struct Census {
    made: AtomicUsize,
    dropped: AtomicUsize,
}

/// A pooled object that reports its drop and detects being lent twice at once.
struct Conn {
    id: usize,
    in_use: AtomicBool,
    census: Arc<Census>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.census.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn counted_pool(max_idle: usize) -> (Pool<Conn>, Arc<Census>) {
    let census = Arc::new(Census::default());
    let c = census.clone();
    let make = move || Conn {
        id: c.made.fetch_add(1, Ordering::SeqCst),
        in_use: AtomicBool::new(false),
        census: c.clone(),
    };
    (Pool::with_max_idle(make, max_idle), census)
}

fn made(census: &Census) -> usize {
    census.made.load(Ordering::SeqCst)
}

fn dropped(census: &Census) -> usize {
    census.dropped.load(Ordering::SeqCst)
}

#[test]
fn pool_is_send_and_sync_and_guards_are_send() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Pool<Vec<u8>>>();
    send::<Pooled<'static, Vec<u8>>>();
    send_sync::<PoolError>();
}

#[test]
fn get_makes_only_when_empty_and_reuses_what_came_back() {
    let (pool, census) = counted_pool(DEFAULT_MAX_IDLE);
    let first = pool.get().id;
    assert_eq!(made(&census), 1);
    for _ in 0..100 {
        assert_eq!(
            pool.get().id,
            first,
            "a returned object is handed out again"
        );
    }
    assert_eq!(made(&census), 1);
    let (a, b) = (pool.get(), pool.get()); // two at once: one more is made
    assert_ne!(a.id, b.id);
    assert_eq!(made(&census), 2);
}

#[test]
fn take_keeps_the_object_out_of_the_pool() {
    let (pool, census) = counted_pool(DEFAULT_MAX_IDLE);
    let conn = Pooled::take(pool.get());
    assert_eq!(pool.idle(), 0);
    assert_ne!(pool.get().id, conn.id, "a taken object never comes back");
    assert_eq!(made(&census), 2);
    drop(conn);
    assert_eq!(dropped(&census), 1);
}

/// The seed's `warmServiceConnCache`: ten connections put in up front serve ten
/// simultaneous requests without calling the constructor again.
#[test]
fn a_warmed_pool_serves_without_making() {
    let (pool, census) = counted_pool(DEFAULT_MAX_IDLE);
    let warm: Vec<_> = (0..10).map(|_| Pooled::take(pool.get())).collect();
    for conn in warm {
        pool.put(conn);
    }
    assert_eq!(pool.idle(), 10);
    let held: Vec<_> = (0..10).map(|_| pool.get()).collect();
    assert_eq!(made(&census), 10, "every request was served from the pool");
    let mut ids: Vec<_> = held.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..10).collect::<Vec<_>>());
}

#[test]
fn a_full_pool_drops_what_comes_back() {
    let (pool, census) = counted_pool(3);
    let held: Vec<_> = (0..10).map(|_| pool.get()).collect();
    drop(held); // all from one thread: one slot plus three spares are kept
    assert_eq!(pool.idle(), 4);
    assert_eq!(dropped(&census), 6);
    drop(pool);
    assert_eq!(dropped(&census), 10, "dropping the pool drops what it kept");
}

#[test]
fn max_idle_zero_keeps_nothing() {
    let (pool, census) = counted_pool(0);
    drop(pool.get());
    pool.put(Pooled::take(pool.get()));
    assert_eq!(pool.idle(), 0);
    assert_eq!((made(&census), dropped(&census)), (2, 2));
}

#[test]
fn clear_drops_idle_objects_and_loans_still_return() {
    let (pool, census) = counted_pool(DEFAULT_MAX_IDLE);
    let loaned = pool.get();
    drop((pool.get(), pool.get()));
    assert_eq!(pool.idle(), 2);
    pool.clear();
    assert_eq!(pool.idle(), 0);
    assert_eq!(dropped(&census), 2);
    let id = loaned.id;
    drop(loaned);
    assert_eq!(pool.get().id, id, "the loan came back after the clear");
}

#[test]
fn a_panicking_constructor_reaches_the_caller_and_the_pool_stays_usable() {
    let fail = Arc::new(AtomicBool::new(true));
    let f = fail.clone();
    let pool = Pool::new(move || {
        if f.load(Ordering::SeqCst) {
            panic!("service unreachable");
        }
        7u32
    });
    let unwound = catch_unwind(AssertUnwindSafe(|| drop(pool.get())));
    assert!(unwound.is_err(), "get lets the constructor's panic through");
    let err = pool.try_get().unwrap_err();
    assert_eq!(err.message(), "service unreachable");
    assert_eq!(
        err.to_string(),
        "sync: pool constructor panicked: service unreachable"
    );
    fail.store(false, Ordering::SeqCst);
    assert_eq!(*pool.try_get().unwrap(), 7);
    assert_eq!(*pool.get(), 7);
}

#[test]
fn an_object_returned_on_another_thread_is_found_from_this_one() {
    let (pool, census) = counted_pool(DEFAULT_MAX_IDLE);
    let conn = Pooled::take(pool.get());
    let id = conn.id;
    std::thread::scope(|s| {
        s.spawn(|| pool.put(conn)); // lands in the other thread's slot
    });
    assert_eq!(pool.get().id, id, "taken from the other thread's slot");
    assert_eq!(made(&census), 1);
}

/// Marks a loan: fails if the object is already lent to someone else.
fn borrow(conn: &Conn) {
    assert!(
        !conn.in_use.swap(true, Ordering::SeqCst),
        "object {} lent to two holders at once",
        conn.id
    );
}

fn give_back(conn: &Conn) {
    conn.in_use.store(false, Ordering::SeqCst);
}

#[test]
fn stress_threads_never_share_an_object() {
    let (pool, census) = counted_pool(4);
    std::thread::scope(|s| {
        for t in 0..4 {
            let pool = &pool;
            s.spawn(move || {
                for i in 0..20_000 {
                    let a = pool.get();
                    borrow(&a);
                    if (i + t) % 3 == 0 {
                        let b = pool.get(); // two at once, sometimes
                        borrow(&b);
                        give_back(&b);
                    }
                    if i % 1000 == 0 {
                        std::thread::yield_now();
                    }
                    give_back(&a);
                }
            });
        }
    });
    let kept = pool.idle();
    drop(pool);
    assert_eq!(made(&census), dropped(&census), "every object dropped once");
    assert!(kept <= 4 + 64, "the bound held: {kept} idle");
}

#[test]
fn stress_tasks_and_threads_share_one_pool() {
    let (pool, census) = counted_pool(8);
    let pool = Arc::new(pool);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..2_000 {
                    let conn = Pooled::take(pool.get());
                    borrow(&conn);
                    tokio::task::yield_now().await; // held across a suspension
                    give_back(&conn);
                    pool.put(conn);
                }
            }));
        }
        let pool2 = pool.clone();
        let thread = std::thread::spawn(move || {
            for _ in 0..20_000 {
                let conn = pool2.get();
                borrow(&conn);
                give_back(&conn);
            }
        });
        for task in tasks {
            task.await.unwrap();
        }
        thread.join().unwrap();
    });
    drop(rt);
    drop(Arc::into_inner(pool).expect("no other handle left"));
    assert_eq!(made(&census), dropped(&census));
}
