//! The context of each reported class: which presented certificate it is about and what of it
//! failed, from an independent look at the certificates (x509-parser) with the same rules as
//! [`ChainVerifier::diagnose`].

use std::net::IpAddr;

use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};

use super::{
    ChainVerifier, MAX_CHAIN, der_contents, eku_allows_server_auth, is_self_issued, public_key,
    unix_secs, unknown_critical_extension, valid_at, violates_name_constraints, window,
};
use crate::cert::ChainValidationResult;
use crate::cert::context::{CertificateRef, ErrorContext, ErrorDetail, Role, Timestamp, hex};

/// The presented certificates, parsed once for every class explained.
pub(super) struct Look<'a> {
    parsed: Vec<Option<X509Certificate<'a>>>,
    now: i64,
}

impl<'a> Look<'a> {
    pub(super) fn new(
        end_entity: &'a CertificateDer<'_>,
        intermediates: &'a [CertificateDer<'_>],
        now: UnixTime,
    ) -> Self {
        let parsed = std::iter::once(end_entity)
            .chain(intermediates)
            .take(MAX_CHAIN)
            .map(|der| {
                x509_parser::parse_x509_certificate(der.as_ref())
                    .ok()
                    .map(|(_, c)| c)
            })
            .collect();
        Self {
            parsed,
            now: unix_secs(now),
        }
    }

    fn reference(&self, position: usize) -> CertificateRef {
        let cert = self.parsed.get(position).and_then(Option::as_ref);
        let last = position + 1 == self.parsed.len();
        let role = match cert {
            _ if position == 0 => Role::Leaf,
            Some(cert) if last && is_self_issued(cert) => Role::Root,
            _ => Role::Intermediate,
        };
        CertificateRef {
            position,
            role,
            subject: cert.map_or_else(|| "<unparsable>".to_owned(), |c| c.subject().to_string()),
        }
    }

    /// The position of the first parsed certificate for which `test` holds.
    fn first(&self, test: impl Fn(usize, &X509Certificate<'a>) -> bool) -> Option<usize> {
        self.parsed
            .iter()
            .enumerate()
            .find_map(|(i, cert)| cert.as_ref().filter(|c| test(i, c)).map(|_| i))
    }

    fn cert(&self, position: usize) -> Option<&X509Certificate<'a>> {
        self.parsed.get(position).and_then(Option::as_ref)
    }
}

impl ChainVerifier {
    /// One detail per class of `classes`, in their order.
    pub(super) fn explain(
        &self,
        look: &Look<'_>,
        server_name: &ServerName<'_>,
        classes: &[ChainValidationResult],
    ) -> Vec<ErrorDetail> {
        classes
            .iter()
            .map(|&class| self.explain_one(look, server_name, class))
            .collect()
    }

    fn explain_one(
        &self,
        look: &Look<'_>,
        server_name: &ServerName<'_>,
        class: ChainValidationResult,
    ) -> ErrorDetail {
        use ChainValidationResult as R;
        let found = match class {
            R::Expired => self.validity(look),
            R::InvalidName => Some((0, name(look.cert(0), server_name))),
            R::Untrusted | R::IncompleteChain => self.issuer(look),
            R::WrongUsage => usage(look),
            R::BasicConstraintsError => basic_constraints(look),
            R::InvalidSignature => self.signature(look),
            R::Revoked => self.revoked(look),
            R::RevocationFailure => return self.stale_crl(look, class),
            R::RevocationInformationMissing => self.no_crl(look),
            R::UnknownCriticalExtension => extension(look),
            R::InvalidCertificateAuthorityPolicy => look
                .first(|i, cert| i > 0 && violates_name_constraints(cert, look.cert(0)))
                .map(|i| (i, ErrorContext::NameConstraints)),
            R::OtherErrors | R::Success => look
                .parsed
                .iter()
                .position(Option::is_none)
                .map(|i| (i, ErrorContext::Unspecific)),
        };
        let (position, context) = found.unwrap_or((0, ErrorContext::Unspecific));
        ErrorDetail {
            class,
            certificate: (!look.parsed.is_empty()).then(|| look.reference(position)),
            context,
        }
    }

