//! `select!` and `select_async!`: one grammar, parsed by one internal macro.

/// Waits on several channel operations at once and runs the arm of the one that
/// takes effect: Go's `select`, for threads.
///
/// ```text
/// select! {
///     recv(rx) -> v => …,           // v: Option<T> (None: closed and drained)
///     send(tx, value) -> res => …,  // res: Result<(), SendError<T>>
///     default => …,                 // optional: makes the select non-blocking
/// }
/// ```
///
/// - **Exactly one case takes effect.** When several are ready, one is chosen
///   uniformly at random. A receive that is not chosen takes nothing; a send that is
///   not chosen sends nothing.
/// - **Operands** are `&Receiver<T>` / `&Sender<T>`, owned ends (such as
///   [`time::after(d)`](crate::time::after)), or an `Option` of one: `None` disables
///   the case, as a nil channel does in Go (see [`RecvOperand`](crate::select::RecvOperand)).
/// - **The value of a send case is evaluated when the select starts**, as in Go; if
///   another case fires, it is dropped without reaching the channel.
/// - **A closed channel fires**: a receive with `None`, a send with
///   `Err(SendError(value))`. Nothing panics.
/// - **No case enabled and no `default`:** the select blocks forever, as Go's does.
/// - Arms are expressions of one type; they may `break`, `continue`, `return` or
///   use `?` of the enclosing code. At most 32 cases (use [`Select`](crate::select::Select)
///   for more, or for a number known only at run time).
///
/// Blocks the thread; in async code use [`select_async!`](crate::select_async).
///
/// ```
/// use std::thread;
/// use hoare::{chan, select};
///
/// let (tx1, rx1) = chan::<&str>(0);
/// let (tx2, rx2) = chan::<&str>(0);
/// thread::spawn(move || tx1.send("one").unwrap()); // then drops tx1: closed
/// thread::spawn(move || tx2.send("two").unwrap());
/// // Go's idiom: a closed channel is always ready, so set it to nil (None).
/// let (mut a, mut b) = (Some(&rx1), Some(&rx2));
/// let mut got = Vec::new();
/// while a.is_some() || b.is_some() {
///     select! {
///         recv(a) -> msg => match msg {
///             Some(m) => got.push(m),
///             None => a = None,
///         },
///         recv(b) -> msg => match msg {
///             Some(m) => got.push(m),
///             None => b = None,
///         },
///     }
/// }
/// got.sort();
/// assert_eq!(got, ["one", "two"]);
/// ```
///
/// A non-blocking send (Go's `select` with `default`):
///
/// ```
/// use hoare::{chan, select};
///
/// let (tx, _rx) = chan::<i32>(0); // nobody receives
/// let sent = select! {
///     send(&tx, 1) -> res => res.is_ok(),
///     default => false,
/// };
/// assert!(!sent);
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(
            blocking [
            (__c0 0) (__c1 1) (__c2 2) (__c3 3) (__c4 4) (__c5 5) (__c6 6) (__c7 7)
            (__c8 8) (__c9 9) (__c10 10) (__c11 11) (__c12 12) (__c13 13) (__c14 14)
            (__c15 15) (__c16 16) (__c17 17) (__c18 18) (__c19 19) (__c20 20)
            (__c21 21) (__c22 22) (__c23 23) (__c24 24) (__c25 25) (__c26 26)
            (__c27 27) (__c28 28) (__c29 29) (__c30 30) (__c31 31)
            ] [] [] $($tokens)*
        )
    };
}

