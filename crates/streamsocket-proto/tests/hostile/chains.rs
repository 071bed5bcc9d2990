//! Generated certificate chains against `ChainVerifier`: chains built from
//! independent planted defects, in every combination of up to three, each
//! verified under the ignore-lists that matter.
//!
//! The oracle derives the expected classes from the defects it planted, never from WebPKI or the
//! code under test: a chain must be accepted exactly when every planted class is ignorable and
//! ignored, and the report must be exactly the planted classes, accepted or not.

use std::collections::BTreeSet;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyIdMethod,
    KeyPair, KeyUsagePurpose, NameConstraints, RevokedCertParams, SanType, SerialNumber,
};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};
use streamsocket_proto::cert::{
    ChainValidationResult as R, ChainVerifier, ErrorContext, ErrorDetail, SocketSslErrorSeverity,
};
use time::OffsetDateTime;

use crate::support::Rng;

/// The time every chain is verified at: 2030-01-01.
const NOW: i64 = 1_893_456_000;
const YEAR: i64 = 31_536_000;
const NAME: &str = "server.test";

/// One planted defect. Each says what a correct verifier must report for it.
#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd)]
enum Defect {
    /// The chain is issued under an attacker's root, sent (with a validity) or not.
    AttackerRoot {
        sent: bool,
        window: Window,
    },
    LeafWindow(Window),
    IntermediateWindow(Window),
    WrongName,
    WrongEku,
    /// The intermediate's extended key usage is clientAuth only.
    IntermediateWrongEku,
    LeafIsCa,
    IntermediateNotCa,
    /// A second intermediate below one whose path length is 0.
    PathLength,
    /// The intermediate permits only `elsewhere.test`.
    NameConstraint,
    CriticalExtension(Depth),
    /// The right issuer name, the wrong key.
    ForgedSignature(Depth),
    Revoked(Depth),
    /// The CRLs handed to the verifier.
    Crls(Crls),
    /// Only the leaf is sent: its issuer is missing.
    IntermediateNotSent,
    /// The leaf issuer's CRL has passed its nextUpdate.
    StaleCrl,
}

#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd)]
enum Window {
    Valid,
    Expired,
    NotYetValid,
}

#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd)]
enum Depth {
    Leaf,
    Intermediate,
}

#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd)]
enum Crls {
    /// The CRL of every issuer in the chain (the default when a defect needs CRLs).
    All,
    /// Only the CRL of the leaf's issuer.
    LeafIssuerOnly,
    /// Only the CRL of the intermediate's issuer.
    IntermediateIssuerOnly,
    None,
}

const DEFECTS: [Defect; 24] = [
    Defect::AttackerRoot {
        sent: false,
        window: Window::Valid,
    },
    Defect::AttackerRoot {
        sent: true,
        window: Window::Valid,
    },
    Defect::AttackerRoot {
        sent: true,
        window: Window::Expired,
    },
    Defect::AttackerRoot {
        sent: true,
        window: Window::NotYetValid,
    },
    Defect::LeafWindow(Window::Expired),
    Defect::LeafWindow(Window::NotYetValid),
    Defect::IntermediateWindow(Window::Expired),
    Defect::WrongName,
    Defect::WrongEku,
    Defect::IntermediateWrongEku,
    Defect::LeafIsCa,
    Defect::IntermediateNotCa,
    Defect::PathLength,
    Defect::NameConstraint,
    Defect::CriticalExtension(Depth::Leaf),
    Defect::CriticalExtension(Depth::Intermediate),
    Defect::ForgedSignature(Depth::Leaf),
    Defect::ForgedSignature(Depth::Intermediate),
    Defect::Revoked(Depth::Leaf),
    Defect::Revoked(Depth::Intermediate),
    Defect::Crls(Crls::LeafIssuerOnly),
    Defect::Crls(Crls::IntermediateIssuerOnly),
    Defect::StaleCrl,
    Defect::IntermediateNotSent,
];

/// Two defects that describe the same certificate field differently cannot both be planted.
fn compatible(defects: &[Defect]) -> bool {
    let mut kinds = BTreeSet::new();
    defects.iter().all(|defect| {
        let kind = match defect {
            // An attacker's root sent after a missing intermediate is no chain at all.
            Defect::AttackerRoot { .. } | Defect::IntermediateNotSent => 0,
            Defect::LeafWindow(_) => 1,
            Defect::Crls(_) => 2,
            Defect::IntermediateNotCa | Defect::PathLength => 3,
            other => 10 + DEFECTS.iter().position(|d| d == other).unwrap_or(0),
        };
        kinds.insert(kind)
    })
}