    fn validity(&self, look: &Look<'_>) -> Option<(usize, ErrorContext)> {
        let position = look.first(|_, cert| !valid_at(cert, look.now))?;
        let (not_before, not_after) = window(look.cert(position)?);
        let not_yet_valid = look.now < not_before;
        let outside_by = if not_yet_valid {
            not_before.saturating_sub(look.now)
        } else {
            look.now.saturating_sub(not_after)
        };
        Some((
            position,
            ErrorContext::Validity {
                not_before: Timestamp::from_unix(not_before),
                not_after: Timestamp::from_unix(not_after),
                checked_at: Timestamp::from_unix(look.now),
                outside_by_secs: u64::try_from(outside_by).unwrap_or(0),
                not_yet_valid,
            },
        ))
    }

    fn issuer(&self, look: &Look<'_>) -> Option<(usize, ErrorContext)> {
        let position = look.parsed.len().checked_sub(1)?;
        let top = look.cert(position)?;
        let issuer = top.issuer();
        let issuer_contents = der_contents(issuer.as_raw());
        let subject_sent_unchained = look.parsed.iter().enumerate().any(|(i, other)| {
            i != position
                && other
                    .as_ref()
                    .is_some_and(|o| der_contents(o.subject().as_raw()) == issuer_contents)
        });
        let spki = der_contents(top.public_key().raw);
        let is_anchor = self
            .roots
            .iter()
            .any(|root| Some(root.subject_public_key_info.as_ref()) == spki);
        let ends_self_signed =
            is_self_issued(top) && !is_anchor && self.signed_by_key(top, public_key(top));
        let authority_key_id = top
            .iter_extensions()
            .find_map(|ext| match ext.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    aki.key_identifier.as_ref().map(|id| hex(id.0))
                }
                _ => None,
            });
        Some((
            position,
            ErrorContext::Issuer {
                missing_issuer: issuer.to_string(),
                authority_key_id,
                subject_sent_unchained,
                ends_self_signed,
            },
        ))
    }

    fn signature(&self, look: &Look<'_>) -> Option<(usize, ErrorContext)> {
        let position = look.first(|_, cert| {
            let issuer = der_contents(cert.issuer().as_raw());
            let mut keys: Vec<&[u8]> = look
                .parsed
                .iter()
                .flatten()
                .filter(|other| der_contents(other.subject().as_raw()) == issuer)
                .map(public_key)
                .collect();
            keys.extend(
                self.roots
                    .iter()
                    .filter(|root| Some(root.subject.as_ref()) == issuer)
                    .filter_map(super::anchor_public_key),
            );
            !keys.is_empty() && !keys.iter().any(|key| self.signed_by_key(cert, key))
        })?;
        let cert = look.cert(position)?;
        let oid = &cert.signature_algorithm.algorithm;
        let algorithm = x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
            .map_or_else(|_| oid.to_id_string(), ToOwned::to_owned);
        Some((
            position,
            ErrorContext::Signature {
                algorithm,
                issuer: cert.issuer().to_string(),
            },
        ))
    }

    fn revoked(&self, look: &Look<'_>) -> Option<(usize, ErrorContext)> {
        look.parsed.iter().enumerate().find_map(|(i, cert)| {
            let cert = cert.as_ref()?;
            let issuer = der_contents(cert.issuer().as_raw()).unwrap_or_default();
            let entry = self
                .crls_by(issuer)
                .find_map(|crl| crl.entry(cert.raw_serial()))?;
            Some((
                i,
                ErrorContext::Revoked {
                    serial: hex(cert.raw_serial()),
                    revoked_at: Timestamp::from_unix(entry.revoked_at),
                    reason: entry.reason.map(reason_name),
                },
            ))
        })
    }

    fn stale_crl(&self, look: &Look<'_>, class: ChainValidationResult) -> ErrorDetail {
        // The CRL of the first presented certificate's issuer that is stale, or any stale one.
        let issuers: Vec<&[u8]> = look
            .parsed
            .iter()
            .flatten()
            .filter_map(|cert| der_contents(cert.issuer().as_raw()))
            .collect();
        let stale = issuers
            .iter()
            .find_map(|issuer| self.crls_by(issuer).find(|crl| crl.stale_at(look.now)))
            .or_else(|| self.crl_meta.iter().find(|crl| crl.stale_at(look.now)));
        let position = stale.and_then(|crl| {
            look.first(|_, cert| der_contents(cert.issuer().as_raw()) == Some(&crl.issuer))
        });
        ErrorDetail {
            class,
            certificate: position.map(|i| look.reference(i)),
            context: match stale {
                Some(crl) => ErrorContext::StaleCrl {
                    crl_issuer: crl.issuer_name.clone(),
                    next_update: crl.next_update.map(Timestamp::from_unix),
                    checked_at: Timestamp::from_unix(look.now),
                },
                None => ErrorContext::Unspecific,
            },
        }
    }

    fn no_crl(&self, look: &Look<'_>) -> Option<(usize, ErrorContext)> {
        let position = look.first(|_, cert| {
            !is_self_issued(cert)
                && self
                    .crls_by(der_contents(cert.issuer().as_raw()).unwrap_or_default())
                    .next()
                    .is_none()
        })?;
        let cert = look.cert(position)?;
        Some((
            position,
            ErrorContext::NoCrl {
                issuer: cert.issuer().to_string(),
            },
        ))
    }
}

