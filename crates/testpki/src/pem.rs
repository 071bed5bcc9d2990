//! PEM output for command-line peers (openssl, curl, gnutls-cli).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::{AttackIdentity, ClientIdentity, Error, ServerIdentity};

/// Where [`ServerIdentity::write_pem`] put its files.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct PemFiles {
    /// `chain.pem`: the certificates the server sends, leaf first.
    pub chain: PathBuf,
    /// `key.pem`: the leaf's private key (PKCS#8, `PRIVATE KEY`).
    pub key: PathBuf,
    /// `ca.pem`: what a client must trust.
    pub ca: PathBuf,
    /// `crl.pem`: the CRLs a client must be given; `None` when the scenario has none.
    pub crl: Option<PathBuf>,
}

/// Where [`ClientIdentity::write_pem`] put its files.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ClientPemFiles {
    /// `client-chain.pem`: the certificates the client sends, leaf first.
    pub chain: PathBuf,
    /// `client-key.pem`: the client's private key (PKCS#8, `PRIVATE KEY`).
    pub key: PathBuf,
}

impl ServerIdentity {
    /// Writes `chain.pem`, `key.pem`, `ca.pem` and (if there are CRLs) `crl.pem` into `dir`,
    /// replacing files of those names.
    pub fn write_pem(&self, dir: &Path) -> Result<PemFiles, Error> {
        write_server(dir, &self.chain, &self.key, &self.trust_anchors, &self.crls)
    }
}

impl AttackIdentity {
    /// Writes the same files as [`ServerIdentity::write_pem`].
    pub fn write_pem(&self, dir: &Path) -> Result<PemFiles, Error> {
        write_server(dir, &self.chain, &self.key, &self.trust_anchors, &self.crls)
    }
}

fn write_server(
    dir: &Path,
    chain: &[CertificateDer<'_>],
    key: &PrivateKeyDer<'_>,
    trust_anchors: &[CertificateDer<'_>],
    crls: &[CertificateRevocationListDer<'_>],
) -> Result<PemFiles, Error> {
    let chain_path = dir.join("chain.pem");
    write(&chain_path, &encode_all("CERTIFICATE", chain))?;
    let key_path = dir.join("key.pem");
    write(&key_path, &encode_key(key)?)?;
    let ca = dir.join("ca.pem");
    write(&ca, &encode_all("CERTIFICATE", trust_anchors))?;
    let crl = if crls.is_empty() {
        None
    } else {
        let path = dir.join("crl.pem");
        write(&path, &encode_all("X509 CRL", crls))?;
        Some(path)
    };
    Ok(PemFiles {
        chain: chain_path,
        key: key_path,
        ca,
        crl,
    })
}

impl ClientIdentity {
    /// Writes `client-chain.pem` and `client-key.pem` into `dir`, replacing files of those names.
    pub fn write_pem(&self, dir: &Path) -> Result<ClientPemFiles, Error> {
        let chain = dir.join("client-chain.pem");
        write(&chain, &encode_all("CERTIFICATE", &self.chain))?;
        let key = dir.join("client-key.pem");
        write(&key, &encode_key(&self.key)?)?;
        Ok(ClientPemFiles { chain, key })
    }
}

/// PEM-encodes one DER object under `label`, 64 base64 characters per line.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let body = base64(der);
    let mut out = String::with_capacity(body.len() + body.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for line in body.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

fn encode_all(label: &str, ders: &[impl AsRef<[u8]>]) -> String {
    ders.iter().map(|der| encode(label, der.as_ref())).collect()
}

fn encode_key(key: &PrivateKeyDer<'_>) -> Result<String, Error> {
    let label = match key {
        PrivateKeyDer::Pkcs8(_) => "PRIVATE KEY",
        PrivateKeyDer::Pkcs1(_) => "RSA PRIVATE KEY",
        PrivateKeyDer::Sec1(_) => "EC PRIVATE KEY",
        _ => return Err(Error::UnsupportedKeyFormat),
    };
    Ok(encode(label, key.secret_der()))
}

fn write(path: &Path, contents: &str) -> Result<(), Error> {
    let result = (|| {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Private keys included: readable by the owner only.
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        file.write_all(contents.as_bytes())?;
        file.flush()
    })();
    result.map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let symbol = |index: u32| char::from(ALPHABET[(index & 0x3f) as usize]);
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let bytes = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let triple = u32::from(bytes[0]) << 16 | u32::from(bytes[1]) << 8 | u32::from(bytes[2]);
        out.push(symbol(triple >> 18));
        out.push(symbol(triple >> 12));
        out.push(if chunk.len() > 1 {
            symbol(triple >> 6)
        } else {
            '='
        });
        out.push(if chunk.len() > 2 { symbol(triple) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }

    #[test]
    fn pem_lines_are_at_most_64_characters() {
        let pem = encode("CERTIFICATE", &[0xab; 200]);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(pem.ends_with("-----END CERTIFICATE-----\n"));
        assert!(pem.lines().all(|line| line.len() <= 64));
    }
}
