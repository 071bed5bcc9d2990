//! Issuing: the throwaway root and intermediate, and one leaf per scenario.

use std::net::IpAddr;
use std::sync::OnceLock;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevocationReason, RevokedCertParams, SanType, SerialNumber,
};
use rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs8KeyDer,
};

use crate::clock::{self, Validity};
use crate::{Error, ExpectedError, KeyKind, Scenario, VALID_NAMES};

pub(crate) mod attack;

/// The only SAN of the [`Scenario::WrongHost`] leaf.
pub const WRONG_HOST: &str = "wrong.example.test";

/// The organisation name in every subject, so a stray certificate is easy to recognise.
const ORGANISATION: &str = "streamsocket testpki";

/// A throwaway PKI: a root and an intermediate of one key kind, made once, issuing leaves on
/// demand.
///
/// Every certificate has a fixed serial number, fixed subject names and validity windows from
/// [`clock`](crate::clock). With [`Pki::pinned`] (and [`Pki::shared`]) the keys come from
/// `fixtures/keys/` as well, so Ed25519 and RSA certificates are byte-for-byte stable across
/// runs; ECDSA signatures are randomised, so ECDSA certificates differ in their signature bytes.
pub struct Pki {
    key_kind: KeyKind,
    root: Authority,
    intermediate: Authority,
    /// Signed by the root like the intermediate, but with `CA:FALSE`.
    intermediate_not_ca: Authority,
    rogue_root: Authority,
    rogue_intermediate: Authority,
    leaf_key: KeyPair,
    client_key: KeyPair,
    /// Signed by the intermediate; lists the [`Scenario::Revoked`] leaf.
    intermediate_crl: CertificateRevocationListDer<'static>,
    /// Signed by the root; empty, so a client checking the whole chain knows the intermediate's
    /// status.
    root_crl: CertificateRevocationListDer<'static>,
}

impl Pki {
    /// Makes a PKI with freshly generated keys (RSA generation takes a while; prefer
    /// [`Pki::shared`] in tests).
    pub fn new(key_kind: KeyKind) -> Result<Self, Error> {
        Self::with_keys(key_kind, Keys::generate(key_kind)?)
    }

    /// Makes a PKI from the keys checked in under `fixtures/keys/`.
    ///
    /// These keys are public: never trust this root outside tests.
    pub fn pinned(key_kind: KeyKind) -> Result<Self, Error> {
        Self::with_keys(key_kind, Keys::pinned(key_kind)?)
    }

    /// A process-wide [`Pki::pinned`] per key kind, made on first use.
    ///
    /// # Panics
    ///
    /// If the checked-in keys under `fixtures/keys/` are unusable, which this crate's tests
    /// rule out.
    pub fn shared(key_kind: KeyKind) -> &'static Self {
        static SHARED: [OnceLock<Pki>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let slot = match key_kind {
            KeyKind::EcdsaP256 => &SHARED[0],
            KeyKind::Ed25519 => &SHARED[1],
            KeyKind::Rsa2048 => &SHARED[2],
        };
        slot.get_or_init(|| {
            // Invariant: the pinned keys are compiled in and `pinned_keys_load` tests every one.
            Self::pinned(key_kind).expect("pinned keys under fixtures/keys/ load")
        })
    }

