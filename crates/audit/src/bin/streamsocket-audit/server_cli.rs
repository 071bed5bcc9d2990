//! `streamsocket-audit server HOST SERVICE`: the command line of the server audit.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use proto::ProtectionLevel;
use proto::starttls::Dialect;
use streamsocket::TrustAnchors;
use streamsocket_audit::server::expect::ServerBaseline;
use streamsocket_audit::server::{Rules, ServerAuditConfig, ServerError, audit_server};

#[derive(Debug, clap::Args)]
pub(crate) struct ServerArgs {
    /// The server's host: a name or an IP literal (only its first address is probed).
    host: String,
    /// The port, or a service name (smtp, submission, imap, imaps, pop3, pop3s, ...).
    service: String,
    /// The dialect spoken before TLS (default: from the port: 25, 587, 2525 smtp; 143 imap;
    /// 110 pop3; 119 nntp; 4190 sieve; anything else implicit TLS).
    #[arg(long, value_parser = super::dialect_parser())]
    starttls: Option<Dialect>,
    /// Trust only the certificates of this PEM file.
    #[arg(long, value_name = "FILE", conflicts_with = "system_roots")]
    ca: Option<PathBuf>,
    /// Trust the operating system's roots (default: Mozilla's roots).
    #[arg(long)]
    system_roots: bool,
    /// The name the certificate is validated for and sent as SNI (default: HOST).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Print exactly one JSON document on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Write server-audit.json, server-audit.md and server-junit.xml into DIR.
    #[arg(long, value_name = "DIR")]
    report_dir: Option<PathBuf>,
    /// An accepted level below this one is a failure: Ssl3AllowWeakEncryption, Tls10, Tls11,
    /// Tls12 or Tls13.
    #[arg(long, value_name = "LEVEL", value_parser = min_level)]
    require_min_level: Option<ProtectionLevel>,
    /// A run saved by --write-expect: the failures it lists do not fail this run, new ones do,
    /// and so does a level it saw refused that is accepted now.
    #[arg(long, value_name = "FILE")]
    expect: Option<PathBuf>,
    /// Save this run's levels and failures for --expect.
    #[arg(long, value_name = "FILE")]
    write_expect: Option<PathBuf>,
    /// ALPN protocols to offer in one more handshake, comma-separated in preference order
    /// (`h2,http/1.1`): the audit reports what the server chose, or none.
    #[arg(long, value_name = "PROTOCOLS", value_delimiter = ',')]
    alpn: Vec<String>,
    /// Time allowed to each connection.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    timeout: u64,
}

/// A level a minimum can name: one of the version levels.
fn min_level(arg: &str) -> Result<ProtectionLevel, String> {
    streamsocket_audit::server::judge::VERSION_LEVELS
        .into_iter()
        .find(|level| level.name().eq_ignore_ascii_case(arg.trim()))
        .ok_or_else(|| {
            format!(
                "{arg:?} is not a version level (Ssl3AllowWeakEncryption, Tls10, Tls11, Tls12, \
                 Tls13)"
            )
        })
}

pub(crate) fn main(args: ServerArgs) -> ExitCode {
    let port = match proto::service::Service::Name(&args.service).port() {
        Ok(port) => port,
        Err(e) => return usage(&format!("{e}")),
    };
    let trust = match &args.ca {
        Some(path) => {
            let pem = match std::fs::read(path) {
                Ok(pem) => pem,
                Err(e) => return usage(&format!("--ca {}: {e}", path.display())),
            };
            match TrustAnchors::from_pem(&pem) {
                Ok(trust) => trust,
                Err(e) => return usage(&format!("--ca {}: {e}", path.display())),
            }
        }
        None if args.system_roots => TrustAnchors::system(),
        None => TrustAnchors::mozilla(),
    };
    // Read before any connection: a bad baseline is a bad command line.
    let baseline = match args.expect.as_deref().map(ServerBaseline::read).transpose() {
        Ok(baseline) => baseline,
        Err(e) => return usage(&format!("--expect: {:#}", anyhow::Error::new(e))),
    };
    if let Some(bad) = args.alpn.iter().find(|p| p.is_empty() || p.len() > 255) {
        return usage(&format!(
            "--alpn: {bad:?} is not a protocol name (1 to 255 bytes)"
        ));
    }
    let dialect = args
        .starttls
        .unwrap_or_else(|| proto::probe::default_dialect(port));
    let config = ServerAuditConfig {
        host: args.host,
        port,
        dialect,
        name: args.name,
        trust,
        timeout: Duration::from_secs(args.timeout),
        alpn: args.alpn.into_iter().map(String::into_bytes).collect(),
        rules: Rules {
            require_min_level: args.require_min_level,
        },
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return usage(&format!("cannot start the runtime: {e}")),
    };
    let audit = match runtime.block_on(audit_server(config)) {
        Ok(audit) => audit,
        Err(e @ ServerError::Unreachable(_)) => {
            eprintln!("streamsocket-audit: {e}");
            return ExitCode::from(3);
        }
        Err(e) => return usage(&format!("{:#}", anyhow::Error::new(e))),
    };
    let output = if args.json {
        match serde_json::to_string_pretty(&audit) {
            Ok(json) => json + "\n",
            Err(e) => return usage(&format!("json: {e}")),
        }
    } else {
        audit.table()
    };
    // A closed stdout (`| head`) is the reader's choice, not an error of the audit.
    let _ = std::io::stdout().lock().write_all(output.as_bytes());
    if let Some(dir) = args.report_dir {
        match audit.write_reports(&dir) {
            // The JSON document is the only thing on stdout with --json.
            Ok(path) if args.json => eprintln!("report: {}", path.display()),
            Ok(path) => println!("report: {}", path.display()),
            Err(e) => return usage(&format!("{:#}", anyhow::Error::new(e))),
        }
    }
    if let Some(path) = &args.write_expect
        && let Err(e) = ServerBaseline::of(&audit).write(path)
    {
        return usage(&format!("--write-expect: {:#}", anyhow::Error::new(e)));
    }
    let Some(baseline) = baseline else {
        return ExitCode::from(audit.exit_code());
    };
    let comparison = baseline.compare(&audit);
    if args.json {
        eprint!("{}", comparison.summary());
    } else {
        let _ = std::io::stdout()
            .lock()
            .write_all(comparison.summary().as_bytes());
    }
    ExitCode::from(comparison.exit_code())
}

fn usage(message: &str) -> ExitCode {
    eprintln!("streamsocket-audit server: {message}");
    ExitCode::from(2)
}
