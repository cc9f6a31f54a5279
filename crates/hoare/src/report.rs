//! Error propagation across module boundaries: the book's chapter 5 `MyError`,
//! `wrapError` and CLI `handleError`.
//!
//! An error should say what happened, where and when (the backtrace where it was
//! wrapped, which the user need not see), carry a message fit for the user, and
//! let anyone who wants more see the whole of it. Errors are of two kinds:
//!
//! - **known edge cases** (a disk that is full, a connection that dropped): each
//!   module wraps these in its *own* error type at its boundary, with a message
//!   that makes sense at that level;
//! - **bugs**: anything that reaches the top without such a wrapping.
//!
//! The pieces:
//!
//! | The book | hoare |
//! |---|---|
//! | `MyError{Inner, Message, StackTrace, Misc}` | [`Report`] (cause, message, backtrace and call site, fields) |
//! | `wrapError(err, "cannot … %q", id)` | [`Report::wrap`], or `result.wrap_err(..)` ([`WrapErr`]) |
//! | `type IntermediateErr struct{ error }` | [`module_error!`](crate::module_error)`(pub IntermediateError)` |
//! | `handleError(key, err, msg)` at the CLI | [`CliHandler::handle`] |
//!
//! A [`Report`] works with any [`std::error::Error`] as its cause (`std::io`,
//! `thiserror` types, a `Box<dyn Error>`); an `anyhow::Error` is passed to the
//! handler as `err.as_ref()`.
//!
//! The backtrace is [`Backtrace::capture`]: it is taken when `RUST_BACKTRACE` or
//! `RUST_LIB_BACKTRACE` asks for one (capturing costs tens of microseconds), and
//! the call site that wrapped the error is recorded always.
//!
//! ```
//! use hoare::report::{CliHandler, Report, WrapErr};
//!
//! hoare::module_error!(
//!     /// Errors the job runner knows how to explain.
//!     pub JobError
//! );
//!
//! fn run_job(id: &str) -> Result<(), JobError> {
//!     std::fs::metadata("/no/such/job/binary")
//!         .wrap_err(format!("cannot run job {id:?}: requisite binaries not available"))
//!         .map_err(|report| JobError::from(report.with_field("job", id)))?;
//!     Ok(())
//! }
//!
//! let mut log = Vec::new();
//! let cli = CliHandler::new(&mut log).known::<JobError>();
//! let err = run_job("1").unwrap_err();
//! let shown = cli.handle_with_id(1, &err);
//! assert_eq!(shown.to_string(), r#"[1] cannot run job "1": requisite binaries not available"#);
//! drop(cli);
//! let log = String::from_utf8(log).unwrap();
//! assert!(log.starts_with("[logID: 1]: JobError("), "{log}");
//! ```

#![forbid(unsafe_code)]

use std::backtrace::{Backtrace, BacktraceStatus};
use std::error::Error as StdError;
use std::fmt;
use std::io::Write;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The cause of a [`Report`]: any error that can cross threads.
///
/// ```
/// use hoare::report::{Cause, Report};
///
/// let cause: Cause = "connection reset".into();
/// let report = Report::wrap(cause, "cannot fetch the profile");
/// assert_eq!(report.message(), "cannot fetch the profile");
/// ```
pub type Cause = Box<dyn StdError + Send + Sync + 'static>;

