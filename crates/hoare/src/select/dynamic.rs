//! [`Select`]: a select over cases known at run time (Go's `reflect.Select`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::case::{Case, RecvOperand, RecvSlot, SendOperand, SendSlot};
use super::run::{run_blocking, CaseList, Driver};
use super::{SelectTimeoutError, TrySelectError};
use crate::chan::waiter::{Operation, Waiter};
use crate::chan::{Receiver, SendError};

/// A case of a [`Select`], with the function that turns its result into `R`.
trait DynCase<R>: Case + Send {
    fn case(&mut self) -> &mut dyn Case;
    /// The fired case's result, mapped.
    fn take(&mut self) -> R;
    /// Disables the case for good.
    fn disable(&mut self);
}

/// A receive case owning its operand.
struct Recv<O, T, F> {
    operand: O,
    enabled: bool,
    slot: RecvSlot<T>,
    map: F,
}

impl<O: RecvOperand<Item = T>, T, F> Recv<O, T, F> {
    fn rx(&self) -> Option<&Receiver<T>> {
        self.operand.receiver().filter(|_| self.enabled)
    }
}

impl<O: RecvOperand<Item = T>, T, F> Case for Recv<O, T, F> {
    fn try_fire(&mut self) -> bool {
        let rx = self.operand.receiver().filter(|_| self.enabled);
        self.slot.try_fire(rx)
    }
    unsafe fn register(&mut self, waiter: &Waiter, oper: Operation) -> bool {
        let rx = self.operand.receiver().filter(|_| self.enabled);
        // SAFETY: the caller's contract.
        unsafe { self.slot.register(rx, waiter, oper) }
    }
    fn unregister(&mut self, waiter: &Waiter, oper: Operation) {
        let rx = self.operand.receiver().filter(|_| self.enabled);
        self.slot.unregister(rx, waiter, oper);
    }
    fn on_selected(&mut self) -> bool {
        let rx = self.operand.receiver().filter(|_| self.enabled);
        self.slot.on_selected(rx)
    }
    fn abandon(&mut self) {
        let rx = self.operand.receiver().filter(|_| self.enabled);
        self.slot.abandon(rx);
    }
    fn due(&self) -> Option<Instant> {
        RecvSlot::due(self.rx())
    }
}

impl<O, T, R, F> DynCase<R> for Recv<O, T, F>
where
    O: RecvOperand<Item = T> + Send,
    T: Send,
    F: FnMut(Option<T>) -> R + Send,
{
    fn case(&mut self) -> &mut dyn Case {
        self
    }
    fn take(&mut self) -> R {
        (self.map)(self.slot.take_output())
    }
    fn disable(&mut self) {
        self.enabled = false;
    }
}

/// A send case owning its operand.
struct Send_<O, T, F> {
    operand: O,
    slot: SendSlot<T>,
    map: F,
}

impl<O: SendOperand<Item = T>, T, F> Case for Send_<O, T, F> {
    fn try_fire(&mut self) -> bool {
        self.slot.try_fire(self.operand.sender())
    }
    unsafe fn register(&mut self, waiter: &Waiter, oper: Operation) -> bool {
        // SAFETY: the caller's contract.
        unsafe { self.slot.register(self.operand.sender(), waiter, oper) }
    }
    fn unregister(&mut self, waiter: &Waiter, oper: Operation) {
        self.slot.unregister(self.operand.sender(), waiter, oper);
    }
    fn on_selected(&mut self) -> bool {
        self.slot.on_selected(self.operand.sender())
    }
    fn abandon(&mut self) {
        self.slot.abandon(self.operand.sender());
    }
    fn due(&self) -> Option<Instant> {
        None
    }
}

