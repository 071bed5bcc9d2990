//! `streamsocket`: the project's `openssl s_client`. It connects with a protection level (or
//! connects in plaintext and upgrades with a STARTTLS dialect), optionally sends one message and
//! prints what comes back, and reports what was negotiated as a table or as one JSON object.
//!
//! ```text
//! streamsocket connect mail.example.com submission --level Ssl --starttls smtp --json
//! streamsocket connect 127.0.0.1 4433 --level Tls13 --ca ca.pem --send "hello"
//! ```
//!
//! Exit status: 0 when the connection and the handshake succeeded (whatever the reply to
//! `--send`), 1 on any failure (reported with the error kind's name), 2 for a bad command line.

// A command-line tool reports on stdout by design.
#![allow(clippy::print_stdout)]

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use bytes::BytesMut;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use serde_json::{Map, Value, json};
use streamsocket::proto::level::{Operation, decide};
use streamsocket::{
    ChainValidationResult, CipherSuite, ClientIdentity, Dialect, EhloName, Error, ErrorKind,
    NamedGroup, ProtectionLevel, SocketControl, SocketInformation, SocketSslErrorSeverity, SpkiPin,
    StreamSocket, StringCodec, TrustAnchors, write_string,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};
use tokio_util::codec::Decoder;

/// The most bytes kept of what arrives after `--send`; reading stops there.
const MAX_RECEIVED: usize = 1024 * 1024;

/// The longest timeout accepted on the command line (one day).
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

#[derive(Debug, Parser)]
#[command(
    name = "streamsocket",
    version,
    about = "Connect with TLS or STARTTLS and report what was negotiated",
    long_about = "Connect with TLS or STARTTLS and report what was negotiated.\n\n\
        The project's `openssl s_client`: a client built on the streamsocket library, with its \
        protection levels, STARTTLS dialects and certificate-error reporting.\n\n\
        Exit status: 0 when the connection and the TLS handshake succeeded (whatever the reply \
        to --send), 1 on any failure, 2 for a bad command line."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Connect to HOST on SERVICE with a protection level and report what was negotiated.
    #[command(after_long_help = CONNECT_AFTER_HELP)]
    Connect(Box<ConnectArgs>),
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

const CONNECT_AFTER_HELP: &str = "\
Trust: without --ca, server certificates are validated against Mozilla's root program \
(compiled in from webpki-roots), not the operating system's store, so results are the same on \
every machine; --system-roots adds the operating system's roots. --ca FILE replaces Mozilla's \
roots with the certificates of FILE.

Framed dialect (--starttls framed): the seed's exchange. The client connects in plaintext, \
sends the --hello frame if one is given (a 4-byte big-endian length and UTF-8, as WinRT's \
DataWriter does), then starts the TLS handshake on the same connection. --send is written only \
once the connection is secured, never in plaintext.

