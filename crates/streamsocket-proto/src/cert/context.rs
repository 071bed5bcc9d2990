//! What each reported certificate problem is about: the certificate concerned and the field that
//! failed (a validity window and the time it was checked at, the names asked for and present, the
//! issuer that was not found, the usage, the CA flag, the signature algorithm, the revocation).
//!
//! [`ChainVerifier`](super::ChainVerifier) fills in one [`ErrorDetail`] per reported class, from
//! its own look at the presented certificates (x509-parser), whether the chain was accepted or
//! not. The values are typed; words appear only in `Display`, which the client's table, its JSON
//! neighbours and its error messages share:
//!
//! ```text
//! Expired: leaf expired 3 days ago (not after 2026-11-28T00:00:00Z)
//! ```

use std::fmt;
use std::net::IpAddr;

use serde::{Serialize, Serializer};

use super::ChainValidationResult;

/// An instant, in seconds since the Unix epoch; serialised and printed as RFC 3339 in UTC.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `secs` seconds after the Unix epoch (negative: before it).
    pub fn from_unix(secs: i64) -> Self {
        Self(secs)
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match x509_parser::time::ASN1Time::from_timestamp(self.0) {
            Ok(time) => {
                let dt = time.to_datetime();
                write!(
                    f,
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                    dt.year(),
                    u8::from(dt.month()),
                    dt.day(),
                    dt.hour(),
                    dt.minute(),
                    dt.second()
                )
            }
            // Outside the years 0 to 9999: no RFC 3339 form, so the number itself.
            Err(_) => write!(f, "@{}", self.0),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Where a certificate sits in the presented chain.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The end-entity certificate, position 0.
    Leaf,
    /// A certificate between the leaf and the last one, or a last one that is not self-issued.
    Intermediate,
    /// The last presented certificate, self-issued.
    Root,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Self::Leaf => "leaf",
            Self::Intermediate => "intermediate",
            Self::Root => "root",
        }
    }
}

/// The presented certificate a problem is about.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct CertificateRef {
    /// Its position in the chain as presented, the leaf at 0.
    pub position: usize,
    /// Leaf, intermediate or root.
    pub role: Role,
    /// Its subject (RFC 4514 style), or `<unparsable>`.
    pub subject: String,
}

impl fmt::Display for CertificateRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.role {
            Role::Leaf => f.write_str("leaf"),
            role => write!(f, "{} {}", role.name(), self.position),
        }
    }
}

/// One reported class and what it is about.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct ErrorDetail {
    /// The class reported.
    pub class: ChainValidationResult,
    /// The certificate concerned (`None` when the problem is a CRL's or no certificate parses).
    pub certificate: Option<CertificateRef>,
    /// The field that failed.
    pub context: ErrorContext,
}

