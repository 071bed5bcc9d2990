//! The oracle of the `probe_reply` target: layer 1's classifier of a server's answer to a
//! hand-built ClientHello (`streamsocket_proto::probe`).

use streamsocket_proto::probe::{self, ProbeReply, ProbeVersion};
use streamsocket_proto::starttls::Dialect;

/// `probe_reply`: the input is what a server sent back. Oracles: no panic; at the end of the
/// stream there is always an answer; without it, every prefix gives no answer or the input's
/// own; a ServerHello accepts at most one version, and only the one it chose; a ServerHello
/// re-encoded by the mock server's encoder reads back with the same version and suite. The
/// same bytes also choose the fields of a ServerHello or HelloRetryRequest built here (see
/// [`planted_hello`]) and a greeting naming a host (see [`planted_greeting`]), which must read
/// back as planted; and they go, as they are, to the plaintext readers of `probe`.
pub fn probe_reply(data: &[u8]) {
    planted_hello(data);
    planted_greeting(data);
    plaintext_readers(data);
    let answer = probe::classify(data, false);
    assert!(probe::classify(data, true).is_some(), "eof always answers");
    // Prefixes at a few cuts (all of them would make the target quadratic).
    for cut in [1, 2, 5, 6, 9, data.len() / 2, data.len().saturating_sub(1)] {
        if let Some(head) = data.get(..cut)
            && let Some(early) = probe::classify(head, false)
        {
            assert_eq!(
                Some(early),
                answer,
                "a prefix of {cut} bytes answered differently"
            );
        }
    }
    let Some(ProbeReply::ServerHello(hello)) = answer else {
        return;
    };
    let reply = ProbeReply::ServerHello(hello);
    let accepted: Vec<ProbeVersion> = [
        ProbeVersion::Ssl3,
        ProbeVersion::Tls10,
        ProbeVersion::Tls11,
        ProbeVersion::Tls12,
    ]
    .into_iter()
    .filter(|&v| reply.accepts(v))
    .collect();
    assert!(accepted.len() <= 1);
    assert!(accepted.iter().all(|v| v.wire() == hello.version));
    let again = probe::server_hello_record(hello.version, hello.cipher_suite, [0; 32]);
    match probe::classify(&again, false) {
        Some(ProbeReply::ServerHello(back)) => {
            assert_eq!(
                (back.version, back.cipher_suite),
                (hello.version, hello.cipher_suite)
            );
        }
        // The encoder's random may be read as the retry marker only if it were that value.
        other => panic!("re-encoded server hello read back as {other:?}"),
    }
}

/// RFC 8446, section 4.1.3: the random of a HelloRetryRequest, written out independently of
/// layer 1's constant.
const RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// The input read front to back as planted values (zeros past its end).
struct Plant<'a>(&'a [u8]);

impl Plant<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
        self.0 = rest;
        first
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }
}

fn vec8(out: &mut Vec<u8>, data: &[u8]) {
    out.push(u8::try_from(data.len()).expect("planted vectors are short"));
    out.extend_from_slice(data);
}

fn vec16(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(&u16::try_from(data.len()).expect("short").to_be_bytes());
    out.extend_from_slice(data);
}

