//! Tests of the probe: hellos read back by the ClientHello parser, answers built by an encoder
//! that knows what it planted, and properties over any split of the bytes.

use proptest::prelude::*;

use super::*;
use crate::hello;

/// What a test plants in a ServerHello.
#[derive(Clone, Debug)]
struct Planted {
    legacy_version: u16,
    random: [u8; 32],
    session_id: Vec<u8>,
    suite: u16,
    compression: u8,
    /// `None`: no extension block; `Some(Some(v))`: a `supported_versions` choosing `v`.
    extensions: Option<Option<u16>>,
    /// With an extension block: a `session_ticket` extension.
    ticket: bool,
    /// With an extension block: a `key_share` naming this group (a HelloRetryRequest's).
    key_share: Option<u16>,
    record_version: u16,
}

/// The ServerHello message of `planted`, handshake header included.
fn encode(planted: &Planted) -> Vec<u8> {
    let mut body = planted.legacy_version.to_be_bytes().to_vec();
    body.extend_from_slice(&planted.random);
    body.push(planted.session_id.len() as u8);
    body.extend_from_slice(&planted.session_id);
    body.extend_from_slice(&planted.suite.to_be_bytes());
    body.push(planted.compression);
    if let Some(selected) = planted.extensions {
        let mut block = Vec::new();
        // An extension the classifier skips, then the one it reads.
        block.extend_from_slice(&[0xff, 0x01, 0x00, 0x01, 0x00]);
        if let Some(version) = selected {
            block.extend_from_slice(&[0x00, 0x2b, 0x00, 0x02]);
            block.extend_from_slice(&version.to_be_bytes());
        }
        if planted.ticket {
            block.extend_from_slice(&[0x00, 0x23, 0x00, 0x00]);
        }
        if let Some(group) = planted.key_share {
            block.extend_from_slice(&[0x00, 0x33, 0x00, 0x02]);
            block.extend_from_slice(&group.to_be_bytes());
        }
        body.extend_from_slice(&(block.len() as u16).to_be_bytes());
        body.extend_from_slice(&block);
    }
    let len = body.len() as u32;
    let mut message = vec![2, (len >> 16) as u8, (len >> 8) as u8, len as u8];
    message.extend_from_slice(&body);
    message
}

/// `message` in handshake records of at most `size` bytes each.
fn records(version: u16, message: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for fragment in message.chunks(size.max(1)) {
        out.push(0x16);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&(fragment.len() as u16).to_be_bytes());
        out.extend_from_slice(fragment);
    }
    out
}

fn planted() -> Planted {
    Planted {
        legacy_version: 0x0301,
        random: [0x11; 32],
        session_id: vec![0x22; 32],
        suite: 0xc013,
        compression: 0,
        extensions: None,
        ticket: false,
        key_share: None,
        record_version: 0x0301,
    }
}

fn check(input: &[u8], eof: bool, expected: Option<ProbeReply>) {
    let head = input.get(..64).unwrap_or(input);
    let len = input.len();
    assert_eq!(
        classify(input, eof),
        expected,
        "input of {len} bytes: {head:02x?}"
    );
}

fn hello_of(planted: &Planted) -> ProbeReply {
    let version = match planted.extensions {
        Some(Some(version)) => version,
        _ => planted.legacy_version,
    };
    ProbeReply::ServerHello(ServerHello {
        version,
        record_version: planted.record_version,
        cipher_suite: planted.suite,
        compression: planted.compression,
        session_id: !planted.session_id.is_empty(),
        ticket: planted.ticket && planted.extensions.is_some(),
    })
}

#[test]
fn every_probe_version_reads_back_as_the_hello_it_planted() {
    for version in [
        ProbeVersion::Ssl3,
        ProbeVersion::Tls10,
        ProbeVersion::Tls11,
        ProbeVersion::Tls12,
    ] {
        let spec = HelloSpec {
            version,
            cipher_suites: &[0x002f, 0x000a],
            server_name: Some("mail.example"),
            random: [9; 32],
        };
        let record = client_hello(&spec).unwrap();
        let parsed = hello::parse(&record).unwrap();
        assert_eq!(parsed.record_version, version.record_version());
        assert_eq!(parsed.legacy_version, version.wire());
        assert_eq!(parsed.supported_versions, None, "{version}");
        assert_eq!(
            parsed.offered_versions().collect::<Vec<_>>(),
            [version.wire()]
        );
        assert_eq!(parsed.cipher_suites, [0x002f, 0x000a, 0x00ff]);
        assert_eq!(parsed.compression_methods, [0]);
        if version == ProbeVersion::Ssl3 {
            assert!(
                parsed.extensions.is_empty(),
                "ssl 3.0 hello has no extensions"
            );
            assert_eq!(parsed.server_name, None);
        } else {
            assert_eq!(parsed.server_name_str(), Some("mail.example"));
            assert_eq!(parsed.supported_groups, GROUPS);
            assert!(!parsed.has_extension(EXT_SUPPORTED_VERSIONS));
            assert!(!parsed.has_extension(0x0033), "no key share");
            assert_eq!(
                parsed.has_extension(EXT_SIGNATURE_ALGORITHMS),
                version == ProbeVersion::Tls12,
                "{version}"
            );
        }
        // The record is exactly one record: header length = the rest.
        let declared = usize::from(u16::from_be_bytes([record[3], record[4]]));
        assert_eq!(declared, record.len() - 5);
    }
}