/// What was planted, as the oracle sees it.
struct Plan {
    defects: Vec<Defect>,
}

impl Plan {
    fn has(&self, defect: Defect) -> bool {
        self.defects.contains(&defect)
    }

    fn attacker(&self) -> Option<(bool, Window)> {
        self.defects.iter().find_map(|d| match d {
            Defect::AttackerRoot { sent, window } => Some((*sent, *window)),
            _ => None,
        })
    }

    fn crls(&self) -> Crls {
        let chosen = self.defects.iter().find_map(|d| match d {
            Defect::Crls(crls) => Some(*crls),
            _ => None,
        });
        let wants = self
            .defects
            .iter()
            .any(|d| matches!(d, Defect::Revoked(_) | Defect::StaleCrl));
        chosen.unwrap_or(if wants { Crls::All } else { Crls::None })
    }

    /// The leaf sent alone: its issuer is missing, so nothing about the certificates above it
    /// can be seen; the leaf's own defects and its issuer's CRL still count.
    fn expected_leaf_alone(&self) -> BTreeSet<R> {
        let mut classes = BTreeSet::from([R::IncompleteChain]);
        for defect in &self.defects {
            let class = match defect {
                Defect::LeafWindow(_) => R::Expired,
                Defect::WrongName => R::InvalidName,
                Defect::WrongEku => R::WrongUsage,
                Defect::LeafIsCa => R::BasicConstraintsError,
                Defect::CriticalExtension(Depth::Leaf) => R::UnknownCriticalExtension,
                _ => continue,
            };
            classes.insert(class);
        }
        let crls = self.crls();
        if matches!(crls, Crls::All | Crls::LeafIssuerOnly) {
            if self.has(Defect::Revoked(Depth::Leaf)) {
                classes.insert(R::Revoked);
            }
            if self.has(Defect::StaleCrl) {
                classes.insert(R::RevocationFailure);
            }
        } else if crls == Crls::IntermediateIssuerOnly {
            classes.insert(R::RevocationInformationMissing);
        }
        classes
    }

    /// Whether one time lies inside the validity window of every certificate on the path (the
    /// leaf, the intermediates and a sent attacker root): without one, ignoring `Expired` cannot
    /// make the chain acceptable.
    fn windows_meet(&self) -> bool {
        let mut windows = Vec::new();
        for defect in &self.defects {
            match defect {
                Defect::LeafWindow(w) | Defect::IntermediateWindow(w) => windows.push(*w),
                Defect::AttackerRoot { sent: true, window } => windows.push(*window),
                _ => {}
            }
        }
        if self.has(Defect::IntermediateNotSent) {
            // The leaf is the whole path.
            return true;
        }
        !(windows.contains(&Window::Expired) && windows.contains(&Window::NotYetValid))
    }