/// [`select!`](crate::select!) for async code: the same grammar and guarantees,
/// awaited by itself (write no `.await` after it), as `tokio::select!` is.
///
/// It waits without blocking the thread, on any executor. Dropping the enclosing
/// future at any point loses no value: a value a sender had already handed to a
/// receive case goes to another receiver. Its future is `Send` when the values are,
/// and only then:
///
/// ```compile_fail
/// use std::rc::Rc;
/// use hoare::{chan, select_async};
///
/// fn spawnable<F: std::future::Future + Send>(_: F) {}
///
/// let (_tx, rx) = chan::<Rc<u8>>(1);
/// spawnable(async move {
///     select_async! { recv(&rx) -> v => drop(v) }
/// });
/// ```
///
/// An unchosen send case's value is dropped when the select ends, after the chosen
/// arm has run. If the select is dropped just after a receiver took the value of
/// an unbuffered send case, that value was sent (the receiver has it) though no arm
/// ran to say so.
///
/// Timer cases wait on tokio's timer inside a tokio runtime, which then needs its
/// time driver (`enable_time`), as `tokio::time::sleep` does; see [`time`](crate::time).
///
/// ```
/// use hoare::{chan, select_async};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = chan::<u32>(0);
/// let (quit_tx, quit_rx) = chan::<()>(0);
/// let worker = tokio::spawn(async move {
///     let mut sum = 0;
///     loop {
///         select_async! {
///             recv(&rx) -> v => sum += v.unwrap_or(0),
///             recv(&quit_rx) -> _ => return sum,
///         }
///     }
/// });
/// for i in 1..=3 {
///     tx.send_async(i).await.unwrap();
/// }
/// quit_tx.send_async(()).await.unwrap();
/// assert_eq!(worker.await.unwrap(), 6);
/// # }
/// ```
#[macro_export]
macro_rules! select_async {
    ($($tokens:tt)*) => {
        $crate::__select_parse!(
            async [
            (__c0 0) (__c1 1) (__c2 2) (__c3 3) (__c4 4) (__c5 5) (__c6 6) (__c7 7)
            (__c8 8) (__c9 9) (__c10 10) (__c11 11) (__c12 12) (__c13 13) (__c14 14)
            (__c15 15) (__c16 16) (__c17 17) (__c18 18) (__c19 19) (__c20 20)
            (__c21 21) (__c22 22) (__c23 23) (__c24 24) (__c25 25) (__c26 26)
            (__c27 27) (__c28 28) (__c29 29) (__c30 30) (__c31 31)
            ] [] [] $($tokens)*
        )
    };
}

