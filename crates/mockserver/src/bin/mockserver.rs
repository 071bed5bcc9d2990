//! `mockserver`: serve one honest or hostile TLS/STARTTLS server, or the whole catalogue.

#![allow(
    clippy::print_stdout,
    reason = "the binary reports its address on stdout for scripts"
)]

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use mockserver::catalogue::{self, Manifest, ServedEntry};
use mockserver::session_log::SessionLog;
use mockserver::{Behaviour, ClientAuth, Limits, MockConfig, Stats, TlsPolicy, VersionSet};
use proto::starttls::{Dialect, InjectionPolicy};
use testpki::{KeyKind, Pki, Scenario};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{error, info};

/// A TLS/STARTTLS server that plays honest and hostile situations on loopback, for testing
/// clients (the badssl.com of STARTTLS).
#[derive(Debug, Parser)]
#[command(name = "mockserver", version)]
struct Cli {
    /// Log lines on stderr: text (coloured only when stderr is a terminal and NO_COLOR is
    /// unset) or json (one JSON object per line). RUST_LOG sets what is logged (default info).
    #[arg(
        long = "log-format",
        global = true,
        value_enum,
        default_value_t = LogFormat::Text,
        env = "MOCKSERVER_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Eq, PartialEq, clap::ValueEnum)]
enum LogFormat {
    /// For people: one line per event, coloured on a terminal.
    Text,
    /// For machines: one JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve one server until SIGINT/SIGTERM; print `listening on IP:PORT` once bound.
    ///
    /// Every option can also be set by the environment variable named in its help
    /// (MOCKSERVER_LISTEN, MOCKSERVER_DIALECT, ...); a flag on the command line wins over it.
    Serve(ServeArgs),
    /// Serve every scenario x dialect x behaviour worth serving, each on its own port, and
    /// write a JSON manifest of them (with what a correct client must do); run until signalled.
    Catalogue(CatalogueArgs),
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

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on, e.g. 127.0.0.1:0 (port 0 picks a free port), [::1]:2525.
    #[arg(long, env = "MOCKSERVER_LISTEN")]
    listen: SocketAddr,
    /// Protocol before TLS: smtp, lmtp, imap, pop3, nntp, sieve, ftp, irc, postgres (the SSLRequest), framed
    /// (the seed's length-prefixed frames) or implicit (TLS from the first byte).
    #[arg(long, env = "MOCKSERVER_DIALECT")]
    dialect: Dialect,
    /// Certificate scenario: valid, expired, not-yet-valid, wrong-host, self-signed,
    /// untrusted-root, missing-intermediate, wrong-eku, intermediate-not-ca, revoked,
    /// bad-signature, forged-signature, attacker-root-expired, ca-leaf, stale-crl.
    #[arg(long, env = "MOCKSERVER_SCENARIO")]
    scenario: Scenario,
    /// Key type of the certificates: ecdsa-p256, ed25519, rsa2048.
    #[arg(
        long = "key-type",
        default_value = "ecdsa-p256",
        env = "MOCKSERVER_KEY_TYPE"
    )]
    key_type: KeyKind,
    /// TLS versions to enable: 1.2, 1.3 or 1.2,1.3.
    #[arg(long, default_value = "1.2,1.3", env = "MOCKSERVER_TLS")]
    tls: VersionSet,
    /// Behaviour: honest, starttls-not-advertised, starttls-refused (454, IMAP NO, POP3 -ERR,
    /// PostgreSQL N), starttls-refused-syntax (501, IMAP BAD), starttls-refused-permanent (SMTP
    /// 554, PostgreSQL: an old server's ErrorResponse), starttls-nonsense (a line that is no
    /// reply; PostgreSQL: the byte Y), tls-required,
    /// response-injection, preauth (IMAP), stall-after-go-ahead,
    /// garbage-instead-of-server-hello, close-mid-handshake, legacy-only-ssl3,
    /// legacy-only-tls10, legacy-only-tls11.
    #[arg(long, default_value = "honest", env = "MOCKSERVER_BEHAVIOUR")]
    behaviour: Behaviour,
    /// Client certificates: none, optional or required (trusting testpki's client CA).
    #[arg(
        long = "client-auth",
        default_value = "none",
        env = "MOCKSERVER_CLIENT_AUTH"
    )]
    client_auth: ClientAuth,
    /// Bytes pipelined after STARTTLS: discard (and count), reject (close) or vulnerable
    /// (process them after the handshake: CVE-2011-0411, for testing injection testers).
    #[arg(long, default_value = "discard", value_parser = parse_injection, env = "MOCKSERVER_INJECTION")]
    injection: InjectionPolicy,
    /// Write the PEM of what a client must trust to this file (and, for the revoked and
    /// stale-crl scenarios, the CRLs a client must be given to `FILE.crl`).
    #[arg(long = "ca-out", env = "MOCKSERVER_CA_OUT")]
    ca_out: Option<PathBuf>,
    /// Offer this ALPN protocol (repeat for several, in preference order).
    #[arg(long, env = "MOCKSERVER_ALPN", value_delimiter = ',')]
    alpn: Vec<String>,
    /// Disable session resumption (no session cache, no TLS 1.3 tickets).
    #[arg(long = "no-resumption", env = "MOCKSERVER_NO_RESUMPTION")]
    no_resumption: bool,
    /// Host name in the greeting.
    #[arg(long, default_value = testpki::TEST_HOST, env = "MOCKSERVER_HOSTNAME")]
    hostname: String,
    /// Seconds allowed for the TLS handshake.
    #[arg(
        long = "handshake-timeout",
        default_value_t = 10,
        env = "MOCKSERVER_HANDSHAKE_TIMEOUT"
    )]
    handshake_timeout: u64,
    /// Seconds allowed without any byte from the client.
    #[arg(
        long = "idle-timeout",
        default_value_t = 300,
        env = "MOCKSERVER_IDLE_TIMEOUT"
    )]
    idle_timeout: u64,
    /// Longest accepted command line, CRLF included.
    #[arg(
        long = "max-line-len",
        default_value_t = 2048,
        env = "MOCKSERVER_MAX_LINE_LEN"
    )]
    max_line_len: usize,
    /// Longest accepted frame payload (framed dialect).
    #[arg(long = "max-frame-len", default_value_t = 1 << 20, env = "MOCKSERVER_MAX_FRAME_LEN")]
    max_frame_len: u32,
    /// Sessions served at once; further connections get the dialect's refusal.
    #[arg(
        long = "max-connections",
        default_value_t = 1024,
        env = "MOCKSERVER_MAX_CONNECTIONS"
    )]
    max_connections: usize,
    /// Write one JSON object per line per finished session to this file (created or
    /// truncated; each line is flushed at once, so the file can be tailed).
    #[arg(long, env = "MOCKSERVER_SESSIONS")]
    sessions: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct CatalogueArgs {
    /// IP address every server listens on (each on its own free port), e.g. 127.0.0.1 or ::1.
    #[arg(long)]
    listen: IpAddr,
    /// Write the JSON manifest here (name, port, dialect, scenario, behaviour, key type, what
    /// a correct client must do, CA and CRL files).
    #[arg(long)]
    manifest: PathBuf,
    /// Directory for the PEM files (default: next to the manifest, in `<manifest>.pem/`).
    #[arg(long = "pem-dir")]
    pem_dir: Option<PathBuf>,
    /// Write one JSON object per line per finished session of every server to this file
    /// (their `local` address tells the servers apart).
    #[arg(long)]
    sessions: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Completions { shell } => return cli_docs::completions(Cli::command(), shell),
        Command::Man { subcommand } => {
            return cli_docs::man(
                Cli::command(),
                subcommand.as_deref(),
                env!("CARGO_PKG_VERSION"),
            );
        }
        Command::Serve(_) | Command::Catalogue(_) => {}
    }
    init_logs(cli.log_format);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")
        .and_then(|runtime| {
            runtime.block_on(async {
                match cli.command {
                    Command::Serve(args) => serve(args).await,
                    Command::Catalogue(args) => catalogue(args).await,
                    // Answered above, before the logs and the runtime start.
                    Command::Completions { .. } | Command::Man { .. } => Ok(()),
                }
            })
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if cli.log_format == LogFormat::Json {
                // Every line on stderr stays JSON.
                error!(error = %format!("{e:#}"), "mockserver failed");
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr (stdout carries only `listening on ...`), filtered by RUST_LOG.
fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => logs.with_ansi(colour()).init(),
        LogFormat::Json => logs.json().with_ansi(false).init(),
    }
}

/// Colour only for a person at a terminal who has not asked for none (<https://no-color.org>:
/// a `NO_COLOR` that is set and not empty).
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

async fn serve(args: ServeArgs) -> Result<()> {
    let pki = Pki::shared(args.key_type);
    let identity = pki
        .server(args.scenario)
        .with_context(|| format!("issuing the {} certificates", args.scenario))?;
    if let Some(path) = &args.ca_out {
        write_trust_pem(&identity, path)?;
    }
    let limits = Limits {
        line_len: args.max_line_len,
        frame_len: args.max_frame_len,
        handshake_timeout: Duration::from_secs(args.handshake_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        max_connections: args.max_connections,
        ..Limits::default()
    };
    let config = MockConfig {
        dialect: args.dialect,
        behaviour: args.behaviour,
        tls: TlsPolicy {
            versions: args.tls,
            alpn: args.alpn.into_iter().map(String::into_bytes).collect(),
            client_auth: args.client_auth,
            client_ca: vec![pki.client_ca_der()],
            resumption: !args.no_resumption,
            ..TlsPolicy::default()
        },
        identity: Arc::new(identity),
        injection_policy: args.injection,
        limits,
        hostname: args.hostname,
    };
    let stats = stats_for(args.sessions.as_deref())?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let stop = signalled();
    println!("listening on {addr}");
    mockserver::run_with_stats(listener, Arc::new(config), stats, stop).await?;
    Ok(())
}

async fn catalogue(args: CatalogueArgs) -> Result<()> {
    let pem_root = args.pem_dir.clone().unwrap_or_else(|| {
        let mut p = args.manifest.clone().into_os_string();
        p.push(".pem");
        PathBuf::from(p)
    });
    let log = open_log(args.sessions.as_deref())?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut served = Vec::new();
    for entry in catalogue::entries() {
        let config = entry
            .config()
            .with_context(|| format!("issuing {}", entry.name))?;
        let dir = pem_root.join(&entry.name);
        fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let files = config
            .identity
            .write_pem(&dir)
            .with_context(|| format!("writing the PEM files of {}", entry.name))?;
        let listener = TcpListener::bind((args.listen, 0))
            .await
            .with_context(|| format!("binding {} for {}", args.listen, entry.name))?;
        let port = listener
            .local_addr()
            .context("reading the bound address")?
            .port();
        let mut stop = stop_rx.clone();
        let name = entry.name.clone();
        // Each server counts on its own; they share only the session log.
        let stats = log.as_ref().map_or_else(Stats::default, |log| {
            Stats::with_session_log(Arc::clone(log))
        });
        tasks.spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) =
                mockserver::run_with_stats(listener, Arc::new(config), stats, shutdown).await
            {
                error!(%name, "server failed: {e:#}");
            }
        });
        served.push(ServedEntry {
            entry,
            port,
            ca_file: Some(files.ca.display().to_string()),
            crl_file: files.crl.map(|p| p.display().to_string()),
        });
    }
    let manifest = Manifest {
        listen: args.listen.to_string(),
        entries: served,
    };
    let json = serde_json::to_string_pretty(&manifest).context("encoding the manifest")?;
    fs::write(&args.manifest, json)
        .with_context(|| format!("writing {}", args.manifest.display()))?;
    info!(servers = manifest.entries.len(), manifest = %args.manifest.display(), "catalogue served");
    let stop = signalled();
    println!(
        "listening on {} ({} servers, manifest {})",
        args.listen,
        manifest.entries.len(),
        args.manifest.display()
    );
    stop.await;
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Counters that write the session log to `path`, if one is asked for.
fn stats_for(path: Option<&Path>) -> Result<Stats> {
    Ok(match open_log(path)? {
        Some(log) => Stats::with_session_log(log),
        None => Stats::default(),
    })
}