    /// The classes a correct verifier reports, from the plan alone.
    fn expected(&self) -> BTreeSet<R> {
        if self.has(Defect::IntermediateNotSent) {
            return self.expected_leaf_alone();
        }
        let mut classes = BTreeSet::new();
        match self.attacker() {
            Some((false, _)) => {
                classes.insert(R::IncompleteChain);
            }
            Some((true, window)) => {
                classes.insert(R::Untrusted);
                if window != Window::Valid {
                    classes.insert(R::Expired);
                }
            }
            None => {}
        }
        for defect in &self.defects {
            let class = match defect {
                Defect::LeafWindow(_) | Defect::IntermediateWindow(_) => R::Expired,
                Defect::WrongName => R::InvalidName,
                Defect::WrongEku | Defect::IntermediateWrongEku => R::WrongUsage,
                Defect::LeafIsCa | Defect::IntermediateNotCa | Defect::PathLength => {
                    R::BasicConstraintsError
                }
                Defect::NameConstraint => R::InvalidCertificateAuthorityPolicy,
                Defect::CriticalExtension(_) => R::UnknownCriticalExtension,
                // A signature by an issuer that was neither sent nor trusted cannot be checked:
                // forged or not, it looks the same.
                Defect::ForgedSignature(Depth::Intermediate)
                    if matches!(self.attacker(), Some((false, _))) =>
                {
                    continue;
                }
                Defect::ForgedSignature(_) => R::InvalidSignature,
                _ => continue,
            };
            classes.insert(class);
        }
        // Revocation: every certificate below the anchor is looked up in its issuer's CRL when
        // any CRL is given. The leaf's issuer is the lowest intermediate; the intermediate's
        // issuer is the root (never has a CRL when it is the attacker's); the extra intermediate
        // of a path-length chain shares the leaf issuer's CRL rules with the leaf.
        // The attacker's root never publishes a CRL, so with it an intermediate-only choice
        // hands over no CRL at all, and nothing is looked up.
        let crls = self.crls();
        let leaf_issuer_crl = matches!(crls, Crls::All | Crls::LeafIssuerOnly);
        let root_crl =
            matches!(crls, Crls::All | Crls::IntermediateIssuerOnly) && self.attacker().is_none();
        if leaf_issuer_crl || root_crl {
            if leaf_issuer_crl {
                if self.has(Defect::Revoked(Depth::Leaf)) {
                    classes.insert(R::Revoked);
                }
                if self.has(Defect::StaleCrl) {
                    classes.insert(R::RevocationFailure);
                }
            } else {
                classes.insert(R::RevocationInformationMissing);
            }
            // The lower intermediate of a path-length chain is issued by the upper one, whose
            // CRL is never made.
            if self.has(Defect::PathLength) {
                classes.insert(R::RevocationInformationMissing);
            }
            // The intermediate is issued by the root, trusted or the attacker's.
            if root_crl {
                if self.has(Defect::Revoked(Depth::Intermediate)) {
                    classes.insert(R::Revoked);
                }
            } else {
                classes.insert(R::RevocationInformationMissing);
            }
        }
        classes
    }
}

/// A generated chain and what the verifier is given.
struct Built {
    end_entity: CertificateDer<'static>,
    intermediates: Vec<CertificateDer<'static>>,
    root: CertificateDer<'static>,
    crls: Vec<CertificateRevocationListDer<'static>>,
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).expect("a time in range")
}

fn window(params: &mut CertificateParams, window: Window) {
    let (from, to) = match window {
        Window::Valid => (NOW - 10 * YEAR, NOW + 10 * YEAR),
        Window::Expired => (NOW - 10 * YEAR, NOW - 5 * YEAR),
        Window::NotYetValid => (NOW + 5 * YEAR, NOW + 10 * YEAR),
    };
    params.not_before = at(from);
    params.not_after = at(to);
}

fn ca(name: &str, serial: u64) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params.serial_number = Some(SerialNumber::from(serial));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.key_identifier_method = KeyIdMethod::Sha256;
    // The issuer's key identifier, which the report of a missing issuer names.
    params.use_authority_key_identifier_extension = true;
    window(&mut params, Window::Valid);
    params
}

fn critical_extension() -> CustomExtension {
    // A private-arc OID no verifier knows, marked critical.
    let mut ext =
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55555, 1], vec![0x05, 0x00]);
    ext.set_criticality(true);
    ext
}

struct Keys {
    root: KeyPair,
    attacker: KeyPair,
    intermediate: KeyPair,
    lower: KeyPair,
    leaf: KeyPair,
    forger: KeyPair,
}

impl Keys {
    fn new() -> Self {
        let key = || KeyPair::generate().expect("an ECDSA P-256 key");
        Self {
            root: key(),
            attacker: key(),
            intermediate: key(),
            lower: key(),
            leaf: key(),
            forger: key(),
        }
    }
}

