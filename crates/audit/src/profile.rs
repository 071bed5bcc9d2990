//! The client profile: what the audited client offers in its ClientHello, once per run.
//!
//! Read from the first ClientHello the mock servers kept (in catalogue order) with layer 1's
//! parser: versions, cipher suites with the weak ones flagged, groups, signature schemes, the
//! SNI sent and whether it is the name the certificates are issued for, ALPN, extensions, and
//! the JA4 fingerprint. Values are kept as code points; names (rustls's for suites, groups and
//! schemes, the IANA version names) are only added for the report.

use std::fmt::{self, Write as _};

use mockserver::stats::Transcript;
use proto::hello::{self, ClientHello, HelloError, Weakness, ja4};
use serde::Serialize;

/// What the client offered, from its first recorded ClientHello.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct ClientProfile {
    /// The case whose connection sent it.
    pub case: String,
    /// That connection's number in the case.
    pub connection: u64,
    /// The versions offered (`supported_versions` without GREASE, else `legacy_version`).
    pub versions: Vec<CodePoint>,
    /// The cipher suites, in the client's order, GREASE left out.
    pub cipher_suites: Vec<Suite>,
    /// The supported groups, GREASE left out.
    pub groups: Vec<CodePoint>,
    /// The signature schemes, GREASE left out.
    pub signature_schemes: Vec<CodePoint>,
    /// The host name sent in SNI.
    pub sni: Option<String>,
    /// Whether the SNI is the name the certificates are issued for.
    pub sni_matches: bool,
    /// The ALPN protocols (lossy UTF-8).
    pub alpn: Vec<String>,
    /// The extension types, in the client's order, GREASE left out.
    pub extensions: Vec<CodePoint>,
    /// Whether the client sends GREASE values (RFC 8701).
    pub grease: bool,
    /// The JA4 fingerprint.
    pub ja4: String,
    /// JA4 with the sorted lists instead of their hashes (`JA4_r`).
    pub ja4_r: String,
}

/// A code point and its registered name, when known.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct CodePoint {
    /// The value, `0x` and four hex digits.
    pub code: String,
    /// Its name, when known.
    pub name: Option<&'static str>,
}

/// A cipher suite, with what makes it weak.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct Suite {
    /// The code point and name.
    #[serde(flatten)]
    pub suite: CodePoint,
    /// Its weaknesses (`NULL`, `EXPORT`, `RC4`, `3DES`, `CBC-SHA1`), empty when none.
    pub weak: Vec<&'static str>,
}

impl CodePoint {
    fn new(value: u16, name: Option<&'static str>) -> Self {
        Self {
            code: format!("{value:#06x}"),
            name,
        }
    }
}

impl fmt::Display for CodePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(name) => f.write_str(name),
            None => f.write_str(&self.code),
        }
    }
}