impl<O, T, R, F> DynCase<R> for Send_<O, T, F>
where
    O: SendOperand<Item = T> + Send,
    T: Send,
    F: FnMut(Result<(), SendError<T>>) -> R + Send,
{
    fn case(&mut self) -> &mut dyn Case {
        self
    }
    fn take(&mut self) -> R {
        (self.map)(self.slot.take_output())
    }
    fn disable(&mut self) {
        self.slot.disable();
    }
}

type Cases<'a, R> = Vec<Box<dyn DynCase<R> + 'a>>;

impl<R> CaseList for Cases<'_, R> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn case(&mut self, i: usize) -> &mut dyn Case {
        self[i].case()
    }
}

/// A select over a number of cases known only at run time: Go's `reflect.Select`.
///
/// Add receive and send cases, each with a function that turns its result into one
/// type `R`; then [`wait`](Select::wait) (or [`try_wait`](Select::try_wait),
/// [`wait_timeout`](Select::wait_timeout), [`wait_async`](Select::wait_async)),
/// which returns the index of the case that fired and its mapped result. The
/// guarantees are those of [`select!`](crate::select!): exactly one case takes
/// effect, chosen uniformly at random among the ready ones.
///
/// A `Select` can wait many times. A receive case stays; a send case that fired is
/// spent (its value is gone) and never fires again; [`remove`](Select::remove)
/// disables a case, for example one whose channel is closed. Indices never change.
///
/// Waiting allocates nothing after the first wait; cases are boxed when added.
///
/// ```
/// use hoare::chan;
/// use hoare::select::Select;
///
/// let channels: Vec<_> = (0..3).map(|_| chan::<u32>(1)).collect();
/// channels[2].0.send(7).unwrap();
///
/// let mut sel = Select::new();
/// for (_, rx) in &channels {
///     sel.recv(rx, |v| v);
/// }
/// assert_eq!(sel.wait(), (2, Some(7)));
/// ```
pub struct Select<'a, R> {
    cases: Cases<'a, R>,
    /// The async wait state, boxed so that its address is stable while channels
    /// hold it, even if a wait's future is leaked and the `Select` moves.
    driver: Option<Box<Driver>>,
}

impl<R> fmt::Debug for Select<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("cases", &self.cases.len())
            .finish_non_exhaustive()
    }
}

impl<R> Default for Select<'_, R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, R> Select<'a, R> {
    /// An empty select.
    ///
    /// ```
    /// let sel: hoare::select::Select<'_, ()> = hoare::select::Select::new();
    /// assert!(sel.is_empty());
    /// ```
    pub fn new() -> Self {
        Self {
            cases: Vec::new(),
            driver: None,
        }
    }

    /// Adds a case receiving from `rx` (any [`RecvOperand`]: `&Receiver<T>`, an owned
    /// receiver, or an `Option`); `map` turns its result (`None`: closed and
    /// drained) into `R`. Returns the case's index.
    ///
    /// ```
    /// use hoare::{chan, select::Select};
    ///
    /// let (tx, rx) = chan::<i32>(1);
    /// drop(tx);
    /// let mut sel = Select::new();
    /// let i = sel.recv(&rx, |v| v.is_none());
    /// assert_eq!(sel.wait(), (i, true)); // closed: fires with None
    /// ```
    pub fn recv<O, T, F>(&mut self, rx: O, map: F) -> usize
    where
        O: RecvOperand<Item = T> + Send + 'a,
        T: Send + 'a,
        F: FnMut(Option<T>) -> R + Send + 'a,
        R: 'a,
    {
        self.settle();
        self.cases.push(Box::new(Recv {
            operand: rx,
            enabled: true,
            slot: RecvSlot::default(),
            map,
        }));
        self.cases.len() - 1
    }

