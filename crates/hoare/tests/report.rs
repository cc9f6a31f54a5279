//! The seed notes' Error Propagation example (chapter 5): the job runner, whose
//! low-level module wraps the `stat` failure in its own error type, whose
//! intermediate module first lets it through (a bug at the CLI) and then, after
//! the fix the book describes, wraps it in its own type with a message for the
//! user. Plus errors from `thiserror` and `anyhow` at the same boundary.

use std::io::Write;
use std::sync::{Arc, Mutex};

use hoare::report::{CliHandler, Report, WrapErr, UNEXPECTED};

/// The low-level module: `isGloballyExec`.
mod lowlevel {
    use hoare::report::Report;

    hoare::module_error!(
        /// What the low-level module knows can go wrong.
        pub LowLevelError
    );

    #[cfg(unix)]
    pub fn is_globally_exec(path: &str) -> Result<bool, LowLevelError> {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(info) => Ok(info.permissions().mode() & 0o100 == 0o100),
            Err(e) => {
                let message = format!("stat {path}: {e}");
                Err(LowLevelError(Report::wrap(e, message)))
            }
        }
    }

    #[cfg(not(unix))]
    pub fn is_globally_exec(path: &str) -> Result<bool, LowLevelError> {
        match std::fs::metadata(path) {
            Ok(_) => Ok(true),
            Err(e) => {
                let message = format!("stat {path}: {e}");
                Err(LowLevelError(Report::wrap(e, message)))
            }
        }
    }
}

/// The intermediate module: `runJob`, before and after the book's fix.
mod intermediate {
    use super::lowlevel;
    use hoare::report::Report;

    hoare::module_error!(
        /// What the intermediate module knows can go wrong.
        pub IntermediateError
    );

    const JOB_BIN_PATH: &str = "/bad/job/binary";

    /// The first version: the low-level error goes up unwrapped.
    pub fn run_job_unwrapped(id: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let executable = lowlevel::is_globally_exec(JOB_BIN_PATH)?;
        if !executable {
            return Err(Report::new("job binary is not executable").into());
        }
        Err(Report::new(format!("would run {JOB_BIN_PATH} --id={id}")).into())
    }

    /// After the fix: a known edge case, wrapped in this module's type.
    pub fn run_job(id: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let executable = lowlevel::is_globally_exec(JOB_BIN_PATH).map_err(|e| {
            IntermediateError(
                Report::wrap(
                    e,
                    format!("cannot run job {id:?}: requisite binaries not available"),
                )
                .with_field("job", id),
            )
        })?;
        if !executable {
            return Err(Report::new(format!(
                "cannot run job {id:?}: requisite binaries are not executable"
            ))
            .into());
        }
        Err(Report::new(format!("would run {JOB_BIN_PATH} --id={id}")).into())
    }
}

/// A log sink the test can read back.
#[derive(Clone, Default)]
struct SharedLog(Arc<Mutex<Vec<u8>>>);

impl Write for SharedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedLog {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn cli(log: &SharedLog) -> CliHandler<SharedLog> {
    CliHandler::new(log.clone()).known::<intermediate::IntermediateError>()
}

/// Before the fix the user sees `[1] There was an unexpected issue; please
/// report this as a bug.`, and the log holds the low-level error in full.
#[test]
fn unwrapped_low_level_error_is_reported_as_a_bug() {
    let log = SharedLog::default();
    let err = intermediate::run_job_unwrapped("1").unwrap_err();
    let shown = cli(&log).handle_with_id(1, err.as_ref());
    assert_eq!(
        shown.to_string(),
        "[1] There was an unexpected issue; please report this as a bug."
    );
    assert!(!shown.known);
    let text = log.text();
    assert!(text.starts_with("[logID: 1]: LowLevelError("), "{text}");
    assert!(text.contains("stat /bad/job/binary: "), "{text}");
    assert!(
        text.contains("caused by: "),
        "the io error is logged: {text}"
    );
}

/// After the fix the user sees `[1] cannot run job "1": requisite binaries not
/// available`, and the log holds both module errors, the io error, the fields
/// and where each was wrapped.
#[test]
fn wrapped_error_shows_its_message_to_the_user() {
    let log = SharedLog::default();
    let err = intermediate::run_job("1").unwrap_err();
    let shown = cli(&log).handle_with_id(1, err.as_ref());
    assert_eq!(
        shown.to_string(),
        r#"[1] cannot run job "1": requisite binaries not available"#
    );
    assert!(shown.known);
    let text = log.text();
    assert!(text.starts_with("[logID: 1]: IntermediateError("), "{text}");
    for part in [
        r#"cannot run job \"1\": requisite binaries not available"#,
        "LowLevelError(",
        "stat /bad/job/binary: ",
        r#""job": "1""#,
        "tests/report.rs:",
        "[logID: 1]: caused by: stat /bad/job/binary",
    ] {
        assert!(text.contains(part), "log lacks {part:?}:\n{text}");
    }
}

/// Log IDs count up from 1 when the handler numbers errors itself.
#[test]
fn handler_numbers_errors_from_one() {
    let log = SharedLog::default();
    let cli = cli(&log);
    let ids: Vec<u64> = (0..3)
        .map(|_| cli.handle(&Report::new("boom")).id)
        .collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(log.text().matches("[logID: ").count(), 3);
}

#[derive(Debug, thiserror::Error)]
enum StoreError {
    #[error("the store is read-only")]
    ReadOnly,
    #[error("cannot reach the store")]
    Unreachable(#[source] std::io::Error),
}

/// A `thiserror` error wraps like any other and keeps its own source.
#[test]
fn thiserror_errors_wrap_and_chain() {
    let failing: Result<(), StoreError> = Err(StoreError::Unreachable(std::io::Error::other(
        "connection refused",
    )));
    let report = failing.wrap_err("cannot save the draft").unwrap_err();
    let chain: Vec<String> =
        std::iter::successors(Some(&report as &(dyn std::error::Error + 'static)), |e| {
            e.source()
        })
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        chain,
        [
            "cannot save the draft",
            "cannot reach the store",
            "connection refused"
        ]
    );
    let log = SharedLog::default();
    let shown = CliHandler::new(log.clone())
        .known::<StoreError>()
        .handle(&StoreError::ReadOnly);
    assert_eq!(shown.to_string(), "[1] the store is read-only");
}

/// An `anyhow::Error` is handled through `as_ref()`; as an unknown type it is a bug.
#[test]
fn anyhow_errors_are_handled_as_bugs_unless_known() {
    let err = anyhow::Error::new(StoreError::ReadOnly).context("cannot publish");
    let log = SharedLog::default();
    let shown = cli(&log).handle(err.as_ref());
    assert_eq!(shown.message, UNEXPECTED);
    assert!(log.text().contains("cannot publish"), "{}", log.text());
    // A report can wrap an anyhow error as its cause.
    let report = Report::wrap(
        Box::<dyn std::error::Error + Send + Sync>::from(err),
        "cannot finish the release",
    );
    assert_eq!(
        std::error::Error::source(&report).unwrap().to_string(),
        "cannot publish"
    );
}

/// Reports and the handler cross threads.
#[test]
fn report_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Report>();
    send_sync::<intermediate::IntermediateError>();
    send_sync::<CliHandler<std::io::Stderr>>();
    send_sync::<hoare::report::UserMessage>();
}
