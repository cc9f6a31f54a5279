//! The select case of the receivers that read other receivers through shared
//! state, `pattern::bridge` and `pattern::take`: what such a case registers
//! with, and how it finishes or gives back what it held.

use super::case::{PullCase, RecvSlot};
use crate::chan::bridge::{Bridge, Look};
use crate::chan::take::{self, Take};
use crate::chan::waiter::{Operation, Waiter};
use crate::chan::Receiver;

/// What a bridge or take receiver's case registered with. For a bridge: the
/// current stream (shared with the bridge, kept until the case finishes), the
/// stream of streams (holding the pull role), or the bridge's `changed` queue.
/// For a take: its source (holding a claim), or its `changed` queue.
pub(crate) struct AdapterCase<T> {
    stream: Option<std::sync::Arc<Receiver<T>>>,
    sub: RecvSlot<T>,
    pull: Option<Box<dyn PullCase<T> + Send>>,
    on_changed: bool,
}

impl<T> Default for AdapterCase<T> {
    fn default() -> Self {
        Self {
            stream: None,
            sub: RecvSlot::default(),
            pull: None,
            on_changed: false,
        }
    }
}

impl<T> AdapterCase<T> {
    /// # Safety
    /// As for [`Case::register`](super::case::Case::register); `self` is boxed
    /// and stays put until unregistered.
    pub(crate) unsafe fn register(
        &mut self,
        b: &Bridge<T>,
        waiter: &Waiter,
        oper: Operation,
    ) -> bool {
        if b.ctx.is_done() {
            return true;
        }
        match b.look() {
            Look::End => true,
            Look::Stream(s) => {
                let s = self.stream.insert(s);
                // SAFETY: the caller's contract, passed on for the stream.
                unsafe { self.sub.register(Some(&**s), waiter, oper) }
            }
            Look::Changed => {
                b.changed.register(waiter, oper);
                self.on_changed = true;
                b.pull_free()
            }
            Look::Pull(role) => {
                role.keep();
                let case = self.pull.insert(b.streams.pull_case());
                // SAFETY: the caller's contract; the pull case is boxed.
                unsafe { case.register(waiter, oper) }
            }
        }
    }

    pub(crate) fn unregister(&mut self, b: &Bridge<T>, waiter: &Waiter, oper: Operation) {
        let selected = waiter.state() == oper.id();
        if let Some(s) = &self.stream {
            self.sub.unregister(Some(&**s), waiter, oper);
            if !selected {
                self.stream = None;
            }
        }
        if std::mem::take(&mut self.on_changed) {
            b.changed.unregister(waiter, oper);
        }
        if let Some(case) = self.pull.as_mut() {
            case.unregister(waiter, oper);
            if !selected {
                self.pull = None;
                b.release();
            }
        }
    }

    /// Finishes a selected case: the value a stream handed over, if any (after
    /// installing a stream the pull received; the caller then tries the bridge).
    pub(crate) fn on_selected(&mut self, b: &Bridge<T>) -> Option<T> {
        if let Some(s) = self.stream.take() {
            if self.sub.on_selected(Some(&*s)) {
                return self.sub.take_output();
            }
        } else if let Some(mut case) = self.pull.take() {
            let role = b.resume_role();
            if case.on_selected() {
                role.install(case.take_output());
            }
        }
        None
    }

    pub(crate) fn abandon(&mut self, b: &Bridge<T>) {
        if let Some(s) = self.stream.take() {
            self.sub.abandon(Some(&*s));
        }
        if let Some(mut case) = self.pull.take() {
            // A stream the stream of streams handed over goes back to it.
            case.abandon();
            b.release();
        }
    }
}

impl<T> AdapterCase<T> {
    /// # Safety
    /// As for [`Case::register`](super::case::Case::register); `self` is boxed
    /// and stays put until unregistered.
    pub(crate) unsafe fn register_take(
        &mut self,
        t: &Take<T>,
        waiter: &Waiter,
        oper: Operation,
    ) -> bool {
        if t.ctx.is_done() {
            return true;
        }
        match t.claim() {
            take::Look::Source(s) => {
                let s = self.stream.insert(s);
                // SAFETY: the caller's contract, passed on for the source.
                unsafe { self.sub.register(Some(&**s), waiter, oper) }
            }
            take::Look::Claimed => {
                t.changed.register(waiter, oper);
                self.on_changed = true;
                t.may_look()
            }
            // Ended (`claim` takes nothing, so it finds no value).
            _ => true,
        }
    }

    pub(crate) fn unregister_take(&mut self, t: &Take<T>, waiter: &Waiter, oper: Operation) {
        if let Some(s) = &self.stream {
            self.sub.unregister(Some(&**s), waiter, oper);
            if waiter.state() != oper.id() {
                self.stream = None;
                t.settle(false);
            }
        }
        if std::mem::take(&mut self.on_changed) {
            t.changed.unregister(waiter, oper);
        }
    }

    /// Finishes a selected case: the value the source handed over or has now,
    /// which settles the claim.
    pub(crate) fn on_selected_take(&mut self, t: &Take<T>) -> Option<T> {
        let s = self.stream.take()?;
        let got = if self.sub.on_selected(Some(&*s)) {
            self.sub.take_output()
        } else {
            None
        };
        t.settle(got.is_some());
        got
    }

    pub(crate) fn abandon_take(&mut self, t: &Take<T>) {
        if let Some(s) = self.stream.take() {
            // A value the source handed over goes back to it.
            self.sub.abandon(Some(&*s));
            t.settle(false);
        }
    }
}
