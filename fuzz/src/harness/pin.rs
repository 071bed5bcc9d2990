//! The oracle of the `pin_parser` target: layer 1's public-key pin parser
//! (`streamsocket_proto::cert::SpkiPin`), what `--pin-sha256` and
//! `SocketControl::set_pinned_server_keys` are given.

use streamsocket_proto::cert::SpkiPin;

/// The RFC 4648 alphabet, written out here: the oracle does not use the parser's decoder.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `pin_parser`: the input, as lossy UTF-8, is a pin. Oracles: no panic; a text is accepted
/// exactly when it is `BASE64`, `sha256/BASE64` or `sha256//BASE64` (the prefix in any case)
/// with `BASE64` the canonical 44-character standard base64 of 32 bytes, and then the pin holds
/// those 32 bytes and prints as that `BASE64`.
pub fn pin_parser(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let parsed = text.parse::<SpkiPin>();
    let planted = [0usize, 7, 8]
        .into_iter()
        .filter_map(|cut| {
            let (prefix, body) = (text.get(..cut)?, text.get(cut..)?);
            let prefix_ok = match cut {
                0 => true,
                7 => prefix.eq_ignore_ascii_case("sha256/"),
                _ => prefix.eq_ignore_ascii_case("sha256//"),
            };
            prefix_ok.then(|| decode(body)).flatten()
        })
        .next();
    match (parsed, planted) {
        (Ok(pin), Some(bytes)) => {
            assert_eq!(pin.as_bytes(), &bytes, "{text:?}");
            assert!(
                text.ends_with(&pin.to_string()),
                "{text:?} printed as {pin}"
            );
            assert_eq!(pin.to_string().parse::<SpkiPin>().ok(), Some(pin));
        }
        (Err(_), None) => {}
        (Ok(pin), None) => panic!("{text:?} accepted as {pin}, which is no pin"),
        (Err(err), Some(_)) => panic!("{text:?} refused ({err}), though it is a pin"),
    }
}

/// The 32 bytes of canonical 44-character base64 with one padding character, if `body` is that.
fn decode(body: &str) -> Option<[u8; 32]> {
    let bytes = body.as_bytes();
    if bytes.len() != 44 || bytes[43] != b'=' {
        return None;
    }
    let mut bits: Vec<u8> = Vec::with_capacity(43 * 6);
    for &c in &bytes[..43] {
        let value = ALPHABET.iter().position(|&a| a == c)?;
        for shift in (0..6).rev() {
            bits.push(((value >> shift) & 1) as u8);
        }
    }
    // 43 characters carry 258 bits: 256 of the hash, then two that must be zero.
    if bits[256..].iter().any(|&bit| bit != 0) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = bits[i * 8..i * 8 + 8]
            .iter()
            .fold(0u8, |acc, &bit| (acc << 1) | bit);
    }
    Some(out)
}