#[test]
fn the_random_and_the_absent_name_are_the_callers() {
    let spec = HelloSpec {
        random: [0xab; 32],
        ..HelloSpec::new(ProbeVersion::Tls11, LEGACY_SUITES)
    };
    let record = client_hello(&spec).unwrap();
    // Record header (5), handshake header (4), version (2), then the random.
    assert_eq!(record[11..43], [0xab; 32]);
    let parsed = hello::parse(&record).unwrap();
    assert_eq!(parsed.server_name, None);
    assert!(!parsed.has_extension(EXT_SERVER_NAME));
    assert_eq!(parsed.cipher_suites.len(), LEGACY_SUITES.len() + 1);
}

#[test]
fn hellos_that_cannot_be_built_say_why() {
    let none = HelloSpec::new(ProbeVersion::Tls10, &[]);
    assert_eq!(client_hello(&none), Err(BuildError::NoCipherSuites));
    let many = vec![0x002f; MAX_SUITES + 1];
    let spec = HelloSpec::new(ProbeVersion::Tls10, &many);
    assert_eq!(
        client_hello(&spec),
        Err(BuildError::TooManySuites(MAX_SUITES + 1))
    );
    let most = vec![0x002f; MAX_SUITES];
    assert!(client_hello(&HelloSpec::new(ProbeVersion::Tls10, &most)).is_ok());
    for name in [
        "",
        "127.0.0.1",
        "a b",
        "-a.example",
        "a-.example",
        "a..b",
        &"a".repeat(64),
    ] {
        let spec = HelloSpec {
            server_name: Some(name),
            ..HelloSpec::new(ProbeVersion::Tls12, LEGACY_SUITES)
        };
        assert_eq!(
            client_hello(&spec),
            Err(BuildError::InvalidServerName),
            "{name:?}"
        );
    }
    for name in ["localhost", "mail.example.", "a-b.example", &"a".repeat(63)] {
        let spec = HelloSpec {
            server_name: Some(name),
            ..HelloSpec::new(ProbeVersion::Tls12, LEGACY_SUITES)
        };
        assert!(client_hello(&spec).is_ok(), "{name:?}");
    }
}

#[test]
fn a_server_hello_says_its_version_and_suite() {
    let reply = classify(&server_hello_record(0x0302, 0x000a, [1; 32]), false).unwrap();
    assert_eq!(
        reply,
        ProbeReply::ServerHello(ServerHello {
            version: 0x0302,
            record_version: 0x0302,
            cipher_suite: 0x000a,
            compression: 0,
            session_id: false,
            ticket: false,
        })
    );
    assert!(reply.accepts(ProbeVersion::Tls11));
    assert!(!reply.accepts(ProbeVersion::Tls10));
    assert!(!reply.accepts(ProbeVersion::Tls12));
    assert_eq!(reply.weaknesses(), [Weakness::TripleDes, Weakness::CbcSha1]);
    assert_eq!(reply.to_string(), "server hello: TLS 1.1, suite 0x000a");
}

#[test]
fn supported_versions_overrides_the_legacy_version() {
    let planted = Planted {
        legacy_version: 0x0303,
        extensions: Some(Some(0x0304)),
        ..planted()
    };
    let reply = classify(&records(0x0303, &encode(&planted), 1 << 14), false).unwrap();
    assert!(matches!(reply, ProbeReply::ServerHello(h) if h.version == 0x0304));
    assert!(!reply.accepts(ProbeVersion::Tls12));
}

#[test]
fn a_hello_retry_request_is_not_a_server_hello() {
    let planted = Planted {
        legacy_version: 0x0303,
        random: HELLO_RETRY_RANDOM,
        extensions: Some(Some(0x0304)),
        key_share: Some(0x001d),
        ..planted()
    };
    let input = records(0x0303, &encode(&planted), 1 << 14);
    check(
        &input,
        false,
        Some(ProbeReply::HelloRetryRequest {
            group: Some(0x001d),
        }),
    );
    // Without a key_share extension it is still a HelloRetryRequest, naming no group.
    let bare = Planted {
        key_share: None,
        ..planted.clone()
    };
    let input = records(0x0303, &encode(&bare), 1 << 14);
    check(
        &input,
        false,
        Some(ProbeReply::HelloRetryRequest { group: None }),
    );
    // The same message with any other random is a ServerHello of TLS 1.3.
    let other = Planted {
        random: [0x11; 32],
        ..planted
    };
    let reply = classify(&records(0x0303, &encode(&other), 1 << 14), false).unwrap();
    assert!(matches!(reply, ProbeReply::ServerHello(h) if h.version == 0x0304));
    assert!(
        !classify(&input, false)
            .unwrap()
            .accepts(ProbeVersion::Tls12)
    );
}

