//! Chains an attacker would serve to a client that ignores some certificate errors:
//! each was once accepted by an ignore-list that trusted an incomplete diagnosis. Every one
//! must be refused by a correct client whatever ignorable class it ignores, except where the
//! variant says otherwise.

use std::fmt;

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyPair, RevokedCertParams,
};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use super::{Authority, Pki, Serial, crl, leaf_params, private_key, serial};
use crate::clock::Validity;
use crate::{Error, Scenario, VALID_NAMES, clock};

/// One attack chain. The names say what is wrong with it; the docs say what an ignore-list that
/// trusted the first error found would have let through.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum Attack {
    /// A clientAuth-only leaf whose issuer name is the intermediate's but which an unrelated key
    /// signed (ignoring `WrongUsage` connected).
    ForgedWrongUsage,
    /// The forged leaf with `CA:true` (ignoring `BasicConstraintsError` connected).
    ForgedCaLeaf,
    /// The forged leaf, expired (ignoring `Expired` connected).
    ForgedExpired,
    /// A clientAuth-only leaf listed in the intermediate's CRL, every CRL given (ignoring
    /// `WrongUsage` connected).
    RevokedWrongUsage,
    /// A revoked leaf with only the intermediate's CRL given, so the intermediate's own status is
    /// unknown (only `RevocationInformationMissing` was reported; ignoring it connected).
    RevokedIntermediateCrlOnly,
    /// A valid leaf under the untrusted root, sent with that root expired (ignoring `Expired`
    /// connected).
    AttackerRootExpired,
    /// The same with the root not yet valid.
    AttackerRootNotYetValid,
    /// A self-signed `CA:true` server certificate, as `openssl req -x509` makes (only
    /// `BasicConstraintsError` was reported; ignoring it connected).
    SelfSignedCa,
    /// The untrusted chain with a `CA:false` intermediate (ignoring `BasicConstraintsError`
    /// connected).
    AttackerIntermediateNotCa,
    /// The untrusted chain with an extra certificate carrying an unknown critical extension
    /// appended (ignoring `UnknownCriticalExtension` connected).
    CriticalExtensionAppended,
    /// The valid chain with CRLs whose nextUpdate has passed (they were used silently). Ignoring
    /// `RevocationFailure` is the one way to accept it.
    StaleCrl,
}

impl Attack {
    /// Every attack, in declaration order.
    pub const ALL: [Self; 11] = [
        Self::ForgedWrongUsage,
        Self::ForgedCaLeaf,
        Self::ForgedExpired,
        Self::RevokedWrongUsage,
        Self::RevokedIntermediateCrlOnly,
        Self::AttackerRootExpired,
        Self::AttackerRootNotYetValid,
        Self::SelfSignedCa,
        Self::AttackerIntermediateNotCa,
        Self::CriticalExtensionAppended,
        Self::StaleCrl,
    ];

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ForgedWrongUsage => "forged-wrong-usage",
            Self::ForgedCaLeaf => "forged-ca-leaf",
            Self::ForgedExpired => "forged-expired",
            Self::RevokedWrongUsage => "revoked-wrong-usage",
            Self::RevokedIntermediateCrlOnly => "revoked-intermediate-crl-only",
            Self::AttackerRootExpired => "attacker-root-expired",
            Self::AttackerRootNotYetValid => "attacker-root-not-yet-valid",
            Self::SelfSignedCa => "self-signed-ca",
            Self::AttackerIntermediateNotCa => "attacker-intermediate-not-ca",
            Self::CriticalExtensionAppended => "critical-extension-appended",
            Self::StaleCrl => "stale-crl",
        }
    }

    fn index(self) -> u8 {
        // Declaration order; `ALL` lists every variant once.
        Self::ALL
            .iter()
            .position(|a| *a == self)
            .map_or(0, |i| i as u8)
    }
}

impl fmt::Display for Attack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An attack chain with what the client is given.
pub struct AttackIdentity {
    /// The attack.
    pub attack: Attack,
    /// What the server sends, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key (PKCS#8): the server has it, so only the chain can be wrong.
    pub key: PrivateKeyDer<'static>,
    /// What the client trusts: the project root.
    pub trust_anchors: Vec<CertificateDer<'static>>,
    /// The CRLs the client is given.
    pub crls: Vec<CertificateRevocationListDer<'static>>,
}

impl fmt::Debug for AttackIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttackIdentity")
            .field("attack", &self.attack)
            .field("chain", &self.chain.len())
            .field("crls", &self.crls.len())
            .finish_non_exhaustive()
    }
}

