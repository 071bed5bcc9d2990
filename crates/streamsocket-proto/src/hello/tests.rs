//! Tests of the ClientHello parser: a rustls ClientHello, hand-built ones, and a property test
//! whose encoder knows what it planted.

use std::sync::Arc;

use proptest::prelude::*;

use super::*;

/// What a test plants in a ClientHello; [`encode`] writes it out.
#[derive(Clone, Debug)]
struct Planted {
    legacy_version: u16,
    session_id: Vec<u8>,
    suites: Vec<u16>,
    compression: Vec<u8>,
    /// `None`: no extension block at all.
    extensions: Option<Vec<(u16, Vec<u8>)>>,
}

/// The ClientHello message (handshake header included).
fn encode(planted: &Planted) -> Vec<u8> {
    let mut body = planted.legacy_version.to_be_bytes().to_vec();
    body.extend_from_slice(&[0x5a; 32]);
    body.push(planted.session_id.len() as u8);
    body.extend_from_slice(&planted.session_id);
    body.extend_from_slice(&u16_vec(&planted.suites));
    body.push(planted.compression.len() as u8);
    body.extend_from_slice(&planted.compression);
    if let Some(extensions) = &planted.extensions {
        let mut block = Vec::new();
        for (kind, data) in extensions {
            block.extend_from_slice(&kind.to_be_bytes());
            block.extend_from_slice(&(data.len() as u16).to_be_bytes());
            block.extend_from_slice(data);
        }
        body.extend_from_slice(&(block.len() as u16).to_be_bytes());
        body.extend_from_slice(&block);
    }
    let len = body.len() as u32;
    let mut message = vec![1, (len >> 16) as u8, (len >> 8) as u8, len as u8];
    message.extend_from_slice(&body);
    message
}

/// `message` in handshake records of at most `size` bytes each.
fn records(message: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for fragment in message.chunks(size) {
        out.extend_from_slice(&[0x16, 0x03, 0x01]);
        out.extend_from_slice(&(fragment.len() as u16).to_be_bytes());
        out.extend_from_slice(fragment);
    }
    out
}

/// A list with a two-byte length.
fn u16_vec(values: &[u16]) -> Vec<u8> {
    let mut out = ((values.len() * 2) as u16).to_be_bytes().to_vec();
    for value in values {
        out.extend_from_slice(&value.to_be_bytes());
    }
    out
}

fn sni(name: &[u8]) -> Vec<u8> {
    let mut entry = vec![0];
    entry.extend_from_slice(&(name.len() as u16).to_be_bytes());
    entry.extend_from_slice(name);
    let mut out = (entry.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&entry);
    out
}

fn alpn(names: &[Vec<u8>]) -> Vec<u8> {
    let mut list = Vec::new();
    for name in names {
        list.push(name.len() as u8);
        list.extend_from_slice(name);
    }
    let mut out = (list.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&list);
    out
}

fn versions(values: &[u16]) -> Vec<u8> {
    let mut out = vec![(values.len() * 2) as u8];
    for value in values {
        out.extend_from_slice(&value.to_be_bytes());
    }
    out
}

fn minimal() -> Planted {
    Planted {
        legacy_version: 0x0303,
        session_id: vec![7; 32],
        suites: vec![0x1301, 0xc02b],
        compression: vec![0],
        extensions: Some(Vec::new()),
    }
}

/// A genuine ClientHello, as rustls writes it for `mock.streamsocket.test` with ALPN.
fn rustls_hello() -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the default provider supports the default versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let name = rustls::pki_types::ServerName::try_from("mock.streamsocket.test").expect("a name");
    let mut connection = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    let mut hello = Vec::new();
    while connection.wants_write() {
        connection.write_tls(&mut hello).expect("write to a vector");
    }
    hello
}

