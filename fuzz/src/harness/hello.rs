//! The oracle of the `hello_parser` target: layer 1's ClientHello parser
//! (`streamsocket_proto::hello`) and the JA4 fingerprint of what it returns.

use streamsocket_proto::hello::{self, ClientHello, ja4};

/// `hello_parser`: the input is what a server received first. Oracles: no panic; every list is
/// no longer than the input could hold; a parsed ClientHello, written out again (opaque
/// extensions with empty bodies) in records of any size, parses to the same value; its JA4 has
/// the published shape (`t`, version, `d`/`i`, two counts, ALPN, then two 12-digit hashes).
pub fn hello_parser(data: &[u8]) {
    let Ok(parsed) = hello::parse(data) else {
        return;
    };
    assert!(parsed.cipher_suites.len() * 2 <= data.len());
    assert!(parsed.extensions.len() * 4 <= data.len());
    assert!(parsed.alpn.iter().map(|name| name.len() + 1).sum::<usize>() <= data.len());
    let message = encode(&parsed);
    let size = usize::from(data.first().copied().unwrap_or(1).max(1)) * 64;
    let again = hello::parse(&records(parsed.record_version, &message, size));
    assert_eq!(
        again.as_ref(),
        Ok(&parsed),
        "re-encoded client hello reads back the same"
    );

    let fingerprint = ja4::fingerprint(&parsed);
    let parts: Vec<&str> = fingerprint.split('_').collect();
    assert_eq!(parts.len(), 3, "{fingerprint}");
    assert_eq!(parts[0].len(), 10, "{fingerprint}");
    assert!(parts[0].starts_with('t'), "{fingerprint}");
    assert!(parts[0].is_ascii(), "{fingerprint}");
    for hash in &parts[1..] {
        assert_eq!(hash.len(), 12, "{fingerprint}");
        assert!(
            hash.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }
}

/// The ClientHello message of `hello`, handshake header included.
fn encode(hello: &ClientHello) -> Vec<u8> {
    let mut body = hello.legacy_version.to_be_bytes().to_vec();
    body.extend_from_slice(&[0; 32]);
    body.push(0);
    push_u16_list(&mut body, &hello.cipher_suites);
    body.push(hello.compression_methods.len() as u8);
    body.extend_from_slice(&hello.compression_methods);
    // A parsed ClientHello without extensions had no extension block at all.
    if !hello.extensions.is_empty() {
        let mut block = Vec::new();
        for &kind in &hello.extensions {
            let data = extension(hello, kind);
            block.extend_from_slice(&kind.to_be_bytes());
            block.extend_from_slice(&(data.len() as u16).to_be_bytes());
            block.extend_from_slice(&data);
        }
        body.extend_from_slice(&(block.len() as u16).to_be_bytes());
        body.extend_from_slice(&block);
    }
    let len = body.len() as u32;
    let mut message = vec![1, (len >> 16) as u8, (len >> 8) as u8, len as u8];
    message.extend_from_slice(&body);
    message
}

fn extension(hello: &ClientHello, kind: u16) -> Vec<u8> {
    let mut out = Vec::new();
    match kind {
        0x0000 => {
            let mut list = Vec::new();
            if let Some(name) = &hello.server_name {
                list.push(0);
                list.extend_from_slice(&(name.len() as u16).to_be_bytes());
                list.extend_from_slice(name);
            }
            out.extend_from_slice(&(list.len() as u16).to_be_bytes());
            out.extend_from_slice(&list);
        }
        0x0010 => {
            let mut list = Vec::new();
            for name in &hello.alpn {
                list.push(name.len() as u8);
                list.extend_from_slice(name);
            }
            out.extend_from_slice(&(list.len() as u16).to_be_bytes());
            out.extend_from_slice(&list);
        }
        0x000a => push_u16_list(&mut out, &hello.supported_groups),
        0x000d => push_u16_list(&mut out, &hello.signature_algorithms),
        0x002b => {
            let versions = hello.supported_versions.as_deref().unwrap_or_default();
            out.push((versions.len() * 2) as u8);
            for version in versions {
                out.extend_from_slice(&version.to_be_bytes());
            }
        }
        _ => {}
    }
    out
}

fn push_u16_list(out: &mut Vec<u8>, values: &[u16]) {
    out.extend_from_slice(&((values.len() * 2) as u16).to_be_bytes());
    for value in values {
        out.extend_from_slice(&value.to_be_bytes());
    }
}

fn records(version: u16, message: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for fragment in message.chunks(size.min(1 << 14)) {
        out.push(0x16);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&(fragment.len() as u16).to_be_bytes());
        out.extend_from_slice(fragment);
    }
    out
}