/// An error wrapped at a boundary: a message for the level it was wrapped at, the
/// cause it wraps (if any), the call site and backtrace of the wrapping, and
/// key–value fields (the book's `MyError`).
///
/// `Display` shows the message only; [`source`](StdError::source) is the cause,
/// so the chain can be walked as with any error; `Debug` (`{:#?}`) shows
/// everything, causes included, which is what a log should hold.
///
/// ```
/// use hoare::report::Report;
///
/// let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
/// let err = Report::wrap(io, "cannot load the settings").with_field("path", "/etc/app.toml");
/// assert_eq!(err.to_string(), "cannot load the settings");
/// assert_eq!(err.fields()[0], ("path", "/etc/app.toml".to_string()));
/// assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "no such file");
/// ```
pub struct Report {
    message: String,
    cause: Option<Cause>,
    location: &'static Location<'static>,
    backtrace: Backtrace,
    fields: Vec<(&'static str, String)>,
}

impl Report {
    /// A report of an error that has no underlying cause (the book's
    /// `wrapError(nil, "job binary is not executable")`).
    ///
    /// ```
    /// let err = hoare::report::Report::new("job binary is not executable");
    /// assert!(std::error::Error::source(&err).is_none());
    /// ```
    #[track_caller]
    pub fn new(message: impl Into<String>) -> Self {
        Self::build(None, message.into())
    }

    /// Wraps `cause` with `message` (the book's `wrapError(err, message)`).
    ///
    /// ```
    /// use hoare::report::Report;
    ///
    /// let err = Report::wrap(std::fmt::Error, "cannot render the page");
    /// assert_eq!(err.to_string(), "cannot render the page");
    /// assert!(err.location().file().ends_with(".rs"));
    /// ```
    #[track_caller]
    pub fn wrap(cause: impl Into<Cause>, message: impl Into<String>) -> Self {
        Self::build(Some(cause.into()), message.into())
    }

    #[track_caller]
    fn build(cause: Option<Cause>, message: String) -> Self {
        Self {
            message,
            cause,
            location: Location::caller(),
            backtrace: Backtrace::capture(),
            fields: Vec::new(),
        }
    }

    /// Adds a key–value field (the book's `Misc` map): request IDs, host names,
    /// anything that helps whoever reads the log.
    ///
    /// ```
    /// let err = hoare::report::Report::new("disk full").with_field("host", "db-3");
    /// assert_eq!(err.fields(), [("host", "db-3".to_string())]);
    /// ```
    #[must_use]
    pub fn with_field(mut self, key: &'static str, value: impl fmt::Display) -> Self {
        self.fields.push((key, value.to_string()));
        self
    }

    /// The message given when wrapping.
    ///
    /// ```
    /// assert_eq!(hoare::report::Report::new("oops").message(), "oops");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The fields, in the order they were added.
    ///
    /// ```
    /// assert!(hoare::report::Report::new("oops").fields().is_empty());
    /// ```
    pub fn fields(&self) -> &[(&'static str, String)] {
        &self.fields
    }

    /// Where the error was wrapped (always recorded, even without a backtrace).
    ///
    /// ```
    /// let err = hoare::report::Report::new("oops");
    /// assert_eq!(err.location().line(), line!() - 1);
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// The backtrace of the wrapping; its [`status`](Backtrace::status) says whether
    /// one was captured (see the module docs).
    ///
    /// ```
    /// let err = hoare::report::Report::new("oops");
    /// println!("{}", err.backtrace());
    /// ```
    pub fn backtrace(&self) -> &Backtrace {
        &self.backtrace
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Fields<'a>(&'a [(&'static str, String)]);
        impl fmt::Debug for Fields<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|(k, v)| (k, v)))
                    .finish()
            }
        }
        struct Trace<'a>(&'a Backtrace);
        impl fmt::Debug for Trace<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.0.status() {
                    BacktraceStatus::Captured => write!(f, "\n{}", self.0),
                    _ => f.write_str("not captured (set RUST_BACKTRACE=1)"),
                }
            }
        }
        f.debug_struct("Report")
            .field("message", &self.message)
            .field("cause", &self.cause)
            .field("at", &format_args!("{}", self.location))
            .field("fields", &Fields(&self.fields))
            .field("backtrace", &Trace(&self.backtrace))
            .finish()
    }
}

impl StdError for Report {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn StdError + 'static))
    }
}