--send TEXT is written once the connection is secured: as a CRLF-terminated line with the \
line dialects (smtp, lmtp, imap, pop3, nntp; IMAP commands need their tag, e.g. \"a1 NOOP\"), as a frame \
with --starttls framed, as raw bytes otherwise, --starttls mysql included (see --send-format). Then everything that \
arrives is printed until the server closes or --read-timeout passes (1 MiB at most).

After a TLS connection the client sends close_notify and waits (up to --read-timeout) for the \
server to close, so that a server that rejects the client certificate after a TLS 1.3 \
handshake is reported as a failure, not as a success.

With --json, stdout holds exactly one JSON object: the negotiated information \
(requested_protection_level, protection_level, protocol_version, cipher_suite, \
key_exchange_group, server_certificate_errors, server_certificate_error_severity, ...), \
`received` and `read_end` with --send, `capabilities` after a line-dialect upgrade, and on \
failure `error` (the error kind, e.g. UnsupportedProtectionLevel) and `message`.";

#[derive(Debug, Args)]
struct ConnectArgs {
    /// The host: a DNS name or an IP address (also the name the certificate is validated for).
    host: String,
    /// A port number or a service name (https, smtp, submission, imaps, pop3s, ...).
    service: String,
    /// The protection level: a WinRT name (PlainSocket, Ssl, Tls12, Tls13, Unspecified, ...),
    /// case-insensitive, or its number.
    #[arg(long, value_parser = parse_level)]
    level: ProtectionLevel,
    /// Connect in plaintext, then upgrade with this STARTTLS dialect.
    #[arg(long, value_enum)]
    starttls: Option<StartTls>,
    /// With --starttls framed: a frame sent in plaintext before the handshake, as the seed does.
    #[arg(long, value_name = "TEXT")]
    hello: Option<String>,
    /// Trust only the certificates of this PEM file (instead of Mozilla's roots).
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Also trust the operating system's roots.
    #[arg(long)]
    system_roots: bool,
    /// Check revocation against the CRLs of this PEM file (repeatable).
    #[arg(long, value_name = "FILE")]
    crl: Vec<PathBuf>,
    /// Certificate errors to tolerate (still reported), as ChainValidationResult names,
    /// case-insensitive and comma-separated: untrusted, expired, incompletechain, wrongusage,
    /// invalidname, revocationinformationmissing, revocationfailure. The others (revoked,
    /// invalidsignature, basicconstraintserror, unknowncriticalextension, ...) can never be
    /// ignored. A chain is accepted only if it verifies with exactly these checks relaxed.
    #[arg(long, value_name = "ERR,...", value_delimiter = ',', value_parser = parse_ignorable)]
    ignore: Vec<ChainValidationResult>,
    /// Accept only a server whose key has this pin: SHA-256 of the leaf's SubjectPublicKeyInfo,
    /// base64, also written sha256/BASE64 (repeatable; the table's "server key pin" line shows
    /// a server's). A server with another key is refused whatever --ignore says; with --ignore,
    /// the listed errors are tolerated only for a pinned key.
    #[arg(long = "pin-sha256", value_name = "BASE64", value_parser = parse_pin)]
    pin_sha256: Vec<SpkiPin>,
    /// The minimum protection level of the handshake (WinRT MinProtectionLevel).
    #[arg(long, value_name = "LEVEL", value_parser = parse_level)]
    min_level: Option<ProtectionLevel>,
    /// The client certificate chain (PEM, leaf first) for mutual TLS.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    client_cert: Option<PathBuf>,
    /// The client private key (PEM: PKCS#8, SEC1 or PKCS#1).
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// Offer this ALPN protocol (repeatable, most preferred first).
    #[arg(long, value_name = "PROTO")]
    alpn: Vec<String>,
    /// Offer only these cipher suites, by IANA name, comma-separated, most preferred first
    /// (e.g. TLS13_CHACHA20_POLY1305_SHA256); the default is the provider's list.
    #[arg(long, value_name = "SUITE,...", value_delimiter = ',', value_parser = parse_suite)]
    cipher_suites: Vec<CipherSuite>,
    /// Offer only these key-exchange groups, by IANA name, comma-separated, most preferred
    /// first (e.g. X25519,secp256r1); the default is the provider's list.
    #[arg(long, value_name = "GROUP,...", value_delimiter = ',', value_parser = parse_group)]
    groups: Vec<NamedGroup>,
    /// The name given in SMTP's EHLO (`--starttls smtp`): a domain or an address literal such
    /// as [192.0.2.1]; the default is localhost.
    #[arg(long, value_name = "NAME")]
    ehlo: Option<EhloName>,
    /// Do not send the server name (SNI) in the handshake.
    #[arg(long)]
    no_sni: bool,
    /// Write TEXT once the connection is secured, then print what arrives.
    #[arg(long, value_name = "TEXT")]
    send: Option<String>,
    /// How --send is written and the reply read: raw bytes, a CRLF line, or a length-prefixed
    /// frame. Default: line with smtp/lmtp/imap/pop3/nntp, frame with framed, raw otherwise.
    #[arg(long, value_enum, value_name = "FORMAT")]
    send_format: Option<SendFormat>,
    /// After --send, stop reading this many seconds later (also bounds the wait for the
    /// server's close).
    #[arg(long, value_name = "SECS", default_value = "2", value_parser = parse_seconds)]
    read_timeout: Duration,
    /// Time allowed to resolve and connect (default 30).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    connect_timeout: Option<Duration>,
    /// Time allowed for the STARTTLS exchange and the TLS handshake (default 30).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    handshake_timeout: Option<Duration>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// The STARTTLS dialects of `--starttls`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum StartTls {
    /// The seed's exchange: optional plaintext frames, then TLS on the same connection.
    Framed,
    /// FTP AUTH TLS (RFC 4217): the control connection.
    Ftp,
    /// SMTP STARTTLS (RFC 3207).
    Smtp,
    /// LMTP STARTTLS (RFC 2033 with RFC 3207): SMTP's exchange with LHLO.
    Lmtp,
    /// IMAP STARTTLS (RFC 3501).
    Imap,
    /// IRC STARTTLS (IRCv3 tls): CAP LS, STARTTLS, numeric 670.
    Irc,
    /// POP3 STLS (RFC 2595).
    Pop3,
    /// NNTP STARTTLS (RFC 4642).
    Nntp,
    /// ManageSieve STARTTLS (RFC 5804).
    Sieve,
    /// PostgreSQL's SSLRequest (protocol 3.0); nothing is asked again inside TLS.
    Postgres,
    /// MySQL's SSL request packet after the server's greeting; the login is --send's, raw.
    Mysql,
}

impl StartTls {
    fn dialect(self) -> Dialect {
        match self {
            Self::Framed => Dialect::Framed,
            Self::Ftp => Dialect::Ftp,
            Self::Smtp => Dialect::Smtp,
            Self::Lmtp => Dialect::Lmtp,
            Self::Imap => Dialect::Imap,
            Self::Irc => Dialect::Irc,
            Self::Pop3 => Dialect::Pop3,
            Self::Nntp => Dialect::Nntp,
            Self::Sieve => Dialect::Sieve,
            Self::Postgres => Dialect::Postgres,
            Self::Mysql => Dialect::Mysql,
        }
    }
}

/// How `--send` is written and what arrives is read.
#[derive(Clone, Copy, Debug, Eq, PartialEq, ValueEnum)]
enum SendFormat {
    /// The text as it is; the reply as bytes (shown as UTF-8, lossily).
    Raw,
    /// The text and CRLF; the reply as bytes.
    Line,
    /// The text as one frame (u32 big-endian length + UTF-8); the reply as frames.
    Frame,
}

fn parse_level(s: &str) -> Result<ProtectionLevel, String> {
    s.parse::<ProtectionLevel>().map_err(|err| err.to_string())
}

fn parse_ignorable(s: &str) -> Result<ChainValidationResult, String> {
    let class = s
        .parse::<ChainValidationResult>()
        .map_err(|err| err.to_string())?;
    match class.severity() {
        SocketSslErrorSeverity::Ignorable => Ok(class),
        SocketSslErrorSeverity::Fatal => Err(format!("{class} is fatal and cannot be ignored")),
        SocketSslErrorSeverity::None => Err(format!("{class} is not an error")),
    }
}

fn parse_pin(s: &str) -> Result<SpkiPin, String> {
    s.parse::<SpkiPin>().map_err(|err| err.to_string())
}

fn parse_suite(s: &str) -> Result<CipherSuite, String> {
    by_name(
        s,
        SocketControl::supported_cipher_suites(),
        CipherSuite::as_str,
        "cipher suite",
    )
}

fn parse_group(s: &str) -> Result<NamedGroup, String> {
    by_name(
        s,
        SocketControl::supported_key_exchange_groups(),
        NamedGroup::as_str,
        "key-exchange group",
    )
}

/// The item of `supported` whose IANA name is `s` (case-insensitive), or an error listing them.
fn by_name<T: Copy>(
    s: &str,
    supported: Vec<T>,
    name: fn(&T) -> Option<&'static str>,
    what: &str,
) -> Result<T, String> {
    let wanted = s.trim();
    supported
        .iter()
        .find(|item| name(item).is_some_and(|n| n.eq_ignore_ascii_case(wanted)))
        .copied()
        .ok_or_else(|| {
            let names: Vec<&str> = supported.iter().filter_map(name).collect();
            format!(
                "unknown or unsupported {what}; one of: {}",
                names.join(", ")
            )
        })
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= MAX_TIMEOUT_SECS) {
        return Err(format!(
            "{s:?} is out of range (above 0, at most {MAX_TIMEOUT_SECS} seconds)"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Command::Connect(args) => args,
        Command::Completions { shell } => return cli_docs::completions(Cli::command(), shell),
        Command::Man { subcommand } => {
            return cli_docs::man(
                Cli::command(),
                subcommand.as_deref(),
                env!("CARGO_PKG_VERSION"),
            );
        }
    };
    if args.hello.is_some() && !matches!(args.starttls, Some(StartTls::Framed)) {
        Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "--hello is only valid with --starttls framed",
            )
            .exit();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("streamsocket: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let report = runtime.block_on(connect(&args));
    report.print(&args);
    if report.failure.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// What one run found: the socket's information and how it ended.
struct Report {
    info: SocketInformation,
    capabilities: Vec<String>,
    received: Option<Received>,
    failure: Option<Failure>,
}

/// Why a run failed: the error kind and a one-line message with its causes.
struct Failure {
    kind: ErrorKind,
    message: String,
}

impl From<&Error> for Failure {
    fn from(err: &Error) -> Self {
        Self {
            kind: err.kind(),
            message: err.full_message(),
        }
    }
}

/// What arrived after `--send`.
struct Received {
    bytes: Vec<u8>,
    /// Decoded frames, in frame mode.
    frames: Option<Vec<String>>,
    /// How reading ended.
    end: ReadEnd,
}

/// How reading after `--send` ended (the JSON `read_end`).
#[derive(Debug, Eq, PartialEq)]
enum ReadEnd {
    /// The peer closed cleanly (TLS close_notify, or the end of a plaintext stream).
    Closed,
    /// `--read-timeout` passed; the connection is still open.
    Timeout,
    /// `MAX_RECEIVED` bytes arrived; the connection is still open.
    Limit,
    /// The peer closed a TLS connection without close_notify.
    Truncated,
    /// The peer reset the connection.
    Reset,
    /// Another error, or a frame that does not decode.
    Error(String),
}

impl ReadEnd {
    /// Whether the connection is still open (and should be closed by us).
    fn is_open(&self) -> bool {
        matches!(self, Self::Timeout | Self::Limit)
    }
}

impl fmt::Display for ReadEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => f.write_str("closed"),
            Self::Timeout => f.write_str("timeout"),
            Self::Limit => f.write_str("limit"),
            Self::Truncated => f.write_str("truncated"),
            Self::Reset => f.write_str("reset"),
            Self::Error(message) => write!(f, "error: {message}"),
        }
    }
}

impl Received {
    fn text(&self) -> String {
        match &self.frames {
            Some(frames) => frames.join("\n"),
            None => String::from_utf8_lossy(&self.bytes).into_owned(),
        }
    }
}

async fn connect(args: &ConnectArgs) -> Report {
    let mut report = Report {
        info: SocketInformation::default(),
        capabilities: Vec::new(),
        received: None,
        failure: None,
    };
    let mut socket = match control(args) {
        Ok(control) => StreamSocket::with_control(control),
        Err(failure) => {
            report.failure = Some(failure);
            return report;
        }
    };
    let result = run(args, &mut socket, &mut report).await;
    report.info = socket.information().clone();
    report.capabilities = socket.capabilities().to_vec();
    if let Err(err) = result {
        report.failure = Some(Failure::from(&err));
    }
    report
}

/// The socket options the arguments ask for; files are read here.
fn control(args: &ConnectArgs) -> Result<SocketControl, Failure> {
    let mut control = SocketControl::default();
    let anchors = match &args.ca {
        Some(path) => {
            TrustAnchors::from_pem(&read(path, "--ca")?).map_err(|e| Failure::from(&e))?
        }
        None => TrustAnchors::mozilla(),
    };
    let lib = |result: Result<(), Error>| result.map_err(|e| Failure::from(&e));
    lib(control.set_trust_anchors(anchors.with_system(args.system_roots)))?;
    if !args.crl.is_empty() {
        let mut pem = Vec::new();
        for path in &args.crl {
            pem.extend(read(path, "--crl")?);
            pem.push(b'\n');
        }
        lib(control.set_crls_pem(&pem))?;
    }
    lib(control.set_ignorable_server_certificate_errors(args.ignore.iter().copied()))?;
    lib(control.set_pinned_server_keys(args.pin_sha256.iter().copied()))?;
    lib(control.set_min_protection_level(args.min_level))?;
    if let (Some(cert), Some(key)) = (&args.client_cert, &args.client_key) {
        let identity =
            ClientIdentity::from_pem(&read(cert, "--client-cert")?, &read(key, "--client-key")?)
                .map_err(|e| Failure::from(&e))?;
        lib(control.set_client_identity(Some(identity)))?;
    }
    if !args.alpn.is_empty() {
        lib(control.set_alpn_protocols(args.alpn.iter().map(|p| p.as_bytes().to_vec()).collect()))?;
    }
    lib(control.set_cipher_suites(args.cipher_suites.iter().copied()))?;
    lib(control.set_key_exchange_groups(args.groups.iter().copied()))?;
    if let Some(name) = &args.ehlo {
        lib(control.set_ehlo_name(name.clone()))?;
    }
    lib(control.set_send_sni(!args.no_sni))?;
    if let Some(timeout) = args.connect_timeout {
        lib(control.set_connect_timeout(timeout))?;
    }
    if let Some(timeout) = args.handshake_timeout {
        lib(control.set_handshake_timeout(timeout))?;
    }
    Ok(control)
}

fn read(path: &Path, option: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|err| Failure {
        kind: ErrorKind::InvalidArgument,
        message: format!("cannot read the {option} file {}: {err}", path.display()),
    })
}

