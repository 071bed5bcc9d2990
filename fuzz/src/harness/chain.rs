//! The `chain_verifier` target: the chain verifier on any bytes.

/// `chain_verifier`: a server's certificate chain and a client's ignore-list, as bytes.
///
/// ```text
/// byte 0   bit i (i < 7): the i-th ignorable class is ignored; bit 7: no CRL, the anchor is
///          the last certificate rather than the first
/// rest     certificates, each a 2-byte big-endian length and that many DER bytes (a short last
///          one takes what is left); the first is the leaf; the anchor certificate is not sent
/// ```
///
/// The verifier runs at 2030-01-01 for `localhost`. Oracles: no panic on any bytes; the verdict is
/// consistent (an accepted chain reports only ignored classes, a refused one names why; the
/// report is sorted, without duplicates and without `Success`).
pub fn chain_verifier(data: &[u8]) {
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use streamsocket_proto::cert::{ChainValidationResult, ChainVerifier, SocketSslErrorSeverity};

    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let mut certs = Vec::new();
    while rest.len() >= 2 && certs.len() < 6 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let body = &rest[2..];
        let take = len.min(body.len());
        certs.push(CertificateDer::from(body[..take].to_vec()));
        rest = &body[take..];
    }
    if certs.len() < 2 {
        return;
    }
    let anchor_cert = if flags & 0x80 == 0 {
        certs.remove(0)
    } else {
        match certs.pop() {
            Some(cert) => cert,
            None => return,
        }
    };
    let anchors: Vec<_> = webpki::anchor_from_trusted_cert(&anchor_cert)
        .map(|anchor| vec![anchor.to_owned()])
        .unwrap_or_default();
    let ignorable: Vec<ChainValidationResult> = ChainValidationResult::ALL
        .into_iter()
        .filter(|class| class.severity() == SocketSslErrorSeverity::Ignorable)
        .collect();
    let ignored: Vec<ChainValidationResult> = ignorable
        .iter()
        .enumerate()
        .filter(|(i, _)| flags & (1 << i) != 0)
        .map(|(_, class)| *class)
        .collect();
    let algorithms = rustls::crypto::aws_lc_rs::default_provider()
        .signature_verification_algorithms
        .all;
    let verifier = ChainVerifier::new(anchors, &[], algorithms, &ignored)
        .expect("ignorable classes are accepted");
    let Some((leaf, intermediates)) = certs.split_first() else {
        return;
    };
    let name = ServerName::try_from("localhost").expect("a valid name");
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_893_456_000));
    let verdict = verifier.verify(leaf, intermediates, &name, now);
    let mut sorted = verdict.errors.clone();
    sorted.sort_by_key(|class| class.value());
    sorted.dedup();
    assert_eq!(
        sorted, verdict.errors,
        "the report is sorted and has no duplicates"
    );
    assert!(!verdict.errors.contains(&ChainValidationResult::Success));
    if verdict.accepted() {
        assert!(
            verdict.errors.iter().all(|class| ignored.contains(class)),
            "accepted with {:?} reported and {ignored:?} ignored",
            verdict.errors
        );
    } else {
        assert!(!verdict.errors.is_empty(), "refused without a reason");
    }
}