/// The field that failed, per kind of problem.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ErrorContext {
    /// `Expired`: a certificate outside its validity window.
    Validity {
        /// The window's first instant.
        not_before: Timestamp,
        /// The window's last instant.
        not_after: Timestamp,
        /// The time the chain was checked at.
        checked_at: Timestamp,
        /// Seconds from the window's nearer end to `checked_at` (always positive).
        outside_by_secs: u64,
        /// Whether the window has not started yet (otherwise it has ended).
        not_yet_valid: bool,
    },
    /// `InvalidName`: the name asked for against the leaf's subject alternative names.
    Name {
        /// The name asked for (a DNS name, or an IP address in its usual text form).
        asked: String,
        /// Whether the name asked for is an IP address.
        asked_ip: bool,
        /// The leaf's DNS names.
        dns_names: Vec<String>,
        /// The leaf's IP addresses.
        ip_addresses: Vec<IpAddr>,
    },
    /// `Untrusted`, `IncompleteChain`: the issuer of the chain's last certificate was not found.
    Issuer {
        /// The issuer that was not found: the last certificate's issuer name.
        missing_issuer: String,
        /// The last certificate's authority key identifier, lowercase hex, if it has one.
        authority_key_id: Option<String>,
        /// Whether another presented certificate has that subject but did not chain.
        subject_sent_unchained: bool,
        /// Whether the chain ends in a self-signed certificate that is not a trust anchor.
        ends_self_signed: bool,
    },
    /// `WrongUsage`: the certificate's extended key usage.
    Usage {
        /// Whether the certificate has an extended key usage extension.
        eku_present: bool,
        /// The purposes it lists (`serverAuth`, `clientAuth`, ... or a dotted OID).
        purposes: Vec<String>,
    },
    /// `BasicConstraintsError`: the certificate's CA flag against its place in the chain.
    BasicConstraints {
        /// The CA flag (`None`: no basic constraints extension).
        ca: Option<bool>,
        /// Whether the place in the chain needs a CA (it issued a presented certificate).
        needs_ca: bool,
        /// The path length constraint, if any.
        path_len: Option<u32>,
    },
    /// `InvalidSignature`: a signature that does not verify under its issuer's key.
    Signature {
        /// The signature algorithm (`ecdsa-with-SHA256`, ... or a dotted OID).
        algorithm: String,
        /// The issuer name the certificate gives.
        issuer: String,
    },
    /// `Revoked`: a CRL entry.
    Revoked {
        /// The certificate's serial number, lowercase hex.
        serial: String,
        /// When the CRL says it was revoked.
        revoked_at: Timestamp,
        /// The CRL's reason code (`keyCompromise`, ...), if it gives one.
        reason: Option<String>,
    },
    /// `RevocationFailure`: a CRL past its nextUpdate.
    StaleCrl {
        /// The CRL's issuer.
        crl_issuer: String,
        /// Its nextUpdate (`None`: it has none).
        next_update: Option<Timestamp>,
        /// The time the chain was checked at.
        checked_at: Timestamp,
    },
    /// `RevocationInformationMissing`: no CRL of the certificate's issuer was given.
    NoCrl {
        /// The certificate's issuer.
        issuer: String,
    },
    /// `UnknownCriticalExtension`: an extension WebPKI does not know, marked critical.
    Extension {
        /// Its OID, dotted.
        oid: String,
    },
    /// `InvalidCertificateAuthorityPolicy`: a CA's name constraints exclude the leaf's names.
    NameConstraints,
    /// `OtherErrors`, or a class whose certificate the look could not single out: the
    /// certificate concerned, if one is, and nothing more.
    Unspecific,
}

