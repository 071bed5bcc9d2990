//! FoxIO's JA4 TLS client fingerprint of a [`ClientHello`], as its technical specification
//! (`technical_details/JA4.md` in FoxIO-LLC/ja4) defines it, for TLS over TCP.
//!
//! `t13d1516h2_8daaf6152771_e5627efa2ab1` reads: TLS over TCP, TLS 1.3, a domain name in SNI,
//! 15 cipher suites, 16 extensions, ALPN `h2`; then the truncated SHA-256 of the sorted suites;
//! then that of the sorted extensions (without SNI and ALPN) followed by the signature
//! algorithms in the client's order. GREASE values are left out everywhere.

use sha2::{Digest, Sha256};

use super::{ClientHello, EXT_ALPN, EXT_SERVER_NAME, is_grease};

/// What a hash part is when its list is empty.
const EMPTY: &str = "000000000000";

/// The JA4 fingerprint (`JA4`): suites and extensions sorted, then hashed.
pub fn fingerprint(hello: &ClientHello) -> String {
    build(hello, Order::Sorted, Form::Hashed)
}

/// `JA4_r`: the sorted lists themselves instead of their hashes.
pub fn raw(hello: &ClientHello) -> String {
    build(hello, Order::Sorted, Form::Raw)
}

/// `JA4_o`: the lists in the client's order (SNI and ALPN included), hashed.
pub fn original(hello: &ClientHello) -> String {
    build(hello, Order::Original, Form::Hashed)
}

/// `JA4_ro`: the lists in the client's order, not hashed.
pub fn raw_original(hello: &ClientHello) -> String {
    build(hello, Order::Original, Form::Raw)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Sorted,
    Original,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Hashed,
    Raw,
}

fn build(hello: &ClientHello, order: Order, form: Form) -> String {
    let mut suites = without_grease(&hello.cipher_suites);
    let mut extensions = without_grease(&hello.extensions);
    let signatures = without_grease(&hello.signature_algorithms);
    let a = prefix(hello, suites.len(), extensions.len());
    if order == Order::Sorted {
        suites.sort_unstable();
        extensions.retain(|&e| e != EXT_SERVER_NAME && e != EXT_ALPN);
        extensions.sort_unstable();
    }
    let b = hex_list(&suites);
    let mut c = hex_list(&extensions);
    if !signatures.is_empty() {
        c.push('_');
        c.push_str(&hex_list(&signatures));
    }
    match form {
        Form::Raw => format!("{a}_{b}_{c}"),
        Form::Hashed => {
            let b = if suites.is_empty() {
                EMPTY.to_owned()
            } else {
                truncated_sha256(&b)
            };
            let c = if extensions.is_empty() {
                EMPTY.to_owned()
            } else {
                truncated_sha256(&c)
            };
            format!("{a}_{b}_{c}")
        }
    }
}

/// `JA4_a`: protocol, version, SNI, counts and ALPN, such as `t13d1516h2`.
fn prefix(hello: &ClientHello, suites: usize, extensions: usize) -> String {
    let version = match &hello.supported_versions {
        Some(versions) => versions.iter().copied().filter(|&v| !is_grease(v)).max(),
        None => Some(hello.legacy_version),
    };
    let version = match version {
        Some(0x0304) => "13",
        Some(0x0303) => "12",
        Some(0x0302) => "11",
        Some(0x0301) => "10",
        Some(0x0300) => "s3",
        Some(0x0002) => "s2",
        Some(0xfeff) => "d1",
        Some(0xfefd) => "d2",
        Some(0xfefc) => "d3",
        _ => "00",
    };
    let sni = if hello.has_extension(EXT_SERVER_NAME) {
        'd'
    } else {
        'i'
    };
    let alpn = alpn(hello.alpn.first().map(Vec::as_slice).unwrap_or_default());
    format!(
        "t{version}{sni}{:02}{:02}{alpn}",
        suites.min(99),
        extensions.min(99)
    )
}

/// The first and last characters of the first ALPN value, or of its hex form when either is not
/// an ASCII letter or digit; `00` when there is none.
fn alpn(first: &[u8]) -> String {
    let (Some(&head), Some(&tail)) = (first.first(), first.last()) else {
        return "00".to_owned();
    };
    if head.is_ascii_alphanumeric() && tail.is_ascii_alphanumeric() {
        return [char::from(head), char::from(tail)].iter().collect();
    }
    let hex = format!("{head:02x}{tail:02x}");
    let mut chars = hex.chars();
    [chars.next(), chars.last()].into_iter().flatten().collect()
}

