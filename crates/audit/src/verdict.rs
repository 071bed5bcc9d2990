//! The verdict rules: what the mock server observed in, a verdict out.
//!
//! Pure: no process, no socket, no clock. The audited command's own output is never an input;
//! only the server's transcripts (bytes received in plaintext and inside TLS, whether the
//! go-ahead was given and the handshake completed, why each connection ended) and what the
//! harness saw of the process (whether it had to be killed at the case timeout, how long it
//! ran).
//!
//! The rules, for every dialect:
//!
//! - Always: credentials (`AUTH`, `LOGIN`, `USER`, `PASS`, `APOP`, `AUTHENTICATE`) sent in
//!   plaintext fail, critically; any other command beyond the session basics (`EHLO`,
//!   `CAPABILITY`, `CAPA`, `STARTTLS`, `STLS`, `NOOP`, `RSET`, `QUIT`, `LOGOUT`) sent in
//!   plaintext fails, and so do a ClientHello sent without the go-ahead, bytes that are not TLS
//!   where the ClientHello was due, and Framed frames on a connection that never starts TLS.
//! - Valid chain: pass when a handshake completes and, in a line dialect, the first command
//!   inside TLS asks for the capabilities again; warn when another command comes first or none
//!   does (RFC 3207 section 4.2: what was learnt in plaintext must be discarded).
//!   No completed handshake is inconclusive: the client may not trust `{ca}`.
//! - Bad certificate: fail when a handshake completes (even when nothing follows inside TLS:
//!   a refusal after the handshake cannot be told from acceptance), pass when none does
//!   (naming the alert sent). Revocation scenarios are informational when the command does not
//!   use `{crl}`.
//! - Stripping: pass when nothing but the session basics was sent in plaintext; warn when the
//!   client had to be killed at the case timeout.
//! - Injection: fail when the first command inside TLS is not a capability request (the client
//!   took the injected reply); pass when it aborts or asks again.
//! - Legacy-only servers: fail when a ClientHello (any connection, so a fallback after the
//!   old server's alert counts) offers SSL 3.0, TLS 1.0 or TLS 1.1, naming the versions, and
//!   when the client answers an old version's ServerHello (the server negotiating down) with
//!   its next handshake message or with bytes that are not TLS; warn when it answers with an
//!   alert other than `protocol_version`.
//! - Legacy-only and broken handshakes: fail when the client had to be killed at the case
//!   timeout (it hangs) or a handshake completed; pass when it ends by itself.
//! - Informational: what happened, never a finding.

use std::fmt;
use std::time::Duration;

use mockserver::Behaviour;
use mockserver::stats::{HandshakeFailure, Phase, SessionEnd, Transcript};
use proto::alert::Alert;
use proto::hello;
use proto::hello::legacy::Answer;
use proto::starttls::Dialect;
use serde::Serialize;

use crate::case::{Case, Category};

/// The outcome of one case.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The client did something a correct client must not do.
    Fail,
    /// What the client supports; never a finding.
    Info,
    /// The case could not judge the client (it never got far enough).
    Inconclusive,
    /// The client behaved as a correct client must.
    Pass,
    /// Not insecure, but not what a careful client does.
    Warn,
}

/// A verdict with the reason that names what was seen.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct Judgement {
    /// The outcome.
    pub verdict: Verdict,
    /// What was seen, in plain words.
    pub reason: String,
    /// Whether the finding is critical (credentials sent in plaintext).
    pub critical: bool,
}

/// How the audited process ended, as the harness saw it.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProcessEnd {
    /// It exited by itself (`None`: killed by a signal it did not get from the harness).
    Exited(Option<i32>),
    /// The harness killed it at the case timeout.
    KilledAtTimeout,
    /// It could not be started.
    NotStarted,
}

/// Everything a verdict is judged from.
#[derive(Clone, Debug)]
pub struct Observations {
    /// The mock server's transcripts, one per connection, oldest first.
    pub transcripts: Vec<Transcript>,
    /// How the process ended.
    pub process: ProcessEnd,
    /// How long the process ran.
    pub duration: Duration,
    /// Whether the command was given the CRLs (`{crl}` appears in it).
    pub crl_given: bool,
}