/// Connects (and upgrades), sends and reads, closes.
async fn run(
    args: &ConnectArgs,
    socket: &mut StreamSocket,
    report: &mut Report,
) -> Result<(), Error> {
    // The level policy first, for both forms, so that nothing is resolved or connected for a
    // level that cannot be honoured (the library checks too, but a STARTTLS run connects in
    // plaintext before its upgrade asks).
    check_level(args)?;
    match args.starttls {
        Some(starttls) => {
            let dialect = starttls.dialect();
            socket
                .connect(&args.host, &args.service, ProtectionLevel::PlainSocket)
                .await?;
            if let Some(hello) = &args.hello {
                write_string(socket, hello).await?;
            }
            socket.upgrade_with(dialect, args.level, &args.host).await?;
        }
        None => {
            socket
                .connect(&args.host, &args.service, args.level)
                .await?
        }
    }

    let mut closed = false;
    if let Some(text) = &args.send {
        let format = args.send_format.unwrap_or(match args.starttls {
            Some(StartTls::Framed) => SendFormat::Frame,
            // A binary protocol: the bytes as they are.
            Some(StartTls::Mysql) => SendFormat::Raw,
            Some(_) => SendFormat::Line,
            None => SendFormat::Raw,
        });
        let received = send_and_read(socket, text, format, args.read_timeout).await?;
        closed = !received.end.is_open();
        report.received = Some(received);
    }
    if !closed {
        socket.close(args.read_timeout).await?;
    }
    Ok(())
}

