//! Port of Go's test/chan/powser1.go: Doug McIlroy's power series over channels
//! ("Squinting at Power Series"). A power series is a demand channel pair: the
//! consumer sends a request on `req`, the producer answers one rational coefficient
//! on `dat`; a denominator of zero marks the end of a finite series. Every operator
//! (add, multiply, differentiate, integrate, exp, substitute, ...) is a process that
//! consumes series and produces one, and `get2` fetches one term from each of two
//! series with a four-case select over send and receive cases, some disabled (Go's
//! nil channels, here `None` operands). `split` copies one series into two that are
//! read at different rates, with a generation of processes per term.
//!
//! Adapted:
//! - Goroutines are tokio tasks (on a 2-worker multi-thread runtime) and Go's
//!   `select` is `select_async!`. A series is split into its two ends: `Ps` (the
//!   consumer's: request sender, data receiver) and `PsOut` (the producer's).
//! - Go's processes loop forever and are abandoned blocked when `main` exits. Here
//!   a process returns when its consumer is gone (a request channel reports closed,
//!   or a send fails), so abandoned series wind down; what is still pending when
//!   the test ends is dropped with the runtime. The exception is `split`: where
//!   Go's generation would block on a channel whose partner is gone, it blocks too
//!   (a closed channel's select case is disabled, like a nil channel), so that one
//!   output's consumer leaving does not cut off the other output.
//! - Go's `split` shares one `*dch2` between its generations and swaps its entries
//!   in place; each generation here gets its own copy of the pair, in the order the
//!   previous generation left it. This is equivalent: a generation swaps only after
//!   it was released by the previous one, when all older generations are done.
//! - Go's global `seqno` (incremented without synchronisation) is an atomic counter.
//! - Go's checks are kept (Ones, Add, Diff, Integ, Cmul, Sub, Mul, Exp, ATan, to
//!   N = 10 terms), and the operators its test leaves unused are checked as well:
//!   Xmul/Monmul, Mon, Shift, Binom, Recip and Subst.

#![allow(clippy::many_single_char_names)]

use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};

use hoare::chan::{self, Receiver, Sender};
use hoare::select_async;

// ------------------------------------------------------------- rationals ---

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Rat {
    num: i64,
    den: i64,
}

fn gcd(u: i64, v: i64) -> i64 {
    if u < 0 {
        return gcd(-u, v);
    }
    if u == 0 {
        return v;
    }
    gcd(v % u, u)
}

/// `u/v` in lowest terms with a positive denominator.
fn i2tor(u: i64, v: i64) -> Rat {
    let g = gcd(u, v);
    if v > 0 {
        Rat {
            num: u / g,
            den: v / g,
        }
    } else {
        Rat {
            num: -u / g,
            den: -v / g,
        }
    }
}

fn itor(u: i64) -> Rat {
    i2tor(u, 1)
}

const ZERO: Rat = Rat { num: 0, den: 1 };
const ONE: Rat = Rat { num: 1, den: 1 };
/// The end mark.
const FINIS: Rat = Rat { num: 1, den: 0 };

fn end(u: Rat) -> bool {
    u.den == 0
}

fn add(u: Rat, v: Rat) -> Rat {
    let g = gcd(u.den, v.den);
    i2tor(
        u.num * (v.den / g) + v.num * (u.den / g),
        u.den * (v.den / g),
    )
}

fn mul(u: Rat, v: Rat) -> Rat {
    let g1 = gcd(u.num, v.den);
    let g2 = gcd(u.den, v.num);
    Rat {
        num: (u.num / g1) * (v.num / g2),
        den: (u.den / g2) * (v.den / g1),
    }
}

fn neg(u: Rat) -> Rat {
    i2tor(-u.num, u.den)
}

fn sub(u: Rat, v: Rat) -> Rat {
    add(u, neg(v))
}

fn inv(u: Rat) -> Rat {
    assert!(u.num != 0, "zero divide in inv");
    i2tor(u.den, u.num)
}

// ------------------------------------------------------ demand channels ---

/// The consumer's end of a series.
#[derive(Clone)]
struct Ps {
    req: Sender<i64>,
    dat: Receiver<Rat>,
}

