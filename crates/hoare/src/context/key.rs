//! Typed keys for context values.

use std::fmt;
use std::marker::PhantomData;

/// The key of a context value of type `T`. Declare keys as `static`s: a key is
/// told apart by its address, so two keys never collide, even with the same name
/// (Go uses an unexported key type for the same purpose).
///
/// ```
/// use hoare::context::{Context, Key};
///
/// static REQUEST_ID: Key<u64> = Key::new("request-id");
/// static OTHER: Key<u64> = Key::new("request-id"); // same name, another key
///
/// let ctx = Context::background().with_value(&REQUEST_ID, 42);
/// assert_eq!(ctx.value(&REQUEST_ID), Some(&42));
/// assert_eq!(ctx.value(&OTHER), None);
/// ```
pub struct Key<T> {
    name: &'static str,
    _value: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    /// A key named `name` (the name is for debugging only).
    ///
    /// ```
    /// static DEPTH: hoare::context::Key<u32> = hoare::context::Key::new("depth");
    /// assert_eq!(DEPTH.name(), "depth");
    /// ```
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            _value: PhantomData,
        }
    }

    /// The key's name.
    ///
    /// ```
    /// static K: hoare::context::Key<()> = hoare::context::Key::new("k");
    /// assert_eq!(K.name(), "k");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The key's identity: its address, unique among `static` keys.
    pub(crate) fn id(&'static self) -> usize {
        self as *const Self as usize
    }
}

impl<T> fmt::Debug for Key<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Key").field(&self.name).finish()
    }
}