/// The level and minimum checked against the policy table before any connection, for the
/// operation that secures this run: the upgrade with `--starttls` (whose plaintext connect the
/// minimum does not govern), the connect otherwise.
fn check_level(args: &ConnectArgs) -> Result<(), Error> {
    let (level, minimum) = (args.level, args.min_level);
    let operation = match args.starttls {
        Some(_) => Operation::Upgrade { level, minimum },
        None => Operation::Connect { level, minimum },
    };
    decide(operation)?;
    Ok(())
}

/// Writes `text` in `format`, then reads until the peer closes, the deadline passes or the
/// limit is reached. Only a TLS failure (such as a certificate rejected after a TLS 1.3
/// handshake) is an error; how the reply ended is reported, not judged.
async fn send_and_read(
    socket: &mut StreamSocket,
    text: &str,
    format: SendFormat,
    read_timeout: Duration,
) -> Result<Received, Error> {
    match format {
        SendFormat::Frame => write_string(socket, text).await?,
        SendFormat::Line | SendFormat::Raw => {
            let mut bytes = text.as_bytes().to_vec();
            if format == SendFormat::Line {
                bytes.extend_from_slice(b"\r\n");
            }
            socket.write_all(&bytes).await?;
            socket.flush().await?;
        }
    }
    let deadline = Instant::now() + read_timeout;
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    let end = loop {
        if bytes.len() >= MAX_RECEIVED {
            break ReadEnd::Limit;
        }
        match timeout_at(deadline, socket.read(&mut buf)).await {
            Err(_elapsed) => break ReadEnd::Timeout,
            Ok(Ok(0)) => break ReadEnd::Closed,
            Ok(Ok(read)) => {
                let room = MAX_RECEIVED.saturating_sub(bytes.len());
                bytes.extend_from_slice(buf.get(..read.min(room)).unwrap_or_default());
            }
            Ok(Err(err)) => match Error::from_io(&err) {
                Some(tls @ Error::Tls { .. }) => return Err(tls.clone()),
                Some(err) => break read_end(err),
                None => break ReadEnd::Error(err.to_string()),
            },
        }
    };
    let mut received = Received {
        bytes,
        frames: None,
        end,
    };
    if format == SendFormat::Frame {
        let mut codec = StringCodec::default();
        let mut pending = BytesMut::from(received.bytes.as_slice());
        let mut frames = Vec::new();
        loop {
            match codec.decode(&mut pending) {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(err) => {
                    received.end = ReadEnd::Error(err.full_message());
                    break;
                }
            }
        }
        received.frames = Some(frames);
    }
    Ok(received)
}