/// What a client sent in a line dialect, one line at a time.
#[derive(Clone, Debug, Eq, PartialEq)]
enum Sent {
    /// A command, by its verb (upper-case, the IMAP tag left out).
    Command(String),
    /// A TLS handshake record where a line was due.
    ClientHello,
}

/// A plaintext finding.
struct Finding {
    reason: String,
    critical: bool,
}

impl Verdict {
    /// Every verdict, in table order.
    pub const ALL: [Self; 5] = [
        Self::Pass,
        Self::Fail,
        Self::Warn,
        Self::Info,
        Self::Inconclusive,
    ];

    /// The kebab-case name, as serde writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fail => "fail",
            Self::Info => "info",
            Self::Inconclusive => "inconclusive",
            Self::Pass => "pass",
            Self::Warn => "warn",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Judgement {
    fn new(verdict: Verdict, reason: impl Into<String>) -> Self {
        Self {
            verdict,
            reason: reason.into(),
            critical: false,
        }
    }
}

/// Judges one case from what was observed.
pub fn judge(case: &Case, obs: &Observations) -> Judgement {
    let dialect = case.dialect();
    if obs.process == ProcessEnd::NotStarted {
        return Judgement::new(Verdict::Inconclusive, "the command could not be started");
    }
    if obs.transcripts.is_empty() {
        return Judgement::new(
            Verdict::Inconclusive,
            format!(
                "it never connected to the server ({})",
                process_words(obs.process, obs.duration)
            ),
        );
    }
    if let Some(finding) = plaintext_finding(dialect, &obs.transcripts) {
        return Judgement {
            verdict: Verdict::Fail,
            reason: finding.reason,
            critical: finding.critical,
        };
    }
    match case.category {
        Category::ValidChain => valid_chain(dialect, obs),
        Category::BadCertificate => bad_certificate(case, obs),
        Category::Stripping => stripping(case, obs),
        Category::Injection => injection(dialect, obs),
        Category::Legacy | Category::BrokenHandshake => broken_handshake(case, obs),
        Category::Informational => informational(case, obs),
    }
}

fn valid_chain(dialect: Dialect, obs: &Observations) -> Judgement {
    let Some(done) = obs.transcripts.iter().find(|t| t.handshake_completed) else {
        return Judgement::new(
            Verdict::Inconclusive,
            format!(
                "it never completed a handshake with a valid chain: check that it trusts {{ca}} \
                 ({})",
                ends(&obs.transcripts)
            ),
        );
    };
    if !is_line(dialect) {
        return Judgement::new(Verdict::Pass, "the handshake completed");
    }
    if dialect == Dialect::Sieve {
        // RFC 5804 section 2.2: the server re-sends its capabilities unasked; the client need
        // not ask, and whatever it sends next is its business.
        let then = first_tls_command(dialect, done).unwrap_or_else(|| "nothing".to_owned());
        return Judgement::new(
            Verdict::Pass,
            format!(
                "the handshake completed; the server re-sent its capabilities unasked and it \
                 sent {then} inside TLS"
            ),
        );
    }
    match first_tls_command(dialect, done) {
        None => silent_inside_tls(dialect),
        Some(verb) if is_capability_request(dialect, &verb) => Judgement::new(
            Verdict::Pass,
            format!("the handshake completed and it asked again inside TLS ({verb})"),
        ),
        Some(verb) => Judgement::new(
            Verdict::Warn,
            format!(
                "the handshake completed, but its first command inside TLS was {verb}: it did \
                 not ask for the capabilities again ({})",
                capability_request(dialect)
            ),
        ),
    }
}

/// A line-dialect client that completed the handshake and sent nothing inside TLS: it never
/// asked for the capabilities again.
fn silent_inside_tls(dialect: Dialect) -> Judgement {
    Judgement::new(
        Verdict::Warn,
        format!(
            "the handshake completed, but it sent nothing inside TLS: it did not ask for the \
             capabilities again ({})",
            capability_request(dialect)
        ),
    )
}

fn bad_certificate(case: &Case, obs: &Observations) -> Judgement {
    let scenario = case.entry.scenario;
    let error = case
        .entry
        .error_class
        .map_or_else(|| "invalid".to_owned(), |e| e.to_string());
    let completed: Vec<&Transcript> = obs
        .transcripts
        .iter()
        .filter(|t| t.handshake_completed)
        .collect();
    let needs_crl = matches!(
        scenario,
        testpki::Scenario::Revoked | testpki::Scenario::StaleCrl
    );
    if !completed.is_empty() {
        if needs_crl && !obs.crl_given {
            return Judgement::new(
                Verdict::Info,
                format!(
                    "it accepted the {scenario} certificate, but the command does not use {{crl}}, \
                     so it could not know"
                ),
            );
        }
        let inside: usize = completed.iter().map(|t| t.bytes(Phase::Tls).len()).sum();
        if inside == 0 {
            // Silence proves nothing either way: a client that checks the name only after the
            // handshake ends so, and so does one that accepted and had nothing to send
            // (openssl s_client with its stdin closed). The handshake completed: that fails.
            return Judgement::new(
                Verdict::Fail,
                format!(
                    "it completed the handshake with the {scenario} certificate ({error}) and \
                     sent nothing inside TLS: if it refused, it did so only after the handshake"
                ),
            );
        }
        return Judgement::new(
            Verdict::Fail,
            format!(
                "it accepted the {scenario} certificate ({error}) and sent {inside} bytes inside TLS"
            ),
        );
    }
    if !obs.transcripts.iter().any(|t| t.upgraded) {
        return Judgement::new(
            Verdict::Inconclusive,
            format!(
                "it never started TLS ({})",
                process_words(obs.process, obs.duration)
            ),
        );
    }
    Judgement::new(
        Verdict::Pass,
        format!(
            "it refused the {scenario} certificate ({})",
            ends(&obs.transcripts)
        ),
    )
}

fn stripping(case: &Case, obs: &Observations) -> Judgement {
    let behaviour = case.entry.behaviour;
    let sent = plaintext_verbs(case.dialect(), &obs.transcripts);
    if obs.process == ProcessEnd::KilledAtTimeout {
        return Judgement::new(
            Verdict::Warn,
            format!(
                "against {behaviour} it sent only {sent} in plaintext, but never ended: killed \
                 after {}",
                seconds(obs.duration)
            ),
        );
    }
    Judgement::new(
        Verdict::Pass,
        format!("against {behaviour} it sent only {sent} in plaintext and stopped"),
    )
}

fn injection(dialect: Dialect, obs: &Observations) -> Judgement {
    let Some(done) = obs.transcripts.iter().find(|t| t.handshake_completed) else {
        if obs.transcripts.iter().any(|t| t.upgraded) {
            return Judgement::new(
                Verdict::Pass,
                format!(
                    "it aborted after plaintext arrived with the go-ahead ({})",
                    ends(&obs.transcripts)
                ),
            );
        }
        return Judgement::new(
            Verdict::Inconclusive,
            format!(
                "it never started TLS ({})",
                process_words(obs.process, obs.duration)
            ),
        );
    };
    if dialect == Dialect::Sieve {
        // The case's server withholds the capabilities it owes inside TLS (RFC 5804 section
        // 2.2): only the planted ones could have made the client speak first there.
        return match first_tls_command(dialect, done) {
            None => Judgement::new(
                Verdict::Pass,
                "it discarded the injected capabilities and waited inside TLS for the server's own",
            ),
            Some(verb) => Judgement::new(
                Verdict::Fail,
                format!(
                    "it took the injected capabilities: it sent {verb} inside TLS before the \
                     server had sent anything there"
                ),
            ),
        };
    }
    if dialect == Dialect::Postgres {
        // libpq since 14.1 finishes the handshake, sees the bytes still buffered from before
        // it and aborts with nothing sent inside TLS (CVE-2021-23222). A client that goes on
        // asks nothing again, so nothing shows whether it read the planted bytes.
        let inside = done.bytes(Phase::Tls).len();
        if inside == 0 {
            return Judgement::new(
                Verdict::Pass,
                "it completed the handshake and then sent nothing inside TLS: it aborted on the \
                 plaintext that came with the go-ahead (S)",
            );
        }
        return Judgement::new(
            Verdict::Warn,
            format!(
                "it sent {inside} bytes inside TLS although plaintext came with the go-ahead (S): \
                 whether it read those bytes cannot be seen; libpq since 14.1 aborts \
                 (CVE-2021-23222)"
            ),
        );
    }
    match first_tls_command(dialect, done) {
        None => silent_inside_tls(dialect),
        Some(verb) if is_capability_request(dialect, &verb) => Judgement::new(
            Verdict::Pass,
            format!("it discarded the injected reply and asked again inside TLS ({verb})"),
        ),
        Some(verb) => Judgement::new(
            Verdict::Fail,
            format!(
                "it took the injected reply: its first command inside TLS was {verb}, not {}",
                capability_request(dialect)
            ),
        ),
    }
}

fn broken_handshake(case: &Case, obs: &Observations) -> Judgement {
    let behaviour = case.entry.behaviour;
    let legacy_server =
        if let Behaviour::LegacyOnly(v) | Behaviour::LegacyServerHello(v) = behaviour {
            let version = u16::from_be_bytes(v.record_version());
            Some(hello::version_name(version).unwrap_or("legacy"))
        } else {
            None
        };
    if let Some(server) = legacy_server
        && let Some(judgement) = legacy_answer(server, &obs.transcripts)
    {
        return judgement;
    }
    if let Some(server) = legacy_server
        && let Some(offer) = legacy_offer(&obs.transcripts)
    {
        return Judgement::new(
            Verdict::Fail,
            format!(
                "offered {} in its ClientHello (connection {}) to a server that speaks only \
                 {server}",
                offer.names.join(" and "),
                offer.connection
            ),
        );
    }
    if let Some(done) = obs.transcripts.iter().find(|t| t.handshake_completed) {
        // The mock server never completes a handshake in these behaviours; if it did, the
        // client took a non-TLS answer for one.
        return Judgement::new(
            Verdict::Fail,
            format!(
                "a handshake completed against {behaviour} (connection {})",
                done.id
            ),
        );
    }
    if !obs.transcripts.iter().any(|t| t.upgraded) {
        return Judgement::new(
            Verdict::Inconclusive,
            format!(
                "it never started TLS ({})",
                process_words(obs.process, obs.duration)
            ),
        );
    }
    let answer = match behaviour {
        Behaviour::LegacyOnly(_) => "the protocol_version alert of an old server",
        Behaviour::LegacyServerHello(_) => "the ServerHello of an old version",
        Behaviour::StallAfterGoAhead => "a server that never answered its ClientHello",
        Behaviour::GarbageInsteadOfServerHello => "bytes that are not TLS",
        _ => "a close in the middle of the handshake",
    };
    if obs.process == ProcessEnd::KilledAtTimeout {
        return Judgement::new(
            Verdict::Fail,
            format!(
                "it hangs: after {answer} it was still running when killed at the case timeout \
                 ({})",
                seconds(obs.duration)
            ),
        );
    }
    Judgement::new(
        Verdict::Pass,
        format!(
            "it gave up by itself after {answer} and sent nothing in plaintext (it ran {})",
            seconds(obs.duration)
        ),
    )
}

/// What the client answered a legacy ServerHello with, when that is a finding: it went on with
/// the old version's handshake (fail), sent something that is not TLS (fail), or refused with an
/// alert other than `protocol_version` (warn: it may have taken the version and refused
/// something else). `protocol_version` and a close are the refusal RFC 8996 asks for: `None`.
fn legacy_answer(server: &str, transcripts: &[Transcript]) -> Option<Judgement> {
    transcripts.iter().find_map(|t| {
        let SessionEnd::LegacyAnswer(answer) = t.end? else {
            return None;
        };
        let connection = t.id;
        match answer {
            Answer::Alert(alert) if alert == Alert::PROTOCOL_VERSION => None,
            Answer::Alert(alert) => Some(Judgement::new(
                Verdict::Warn,
                format!(
                    "it answered a {server} ServerHello with the alert {alert}, not \
                     protocol_version (connection {connection}): it may have taken the version \
                     and refused something else"
                ),
            )),
            Answer::NotTls => Some(Judgement::new(
                Verdict::Fail,
                format!(
                    "it sent bytes that are not TLS after a {server} ServerHello (connection \
                     {connection})"
                ),
            )),
            Answer::Handshake(_) | Answer::ChangeCipherSpec | Answer::ApplicationData => {
                Some(Judgement::new(
                    Verdict::Fail,
                    format!(
                        "it went on with a {server} handshake after the server's {server} \
                         ServerHello: it answered with its {answer} (connection {connection})"
                    ),
                ))
            }
        }
    })
}

/// The legacy versions (SSL 2.0 and 3.0, TLS 1.0 and 1.1) a ClientHello offered.
struct LegacyOffer {
    connection: u64,
    names: Vec<&'static str>,
}

/// The first connection whose ClientHello offers a version older than TLS 1.2.
fn legacy_offer(transcripts: &[Transcript]) -> Option<LegacyOffer> {
    transcripts.iter().find_map(|t| {
        let parsed = hello::parse(t.client_hello.as_deref()?).ok()?;
        let mut legacy: Vec<u16> = parsed
            .offered_versions()
            .filter(|&v| v < 0x0303 && hello::version_name(v).is_some())
            .collect();
        legacy.sort_unstable_by(|a, b| b.cmp(a));
        legacy.dedup();
        let names: Vec<&'static str> = legacy.into_iter().filter_map(hello::version_name).collect();
        (!names.is_empty()).then_some(LegacyOffer {
            connection: t.id,
            names,
        })
    })
}

fn informational(case: &Case, obs: &Observations) -> Judgement {
    let server = if case.client_cert_required {
        "a server that requires a client certificate".to_owned()
    } else {
        format!("a TLS {}-only server", case.entry.tls)
    };
    let reason = if obs.transcripts.iter().any(|t| t.handshake_completed) {
        format!("it completed a handshake with {server}")
    } else {
        format!(
            "it completed no handshake with {server} ({})",
            ends(&obs.transcripts)
        )
    };
    Judgement::new(Verdict::Info, reason)
}

/// The first plaintext finding over all connections, credentials first.
fn plaintext_finding(dialect: Dialect, transcripts: &[Transcript]) -> Option<Finding> {
    let mut other = None;
    for t in transcripts {
        if t.end == Some(SessionEnd::HandshakeFailed(HandshakeFailure::NotTls)) {
            other.get_or_insert_with(|| Finding {
                reason: format!(
                    "it sent bytes that are not TLS where its ClientHello was due (connection {}): \
                     plaintext after the go-ahead",
                    t.id
                ),
                critical: false,
            });
        }
        match dialect {
            Dialect::Ftp
            | Dialect::Irc
            | Dialect::Smtp
            | Dialect::Lmtp
            | Dialect::Imap
            | Dialect::Pop3
            | Dialect::Nntp
            | Dialect::Postgres
            | Dialect::Sieve => {
                for sent in sent_lines(dialect, &t.bytes(Phase::Plaintext)) {
                    match sent {
                        Sent::Command(verb) if is_credentials(&verb) => {
                            return Some(Finding {
                                reason: format!(
                                    "critical: it sent its credentials ({verb}) in plaintext \
                                     (connection {})",
                                    t.id
                                ),
                                critical: true,
                            });
                        }
                        Sent::Command(verb) if !is_basic(&verb) => {
                            other.get_or_insert_with(|| Finding {
                                reason: format!(
                                    "it sent {verb} in plaintext (connection {})",
                                    t.id
                                ),
                                critical: false,
                            });
                        }
                        Sent::Command(_) => {}
                        Sent::ClientHello if !t.upgraded => {
                            other.get_or_insert_with(|| Finding {
                                reason: format!(
                                    "it sent a ClientHello anyway, without the server's go-ahead \
                                     (connection {})",
                                    t.id
                                ),
                                critical: false,
                            });
                        }
                        Sent::ClientHello => {}
                    }
                }
            }
            Dialect::Framed => {
                let plain = t.bytes(Phase::Plaintext).len();
                if !t.upgraded && plain > 0 {
                    other.get_or_insert_with(|| Finding {
                        reason: format!(
                            "it sent {plain} bytes of frames in plaintext on a connection that \
                             never started TLS (connection {})",
                            t.id
                        ),
                        critical: false,
                    });
                }
            }
            // Every Implicit connection is TLS from the first byte: plaintext there shows as
            // bytes that are not TLS, handled above.
            Dialect::Implicit => {}
            Dialect::Mysql => {
                if is_mysql_plaintext_login(&t.bytes(Phase::Plaintext)) {
                    return Some(Finding {
                        reason: format!(
                            "critical: it sent its login (a HandshakeResponse41 without \
                             CLIENT_SSL) in plaintext (connection {})",
                            t.id
                        ),
                        critical: true,
                    });
                }
            }
        }
    }
    other
}

/// Whether a MySQL client's first packet is a login rather than the SSLRequest: sequence 1, a
/// payload longer than the SSLRequest's 32 bytes (the user name follows), and `CLIENT_SSL`
/// (0x800) not among its flags.
fn is_mysql_plaintext_login(bytes: &[u8]) -> bool {
    match bytes {
        [a, b, c, 1, f0, f1, ..] => {
            let len = usize::from(*a) | usize::from(*b) << 8 | usize::from(*c) << 16;
            let flags = u16::from(*f0) | u16::from(*f1) << 8;
            len > 32 && flags & 0x0800 == 0
        }
        _ => false,
    }
}

/// The lines a client sent, as verbs; parsing stops at `DATA` (a message follows) and at a TLS
/// record (binary follows).
fn sent_lines(dialect: Dialect, bytes: &[u8]) -> Vec<Sent> {
    if dialect == Dialect::Postgres {
        return sent_packets(bytes);
    }
    let mut out = Vec::new();
    for line in bytes.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&0x16) {
            out.push(Sent::ClientHello);
            break;
        }
        let mut words = line
            .split(|&b| b == b' ')
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).to_ascii_uppercase());
        if dialect == Dialect::Imap {
            // The tag.
            words.next();
        }
        let Some(verb) = words.next() else {
            continue;
        };
        let mut verb: String = verb.chars().take(24).collect();
        // FTP's upgrade command is AUTH TLS (RFC 4217); AUTH with anything else, or in another
        // dialect, is authentication.
        if dialect == Dialect::Ftp && verb == "AUTH" && words.next().as_deref() == Some("TLS") {
            verb = "AUTH TLS".to_owned();
        }
        let data = verb == "DATA";
        out.push(Sent::Command(verb));
        if data {
            break;
        }
    }
    out
}

