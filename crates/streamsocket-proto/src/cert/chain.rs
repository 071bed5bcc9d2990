//! Server-chain verification with an ignore-list that fails closed.
//!
//! A chain is accepted only when WebPKI verifies every signature up to a trust anchor with
//! exactly the ignored checks relaxed, and nothing else. Each ignorable class has one sound
//! relaxation:
//!
//! | ignored class | relaxation |
//! |---|---|
//! | `Expired` | WebPKI runs at a time inside every presented certificate's validity window (no such time: refused) |
//! | `Untrusted`, `IncompleteChain` | the presented chain's last certificate becomes a trust anchor for this one verification; its own validity, basic constraints, usage, extensions, self-signature and revocation are still checked |
//! | `WrongUsage` | any extended key usage is accepted |
//! | `InvalidName` | the name check is skipped |
//! | `RevocationInformationMissing` | a certificate without an authoritative CRL is let through (a revoked one never is) |
//! | `RevocationFailure` | an expired CRL is still used (its revocations still count) |
//!
//! `Untrusted` and `IncompleteChain` share a relaxation: which of the two it stands for is decided
//! by the chain (a presented chain that ends in a self-issued certificate is untrusted; one that
//! ends in a certificate whose issuer was not sent is incomplete).
//!
//! Every other class has no sound relaxation and is fatal (see
//! [`ChainValidationResult::severity`]).
//!
//! The reported classes are answers to the same questions: with every relaxation applied, which
//! ones can be taken away again (a needed relaxation is a problem of the chain), and, when even
//! that fails, what WebPKI and an independent look at each certificate find. So the report and the
//! decision never disagree: an accepted chain reports only ignored classes, a refused one at least
//! one class that was not ignored or could not be relaxed.
//!
//! The module is pure: time comes in as a parameter, and nothing here touches a socket.

use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::fmt;

use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, ServerName, SignatureVerificationAlgorithm,
    TrustAnchor, UnixTime,
};
use webpki::{
    CertRevocationList, EndEntityCert, ExpirationPolicy, ExtendedKeyUsageValidator,
    KeyPurposeIdIter, KeyUsage, RevocationCheckDepth, UnknownStatusPolicy, VerifiedPath,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use super::context::ErrorDetail;
use super::pin::SpkiPin;
use super::{ChainValidationResult, SocketSslErrorSeverity, classify_webpki};

mod explain;

/// The most certificates of a presented chain that are looked at; rustls bounds the message, this
/// bounds the work (each relaxation set is one WebPKI run per candidate time).
const MAX_CHAIN: usize = 8;

/// A chain verifier: trust anchors, CRLs, signature algorithms and the classes the caller chose
/// to ignore.
pub struct ChainVerifier {
    roots: Vec<TrustAnchor<'static>>,
    crls: Vec<CertRevocationList<'static>>,
    /// Issuer (DER contents of the Name) and nextUpdate of each CRL, parsed once.
    crl_meta: Vec<CrlMeta>,
    algorithms: &'static [&'static dyn SignatureVerificationAlgorithm],
    ignored: BTreeSet<ChainValidationResult>,
    /// The leaf keys accepted; empty: any key that validates.
    pins: Vec<SpkiPin>,
}

struct CrlMeta {
    issuer: Vec<u8>,
    /// The issuer as text, for the report.
    issuer_name: String,
    next_update: Option<i64>,
    entries: Vec<CrlEntry>,
}

/// One revoked certificate of a CRL.
struct CrlEntry {
    serial: Vec<u8>,
    /// The revocationDate, in Unix seconds.
    revoked_at: i64,
    /// The reasonCode extension, if present.
    reason: Option<u8>,
}

impl CrlMeta {
    /// Whether the CRL lists this serial number as revoked.
    fn lists(&self, serial: &[u8]) -> bool {
        self.entry(serial).is_some()
    }

    /// The CRL's entry for this serial number.
    fn entry(&self, serial: &[u8]) -> Option<&CrlEntry> {
        self.entries.iter().find(|entry| entry.serial == serial)
    }

    /// Whether the CRL is past its nextUpdate (or has none) at `now`, in Unix seconds.
    fn stale_at(&self, now: i64) -> bool {
        self.next_update.is_none_or(|next| next <= now)
    }
}

/// What verifying one chain found.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Verdict {
    /// Every problem found, sorted by WinRT value, without duplicates.
    pub errors: Vec<ChainValidationResult>,
    /// What each of `errors` is about, in the same order.
    pub details: Vec<ErrorDetail>,
    /// Why the chain was refused: the problems not ignored or, when every problem found was
    /// ignored but no sound relaxation of them lets WebPKI succeed, the class that could not be
    /// relaxed. Empty when the chain is accepted.
    pub blocking: Vec<ChainValidationResult>,
    /// Pins were set and the leaf's key matches none of them: refused whatever the classes.
    pub pin_mismatch: Option<PinMismatch>,
}

impl Verdict {
    /// Whether the chain is accepted: nothing blocks it and no pin was missed.
    pub fn accepted(&self) -> bool {
        self.blocking.is_empty() && self.pin_mismatch.is_none()
    }
}