/// Parses the cases of `select!`/`select_async!` one at a time, giving each a name
/// and an index, then hands them to `__select_emit!`. State:
/// `mode [unused names] [parsed cases] [default arm] tokens…`.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // recv: a block arm (with or without a comma after it), or an expression arm.
    ($mode:ident [($n:ident $i:tt) $($names:tt)*] [$($cases:tt)*] [$($def:tt)*]
        recv($r:expr) -> $p:pat => $body:block, $($tail:tt)*) => {
        $crate::__select_parse!($mode [$($names)*] [$($cases)* ($n $i recv
            [let $n = $r; let mut $n = $crate::select::__private::RecvCase::new(
                $crate::select::RecvOperand::receiver(&$n));] $p => $body)] [$($def)*] $($tail)*)
    };
    ($mode:ident [($n:ident $i:tt) $($names:tt)*] [$($cases:tt)*] [$($def:tt)*]
        recv($r:expr) -> $p:pat => $body:block $($tail:tt)*) => {
        $crate::__select_parse!($mode [$($names)*] [$($cases)* ($n $i recv
            [let $n = $r; let mut $n = $crate::select::__private::RecvCase::new(
                $crate::select::RecvOperand::receiver(&$n));] $p => $body)] [$($def)*] $($tail)*)
    };
    ($mode:ident [($n:ident $i:tt) $($names:tt)*] [$($cases:tt)*] [$($def:tt)*]
        recv($r:expr) -> $p:pat => $body:expr $(, $($tail:tt)*)?) => {
        $crate::__select_parse!($mode [$($names)*] [$($cases)* ($n $i recv
            [let $n = $r; let mut $n = $crate::select::__private::RecvCase::new(
                $crate::select::RecvOperand::receiver(&$n));] $p => { $body })] [$($def)*]
            $($($tail)*)?)
    };
    // send: the same three forms.
    ($mode:ident [($n:ident $i:tt) $($names:tt)*] [$($cases:tt)*] [$($def:tt)*]
        send($s:expr, $v:expr) -> $p:pat => $body:block, $($tail:tt)*) => {
        $crate::__select_parse!($mode [$($names)*] [$($cases)* ($n $i send
            [let $n = $s; let mut $n = $crate::select::__private::SendCase::new(
                $crate::select::SendOperand::sender(&$n), $v);] $p => $body)] [$($def)*] $($tail)*)
    };
    ($mode:ident [($n:ident $i:tt) $($names:tt)*] [$($cases:tt)*] [$($def:tt)*]
        send($s:expr, $v:expr) -> $p:pat => $body:block $($tail:tt)*) => {
        $crate::__select_parse!($mode [$($names)*] [$($cases)* ($n $i send
            [let $n = $s; let mut $n = $crate::select::__private::SendCase::new(
                $crate::select::SendOperand::sender(&$n), $v);] $p => $body)] [$($def)*] $($tail)*)
    };
    ($mode:ident [($n:ident $i:tt) $($names:tt)*] [$($cases:tt)*] [$($def:tt)*]
        send($s:expr, $v:expr) -> $p:pat => $body:expr $(, $($tail:tt)*)?) => {
        $crate::__select_parse!($mode [$($names)*] [$($cases)* ($n $i send
            [let $n = $s; let mut $n = $crate::select::__private::SendCase::new(
                $crate::select::SendOperand::sender(&$n), $v);] $p => { $body })] [$($def)*]
            $($($tail)*)?)
    };
    // default, at most once.
    ($mode:ident [$($names:tt)*] [$($cases:tt)*] [$($def:tt)+] default $($tail:tt)*) => {
        ::core::compile_error!("a select has at most one `default` case")
    };
    ($mode:ident [$($names:tt)*] [$($cases:tt)*] [] default => $body:block, $($tail:tt)*) => {
        $crate::__select_parse!($mode [$($names)*] [$($cases)*] [$body] $($tail)*)
    };
    ($mode:ident [$($names:tt)*] [$($cases:tt)*] [] default => $body:block $($tail:tt)*) => {
        $crate::__select_parse!($mode [$($names)*] [$($cases)*] [$body] $($tail)*)
    };
    ($mode:ident [$($names:tt)*] [$($cases:tt)*] [] default => $body:expr $(, $($tail:tt)*)?) => {
        $crate::__select_parse!($mode [$($names)*] [$($cases)*] [{ $body }] $($($tail)*)?)
    };
    // All parsed.
    ($mode:ident [$($names:tt)*] [$($cases:tt)*] [$($def:tt)*]) => {
        $crate::__select_emit!($mode [$($cases)*] [$($def)*])
    };
    // Errors.
    ($mode:ident [] [$($cases:tt)*] [$($def:tt)*] $($tail:tt)+) => {
        ::core::compile_error!("a select takes at most 32 cases; use hoare::select::Select for more")
    };
    ($mode:ident [$($names:tt)*] [$($cases:tt)*] [$($def:tt)*] $($tail:tt)+) => {
        ::core::compile_error!(::core::concat!(
            "expected `recv(rx) -> v => …`, `send(tx, value) -> res => …` or `default => …`, found `",
            ::core::stringify!($($tail)+),
            "`"
        ))
    };
}

/// Expands the parsed cases of a select into its code.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_emit {
    (blocking [$(($n:ident $i:tt $kind:ident [$($make:tt)*] $p:pat => $body:block))*]
        [$($def:tt)*]) => {{
        $( $($make)* )*
        let fired = $crate::select::__private::blocking(
            &mut [$($crate::select::__private::CaseRef::$kind(&mut $n)),*],
            $crate::__select_emit!(@has_default $($def)*),
        );
        match fired {
            $( ::core::option::Option::Some($i) => {
                let $p = $n.into_output();
                $body
            } )*
            _ => $crate::__select_emit!(@default $($def)*),
        }
    }};
    (async [$(($n:ident $i:tt $kind:ident [$($make:tt)*] $p:pat => $body:block))*]
        [$($def:tt)*]) => {{
        $( $($make)* )*
        let fired = {
            // SAFETY: the future is awaited here, at once, so it is dropped before
            // the cases it borrows, which live in the enclosing future.
            let future = unsafe {
                $crate::select::__private::SelectFuture::new(
                    [$($crate::select::__private::CaseRef::$kind(&mut $n)),*],
                    $crate::__select_emit!(@has_default $($def)*),
                )
            };
            future.await
        };
        match fired {
            $( ::core::option::Option::Some($i) => {
                let $p = $n.into_output();
                $body
            } )*
            _ => $crate::__select_emit!(@default $($def)*),
        }
    }};
    (@has_default) => { false };
    (@has_default $def:block) => { true };
    (@default) => { ::core::unreachable!("a select without `default` returns a case") };
    (@default $def:block) => { $def };
}