    fn with_keys(key_kind: KeyKind, keys: Keys) -> Result<Self, Error> {
        let kind = key_kind.name();
        let root = Authority::root(
            format!("streamsocket testpki root ({kind})"),
            Serial::ROOT,
            keys.root,
        )?;
        let intermediate = Authority::issued(
            format!("streamsocket testpki intermediate ({kind})"),
            Serial::INTERMEDIATE,
            IsCa::Ca(BasicConstraints::Constrained(0)),
            keys.intermediate,
            &root,
        )?;
        // The same key as the real intermediate, so the not-a-CA case differs in one thing.
        let intermediate_not_ca_key = keys.intermediate_again;
        let intermediate_not_ca = Authority::issued(
            format!("streamsocket testpki intermediate without ca ({kind})"),
            Serial::INTERMEDIATE_NOT_CA,
            IsCa::ExplicitNoCa,
            intermediate_not_ca_key,
            &root,
        )?;
        let rogue_root = Authority::root(
            format!("streamsocket testpki untrusted root ({kind})"),
            Serial::ROGUE_ROOT,
            keys.rogue_root,
        )?;
        let rogue_intermediate = Authority::issued(
            format!("streamsocket testpki untrusted intermediate ({kind})"),
            Serial::ROGUE_INTERMEDIATE,
            IsCa::Ca(BasicConstraints::Constrained(0)),
            keys.rogue_intermediate,
            &rogue_root,
        )?;
        let intermediate_crl = crl(
            &intermediate,
            Serial::INTERMEDIATE_CRL,
            vec![RevokedCertParams {
                serial_number: serial(Serial::server(Scenario::Revoked)),
                revocation_time: clock::revocation_time(),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            }],
            clock::crl(),
        )?;
        let root_crl = crl(&root, Serial::ROOT_CRL, Vec::new(), clock::crl())?;
        Ok(Self {
            key_kind,
            root,
            intermediate,
            intermediate_not_ca,
            rogue_root,
            rogue_intermediate,
            leaf_key: keys.leaf,
            client_key: keys.client,
            intermediate_crl,
            root_crl,
        })
    }

    /// The key kind of every certificate in this PKI.
    pub fn key_kind(&self) -> KeyKind {
        self.key_kind
    }