/// The producer's end of a series.
#[derive(Clone)]
struct PsOut {
    req: Receiver<i64>,
    dat: Sender<Rat>,
}

fn mkdch() -> (Ps, PsOut) {
    let (req_tx, req_rx) = chan::chan(0);
    let (dat_tx, dat_rx) = chan::chan(0);
    (
        Ps {
            req: req_tx,
            dat: dat_rx,
        },
        PsOut {
            req: req_rx,
            dat: dat_tx,
        },
    )
}

fn mkdch2() -> ([Ps; 2], [PsOut; 2]) {
    let (a, a_out) = mkdch();
    let (b, b_out) = mkdch();
    ([a, b], [a_out, b_out])
}

static SEQNO: AtomicI64 = AtomicI64::new(0);

fn seqno() -> i64 {
    SEQNO.fetch_add(1, Relaxed) + 1
}

/// Go's `go f()`: a process that ends quietly (`None`) when its consumers are gone.
fn go(process: impl Future<Output = Option<()>> + Send + 'static) {
    tokio::spawn(async move {
        let _ = process.await;
    });
}

/// A demand: `None` when the consumer is gone.
async fn demanded(out: &PsOut) -> Option<()> {
    out.req.recv_async().await.map(drop)
}

async fn answer(out: &PsOut, dat: Rat) -> Option<()> {
    out.dat.send_async(dat).await.ok()
}

async fn put(dat: Rat, out: &PsOut) -> Option<()> {
    demanded(out).await?;
    answer(out, dat).await
}

async fn get(inp: &Ps) -> Option<Rat> {
    inp.req.send_async(seqno()).await.ok()?;
    inp.dat.recv_async().await
}

/// One term from each of two series, requested and received in whatever order
/// they become ready: Go's `getn` for n = 2.
async fn get2(in0: &Ps, in1: &Ps) -> Option<[Rat; 2]> {
    let mut req = [Some(&in0.req), Some(&in1.req)];
    let mut dat: [Option<&Receiver<Rat>>; 2] = [None, None];
    let mut out = [ZERO; 2];
    for _ in 0..4 {
        let seq = seqno();
        let ([r0, r1], [d0, d1]) = (req, dat);
        // Which step happened: (series, true = request sent / false = data received).
        let (i, requested) = select_async! {
            send(r0, seq) -> r => { r.ok()?; (0, true) },
            send(r1, seq) -> r => { r.ok()?; (1, true) },
            recv(d0) -> it => { out[0] = it?; (0, false) },
            recv(d1) -> it => { out[1] = it?; (1, false) },
        };
        if requested {
            dat[i] = Some([&in0.dat, &in1.dat][i]);
            req[i] = None;
        } else {
            dat[i] = None;
        }
    }
    Some(out)
}

async fn copy(inp: &Ps, out: &PsOut) -> Option<()> {
    loop {
        demanded(out).await?;
        answer(out, get(inp).await?).await?;
    }
}

async fn repeat(dat: Rat, out: PsOut) -> Option<()> {
    loop {
        put(dat, &out).await?;
    }
}

// ---------------------------------------------------------------- split ---

/// Go's blocking operation on an abandoned channel: where Go's goroutine would
/// wait forever for a partner that is gone, wait forever (until the runtime is
/// dropped) instead of ending.
async fn or_block<T>(r: Option<T>) -> T {
    match r {
        Some(v) => v,
        None => std::future::pending().await,
    }
}

/// Receives from whichever of `a` and `b` is ready first: `false` for `a`, `true`
/// for `b`. A closed channel never delivers again (as an abandoned Go channel never
/// would), so its case is disabled; with both closed, this waits forever.
async fn first_of<A: Send, B: Send>(a: &Receiver<A>, b: &Receiver<B>) -> bool {
    let (mut a_gone, mut b_gone) = (false, false);
    loop {
        let (ra, rb) = ((!a_gone).then_some(a), (!b_gone).then_some(b));
        select_async! {
            recv(ra) -> v => match v {
                Some(_) => return false,
                None => a_gone = true,
            },
            recv(rb) -> v => match v {
                Some(_) => return true,
                None => b_gone = true,
            },
        }
    }
}

