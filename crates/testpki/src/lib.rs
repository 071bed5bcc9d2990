//! Certificate scenarios for TLS tests, issued at run time by rcgen.
//!
//! A [`Pki`] is a throwaway root and intermediate of one [`KeyKind`]. From it,
//! [`Pki::server`] issues what a server presents in each [`Scenario`] (the honest chain and
//! every way a chain can be wrong), together with what a client must be given to judge it (trust
//! anchors, CRLs) and the [`ExpectedError`]s a correct client must report. [`Pki::client`] issues
//! client certificates for mutual TLS.
//!
//! ```text
//!   root ──► intermediate ──► leaf (serverAuth; localhost, 127.0.0.1, ::1, TEST_HOST)
//!     │            ├────────► leaf with CA:TRUE                  (CaLeaf)
//!     │            ├╌╌╌╌╌╌╌╌► leaf signed by another key         (ForgedSignature)
//!     │            └────────► client leaf (clientAuth)
//!     └──► intermediate with CA:FALSE ──► leaf                   (IntermediateNotCa)
//!   untrusted root ──► untrusted intermediate ──► leaf           (UntrustedRoot, untrusted client)
//!   expired untrusted root (same name and key) ──► ... ──► leaf  (AttackerRootExpired)
//! ```
//!
//! The crate does no networking and no TLS; it only makes certificates, keys and CRLs (and PEM
//! files for command-line peers). Validity windows are fixed (see [`clock`]), serial numbers and
//! names are fixed, and [`Pki::shared`] uses keys pinned under `fixtures/keys/`, so Ed25519 and
//! RSA certificates are identical on every run.
//!
//! What verifiers really report (checked by this crate's tests for rustls 0.23 with webpki 0.103
//! and aws-lc-rs, with `enforce_revocation_expiration`, for all three key kinds and both TLS
//! versions; openssl 3.0 `verify -x509_strict` (with `-crl_check_all -CRLfile crl.pem` where there
//! are CRLs) checked by hand, with the chain, `ca.pem` and `crl.pem` from
//! [`ServerIdentity::write_pem`]). rustls and openssl stop at the first problem; the
//! [`ExpectedError`] column is [`Scenario::expected_errors`], the primary class first:
//!
//! | scenario | [`ExpectedError`] | rustls `CertificateError` | openssl |
//! |---|---|---|---|
//! | valid | none | none | OK |
//! | expired | expired | `ExpiredContext` | 10 certificate has expired |
//! | not-yet-valid | not-yet-valid | `NotValidYetContext` | 9 certificate is not yet valid |
//! | wrong-host | invalid-name | `NotValidForNameContext` | 62 hostname mismatch |
//! | self-signed | untrusted | `UnknownIssuer` | 18 self-signed certificate |
//! | untrusted-root | untrusted | `UnknownIssuer` | 19 self-signed certificate in chain |
//! | missing-intermediate | incomplete-chain | `UnknownIssuer` | 20 unable to get local issuer |
//! | wrong-eku | wrong-usage | `InvalidPurposeContext` | 26 unsuitable certificate purpose |
//! | intermediate-not-ca | basic-constraints | `Other(webpki::Error::EndEntityUsedAsCa)` | 79 invalid CA certificate |
//! | revoked | revoked | `Revoked` | 23 certificate revoked |
//! | bad-signature | invalid-signature | `BadSignature` | 7 certificate signature failure |
//! | forged-signature | invalid-signature | `BadSignature` | 7 certificate signature failure |
//! | attacker-root-expired | expired, untrusted | `ExpiredContext` | 19 self-signed certificate in chain |
//! | ca-leaf | basic-constraints | `Other(webpki::Error::CaUsedAsEndEntity)` | OK (openssl accepts a `CA:TRUE` end entity) |
//! | stale-crl | revocation-failure | `ExpiredRevocationListContext` (rustls's default policy: none) | 12 CRL has expired |
//!
//! rustls reports `UnknownIssuer` for three scenarios; a client tells them apart by the chain it
//! was sent: it ends in a self-issued certificate for self-signed and untrusted-root (the server
//! sends the foreign root too), and in the leaf, which is not self-issued, for
//! missing-intermediate.
//!
//! ```
//! use testpki::{ExpectedError, KeyKind, Pki, Scenario};
//!
//! let pki = Pki::shared(KeyKind::Ed25519);
//! let identity = pki.server(Scenario::Expired)?;
//! assert_eq!(identity.chain.len(), 2);
//! assert_eq!(identity.trust_anchors, vec![pki.root_der()]);
//! assert_eq!(identity.expected_error, Some(ExpectedError::Expired));
//!
//! // Two problems at once: an expired root, and one the client does not trust.
//! let identity = pki.server(Scenario::AttackerRootExpired)?;
//! assert_eq!(identity.expected_errors, [ExpectedError::Expired, ExpectedError::Untrusted]);
//! # Ok::<(), testpki::Error>(())
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod clock;
mod der;
mod error;
mod issue;
mod pem;
mod pinned;
mod scenario;

pub use error::Error;
pub use issue::attack::{Attack, AttackIdentity};
pub use issue::{ClientIdentity, Pki, ServerIdentity, WRONG_HOST};
pub use pem::{ClientPemFiles, PemFiles};
pub use scenario::{ExpectedError, KeyKind, Scenario};

/// The test DNS name in the valid leaves' SANs (under the reserved `.test` TLD).
pub const TEST_HOST: &str = "mock.streamsocket.test";

/// Every name the valid leaves carry as SANs: [`TEST_HOST`], `localhost`, `127.0.0.1` and `::1`.
pub const VALID_NAMES: [&str; 4] = [TEST_HOST, "localhost", "127.0.0.1", "::1"];