/// The leaf's key is not one of the pinned keys.
#[derive(Clone, Debug, Eq, PartialEq, serde::Serialize)]
pub struct PinMismatch {
    /// The pin of the leaf's key (`None`: the leaf does not parse).
    pub leaf: Option<SpkiPin>,
    /// The pins that were set.
    pub pinned: Vec<SpkiPin>,
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.leaf {
            Some(leaf) => write!(f, "the server's key sha256/{leaf} is not pinned")?,
            None => f.write_str("the server's key cannot be read, so it matches no pin")?,
        }
        f.write_str(" (pinned:")?;
        for pin in &self.pinned {
            write!(f, " sha256/{pin}")?;
        }
        f.write_str(")")
    }
}

/// A configuration the verifier cannot use.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub enum ChainVerifierError {
    /// A class with no sound relaxation (or `Success`) was listed as ignorable.
    #[error("{0} cannot be ignored (only ignorable certificate errors can)")]
    NotIgnorable(ChainValidationResult),
    /// A CRL does not parse.
    #[error("a CRL does not parse: {0}")]
    BadCrl(String),
}

impl ChainVerifier {
    /// A verifier over `roots` and `crls` that ignores exactly `ignored`.
    ///
    /// Listing a class whose severity is not `Ignorable` is an error.
    pub fn new(
        roots: Vec<TrustAnchor<'static>>,
        crls: &[CertificateRevocationListDer<'_>],
        algorithms: &'static [&'static dyn SignatureVerificationAlgorithm],
        ignored: &[ChainValidationResult],
    ) -> Result<Self, ChainVerifierError> {
        for class in ignored {
            if class.severity() != SocketSslErrorSeverity::Ignorable {
                return Err(ChainVerifierError::NotIgnorable(*class));
            }
        }
        let mut parsed = Vec::with_capacity(crls.len());
        let mut crl_meta = Vec::with_capacity(crls.len());
        for der in crls {
            let crl = webpki::OwnedCertRevocationList::from_der(der.as_ref())
                .map_err(|err| ChainVerifierError::BadCrl(format!("{err:?}")))?;
            let (_, x509) = x509_parser::parse_x509_crl(der.as_ref())
                .map_err(|err| ChainVerifierError::BadCrl(err.to_string()))?;
            crl_meta.push(CrlMeta {
                issuer: der_contents(x509.issuer().as_raw())
                    .unwrap_or_default()
                    .to_vec(),
                issuer_name: x509.issuer().to_string(),
                next_update: x509.next_update().map(|t| t.timestamp()),
                entries: x509
                    .iter_revoked_certificates()
                    .map(|revoked| CrlEntry {
                        serial: revoked.raw_serial().to_vec(),
                        revoked_at: revoked.revocation_date.timestamp(),
                        reason: revoked.reason_code().map(|(_, code)| code.0),
                    })
                    .collect(),
            });
            parsed.push(CertRevocationList::from(crl));
        }
        Ok(Self {
            roots,
            crls: parsed,
            crl_meta,
            algorithms,
            ignored: ignored.iter().copied().collect(),
            pins: Vec::new(),
        })
    }

    /// The same verifier, accepting only a leaf whose key is one of `pins` (the SHA-256 of its
    /// SubjectPublicKeyInfo); no pins: any key.
    ///
    /// A leaf whose key matches no pin is refused whatever the ignore-list says
    /// ([`Verdict::pin_mismatch`]). A matching key does not stand in for validation: every class
    /// not ignored still refuses the chain, as with HTTP public-key pinning (RFC 7469). The
    /// pins make an ignore-list safe for a self-signed server: ignoring `Untrusted` then lets
    /// through only the key that was checked beforehand. That the server holds the key is shown
    /// by its handshake signature, which the caller checks against the same leaf.
    pub fn with_pins(mut self, pins: &[SpkiPin]) -> Self {
        self.pins = pins.to_vec();
        self
    }

    /// The pins set with [`ChainVerifier::with_pins`].
    pub fn pins(&self) -> &[SpkiPin] {
        &self.pins
    }