    /// The root certificate, what clients trust in every scenario.
    pub fn root_der(&self) -> CertificateDer<'static> {
        self.root.der.clone()
    }

    /// The root certificate in PEM.
    pub fn root_pem(&self) -> String {
        crate::pem::encode("CERTIFICATE", &self.root.der)
    }

    /// The intermediate certificate that signs the valid leaves.
    pub fn intermediate_der(&self) -> CertificateDer<'static> {
        self.intermediate.der.clone()
    }

    /// The root of the foreign chain in [`Scenario::UntrustedRoot`] and of untrusted client
    /// certificates; never among the trust anchors this crate hands out.
    pub fn untrusted_root_der(&self) -> CertificateDer<'static> {
        self.rogue_root.der.clone()
    }

    /// What a server must trust to accept [`Pki::client`]`(true)` certificates: the root.
    pub fn client_ca_der(&self) -> CertificateDer<'static> {
        self.root_der()
    }

    /// Issues the server certificate chain and key for `scenario`.
    pub fn server(&self, scenario: Scenario) -> Result<ServerIdentity, Error> {
        let serial = Serial::server(scenario);
        let leaf_key = &self.leaf_key;
        let params = |names: &[&str], validity: Validity, eku: ExtendedKeyUsagePurpose| {
            leaf_params(self.key_kind, names, serial, validity, eku)
        };
        let valid_names = VALID_NAMES;
        let server_auth = ExtendedKeyUsagePurpose::ServerAuth;
        let intermediate = self.intermediate.issuer();
        let trusted = vec![self.root_der()];

        let signed_by_intermediate = |params: CertificateParams| -> Result<_, Error> {
            let leaf = params.signed_by(leaf_key, &intermediate)?;
            Ok(vec![leaf.into(), self.intermediate.der.clone()])
        };
        let mut crls = Vec::new();
        let chain = match scenario {
            Scenario::Valid => {
                signed_by_intermediate(params(&valid_names, clock::valid(), server_auth)?)?
            }
            Scenario::Expired => {
                signed_by_intermediate(params(&valid_names, clock::expired(), server_auth)?)?
            }
            Scenario::NotYetValid => {
                signed_by_intermediate(params(&valid_names, clock::not_yet_valid(), server_auth)?)?
            }
            Scenario::WrongHost => {
                signed_by_intermediate(params(&[WRONG_HOST], clock::valid(), server_auth)?)?
            }
            Scenario::SelfSigned => {
                let leaf = params(&valid_names, clock::valid(), server_auth)?;
                vec![leaf.self_signed(leaf_key)?.into()]
            }
            Scenario::UntrustedRoot => {
                let leaf = params(&valid_names, clock::valid(), server_auth)?
                    .signed_by(leaf_key, &self.rogue_intermediate.issuer())?;
                // The server sends the whole foreign chain, root included, so a client can tell
                // this apart from a missing intermediate: the chain ends in a self-signed root
                // it does not trust (openssl: "self-signed certificate in certificate chain").
                vec![
                    leaf.into(),
                    self.rogue_intermediate.der.clone(),
                    self.rogue_root.der.clone(),
                ]
            }
            Scenario::MissingIntermediate => {
                let mut chain =
                    signed_by_intermediate(params(&valid_names, clock::valid(), server_auth)?)?;
                chain.truncate(1);
                chain
            }
            Scenario::WrongEku => signed_by_intermediate(params(
                &valid_names,
                clock::valid(),
                ExtendedKeyUsagePurpose::ClientAuth,
            )?)?,
            Scenario::IntermediateNotCa => {
                let leaf = params(&valid_names, clock::valid(), server_auth)?
                    .signed_by(leaf_key, &self.intermediate_not_ca.issuer())?;
                vec![leaf.into(), self.intermediate_not_ca.der.clone()]
            }
            Scenario::Revoked => {
                crls = vec![self.intermediate_crl.clone(), self.root_crl.clone()];
                signed_by_intermediate(params(&valid_names, clock::valid(), server_auth)?)?
            }
            Scenario::BadSignature => {
                let mut chain =
                    signed_by_intermediate(params(&valid_names, clock::valid(), server_auth)?)?;
                if let Some(leaf) = chain.first_mut() {
                    *leaf = crate::der::corrupt_signature(leaf)?;
                }
                chain
            }
            Scenario::ForgedSignature => {
                // A forger's issuer: the intermediate's name and key identifier (so every
                // verifier picks the real intermediate as the issuer, openssl's AKI matching
                // included), with the untrusted intermediate's key (of the same type, so only the
                // signature is wrong).
                let mut forger_params = self.intermediate.params.clone();
                forger_params.key_identifier_method = KeyIdMethod::PreSpecified(
                    self.intermediate
                        .params
                        .key_identifier(&self.intermediate.key),
                );
                let forger = Issuer::from_params(&forger_params, &self.rogue_intermediate.key);
                let leaf = params(&valid_names, clock::valid(), server_auth)?
                    .signed_by(leaf_key, &forger)?;
                vec![leaf.into(), self.intermediate.der.clone()]
            }
            Scenario::AttackerRootExpired => {
                let leaf = params(&valid_names, clock::valid(), server_auth)?
                    .signed_by(leaf_key, &self.rogue_intermediate.issuer())?;
                // The untrusted root again, same name and key (so it still signs the untrusted
                // intermediate), with the expired window and a serial of its own.
                let expired = clock::expired();
                let mut root = self.rogue_root.params.clone();
                root.serial_number = Some(self::serial(Serial::ROGUE_ROOT_EXPIRED));
                root.not_before = expired.not_before;
                root.not_after = expired.not_after;
                vec![
                    leaf.into(),
                    self.rogue_intermediate.der.clone(),
                    root.self_signed(&self.rogue_root.key)?.into(),
                ]
            }
            Scenario::CaLeaf => {
                let mut leaf = params(&valid_names, clock::valid(), server_auth)?;
                leaf.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                signed_by_intermediate(leaf)?
            }
            Scenario::StaleCrl => {
                // Both CRLs, so nothing but their age is wrong: the leaf is not listed and the
                // intermediate's status is known.
                crls = vec![
                    crl(
                        &self.intermediate,
                        Serial::STALE_INTERMEDIATE_CRL,
                        Vec::new(),
                        clock::expired(),
                    )?,
                    crl(
                        &self.root,
                        Serial::STALE_ROOT_CRL,
                        Vec::new(),
                        clock::expired(),
                    )?,
                ];
                signed_by_intermediate(params(&valid_names, clock::valid(), server_auth)?)?
            }
        };
        Ok(ServerIdentity {
            scenario,
            key_kind: self.key_kind,
            chain,
            key: private_key(leaf_key),
            trust_anchors: trusted,
            crls,
            expected_error: scenario.expected_error(),
            expected_errors: scenario.expected_errors(),
        })
    }

    /// Issues a client certificate for mutual TLS.
    ///
    /// `trusted`: root -> intermediate -> client leaf, accepted by a server trusting
    /// [`Pki::client_ca_der`]. Otherwise: the same kind of leaf under the untrusted root, which
    /// such a server must reject.
    pub fn client(&self, trusted: bool) -> Result<ClientIdentity, Error> {
        let (serial, authority) = if trusted {
            (Serial::CLIENT, &self.intermediate)
        } else {
            (Serial::CLIENT_UNTRUSTED, &self.rogue_intermediate)
        };
        let mut params = leaf_params(
            self.key_kind,
            &[],
            serial,
            clock::valid(),
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
        params
            .distinguished_name
            .push(DnType::CommonName, "streamsocket testpki client");
        let leaf = params.signed_by(&self.client_key, &authority.issuer())?;
        Ok(ClientIdentity {
            trusted,
            key_kind: self.key_kind,
            chain: vec![leaf.into(), authority.der.clone()],
            key: private_key(&self.client_key),
        })
    }
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys stay out of debug output.
        f.debug_struct("Pki")
            .field("key_kind", &self.key_kind)
            .finish_non_exhaustive()
    }
}