/// How an error ended reading.
fn read_end(err: &Error) -> ReadEnd {
    match err.kind() {
        ErrorKind::Truncated => ReadEnd::Truncated,
        ErrorKind::ConnectionResetByPeer => ReadEnd::Reset,
        _ => ReadEnd::Error(err.full_message()),
    }
}

impl Report {
    fn print(&self, args: &ConnectArgs) {
        if args.json {
            println!("{}", self.json(args));
            return;
        }
        if self.info.remote_address.is_some() {
            // Certificate names and error details come from the peer.
            print!("{}", printable(&self.info.to_string()));
            if !self.capabilities.is_empty() {
                println!("{:<20} {}", "capabilities", self.capabilities.join(" "));
            }
        }
        if let Some(received) = &self.received {
            println!(
                "{:<20} {} bytes ({})",
                "received",
                received.bytes.len(),
                received.end
            );
            let text = printable(&received.text());
            if !text.is_empty() {
                println!("{}", text.trim_end_matches('\n'));
            }
        }
        if let Some(failure) = &self.failure {
            eprintln!(
                "streamsocket: {}: {}",
                failure.kind,
                printable(&failure.message)
            );
        }
    }

    /// One JSON object: the information's fields plus the run's own.
    fn json(&self, args: &ConnectArgs) -> Value {
        let mut map = match serde_json::to_value(&self.info) {
            Ok(Value::Object(map)) => map,
            // SocketInformation serialises to an object; an error here would be a bug, and
            // the report still carries the failure below.
            _ => Map::new(),
        };
        // What the user asked for, even when the run failed before the socket recorded it
        // (or recorded only the plaintext half of a STARTTLS run).
        map.insert(
            "requested_protection_level".to_owned(),
            json!(args.level.name()),
        );
        if args.starttls.is_some() {
            map.insert("capabilities".to_owned(), json!(self.capabilities));
        }
        if !self.info.server_certificate_error_details.is_empty() {
            let lines: Vec<String> = self
                .info
                .server_certificate_error_details
                .iter()
                .map(ToString::to_string)
                .collect();
            map.insert("certificate_error_lines".to_owned(), json!(lines));
        }
        if let Some(received) = &self.received {
            map.insert("received".to_owned(), json!(received.text()));
            if let Some(frames) = &received.frames {
                map.insert("received_frames".to_owned(), json!(frames));
            }
            map.insert("received_bytes".to_owned(), json!(received.bytes.len()));
            map.insert("read_end".to_owned(), json!(received.end.to_string()));
        }
        if let Some(failure) = &self.failure {
            map.insert("error".to_owned(), json!(failure.kind.name()));
            map.insert("message".to_owned(), json!(failure.message));
        }
        Value::Object(map)
    }
}