#[test]
fn a_rustls_client_hello_is_read_whole() {
    let bytes = rustls_hello();
    let hello = parse(&bytes).expect("rustls writes a valid client hello");
    assert_eq!(hello.legacy_version, 0x0303);
    assert_eq!(hello.supported_versions, Some(vec![0x0304, 0x0303]));
    assert_eq!(
        hello.offered_versions().collect::<Vec<_>>(),
        [0x0304, 0x0303]
    );
    assert_eq!(hello.server_name_str(), Some("mock.streamsocket.test"));
    assert_eq!(hello.alpn, [b"h2".to_vec(), b"http/1.1".to_vec()]);
    assert_eq!(hello.compression_methods, [0]);
    // TLS_AES_256_GCM_SHA384 and TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 are in rustls's list,
    // x25519 among the groups, ecdsa_secp256r1_sha256 among the signature schemes.
    assert!(hello.cipher_suites.contains(&0x1302));
    assert!(hello.cipher_suites.contains(&0xc02b));
    assert!(hello.supported_groups.contains(&0x001d));
    assert!(hello.signature_algorithms.contains(&0x0403));
    for extension in [0x0000, 0x000a, 0x000d, 0x0010, 0x002b, 0x0033] {
        assert!(
            hello.has_extension(extension),
            "{extension:#06x} in {:x?}",
            hello.extensions
        );
    }
    assert!(
        hello
            .cipher_suites
            .iter()
            .all(|&s| weaknesses(s).next().is_none())
    );
    let ja4 = ja4::fingerprint(&hello);
    let expected_prefix = format!(
        "t13d{:02}{:02}h2_",
        hello.cipher_suites.len(),
        hello.extensions.len()
    );
    assert!(ja4.starts_with(&expected_prefix), "{ja4}");
    assert_eq!(ja4.len(), 36, "{ja4}");
}

#[test]
fn a_client_hello_split_over_records_reads_the_same_and_what_follows_is_ignored() {
    let bytes = rustls_hello();
    let whole = parse(&bytes).expect("valid");
    let message = &bytes[5..];
    for size in [1, 2, 3, 7, 100] {
        let mut split = records(message, size);
        split.extend_from_slice(&[0x14, 0x03, 0x03, 0x00, 0x01, 0x01]);
        assert_eq!(parse(&split), Ok(whole.clone()), "fragments of {size}");
    }
}

#[test]
fn every_prefix_of_a_client_hello_is_truncated() {
    let bytes = rustls_hello();
    for end in 0..bytes.len() {
        assert_eq!(
            parse(&bytes[..end]),
            Err(HelloError::Truncated),
            "prefix of {end}"
        );
    }
}

#[test]
fn a_tls10_client_without_extensions_offers_its_legacy_version() {
    let planted = Planted {
        legacy_version: 0x0301,
        extensions: None,
        suites: vec![0x0005, 0x000a, 0x002f],
        ..minimal()
    };
    let hello = parse(&records(&encode(&planted), 1000)).expect("valid");
    assert_eq!(hello.offered_versions().collect::<Vec<_>>(), [0x0301]);
    assert!(hello.extensions.is_empty());
    let weak: Vec<Vec<Weakness>> = hello
        .cipher_suites
        .iter()
        .map(|&s| weaknesses(s).collect())
        .collect();
    assert_eq!(
        weak,
        [
            vec![Weakness::Rc4],
            vec![Weakness::TripleDes, Weakness::CbcSha1],
            vec![Weakness::CbcSha1]
        ]
    );
}

#[test]
fn weak_suites_are_flagged_by_their_registered_names() {
    let cases: [(u16, &[Weakness]); 12] = [
        (0x0000, &[Weakness::Null]),
        (0x0003, &[Weakness::Export, Weakness::Rc4]),
        (0x0008, &[Weakness::Export, Weakness::CbcSha1]),
        (0x003b, &[Weakness::Null]),
        (0xc010, &[Weakness::Null]),
        (0xc011, &[Weakness::Rc4]),
        (0xc012, &[Weakness::TripleDes, Weakness::CbcSha1]),
        (0xc013, &[Weakness::CbcSha1]),
        (0xc0b4, &[Weakness::Null]),
        (0x003c, &[]),
        (0xc02f, &[]),
        (0x1303, &[]),
    ];
    for (suite, expected) in cases {
        assert_eq!(
            weaknesses(suite).collect::<Vec<_>>(),
            expected,
            "{suite:#06x}"
        );
    }
}

#[test]
fn grease_is_the_sixteen_values_of_rfc_8701() {
    let all: Vec<u16> = (0..=u16::MAX).filter(|&v| is_grease(v)).collect();
    let expected: Vec<u16> = (0..16).map(|i| 0x0a0a + i * 0x1010).collect();
    assert_eq!(all, expected);
}

