//! The `completions` and `man` subcommands of the project's command-line tools (`streamsocket`,
//! `mockserver`, `streamsocket-audit`), written once: a completion script from clap_complete
//! and a man page from clap_mangen, each rendered into memory and then written to stdout, so
//! that a closed pipe is an error message and an exit status, never a panic.
//!
//! Only the tools' `cli` features depend on this crate; their libraries do not.
//!
//! ```
//! use clap::{CommandFactory, Parser};
//!
//! /// A tool.
//! #[derive(Parser)]
//! #[command(name = "tool", version)]
//! struct Cli {}
//!
//! let script = cli_docs::completion_script(Cli::command(), cli_docs::Shell::Bash);
//! assert!(String::from_utf8(script).unwrap().contains("tool"));
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub use clap_complete::Shell;
use std::io::Write as _;
use std::process::ExitCode;

/// The completion script of `command` for `shell`.
pub fn completion_script(mut command: clap::Command, shell: Shell) -> Vec<u8> {
    let name = command.get_name().to_owned();
    // Into memory first: clap_complete panics when its writer fails (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    script
}

/// Writes the completion script of `command` for `shell` to stdout.
pub fn completions(command: clap::Command, shell: Shell) -> ExitCode {
    print_all(&completion_script(command, shell), "the completion script")
}

/// Writes the man page of `command`, or of its `subcommand` (named `tool-subcommand`, with
/// `version`), to stdout; an unknown subcommand exits 2.
pub fn man(
    mut command: clap::Command,
    subcommand: Option<&str>,
    version: &'static str,
) -> ExitCode {
    // Gives the subcommands their page names (`tool-subcommand`).
    command.build();
    let page = match subcommand {
        None => command,
        Some(name) => match command.find_subcommand(name) {
            Some(sub) => sub.clone().version(version),
            None => {
                eprintln!("error: no subcommand {name:?}");
                return ExitCode::from(2);
            }
        },
    };
    let mut roff = Vec::new();
    if let Err(e) = clap_mangen::Man::new(page).render(&mut roff) {
        eprintln!("error: cannot render the man page: {e}");
        return ExitCode::FAILURE;
    }
    print_all(&roff, "the man page")
}

/// Writes `bytes` to stdout; a failure (a closed pipe) is reported, never a panic.
fn print_all(bytes: &[u8], what: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write {what}: {e}");
            ExitCode::FAILURE
        }
    }
}