/// A ServerHello (or, when planted, a HelloRetryRequest) whose version, suite, session id,
/// `supported_versions`, `session_ticket`, `key_share` group, an unknown extension, and the
/// cut into two records all come from the input, encoded here (not by layer 1): classified
/// whole, it reads back as exactly what was planted; every prefix gives no answer or that one.
fn planted_hello(data: &[u8]) {
    let mut plant = Plant(data);
    let legacy_version = plant.u16();
    let cipher_suite = plant.u16();
    let session_len = usize::from(plant.byte() % 33);
    let flags = plant.byte();
    let (ticket, retry, has_group, has_versions) = (
        flags & 1 != 0,
        flags & 2 != 0,
        flags & 4 != 0,
        flags & 8 != 0,
    );
    let group = plant.u16();
    let chosen = plant.u16();
    // Any extension type but the three the classifier reads.
    let unknown = match plant.u16() {
        0x0023 | 0x002b | 0x0033 => 0xfafa,
        kind => kind,
    };
    let unknown_len = usize::from(plant.byte() % 48);
    let cut = plant.byte();
    let fill = plant.byte();

    let mut body = legacy_version.to_be_bytes().to_vec();
    // A random of one repeated byte is never RFC 8446's special value.
    body.extend_from_slice(&if retry { RETRY_RANDOM } else { [fill; 32] });
    vec8(&mut body, &[fill; 32][..session_len]);
    body.extend_from_slice(&cipher_suite.to_be_bytes());
    body.push(0);
    let mut extensions = Vec::new();
    let mut extension = |kind: u16, payload: &[u8]| {
        extensions.extend_from_slice(&kind.to_be_bytes());
        vec16(&mut extensions, payload);
    };
    extension(unknown, &[fill; 48][..unknown_len]);
    if has_versions {
        extension(0x002b, &chosen.to_be_bytes());
    }
    if ticket {
        extension(0x0023, &[]);
    }
    if has_group {
        // A HelloRetryRequest names the group alone; a ServerHello's share follows it.
        let mut share = group.to_be_bytes().to_vec();
        if !retry {
            vec16(&mut share, &[fill; 32]);
        }
        extension(0x0033, &share);
    }
    vec16(&mut body, &extensions);
    let len = u32::try_from(body.len()).expect("short").to_be_bytes();
    let mut message = vec![2, len[1], len[2], len[3]];
    message.extend_from_slice(&body);

    // Two records when the cut falls inside the message, one otherwise.
    let cut = usize::from(cut).min(message.len());
    let record_version = 0x0300 | u16::from((flags >> 4) & 3);
    let mut bytes = Vec::new();
    for fragment in [&message[..cut], &message[cut..]] {
        if !fragment.is_empty() {
            bytes.push(0x16);
            bytes.extend_from_slice(&record_version.to_be_bytes());
            vec16(&mut bytes, fragment);
        }
    }
    let answer = probe::classify(&bytes, false);
    match &answer {
        Some(ProbeReply::HelloRetryRequest { group: back }) if retry => {
            assert_eq!(*back, has_group.then_some(group), "the retry's group");
        }
        Some(ProbeReply::ServerHello(hello)) if !retry => {
            let version = if has_versions { chosen } else { legacy_version };
            assert_eq!(
                (hello.version, hello.record_version, hello.cipher_suite),
                (version, record_version, cipher_suite)
            );
            assert_eq!(hello.compression, 0);
            assert_eq!(hello.session_id, session_len > 0, "the session id");
            assert_eq!(hello.ticket, ticket, "the ticket answer");
        }
        other => panic!("planted (retry {retry}) read back as {other:?}"),
    }
    for cut in 0..bytes.len() {
        let early = probe::classify(&bytes[..cut], false);
        assert!(
            early.is_none() || early == answer,
            "a prefix of {cut} answered {early:?}"
        );
    }
    // layer 1's own encoder, with the planted random: the planted version and suite.
    let again = probe::server_hello_record(legacy_version, cipher_suite, [fill; 32]);
    match probe::classify(&again, false) {
        Some(ProbeReply::ServerHello(back)) => {
            assert_eq!(
                (
                    back.version,
                    back.cipher_suite,
                    back.session_id,
                    back.ticket
                ),
                (legacy_version, cipher_suite, false, false)
            );
        }
        other => panic!("server_hello_record read back as {other:?}"),
    }
}

/// A greeting `220 <name> <rest>` whose host name (two to four labels of letters, digits and
/// inner hyphens, the last one starting with a letter) and rest come from the input: the name
/// is what `greeting_host_name` gives back.
fn planted_greeting(data: &[u8]) {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-";
    let mut plant = Plant(data);
    let labels = 2 + usize::from(plant.byte() % 3);
    let mut name = String::new();
    for i in 0..labels {
        if i > 0 {
            name.push('.');
        }
        let len = 1 + usize::from(plant.byte() % 12);
        for j in 0..len {
            let mut c = ALPHABET[usize::from(plant.byte()) % ALPHABET.len()];
            let edge = j == 0 || j + 1 == len;
            if (edge && c == b'-') || (i + 1 == labels && j == 0 && !c.is_ascii_alphabetic()) {
                c = b'm';
            }
            name.push(char::from(c));
        }
    }
    let mut greeting = format!("220 {name} ").into_bytes();
    greeting.extend_from_slice(plant.0.get(..64).unwrap_or(plant.0));
    greeting.extend_from_slice(b"\r\n");
    assert_eq!(
        probe::greeting_host_name(&greeting, "audited.invalid").as_deref(),
        Some(name.as_str()),
        "{:?}",
        String::from_utf8_lossy(&greeting)
    );
}

/// The input as plaintext: a host name found in a greeting is a word of its first line; the
/// go-ahead to STARTTLS, once decided, is not changed by more bytes; nor is an answer to an
/// injected command.
fn plaintext_readers(data: &[u8]) {
    let head = data.get(..probe::MAX_GREETING_LEN).unwrap_or(data);
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    for name in ["audited.invalid", "x"] {
        if let Some(found) = probe::greeting_host_name(data, name) {
            assert!(
                !found.is_empty() && line.contains(found.as_str()),
                "{found:?}"
            );
        }
    }
    let cuts = [1, 3, data.len() / 2, data.len().saturating_sub(1)];
    for dialect in Dialect::ALL {
        let whole = probe::starttls_accepted(dialect, data);
        for cut in cuts {
            if let Some(early) = data
                .get(..cut)
                .and_then(|h| probe::starttls_accepted(dialect, h))
            {
                assert_eq!(Some(early), whole, "{dialect}: a prefix of {cut} bytes");
            }
        }
    }
    for dialect in Dialect::ALL {
        let whole = probe::answers_injected(dialect, data);
        for cut in cuts {
            if data
                .get(..cut)
                .is_some_and(|h| probe::answers_injected(dialect, h))
            {
                assert!(
                    whole,
                    "{dialect}: a prefix of {cut} bytes answered, the whole did not"
                );
            }
        }
    }
}