    /// Adds a case sending `value` on `tx`; `map` turns its result into `R`. Returns
    /// the case's index. Once it has fired, the case is spent.
    ///
    /// ```
    /// use hoare::{chan, select::Select};
    ///
    /// let (tx, rx) = chan::<i32>(1);
    /// let mut sel = Select::new();
    /// sel.send(&tx, 5, |res| res.is_ok());
    /// assert_eq!(sel.wait(), (0, true));
    /// assert_eq!(rx.recv(), Some(5));
    /// ```
    pub fn send<O, T, F>(&mut self, tx: O, value: T, map: F) -> usize
    where
        O: SendOperand<Item = T> + Send + 'a,
        T: Send + 'a,
        F: FnMut(Result<(), SendError<T>>) -> R + Send + 'a,
        R: 'a,
    {
        self.settle();
        self.cases.push(Box::new(Send_ {
            operand: tx,
            slot: SendSlot::new(value),
            map,
        }));
        self.cases.len() - 1
    }

    /// Disables case `index` for good (as if its channel were nil). Returns false
    /// when there is no such case.
    ///
    /// ```
    /// use hoare::{chan, select::Select};
    ///
    /// let (tx, rx) = chan::<i32>(1);
    /// tx.send(1).unwrap();
    /// let mut sel = Select::new();
    /// let i = sel.recv(&rx, |v| v);
    /// assert!(sel.remove(i));
    /// assert!(sel.try_wait().is_err());
    /// ```
    pub fn remove(&mut self, index: usize) -> bool {
        self.settle();
        match self.cases.get_mut(index) {
            Some(case) => {
                case.disable();
                true
            }
            None => false,
        }
    }

    /// The number of cases added (removed ones included).
    ///
    /// ```
    /// let (_tx, rx) = hoare::chan::<i32>(0);
    /// let mut sel = hoare::select::Select::new();
    /// sel.recv(&rx, |v| v);
    /// assert_eq!(sel.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// Whether no case was added.
    ///
    /// ```
    /// assert!(hoare::select::Select::<()>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// Blocks until a case fires; returns its index and mapped result. With no
    /// enabled case, blocks forever, as Go's `select {}` does.
    ///
    /// ```
    /// use hoare::{chan, select::Select};
    ///
    /// let (tx, rx) = chan::<&str>(0);
    /// std::thread::spawn(move || tx.send("hi").unwrap());
    /// let mut sel = Select::new();
    /// sel.recv(&rx, |v| v);
    /// assert_eq!(sel.wait(), (0, Some("hi")));
    /// ```
    pub fn wait(&mut self) -> (usize, R) {
        self.settle();
        match run_blocking(&mut self.cases, false, None) {
            Some(i) => (i, self.cases[i].take()),
            None => unreachable!("a select without deadline or default returns a case"),
        }
    }

    /// Fires a case that is ready now, as a select with a `default` case does.
    ///
    /// # Errors
    /// [`TrySelectError`] when no case is ready.
    ///
    /// ```
    /// use hoare::{chan, select::Select};
    ///
    /// let (_tx, rx) = chan::<i32>(0);
    /// let mut sel = Select::new();
    /// sel.recv(&rx, |v| v);
    /// assert!(sel.try_wait().is_err());
    /// ```
    pub fn try_wait(&mut self) -> Result<(usize, R), TrySelectError> {
        self.settle();
        match run_blocking(&mut self.cases, true, None) {
            Some(i) => Ok((i, self.cases[i].take())),
            None => Err(TrySelectError),
        }
    }

    /// Blocks until a case fires or `timeout` passes. A zero timeout behaves as
    /// [`try_wait`](Select::try_wait); one too long to represent waits forever.
    ///
    /// # Errors
    /// [`SelectTimeoutError`] when no case fired in time.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hoare::{chan, select::Select};
    ///
    /// let (_tx, rx) = chan::<i32>(0);
    /// let mut sel = Select::new();
    /// sel.recv(&rx, |v| v);
    /// assert!(sel.wait_timeout(Duration::from_millis(1)).is_err());
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<(usize, R), SelectTimeoutError> {
        match crate::time::now().checked_add(timeout) {
            Some(deadline) => self.wait_deadline(deadline),
            None => Ok(self.wait()),
        }
    }