fn open_log(path: Option<&Path>) -> Result<Option<Arc<SessionLog>>> {
    path.map(|path| {
        SessionLog::create(path)
            .map(Arc::new)
            .with_context(|| format!("creating the session log {}", path.display()))
    })
    .transpose()
}

/// Writes the trust anchors (and CRLs, if any) a client needs, as PEM.
fn write_trust_pem(identity: &testpki::ServerIdentity, path: &Path) -> Result<()> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let files = identity
        .write_pem(dir.path())
        .context("encoding the PEM files")?;
    fs::copy(&files.ca, path).with_context(|| format!("writing {}", path.display()))?;
    if let Some(crl) = files.crl {
        let mut crl_path = path.as_os_str().to_owned();
        crl_path.push(".crl");
        fs::copy(crl, &crl_path)
            .with_context(|| format!("writing {}", Path::new(&crl_path).display()))?;
    }
    Ok(())
}

/// `discard`, `reject` or `vulnerable` (the proto crate's enum has no `FromStr`).
fn parse_injection(s: &str) -> Result<InjectionPolicy, String> {
    match s.to_ascii_lowercase().as_str() {
        "discard" => Ok(InjectionPolicy::Discard),
        "reject" => Ok(InjectionPolicy::Reject),
        "vulnerable" => Ok(InjectionPolicy::Vulnerable),
        _ => Err(format!(
            "unknown injection policy {s:?} (expected discard, reject or vulnerable)"
        )),
    }
}

/// Registers for SIGINT and SIGTERM at once, and resolves on either. Called before `listening
/// on` is printed, so that a signal sent on reading that line always finds the handler (and not
/// the default action, which ends the process with the signal).
fn signalled() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let wait = {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        async fn recv(signal: Option<Signal>) {
            match signal {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        let term = recv(signal(SignalKind::terminate()).ok());
        let int = recv(signal(SignalKind::interrupt()).ok());
        async move {
            tokio::select! {
                () = term => {}
                () = int => {}
            }
        }
    };
    #[cfg(not(unix))]
    let wait = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    async move {
        wait.await;
        info!("signal received: shutting down");
    }
}