impl ClientProfile {
    /// The profile of the first ClientHello in `cases` (case id and transcripts, in catalogue
    /// order) that parses; `None` when no case recorded one.
    pub fn first<'a>(
        cases: impl IntoIterator<Item = (&'a str, &'a [Transcript])>,
        certificate_name: &str,
    ) -> Option<Self> {
        cases.into_iter().find_map(|(case, transcripts)| {
            transcripts.iter().find_map(|t| {
                let parsed = parse(t.client_hello.as_deref()?).ok()?;
                Some(Self::of(case, t.id, &parsed, certificate_name))
            })
        })
    }

    /// The profile of one parsed ClientHello.
    pub fn of(case: &str, connection: u64, hello: &ClientHello, certificate_name: &str) -> Self {
        let sni = hello
            .server_name
            .as_deref()
            .map(|n| String::from_utf8_lossy(n).into_owned());
        let sni_matches = sni.as_deref().is_some_and(|n| {
            n.trim_end_matches('.')
                .eq_ignore_ascii_case(certificate_name)
        });
        let versions = hello
            .offered_versions()
            .map(|v| CodePoint::new(v, hello::version_name(v)))
            .collect();
        let cipher_suites = no_grease(&hello.cipher_suites)
            .map(|s| Suite {
                suite: CodePoint::new(s, rustls::CipherSuite::from(s).as_str()),
                weak: hello::weaknesses(s).map(Weakness::name).collect(),
            })
            .collect();
        let groups = no_grease(&hello.supported_groups)
            .map(|g| CodePoint::new(g, rustls::NamedGroup::from(g).as_str()))
            .collect();
        let signature_schemes = no_grease(&hello.signature_algorithms)
            .map(|s| CodePoint::new(s, rustls::SignatureScheme::from(s).as_str()))
            .collect();
        let extensions = no_grease(&hello.extensions)
            .map(|e| CodePoint::new(e, extension_name(e)))
            .collect();
        let grease = [
            &hello.cipher_suites,
            &hello.extensions,
            &hello.supported_groups,
            &hello.signature_algorithms,
        ]
        .iter()
        .any(|list| list.iter().any(|&v| hello::is_grease(v)));
        Self {
            case: case.to_owned(),
            connection,
            versions,
            cipher_suites,
            groups,
            signature_schemes,
            sni,
            sni_matches,
            alpn: hello
                .alpn
                .iter()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect(),
            extensions,
            grease,
            ja4: ja4::fingerprint(hello),
            ja4_r: ja4::raw(hello),
        }
    }

    /// The suites with at least one weakness.
    pub fn weak_suites(&self) -> impl Iterator<Item = &Suite> {
        self.cipher_suites.iter().filter(|s| !s.weak.is_empty())
    }

    /// The short terminal block.
    pub fn block(&self) -> String {
        let join = |items: &[CodePoint]| {
            if items.is_empty() {
                return "none".to_owned();
            }
            let names: Vec<String> = items.iter().map(ToString::to_string).collect();
            names.join(", ")
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "client profile (from case {}, connection {}):",
            self.case, self.connection
        );
        let _ = writeln!(out, "  versions    {}", join(&self.versions));
        let weak: Vec<String> = self
            .weak_suites()
            .map(|s| format!("{} ({})", s.suite, s.weak.join(", ")))
            .collect();
        let weak = if weak.is_empty() {
            "none weak".to_owned()
        } else {
            format!("weak: {}", weak.join("; "))
        };
        let _ = writeln!(
            out,
            "  suites      {} offered, {weak}",
            self.cipher_suites.len()
        );
        let _ = writeln!(out, "  groups      {}", join(&self.groups));
        let _ = writeln!(out, "  signatures  {}", join(&self.signature_schemes));
        let sni = match (&self.sni, self.sni_matches) {
            (None, _) => "none sent".to_owned(),
            (Some(name), true) => format!("{name} (the certificate's name)"),
            (Some(name), false) => format!("{name} (NOT the certificate's name)"),
        };
        let _ = writeln!(out, "  sni         {sni}");
        let alpn = if self.alpn.is_empty() {
            "none".to_owned()
        } else {
            self.alpn.join(", ")
        };
        let _ = writeln!(out, "  alpn        {alpn}");
        let _ = writeln!(out, "  extensions  {}", join(&self.extensions));
        let _ = writeln!(out, "  ja4         {}", self.ja4);
        out
    }
}

fn parse(bytes: &[u8]) -> Result<ClientHello, HelloError> {
    hello::parse(bytes)
}

fn no_grease(values: &[u16]) -> impl Iterator<Item = u16> + '_ {
    values.iter().copied().filter(|&v| !hello::is_grease(v))
}