fn without_grease(values: &[u16]) -> Vec<u16> {
    values.iter().copied().filter(|&v| !is_grease(v)).collect()
}

/// Four lowercase hex digits per value, comma separated.
fn hex_list(values: &[u16]) -> String {
    let hex: Vec<String> = values.iter().map(|v| format!("{v:04x}")).collect();
    hex.join(",")
}

/// The first 12 lowercase hex digits of the SHA-256 of `text`.
fn truncated_sha256(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the specification, with the values it lists.
    fn spec_example() -> ClientHello {
        ClientHello {
            legacy_version: 0x0303,
            supported_versions: Some(vec![0x0304, 0x0303]),
            cipher_suites: vec![
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            extensions: vec![
                0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023,
                0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
            ],
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            signature_algorithms: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            ..ClientHello::default()
        }
    }

    #[test]
    fn the_specification_example_gives_its_published_fingerprints() {
        let hello = spec_example();
        assert_eq!(fingerprint(&hello), "t13d1516h2_8daaf6152771_e5627efa2ab1");
        assert_eq!(
            raw(&hello),
            "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,\
             cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,\
             0804,0401,0503,0805,0501,0806,0601"
        );
        assert_eq!(
            raw_original(&hello),
            "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,\
             0035_001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,\
             0015_0403,0804,0401,0503,0805,0501,0806,0601"
        );
        assert_eq!(original(&hello), "t13d1516h2_acb858a92679_18f69afefd3d");
    }

    #[test]
    fn grease_values_change_nothing() {
        let mut hello = spec_example();
        hello.cipher_suites.insert(0, 0x0a0a);
        hello.extensions.insert(0, 0xfafa);
        hello.extensions.push(0x3a3a);
        hello.signature_algorithms.insert(3, 0x5a5a);
        hello.supported_versions = Some(vec![0x7a7a, 0x0304, 0x0303]);
        assert_eq!(fingerprint(&hello), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    #[test]
    fn without_signature_algorithms_the_extension_list_alone_is_hashed() {
        let mut hello = spec_example();
        hello.signature_algorithms.clear();
        assert!(
            fingerprint(&hello).ends_with("_6d807ffa2a79"),
            "{}",
            fingerprint(&hello)
        );
    }

    #[test]
    fn empty_lists_give_twelve_zeros_and_no_sni_gives_i() {
        let hello = ClientHello {
            legacy_version: 0x0301,
            ..ClientHello::default()
        };
        assert_eq!(fingerprint(&hello), "t10i000000_000000000000_000000000000");
        let hello = ClientHello {
            legacy_version: 0x0300,
            ..ClientHello::default()
        };
        assert_eq!(&fingerprint(&hello)[..4], "ts3i");
        let hello = ClientHello {
            legacy_version: 0x1234,
            ..ClientHello::default()
        };
        assert_eq!(&fingerprint(&hello)[..4], "t00i");
    }

    #[test]
    fn alpn_follows_the_specification_examples() {
        let cases: [(&[u8], &str); 11] = [
            (b"h2", "h2"),
            (b"http/1.1", "h1"),
            (b"x", "xx"),
            (b"", "00"),
            (&[0xab], "ab"),
            (&[0x20], "20"),
            (&[0xab, 0xcd], "ad"),
            (&[0x20, 0x61], "21"),
            (&[0x30, 0xab], "3b"),
            (&[0x61, 0x20], "60"),
            (&[0x30, 0x31, 0xab, 0xcd], "3d"),
        ];
        for (value, expected) in cases {
            assert_eq!(alpn(value), expected, "{value:02x?}");
        }
        assert_eq!(alpn(&[0x30, 0xab, 0xcd, 0x31]), "01");
    }

    #[test]
    fn counts_stop_at_99() {
        let hello = ClientHello {
            legacy_version: 0x0303,
            cipher_suites: (1..=150).collect(),
            extensions: (0x0100..0x0200).collect(),
            ..ClientHello::default()
        };
        assert_eq!(&fingerprint(&hello)[..10], "t12i999900");
    }
}