fn build(plan: &Plan, keys: &Keys) -> Built {
    let trusted = ca("Trusted Root", 1);
    let root = trusted.self_signed(&keys.root).expect("root").der().clone();
    let attacker = plan.attacker().map(|(_, w)| {
        let mut params = ca("Attacker Root", 2);
        window(&mut params, w);
        let der = params
            .self_signed(&keys.attacker)
            .expect("attacker")
            .der()
            .clone();
        (params, der)
    });
    let (top_params, top_key) = match &attacker {
        Some((params, _)) => (params, &keys.attacker),
        None => (&trusted, &keys.root),
    };

    // Path length 0, as issuing CAs often have: a leaf may follow, another CA may not.
    let mut inter = ca("Intermediate", 10);
    inter.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    if plan.has(Defect::IntermediateWrongEku) {
        inter.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    }
    if plan.has(Defect::IntermediateWindow(Window::Expired)) {
        window(&mut inter, Window::Expired);
    }
    if plan.has(Defect::IntermediateNotCa) {
        inter.is_ca = IsCa::ExplicitNoCa;
    }
    if plan.has(Defect::NameConstraint) {
        inter.name_constraints = Some(NameConstraints {
            permitted_subtrees: vec![GeneralSubtree::DnsName("elsewhere.test".into())],
            excluded_subtrees: Vec::new(),
        });
    }
    if plan.has(Defect::CriticalExtension(Depth::Intermediate)) {
        inter.custom_extensions.push(critical_extension());
    }
    let inter_signer = if plan.has(Defect::ForgedSignature(Depth::Intermediate)) {
        Issuer::from_params(top_params, &keys.forger)
    } else {
        Issuer::from_params(top_params, top_key)
    };
    let inter_der = inter
        .signed_by(&keys.intermediate, &inter_signer)
        .expect("intermediate")
        .der()
        .clone();

    // The leaf's issuer: the intermediate, or a second one below it.
    let lower = plan.has(Defect::PathLength).then(|| {
        let params = ca("Lower Intermediate", 11);
        let der = params
            .signed_by(
                &keys.lower,
                &Issuer::from_params(&inter, &keys.intermediate),
            )
            .expect("lower")
            .der()
            .clone();
        (params, der)
    });
    let (issuer_params, issuer_key) = match &lower {
        Some((params, _)) => (params, &keys.lower),
        None => (&inter, &keys.intermediate),
    };

    let mut leaf = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, NAME);
    leaf.distinguished_name = dn;
    leaf.serial_number = Some(SerialNumber::from(100u64));
    leaf.use_authority_key_identifier_extension = true;
    let name = if plan.has(Defect::WrongName) {
        "other.test"
    } else {
        NAME
    };
    leaf.subject_alt_names = vec![SanType::DnsName(name.try_into().expect("a DNS name"))];
    leaf.is_ca = if plan.has(Defect::LeafIsCa) {
        IsCa::Ca(BasicConstraints::Unconstrained)
    } else {
        IsCa::ExplicitNoCa
    };
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![if plan.has(Defect::WrongEku) {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    window(
        &mut leaf,
        plan.defects
            .iter()
            .find_map(|d| match d {
                Defect::LeafWindow(w) => Some(*w),
                _ => None,
            })
            .unwrap_or(Window::Valid),
    );
    if plan.has(Defect::CriticalExtension(Depth::Leaf)) {
        leaf.custom_extensions.push(critical_extension());
    }
    let leaf_signer = if plan.has(Defect::ForgedSignature(Depth::Leaf)) {
        Issuer::from_params(issuer_params, &keys.forger)
    } else {
        Issuer::from_params(issuer_params, issuer_key)
    };
    let end_entity = leaf
        .signed_by(&keys.leaf, &leaf_signer)
        .expect("leaf")
        .der()
        .clone();

    let revoked = |serial: u64| RevokedCertParams {
        serial_number: SerialNumber::from(serial),
        revocation_time: at(NOW - YEAR),
        reason_code: None,
        invalidity_date: None,
    };
    let crl =
        |issuer: &Issuer<'_, &KeyPair>, revoked_certs: Vec<RevokedCertParams>, stale: bool| {
            let params = CertificateRevocationListParams {
                this_update: at(NOW - 2 * YEAR),
                next_update: at(if stale { NOW - YEAR / 2 } else { NOW + YEAR }),
                crl_number: SerialNumber::from(1u64),
                issuing_distribution_point: None,
                revoked_certs,
                key_identifier_method: KeyIdMethod::Sha256,
            };
            params.signed_by(issuer).expect("crl").der().clone()
        };
    let mut crls = Vec::new();
    let choice = plan.crls();
    if matches!(choice, Crls::All | Crls::LeafIssuerOnly) {
        let listed = if plan.has(Defect::Revoked(Depth::Leaf)) {
            vec![revoked(100)]
        } else {
            Vec::new()
        };
        crls.push(crl(
            &Issuer::from_params(issuer_params, issuer_key),
            listed,
            plan.has(Defect::StaleCrl),
        ));
    }
    if matches!(choice, Crls::All | Crls::IntermediateIssuerOnly) && attacker.is_none() {
        let listed = if plan.has(Defect::Revoked(Depth::Intermediate)) {
            vec![revoked(10)]
        } else {
            Vec::new()
        };
        crls.push(crl(
            &Issuer::from_params(&trusted, &keys.root),
            listed,
            false,
        ));
    }

    let mut intermediates = Vec::new();
    if plan.has(Defect::IntermediateNotSent) {
        return Built {
            end_entity,
            intermediates,
            root,
            crls,
        };
    }
    if let Some((_, der)) = &lower {
        intermediates.push(der.clone());
    }
    intermediates.push(inter_der);
    if let Some((_, der)) = &attacker
        && plan.attacker().is_some_and(|(sent, _)| sent)
    {
        intermediates.push(der.clone());
    }
    Built {
        end_entity,
        intermediates,
        root,
        crls,
    }
}