    /// Blocks until a case fires or `deadline` passes.
    ///
    /// # Errors
    /// [`SelectTimeoutError`] when no case fired in time.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use hoare::{chan, select::Select};
    ///
    /// let (tx, rx) = chan::<i32>(1);
    /// tx.send(3).unwrap();
    /// let mut sel = Select::new();
    /// sel.recv(&rx, |v| v);
    /// let soon = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(sel.wait_deadline(soon), Ok((0, Some(3))));
    /// ```
    pub fn wait_deadline(&mut self, deadline: Instant) -> Result<(usize, R), SelectTimeoutError> {
        self.settle();
        match run_blocking(&mut self.cases, false, Some(deadline)) {
            Some(i) => Ok((i, self.cases[i].take())),
            None => Err(SelectTimeoutError),
        }
    }

    /// Waits in async code until a case fires. Dropping the future loses no value.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use hoare::{chan, select::Select};
    ///
    /// let (tx, rx) = chan::<i32>(0);
    /// tokio::spawn(async move { tx.send_async(4).await.unwrap() });
    /// let mut sel = Select::new();
    /// sel.recv(&rx, |v| v);
    /// assert_eq!(sel.wait_async().await, (0, Some(4)));
    /// # }
    /// ```
    pub async fn wait_async(&mut self) -> (usize, R) {
        match (Wait {
            sel: self,
            deadline: None,
        })
        .await
        {
            Some(out) => out,
            None => unreachable!("a select without deadline or default returns a case"),
        }
    }

    /// Waits in async code until a case fires or `timeout` passes. A zero timeout
    /// behaves as [`try_wait`](Select::try_wait). Inside a tokio runtime the wait
    /// uses tokio's timer (and clock), so the runtime needs its time driver.
    ///
    /// # Errors
    /// [`SelectTimeoutError`] when no case fired in time.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use hoare::{chan, select::Select};
    ///
    /// let (_tx, rx) = chan::<i32>(0);
    /// let mut sel = Select::new();
    /// sel.recv(&rx, |v| v);
    /// assert!(sel.wait_async_timeout(Duration::from_millis(1)).await.is_err());
    /// # }
    /// ```
    pub async fn wait_async_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<(usize, R), SelectTimeoutError> {
        let Some(deadline) = crate::time::now().checked_add(timeout) else {
            return Ok(self.wait_async().await);
        };
        (Wait {
            sel: self,
            deadline: Some(deadline),
        })
        .await
        .ok_or(SelectTimeoutError)
    }

    /// Withdraws what an abandoned async wait left registered (its future leaked).
    fn settle(&mut self) {
        if let Some(driver) = &mut self.driver {
            driver.cancel(&mut self.cases);
        }
    }
}

impl<R> Drop for Select<'_, R> {
    fn drop(&mut self) {
        self.settle();
    }
}

/// One async wait of a [`Select`]. Everything the channels point to (the driver,
/// the boxed cases) is owned by the `Select`, which withdraws it if this future is
/// leaked, so the future itself may move.
struct Wait<'s, 'a, R> {
    sel: &'s mut Select<'a, R>,
    deadline: Option<Instant>,
}

impl<R> Future for Wait<'_, '_, R> {
    type Output = Option<(usize, R)>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let deadline = self.deadline;
        let sel = &mut *self.sel;
        let driver = sel.driver.get_or_insert_with(Box::default);
        // SAFETY: the driver is boxed and the cases are boxed, both owned by the
        // `Select`, which cancels the driver before a case changes or goes away
        // (`settle`), also when this future is leaked.
        let r = unsafe { driver.poll(cx, &mut sel.cases, false, deadline) };
        r.map(|fired| fired.map(|i| (i, sel.cases[i].take())))
    }
}

impl<R> Drop for Wait<'_, '_, R> {
    fn drop(&mut self) {
        self.sel.settle();
    }
}
