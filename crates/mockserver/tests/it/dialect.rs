//! A tiny client per line dialect, to script sessions: commands, replies, the upgrade.

use proto::starttls::Dialect;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::support::{client_config, read_line, send, smtp_reply, tls};

/// The line dialects.
pub(crate) const LINE_DIALECTS: [Dialect; 7] = [
    Dialect::Ftp,
    Dialect::Irc,
    Dialect::Smtp,
    Dialect::Lmtp,
    Dialect::Imap,
    Dialect::Pop3,
    Dialect::Nntp,
];

/// Reads the greeting.
pub(crate) async fn greeting(dialect: Dialect, io: &mut (impl AsyncRead + Unpin)) -> Vec<String> {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => smtp_reply(io).await,
        Dialect::Sieve => sieve_reply(io).await,
        Dialect::Ftp => ftp_reply(io).await,
        // IRC has none: the client speaks first.
        Dialect::Irc => Vec::new(),
        _ => vec![read_line(io).await],
    }
}

/// Sends `command` (CRLF added) and reads its whole reply.
pub(crate) async fn command(
    dialect: Dialect,
    io: &mut (impl AsyncRead + AsyncWrite + Unpin),
    command: &str,
) -> Vec<String> {
    send(io, format!("{command}\r\n").as_bytes()).await;
    reply(dialect, io, command).await
}

/// Reads the reply to `command` (already sent).
pub(crate) async fn reply(
    dialect: Dialect,
    io: &mut (impl AsyncRead + Unpin),
    command: &str,
) -> Vec<String> {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => smtp_reply(io).await,
        Dialect::Sieve => sieve_reply(io).await,
        Dialect::Ftp => ftp_reply(io).await,
        Dialect::Nntp => {
            // A 1xx or 2xx answer to a listing command is followed by a dot-terminated list.
            let first = read_line(io).await;
            let verb = command
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let multi = matches!(first.get(..3), Some("101" | "100" | "215"))
                && matches!(verb.as_str(), "CAPABILITIES" | "HELP" | "LIST");
            let mut lines = vec![first];
            while multi && lines.last().is_none_or(|l| l != ".\r\n") {
                lines.push(read_line(io).await);
            }
            lines
        }
        Dialect::Imap => {
            let tag = command.split(' ').next().unwrap_or_default();
            let mut lines = Vec::new();
            loop {
                let line = read_line(io).await;
                let tagged = line.starts_with(&format!("{tag} "));
                // A line neither tagged, untagged nor a continuation is no IMAP response: a
                // strict client stops reading there.
                let malformed = !tagged && !line.starts_with("* ") && !line.starts_with("+ ");
                lines.push(line);
                if tagged || malformed {
                    return lines;
                }
            }
        }
        _ => {
            let first = read_line(io).await;
            let multi = first.starts_with("+OK") && command.eq_ignore_ascii_case("CAPA");
            let mut lines = vec![first];
            while multi && lines.last().is_none_or(|l| l != ".\r\n") {
                lines.push(read_line(io).await);
            }
            lines
        }
    }
}

/// An FTP reply (RFC 959 section 4.2): one line, or from `xyz-` to the line that starts with
/// the same code and a space, whatever the lines between look like.
pub(crate) async fn ftp_reply(io: &mut (impl AsyncRead + Unpin)) -> Vec<String> {
    let first = read_line(io).await;
    let mut lines = vec![first.clone()];
    if first.as_bytes().get(3) == Some(&b'-') {
        let end = format!("{} ", first.get(..3).unwrap_or_default());
        loop {
            let line = read_line(io).await;
            let last = line.starts_with(&end);
            lines.push(line);
            if last {
                break;
            }
        }
    }
    lines
}

/// A ManageSieve response: capability lines (quoted strings), then the `OK`, `NO` or `BYE`
/// line (RFC 5804 section 1.7); also what the server sends unasked inside TLS.
pub(crate) async fn sieve_reply(io: &mut (impl AsyncRead + Unpin)) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let line = read_line(io).await;
        let last = !line.starts_with('"');
        lines.push(line);
        if last {
            return lines;
        }
    }
}

/// Whether a reply is a success.
pub(crate) fn is_ok(dialect: Dialect, reply: &[String]) -> bool {
    let last = reply.last().map(String::as_str).unwrap_or_default();
    match dialect {
        Dialect::Ftp | Dialect::Smtp | Dialect::Lmtp => {
            last.starts_with('2') || last.starts_with('3')
        }
        Dialect::Nntp => reply
            .first()
            .is_some_and(|l| matches!(l.as_bytes().first(), Some(b'1'..=b'3'))),
        Dialect::Imap => last.split(' ').nth(1) == Some("OK"),
        Dialect::Sieve => last.starts_with("OK"),
        // `:server COMMAND ...`: a CAP or PONG answer, the 670 go-ahead, a 0xx-3xx numeric.
        Dialect::Irc => {
            let command = last.split(' ').nth(1).unwrap_or_default();
            matches!(command, "CAP" | "PONG" | "670")
                || (command.len() == 3 && matches!(command.as_bytes()[0], b'0'..=b'3'))
        }
        _ => reply.first().is_some_and(|l| l.starts_with("+OK")),
    }
}

/// The command that lists capabilities.
pub(crate) fn capability_command(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Smtp => "EHLO client.test",
        Dialect::Lmtp => "LHLO client.test",
        Dialect::Nntp => "CAPABILITIES",
        Dialect::Imap => "A1 CAPABILITY",
        Dialect::Sieve => "CAPABILITY",
        Dialect::Ftp => "FEAT",
        Dialect::Irc => "CAP LS 302",
        _ => "CAPA",
    }
}

/// The STARTTLS command.
pub(crate) fn starttls_command(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp | Dialect::Nntp | Dialect::Sieve => "STARTTLS",
        Dialect::Imap => "A2 STARTTLS",
        Dialect::Ftp => "AUTH TLS",
        Dialect::Irc => "STARTTLS",
        _ => "STLS",
    }
}

/// The capability that announces STARTTLS.
pub(crate) fn starttls_capability(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Pop3 => "STLS",
        Dialect::Ftp => "AUTH TLS",
        Dialect::Irc => "tls",
        _ => "STARTTLS",
    }
}

/// Whether a capability reply offers STARTTLS.
pub(crate) fn offers_starttls(dialect: Dialect, reply: &[String]) -> bool {
    let cap = starttls_capability(dialect);
    if dialect == Dialect::Ftp {
        // A FEAT line: a space, then the feature (RFC 2389 section 3.2).
        return reply.iter().any(|l| l.trim() == cap);
    }
    reply
        .iter()
        .any(|l| l.split([' ', '-', '\r', '"']).any(|word| word == cap))
}

/// Greeting, capabilities (which must offer STARTTLS), STARTTLS, go-ahead, handshake.
pub(crate) async fn upgrade(
    dialect: Dialect,
    mut tcp: TcpStream,
    identity: &testpki::ServerIdentity,
) -> TlsStream<TcpStream> {
    greeting(dialect, &mut tcp).await;
    let caps = command(dialect, &mut tcp, capability_command(dialect)).await;
    assert!(offers_starttls(dialect, &caps), "{dialect}: {caps:?}");
    let go = command(dialect, &mut tcp, starttls_command(dialect)).await;
    assert!(is_ok(dialect, &go), "{dialect}: {go:?}");
    tls(tcp, client_config(identity)).await.unwrap()
}
