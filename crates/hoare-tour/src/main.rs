//! `hoare-tour`: the examples of *Concurrency in Go*, written with hoare and run live.
//!
//! `hoare-tour` runs every example in order; `hoare-tour list` lists them;
//! `hoare-tour run NAME...` runs the chosen ones; `--chapter N` keeps one chapter.

mod ch3;
mod ch3_select;
mod ch3_sync;
mod ch4_context;
mod ch4_patterns;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// One runnable example of the book.
pub struct Example {
    /// The name used with `hoare-tour run`.
    pub name: &'static str,
    /// The book's chapter.
    pub chapter: u8,
    /// One line saying what it shows.
    pub summary: &'static str,
    /// Runs it, printing to `out`.
    pub run: fn(&mut dyn Write) -> io::Result<()>,
}

/// Every example, in the book's order.
fn examples() -> Vec<Example> {
    let mut all = ch3::examples();
    all.extend(ch3_sync::examples());
    all.extend(ch3_select::examples());
    all.extend(ch4_patterns::examples());
    all.extend(ch4_context::examples());
    all
}

#[derive(Parser, Debug)]
#[command(
    version,
    about = "The examples of Concurrency in Go, run live with hoare"
)]
struct Cli {
    /// Only the examples of this chapter.
    #[arg(long, global = true)]
    chapter: Option<u8>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the examples with a one-line summary each.
    List,
    /// Run the named examples.
    Run {
        /// Example names, as `list` shows them.
        #[arg(required = true)]
        names: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let all: Vec<Example> = examples()
        .into_iter()
        .filter(|e| cli.chapter.is_none_or(|c| e.chapter == c))
        .collect();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let result = match cli.command {
        Some(Command::List) => list(&all, &mut out),
        None => run_all(all.iter(), &mut out),
        Some(Command::Run { names }) => {
            let unknown: Vec<&String> = names
                .iter()
                .filter(|n| !all.iter().any(|e| &e.name == n))
                .collect();
            if !unknown.is_empty() {
                let names: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
                eprintln!(
                    "unknown example(s): {}; the examples are:",
                    names.join(", ")
                );
                let _ = list(&all, &mut io::stderr());
                return ExitCode::FAILURE;
            }
            run_all(
                all.iter().filter(|e| names.iter().any(|n| n == e.name)),
                &mut out,
            )
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hoare-tour: {e}");
            ExitCode::FAILURE
        }
    }
}

fn list(all: &[Example], out: &mut dyn Write) -> io::Result<()> {
    for e in all {
        writeln!(out, "ch{}  {:<24} {}", e.chapter, e.name, e.summary)?;
    }
    Ok(())
}

fn run_all<'a>(examples: impl Iterator<Item = &'a Example>, out: &mut dyn Write) -> io::Result<()> {
    let mut chapter = None;
    for e in examples {
        if chapter != Some(e.chapter) {
            chapter = Some(e.chapter);
            writeln!(out, "\n==== Chapter {} ====", e.chapter)?;
        }
        writeln!(out, "\n--- {}: {} ---", e.name, e.summary)?;
        (e.run)(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one example and returns what it printed.
    fn output_of(name: &str) -> String {
        let example = examples()
            .into_iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("no example {name}"));
        let mut out = Vec::new();
        (example.run)(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_example_runs() {
        let mut out = Vec::new();
        run_all(examples().iter(), &mut out).unwrap();
        assert!(!out.is_empty());
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = examples().iter().map(|e| e.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn chapter_4_examples_print_the_books_output() {
        assert_eq!(output_of("pipeline"), "6\n10\n14\n18\n");
        assert_eq!(output_of("bridge"), "0 1 2 3 4 5 6 7 8 9\n");
        assert_eq!(
            output_of("tee"),
            "out1: 1, out2: 1\nout1: 2, out2: 2\nout1: 1, out2: 1\nout1: 2, out2: 2\n"
        );
        let errors = output_of("error-handling");
        let lines: Vec<&str> = errors.lines().collect();
        assert_eq!(lines.len(), 5, "{errors}");
        assert_eq!(lines[1], "Response: 200 OK");
        assert_eq!(lines[4], "Too many errors, breaking!");
    }

    #[test]
    fn chapter_3_sync_examples_print_the_books_output() {
        let queue = output_of("cond-queue");
        assert_eq!(queue.matches("Adding to queue").count(), 10);
        assert_eq!(queue.matches("Removed from queue").count(), 10);
        let said = output_of("cond-broadcast");
        let mut clicks: Vec<&str> = said.lines().collect();
        clicks.sort_unstable();
        assert_eq!(
            clicks,
            [
                "Displaying annoying dialog box!",
                "Maximizing window.",
                "Mouse clicked."
            ]
        );
    }
}