fn ignorable() -> Vec<R> {
    R::ALL
        .into_iter()
        .filter(|class| class.severity() == SocketSslErrorSeverity::Ignorable)
        .collect()
}

/// The ignore-lists that decide the property for one plan: nothing, exactly the planted
/// ignorable classes, every ignorable class, each of those two less one planted class, and one
/// pseudo-random list.
fn ignore_lists(expected: &BTreeSet<R>, rng: &mut Rng) -> Vec<Vec<R>> {
    let all = ignorable();
    let planted: Vec<R> = expected
        .iter()
        .copied()
        .filter(|class| all.contains(class))
        .collect();
    let mut lists = vec![Vec::new(), planted.clone(), all.clone()];
    for class in expected {
        lists.push(all.iter().copied().filter(|c| c != class).collect());
        lists.push(planted.iter().copied().filter(|c| c != class).collect());
    }
    lists.push(all.iter().copied().filter(|_| rng.below(2) == 0).collect());
    lists
}

fn check(plan: &Plan, keys: &Keys, rng: &mut Rng) -> usize {
    let built = build(plan, keys);
    let expected = plan.expected();
    let algorithms = rustls::crypto::aws_lc_rs::default_provider()
        .signature_verification_algorithms
        .all;
    let anchor = webpki::anchor_from_trusted_cert(&built.root)
        .expect("the root is an anchor")
        .to_owned();
    let name = ServerName::try_from(NAME).expect("a server name");
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(NOW as u64));
    let mut verified = 0;
    for ignored in ignore_lists(&expected, rng) {
        let verifier = ChainVerifier::new(vec![anchor.clone()], &built.crls, algorithms, &ignored)
            .expect("only ignorable classes are listed");
        let verdict = verifier.verify(&built.end_entity, &built.intermediates, &name, now);
        let should_accept = plan.windows_meet()
            && expected.iter().all(|class| {
                class.severity() == SocketSslErrorSeverity::Ignorable && ignored.contains(class)
            });
        let reported: BTreeSet<R> = verdict.errors.iter().copied().collect();
        assert_eq!(
            verdict.accepted(),
            should_accept,
            "{:?} ignoring {ignored:?}: expected {expected:?}, reported {reported:?}, blocking {:?}",
            plan.defects,
            verdict.blocking
        );
        assert_eq!(
            reported, expected,
            "{:?} ignoring {ignored:?}",
            plan.defects
        );
        check_details(plan, &verdict.details, &verdict.errors);
        if verdict.accepted() {
            // Exactly what was planted: nothing ignored is reported without cause.
            assert_eq!(
                reported, expected,
                "{:?}: accepted while reporting {reported:?} with {ignored:?} ignored",
                plan.defects
            );
        } else {
            // The reason is every class not ignored or, when all of them were, the one class
            // that could not be relaxed.
            let not_ignored: Vec<R> = verdict
                .errors
                .iter()
                .copied()
                .filter(|class| !ignored.contains(class))
                .collect();
            if not_ignored.is_empty() {
                assert_eq!(verdict.blocking.len(), 1, "{:?}", plan.defects);
            } else {
                assert_eq!(verdict.blocking, not_ignored, "{:?}", plan.defects);
            }
        }
        verified += 1;
    }
    verified
}

impl Plan {
    /// The positions of the presented certificates, as `build` sends them.
    fn intermediate_position(&self) -> Option<usize> {
        (!self.has(Defect::IntermediateNotSent))
            .then(|| 1 + usize::from(self.has(Defect::PathLength)))
    }