fn name(leaf: Option<&X509Certificate<'_>>, server_name: &ServerName<'_>) -> ErrorContext {
    let (asked, asked_ip) = match server_name {
        ServerName::DnsName(dns) => (dns.as_ref().to_owned(), false),
        ServerName::IpAddress(ip) => (IpAddr::from(*ip).to_string(), true),
        // `ServerName` is non-exhaustive.
        _ => (String::new(), false),
    };
    let mut dns_names = Vec::new();
    let mut ip_addresses = Vec::new();
    if let Some(Ok(Some(san))) = leaf.map(|leaf| leaf.subject_alternative_name()) {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => dns_names.push((*dns).to_owned()),
                GeneralName::IPAddress(bytes) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(&bytes[..]) {
                        ip_addresses.push(IpAddr::from(v4));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(&bytes[..]) {
                        ip_addresses.push(IpAddr::from(v6));
                    }
                }
                _ => {}
            }
        }
    }
    ErrorContext::Name {
        asked,
        asked_ip,
        dns_names,
        ip_addresses,
    }
}

fn usage(look: &Look<'_>) -> Option<(usize, ErrorContext)> {
    let position = look.first(|_, cert| !eku_allows_server_auth(cert))?;
    let cert = look.cert(position)?;
    let (eku_present, purposes) = match cert.extended_key_usage() {
        Ok(Some(eku)) => {
            let eku = eku.value;
            let mut purposes = Vec::new();
            for (set, name) in [
                (eku.any, "any"),
                (eku.server_auth, "serverAuth"),
                (eku.client_auth, "clientAuth"),
                (eku.code_signing, "codeSigning"),
                (eku.email_protection, "emailProtection"),
                (eku.time_stamping, "timeStamping"),
                (eku.ocsp_signing, "OCSPSigning"),
            ] {
                if set {
                    purposes.push(name.to_owned());
                }
            }
            purposes.extend(eku.other.iter().map(|oid| oid.to_id_string()));
            (true, purposes)
        }
        // A malformed extension is present but lists nothing readable.
        Ok(None) => (false, Vec::new()),
        Err(_) => (true, Vec::new()),
    };
    Some((
        position,
        ErrorContext::Usage {
            eku_present,
            purposes,
        },
    ))
}

fn basic_constraints(look: &Look<'_>) -> Option<(usize, ErrorContext)> {
    // The same rule as `diagnose`: the leaf must not be a CA; every other certificate must be
    // one whose path length allows the certificates below it.
    let position = look.first(|i, cert| {
        let bc = cert.basic_constraints().ok().flatten();
        match (i, bc) {
            (0, Some(bc)) => bc.value.ca,
            (0, None) => false,
            (_, Some(bc)) if bc.value.ca => bc
                .value
                .path_len_constraint
                .is_some_and(|limit| i - 1 > limit as usize),
            (_, _) => true,
        }
    })?;
    let bc = look
        .cert(position)?
        .basic_constraints()
        .ok()
        .flatten()
        .map(|bc| bc.value);
    Some((
        position,
        ErrorContext::BasicConstraints {
            ca: bc.map(|bc| bc.ca),
            needs_ca: position > 0,
            path_len: bc.and_then(|bc| bc.path_len_constraint),
        },
    ))
}

fn extension(look: &Look<'_>) -> Option<(usize, ErrorContext)> {
    let position = look.first(|_, cert| unknown_critical_extension(cert))?;
    let oid = look.cert(position)?.extensions().iter().find_map(|ext| {
        let oid = ext.oid.to_id_string();
        (ext.critical && !super::KNOWN_EXTENSIONS.contains(&oid.as_str())).then_some(oid)
    })?;
    Some((position, ErrorContext::Extension { oid }))
}

/// The RFC 5280 name of a CRL reason code.
fn reason_name(code: u8) -> String {
    let name = match code {
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        other => return format!("reason {other}"),
    };
    name.to_owned()
}