/// One generation of `split`: serves one term of `inp` to both outputs.
///
/// The newest generation serves requests on `out[0]`; the oldest serves `out[1]`.
/// All but the newest hold data already sent to `out[0]`; when a generation has
/// sent its data to `out[1]`, it releases the next newer one (`wait`) to serve
/// `out[1]` too.
///
/// Unlike the other processes, a generation does not end when a partner is gone:
/// one output's consumer going away (a finite series read to its end) must not
/// stop the service of the other output, so it blocks where Go's would.
fn dosplit(
    inp: Ps,
    mut out: [PsOut; 2],
    wait: Receiver<i32>,
) -> std::pin::Pin<Box<dyn Future<Output = Option<()>> + Send>> {
    Box::pin(async move {
        let both = first_of(&out[0].req, &wait).await;
        if both && first_of(&out[0].req, &out[1].req).await {
            out.swap(0, 1);
        }
        or_block(inp.req.send_async(seqno()).await.ok()).await;
        let (release_tx, release) = chan::chan::<i32>(0);
        go(dosplit(inp.clone(), out.clone(), release));
        let dat = or_block(inp.dat.recv_async().await).await;
        or_block(answer(&out[0], dat).await).await;
        if !both {
            or_block(wait.recv_async().await).await;
        }
        or_block(demanded(&out[1]).await).await;
        or_block(answer(&out[1], dat).await).await;
        or_block(release_tx.send_async(0).await.ok()).await;
        Some(())
    })
}

/// Go's lowercase `split`: starts the first generation and releases it.
async fn split(inp: Ps, out: [PsOut; 2]) -> Option<()> {
    let (release_tx, release) = chan::chan::<i32>(0);
    go(dosplit(inp, out, release));
    release_tx.send_async(0).await.ok()
}

// --------------------------------------------------------------- series ---

/// A pair of series identical to `u`.
#[allow(non_snake_case)]
fn Split(u: Ps) -> [Ps; 2] {
    let (uu, uu_out) = mkdch2();
    go(split(u, uu_out));
    uu
}

#[allow(non_snake_case)]
fn Add(u: Ps, v: Ps) -> Ps {
    let (z, z_out) = mkdch();
    go(async move {
        loop {
            demanded(&z_out).await?;
            let [u0, v0] = get2(&u, &v).await?;
            match (end(u0), end(v0)) {
                (false, false) => answer(&z_out, add(u0, v0)).await?,
                (true, false) => {
                    answer(&z_out, v0).await?;
                    copy(&v, &z_out).await?;
                }
                (false, true) => {
                    answer(&z_out, u0).await?;
                    copy(&u, &z_out).await?;
                }
                (true, true) => answer(&z_out, FINIS).await?,
            }
        }
    });
    z
}

/// `c` times `u`.
#[allow(non_snake_case)]
fn Cmul(c: Rat, u: Ps) -> Ps {
    let (z, z_out) = mkdch();
    go(async move {
        loop {
            demanded(&z_out).await?;
            let u0 = get(&u).await?;
            if end(u0) {
                break;
            }
            answer(&z_out, mul(c, u0)).await?;
        }
        answer(&z_out, FINIS).await
    });
    z
}

#[allow(non_snake_case)]
fn Sub(u: Ps, v: Ps) -> Ps {
    Add(u, Cmul(neg(ONE), v))
}

/// `u` times the monomial x^n.
#[allow(non_snake_case)]
fn Monmul(u: Ps, n: usize) -> Ps {
    let (z, z_out) = mkdch();
    go(async move {
        for _ in 0..n {
            put(ZERO, &z_out).await?;
        }
        copy(&u, &z_out).await
    });
    z
}

#[allow(non_snake_case)]
fn Xmul(u: Ps) -> Ps {
    Monmul(u, 1)
}

#[allow(non_snake_case)]
fn Rep(c: Rat) -> Ps {
    let (z, z_out) = mkdch();
    go(repeat(c, z_out));
    z
}