    fn attacker_position(&self) -> Option<usize> {
        let inter = self.intermediate_position()?;
        matches!(self.attacker(), Some((true, _))).then_some(inter + 1)
    }

    fn last_position(&self) -> usize {
        self.attacker_position()
            .or_else(|| self.intermediate_position())
            .unwrap_or(0)
    }

    /// The certificate a class is about and what must be said of it, from what was planted.
    fn expected_context(&self, class: R) -> (usize, Expect) {
        let inter = self.intermediate_position().unwrap_or(0);
        let leaf_issuer = if self.has(Defect::PathLength) {
            "CN=Lower Intermediate"
        } else {
            "CN=Intermediate"
        };
        let window_of = |w: Window| match w {
            Window::Expired => Expect::Window {
                not_after: NOW - 5 * YEAR,
                outside_by: 5 * YEAR,
                not_yet_valid: false,
            },
            Window::NotYetValid | Window::Valid => Expect::Window {
                not_after: NOW + 10 * YEAR,
                outside_by: 5 * YEAR,
                not_yet_valid: true,
            },
        };
        match class {
            R::Expired => {
                let leaf = self.defects.iter().find_map(|d| match d {
                    Defect::LeafWindow(w) => Some(*w),
                    _ => None,
                });
                if let Some(w) = leaf {
                    (0, window_of(w))
                } else if self.has(Defect::IntermediateWindow(Window::Expired)) {
                    (inter, window_of(Window::Expired))
                } else {
                    let (_, w) = self.attacker().expect("only an attacker's root is left");
                    (self.last_position(), window_of(w))
                }
            }
            R::InvalidName => (0, Expect::Names(vec!["other.test".into()])),
            R::WrongUsage if self.has(Defect::WrongEku) => (0, Expect::Purposes),
            R::WrongUsage => (inter, Expect::Purposes),
            R::BasicConstraintsError if self.has(Defect::LeafIsCa) => (0, Expect::Ca(Some(true))),
            R::BasicConstraintsError if self.has(Defect::PathLength) => (inter, Expect::PathLen(0)),
            R::BasicConstraintsError => (inter, Expect::Ca(Some(false))),
            R::InvalidSignature if self.has(Defect::ForgedSignature(Depth::Leaf)) => {
                (0, Expect::Signature(leaf_issuer.into()))
            }
            R::InvalidSignature => {
                let issuer = match self.attacker() {
                    Some(_) => "CN=Attacker Root",
                    None => "CN=Trusted Root",
                };
                (inter, Expect::Signature(issuer.into()))
            }
            R::Revoked
                if self.has(Defect::Revoked(Depth::Leaf))
                    && matches!(self.crls(), Crls::All | Crls::LeafIssuerOnly) =>
            {
                (0, Expect::Serial("64"))
            }
            R::Revoked => (inter, Expect::Serial("0a")),
            R::RevocationFailure => (0, Expect::StaleCrl(leaf_issuer.into())),
            // The first certificate whose issuer's CRL was not given: the leaf's issuer's, or
            // the intermediate's CRL, which nobody issues, above a lower intermediate, or the
            // root's, never given for an attacker's chain.
            R::RevocationInformationMissing if self.crls() == Crls::IntermediateIssuerOnly => {
                (0, Expect::NoCrl)
            }
            R::RevocationInformationMissing if self.has(Defect::PathLength) => (1, Expect::NoCrl),
            R::RevocationInformationMissing => (inter, Expect::NoCrl),
            R::IncompleteChain if self.has(Defect::IntermediateNotSent) => (
                0,
                Expect::Issuer {
                    missing: leaf_issuer.into(),
                    self_signed: false,
                },
            ),
            R::IncompleteChain | R::Untrusted => (
                self.last_position(),
                Expect::Issuer {
                    missing: "CN=Attacker Root".into(),
                    self_signed: class == R::Untrusted,
                },
            ),
            R::UnknownCriticalExtension if self.has(Defect::CriticalExtension(Depth::Leaf)) => {
                (0, Expect::Extension)
            }
            R::UnknownCriticalExtension => (inter, Expect::Extension),
            R::InvalidCertificateAuthorityPolicy => (inter, Expect::NameConstraints),
            other => panic!("no defect plants {other}"),
        }
    }
}