/// PostgreSQL's startup packets (an Int32 length that counts itself, an Int32 code), named;
/// parsing stops at a TLS record and at bytes that are no packet.
fn sent_packets(mut bytes: &[u8]) -> Vec<Sent> {
    let mut out = Vec::new();
    while let Some(head) = bytes.first_chunk::<8>() {
        if head[0] == 0x16 {
            out.push(Sent::ClientHello);
            break;
        }
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let code = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let name = match code {
            80_877_103 => "SSLRequest",
            80_877_104 => "GSSENCRequest",
            80_877_102 => "CancelRequest",
            code if code >> 16 == 3 => "StartupMessage",
            _ => "bytes that are no startup packet",
        };
        out.push(Sent::Command(name.to_owned()));
        let Some(next) = usize::try_from(len)
            .ok()
            .filter(|len| (8..=bytes.len()).contains(len))
            .and_then(|len| bytes.get(len..))
        else {
            break;
        };
        bytes = next;
    }
    if bytes.first() == Some(&0x16) && !matches!(out.last(), Some(Sent::ClientHello)) {
        out.push(Sent::ClientHello);
    }
    out
}

/// The first command inside TLS on `t`, if any.
fn first_tls_command(dialect: Dialect, t: &Transcript) -> Option<String> {
    sent_lines(dialect, &t.bytes(Phase::Tls))
        .into_iter()
        .next()
        .map(|s| match s {
            Sent::Command(verb) => verb,
            Sent::ClientHello => "a TLS record".to_owned(),
        })
}

