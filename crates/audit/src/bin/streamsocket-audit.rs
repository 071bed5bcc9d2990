//! `streamsocket-audit`: audits a TLS/STARTTLS client program against every honest and hostile
//! mock server, judged from what the server saw.

#![allow(clippy::print_stdout, reason = "a command-line tool reports on stdout")]

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::builder::TypedValueParser as _;
use clap::{CommandFactory, Parser, Subcommand};
use proto::starttls::Dialect;
use streamsocket_audit::expect::Baseline;
use streamsocket_audit::{AuditConfig, cases, run, run_with_progress};

#[derive(Debug, Parser)]
#[command(name = "streamsocket-audit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run COMMAND once per case against a mock server on 127.0.0.1 and judge it from what the
    /// server observed.
    #[command(after_long_help = PLACEHOLDER_HELP)]
    Client(ClientArgs),
    /// Probe the server at HOST SERVICE (loopback or the host named; never a range): which
    /// protection levels it accepts, its certificate, and whether its STARTTLS is safe.
    #[command(after_long_help = SERVER_HELP)]
    Server(server_cli::ServerArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell) on stdout.
    Completions {
        /// The shell to complete for.
        shell: cli_docs::Shell,
    },
    /// Print the man page (roff) on stdout: `NAME man > NAME.1`, `NAME man SUBCOMMAND`.
    Man {
        /// The subcommand whose page to print (the tool's own page without one).
        subcommand: Option<String>,
    },
}

// Beside this file, not in src/bin/ itself, where Cargo would take it for a binary.
#[path = "streamsocket-audit/server_cli.rs"]
mod server_cli;

const PLACEHOLDER_HELP: &str = "Placeholders, substituted literally in every argument (no \
shell: write sh -c '...' for one): {host} {port} (where the mock server listens), {name} (the \
name the certificate is issued for; {host} is in it too), {ca} (PEM of what a correct client \
must trust), {crl} (PEM of the CRLs; revocation cases are judged only when it is used), \
{client_cert} {client_key} (a client identity the server trusts), {dialect} (the dialect's \
name, as --dialect takes it).\n\nExit status: 0 nothing failed (with --expect: nothing new failed), 1 \
findings, 2 bad command line, 3 the command never connected in any case.";

const SERVER_HELP: &str = "Exit status: 0 nothing failed (warnings do not fail), 1 findings, 2 \
bad command line, 3 the server could not be reached.";

#[derive(Debug, clap::Args)]
struct ClientArgs {
    /// A dialect to audit (repeatable; default: all).
    #[arg(long, value_parser = dialect_parser())]
    dialect: Vec<Dialect>,
    /// Only cases whose id or category contains TEXT.
    #[arg(long, value_name = "TEXT")]
    filter: Option<String>,
    /// Cases run at once (default: the number of cores); cases whose server stalls only wait
    /// and do not count.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Time allowed to the command per case; it is killed then.
    #[arg(long, value_name = "SECS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    case_timeout: u64,
    /// Write audit.json, audit.md, junit.xml and audit.html (a dialect x category grid for a
    /// browser, self-contained) into DIR.
    #[arg(long, value_name = "DIR")]
    report_dir: Option<PathBuf>,
    /// Known deviations (a file written by --write-expect): the failures it lists do not fail
    /// the run, new ones do, and listed ones that pass now are reported as fixed.
    #[arg(long, value_name = "FILE")]
    expect: Option<PathBuf>,
    /// Write today's failures as a baseline for --expect.
    #[arg(long, value_name = "FILE")]
    write_expect: Option<PathBuf>,
    /// An environment variable for the command, NAME=TEMPLATE with placeholders in TEMPLATE
    /// (repeatable).
    #[arg(long = "env", value_name = "NAME=TEMPLATE", value_parser = env_pair)]
    env: Vec<(String, String)>,
    /// Serve on ::1 instead of 127.0.0.1 ({host} is then ::1).
    #[arg(long)]
    ipv6: bool,
    /// Print the cases and exit.
    #[arg(long)]
    list: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, value_name = "COMMAND", required_unless_present = "list")]
    command: Vec<String>,
}