#[test]
fn alerts_closes_and_partial_answers_are_told_apart() {
    let alert = alert_record(0x0300, true, Alert(40));
    let expected = ProbeReply::Alert {
        fatal: true,
        description: Alert(40),
        record_version: 0x0300,
    };
    check(&alert, false, Some(expected.clone()));
    assert_eq!(expected.to_string(), "fatal alert handshake_failure");
    assert!(expected.weaknesses().is_empty());
    check(
        &alert_record(0x0303, false, Alert(90)),
        false,
        Some(ProbeReply::Alert {
            fatal: false,
            description: Alert(90),
            record_version: 0x0303,
        }),
    );
    check(&[], false, None);
    check(&[], true, Some(ProbeReply::Closed { after: 0 }));
    check(&[0x15], false, None);
    check(&[0x15], true, Some(ProbeReply::Closed { after: 1 }));
    check(&alert[..6], false, None);
    check(&alert[..6], true, Some(ProbeReply::Closed { after: 6 }));
    // An alert level that is neither warning nor fatal.
    check(
        &[0x15, 3, 3, 0, 2, 7, 40],
        false,
        Some(ProbeReply::Garbage(Garbage::Malformed)),
    );
    check(
        &[0x15, 3, 3, 0, 1, 2],
        false,
        Some(ProbeReply::Garbage(Garbage::Malformed)),
    );
}

#[test]
fn plaintext_and_garbage_are_named() {
    let greeting = b"220 mx.example ESMTP\r\n";
    let Some(ProbeReply::Plaintext(text)) = classify(greeting, false) else {
        panic!("a greeting is plaintext");
    };
    assert_eq!(text.preview, "220 mx.example ESMTP");
    // Without its line end the greeting may go on: wait, unless the stream ended.
    check(&greeting[..10], false, None);
    assert!(matches!(
        classify(&greeting[..10], true),
        Some(ProbeReply::Plaintext(_))
    ));
    check(&[0x00, 0x01, 0x02], false, None);
    check(
        &[0x00, 0x01, 0x02],
        true,
        Some(ProbeReply::Garbage(Garbage::NotTls(
            "\\x00\\x01\\x02".into(),
        ))),
    );
    check(
        &[0x17, 3, 3, 0, 1, 0],
        false,
        Some(ProbeReply::Garbage(Garbage::ContentType(0x17))),
    );
    check(&[0x17], false, None);
    // A handshake record of a major version other than 3 is not TLS.
    check(
        &[0x16, 0x00, 0x01, 0x02, 0x03],
        true,
        Some(ProbeReply::Garbage(Garbage::NotTls(
            "\\x16\\x00\\x01\\x02\\x03".into(),
        ))),
    );
    check(
        &[0x16, 3, 1, 0, 0],
        false,
        Some(ProbeReply::Garbage(Garbage::RecordLength(0))),
    );
    check(
        &[0x16, 3, 1, 0x40, 0x01],
        false,
        Some(ProbeReply::Garbage(Garbage::RecordLength(0x4001))),
    );
    // A Certificate message (11) where the ServerHello was due.
    check(
        &[0x16, 3, 3, 0, 4, 11, 0, 0, 0],
        false,
        Some(ProbeReply::Garbage(Garbage::Message(11))),
    );
    // An alert after half a handshake message.
    let mut input = records(0x0303, &encode(&planted())[..10], 10);
    input.extend_from_slice(&alert_record(0x0303, true, Alert(40)));
    check(
        &input,
        false,
        Some(ProbeReply::Garbage(Garbage::ContentType(0x15))),
    );
}

#[test]
fn every_answer_says_what_it_is() {
    for (reply, text) in [
        (
            ProbeReply::HelloRetryRequest { group: None },
            "hello retry request",
        ),
        (
            ProbeReply::HelloRetryRequest {
                group: Some(0x001d),
            },
            "hello retry request for group 0x001d",
        ),
        (ProbeReply::Closed { after: 0 }, "closed without answering"),
        (
            ProbeReply::Closed { after: 3 },
            "closed after 3 bytes of an answer",
        ),
        (
            ProbeReply::Garbage(Garbage::NotTls("ab".into())),
            "garbage: not tls (`ab`)",
        ),
        (
            ProbeReply::Garbage(Garbage::ContentType(0x17)),
            "garbage: record of content type 0x17 first",
        ),
        (
            ProbeReply::Garbage(Garbage::RecordLength(0)),
            "garbage: record length 0",
        ),
        (
            ProbeReply::Garbage(Garbage::Message(11)),
            "garbage: handshake message of type 11 first",
        ),
        (
            ProbeReply::Garbage(Garbage::Malformed),
            "garbage: malformed server hello or alert",
        ),
        (
            ProbeReply::Garbage(Garbage::TooLong),
            "garbage: first handshake message too long",
        ),
        (
            ProbeReply::Alert {
                fatal: false,
                description: Alert(90),
                record_version: 0x0303,
            },
            "warning alert user_canceled",
        ),
    ] {
        assert_eq!(reply.to_string(), text);
    }
    let odd = server_hello_record(0x7f1c, 0x1301, [0; 32]);
    let reply = classify(&odd, false).unwrap();
    assert_eq!(
        reply.to_string(),
        "server hello: version 0x7f1c, suite 0x1301"
    );
    let greeting = classify(b"220 mx ESMTP\r\n", false).unwrap();
    assert_eq!(greeting.to_string(), "plaintext `220 mx ESMTP`");
}

