//! The axes of the matrix and one case: a point on every axis.

use std::fmt;

use proto::ProtectionLevel;
use serde::Serialize;

/// How the client secures the socket.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// `connect(host, service, level)`: TLS from the first byte.
    Connect,
    /// Plaintext connect, the seed's length-prefixed frames, then `upgrade_to_ssl`.
    Framed,
    /// Plaintext connect, FTP AUTH TLS (RFC 4217), then the handshake.
    Ftp,
    /// Plaintext connect, SMTP STARTTLS (RFC 3207), then the handshake.
    Smtp,
    /// Plaintext connect, LMTP STARTTLS (RFC 2033 with RFC 3207's command), then the handshake.
    Lmtp,
    /// Plaintext connect, IMAP STARTTLS (RFC 3501), then the handshake.
    Imap,
    /// Plaintext connect, IRC STARTTLS (IRCv3 tls), then the handshake.
    Irc,
    /// Plaintext connect, POP3 STLS (RFC 2595), then the handshake.
    Pop3,
    /// Plaintext connect, NNTP STARTTLS (RFC 4642), then the handshake.
    Nntp,
    /// Plaintext connect, ManageSieve STARTTLS (RFC 5804), then the handshake.
    Sieve,
    /// Plaintext connect, PostgreSQL's SSLRequest and its `S`, then the handshake.
    Postgres,
    /// Plaintext connect, MySQL's greeting and the client's SSLRequest, then the handshake at
    /// once (no go-ahead).
    Mysql,
}

impl Mode {
    /// Every mode, in table order.
    pub const ALL: [Self; 12] = [
        Self::Connect,
        Self::Framed,
        Self::Ftp,
        Self::Smtp,
        Self::Lmtp,
        Self::Imap,
        Self::Irc,
        Self::Pop3,
        Self::Nntp,
        Self::Sieve,
        Self::Postgres,
        Self::Mysql,
    ];

    /// The line-based STARTTLS dialects.
    pub const LINE_DIALECTS: [Self; 8] = [
        Self::Ftp,
        Self::Smtp,
        Self::Lmtp,
        Self::Imap,
        Self::Irc,
        Self::Pop3,
        Self::Nntp,
        Self::Sieve,
    ];

    /// Whether the socket starts in plaintext and upgrades.
    pub fn is_upgrade(self) -> bool {
        self != Self::Connect
    }

    /// Whether the dialect has commands and replies (and so can advertise or refuse STARTTLS).
    pub fn is_line_dialect(self) -> bool {
        Self::LINE_DIALECTS.contains(&self)
    }

    /// Whether the server can advertise, refuse or require TLS before the handshake: the line
    /// dialects, and MySQL (`CLIENT_SSL` in the greeting, an ERR packet for greeting, ERR 3159
    /// to a plaintext login).
    pub fn can_refuse_tls(self) -> bool {
        self.is_line_dialect() || self == Self::Mysql
    }

    /// Short name used in case identifiers.
    pub fn name(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Framed => "framed",
            Self::Ftp => "ftp",
            Self::Smtp => "smtp",
            Self::Lmtp => "lmtp",
            Self::Imap => "imap",
            Self::Irc => "irc",
            Self::Pop3 => "pop3",
            Self::Nntp => "nntp",
            Self::Sieve => "sieve",
            Self::Postgres => "postgres",
            Self::Mysql => "mysql",
        }
    }
}

/// What TLS the server speaks.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerTls {
    /// TLS 1.3 and 1.2.
    Both,
    /// TLS 1.2 only.
    Tls12Only,
    /// TLS 1.3 only.
    Tls13Only,
    /// An old server that only speaks TLS 1.1.
    LegacyTls11,
    /// An old server that only speaks TLS 1.0.
    LegacyTls10,
    /// An old server that only speaks SSL 3.0.
    LegacySsl3,
    /// No TLS at all: the server never advertises or accepts an upgrade.
    PlaintextOnly,
}

impl ServerTls {
    /// Every policy, in table order.
    pub const ALL: [Self; 7] = [
        Self::Both,
        Self::Tls12Only,
        Self::Tls13Only,
        Self::LegacyTls11,
        Self::LegacyTls10,
        Self::LegacySsl3,
        Self::PlaintextOnly,
    ];

    /// Short name used in case identifiers and table columns.
    pub fn name(self) -> &'static str {
        match self {
            Self::Both => "tls12+13",
            Self::Tls12Only => "tls12",
            Self::Tls13Only => "tls13",
            Self::LegacyTls11 => "tls11",
            Self::LegacyTls10 => "tls10",
            Self::LegacySsl3 => "ssl3",
            Self::PlaintextOnly => "plain",
        }
    }
}

