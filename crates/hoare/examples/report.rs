//! The job runner of *Concurrency in Go*'s Error Propagation section: a low-level
//! module that stats the job's binary, an intermediate module that runs the job,
//! and the CLI that logs the whole error under a log ID and shows the user one line.
//!
//! Run with `cargo run -p hoare --example report` (set `RUST_BACKTRACE=1` to see
//! the backtraces in the log). It prints the log, then:
//!
//! ```text
//! [1] cannot run job "1": requisite binaries not available
//! ```

use std::error::Error;

use hoare::report::CliHandler;

/// The low-level module.
mod lowlevel {
    use hoare::report::Report;

    hoare::module_error!(
        /// What can go wrong at the low level.
        pub LowLevelError
    );

    /// Whether `path` is executable by its owner (the book's `isGloballyExec`).
    pub fn is_globally_exec(path: &str) -> Result<bool, LowLevelError> {
        let info = std::fs::metadata(path).map_err(|e| {
            let message = format!("stat {path}: {e}");
            LowLevelError(Report::wrap(e, message))
        })?;
        Ok(executable(&info))
    }

    #[cfg(unix)]
    fn executable(info: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::PermissionsExt;
        info.permissions().mode() & 0o100 == 0o100
    }

    #[cfg(not(unix))]
    fn executable(_: &std::fs::Metadata) -> bool {
        true
    }
}

/// The intermediate module.
mod intermediate {
    use super::lowlevel;
    use hoare::report::Report;

    hoare::module_error!(
        /// What can go wrong running a job, in words for the user.
        pub IntermediateError
    );

    const JOB_BIN_PATH: &str = "/bad/job/binary";

    /// Runs job `id` (the book's `runJob`, after its fix: a missing binary is a
    /// known edge case, wrapped in this module's type).
    pub fn run_job(id: &str) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let executable = lowlevel::is_globally_exec(JOB_BIN_PATH).map_err(|e| {
            let message = format!("cannot run job {id:?}: requisite binaries not available");
            IntermediateError(Report::wrap(e, message).with_field("job", id))
        })?;
        if !executable {
            // Not wrapped in `IntermediateError`: the user sees the bug line.
            return Err(Report::new(format!(
                "cannot run job {id:?}: requisite binaries are not executable"
            ))
            .into());
        }
        std::process::Command::new(JOB_BIN_PATH)
            .arg(format!("--id={id}"))
            .status()
            .map_err(|e| Report::wrap(e, "cannot start the job").into())
            .map(drop)
    }
}

fn main() {
    let cli = CliHandler::new(std::io::stdout()).known::<intermediate::IntermediateError>();
    if let Err(err) = intermediate::run_job("1") {
        let shown = cli.handle_with_id(1, err.as_ref() as &(dyn Error + 'static));
        println!("{shown}");
    }
}