#[test]
fn malformed_server_hellos_are_garbage() {
    let long_session = Planted {
        session_id: vec![0; 33],
        ..planted()
    };
    let bad_versions = Planted {
        extensions: Some(Some(0x0304)),
        ..planted()
    };
    let mut truncated_ext = encode(&bad_versions);
    // Claim one byte more in the handshake header than the body has: incomplete, then closed.
    truncated_ext[3] += 1;
    let input = records(0x0301, &truncated_ext, 1 << 14);
    check(&input, false, None);
    check(
        &input,
        true,
        Some(ProbeReply::Closed { after: input.len() }),
    );
    check(
        &records(0x0301, &encode(&long_session), 1 << 14),
        false,
        Some(ProbeReply::Garbage(Garbage::Malformed)),
    );
    // A body cut short inside the cipher suite (the header declares what is there).
    let mut short = encode(&planted());
    short.truncate(4 + 2 + 32 + 1 + 32 + 1);
    let len = short.len() as u32 - 4;
    short[1..4].copy_from_slice(&len.to_be_bytes()[1..]);
    check(
        &records(0x0301, &short, 1 << 14),
        false,
        Some(ProbeReply::Garbage(Garbage::Malformed)),
    );
    // A declared message longer than the classifier ever reads.
    check(
        &[0x16, 3, 3, 0, 4, 2, 0xff, 0xff, 0xff],
        false,
        Some(ProbeReply::Garbage(Garbage::TooLong)),
    );
}

#[test]
fn the_classifier_stops_at_its_bound() {
    // Records of 2^14 bytes whose handshake message never ends within the bound.
    // Declared within the bound, but two full records cannot carry it.
    let mut message = vec![2, 0, 0x80, 0x00];
    message.resize(0x8004, 0);
    let input = records(0x0303, &message, 1 << 14);
    assert!(input.len() > MAX_REPLY_LEN);
    check(&input, false, Some(ProbeReply::Garbage(Garbage::TooLong)));
    check(&input[..MAX_REPLY_LEN - 1], false, None);
}

#[test]
fn weak_suite_lists_hold_only_their_weakness() {
    for weakness in Weakness::ALL {
        let suites = weak_suites(weakness);
        assert!(!suites.is_empty(), "{weakness}");
        assert!(suites.iter().all(|&s| weakness.applies(s)), "{weakness}");
        assert!(
            suites.windows(2).all(|w| w[0] < w[1]),
            "in code point order"
        );
        assert!(suites.len() <= MAX_SUITES);
        let spec = HelloSpec::new(ProbeVersion::Tls12, &suites);
        assert!(client_hello(&spec).is_ok(), "{weakness}");
    }
    assert!(!weak_suites(Weakness::Null).contains(&0x0000));
    assert!(weak_suites(Weakness::Null).contains(&0x0001));
    assert!(weak_suites(Weakness::Export).contains(&0x0003));
    assert!(weak_suites(Weakness::Rc4).contains(&0x0005));
    assert!(weak_suites(Weakness::TripleDes).contains(&0x000a));
    assert!(weak_suites(Weakness::CbcSha1).contains(&0x002f));
    assert!(!weak_suites(Weakness::CbcSha1).contains(&0xc02f));
}

#[test]
fn an_old_server_chooses_the_first_real_suite() {
    assert_eq!(
        first_choosable_suite(&[0x5600, 0x0a0a, 0x00ff, 0x0005, 0x002f]),
        Some(0x0005)
    );
    assert_eq!(first_choosable_suite(&[0x00ff, 0x5600]), None);
    assert_eq!(first_choosable_suite(&[]), None);
}

#[test]
fn injected_commands_are_one_line_of_their_dialect() {
    assert_eq!(injected_command(Dialect::Smtp), Some(&b"NOOP\r\n"[..]));
    assert_eq!(injected_command(Dialect::Pop3), Some(&b"NOOP\r\n"[..]));
    assert_eq!(injected_command(Dialect::Imap), Some(&b"X1 NOOP\r\n"[..]));
    assert_eq!(injected_command(Dialect::Framed), None);
    assert_eq!(injected_command(Dialect::Implicit), None);
    assert_eq!(
        injected_command(Dialect::Sieve),
        Some(&b"NOOP \"STREAMSOCKET-INJECTED\"\r\n"[..])
    );
    assert!(answers_injected(Dialect::Smtp, b"250 2.0.0 OK\r\n"));
    assert!(answers_injected(Dialect::Imap, b"X1 OK\n"));
    assert!(!answers_injected(Dialect::Smtp, b""));
    assert!(!answers_injected(Dialect::Smtp, b"250 2.0.0 O"));
}