    /// The classes this verifier ignores.
    pub fn ignored(&self) -> impl Iterator<Item = ChainValidationResult> + '_ {
        self.ignored.iter().copied()
    }

    /// Verifies `end_entity` and `intermediates` (as presented, leaf first) for `server_name`
    /// at `now`, with the context of every problem found and the pins checked.
    pub fn verify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Verdict {
        let mut verdict = self.classes(end_entity, intermediates, server_name, now);
        if !verdict.errors.is_empty() {
            let look = explain::Look::new(end_entity, intermediates, now);
            verdict.details = self.explain(&look, server_name, &verdict.errors);
        }
        if !self.pins.is_empty() {
            let leaf = SpkiPin::of_certificate(end_entity.as_ref());
            if !leaf.is_some_and(|leaf| self.pins.contains(&leaf)) {
                verdict.pin_mismatch = Some(PinMismatch {
                    leaf,
                    pinned: self.pins.clone(),
                });
            }
        }
        verdict
    }

    /// The classes found and the decision on them, without context or pins.
    fn classes(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Verdict {
        let ee = match EndEntityCert::try_from(end_entity) {
            Ok(ee) => ee,
            Err(err) => {
                let class = classify_webpki(&err);
                let mut errors = vec![class];
                errors.extend(self.diagnose(end_entity, intermediates, server_name, now));
                return self.refused(errors, class);
            }
        };
        let chain = Chain::new(&ee, end_entity, intermediates, server_name, now);
        let Err(strict) = self.attempt(&chain, Relax::NONE) else {
            return Verdict::default();
        };
        let anchor_class = chain.anchor_class();
        let allowed = Relax::from_classes(&self.ignored, anchor_class);
        let decision = if allowed == Relax::NONE {
            Err(strict.clone())
        } else {
            self.attempt(&chain, allowed)
        };
        match decision {
            Ok(()) => {
                // Report the smallest set of ignored relaxations that still succeeds: every
                // problem of the chain's only path is in it.
                let mut needed = allowed;
                for relax in Relax::EACH {
                    if needed.has(relax) && self.attempt(&chain, needed.without(relax)).is_ok() {
                        needed = needed.without(relax);
                    }
                }
                Verdict {
                    errors: sorted(needed.classes(anchor_class)),
                    ..Verdict::default()
                }
            }
            Err(decided) => {
                let mut errors = vec![chain.classify(&strict)];
                match self.attempt(&chain, Relax::ALL) {
                    Ok(()) => {
                        for relax in Relax::EACH {
                            if self.attempt(&chain, Relax::ALL.without(relax)).is_err() {
                                errors.push(relax.class(anchor_class));
                            }
                        }
                    }
                    Err(full) => {
                        errors.push(chain.classify(&full));
                        errors.extend(self.diagnose(end_entity, intermediates, server_name, now));
                    }
                }
                self.refused(errors, chain.classify(&decided))
            }
        }
    }

    fn refused(
        &self,
        errors: Vec<ChainValidationResult>,
        fallback: ChainValidationResult,
    ) -> Verdict {
        let errors = sorted(errors);
        let mut blocking: Vec<_> = errors
            .iter()
            .copied()
            .filter(|class| !self.ignored.contains(class))
            .collect();
        if blocking.is_empty() {
            blocking.push(fallback);
        }
        Verdict {
            errors,
            blocking,
            ..Verdict::default()
        }
    }

    /// One WebPKI verification with the relaxations in `relax` applied.
    fn attempt(&self, chain: &Chain<'_, '_>, relax: Relax) -> Result<(), webpki::Error> {
        if !relax.has(Relax::NAME) {
            chain
                .ee
                .verify_is_valid_for_subject_name(chain.server_name)?;
        }
        let promoted = if relax.has(Relax::ANCHOR) {
            Some(webpki::anchor_from_trusted_cert(chain.top())?)
        } else {
            None
        };
        // The configured anchors are borrowed; only a promotion copies them.
        let anchors: std::borrow::Cow<'_, [TrustAnchor<'_>]> = match &promoted {
            None => std::borrow::Cow::Borrowed(&self.roots),
            Some(anchor) => {
                let mut all = self.roots.clone();
                all.push(anchor.clone());
                std::borrow::Cow::Owned(all)
            }
        };
        // Without the validity relaxation there is one time, the real one (no allocation: this
        // is the path of every handshake).
        let times: std::borrow::Cow<'_, [UnixTime]> = if relax.has(Relax::VALIDITY) {
            std::borrow::Cow::Owned(chain.candidate_times())
        } else {
            std::borrow::Cow::Borrowed(std::slice::from_ref(&chain.now))
        };
        let crl_refs: Vec<&CertRevocationList<'_>> = self.crls.iter().collect();
        let mut last = webpki::Error::CertExpired {
            time: chain.now,
            not_after: chain.now,
        };
        for &time in times.iter() {
            let revocation = webpki::RevocationOptionsBuilder::new(&crl_refs)
                .ok()
                .map(|builder| {
                    builder
                        .with_depth(RevocationCheckDepth::Chain)
                        .with_status_policy(if relax.has(Relax::UNKNOWN_REVOCATION) {
                            UnknownStatusPolicy::Allow
                        } else {
                            UnknownStatusPolicy::Deny
                        })
                        // A CRL's expiry is judged at the real time only (`check_stale_crls`),
                        // never at a time the validity relaxation moved.
                        .with_expiration_policy(
                            if relax.has(Relax::STALE_CRL) || time != chain.now {
                                ExpirationPolicy::Ignore
                            } else {
                                ExpirationPolicy::Enforce
                            },
                        )
                        .build()
                });
            let check_path = |path: &VerifiedPath<'_>| {
                self.check_path(chain, path, promoted.as_ref(), relax, time)
            };
            let result = if relax.has(Relax::USAGE) {
                chain.ee.verify_for_usage(
                    self.algorithms,
                    &anchors,
                    chain.intermediates,
                    time,
                    AnyUsage,
                    revocation,
                    Some(&check_path),
                )
            } else {
                chain.ee.verify_for_usage(
                    self.algorithms,
                    &anchors,
                    chain.intermediates,
                    time,
                    KeyUsage::server_auth(),
                    revocation,
                    Some(&check_path),
                )
            };
            match result {
                Ok(_) => return Ok(()),
                Err(err) => last = err,
            }
            // A leaf sent alone whose issuer is missing: WebPKI cannot start a path, so the leaf
            // promoted to an anchor is judged here, as a promoted intermediate would be.
            if relax.has(Relax::ANCHOR)
                && chain.intermediates.is_empty()
                && chain.anchor_class() == ChainValidationResult::IncompleteChain
            {
                let alone = self
                    .check_stale_crls(chain, std::iter::once(chain.ee.issuer()), relax)
                    .and_then(|()| self.check_promoted(chain, relax, time, None));
                match alone {
                    Ok(()) => return Ok(()),
                    Err(err) => last = err,
                }
            }
        }
        Err(last)
    }

    /// Refuses a path that relies on a CRL past its nextUpdate at the real time, unless expired
    /// CRLs are relaxed. WebPKI checks expiry at the time it runs at, which the validity
    /// relaxation may have moved.
    fn check_stale_crls<'i>(
        &self,
        chain: &Chain<'_, '_>,
        issuers: impl Iterator<Item = &'i [u8]>,
        relax: Relax,
    ) -> Result<(), webpki::Error> {
        if self.crls.is_empty() || relax.has(Relax::STALE_CRL) {
            return Ok(());
        }
        let now = unix_secs(chain.now);
        for issuer in issuers {
            if self.crls_by(issuer).any(|crl| crl.stale_at(now)) {
                return Err(webpki::Error::CrlExpired {
                    time: chain.now,
                    next_update: chain.now,
                });
            }
        }
        Ok(())
    }

    /// What WebPKI does not check on a path that it accepted: the CRLs' expiry at the real time
    /// (WebPKI may have run at another), and everything about a presented certificate that was
    /// promoted to a trust anchor.
    fn check_path(
        &self,
        chain: &Chain<'_, '_>,
        path: &VerifiedPath<'_>,
        promoted: Option<&TrustAnchor<'_>>,
        relax: Relax,
        time: UnixTime,
    ) -> Result<(), webpki::Error> {
        let issuers = std::iter::once(path.end_entity().issuer())
            .chain(path.intermediate_certificates().map(|cert| cert.issuer()));
        self.check_stale_crls(chain, issuers, relax)?;
        let Some(promoted) = promoted else {
            return Ok(());
        };
        let anchor = path.anchor();
        if anchor.subject != promoted.subject
            || anchor.subject_public_key_info != promoted.subject_public_key_info
        {
            return Ok(());
        }
        let below =
            (!chain.intermediates.is_empty()).then(|| path.intermediate_certificates().count());
        self.check_promoted(chain, relax, time, below)
    }

    /// What WebPKI never checks of a trust anchor, checked of the presented certificate that was
    /// promoted to one: its validity, extensions, usage, basic constraints (a CA above `below`
    /// certificates, or an end entity when `below` is `None`), self-signature and revocation.
    fn check_promoted(
        &self,
        chain: &Chain<'_, '_>,
        relax: Relax,
        time: UnixTime,
        below: Option<usize>,
    ) -> Result<(), webpki::Error> {
        let Some(top) = chain.parsed().last().and_then(Option::as_ref) else {
            return Err(webpki::Error::BadDer);
        };
        // The promoted certificate is judged at the same time as the rest of the path.
        if !valid_at(top, unix_secs(time)) {
            return Err(webpki::Error::CertExpired {
                time,
                not_after: time,
            });
        }
        if unknown_critical_extension(top) {
            return Err(webpki::Error::UnsupportedCriticalExtension);
        }
        if !relax.has(Relax::USAGE) && !eku_allows_server_auth(top) {
            // Classified as WrongUsage, like the EKU errors WebPKI gives.
            return Err(webpki::Error::EmptyEkuExtension);
        }
        // A promoted intermediate or root issues the rest of the path: it must be a CA whose
        // path length allows the certificates below it. A promoted leaf must not be a CA.
        let bc = top.basic_constraints().ok().flatten();
        match (below, bc) {
            (Some(below), Some(bc)) if bc.value.ca => {
                if bc
                    .value
                    .path_len_constraint
                    .is_some_and(|limit| below > limit as usize)
                {
                    return Err(webpki::Error::PathLenConstraintViolated);
                }
            }
            (Some(_), _) => return Err(webpki::Error::EndEntityUsedAsCa),
            (None, Some(bc)) if bc.value.ca => return Err(webpki::Error::CaUsedAsEndEntity),
            (None, _) => {}
        }
        if is_self_issued(top) {
            // Nobody checks an anchor's self-signature; a promoted one is checked here.
            if !self.signed_by_key(top, public_key(top)) {
                return Err(webpki::Error::InvalidSignatureForPublicKey);
            }
        } else {
            // An issuer of that name is trusted: the certificate is not from an unknown issuer,
            // and its signature must verify under that anchor (a forgery that names a trusted
            // issuer is never promoted).
            let issuer = der_contents(top.issuer().as_raw()).unwrap_or_default();
            let keys: Vec<&[u8]> = self
                .roots
                .iter()
                .filter(|root| root.subject.as_ref() == issuer)
                .filter_map(anchor_public_key)
                .collect();
            if !keys.is_empty() && !keys.iter().any(|key| self.signed_by_key(top, key)) {
                return Err(webpki::Error::InvalidSignatureForPublicKey);
            }
        }
        if !is_self_issued(top) && !self.crls.is_empty() {
            // Its issuer was not sent, so WebPKI cannot look up its revocation status.
            let issuer = der_contents(top.issuer().as_raw()).unwrap_or_default();
            if self.crls_by(issuer).any(|crl| crl.lists(top.raw_serial())) {
                return Err(webpki::Error::CertRevoked);
            }
            if self.crls_by(issuer).next().is_none() && !relax.has(Relax::UNKNOWN_REVOCATION) {
                return Err(webpki::Error::UnknownRevocationStatus);
            }
        }
        Ok(())
    }

    /// Independent checks of each presented certificate, for the report of a chain that WebPKI
    /// refuses even with every relaxation applied (WebPKI stops at the first problem).
    fn diagnose(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Vec<ChainValidationResult> {
        use ChainValidationResult as R;
        let now = unix_secs(now);
        let ders: Vec<&CertificateDer<'_>> = std::iter::once(end_entity)
            .chain(intermediates)
            .take(MAX_CHAIN)
            .collect();
        let parsed: Vec<Option<X509Certificate<'_>>> = ders
            .iter()
            .map(|der| {
                x509_parser::parse_x509_certificate(der.as_ref())
                    .ok()
                    .map(|(_, c)| c)
            })
            .collect();
        let mut found = Vec::new();
        match EndEntityCert::try_from(end_entity) {
            Ok(ee) => {
                if let Err(err) = ee.verify_is_valid_for_subject_name(server_name) {
                    found.push(classify_webpki(&err));
                }
            }
            Err(_) => {
                if let Some(Some(leaf)) = parsed.first()
                    && !san_matches(leaf, server_name)
                {
                    found.push(R::InvalidName);
                }
            }
        }
        let mut anchored = false;
        for (index, cert) in parsed.iter().enumerate() {
            let Some(cert) = cert else {
                found.push(R::OtherErrors);
                continue;
            };
            if !valid_at(cert, now) {
                found.push(R::Expired);
            }
            if !eku_allows_server_auth(cert) {
                found.push(R::WrongUsage);
            }
            if unknown_critical_extension(cert) {
                found.push(R::UnknownCriticalExtension);
            }
            let bc = cert.basic_constraints().ok().flatten();
            match (index, bc) {
                (0, Some(bc)) if bc.value.ca => found.push(R::BasicConstraintsError),
                (0, _) => {}
                (_, Some(bc)) if bc.value.ca => {
                    if bc
                        .value
                        .path_len_constraint
                        .is_some_and(|limit| index - 1 > limit as usize)
                    {
                        found.push(R::BasicConstraintsError);
                    }
                }
                (_, _) => found.push(R::BasicConstraintsError),
            }
            if index > 0 && violates_name_constraints(cert, parsed[0].as_ref()) {
                found.push(R::InvalidCertificateAuthorityPolicy);
            }
            let issuer = der_contents(cert.issuer().as_raw()).unwrap_or_default();
            // Signature: by every presented or trusted certificate of the issuer's name.
            let mut candidates: Vec<&[u8]> = parsed
                .iter()
                .flatten()
                .filter(|other| der_contents(other.subject().as_raw()) == Some(issuer))
                .map(public_key)
                .collect();
            for root in &self.roots {
                if root.subject.as_ref() == issuer {
                    anchored = true;
                    candidates.extend(anchor_public_key(root));
                }
            }
            if !candidates.is_empty() && !candidates.iter().any(|key| self.signed_by_key(cert, key))
            {
                found.push(R::InvalidSignature);
            }
            if !self.crls.is_empty() && !is_self_issued(cert) {
                if self.crls_by(issuer).next().is_none() {
                    found.push(R::RevocationInformationMissing);
                }
                if self.crls_by(issuer).any(|crl| crl.lists(cert.raw_serial())) {
                    found.push(R::Revoked);
                }
                if self.crls_by(issuer).any(|crl| crl.stale_at(now)) {
                    found.push(R::RevocationFailure);
                }
            }
        }
        let spkis: Vec<&[u8]> = self
            .roots
            .iter()
            .map(|root| root.subject_public_key_info.as_ref())
            .collect();
        let presents_anchor = parsed.iter().flatten().any(|cert| {
            der_contents(cert.public_key().raw).is_some_and(|spki| spkis.contains(&spki))
        });
        if !anchored && !presents_anchor {
            found.push(anchor_class_of(parsed.last().and_then(Option::as_ref)));
        }
        found
    }

    /// The CRLs issued by `issuer` (the DER contents of its Name).
    fn crls_by<'s>(&'s self, issuer: &'s [u8]) -> impl Iterator<Item = &'s CrlMeta> {
        self.crl_meta.iter().filter(move |crl| crl.issuer == issuer)
    }

    fn signed_by_key(&self, cert: &X509Certificate<'_>, key: &[u8]) -> bool {
        let tbs = cert.tbs_certificate.as_ref();
        let signature = cert.signature_value.data.as_ref();
        self.algorithms
            .iter()
            .any(|alg| alg.verify_signature(key, tbs, signature).is_ok())
    }
}