/// `.wrap_err(message)` on a `Result`: wraps its error in a [`Report`] with that
/// message, recording the caller's location.
///
/// ```
/// use hoare::report::WrapErr;
///
/// let err = "x".parse::<u8>().wrap_err("the retry count is not a number").unwrap_err();
/// assert_eq!(err.to_string(), "the retry count is not a number");
/// ```
pub trait WrapErr<T> {
    /// Wraps the error, if any, in a [`Report`] with `message`.
    ///
    /// # Errors
    /// The wrapped error.
    ///
    /// ```
    /// use hoare::report::WrapErr;
    ///
    /// assert_eq!("7".parse::<u8>().wrap_err("unused").unwrap(), 7);
    /// ```
    #[track_caller]
    fn wrap_err(self, message: impl Into<String>) -> Result<T, Report>;
}

impl<T, E: Into<Cause>> WrapErr<T> for Result<T, E> {
    #[track_caller]
    fn wrap_err(self, message: impl Into<String>) -> Result<T, Report> {
        match self {
            Ok(v) => Ok(v),
            Err(e) => Err(Report::wrap(e, message)),
        }
    }
}

/// Declares a module's own error type: a newtype over [`Report`]
/// that is how a module says "this is a known edge case, and here is what it
/// means at my level" (the book's `type IntermediateErr struct{ error }`).
///
/// The type shows its report's message, has its report's cause as its source,
/// converts `From<Report>`, derefs to the report, and prints as `Name(Report {..})`
/// with `{:?}`. Attributes (doc comments) may precede the visibility.
///
/// ```
/// use hoare::report::Report;
///
/// hoare::module_error!(
///     /// What the storage layer knows can go wrong.
///     pub StorageError
/// );
///
/// let err = StorageError::from(Report::new("disk full"));
/// assert_eq!(err.to_string(), "disk full");
/// assert_eq!(err.message(), "disk full"); // through Deref
/// ```
///
/// [`Report`]: crate::report::Report
#[macro_export]
macro_rules! module_error {
    ($(#[$attr:meta])* $vis:vis $name:ident) => {
        $(#[$attr])*
        $vis struct $name(pub $crate::report::Report);

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_tuple(::std::stringify!($name)).field(&self.0).finish()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0, f)
            }
        }

        impl ::std::error::Error for $name {
            fn source(&self) -> ::std::option::Option<&(dyn ::std::error::Error + 'static)> {
                ::std::error::Error::source(&self.0)
            }
        }

        impl ::std::convert::From<$crate::report::Report> for $name {
            fn from(report: $crate::report::Report) -> Self {
                Self(report)
            }
        }

        impl ::std::ops::Deref for $name {
            type Target = $crate::report::Report;
            fn deref(&self) -> &$crate::report::Report {
                &self.0
            }
        }
    };
}

/// The message shown for an error that no module wrapped as known: a bug.
///
/// ```
/// use hoare::report::{CliHandler, UNEXPECTED};
///
/// let cli = CliHandler::new(std::io::sink());
/// let shown = cli.handle(&std::fmt::Error); // not a known module error
/// assert_eq!(shown.message, UNEXPECTED);
/// ```
pub const UNEXPECTED: &str = "There was an unexpected issue; please report this as a bug.";

/// What the user is shown: `[ID] message`, the ID pointing into the log.
///
/// ```
/// use hoare::report::CliHandler;
///
/// let cli = CliHandler::new(std::io::sink());
/// let shown = cli.handle(&std::fmt::Error);
/// assert_eq!(shown.id, 1);
/// assert_eq!(shown.to_string(), format!("[1] {}", hoare::report::UNEXPECTED));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserMessage {
    /// The log ID the full error was logged under.
    pub id: u64,
    /// The error's own message for a known error, [`UNEXPECTED`] otherwise.
    pub message: String,
    /// Whether the error was of a known type.
    pub known: bool,
}

impl fmt::Display for UserMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.id, self.message)
    }
}