/// The monomial c x^n.
#[allow(non_snake_case)]
fn Mon(c: Rat, n: usize) -> Ps {
    let (z, z_out) = mkdch();
    go(async move {
        if c.num != 0 {
            for _ in 0..n {
                put(ZERO, &z_out).await?;
            }
            put(c, &z_out).await?;
        }
        put(FINIS, &z_out).await
    });
    z
}

/// `c + x u`.
#[allow(non_snake_case)]
fn Shift(c: Rat, u: Ps) -> Ps {
    let (z, z_out) = mkdch();
    go(async move {
        put(c, &z_out).await?;
        copy(&u, &z_out).await
    });
    z
}

/// Multiply:
///     let U = u + x UU, V = v + x VV;
///     then UV = u v + x (u VV + v UU) + x² UU VV.
#[allow(non_snake_case)]
fn Mul(u: Ps, v: Ps) -> Ps {
    let (z, z_out) = mkdch();
    go(async move {
        demanded(&z_out).await?;
        let [u0, v0] = get2(&u, &v).await?;
        if end(u0) || end(v0) {
            return answer(&z_out, FINIS).await;
        }
        answer(&z_out, mul(u0, v0)).await?;
        let [uu0, uu1] = Split(u);
        let [vv0, vv1] = Split(v);
        let w = Add(Cmul(u0, vv0), Cmul(v0, uu0));
        demanded(&z_out).await?;
        answer(&z_out, get(&w).await?).await?;
        copy(&Add(w, Mul(uu1, vv1)), &z_out).await
    });
    z
}

/// Differentiate.
#[allow(non_snake_case)]
fn Diff(u: Ps) -> Ps {
    let (z, z_out) = mkdch();
    go(async move {
        demanded(&z_out).await?;
        if !end(get(&u).await?) {
            for i in 1.. {
                let u0 = get(&u).await?;
                if end(u0) {
                    break;
                }
                answer(&z_out, mul(itor(i), u0)).await?;
                demanded(&z_out).await?;
            }
        }
        answer(&z_out, FINIS).await
    });
    z
}

/// Integrate, with constant of integration `c`.
#[allow(non_snake_case)]
fn Integ(c: Rat, u: Ps) -> Ps {
    let (z, z_out) = mkdch();
    go(async move {
        put(c, &z_out).await?;
        for i in 1.. {
            demanded(&z_out).await?;
            let u0 = get(&u).await?;
            answer(&z_out, mul(i2tor(1, i), u0)).await?;
            if end(u0) {
                break;
            }
        }
        answer(&z_out, FINIS).await
    });
    z
}

/// The binomial theorem: (1 + x)^c.
#[allow(non_snake_case)]
fn Binom(mut c: Rat) -> Ps {
    let (z, z_out) = mkdch();
    go(async move {
        let mut n = 1;
        let mut t = itor(1);
        while c.num != 0 {
            put(t, &z_out).await?;
            t = mul(mul(t, c), i2tor(1, n));
            c = sub(c, ONE);
            n += 1;
        }
        put(FINIS, &z_out).await
    });
    z
}

/// Reciprocal:
///     let U = u + x UU, Z = z + x ZZ; (u + x UU)(z + x ZZ) = 1;
///     z = 1/u; u ZZ + z UU + x UU ZZ = 0; ZZ = -UU (z + x ZZ) / u.
#[allow(non_snake_case)]
fn Recip(u: Ps) -> Ps {
    let (z, z_out) = mkdch();
    go(async move {
        let (zz, zz_out) = mkdch2();
        let [zz0, zz1] = zz;
        demanded(&z_out).await?;
        let z0 = inv(get(&u).await?);
        answer(&z_out, z0).await?;
        split(Mul(Cmul(neg(z0), u), Shift(z0, zz0)), zz_out).await?;
        copy(&zz1, &z_out).await
    });
    z
}

/// Exponential of a series with constant term 0 (the constant term is ignored):
/// Z = exp(U), DZ = Z DU, integrated.
#[allow(non_snake_case)]
async fn Exp(u: Ps) -> Ps {
    let (zz, zz_out) = mkdch2();
    let [zz0, zz1] = zz;
    split(Integ(ONE, Mul(zz0, Diff(u))), zz_out)
        .await
        .expect("split started");
    zz1
}