/// RFC 5804 section 2.2: after TLS the server sends its capabilities unasked; they answer
/// nothing. Section 2.14: a NOOP's tag comes back in a TAG response code.
#[test]
fn a_sieve_server_s_unasked_capabilities_are_not_an_answer_but_what_follows_them_is() {
    let caps = b"\"IMPLEMENTATION\" \"x\"\r\n\"SASL\" \"PLAIN\"\r\nOK\r\n";
    assert!(!answers_injected(Dialect::Sieve, caps));
    assert!(!answers_injected(Dialect::Sieve, &caps[..20]));
    let mut more = caps.to_vec();
    more.extend_from_slice(b"OK \"NOOP completed\"\r\n");
    assert!(answers_injected(Dialect::Sieve, &more));
    // The closing response may be NO or BYE too; what follows is still an answer.
    assert!(answers_injected(Dialect::Sieve, b"BYE\r\nNO \"x\"\r\n"));
    // Without its line end the answer is not complete yet.
    assert!(!answers_injected(Dialect::Sieve, b"OK\r\nOK \"NOOP"));
    // A server that skipped its capabilities but echoes the tag is caught all the same,
    // whatever the case it writes the response code in.
    assert!(answers_injected(
        Dialect::Sieve,
        b"OK (TAG \"STREAMSOCKET-INJECTED\") \"Done\"\r\n"
    ));
    assert!(answers_injected(
        Dialect::Sieve,
        b"ok (tag \"streamsocket-injected\")\r\n"
    ));
    // For the other line dialects the capabilities line would itself be an answer.
    assert!(answers_injected(Dialect::Imap, caps));
}

fn caps(list: &[&str]) -> Vec<String> {
    list.iter().map(|&c| c.to_owned()).collect()
}

#[test]
fn authentication_before_tls_is_read_from_each_dialects_capabilities() {
    assert!(auth_offered(
        Dialect::Smtp,
        &caps(&["PIPELINING", "AUTH PLAIN LOGIN"])
    ));
    assert!(!auth_offered(
        Dialect::Smtp,
        &caps(&["PIPELINING", "STARTTLS"])
    ));
    assert!(!auth_offered(Dialect::Smtp, &caps(&["AUTHX"])));
    assert!(auth_offered(
        Dialect::Imap,
        &caps(&["IMAP4rev1", "STARTTLS"])
    ));
    assert!(!auth_offered(
        Dialect::Imap,
        &caps(&["IMAP4rev1", "STARTTLS", "LOGINDISABLED"])
    ));
    assert!(auth_offered(
        Dialect::Imap,
        &caps(&["LOGINDISABLED", "auth=PLAIN"])
    ));
    assert!(auth_offered(Dialect::Pop3, &caps(&["TOP", "USER"])));
    assert!(auth_offered(Dialect::Pop3, &caps(&["SASL PLAIN"])));
    assert!(!auth_offered(Dialect::Pop3, &caps(&["TOP", "STLS"])));
    assert!(!auth_offered(Dialect::Framed, &caps(&["USER"])));
    assert!(!auth_offered(Dialect::Implicit, &caps(&["AUTH"])));
}

#[test]
fn starttls_is_read_from_each_dialects_capabilities() {
    assert!(offers_starttls(Dialect::Smtp, &caps(&["starttls"])));
    assert!(offers_starttls(
        Dialect::Imap,
        &caps(&["IMAP4rev1", "STARTTLS"])
    ));
    assert!(offers_starttls(Dialect::Pop3, &caps(&["STLS"])));
    assert!(!offers_starttls(Dialect::Pop3, &caps(&["STARTTLS"])));
    assert!(!offers_starttls(Dialect::Smtp, &caps(&["PIPELINING"])));
    assert!(offers_starttls(Dialect::Ftp, &caps(&["PBSZ", "AUTH TLS"])));
    assert!(offers_starttls(
        Dialect::Irc,
        &caps(&["multi-prefix", "tls"])
    ));
    assert!(!offers_starttls(Dialect::Irc, &caps(&["STARTTLS", "TLS"])));
    assert!(!offers_starttls(
        Dialect::Ftp,
        &caps(&["STARTTLS", "AUTH SSL"])
    ));
    assert!(!offers_starttls(Dialect::Implicit, &caps(&["STARTTLS"])));
    assert!(!offers_starttls(Dialect::Framed, &caps(&["STARTTLS"])));
}

