//! Drivers that record everything a machine does, honest server scripts for the client tests,
//! and deterministic hostile bytes.

use std::sync::Arc;

use streamsocket_proto::starttls::{
    ClientEvent, ClientMachine, ClientSettings, Dialect, ServerEvent, ServerMachine, ServerSettings,
};

/// The line dialects, in the order the tests report them.
pub(crate) const LINE_DIALECTS: [Dialect; 8] = [
    Dialect::Ftp,
    Dialect::Irc,
    Dialect::Smtp,
    Dialect::Lmtp,
    Dialect::Imap,
    Dialect::Pop3,
    Dialect::Nntp,
    Dialect::Sieve,
];

/// A server machine with a transcript: every reply, every event, the largest buffer seen.
pub(crate) struct Server {
    pub(crate) machine: ServerMachine,
    pub(crate) replies: Vec<u8>,
    pub(crate) events: Vec<ServerEvent>,
    pub(crate) max_buffered: usize,
}

impl Server {
    pub(crate) fn new(dialect: Dialect, config: ServerSettings) -> Self {
        let mut server = Self {
            machine: ServerMachine::new(dialect, config),
            replies: Vec::new(),
            events: Vec::new(),
            max_buffered: 0,
        };
        server.drain();
        server
    }

    /// A default server whose greeting has already been read (and forgotten).
    pub(crate) fn greeted(dialect: Dialect, config: ServerSettings) -> Self {
        let mut server = Self::new(dialect, config);
        server.take_replies();
        server
    }

    pub(crate) fn feed(&mut self, bytes: &[u8]) -> &mut Self {
        self.machine.handle_input(bytes);
        self.drain();
        self
    }

    /// Feeds `bytes` in chunks of `size`.
    pub(crate) fn feed_chunked(&mut self, bytes: &[u8], size: usize) -> &mut Self {
        for chunk in bytes.chunks(size) {
            self.feed(chunk);
        }
        self
    }

    pub(crate) fn eof(&mut self) -> &mut Self {
        self.machine.handle_eof();
        self.drain();
        self
    }

    /// Takes the TLS prefix and establishes TLS.
    pub(crate) fn establish(&mut self) -> Vec<u8> {
        let prefix = self.machine.take_tls_prefix();
        self.machine.handle_tls_established();
        self.drain();
        prefix
    }

    pub(crate) fn drain(&mut self) {
        while let Some(bytes) = self.machine.poll_transmit() {
            self.replies.extend_from_slice(&bytes);
        }
        while let Some(event) = self.machine.poll_event() {
            self.events.push(event);
        }
        self.max_buffered = self.max_buffered.max(self.machine.buffered_len());
    }

    /// The replies so far as text, and forgets them.
    pub(crate) fn take_replies(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.replies)).into_owned()
    }

    /// The reply lines so far, and forgets them.
    pub(crate) fn take_lines(&mut self) -> Vec<String> {
        let text = self.take_replies();
        text.split_terminator("\r\n").map(str::to_owned).collect()
    }

    pub(crate) fn take_events(&mut self) -> Vec<ServerEvent> {
        std::mem::take(&mut self.events)
    }

    pub(crate) fn closed(&self) -> bool {
        self.events
            .iter()
            .any(|event| matches!(event, ServerEvent::Close(_)))
    }
}

/// A client machine with a transcript.
pub(crate) struct Client {
    pub(crate) machine: ClientMachine,
    pub(crate) sent: Vec<u8>,
    pub(crate) events: Vec<ClientEvent>,
}

impl Client {
    pub(crate) fn new(dialect: Dialect) -> Self {
        Self::with_config(dialect, ClientSettings::default())
    }

    pub(crate) fn with_config(dialect: Dialect, config: ClientSettings) -> Self {
        let mut client = Self {
            machine: ClientMachine::new(dialect, config),
            sent: Vec::new(),
            events: Vec::new(),
        };
        client.drain();
        client
    }

    pub(crate) fn feed(&mut self, bytes: &[u8]) -> &mut Self {
        self.machine.handle_input(bytes);
        self.drain();
        self
    }

    pub(crate) fn eof(&mut self) -> &mut Self {
        self.machine.handle_eof();
        self.drain();
        self
    }

    pub(crate) fn establish(&mut self) -> &mut Self {
        self.machine.handle_tls_established();
        self.drain();
        self
    }

    pub(crate) fn drain(&mut self) {
        while let Some(bytes) = self.machine.poll_transmit() {
            self.sent.extend_from_slice(&bytes);
        }
        while let Some(event) = self.machine.poll_event() {
            self.events.push(event);
        }
    }

    /// What the client sent so far, as text, and forgets it.
    pub(crate) fn take_sent(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.sent)).into_owned()
    }

    pub(crate) fn take_events(&mut self) -> Vec<ClientEvent> {
        std::mem::take(&mut self.events)
    }
}