/// Substitute `v` for x in `u`, where the leading term of `v` is zero:
///     let U = u + x UU, V = v + x VV; then S(U, V) = u + VV S(V, UU).
/// (A nonzero constant term of `v` is ignored.)
#[allow(non_snake_case)]
fn Subst(u: Ps, v: Ps) -> Ps {
    let (z, z_out) = mkdch();
    go(async move {
        let [vv0, vv1] = Split(v);
        demanded(&z_out).await?;
        let u0 = get(&u).await?;
        answer(&z_out, u0).await?;
        if end(u0) {
            return Some(());
        }
        if end(get(&vv0).await?) {
            put(FINIS, &z_out).await
        } else {
            copy(&Mul(vv0, Subst(u, vv1)), &z_out).await
        }
    });
    z
}

/// Monomial substitution: U(c x^n). Each term u_i is multiplied by c^i and
/// followed by n - 1 zeros.
#[allow(non_snake_case)]
fn MonSubst(u: Ps, c0: Rat, n: usize) -> Ps {
    let (z, z_out) = mkdch();
    go(async move {
        let mut c = ONE;
        loop {
            demanded(&z_out).await?;
            let u0 = get(&u).await?;
            answer(&z_out, mul(u0, c)).await?;
            c = mul(c, c0);
            if end(u0) {
                return answer(&z_out, FINIS).await;
            }
            for _ in 1..n {
                demanded(&z_out).await?;
                answer(&z_out, ZERO).await?;
            }
        }
    });
    z
}

// ---------------------------------------------------------------- tests ---

async fn check(u: &Ps, c: Rat, count: usize, what: &str) {
    for i in 0..count {
        let r = get(u).await.expect("series gone");
        assert_eq!(r, c, "{what}: term {i}");
    }
}

const N: usize = 10;