impl fmt::Debug for ChainVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainVerifier")
            .field("roots", &self.roots.len())
            .field("crls", &self.crls.len())
            .field("ignored", &self.ignored)
            .field("pins", &self.pins)
            .finish_non_exhaustive()
    }
}

/// The presented chain; its certificates are parsed on first need (never for a chain WebPKI
/// accepts as it is, so that the common case costs what WebPKI costs).
struct Chain<'c, 'a> {
    ee: &'c EndEntityCert<'a>,
    end_entity: &'c CertificateDer<'a>,
    intermediates: &'c [CertificateDer<'a>],
    parsed: OnceCell<Vec<Option<X509Certificate<'c>>>>,
    server_name: &'c ServerName<'c>,
    now: UnixTime,
}

impl<'c, 'a> Chain<'c, 'a> {
    fn new(
        ee: &'c EndEntityCert<'a>,
        end_entity: &'c CertificateDer<'a>,
        intermediates: &'c [CertificateDer<'a>],
        server_name: &'c ServerName<'c>,
        now: UnixTime,
    ) -> Self {
        Self {
            ee,
            end_entity,
            intermediates,
            parsed: OnceCell::new(),
            server_name,
            now,
        }
    }

    /// Every presented certificate, leaf first, as x509-parser reads it (`None`: unparseable).
    fn parsed(&self) -> &[Option<X509Certificate<'c>>] {
        self.parsed.get_or_init(|| {
            std::iter::once(self.end_entity)
                .chain(self.intermediates)
                .map(|der| {
                    x509_parser::parse_x509_certificate(der.as_ref())
                        .ok()
                        .map(|(_, c)| c)
                })
                .collect()
        })
    }

    /// The presented chain's last certificate.
    fn top(&self) -> &'c CertificateDer<'a> {
        self.intermediates.last().unwrap_or(self.end_entity)
    }

    /// What a missing anchor is called for this chain.
    fn anchor_class(&self) -> ChainValidationResult {
        anchor_class_of(self.parsed().last().and_then(Option::as_ref))
    }

    fn classify(&self, err: &webpki::Error) -> ChainValidationResult {
        match classify_webpki(err) {
            ChainValidationResult::Untrusted => self.anchor_class(),
            class => class,
        }
    }

    /// Times inside the validity windows of the first k presented certificates, for k from all
    /// of them down to the leaf alone (the path WebPKI builds is usually a prefix of the chain
    /// as presented), each as close to `now` as the windows allow.
    fn candidate_times(&self) -> Vec<UnixTime> {
        let mut times = Vec::new();
        let windows: Vec<(i64, i64)> = self
            .parsed()
            .iter()
            .take(MAX_CHAIN)
            .map_while(|cert| cert.as_ref().map(window))
            .collect();
        for k in (1..=windows.len()).rev() {
            let low = windows[..k].iter().map(|w| w.0).max().unwrap_or(0).max(0);
            let high = windows[..k].iter().map(|w| w.1).min().unwrap_or(0);
            if low <= high {
                let t = unix_secs(self.now).clamp(low, high);
                let t = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                    u64::try_from(t).unwrap_or(0),
                ));
                if !times.contains(&t) {
                    times.push(t);
                }
            }
        }
        times
    }
}