/// The boundary where errors meet the user (the book's CLI `handleError`): logs
/// the whole error, chain, fields and backtraces, under a log ID, and gives back
/// the line to show the user: the error's message when its type is one declared
/// [`known`](CliHandler::known), the [`UNEXPECTED`] message otherwise.
///
/// Only the outermost type decides: an error that a module let through without
/// wrapping is a bug at that module's level, whatever it wraps.
///
/// ```
/// use hoare::report::{CliHandler, Report};
///
/// hoare::module_error!(pub UploadError);
///
/// let cli = CliHandler::new(std::io::sink()).known::<UploadError>();
/// let known = UploadError::from(Report::new("the server refused the file"));
/// assert_eq!(cli.handle(&known).to_string(), "[1] the server refused the file");
/// let bug = Report::new("index out of range");
/// assert!(!cli.handle(&bug).known);
/// ```
pub struct CliHandler<W> {
    /// The log; the lock keeps one error's lines together.
    log: Mutex<W>,
    /// One test per known type: is the error of that type?
    known: Vec<fn(&(dyn StdError + 'static)) -> bool>,
    next_id: AtomicU64,
}

impl<W: Write> CliHandler<W> {
    /// A handler that logs to `log` and numbers errors from 1.
    ///
    /// ```
    /// let cli = hoare::report::CliHandler::new(std::io::stderr());
    /// # drop(cli);
    /// ```
    pub fn new(log: W) -> Self {
        Self {
            log: Mutex::new(log),
            known: Vec::new(),
            next_id: AtomicU64::new(1),
        }
    }

    /// Declares `E` a known error type: its message is fit to show the user.
    ///
    /// ```
    /// hoare::module_error!(pub ConfigError);
    /// let cli = hoare::report::CliHandler::new(std::io::sink()).known::<ConfigError>();
    /// # drop(cli);
    /// ```
    #[must_use]
    pub fn known<E: StdError + 'static>(mut self) -> Self {
        self.known.push(|err| err.is::<E>());
        self
    }

    /// Handles `err` under the next log ID (1, 2, …).
    ///
    /// ```
    /// let cli = hoare::report::CliHandler::new(std::io::sink());
    /// assert_eq!(cli.handle(&std::fmt::Error).id, 1);
    /// assert_eq!(cli.handle(&std::fmt::Error).id, 2);
    /// ```
    pub fn handle(&self, err: &(dyn StdError + 'static)) -> UserMessage {
        // ORDERING: the counter only hands out distinct numbers.
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.handle_with_id(id, err)
    }

    /// Handles `err` under the log ID `id` (the book passes `1`): writes
    /// `[logID: id]: {err:#?}` and each cause in turn to the log, and returns the
    /// line for the user. A log that cannot be written to does not stop the user
    /// from seeing the message.
    ///
    /// ```
    /// let cli = hoare::report::CliHandler::new(std::io::sink());
    /// assert_eq!(cli.handle_with_id(7, &std::fmt::Error).id, 7);
    /// ```
    pub fn handle_with_id(&self, id: u64, err: &(dyn StdError + 'static)) -> UserMessage {
        let known = self.is_known(err);
        {
            let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(log, "[logID: {id}]: {err:#?}");
            let mut cause = err.source();
            while let Some(c) = cause {
                let _ = writeln!(log, "[logID: {id}]: caused by: {c}");
                cause = c.source();
            }
            let _ = log.flush();
        }
        tracing::error!(log_id = id, known, error = %err, "error reported to the user");
        UserMessage {
            id,
            message: if known {
                err.to_string()
            } else {
                UNEXPECTED.to_string()
            },
            known,
        }
    }

    fn is_known(&self, err: &(dyn StdError + 'static)) -> bool {
        self.known.iter().any(|is| is(err))
    }
}

impl<W> fmt::Debug for CliHandler<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CliHandler")
            .field("known_types", &self.known.len())
            .field("next_id", &self.next_id.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}