impl Pki {
    /// Issues the chain of `attack`.
    pub fn attack(&self, attack: Attack) -> Result<AttackIdentity, Error> {
        let server_auth = || ExtendedKeyUsagePurpose::ServerAuth;
        let client_auth = || ExtendedKeyUsagePurpose::ClientAuth;
        let own_serial = (0x50, attack.index());
        let leaf = |serial: (u8, u8), validity: Validity, eku| {
            leaf_params(self.key_kind, &VALID_NAMES, serial, validity, eku)
        };
        // The intermediate's name with the untrusted intermediate's key: a forger's issuer.
        let forger = Issuer::from_params(&self.intermediate.params, &self.rogue_intermediate.key);
        let sign = |params: CertificateParams, issuer: &Issuer<'_, &KeyPair>| -> Result<_, Error> {
            Ok(CertificateDer::from(
                params.signed_by(&self.leaf_key, issuer)?,
            ))
        };
        let untrusted_chain = |root: CertificateDer<'static>, intermediate: &Authority| {
            let leaf = sign(
                leaf(own_serial, clock::valid(), server_auth())?,
                &intermediate.issuer(),
            )?;
            Ok::<_, Error>(vec![leaf, intermediate.der.clone(), root])
        };
        let mut crls = Vec::new();
        let chain = match attack {
            Attack::ForgedWrongUsage => vec![
                sign(leaf(own_serial, clock::valid(), client_auth())?, &forger)?,
                self.intermediate.der.clone(),
            ],
            Attack::ForgedCaLeaf => {
                let mut params = leaf(own_serial, clock::valid(), server_auth())?;
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                vec![sign(params, &forger)?, self.intermediate.der.clone()]
            }
            Attack::ForgedExpired => vec![
                sign(leaf(own_serial, clock::expired(), server_auth())?, &forger)?,
                self.intermediate.der.clone(),
            ],
            Attack::RevokedWrongUsage | Attack::RevokedIntermediateCrlOnly => {
                // The serial the intermediate's CRL lists.
                let revoked = Serial::server(Scenario::Revoked);
                let eku = if attack == Attack::RevokedWrongUsage {
                    client_auth()
                } else {
                    server_auth()
                };
                crls.push(self.intermediate_crl.clone());
                if attack == Attack::RevokedWrongUsage {
                    crls.push(self.root_crl.clone());
                }
                vec![
                    sign(
                        leaf(revoked, clock::valid(), eku)?,
                        &self.intermediate.issuer(),
                    )?,
                    self.intermediate.der.clone(),
                ]
            }
            Attack::AttackerRootExpired | Attack::AttackerRootNotYetValid => {
                // The untrusted root again, same name and key, outside its validity.
                let validity = if attack == Attack::AttackerRootExpired {
                    clock::expired()
                } else {
                    clock::not_yet_valid()
                };
                let mut params = self.rogue_root.params.clone();
                params.not_before = validity.not_before;
                params.not_after = validity.not_after;
                // A serial of its own: one issuer never has two certificates with one serial.
                params.serial_number = Some(serial((0x51, 0x03 + attack.index())));
                let root = params.self_signed(&self.rogue_root.key)?.into();
                untrusted_chain(root, &self.rogue_intermediate)?
            }
            Attack::SelfSignedCa => {
                let mut params = leaf(own_serial, clock::valid(), server_auth())?;
                params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
                vec![params.self_signed(&self.leaf_key)?.into()]
            }
            Attack::AttackerIntermediateNotCa => {
                let not_ca = Authority::issued(
                    "streamsocket testpki untrusted intermediate without ca".to_owned(),
                    (0x51, 0x01),
                    IsCa::ExplicitNoCa,
                    super::copy_key(&self.rogue_intermediate.key, self.key_kind.algorithm())?,
                    &self.rogue_root,
                )?;
                untrusted_chain(self.rogue_root.der.clone(), &not_ca)?
            }
            Attack::CriticalExtensionAppended => {
                let mut chain =
                    untrusted_chain(self.rogue_root.der.clone(), &self.rogue_intermediate)?;
                let mut params = self.rogue_root.params.clone();
                params.serial_number = Some(serial((0x51, 0x02)));
                // A private-arc OID no verifier knows, marked critical.
                let mut ext =
                    CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55555, 7], vec![5, 0]);
                ext.set_criticality(true);
                params.custom_extensions.push(ext);
                chain.push(params.self_signed(&self.rogue_root.key)?.into());
                chain
            }
            Attack::StaleCrl => {
                crls.push(crl(
                    &self.intermediate,
                    (0x41, 0x02),
                    Vec::<RevokedCertParams>::new(),
                    clock::expired(),
                )?);
                crls.push(crl(&self.root, (0x41, 0x01), Vec::new(), clock::expired())?);
                vec![
                    sign(
                        leaf(own_serial, clock::valid(), server_auth())?,
                        &self.intermediate.issuer(),
                    )?,
                    self.intermediate.der.clone(),
                ]
            }
        };
        Ok(AttackIdentity {
            attack,
            chain,
            key: private_key(&self.leaf_key),
            trust_anchors: vec![self.root_der()],
            crls,
        })
    }
}