/// A set of relaxations, one bit each.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
struct Relax(u8);

impl Relax {
    const NONE: Self = Self(0);
    const VALIDITY: Self = Self(1);
    const ANCHOR: Self = Self(2);
    const USAGE: Self = Self(4);
    const NAME: Self = Self(8);
    const UNKNOWN_REVOCATION: Self = Self(16);
    const STALE_CRL: Self = Self(32);
    const ALL: Self = Self(63);
    const EACH: [Self; 6] = [
        Self::VALIDITY,
        Self::ANCHOR,
        Self::USAGE,
        Self::NAME,
        Self::UNKNOWN_REVOCATION,
        Self::STALE_CRL,
    ];

    fn has(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }

    fn class(self, anchor_class: ChainValidationResult) -> ChainValidationResult {
        use ChainValidationResult as R;
        match self {
            Self::VALIDITY => R::Expired,
            Self::ANCHOR => anchor_class,
            Self::USAGE => R::WrongUsage,
            Self::NAME => R::InvalidName,
            Self::UNKNOWN_REVOCATION => R::RevocationInformationMissing,
            Self::STALE_CRL => R::RevocationFailure,
            _ => R::OtherErrors,
        }
    }

    fn from_classes(
        classes: &BTreeSet<ChainValidationResult>,
        anchor_class: ChainValidationResult,
    ) -> Self {
        Self::EACH
            .into_iter()
            .filter(|relax| classes.contains(&relax.class(anchor_class)))
            .fold(Self::NONE, Self::with)
    }