#[test]
fn malformed_input_is_named() {
    let check = |bytes: &[u8], expected: HelloError| {
        assert_eq!(parse(bytes), Err(expected), "{bytes:02x?}");
    };
    check(b"EHLO x\r\n", HelloError::NotHandshake(b'E'));
    check(&[0x16, 3, 1, 0, 0], HelloError::RecordLength(0));
    check(&[0x16, 3, 1, 0x40, 0x01], HelloError::RecordLength(0x4001));
    check(
        &[0x16, 3, 1, 0, 4, 2, 0, 0, 0],
        HelloError::NotClientHello(2),
    );
    let mut odd = minimal();
    odd.extensions = Some(vec![(0x000a, vec![0, 3, 0, 0x1d, 0])]);
    check(
        &records(&encode(&odd), 1000),
        HelloError::Malformed(Field::SupportedGroups),
    );
    let mut twice = minimal();
    twice.extensions = Some(vec![(0x0017, vec![]), (0x0017, vec![])]);
    check(
        &records(&encode(&twice), 1000),
        HelloError::DuplicateExtension(0x0017),
    );
    let mut long_id = minimal();
    long_id.session_id = vec![0; 33];
    check(
        &records(&encode(&long_id), 1000),
        HelloError::Malformed(Field::SessionId),
    );
    let mut trailing = encode(&minimal());
    trailing.push(0);
    trailing[3] += 1;
    check(
        &records(&trailing, 1000),
        HelloError::Malformed(Field::Trailing),
    );
}

#[test]
fn a_declared_length_beyond_the_input_reserves_nothing_and_is_truncated() {
    // A handshake header declaring 16 MiB, followed by one small record.
    let bytes = [0x16, 3, 1, 0, 4, 1, 0xff, 0xff, 0xff];
    assert_eq!(parse(&bytes), Err(HelloError::Truncated));
}

fn value() -> impl Strategy<Value = u16> {
    prop_oneof![any::<u16>(), (0u16..16).prop_map(|i| 0x0a0a + i * 0x1010)]
}

prop_compose! {
    fn planted()(
        legacy_version in value(),
        session_id in proptest::collection::vec(any::<u8>(), 0..=32),
        suites in proptest::collection::vec(value(), 0..40),
        compression in proptest::collection::vec(any::<u8>(), 0..4),
        server_name in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        alpn_names in proptest::option::of(proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..10), 0..4)),
        groups in proptest::option::of(proptest::collection::vec(value(), 0..10)),
        signatures in proptest::option::of(proptest::collection::vec(value(), 0..10)),
        supported in proptest::option::of(proptest::collection::vec(value(), 0..6)),
        others in proptest::collection::btree_map(0x0100u16..0xff00, proptest::collection::vec(any::<u8>(), 0..8), 0..6),
        no_block in any::<bool>(),
    ) -> (Planted, ClientHello) {
        let mut extensions = Vec::new();
        let mut expected = ClientHello {
            legacy_version,
            cipher_suites: suites.clone(),
            compression_methods: compression.clone(),
            record_version: 0x0301,
            ..ClientHello::default()
        };
        if let Some(name) = &server_name {
            extensions.push((0x0000, sni(name)));
            expected.server_name = Some(name.clone());
        }
        if let Some(names) = &alpn_names {
            extensions.push((0x0010, alpn(names)));
            expected.alpn = names.clone();
        }
        if let Some(groups) = &groups {
            extensions.push((0x000a, u16_vec(groups)));
            expected.supported_groups = groups.clone();
        }
        if let Some(signatures) = &signatures {
            extensions.push((0x000d, u16_vec(signatures)));
            expected.signature_algorithms = signatures.clone();
        }
        if let Some(supported) = &supported {
            extensions.push((0x002b, versions(supported)));
            expected.supported_versions = Some(supported.clone());
        }
        for (kind, data) in &others {
            // Interleave the opaque ones with those this module reads.
            extensions.insert(usize::from(*kind) % (extensions.len() + 1), (*kind, data.clone()));
        }
        let block = if no_block && extensions.is_empty() { None } else { Some(extensions) };
        expected.extensions = block.iter().flatten().map(|(kind, _)| *kind).collect();
        (Planted { legacy_version, session_id, suites, compression, extensions: block }, expected)
    }
}

proptest! {
    #[test]
    fn a_generated_client_hello_reads_back_as_planted(
        (planted, expected) in planted(),
        size in 1usize..=MAX_FRAGMENT,
    ) {
        let bytes = records(&encode(&planted), size);
        prop_assert_eq!(parse(&bytes), Ok(expected));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn a_corrupted_client_hello_never_panics(
        (planted, _) in planted(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = records(&encode(&planted), 64);
        for (index, byte) in flips {
            let i = index.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(hello) = parse(&bytes) {
            let _ = ja4::fingerprint(&hello);
        }
    }
}
