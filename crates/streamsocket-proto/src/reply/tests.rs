//! The first-reply classifier, by example and over generated inputs.

use proptest::prelude::*;

use super::*;

fn protocol(bytes: &[u8]) -> Option<PlaintextProtocol> {
    match classify(bytes) {
        FirstReply::Plaintext(reply) => reply.protocol,
        other => panic!("{bytes:?} is not plaintext: {other:?}"),
    }
}

#[test]
fn greetings_of_each_protocol_are_recognised() {
    let cases: [(&[u8], PlaintextProtocol); 9] = [
        (
            b"220 mail.example ESMTP Postfix\r\n",
            PlaintextProtocol::Smtp,
        ),
        (b"220-mx.example greets you\r\n", PlaintextProtocol::Smtp),
        (b"220 ProFTPD Server ready.\r\n", PlaintextProtocol::Ftp),
        (
            b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n",
            PlaintextProtocol::Imap,
        ),
        (b"* PREAUTH logged in\r\n", PlaintextProtocol::Imap),
        (b"+OK POP3 ready\r\n", PlaintextProtocol::Pop3),
        (
            b"<?xml version='1.0'?><stream:stream",
            PlaintextProtocol::Xmpp,
        ),
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", PlaintextProtocol::Http),
        (b"SSH-2.0-OpenSSH_9.6\r\n", PlaintextProtocol::Ssh),
    ];
    for (bytes, expected) in cases {
        assert_eq!(protocol(bytes), Some(expected), "{bytes:?}");
    }
    assert_eq!(protocol(b"hello there\n"), None);
}

#[test]
fn tls_records_and_echoed_hellos_are_told_apart() {
    assert_eq!(
        classify(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]),
        FirstReply::Tls
    );
    assert!(matches!(classify(&[0x16]), FirstReply::Binary(_)));
    assert_eq!(
        classify(&[0x16, 0x03, 0x01, 0x00, 0xf4, 0x01, 0x00]),
        FirstReply::EchoedClientHello
    );
    assert_eq!(
        classify(&[0x16, 0x03, 0x03, 0x00, 0x5a, 0x02]),
        FirstReply::Tls
    );
    assert_eq!(classify(b""), FirstReply::Nothing);
    assert!(matches!(
        classify(&[0x00, 0xff, 0x16]),
        FirstReply::Binary(_)
    ));
    // A content-type byte followed by something other than major version 3 is not TLS.
    assert!(matches!(classify(&[0x16, 0x41]), FirstReply::Binary(_)));
}

#[test]
fn the_message_names_the_protocol_the_reply_and_the_fix() {
    let FirstReply::Plaintext(reply) = classify(b"220 mail.example ESMTP\r\n") else {
        panic!("not plaintext");
    };
    assert_eq!(
        reply.to_string(),
        "the server answered in plaintext with an SMTP greeting (`220 mail.example ESMTP`): \
         this port expects STARTTLS: upgrade with the smtp dialect (`--starttls smtp`), or use \
         port 465 for implicit TLS"
    );
    let FirstReply::Plaintext(pop) = classify(b"+OK ready\r\n") else {
        panic!("not plaintext");
    };
    assert!(
        pop.to_string()
            .contains("with a POP3 greeting (`+OK ready`)"),
        "{pop}"
    );
}

proptest! {
    /// Whatever arrives, classification is total and the preview stays bounded and printable.
    #[test]
    fn any_bytes_are_classified_with_a_bounded_printable_preview(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let preview = match classify(&bytes) {
            FirstReply::Plaintext(reply) => reply.preview,
            FirstReply::Binary(preview) => preview,
            FirstReply::Nothing => { prop_assert!(bytes.is_empty()); String::new() }
            FirstReply::Tls | FirstReply::EchoedClientHello => {
                prop_assert!(looks_like_tls(&bytes));
                String::new()
            }
        };
        prop_assert!(preview.len() <= 4 * PREVIEW_LEN);
        prop_assert!(preview.bytes().all(|b| b.is_ascii_graphic() || b == b' '));
    }

    /// A planted greeting prefix is recognised whatever follows it, and what the oracle knows
    /// (the prefix it planted) is all the test assumes.
    #[test]
    fn a_planted_prefix_decides_the_protocol(
        which in 0usize..5,
        tail in "[a-zA-Z0-9 .]{0,40}",
    ) {
        let (prefix, expected): (&str, PlaintextProtocol) = [
            ("* OK ", PlaintextProtocol::Imap),
            ("+OK ", PlaintextProtocol::Pop3),
            ("HTTP/1.0 ", PlaintextProtocol::Http),
            ("SSH-2.0-", PlaintextProtocol::Ssh),
            ("<stream:stream ", PlaintextProtocol::Xmpp),
        ][which];
        let line = format!("{prefix}{tail}\r\n");
        prop_assert_eq!(protocol(line.as_bytes()), Some(expected));
    }

    /// Every record header of TLS or SSL 3 (any content type, major version 3) is TLS, and
    /// text never is.
    #[test]
    fn record_headers_are_tls_and_text_is_not(
        content in 0x14u8..=0x18, minor in any::<u8>(), text in "[ -~]{1,40}",
    ) {
        prop_assert!(looks_like_tls(&[content, 3, minor]));
        prop_assert!(!looks_like_tls(text.as_bytes()));
    }
}