impl fmt::Display for ErrorDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.class)?;
        let who = self
            .certificate
            .as_ref()
            .map_or_else(|| "certificate".to_owned(), ToString::to_string);
        match &self.context {
            ErrorContext::Validity {
                not_after,
                outside_by_secs,
                not_yet_valid: false,
                ..
            } => write!(
                f,
                "{who} expired {} ago (not after {not_after})",
                Span(*outside_by_secs)
            ),
            ErrorContext::Validity {
                not_before,
                outside_by_secs,
                ..
            } => write!(
                f,
                "{who} is not valid for another {} (not before {not_before})",
                Span(*outside_by_secs)
            ),
            ErrorContext::Name {
                asked,
                asked_ip,
                dns_names,
                ip_addresses,
            } => {
                let mut names: Vec<String> = dns_names.iter().map(|n| format!("DNS:{n}")).collect();
                names.extend(ip_addresses.iter().map(|ip| format!("IP:{ip}")));
                let names = if names.is_empty() {
                    "no names".to_owned()
                } else {
                    names.join(", ")
                };
                write!(f, "{who} is for {names}, not {asked}")?;
                if *asked_ip && ip_addresses.is_empty() && !dns_names.is_empty() {
                    f.write_str(" (an IP address was asked for; the leaf has only DNS names)")?;
                } else if !*asked_ip && dns_names.is_empty() && !ip_addresses.is_empty() {
                    f.write_str(" (a DNS name was asked for; the leaf has only IP addresses)")?;
                }
                Ok(())
            }
            ErrorContext::Issuer {
                missing_issuer,
                authority_key_id,
                subject_sent_unchained,
                ends_self_signed,
            } => {
                if *ends_self_signed {
                    write!(
                        f,
                        "chain ends in self-signed {who} ({missing_issuer}), which is not a \
                         trust anchor"
                    )?;
                } else {
                    write!(f, "issuer of {who} not found: {missing_issuer}")?;
                    if let Some(aki) = authority_key_id {
                        write!(f, " (authority key id {aki})")?;
                    }
                }
                if *subject_sent_unchained {
                    f.write_str("; a certificate of that subject was sent but does not chain")?;
                }
                Ok(())
            }
            ErrorContext::Usage {
                eku_present,
                purposes,
            } => {
                if *eku_present && !purposes.is_empty() {
                    write!(
                        f,
                        "{who} is for {}, not serverAuth (extended key usage)",
                        purposes.join(", ")
                    )
                } else if *eku_present {
                    write!(f, "{who} has an empty extended key usage")
                } else {
                    write!(f, "{who} is not usable for serverAuth")
                }
            }
            ErrorContext::BasicConstraints {
                ca,
                needs_ca,
                path_len,
            } => match (ca, needs_ca, path_len) {
                (Some(true), true, Some(limit)) => {
                    write!(
                        f,
                        "{who} allows {limit} CA certificates below it (path length)"
                    )
                }
                (Some(true), false, _) => write!(f, "{who} is a CA (CA:TRUE) used as a leaf"),
                (Some(false), _, _) => {
                    write!(f, "{who} issued a certificate but is not a CA (CA:FALSE)")
                }
                (None, _, _) => {
                    write!(f, "{who} issued a certificate but has no basic constraints")
                }
                (Some(true), true, None) => write!(f, "{who} breaks its basic constraints"),
            },
            ErrorContext::Signature { algorithm, issuer } => write!(
                f,
                "signature of {who} ({algorithm}) does not verify under the key of {issuer}"
            ),
            ErrorContext::Revoked {
                serial,
                revoked_at,
                reason,
            } => {
                write!(f, "{who} (serial {serial}) revoked at {revoked_at}")?;
                if let Some(reason) = reason {
                    write!(f, ", reason {reason}")?;
                }
                Ok(())
            }
            ErrorContext::StaleCrl {
                crl_issuer,
                next_update,
                ..
            } => match next_update {
                Some(next) => write!(f, "CRL of {crl_issuer} is past its next update {next}"),
                None => write!(f, "CRL of {crl_issuer} has no next update"),
            },
            ErrorContext::NoCrl { issuer } => {
                write!(f, "no CRL of {issuer}, the issuer of {who}, was given")
            }
            ErrorContext::Extension { oid } => {
                write!(f, "{who} has an unknown critical extension {oid}")
            }
            ErrorContext::NameConstraints => {
                write!(f, "name constraints of {who} exclude the leaf's names")
            }
            ErrorContext::Unspecific => match &self.certificate {
                Some(cert) => write!(f, "{who} ({})", cert.subject),
                None => f.write_str("no certificate could be read"),
            },
        }
    }
}

/// A duration in seconds, in the largest unit that gives at least 2 of it.
struct Span(u64);

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MINUTE: u64 = 60;
        const HOUR: u64 = 60 * MINUTE;
        const DAY: u64 = 24 * HOUR;
        let secs = self.0;
        let (count, unit) = if secs >= 2 * DAY {
            (secs / DAY, "days")
        } else if secs >= 2 * HOUR {
            (secs / HOUR, "hours")
        } else if secs >= 2 * MINUTE {
            (secs / MINUTE, "minutes")
        } else if secs == 1 {
            (1, "second")
        } else {
            (secs, "seconds")
        };
        write!(f, "{count} {unit}")
    }
}

