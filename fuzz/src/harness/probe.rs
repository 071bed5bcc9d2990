//! The oracle of the `probe_reply` target: layer 1's classifier of a server's answer to a
//! hand-built ClientHello (`streamsocket_proto::probe`).

use streamsocket_proto::probe::{self, ProbeReply, ProbeVersion};

/// `probe_reply`: the input is what a server sent back. Oracles: no panic; at the end of the
/// stream there is always an answer; without it, every prefix gives no answer or the input's
/// own; a ServerHello accepts at most one version, and only the one it chose; a ServerHello
/// re-encoded by the mock server's encoder reads back with the same version and suite.
pub fn probe_reply(data: &[u8]) {
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