    fn classes(self, anchor_class: ChainValidationResult) -> Vec<ChainValidationResult> {
        Self::EACH
            .into_iter()
            .filter(|relax| self.has(*relax))
            .map(|relax| relax.class(anchor_class))
            .collect()
    }
}

/// The relaxed usage check: any well-formed extended key usage.
struct AnyUsage;

impl ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for id in iter {
            id?;
        }
        Ok(())
    }
}

fn sorted(mut errors: Vec<ChainValidationResult>) -> Vec<ChainValidationResult> {
    errors.sort_by_key(|class| class.value());
    errors.dedup();
    errors
}

/// A certificate's validity window, in Unix seconds (notBefore, notAfter).
fn window(cert: &X509Certificate<'_>) -> (i64, i64) {
    let validity = cert.validity();
    (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    )
}

/// Whether `t` (Unix seconds) lies inside the certificate's validity window.
fn valid_at(cert: &X509Certificate<'_>, t: i64) -> bool {
    let (not_before, not_after) = window(cert);
    (not_before..=not_after).contains(&t)
}

fn unix_secs(time: UnixTime) -> i64 {
    i64::try_from(time.as_secs()).unwrap_or(i64::MAX)
}

fn anchor_class_of(top: Option<&X509Certificate<'_>>) -> ChainValidationResult {
    match top {
        Some(cert) if !is_self_issued(cert) => ChainValidationResult::IncompleteChain,
        _ => ChainValidationResult::Untrusted,
    }
}