#[test]
fn a_second_starttls_is_judged_by_the_line_that_answers_it() {
    assert_eq!(starttls_command(Dialect::Smtp), Some(&b"STARTTLS\r\n"[..]));
    assert_eq!(
        starttls_command(Dialect::Imap),
        Some(&b"X2 STARTTLS\r\n"[..])
    );
    assert_eq!(starttls_command(Dialect::Pop3), Some(&b"STLS\r\n"[..]));
    assert_eq!(starttls_command(Dialect::Ftp), Some(&b"AUTH TLS\r\n"[..]));
    assert_eq!(starttls_command(Dialect::Implicit), None);
    assert_eq!(starttls_command(Dialect::Framed), None);
    for (dialect, answer, expected) in [
        (Dialect::Smtp, &b"220 2.0.0 go ahead\r\n"[..], Some(true)),
        (
            Dialect::Smtp,
            b"554 5.5.1 TLS already active\r\n",
            Some(false),
        ),
        (Dialect::Smtp, b"220 2.0.0 go ah", None),
        (Dialect::Smtp, b"", None),
        (
            Dialect::Imap,
            b"* OK still here\r\nX2 OK begin TLS\r\n",
            Some(true),
        ),
        (Dialect::Imap, b"* OK still here\r\n", None),
        (Dialect::Imap, b"X2 BAD TLS already active\n", Some(false)),
        (Dialect::Pop3, b"+OK begin TLS\r\n", Some(true)),
        (Dialect::Pop3, b"+OK\r\n", Some(true)),
        (Dialect::Pop3, b"+OKAY\r\n", Some(false)),
        (Dialect::Pop3, b"-ERR TLS already active\r\n", Some(false)),
        (
            Dialect::Ftp,
            b"234 Proceed with negotiation\r\n",
            Some(true),
        ),
        (Dialect::Ftp, b"234-first\r\n", None),
        (Dialect::Ftp, b"503 TLS already active\r\n", Some(false)),
        (Dialect::Ftp, b"2345 x\r\n", Some(false)),
        (
            Dialect::Irc,
            b":s NOTICE * :670 soon\r\n:s 670 * :go\r\n",
            Some(true),
        ),
        (Dialect::Irc, b":s NOTICE * :hello\r\n", None),
        (Dialect::Irc, b":s 691 * :STARTTLS failure\r\n", Some(false)),
        (Dialect::Irc, b":s 421 * STARTTLS :Unknown\r\n", Some(false)),
        (Dialect::Implicit, b"220 x\r\n", Some(false)),
    ] {
        assert_eq!(
            starttls_accepted(dialect, answer),
            expected,
            "{dialect} {answer:?}"
        );
    }
}