/// What the oracle knows of a context, from the plan.
#[derive(Debug)]
enum Expect {
    Window {
        not_after: i64,
        outside_by: i64,
        not_yet_valid: bool,
    },
    Names(Vec<String>),
    Purposes,
    Ca(Option<bool>),
    PathLen(u32),
    Signature(String),
    Serial(&'static str),
    StaleCrl(String),
    NoCrl,
    Issuer {
        missing: String,
        self_signed: bool,
    },
    Extension,
    NameConstraints,
}

/// Every reported class has one detail, about the certificate the plan says, saying what the
/// plan planted.
fn check_details(plan: &Plan, details: &[ErrorDetail], errors: &[R]) {
    let classes: Vec<R> = details.iter().map(|detail| detail.class).collect();
    assert_eq!(classes, errors, "{:?}", plan.defects);
    for detail in details {
        let (position, expect) = plan.expected_context(detail.class);
        let what = format!("{:?}: {detail:?} against {expect:?}", plan.defects);
        if detail.class != R::RevocationFailure {
            let cert = detail
                .certificate
                .as_ref()
                .expect("a certificate concerned");
            assert_eq!(cert.position, position, "{what}");
        }
        let ok = match (&expect, &detail.context) {
            (
                Expect::Window {
                    not_after,
                    outside_by,
                    not_yet_valid,
                },
                ErrorContext::Validity {
                    not_after: got_after,
                    outside_by_secs,
                    not_yet_valid: got_yet,
                    checked_at,
                    ..
                },
            ) => {
                got_after.unix() == *not_after
                    && *outside_by_secs == *outside_by as u64
                    && got_yet == not_yet_valid
                    && checked_at.unix() == NOW
            }
            (
                Expect::Names(names),
                ErrorContext::Name {
                    asked,
                    asked_ip,
                    dns_names,
                    ip_addresses,
                },
            ) => asked == NAME && !asked_ip && dns_names == names && ip_addresses.is_empty(),
            (
                Expect::Purposes,
                ErrorContext::Usage {
                    eku_present,
                    purposes,
                },
            ) => *eku_present && purposes == &["clientAuth"],
            (Expect::Ca(ca), ErrorContext::BasicConstraints { ca: got, .. }) => ca == got,
            (
                Expect::PathLen(limit),
                ErrorContext::BasicConstraints {
                    ca,
                    needs_ca,
                    path_len,
                },
            ) => *ca == Some(true) && *needs_ca && *path_len == Some(*limit),
            (
                Expect::Signature(issuer),
                ErrorContext::Signature {
                    algorithm,
                    issuer: got,
                },
            ) => got == issuer && algorithm == "ecdsa-with-SHA256",
            (
                Expect::Serial(serial),
                ErrorContext::Revoked {
                    serial: got,
                    revoked_at,
                    reason,
                },
            ) => got == serial && revoked_at.unix() == NOW - YEAR && reason.is_none(),
            (
                Expect::StaleCrl(issuer),
                ErrorContext::StaleCrl {
                    crl_issuer,
                    next_update,
                    ..
                },
            ) => crl_issuer == issuer && next_update.map(|t| t.unix()) == Some(NOW - YEAR / 2),
            (Expect::NoCrl, ErrorContext::NoCrl { .. }) => true,
            (
                Expect::Issuer {
                    missing,
                    self_signed,
                },
                ErrorContext::Issuer {
                    missing_issuer,
                    authority_key_id,
                    ends_self_signed,
                    ..
                },
            ) => {
                missing_issuer == missing
                    && ends_self_signed == self_signed
                    && authority_key_id.as_ref().is_some_and(|id| id.len() == 40)
            }
            (Expect::Extension, ErrorContext::Extension { oid }) => oid == "1.3.6.1.4.1.55555.1",
            (Expect::NameConstraints, ErrorContext::NameConstraints) => true,
            _ => false,
        };
        assert!(ok, "{what}");
    }
}

#[test]
fn generated_chains_are_accepted_exactly_when_every_planted_defect_is_ignored() {
    let keys = Keys::new();
    let mut rng = Rng::new(0x19_c4a1);
    let mut plans = vec![Plan {
        defects: Vec::new(),
    }];
    for (i, a) in DEFECTS.iter().enumerate() {
        plans.push(Plan { defects: vec![*a] });
        for b in &DEFECTS[i + 1..] {
            plans.push(Plan {
                defects: vec![*a, *b],
            });
        }
    }
    // Every triple.
    for (i, a) in DEFECTS.iter().enumerate() {
        for (j, b) in DEFECTS.iter().enumerate().skip(i + 1) {
            for c in &DEFECTS[j + 1..] {
                plans.push(Plan {
                    defects: vec![*a, *b, *c],
                });
            }
        }
    }
    plans.retain(|plan| compatible(&plan.defects));
    let mut verified = 0;
    for plan in &plans {
        verified += check(plan, &keys, &mut rng);
    }
    assert!(plans.len() > 1_500, "{} chains", plans.len());
    assert!(verified > 15_000, "{verified} verifications");
}

/// testpki's attack chains: every problem of the chain, and the class whose ignoring alone once
/// let the chain through.
fn reproduction(attack: testpki::Attack) -> (&'static [R], Option<R>) {
    use testpki::Attack as A;
    match attack {
        A::ForgedWrongUsage => (&[R::InvalidSignature, R::WrongUsage], Some(R::WrongUsage)),
        A::ForgedCaLeaf => (&[R::InvalidSignature, R::BasicConstraintsError], None),
        A::ForgedExpired => (&[R::InvalidSignature, R::Expired], Some(R::Expired)),
        A::RevokedWrongUsage => (&[R::Revoked, R::WrongUsage], Some(R::WrongUsage)),
        A::RevokedIntermediateCrlOnly => (
            &[R::Revoked, R::RevocationInformationMissing],
            Some(R::RevocationInformationMissing),
        ),
        A::AttackerRootExpired | A::AttackerRootNotYetValid => {
            (&[R::Untrusted, R::Expired], Some(R::Expired))
        }
        A::SelfSignedCa | A::AttackerIntermediateNotCa => (
            &[R::Untrusted, R::BasicConstraintsError],
            Some(R::Untrusted),
        ),
        A::CriticalExtensionAppended => (&[R::Untrusted, R::UnknownCriticalExtension], None),
        A::StaleCrl => (&[R::RevocationFailure], None),
    }
}

#[test]
fn the_reproductions_are_refused_whatever_is_ignored_and_report_what_is_wrong() {
    let algorithms = rustls::crypto::aws_lc_rs::default_provider()
        .signature_verification_algorithms
        .all;
    let name = ServerName::try_from(testpki::TEST_HOST).expect("a server name");
    let now = testpki::clock::reference_now();
    for kind in testpki::KeyKind::ALL {
        let pki = testpki::Pki::shared(kind);
        for attack in testpki::Attack::ALL {
            let identity = pki.attack(attack).expect("testpki issues the attack chain");
            let anchors = identity
                .trust_anchors
                .iter()
                .map(|der| {
                    webpki::anchor_from_trusted_cert(der)
                        .expect("an anchor")
                        .to_owned()
                })
                .collect::<Vec<_>>();
            let (must_report, once_excused_by) = reproduction(attack);
            let mut lists = vec![Vec::new(), ignorable()];
            lists.extend(once_excused_by.map(|class| vec![class]));
            for ignored in lists {
                let verifier =
                    ChainVerifier::new(anchors.clone(), &identity.crls, algorithms, &ignored)
                        .expect("ignorable classes only");
                let (leaf, intermediates) = identity.chain.split_first().expect("a leaf");
                let verdict = verifier.verify(leaf, intermediates, &name, now);
                let everything_ignorable_ignored = ignored.len() == ignorable().len();
                // Accepted exactly when every problem of the chain is ignorable and ignored
                // (an untrusted chain whose root is expired, with both ignored; a stale CRL).
                let may_accept = must_report.iter().all(|class| {
                    class.severity() == SocketSslErrorSeverity::Ignorable && ignored.contains(class)
                });
                assert_eq!(
                    verdict.accepted(),
                    may_accept,
                    "{kind:?} {attack} ignoring {ignored:?}: {verdict:?}"
                );
                for class in must_report {
                    assert!(
                        verdict.errors.contains(class),
                        "{kind:?} {attack} ignoring {ignored:?}: {class} missing from {verdict:?}"
                    );
                }
                if !may_accept && everything_ignorable_ignored {
                    assert!(
                        verdict.blocking.iter().all(|c| must_report.contains(c)),
                        "{kind:?} {attack}: blocked by {:?}",
                        verdict.blocking
                    );
                }
            }
        }
    }
}
