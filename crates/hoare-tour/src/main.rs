//! `hoare-tour`: the examples of *Concurrency in Go*, written with hoare and run live.
//!
//! `hoare-tour` runs every example in order; `hoare-tour list` lists them;
//! `hoare-tour run NAME...` runs the chosen ones; `--chapter N` keeps one chapter.

mod ch3;
mod ch3_select;
mod ch4_context;
mod ch5;

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
    all.extend(ch3_select::examples());
    all.extend(ch4_context::examples());
    all.extend(ch5::examples());
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