/// A dialect by its name ([`Dialect::name`]), for `--dialect` and `--starttls`: every dialect
/// the library speaks, listed in the help and in shell completions.
fn dialect_parser() -> impl clap::builder::TypedValueParser<Value = Dialect> {
    clap::builder::PossibleValuesParser::new(Dialect::ALL.map(Dialect::name))
        .try_map(|name| name.parse::<Dialect>())
}

/// `NAME=TEMPLATE`, with a name a shell would accept.
fn env_pair(arg: &str) -> Result<(String, String), String> {
    let (name, value) = arg
        .split_once('=')
        .ok_or_else(|| format!("{arg:?} is not NAME=TEMPLATE"))?;
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!("{name:?} is not an environment variable name"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

fn main() -> ExitCode {
    let args = match Cli::parse().command {
        Command::Client(args) => args,
        Command::Server(args) => return server_cli::main(args),
        Command::Completions { shell } => return cli_docs::completions(Cli::command(), shell),
        Command::Man { subcommand } => {
            return cli_docs::man(
                Cli::command(),
                subcommand.as_deref(),
                env!("CARGO_PKG_VERSION"),
            );
        }
    };
    let dialects = args.dialect.clone();
    if args.list {
        // A reader that stops early (`| head`) ends the listing, not the process with a panic.
        let mut out = std::io::stdout().lock();
        for case in cases(&dialects, args.filter.as_deref()) {
            if writeln!(out, "{:<18} {}", case.category, case.id).is_err() {
                break;
            }
        }
        return ExitCode::SUCCESS;
    }
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, usize::from),
        usize::from,
    );
    // Read before any case runs: a bad baseline is a bad command line.
    let baseline = match args.expect.as_deref().map(Baseline::read).transpose() {
        Ok(baseline) => baseline,
        Err(e) => {
            eprintln!("streamsocket-audit: --expect: {:#}", anyhow::Error::new(e));
            return ExitCode::from(2);
        }
    };
    let config = AuditConfig {
        command: args.command,
        dialects,
        filter: args.filter,
        jobs,
        case_timeout: Duration::from_secs(args.case_timeout),
        env: args.env,
        ipv6: args.ipv6,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("streamsocket-audit: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    // A bar on a terminal (cases done, failures, time left); nothing otherwise, so that a log
    // holds the report alone.
    let result = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        // The template is a constant; it parses, or the bar keeps the default style.
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} cases, {msg}, {elapsed} elapsed, about {eta} left",
        ) {
            bar.set_style(style);
        }
        bar.set_message("0 failed");
        let result = runtime.block_on(run_with_progress(config, |p| {
            bar.set_length(p.total as u64);
            bar.set_position(p.done as u64);
            bar.set_message(format!("{} failed", p.failed));
        }));
        bar.finish_and_clear();
        result
    } else {
        runtime.block_on(run(config))
    };
    let audit = match result {
        Ok(audit) => audit,
        Err(e) => {
            eprintln!("streamsocket-audit: {:#}", anyhow::Error::new(e));
            return ExitCode::from(2);
        }
    };
    print!("{}", audit.table());
    if let Some(dir) = args.report_dir {
        match audit.write_reports(&dir) {
            Ok(path) => println!("report: {}", path.display()),
            Err(e) => {
                eprintln!("streamsocket-audit: {:#}", anyhow::Error::new(e));
                return ExitCode::from(2);
            }
        }
    }
    if let Some(path) = &args.write_expect
        && let Err(e) = Baseline::of(&audit).write(path)
    {
        eprintln!(
            "streamsocket-audit: --write-expect: {:#}",
            anyhow::Error::new(e)
        );
        return ExitCode::from(2);
    }
    let outcome = match &baseline {
        Some(baseline) => {
            let comparison = baseline.compare(&audit);
            print!("{}", comparison.summary());
            comparison.outcome(&audit)
        }
        None => audit.outcome(),
    };
    ExitCode::from(outcome.exit_code())
}
