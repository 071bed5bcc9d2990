//! Just enough DER walking to corrupt a certificate's signature without breaking its structure.

use rustls_pki_types::CertificateDer;

use crate::Error;

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;

/// Returns `cert` with the last byte of its signature flipped.
///
/// The certificate is `SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }`
/// and the signature BIT STRING is its last element, so the last byte of the DER is the last byte
/// of the signature. The lengths do not change, so the result still parses; only the signature
/// check fails. (For ECDSA the flipped byte is the low byte of the `s` INTEGER, which stays a
/// minimal encoding.)
pub(crate) fn corrupt_signature(
    cert: &CertificateDer<'_>,
) -> Result<CertificateDer<'static>, Error> {
    let der = cert.as_ref();
    let outer = Tlv::read(der)?;
    if outer.tag != SEQUENCE || outer.end() != der.len() {
        return Err(Error::UnexpectedDer("certificate is not one sequence"));
    }
    let mut rest = outer.contents(der);
    for expected in [SEQUENCE, SEQUENCE] {
        let tlv = Tlv::read(rest)?;
        if tlv.tag != expected {
            return Err(Error::UnexpectedDer(
                "tbs certificate or algorithm is not a sequence",
            ));
        }
        rest = rest.get(tlv.end()..).unwrap_or_default();
    }
    let signature = Tlv::read(rest)?;
    if signature.tag != BIT_STRING || signature.end() != rest.len() {
        return Err(Error::UnexpectedDer(
            "signature is not the final bit string",
        ));
    }
    // One byte of unused-bit count, then at least one signature byte.
    if signature.len < 2 {
        return Err(Error::UnexpectedDer("signature is empty"));
    }
    let mut corrupted = der.to_vec();
    match corrupted.last_mut() {
        Some(last) => *last ^= 0x01,
        None => return Err(Error::UnexpectedDer("certificate is empty")),
    }
    Ok(CertificateDer::from(corrupted))
}

/// One tag-length-value header at the start of a buffer.
struct Tlv {
    tag: u8,
    header: usize,
    len: usize,
}

impl Tlv {
    fn read(input: &[u8]) -> Result<Self, Error> {
        let truncated = Error::UnexpectedDer("truncated tag or length");
        let (&tag, rest) = input.split_first().ok_or(truncated)?;
        let (&first, rest) = rest
            .split_first()
            .ok_or(Error::UnexpectedDer("truncated tag or length"))?;
        let (header, len) = match first {
            0..=0x7f => (2, usize::from(first)),
            0x81..=0x83 => {
                let count = usize::from(first & 0x7f);
                let bytes = rest
                    .get(..count)
                    .ok_or(Error::UnexpectedDer("truncated length"))?;
                let len = bytes
                    .iter()
                    .fold(0usize, |acc, &byte| (acc << 8) | usize::from(byte));
                (2 + count, len)
            }
            _ => return Err(Error::UnexpectedDer("unsupported length encoding")),
        };
        let tlv = Self { tag, header, len };
        if tlv.end() > input.len() {
            return Err(Error::UnexpectedDer("length runs past the end"));
        }
        Ok(tlv)
    }

    fn end(&self) -> usize {
        self.header + self.len
    }

    fn contents<'a>(&self, input: &'a [u8]) -> &'a [u8] {
        input.get(self.header..self.end()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_is_not_a_certificate() {
        for input in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x00],
            &[0x04, 0x00],
            &[0x30, 0x84, 0, 0, 0, 0],
        ] {
            assert!(
                corrupt_signature(&CertificateDer::from(input)).is_err(),
                "{input:?}"
            );
        }
    }

    #[test]
    fn flips_only_the_last_byte_of_a_minimal_certificate_shape() {
        // SEQUENCE { SEQUENCE {}, SEQUENCE {}, BIT STRING { 00 aa bb } }
        let der = [
            0x30, 0x09, 0x30, 0x00, 0x30, 0x00, 0x03, 0x03, 0x00, 0xaa, 0xbb,
        ];
        let out = corrupt_signature(&CertificateDer::from(&der[..])).unwrap();
        let mut expected = der;
        expected[10] = 0xba;
        assert_eq!(out.as_ref(), &expected[..]);
    }
}