/// Lowercase hex of `bytes`.
pub(super) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_as_rfc3339_in_utc() {
        assert_eq!(Timestamp::from_unix(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::from_unix(1_609_459_200).to_string(),
            "2021-01-01T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix(1_748_736_000 + 3661).to_string(),
            "2025-06-01T01:01:01Z"
        );
        assert_eq!(
            Timestamp::from_unix(i64::MAX).to_string(),
            format!("@{}", i64::MAX)
        );
        assert_eq!(
            serde_json::to_string(&Timestamp::from_unix(0)).unwrap(),
            "\"1970-01-01T00:00:00Z\""
        );
    }

    #[test]
    fn spans_use_the_largest_unit_that_gives_two() {
        for (secs, text) in [
            (0, "0 seconds"),
            (1, "1 second"),
            (119, "119 seconds"),
            (120, "2 minutes"),
            (7199, "119 minutes"),
            (7200, "2 hours"),
            (2 * 86_400 - 1, "47 hours"),
            (3 * 86_400 + 5, "3 days"),
        ] {
            assert_eq!(Span(secs).to_string(), text, "{secs}");
        }
    }

    #[test]
    fn an_expired_leaf_reads_as_the_issue_asks() {
        let detail = ErrorDetail {
            class: ChainValidationResult::Expired,
            certificate: Some(CertificateRef {
                position: 0,
                role: Role::Leaf,
                subject: "CN=x".into(),
            }),
            context: ErrorContext::Validity {
                not_before: Timestamp::from_unix(1_764_288_000 - 86_400 * 90),
                not_after: Timestamp::from_unix(1_764_288_000),
                checked_at: Timestamp::from_unix(1_764_288_000 + 3 * 86_400 + 100),
                outside_by_secs: 3 * 86_400 + 100,
                not_yet_valid: false,
            },
        };
        assert!(
            detail.to_string()
                == "Expired: leaf expired 3 days ago (not after 2025-11-28T00:00:00Z)",
            "{detail}"
        );
        let json = serde_json::to_value(&detail).unwrap();
        assert_eq!(json["class"], "Expired");
        assert_eq!(json["certificate"]["role"], "leaf");
        assert_eq!(json["context"]["kind"], "validity");
        assert_eq!(json["context"]["not_after"], "2025-11-28T00:00:00Z");
        assert_eq!(json["context"]["outside_by_secs"], 3 * 86_400 + 100);
    }

    fn line(
        class: ChainValidationResult,
        position: Option<usize>,
        context: ErrorContext,
    ) -> String {
        ErrorDetail {
            class,
            certificate: position.map(|position| CertificateRef {
                position,
                role: if position == 0 {
                    Role::Leaf
                } else {
                    Role::Intermediate
                },
                subject: "CN=c".into(),
            }),
            context,
        }
        .to_string()
    }

    #[test]
    fn every_context_has_its_own_words() {
        use ChainValidationResult as R;
        assert_eq!(Timestamp::from_unix(-5).unix(), -5);
        assert_eq!(Timestamp::from_unix(1_609_459_200).unix(), 1_609_459_200);
        let usage = |eku_present, purposes: &[&str]| ErrorContext::Usage {
            eku_present,
            purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
        };
        let ca = |ca, needs_ca, path_len| ErrorContext::BasicConstraints {
            ca,
            needs_ca,
            path_len,
        };
        let issuer = |aki: Option<&str>, unchained, self_signed| ErrorContext::Issuer {
            missing_issuer: "CN=i".into(),
            authority_key_id: aki.map(str::to_owned),
            subject_sent_unchained: unchained,
            ends_self_signed: self_signed,
        };
        let at = Timestamp::from_unix(0);
        for (got, want) in [
            (
                line(
                    R::WrongUsage,
                    Some(0),
                    usage(true, &["clientAuth", "codeSigning"]),
                ),
                "WrongUsage: leaf is for clientAuth, codeSigning, not serverAuth (extended key usage)",
            ),
            (
                line(R::WrongUsage, Some(0), usage(true, &[])),
                "WrongUsage: leaf has an empty extended key usage",
            ),
            (
                line(R::WrongUsage, Some(1), usage(false, &[])),
                "WrongUsage: intermediate 1 is not usable for serverAuth",
            ),
            (
                line(
                    R::BasicConstraintsError,
                    Some(1),
                    ca(Some(true), true, Some(0)),
                ),
                "BasicConstraintsError: intermediate 1 allows 0 CA certificates below it (path length)",
            ),
            (
                line(
                    R::BasicConstraintsError,
                    Some(0),
                    ca(Some(true), false, None),
                ),
                "BasicConstraintsError: leaf is a CA (CA:TRUE) used as a leaf",
            ),
            (
                line(
                    R::BasicConstraintsError,
                    Some(1),
                    ca(Some(false), true, None),
                ),
                "BasicConstraintsError: intermediate 1 issued a certificate but is not a CA (CA:FALSE)",
            ),
            (
                line(R::BasicConstraintsError, Some(1), ca(None, true, None)),
                "BasicConstraintsError: intermediate 1 issued a certificate but has no basic constraints",
            ),
            (
                line(
                    R::BasicConstraintsError,
                    Some(1),
                    ca(Some(true), true, None),
                ),
                "BasicConstraintsError: intermediate 1 breaks its basic constraints",
            ),
            (
                line(
                    R::IncompleteChain,
                    Some(0),
                    issuer(Some("ab"), false, false),
                ),
                "IncompleteChain: issuer of leaf not found: CN=i (authority key id ab)",
            ),
            (
                line(R::IncompleteChain, Some(0), issuer(None, true, false)),
                "IncompleteChain: issuer of leaf not found: CN=i; a certificate of that subject was \
                 sent but does not chain",
            ),
            (
                line(R::Untrusted, Some(0), issuer(Some("ab"), false, true)),
                "Untrusted: chain ends in self-signed leaf (CN=i), which is not a trust anchor",
            ),
            (
                line(
                    R::InvalidSignature,
                    Some(0),
                    ErrorContext::Signature {
                        algorithm: "ed25519".into(),
                        issuer: "CN=i".into(),
                    },
                ),
                "InvalidSignature: signature of leaf (ed25519) does not verify under the key of CN=i",
            ),
            (
                line(
                    R::Revoked,
                    Some(0),
                    ErrorContext::Revoked {
                        serial: "2009".into(),
                        revoked_at: at,
                        reason: None,
                    },
                ),
                "Revoked: leaf (serial 2009) revoked at 1970-01-01T00:00:00Z",
            ),
            (
                line(
                    R::RevocationFailure,
                    None,
                    ErrorContext::StaleCrl {
                        crl_issuer: "CN=i".into(),
                        next_update: None,
                        checked_at: at,
                    },
                ),
                "RevocationFailure: CRL of CN=i has no next update",
            ),
            (
                line(
                    R::RevocationInformationMissing,
                    Some(1),
                    ErrorContext::NoCrl {
                        issuer: "CN=i".into(),
                    },
                ),
                "RevocationInformationMissing: no CRL of CN=i, the issuer of intermediate 1, was given",
            ),
            (
                line(
                    R::UnknownCriticalExtension,
                    Some(0),
                    ErrorContext::Extension {
                        oid: "1.2.3".into(),
                    },
                ),
                "UnknownCriticalExtension: leaf has an unknown critical extension 1.2.3",
            ),
            (
                line(
                    R::InvalidCertificateAuthorityPolicy,
                    Some(1),
                    ErrorContext::NameConstraints,
                ),
                "InvalidCertificateAuthorityPolicy: name constraints of intermediate 1 exclude the \
                 leaf's names",
            ),
            (
                line(R::OtherErrors, Some(0), ErrorContext::Unspecific),
                "OtherErrors: leaf (CN=c)",
            ),
            (
                line(R::OtherErrors, None, ErrorContext::Unspecific),
                "OtherErrors: no certificate could be read",
            ),
        ] {
            assert_eq!(got, want);
        }
        assert_eq!(hex(&[0x00, 0xab, 0x10]), "00ab10");
    }

    #[test]
    fn a_name_mismatch_says_when_the_kinds_differ() {
        let name = |asked: &str, asked_ip, dns: &[&str], ips: &[IpAddr]| {
            ErrorDetail {
                class: ChainValidationResult::InvalidName,
                certificate: None,
                context: ErrorContext::Name {
                    asked: asked.into(),
                    asked_ip,
                    dns_names: dns.iter().map(|n| (*n).to_owned()).collect(),
                    ip_addresses: ips.to_vec(),
                },
            }
            .to_string()
        };
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(name("127.0.0.1", true, &["a.test"], &[]).contains("only DNS names"));
        assert!(name("a.test", false, &[], &[ip]).contains("only IP addresses"));
        // An IP asked for with both kinds present, or with no names at all: no kind note.
        assert_eq!(
            name("127.0.0.2", true, &["a.test"], &[ip]),
            "InvalidName: certificate is for DNS:a.test, IP:127.0.0.1, not 127.0.0.2"
        );
        assert_eq!(
            name("127.0.0.2", true, &[], &[]),
            "InvalidName: certificate is for no names, not 127.0.0.2"
        );
        assert_eq!(
            name("127.0.0.2", true, &[], &[ip]),
            "InvalidName: certificate is for IP:127.0.0.1, not 127.0.0.2"
        );
        assert_eq!(
            name("b.test", false, &["a.test"], &[]),
            "InvalidName: certificate is for DNS:a.test, not b.test"
        );
        let both = name("b.test", false, &["a.test"], &[ip]);
        assert_eq!(
            both,
            "InvalidName: certificate is for DNS:a.test, IP:127.0.0.1, not b.test"
        );
    }
}