fn is_self_issued(cert: &X509Certificate<'_>) -> bool {
    cert.subject().as_raw() == cert.issuer().as_raw()
}

fn public_key<'a>(cert: &'a X509Certificate<'_>) -> &'a [u8] {
    cert.public_key().subject_public_key.data.as_ref()
}

/// The subjectPublicKey bits of a trust anchor (its SPKI without the outer SEQUENCE).
fn anchor_public_key<'a>(anchor: &'a TrustAnchor<'_>) -> Option<&'a [u8]> {
    let spki = anchor.subject_public_key_info.as_ref();
    let (_, _, rest) = split_tlv(spki)?;
    let (tag, bits, _) = split_tlv(rest)?;
    // A BIT STRING whose first byte counts the unused bits (always 0 for a key).
    (tag == 0x03).then(|| bits.get(1..)).flatten()
}

/// The extensions WebPKI understands; a critical one of any other kind is unknown to it.
const KNOWN_EXTENSIONS: [&str; 6] = [
    "2.5.29.15",
    "2.5.29.17",
    "2.5.29.19",
    "2.5.29.30",
    "2.5.29.31",
    "2.5.29.37",
];

fn unknown_critical_extension(cert: &X509Certificate<'_>) -> bool {
    cert.extensions()
        .iter()
        .any(|ext| ext.critical && !KNOWN_EXTENSIONS.contains(&ext.oid.to_id_string().as_str()))
}

/// WebPKI's usage rule: no EKU extension, or one that lists serverAuth.
fn eku_allows_server_auth(cert: &X509Certificate<'_>) -> bool {
    match cert.extended_key_usage() {
        Ok(Some(eku)) => eku.value.server_auth,
        Ok(None) => true,
        Err(_) => false,
    }
}