async fn checka(u: &Ps, a: &[Rat], what: &str) {
    assert_eq!(a.len(), N);
    for (i, &want) in a.iter().enumerate() {
        let got = get(u).await.expect("series gone");
        assert_eq!(got, want, "{what}: term {i}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powser1() {
    let ones = Rep(ONE);
    let twos = Rep(itor(2));

    check(&ones, ONE, 5, "Ones").await;
    check(
        &Add(ones.clone(), ones.clone()),
        itor(2),
        0,
        "Add Ones Ones",
    )
    .await;
    check(
        &Add(ones.clone(), twos.clone()),
        itor(3),
        0,
        "Add Ones Twos",
    )
    .await;
    // Go's checks with count 0 check nothing; these check something.
    check(
        &Add(ones.clone(), ones.clone()),
        itor(2),
        N,
        "Add Ones Ones",
    )
    .await;
    check(
        &Add(ones.clone(), twos.clone()),
        itor(3),
        N,
        "Add Ones Twos",
    )
    .await;

    let mut a: [Rat; N] = std::array::from_fn(|i| itor(i as i64 + 1));
    checka(&Diff(ones.clone()), &a, "Diff").await; // 1 2 3 4 5

    a[0] = ZERO; // integration constant
    for (i, a) in a.iter_mut().enumerate().skip(1) {
        *a = i2tor(1, i as i64);
    }
    checka(&Integ(ZERO, ones.clone()), &a, "Integ").await; // 0 1 1/2 1/3 1/4

    check(&Cmul(neg(ONE), twos.clone()), itor(-2), 10, "CMul").await; // -2 -2 -2
    check(
        &Sub(ones.clone(), twos.clone()),
        itor(-1),
        0,
        "Sub Ones Twos",
    )
    .await;
    check(
        &Sub(ones.clone(), twos.clone()),
        itor(-1),
        N,
        "Sub Ones Twos",
    )
    .await;

    let a: [Rat; N] = std::array::from_fn(|i| itor(i as i64 + 1));
    checka(&Mul(ones.clone(), ones.clone()), &a, "Mul").await; // 1 2 3 4 5

    let a = [
        itor(1),
        itor(1),
        i2tor(3, 2),
        i2tor(13, 6),
        i2tor(73, 24),
        i2tor(167, 40),
        i2tor(4051, 720),
        i2tor(37633, 5040),
        i2tor(43817, 4480),
        i2tor(4_596_553, 362_880),
    ];
    checka(&Exp(ones.clone()).await, &a, "Exp").await; // 1 1 3/2 13/6 73/24

    let at = Integ(ZERO, MonSubst(ones.clone(), neg(ONE), 2));
    let mut a = [ZERO; N];
    let mut c = 1;
    for (i, a) in a.iter_mut().enumerate() {
        if i % 2 == 1 {
            *a = i2tor(c, i as i64);
            c = -c;
        }
    }
    checka(&at, &a, "ATan").await; // 0 1 0 -1/3 0 1/5
}

/// Collects the terms of a finite series up to its end mark.
async fn terms(u: &Ps) -> Vec<Rat> {
    let mut got = Vec::new();
    loop {
        let t = get(u).await.expect("series gone");
        if end(t) {
            return got;
        }
        got.push(t);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powser1_operators_go_leaves_unchecked() {
    let ones = Rep(ONE);

    // x/(1-x) = 0 1 1 1 ...; x³/(1-x) = 0 0 0 1 1 ...
    let a: [Rat; N] = std::array::from_fn(|i| if i == 0 { ZERO } else { ONE });
    checka(&Xmul(ones.clone()), &a, "Xmul").await;
    let a: [Rat; N] = std::array::from_fn(|i| if i < 3 { ZERO } else { ONE });
    checka(&Monmul(ones.clone(), 3), &a, "Monmul").await;

    // 5 + x/(1-x) = 5 1 1 1 ...
    let a: [Rat; N] = std::array::from_fn(|i| if i == 0 { itor(5) } else { ONE });
    checka(&Shift(itor(5), ones.clone()), &a, "Shift").await;

    // Finite series end with the end mark.
    assert_eq!(terms(&Mon(i2tor(2, 3), 2)).await, [ZERO, ZERO, i2tor(2, 3)]);
    assert_eq!(terms(&Mon(ZERO, 2)).await, Vec::<Rat>::new());
    // Finite plus infinite: 2x + 1/(1-x) = 1 3 1 1 1 ...
    let a: [Rat; N] = std::array::from_fn(|i| if i == 1 { itor(3) } else { ONE });
    checka(&Add(Mon(itor(2), 1), ones.clone()), &a, "Add finite").await;
    // A product with a finite factor: x * 1/(1-x) = 0 1 1 1 ...
    let a: [Rat; N] = std::array::from_fn(|i| if i == 0 { ZERO } else { ONE });
    checka(&Mul(Mon(ONE, 1), ones.clone()), &a, "Mul finite").await;
    // (1 + x)^(1/2) = 1 1/2 -1/8 1/16 -5/128 7/256 ... (Go's Binom, ported as it
    // is, stops one term short for a whole exponent, so only 1/2 is checked.)
    let want = [
        ONE,
        i2tor(1, 2),
        i2tor(-1, 8),
        i2tor(1, 16),
        i2tor(-5, 128),
        i2tor(7, 256),
    ];
    check_prefix(&Binom(i2tor(1, 2)), &want, "Binom 1/2").await;

    // 1 / (1/(1-x)) = 1 - x = 1 -1 0 0 0 ...
    let a: [Rat; N] = std::array::from_fn(|i| match i {
        0 => ONE,
        1 => itor(-1),
        _ => ZERO,
    });
    checka(&Recip(ones.clone()), &a, "Recip").await;

    // 1/(1 - x/(1-x)) = (1-x)/(1-2x) = 1 1 2 4 8 16 ...
    let a: [Rat; N] = std::array::from_fn(|i| match i {
        0 => ONE,
        i => itor(1 << (i - 1)),
    });
    checka(&Subst(ones.clone(), Xmul(ones.clone())), &a, "Subst").await;
}

async fn check_prefix(u: &Ps, want: &[Rat], what: &str) {
    for (i, &w) in want.iter().enumerate() {
        assert_eq!(get(u).await.expect("series gone"), w, "{what}: term {i}");
    }
}