/// What an honest server of a line dialect says, step by step.
pub(crate) struct Script {
    /// The greeting.
    pub(crate) greeting: &'static [u8],
    /// The answer to the capability request (EHLO, A1 CAPABILITY, CAPA), listing STARTTLS.
    pub(crate) capabilities: &'static [u8],
    /// The go-ahead.
    pub(crate) go_ahead: &'static [u8],
    /// The capabilities inside TLS.
    pub(crate) post_tls: &'static [u8],
    /// What the client sends to ask for the upgrade.
    pub(crate) starttls: &'static str,
    /// The client's goodbye after a failure.
    pub(crate) goodbye: &'static str,
}

pub(crate) fn script(dialect: Dialect) -> Script {
    match dialect {
        Dialect::Smtp => Script {
            greeting: b"220 mx.example ESMTP\r\n",
            capabilities: b"250-mx.example\r\n250-X-PRE-TLS\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
            go_ahead: b"220 2.0.0 Ready to start TLS\r\n",
            post_tls: b"250-mx.example\r\n250 AUTH PLAIN\r\n",
            starttls: "STARTTLS\r\n",
            goodbye: "QUIT\r\n",
        },
        Dialect::Lmtp => Script {
            greeting: b"220 lmtp.example LMTP\r\n",
            capabilities: b"250-lmtp.example\r\n250-X-PRE-TLS\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
            go_ahead: b"220 2.0.0 Ready to start TLS\r\n",
            post_tls: b"250-lmtp.example\r\n250 AUTH PLAIN\r\n",
            starttls: "STARTTLS\r\n",
            goodbye: "QUIT\r\n",
        },
        Dialect::Nntp => Script {
            greeting: b"200 news.example NNTP ready\r\n",
            capabilities: b"101 list\r\nVERSION 2\r\nX-PRE-TLS\r\nSTARTTLS\r\n.\r\n",
            go_ahead: b"382 Continue with TLS negotiation\r\n",
            post_tls: b"101 list\r\nVERSION 2\r\nAUTHINFO USER SASL\r\nSASL PLAIN\r\n.\r\n",
            starttls: "STARTTLS\r\n",
            goodbye: "QUIT\r\n",
        },
        Dialect::Imap => Script {
            greeting: b"* OK imap.example ready\r\n",
            capabilities: b"* CAPABILITY IMAP4rev1 X-PRE-TLS STARTTLS\r\nA1 OK done\r\n",
            go_ahead: b"A2 OK Begin TLS negotiation now\r\n",
            post_tls: b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA3 OK done\r\n",
            starttls: "A2 STARTTLS\r\n",
            goodbye: "A4 LOGOUT\r\n",
        },
        Dialect::Pop3 => Script {
            greeting: b"+OK pop.example ready\r\n",
            capabilities: b"+OK list follows\r\nUSER\r\nX-PRE-TLS\r\nSTLS\r\n.\r\n",
            go_ahead: b"+OK Begin TLS negotiation\r\n",
            post_tls: b"+OK list follows\r\nUSER\r\nSASL PLAIN\r\n.\r\n",
            starttls: "STLS\r\n",
            goodbye: "QUIT\r\n",
        },
        // The greeting is the capability list (RFC 5804 section 1.7), cut in two here; inside
        // TLS the server sends it again unasked.
        Dialect::Sieve => Script {
            greeting: b"\"IMPLEMENTATION\" \"sieve.example\"\r\n\"X-PRE-TLS\"\r\n",
            capabilities: b"\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\nOK \"ready\"\r\n",
            go_ahead: b"OK \"Begin TLS negotiation now\"\r\n",
            post_tls: b"\"SASL\" \"PLAIN\"\r\n\"VERSION\" \"1.0\"\r\nOK\r\n",
            starttls: "STARTTLS\r\n",
            goodbye: "LOGOUT\r\n",
        },
        // A multi-line greeting and FEAT reply (RFC 959 section 4.2): the inner lines may look
        // like anything, even another code.
        Dialect::Ftp => Script {
            greeting: b"220-ftp.example FTP\r\n220-X-PRE-TLS\r\n220 ready\r\n",
            capabilities:
                b"211-Features:\r\n X-PRE-TLS\r\n AUTH TLS\r\n234 not yet\r\n PBSZ\r\n211 End\r\n",
            go_ahead: b"234 Proceed with negotiation\r\n",
            post_tls: b"211-Features:\r\n PBSZ\r\n PROT\r\n211 End\r\n",
            starttls: "AUTH TLS\r\n",
            goodbye: "QUIT\r\n",
        },
        // The client speaks first (CAP LS 302); a notice comes before the answer, which spans
        // two lines (IRCv3.2: `*` before the last parameter means more follow).
        Dialect::Irc => Script {
            greeting: b":irc.example NOTICE * :*** Looking up your hostname\r\n",
            capabilities: b":irc.example CAP * LS * :multi-prefix X-PRE-TLS\r\n\
                :irc.example CAP * LS :tls away-notify\r\n",
            go_ahead: b":irc.example 670 * :STARTTLS successful, proceed with TLS handshake\r\n",
            post_tls: b":irc.example CAP * LS :multi-prefix sasl=PLAIN\r\n",
            starttls: "STARTTLS\r\n",
            goodbye: "QUIT\r\n",
        },
        Dialect::Postgres | Dialect::Framed | Dialect::Implicit | Dialect::Mysql => {
            panic!("{dialect} has no script")
        }
    }
}