/// The distinct verbs sent in plaintext over all connections, for a reason string.
fn plaintext_verbs(dialect: Dialect, transcripts: &[Transcript]) -> String {
    let mut verbs: Vec<String> = Vec::new();
    for t in transcripts {
        for sent in sent_lines(dialect, &t.bytes(Phase::Plaintext)) {
            if let Sent::Command(verb) = sent
                && !verbs.contains(&verb)
            {
                verbs.push(verb);
            }
        }
    }
    if verbs.is_empty() {
        "nothing".to_owned()
    } else {
        verbs.join(", ")
    }
}

fn is_line(dialect: Dialect) -> bool {
    dialect.is_line_based()
}

fn is_credentials(verb: &str) -> bool {
    matches!(
        verb,
        "AUTH" | "AUTHENTICATE" | "AUTHINFO" | "LOGIN" | "USER" | "PASS" | "APOP"
            // PostgreSQL's login: the user name, and the password the server asks for next.
            | "StartupMessage"
    )
}

fn is_basic(verb: &str) -> bool {
    matches!(
        verb,
        "EHLO"
            | "HELO"
            | "LHLO"
            | "CAPABILITY"
            | "CAPABILITIES"
            | "CAPA"
            | "FEAT"
            | "CAP"
            | "STARTTLS"
            | "AUTH TLS"
            | "STLS"
            | "NOOP"
            | "RSET"
            | "QUIT"
            | "LOGOUT"
            | "SSLRequest"
            | "GSSENCRequest"
    )
}