/// The peer's text made safe for a terminal: line breaks and tabs stay, a CR before a line
/// break goes, and other control characters (escape sequences) are shown escaped.
fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\t' => out.push(c),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn peer_text_cannot_drive_the_terminal() {
        assert_eq!(printable("250 ok\r\n250 two\r\n"), "250 ok\n250 two\n");
        assert_eq!(printable("\u{1b}[2Jx\ty"), "\\u{1b}[2Jx\ty");
        assert_eq!(printable("lone\rcr"), "lone\\rcr");
        assert_eq!(printable("Hello ☺"), "Hello ☺");
    }

    #[test]
    fn seconds_must_be_positive_and_bounded() {
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_seconds("2"), Ok(Duration::from_secs(2)));
        for bad in ["0", "-1", "nan", "inf", "1e9", "two", ""] {
            assert!(parse_seconds(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_ignorable_certificate_errors_can_be_ignored() {
        assert_eq!(
            parse_ignorable("invalidname"),
            Ok(ChainValidationResult::InvalidName)
        );
        assert_eq!(
            parse_ignorable("EXPIRED"),
            Ok(ChainValidationResult::Expired)
        );
        for bad in [
            "revoked",
            "InvalidSignature",
            "basicconstraintserror",
            "UnknownCriticalExtension",
            "success",
            "nonsense",
        ] {
            assert!(parse_ignorable(bad).is_err(), "{bad:?}");
        }
    }
}