/// A client of a line dialect that has read the greeting and the capabilities and has sent its
/// STARTTLS command.
pub(crate) fn client_at_starttls(dialect: Dialect) -> Client {
    client_at_starttls_with(dialect, ClientSettings::default())
}

/// [`client_at_starttls`] with a client configuration.
pub(crate) fn client_at_starttls_with(dialect: Dialect, config: ClientSettings) -> Client {
    let script = script(dialect);
    let mut client = Client::with_config(dialect, config);
    client.feed(script.greeting).feed(script.capabilities);
    assert!(
        client.take_sent().ends_with(script.starttls),
        "{dialect}: no STARTTLS"
    );
    assert!(client.take_events().is_empty());
    client
}

/// The command a line-dialect client sends to start the upgrade, after whatever the dialect
/// needs first.
pub(crate) fn server_at_starttls(dialect: Dialect, config: ServerSettings) -> Server {
    let mut server = Server::greeted(dialect, config);
    if dialect == Dialect::Smtp {
        server.feed(b"EHLO client.example\r\n");
        server.take_replies();
    }
    if dialect == Dialect::Lmtp {
        server.feed(b"LHLO client.example\r\n");
        server.take_replies();
    }
    server
}

/// The STARTTLS command of a line dialect, as a client sends it.
pub(crate) fn starttls_command(dialect: Dialect) -> &'static [u8] {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp | Dialect::Nntp | Dialect::Sieve => b"STARTTLS\r\n",
        Dialect::Ftp => b"AUTH TLS\r\n",
        Dialect::Irc => b"STARTTLS\r\n",
        Dialect::Imap => b"A2 STARTTLS\r\n",
        Dialect::Pop3 => b"STLS\r\n",
        Dialect::Postgres | Dialect::Framed | Dialect::Implicit | Dialect::Mysql => b"",
    }
}

/// A harmless command of a line dialect with a recognisable reply, and that reply's start.
pub(crate) fn probe(dialect: Dialect) -> (&'static [u8], &'static str) {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => (b"NOOP\r\n", "250 2.0.0 OK"),
        Dialect::Ftp => (b"NOOP\r\n", "200 NOOP ok"),
        Dialect::Irc => (b"PING :probe\r\n", ":localhost PONG localhost :probe"),
        Dialect::Nntp => (b"HELP\r\n", "100 Help text follows"),
        Dialect::Imap => (b"Z9 NOOP\r\n", "Z9 OK"),
        Dialect::Pop3 => (b"CAPA\r\n", "+OK capability list follows"),
        Dialect::Sieve => (b"NOOP\r\n", "OK \"NOOP completed\""),
        Dialect::Postgres | Dialect::Framed | Dialect::Implicit | Dialect::Mysql => (b"", ""),
    }
}

/// Whether a reply line of a line dialect is an error (or a goodbye).
pub(crate) fn is_error_line(dialect: Dialect, line: &str) -> bool {
    match dialect {
        Dialect::Ftp | Dialect::Smtp | Dialect::Lmtp | Dialect::Nntp => {
            line.starts_with('4') || line.starts_with('5')
        }
        Dialect::Imap => {
            let status = line.split(' ').nth(1).unwrap_or_default();
            matches!(status, "BAD" | "NO" | "BYE")
        }
        Dialect::Pop3 => line.starts_with("-ERR"),
        Dialect::Sieve => line.starts_with("NO") || line.starts_with("BYE"),
        Dialect::Irc => {
            let numeric = line.split(' ').nth(1).unwrap_or_default();
            line.starts_with("ERROR ")
                || numeric == "691"
                || (numeric.len() == 3 && matches!(numeric.as_bytes()[0], b'4' | b'5'))
        }
        Dialect::Postgres | Dialect::Framed | Dialect::Implicit | Dialect::Mysql => false,
    }
}

/// `len` pseudo-random bytes from a fixed-seed xorshift generator.
pub(crate) fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.max(1);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A genuine TLS ClientHello, as rustls writes it.
pub(crate) fn client_hello() -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the default provider supports the default versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("server.example").expect("valid name");
    let mut connection =
        rustls::ClientConnection::new(Arc::new(config), name).expect("client connection");
    let mut hello = Vec::new();
    while connection.wants_write() {
        connection.write_tls(&mut hello).expect("write to a vector");
    }
    assert_eq!(hello.first(), Some(&0x16), "a handshake record");
    hello
}

/// A fixed-seed xorshift generator, for choices that must be the same on every run.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// A number below `bound` (which must not be 0).
    pub(crate) fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}