fn capability_request(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Imap | Dialect::Sieve => "CAPABILITY",
        Dialect::Pop3 => "CAPA",
        Dialect::Lmtp => "LHLO",
        Dialect::Nntp => "CAPABILITIES",
        // Nothing is asked again: PostgreSQL advertises nothing.
        Dialect::Postgres => "nothing",
        Dialect::Ftp => "FEAT",
        Dialect::Irc => "CAP",
        Dialect::Smtp | Dialect::Framed | Dialect::Implicit | Dialect::Mysql => "EHLO",
    }
}

fn is_capability_request(dialect: Dialect, verb: &str) -> bool {
    verb == capability_request(dialect) || (dialect == Dialect::Smtp && verb == "LHLO")
}

/// How the connections ended, for a reason string: the client's alert when it sent one.
fn ends(transcripts: &[Transcript]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for t in transcripts {
        let part = match t.end {
            Some(SessionEnd::HandshakeFailed(HandshakeFailure::AlertReceived(alert))) => {
                format!("it sent the alert {alert}")
            }
            Some(end) => format!("the connection ended: {end}"),
            None => "the connection was still open".to_owned(),
        };
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    parts.join("; ")
}

fn process_words(process: ProcessEnd, duration: Duration) -> String {
    match process {
        ProcessEnd::Exited(Some(code)) => {
            format!("it exited with status {code} after {}", seconds(duration))
        }
        ProcessEnd::Exited(None) => format!("it died of a signal after {}", seconds(duration)),
        ProcessEnd::KilledAtTimeout => {
            format!("it was killed at the case timeout, {}", seconds(duration))
        }
        ProcessEnd::NotStarted => "it could not be started".to_owned(),
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests;