/// What an in-memory rustls server of `versions` answers `hello` with, classified; `ticketer`
/// gives it a TLS 1.2 ticket key.
fn rustls_answer(
    versions: &[&'static rustls::SupportedProtocolVersion],
    ticketer: bool,
    hello: &[u8],
) -> ProbeReply {
    let identity = testpki::Pki::shared(testpki::KeyKind::EcdsaP256)
        .server(testpki::Scenario::Valid)
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .unwrap();
    if ticketer {
        config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new().unwrap();
    }
    let mut server = rustls::ServerConnection::new(std::sync::Arc::new(config)).unwrap();
    let mut input = hello;
    while !input.is_empty() {
        server.read_tls(&mut input).unwrap();
    }
    // An error still leaves its alert to be written.
    let _ = server.process_new_packets();
    let mut out = Vec::new();
    while server.wants_write() {
        server.write_tls(&mut out).unwrap();
    }
    classify(&out, true).unwrap()
}

#[test]
fn the_retry_hello_offers_tls13_and_every_group_but_no_key_share() {
    let record = retry_hello(Some("mail.example"), [5; 32]).unwrap();
    let parsed = hello::parse(&record).unwrap();
    assert_eq!(parsed.supported_versions, Some(vec![0x0304]));
    assert_eq!(parsed.cipher_suites, TLS13_SUITES);
    assert_eq!(parsed.supported_groups, GROUPS);
    assert_eq!(parsed.server_name_str(), Some("mail.example"));
    assert!(parsed.has_extension(EXT_KEY_SHARE));
    assert!(parsed.has_extension(EXT_SIGNATURE_ALGORITHMS));
    // The key_share extension: type, length 2, an empty list of shares.
    let empty_share = [0x00, 0x33, 0x00, 0x02, 0x00, 0x00];
    assert!(record.windows(6).any(|w| w == empty_share), "{record:02x?}");
    assert_eq!(record[11..43], [5; 32]);
    let unnamed = hello::parse(&retry_hello(None, [0; 32]).unwrap()).unwrap();
    assert_eq!(unnamed.server_name, None);
    assert_eq!(
        retry_hello(Some("10.0.0.1"), [0; 32]),
        Err(BuildError::InvalidServerName)
    );
}

#[test]
fn rustls_answers_the_retry_hello_with_a_retry_request_only_when_it_speaks_tls13() {
    let hello = retry_hello(Some("localhost"), [5; 32]).unwrap();
    let both = rustls_answer(rustls::ALL_VERSIONS, false, &hello);
    assert_eq!(
        both,
        ProbeReply::HelloRetryRequest {
            group: Some(0x001d)
        },
        "X25519 is rustls's first group"
    );
    let tls12 = rustls_answer(&[&rustls::version::TLS12], false, &hello);
    assert!(
        matches!(tls12, ProbeReply::Alert { fatal: true, .. }),
        "{tls12}"
    );
}

#[test]
fn a_tls12_server_hello_says_whether_it_gave_a_session_id_and_will_send_a_ticket() {
    let spec = HelloSpec::new(ProbeVersion::Tls12, LEGACY_SUITES);
    let hello = client_hello(&spec).unwrap();
    assert!(
        hello::parse(&hello)
            .unwrap()
            .has_extension(EXT_SESSION_TICKET)
    );
    let tls12 = [&rustls::version::TLS12];
    // rustls caches sessions by default and issues tickets only with a ticketer.
    for (ticketer, ticket) in [(false, false), (true, true)] {
        match rustls_answer(&tls12, ticketer, &hello) {
            ProbeReply::ServerHello(found) => {
                assert_eq!(found.version, 0x0303);
                assert_eq!(found.ticket, ticket, "ticketer {ticketer}");
                assert!(found.session_id || ticket, "ticketer {ticketer}");
            }
            other => panic!("not a server hello: {other}"),
        }
    }
    let ssl3 = client_hello(&HelloSpec::new(ProbeVersion::Ssl3, LEGACY_SUITES)).unwrap();
    assert!(
        !hello::parse(&ssl3)
            .unwrap()
            .has_extension(EXT_SESSION_TICKET)
    );
}

#[test]
fn a_greeting_gives_away_a_qualified_name_or_the_audited_one() {
    for (greeting, name, expected) in [
        (
            &b"220 mail.example.com ESMTP Postfix\r\n"[..],
            "x",
            Some("mail.example.com"),
        ),
        (
            b"* OK [CAPABILITY IMAP4rev1] imap.example.org ready.\r\n",
            "x",
            Some("imap.example.org"),
        ),
        (
            b"+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n",
            "x",
            Some("dbc.mtview.ca.us"),
        ),
        (b"220 MX1 ESMTP\r\n", "mx1", Some("MX1")),
        (b"220 mail.example.com.\r\n", "x", Some("mail.example.com")),
        // Nothing that names a host: words, versions, an address, a name on a later line.
        (b"220 ESMTP ready.\r\n", "mail.example.com", None),
        (b"* OK Dovecot 2.3.4 ready.\r\n", "x", None),
        (b"220 [192.0.2.1] ESMTP\r\n", "x", None),
        (b"220 ESMTP\r\n250 mail.example.com\r\n", "x", None),
        (b"mail.example.com ESMTP\r\n", "x", None),
        (b"", "x", None),
    ] {
        let text = String::from_utf8_lossy(greeting);
        assert_eq!(
            greeting_host_name(greeting, name).as_deref(),
            expected,
            "{text:?} audited as {name}"
        );
    }
    // Only the first MAX_GREETING_LEN bytes are read.
    let mut long = b"220 ".to_vec();
    long.extend(std::iter::repeat_n(b'x', MAX_GREETING_LEN));
    long.extend_from_slice(b" mail.example.com\r\n");
    assert_eq!(greeting_host_name(&long, "y"), None);
}

#[test]
fn ports_name_their_conventional_dialect() {
    for (port, dialect) in [
        (25, Dialect::Smtp),
        (587, Dialect::Smtp),
        (2525, Dialect::Smtp),
        (143, Dialect::Imap),
        (110, Dialect::Pop3),
        (21, Dialect::Ftp),
        (6667, Dialect::Irc),
        (119, Dialect::Nntp),
        (3306, Dialect::Mysql),
        (4190, Dialect::Sieve),
        (5432, Dialect::Postgres),
        (465, Dialect::Implicit),
        (563, Dialect::Implicit),
        (993, Dialect::Implicit),
        (995, Dialect::Implicit),
        (8443, Dialect::Implicit),
    ] {
        assert_eq!(default_dialect(port), dialect, "{port}");
    }
}

#[test]
fn version_names_and_wire_values_agree_with_the_hello_module() {
    for version in [
        ProbeVersion::Ssl3,
        ProbeVersion::Tls10,
        ProbeVersion::Tls11,
        ProbeVersion::Tls12,
    ] {
        assert_eq!(hello::version_name(version.wire()), Some(version.name()));
        assert_eq!(version.to_string(), version.name());
    }
    assert_eq!(
        ProbeVersion::LEGACY,
        [ProbeVersion::Ssl3, ProbeVersion::Tls10, ProbeVersion::Tls11]
    );
    // SSL 3.0 in an SSL 3.0 record; the others in a TLS 1.0 record, as clients send them.
    assert_eq!(ProbeVersion::Ssl3.record_version(), 0x0300);
    for version in [
        ProbeVersion::Tls10,
        ProbeVersion::Tls11,
        ProbeVersion::Tls12,
    ] {
        assert_eq!(version.record_version(), 0x0301, "{version}");
    }
}

fn planted_strategy() -> impl Strategy<Value = Planted> {
    (
        prop::sample::select(vec![0x0300u16, 0x0301, 0x0302, 0x0303]),
        any::<[u8; 32]>(),
        prop::collection::vec(any::<u8>(), 0..=32),
        any::<u16>(),
        any::<u8>(),
        prop::option::of(prop::option::of(any::<u16>())),
        any::<bool>(),
        prop::sample::select(vec![0x0300u16, 0x0301, 0x0303]),
    )
        .prop_filter("not the retry random", |p| p.1 != HELLO_RETRY_RANDOM)
        .prop_map(
            |(
                legacy_version,
                random,
                session_id,
                suite,
                compression,
                extensions,
                ticket,
                record_version,
            )| {
                Planted {
                    legacy_version,
                    random,
                    session_id,
                    suite,
                    compression,
                    extensions,
                    ticket,
                    key_share: None,
                    record_version,
                }
            },
        )
}

proptest! {
    /// A ManageSieve server's unasked capabilities (any quoted lines, closed by any response
    /// line) never read as an answer, at any cut; a line planted after them always does, and
    /// only once it is complete.
    #[test]
    fn only_a_line_after_the_sieve_capabilities_answers_an_injection(
        caps in prop::collection::vec("\"[A-Z]{1,12}\"( \"[a-z ]{0,30}\")?", 0..12),
        close in "(OK|NO|BYE)( \"[a-z ]{0,20}\")?",
        answer in prop::option::of("[A-Z]{2,3}( [a-z\"]{0,20})?"),
    ) {
        let mut owed = String::new();
        for cap in &caps {
            owed.push_str(cap);
            owed.push_str("\r\n");
        }
        owed.push_str(&close);
        owed.push_str("\r\n");
        let mut bytes = owed.clone().into_bytes();
        if let Some(answer) = &answer {
            bytes.extend_from_slice(answer.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        for cut in 0..=bytes.len() {
            let head = &bytes[..cut];
            let planted_complete = answer.is_some() && cut == bytes.len();
            prop_assert_eq!(
                answers_injected(Dialect::Sieve, head),
                planted_complete,
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn a_planted_host_name_is_found_in_any_greeting_of_words(
        words in prop::collection::vec("[A-Za-z]{1,10}", 0..6),
        at in 0usize..6,
        host in "[a-z]{1,8}(\\.[a-z0-9]{1,8}){0,2}\\.[a-z]{2,6}",
    ) {
        // Words without a dot never name a host unless one is the audited name.
        let mut line: Vec<String> = vec!["220".to_owned()];
        line.extend(words.iter().cloned());
        let plain = format!("{}\r\n", line.join(" "));
        prop_assert_eq!(greeting_host_name(plain.as_bytes(), "a.b.example"), None);
        line.insert(1 + at.min(words.len()), host.clone());
        let planted = format!("{}\r\n", line.join(" "));
        prop_assert_eq!(greeting_host_name(planted.as_bytes(), "a.b.example"), Some(host));
    }

    #[test]
    fn any_planted_server_hello_in_any_records_reads_back(
        planted in planted_strategy(),
        size in 1usize..200,
        trailing in prop::collection::vec(any::<u8>(), 0..16),
    ) {
        let mut input = records(planted.record_version, &encode(&planted), size);
        let whole = input.len();
        input.extend_from_slice(&trailing);
        let expected = hello_of(&planted);
        prop_assert_eq!(classify(&input, false), Some(expected.clone()));
        prop_assert_eq!(classify(&input, true), Some(expected));
        // Every prefix that stops short of the message: more bytes needed, or closed at eof.
        for cut in 0..whole {
            let head = input.get(..cut).unwrap_or_default();
            let pending = classify(head, false);
            // A prefix ending exactly on a record boundary may hold the whole message already.
            if let Some(reply) = pending {
                prop_assert_eq!(reply, hello_of(&planted));
            } else {
                prop_assert_eq!(classify(head, true), Some(ProbeReply::Closed { after: cut }));
            }
        }
    }

    #[test]
    fn any_bytes_classify_without_panic_and_prefixes_agree(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        lead in prop::sample::select(vec![None, Some(0x15u8), Some(0x16)]),
    ) {
        let mut input = bytes;
        if let Some(lead) = lead {
            input.splice(0..0, [lead, 3]);
        }
        prop_assert!(classify(&input, true).is_some());
        let answer = classify(&input, false);
        for cut in 0..input.len() {
            let head = input.get(..cut).unwrap_or_default();
            if let Some(early) = classify(head, false) {
                prop_assert_eq!(Some(early), answer.clone(), "prefix of {} bytes", cut);
            }
        }
    }

    #[test]
    fn any_hello_spec_builds_a_hello_the_parser_reads(
        version in prop::sample::select(vec![
            ProbeVersion::Ssl3, ProbeVersion::Tls10, ProbeVersion::Tls11, ProbeVersion::Tls12,
        ]),
        suites in prop::collection::vec(any::<u16>(), 1..300),
        name in prop::option::of("[a-z0-9]{1,20}(\\.[a-z]{1,10}){0,3}"),
        random in any::<[u8; 32]>(),
    ) {
        let spec = HelloSpec { version, cipher_suites: &suites, server_name: name.as_deref(), random };
        let built = client_hello(&spec);
        let all_digits = name.as_deref().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
        if all_digits {
            prop_assert_eq!(built, Err(BuildError::InvalidServerName));
            return Ok(());
        }
        let record = built.unwrap();
        let parsed = hello::parse(&record).unwrap();
        prop_assert_eq!(parsed.legacy_version, version.wire());
        let mut offered = suites.clone();
        offered.push(0x00ff);
        prop_assert_eq!(&parsed.cipher_suites, &offered);
        let sent_name = if version == ProbeVersion::Ssl3 { None } else { name.as_deref() };
        prop_assert_eq!(parsed.server_name_str(), sent_name);
    }
}