/// Whether a DNS name of the leaf falls outside `ca`'s permitted DNS subtrees or inside its
/// excluded ones (RFC 5280 4.2.1.10).
fn violates_name_constraints(ca: &X509Certificate<'_>, leaf: Option<&X509Certificate<'_>>) -> bool {
    let (Some(leaf), Ok(Some(nc))) = (leaf, ca.name_constraints()) else {
        return false;
    };
    let names: Vec<&str> = match leaf.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some(*dns),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let dns_bases = |subtrees: &Option<Vec<x509_parser::extensions::GeneralSubtree<'_>>>| {
        subtrees
            .iter()
            .flatten()
            .filter_map(|tree| match tree.base {
                GeneralName::DNSName(dns) => Some(dns.to_ascii_lowercase()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let within = |name: &str, base: &str| {
        let name = name.to_ascii_lowercase();
        let base = base.trim_start_matches('.');
        base.is_empty() || name == base || name.ends_with(&format!(".{base}"))
    };
    let permitted = dns_bases(&nc.value.permitted_subtrees);
    let excluded = dns_bases(&nc.value.excluded_subtrees);
    names.iter().any(|name| {
        (!permitted.is_empty() && !permitted.iter().any(|base| within(name, base)))
            || excluded.iter().any(|base| within(name, base))
    })
}

/// A plain reading of the leaf's SANs against the name asked for, for a leaf that WebPKI cannot
/// parse (the report only; such a leaf is refused anyway). A wildcard stands for one label.
fn san_matches(leaf: &X509Certificate<'_>, server_name: &ServerName<'_>) -> bool {
    let Ok(Some(san)) = leaf.subject_alternative_name() else {
        return false;
    };
    san.value
        .general_names
        .iter()
        .any(|name| match (name, server_name) {
            (GeneralName::DNSName(dns), ServerName::DnsName(asked)) => {
                let asked = asked.as_ref().trim_end_matches('.').to_ascii_lowercase();
                let dns = dns.to_ascii_lowercase();
                match dns.strip_prefix("*.") {
                    Some(suffix) => asked
                        .split_once('.')
                        .is_some_and(|(_, rest)| rest == suffix),
                    None => dns == asked,
                }
            }
            (GeneralName::IPAddress(bytes), ServerName::IpAddress(asked)) => {
                let asked: std::net::IpAddr = (*asked).into();
                match asked {
                    std::net::IpAddr::V4(v4) => *bytes == v4.octets().as_slice(),
                    std::net::IpAddr::V6(v6) => *bytes == v6.octets().as_slice(),
                }
            }
            _ => false,
        })
}

/// The contents of a DER TLV (tag and length removed).
fn der_contents(tlv: &[u8]) -> Option<&[u8]> {
    split_tlv(tlv).map(|(_, contents, _)| contents)
}

/// Splits a DER TLV into its tag, its contents and what follows it.
fn split_tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_tlv_reads_short_and_long_lengths_and_refuses_overruns() {
        assert_eq!(
            split_tlv(&[0x30, 2, 1, 2, 9]),
            Some((0x30, &[1u8, 2][..], &[9u8][..]))
        );
        let mut long = vec![0x04, 0x81, 200];
        long.extend([7u8; 200]);
        assert_eq!(
            split_tlv(&long).map(|(_, c, r)| (c.len(), r.len())),
            Some((200, 0))
        );
        assert_eq!(split_tlv(&[0x30, 3, 1]), None);
        assert_eq!(split_tlv(&[0x30, 0x80]), None);
        assert_eq!(split_tlv(&[0x30]), None);
    }

    /// A CA with DNS name constraints and a leaf with `names`, both as x509-parser reads them.
    fn constrained(permitted: &[&str], excluded: &[&str], names: &[&str]) -> bool {
        use rcgen::{CertificateParams, GeneralSubtree, IsCa, KeyPair, NameConstraints, SanType};
        let key = KeyPair::generate().expect("a key");
        let mut ca = CertificateParams::default();
        ca.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let subtrees = |bases: &[&str]| {
            bases
                .iter()
                .map(|base| GeneralSubtree::DnsName((*base).to_owned()))
                .collect()
        };
        ca.name_constraints = Some(NameConstraints {
            permitted_subtrees: subtrees(permitted),
            excluded_subtrees: subtrees(excluded),
        });
        let ca_der = ca.self_signed(&key).expect("ca").der().clone();
        let mut leaf = CertificateParams::default();
        leaf.subject_alt_names = names
            .iter()
            .map(|name| SanType::DnsName((*name).try_into().expect("a DNS name")))
            .collect();
        let leaf_der = leaf.self_signed(&key).expect("leaf").der().clone();
        let (_, ca) = x509_parser::parse_x509_certificate(&ca_der).expect("ca parses");
        let (_, leaf) = x509_parser::parse_x509_certificate(&leaf_der).expect("leaf parses");
        violates_name_constraints(&ca, Some(&leaf))
    }

    #[test]
    fn name_constraints_permit_subdomains_and_exclude_what_they_list() {
        assert!(!constrained(&["example.test"], &[], &["example.test"]));
        assert!(!constrained(&["example.test"], &[], &["a.example.test"]));
        assert!(!constrained(&[".example.test"], &[], &["a.example.test"]));
        assert!(constrained(&["example.test"], &[], &["badexample.test"]));
        assert!(constrained(
            &["example.test"],
            &[],
            &["a.example.test", "other.test"]
        ));
        assert!(constrained(&[], &["bad.test"], &["x.bad.test"]));
        assert!(!constrained(&[], &["bad.test"], &["bad.test.example"]));
        assert!(!constrained(&[], &[], &["anything.test"]));
        assert!(constrained(
            &["example.test"],
            &["no.example.test"],
            &["no.example.test"]
        ));
        assert!(!constrained(
            &["example.test"],
            &["no.example.test"],
            &["yes.example.test"]
        ));
    }

    #[test]
    fn each_relaxation_names_one_ignorable_class() {
        let anchor = ChainValidationResult::IncompleteChain;
        for relax in Relax::EACH {
            let class = relax.class(anchor);
            assert_eq!(
                class.severity(),
                SocketSslErrorSeverity::Ignorable,
                "{class}"
            );
            let set: BTreeSet<_> = [class].into();
            assert_eq!(Relax::from_classes(&set, anchor), relax);
        }
        let untrusted: BTreeSet<_> = [ChainValidationResult::Untrusted].into();
        // Ignoring Untrusted does not relax an incomplete chain.
        assert_eq!(Relax::from_classes(&untrusted, anchor), Relax::NONE);
        assert_eq!(Relax::ALL.classes(anchor).len(), 6);
    }
}