/// How the server behaves around the upgrade and the handshake.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// Does what the RFCs say.
    Honest,
    /// Leaves STARTTLS out of its capabilities (stripping).
    StartTlsNotAdvertised,
    /// Answers STARTTLS with an error (454 / NO / -ERR).
    StartTlsRefused,
    /// Refuses other commands until TLS is up (530, LOGINDISABLED).
    TlsRequired,
    /// Appends plaintext after the go-ahead in the same write.
    ResponseInjection,
    /// Greets with IMAP PREAUTH: no STARTTLS is possible.
    Preauth,
    /// Gives the go-ahead, then never answers the ClientHello.
    StallAfterGoAhead,
    /// Answers the ClientHello with bytes that are not TLS.
    GarbageInsteadOfServerHello,
    /// Closes the connection after reading the ClientHello.
    CloseMidHandshake,
    /// The port is the honest SMTP STARTTLS server's: what a client of implicit TLS meets on
    /// the wrong port.
    SmtpPort,
    /// The port is the honest IMAP STARTTLS server's.
    ImapPort,
    /// The port is the honest POP3 STARTTLS server's.
    Pop3Port,
    /// The port is the implicit-TLS server's, which waits for a ClientHello: what a STARTTLS
    /// client meets on the wrong port.
    ImplicitPort,
}

impl Behaviour {
    /// Whether the case ends only at the client's handshake timeout (the server waits too).
    pub fn waits_for_the_client_timeout(self) -> bool {
        matches!(self, Self::StallAfterGoAhead | Self::ImplicitPort)
    }

    /// Short name used in case identifiers.
    pub fn name(self) -> &'static str {
        match self {
            Self::Honest => "honest",
            Self::StartTlsNotAdvertised => "not-advertised",
            Self::StartTlsRefused => "refused",
            Self::TlsRequired => "tls-required",
            Self::ResponseInjection => "response-injection",
            Self::Preauth => "preauth",
            Self::StallAfterGoAhead => "stall",
            Self::GarbageInsteadOfServerHello => "garbage",
            Self::CloseMidHandshake => "close-mid-handshake",
            Self::SmtpPort => "smtp-port",
            Self::ImapPort => "imap-port",
            Self::Pop3Port => "pop3-port",
            Self::ImplicitPort => "implicit-port",
        }
    }
}

/// The server's certificate situation and key type are testpki's own vocabulary: the matrix
/// names what testpki issues, and the oracle keeps its own table of what each must cause.
pub use testpki::{KeyKind as Key, Scenario};

/// What the client sets on its `SocketControl` besides the trust anchors.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Control {
    /// Nothing else.
    Defaults,
    /// The certificate errors the scenario causes are listed as ignorable.
    IgnoreScenarioErrors,
    /// `min_protection_level = Tls13`.
    MinimumTls13,
    /// The server requires a client certificate and the client presents a trusted one.
    MutualTls,
    /// The server requires a client certificate and the client presents none.
    MutualTlsWithoutCertificate,
}

impl Control {
    /// Short name used in case identifiers.
    pub fn name(self) -> &'static str {
        match self {
            Self::Defaults => "defaults",
            Self::IgnoreScenarioErrors => "ignore-errors",
            Self::MinimumTls13 => "min-tls13",
            Self::MutualTls => "mtls",
            Self::MutualTlsWithoutCertificate => "mtls-no-cert",
        }
    }
}

/// One point of the matrix.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
pub struct Case {
    /// What the client asks for.
    pub level: ProtectionLevel,
    /// How it secures the socket.
    pub mode: Mode,
    /// What TLS the server speaks.
    pub server: ServerTls,
    /// How the server behaves.
    pub behaviour: Behaviour,
    /// The server's certificate situation.
    pub scenario: Scenario,
    /// The server's key type.
    pub key: Key,
    /// What the client sets besides trust anchors.
    pub control: Control,
}

impl Case {
    /// A case with the honest defaults on every axis but the three of the full product.
    pub fn core(level: ProtectionLevel, mode: Mode, server: ServerTls) -> Self {
        Self {
            level,
            mode,
            server,
            behaviour: Behaviour::Honest,
            scenario: Scenario::Valid,
            key: Key::EcdsaP256,
            control: Control::Defaults,
        }
    }

    /// A stable identifier, also what `--filter` matches against.
    pub fn id(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/{}/{}/{}",
            self.level,
            self.mode.name(),
            self.server.name(),
            self.behaviour.name(),
            self.scenario.name(),
            self.key.name(),
            self.control.name()
        )
    }
}