/// What a server presents for one scenario, and what a client must be given to judge it.
#[derive(Debug)]
pub struct ServerIdentity {
    /// The scenario this identity was issued for.
    pub scenario: Scenario,
    /// The key type of the leaf (and of the CAs).
    pub key_kind: KeyKind,
    /// What the server sends, leaf first: leaf and intermediate, except for
    /// [`Scenario::MissingIntermediate`] and [`Scenario::SelfSigned`] (the leaf only) and
    /// [`Scenario::UntrustedRoot`] and [`Scenario::AttackerRootExpired`] (leaf, intermediate
    /// and the untrusted root).
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key (PKCS#8).
    pub key: PrivateKeyDer<'static>,
    /// What a client must trust: always the project root (for [`Scenario::UntrustedRoot`],
    /// [`Scenario::AttackerRootExpired`] and [`Scenario::SelfSigned`] it did not sign this
    /// chain).
    pub trust_anchors: Vec<CertificateDer<'static>>,
    /// CRLs a client must be given: for [`Scenario::Revoked`], the intermediate's CRL listing the
    /// leaf and the root's empty CRL (so the intermediate's status is known too); for
    /// [`Scenario::StaleCrl`], an intermediate's CRL that does not list the leaf and the root's
    /// empty CRL, both past their nextUpdate; otherwise empty.
    pub crls: Vec<CertificateRevocationListDer<'static>>,
    /// The primary class a correct client must report ([`Scenario::expected_error`]); `None`
    /// means the handshake must succeed.
    pub expected_error: Option<ExpectedError>,
    /// Every class a correct client must report ([`Scenario::expected_errors`]), the primary
    /// one first.
    pub expected_errors: &'static [ExpectedError],
}

impl Clone for ServerIdentity {
    fn clone(&self) -> Self {
        Self {
            scenario: self.scenario,
            key_kind: self.key_kind,
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            trust_anchors: self.trust_anchors.clone(),
            crls: self.crls.clone(),
            expected_error: self.expected_error,
            expected_errors: self.expected_errors,
        }
    }
}

/// A client certificate chain and key for mutual TLS.
#[derive(Debug)]
pub struct ClientIdentity {
    /// Whether a server trusting [`Pki::client_ca_der`] accepts it.
    pub trusted: bool,
    /// The key type of the leaf.
    pub key_kind: KeyKind,
    /// What the client sends, leaf first (leaf and the intermediate that signed it).
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key (PKCS#8).
    pub key: PrivateKeyDer<'static>,
}

impl Clone for ClientIdentity {
    fn clone(&self) -> Self {
        Self {
            trusted: self.trusted,
            key_kind: self.key_kind,
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

/// A CA: its parameters (to sign with), its key and its certificate.
struct Authority {
    params: CertificateParams,
    key: KeyPair,
    der: CertificateDer<'static>,
}

impl Authority {
    fn root(common_name: String, serial: (u8, u8), key: KeyPair) -> Result<Self, Error> {
        let params = ca_params(
            common_name,
            serial,
            IsCa::Ca(BasicConstraints::Unconstrained),
        );
        let der = params.self_signed(&key)?.into();
        Ok(Self { params, key, der })
    }

    fn issued(
        common_name: String,
        serial: (u8, u8),
        is_ca: IsCa,
        key: KeyPair,
        issuer: &Self,
    ) -> Result<Self, Error> {
        let mut params = ca_params(common_name, serial, is_ca);
        params.use_authority_key_identifier_extension = true;
        let der = params.signed_by(&key, &issuer.issuer())?.into();
        Ok(Self { params, key, der })
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

/// Every key a [`Pki`] needs.
struct Keys {
    root: KeyPair,
    intermediate: KeyPair,
    /// A second copy of the intermediate key, for the `CA:FALSE` intermediate.
    intermediate_again: KeyPair,
    leaf: KeyPair,
    client: KeyPair,
    rogue_root: KeyPair,
    rogue_intermediate: KeyPair,
}

impl Keys {
    fn generate(key_kind: KeyKind) -> Result<Self, Error> {
        let alg = key_kind.algorithm();
        let intermediate = KeyPair::generate_for(alg)?;
        let intermediate_again = copy_key(&intermediate, alg)?;
        Ok(Self {
            root: KeyPair::generate_for(alg)?,
            intermediate,
            intermediate_again,
            leaf: KeyPair::generate_for(alg)?,
            client: KeyPair::generate_for(alg)?,
            rogue_root: KeyPair::generate_for(alg)?,
            rogue_intermediate: KeyPair::generate_for(alg)?,
        })
    }

    fn pinned(key_kind: KeyKind) -> Result<Self, Error> {
        let load = |role: KeyRole| crate::pinned::load(key_kind, role);
        Ok(Self {
            root: load(KeyRole::Root)?,
            intermediate: load(KeyRole::Intermediate)?,
            intermediate_again: load(KeyRole::Intermediate)?,
            leaf: load(KeyRole::Leaf)?,
            client: load(KeyRole::Client)?,
            rogue_root: load(KeyRole::RogueRoot)?,
            rogue_intermediate: load(KeyRole::RogueIntermediate)?,
        })
    }
}

/// What a key is used for; one pinned key file per role and key kind.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum KeyRole {
    Client,
    Intermediate,
    Leaf,
    RogueIntermediate,
    RogueRoot,
    Root,
}

impl KeyRole {
    #[cfg(test)]
    pub(crate) const ALL: [Self; 6] = [
        Self::Client,
        Self::Intermediate,
        Self::Leaf,
        Self::RogueIntermediate,
        Self::RogueRoot,
        Self::Root,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Intermediate => "intermediate",
            Self::Leaf => "leaf",
            Self::RogueIntermediate => "rogue-intermediate",
            Self::RogueRoot => "rogue-root",
            Self::Root => "root",
        }
    }
}

/// Fixed serial numbers (two bytes, positive), so certificates are stable.
struct Serial;

impl Serial {
    const ROOT: (u8, u8) = (0x01, 0x01);
    const INTERMEDIATE: (u8, u8) = (0x01, 0x02);
    const INTERMEDIATE_NOT_CA: (u8, u8) = (0x01, 0x03);
    const ROGUE_ROOT: (u8, u8) = (0x01, 0x04);
    const ROGUE_INTERMEDIATE: (u8, u8) = (0x01, 0x05);
    /// The untrusted root re-issued with the expired window ([`Scenario::AttackerRootExpired`]).
    const ROGUE_ROOT_EXPIRED: (u8, u8) = (0x01, 0x06);
    const CLIENT: (u8, u8) = (0x30, 0x01);
    const CLIENT_UNTRUSTED: (u8, u8) = (0x30, 0x02);
    const ROOT_CRL: (u8, u8) = (0x40, 0x01);
    const INTERMEDIATE_CRL: (u8, u8) = (0x40, 0x02);
    const STALE_ROOT_CRL: (u8, u8) = (0x40, 0x03);
    const STALE_INTERMEDIATE_CRL: (u8, u8) = (0x40, 0x04);

    fn server(scenario: Scenario) -> (u8, u8) {
        (0x20, scenario.index())
    }
}

fn serial((high, low): (u8, u8)) -> SerialNumber {
    SerialNumber::from_slice(&[high, low])
}

fn distinguished_name(common_name: impl Into<String>) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::OrganizationName, ORGANISATION);
    name.push(DnType::CommonName, common_name.into());
    name
}

fn ca_params(common_name: String, serial_number: (u8, u8), is_ca: IsCa) -> CertificateParams {
    let validity = clock::ca();
    let mut params = CertificateParams::default();
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.serial_number = Some(serial(serial_number));
    params.distinguished_name = distinguished_name(common_name);
    params.is_ca = is_ca;
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.key_identifier_method = KeyIdMethod::Sha256;
    params
}

/// A leaf's parameters; `names` become SANs (IP addresses or DNS names) and the first one the
/// common name.
fn leaf_params(
    key_kind: KeyKind,
    names: &[&str],
    serial_number: (u8, u8),
    validity: Validity,
    eku: ExtendedKeyUsagePurpose,
) -> Result<CertificateParams, Error> {
    let mut params = CertificateParams::default();
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.serial_number = Some(serial(serial_number));
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::OrganizationName, ORGANISATION);
    if let Some(first) = names.first() {
        params.distinguished_name.push(DnType::CommonName, *first);
    }
    params.subject_alt_names = names
        .iter()
        .map(|name| match name.parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => Ok(SanType::DnsName((*name).try_into()?)),
        })
        .collect::<Result<_, rcgen::Error>>()?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = match key_kind {
        // RSA keys may also be used for RSA key transport by old TLS 1.2 peers.
        KeyKind::Rsa2048 => vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ],
        KeyKind::EcdsaP256 | KeyKind::Ed25519 => vec![KeyUsagePurpose::DigitalSignature],
    };
    params.extended_key_usages = vec![eku];
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = KeyIdMethod::Sha256;
    Ok(params)
}

fn crl(
    authority: &Authority,
    number: (u8, u8),
    revoked_certs: Vec<RevokedCertParams>,
    validity: Validity,
) -> Result<CertificateRevocationListDer<'static>, Error> {
    let params = CertificateRevocationListParams {
        this_update: validity.not_before,
        next_update: validity.not_after,
        crl_number: serial(number),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    Ok(params.signed_by(&authority.issuer())?.der().clone())
}

fn private_key(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

fn copy_key(key: &KeyPair, alg: &'static rcgen::SignatureAlgorithm) -> Result<KeyPair, Error> {
    let der = PrivatePkcs8KeyDer::from(key.serialized_der());
    Ok(KeyPair::from_pkcs8_der_and_sign_algo(&der, alg)?)
}