/// Names from the IANA "TLS ExtensionType Values" registry, for the extensions clients send.
fn extension_name(extension: u16) -> Option<&'static str> {
    Some(match extension {
        0 => "server_name",
        1 => "max_fragment_length",
        5 => "status_request",
        10 => "supported_groups",
        11 => "ec_point_formats",
        13 => "signature_algorithms",
        15 => "heartbeat",
        16 => "application_layer_protocol_negotiation",
        18 => "signed_certificate_timestamp",
        21 => "padding",
        22 => "encrypt_then_mac",
        23 => "extended_master_secret",
        27 => "compress_certificate",
        28 => "record_size_limit",
        35 => "session_ticket",
        41 => "pre_shared_key",
        42 => "early_data",
        43 => "supported_versions",
        44 => "cookie",
        45 => "psk_key_exchange_modes",
        47 => "certificate_authorities",
        49 => "post_handshake_auth",
        50 => "signature_algorithms_cert",
        51 => "key_share",
        57 => "quic_transport_parameters",
        0xfe0d => "encrypted_client_hello",
        0xff01 => "renegotiation_info",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> ClientHello {
        let mut hello = ClientHello::default();
        hello.legacy_version = 0x0303;
        hello.supported_versions = Some(vec![0x1a1a, 0x0304, 0x0303]);
        hello.cipher_suites = vec![0x2a2a, 0x1301, 0xc013, 0x000a, 0x0005];
        hello.extensions = vec![0x0000, 0x000a, 0x000d, 0x002b, 0x0010];
        hello.server_name = Some(b"mock.streamsocket.test".to_vec());
        hello.alpn = vec![b"smtp".to_vec()];
        hello.supported_groups = vec![0x001d, 0x0017];
        hello.signature_algorithms = vec![0x0403, 0x0804];
        hello
    }

    #[test]
    fn a_profile_names_what_was_offered_and_flags_weak_suites() {
        let profile = ClientProfile::of("smtp-valid", 0, &hello(), testpki::TEST_HOST);
        let names = |items: &[CodePoint]| items.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(names(&profile.versions), ["TLS 1.3", "TLS 1.2"]);
        assert_eq!(profile.cipher_suites.len(), 4, "GREASE left out");
        let weak: Vec<(String, Vec<&str>)> = profile
            .weak_suites()
            .map(|s| (s.suite.to_string(), s.weak.clone()))
            .collect();
        assert_eq!(
            weak,
            [
                (
                    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA".to_owned(),
                    vec!["CBC-SHA1"]
                ),
                (
                    "TLS_RSA_WITH_3DES_EDE_CBC_SHA".to_owned(),
                    vec!["3DES", "CBC-SHA1"]
                ),
                ("TLS_RSA_WITH_RC4_128_SHA".to_owned(), vec!["RC4"]),
            ]
        );
        assert_eq!(names(&profile.groups), ["X25519", "secp256r1"]);
        assert_eq!(
            names(&profile.signature_schemes),
            ["ECDSA_NISTP256_SHA256", "RSA_PSS_SHA256"]
        );
        assert!(profile.sni_matches);
        assert!(profile.grease);
        assert!(profile.ja4.starts_with("t13d0405sp_"), "{}", profile.ja4);
        let block = profile.block();
        assert!(
            block.contains("weak: TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA (CBC-SHA1)"),
            "{block}"
        );
        assert!(
            block.contains("mock.streamsocket.test (the certificate's name)"),
            "{block}"
        );
    }

    #[test]
    fn another_name_or_none_is_said_so() {
        let mut other = hello();
        other.server_name = Some(b"localhost".to_vec());
        let profile = ClientProfile::of("c", 0, &other, testpki::TEST_HOST);
        assert!(!profile.sni_matches);
        assert!(
            profile
                .block()
                .contains("localhost (NOT the certificate's name)")
        );
        other.server_name = None;
        let profile = ClientProfile::of("c", 0, &other, testpki::TEST_HOST);
        assert!(
            profile.block().contains("sni         none sent"),
            "{}",
            profile.block()
        );
    }

    #[test]
    fn the_first_parsable_client_hello_of_the_run_is_profiled() {
        let transcript = |id, client_hello: Option<&[u8]>| Transcript {
            id,
            chunks: Vec::new(),
            dropped_bytes: 0,
            end: None,
            upgraded: true,
            handshake_completed: false,
            client_hello: client_hello.map(<[u8]>::to_vec),
        };
        let record = hex_record();
        let none = [transcript(0, None), transcript(1, Some(b"\x16\x03\x01"))];
        let some = [transcript(0, None), transcript(3, Some(&record))];
        let cases = [("first", &none[..]), ("second", &some[..])];
        let profile = ClientProfile::first(cases, testpki::TEST_HOST).expect("a profile");
        assert_eq!((profile.case.as_str(), profile.connection), ("second", 3));
        assert_eq!(
            ClientProfile::first([("first", &none[..])], testpki::TEST_HOST),
            None
        );
    }

    /// A minimal TLS 1.2 ClientHello record without extensions.
    fn hex_record() -> Vec<u8> {
        let mut body = vec![0x03, 0x03];
        body.extend_from_slice(&[0; 32]);
        body.extend_from_slice(&[0, 0, 2, 0xc0, 0x2f, 1, 0]);
        let mut record = vec![
            0x16,
            3,
            1,
            0,
            body.len() as u8 + 4,
            1,
            0,
            0,
            body.len() as u8,
        ];
        record.extend_from_slice(&body);
        record
    }
}
