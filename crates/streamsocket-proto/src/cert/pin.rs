//! Public-key pins: the SHA-256 of a certificate's SubjectPublicKeyInfo (DER), as HPKP (RFC 7469)
//! and `curl --pinnedpubkey sha256//...` write it, in standard base64.
//!
//! A pin is parsed from text (`BASE64`, or `sha256/BASE64` and `sha256//BASE64`), never longer
//! than one base64 SHA-256: the input is refused on its length before anything is decoded.
//!
//! ```
//! use streamsocket_proto::cert::SpkiPin;
//!
//! let pin: SpkiPin = "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=".parse()?;
//! assert_eq!(pin, SpkiPin::of_spki(b""));
//! assert_eq!(pin.to_string(), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
//! # Ok::<(), streamsocket_proto::cert::PinParseError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The length of a SHA-256 in standard base64 with padding.
const ENCODED_LEN: usize = 44;

/// The SHA-256 of a SubjectPublicKeyInfo.
#[derive(Clone, Copy, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct SpkiPin([u8; 32]);

impl SpkiPin {
    /// The pin of a SubjectPublicKeyInfo, given as its DER encoding.
    pub fn of_spki(spki_der: &[u8]) -> Self {
        Self(Sha256::digest(spki_der).into())
    }

    /// The pin of a certificate's public key (`None`: the certificate does not parse).
    pub fn of_certificate(cert_der: &[u8]) -> Option<Self> {
        let (_, cert) = x509_parser::parse_x509_certificate(cert_der).ok()?;
        Some(Self::of_spki(cert.public_key().raw))
    }

    /// A pin from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes of the hash.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for SpkiPin {
    /// Standard base64 with padding, without a prefix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&STANDARD.encode(self.0))
    }
}

impl fmt::Debug for SpkiPin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpkiPin(sha256/{self})")
    }
}

impl Serialize for SpkiPin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl FromStr for SpkiPin {
    type Err = PinParseError;

    /// Accepts `BASE64`, `sha256/BASE64` and `sha256//BASE64` (the prefix in any case), where
    /// `BASE64` is 44 characters of standard base64 with its padding.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let body = strip_prefix(s);
        if body.len() != ENCODED_LEN {
            return Err(PinParseError::Length(body.len()));
        }
        let mut bytes = [0u8; 32];
        match STANDARD.decode_slice(body, &mut bytes) {
            Ok(32) => Ok(Self(bytes)),
            // 44 characters that decode to fewer bytes carry more padding than a SHA-256 has.
            Ok(_) | Err(_) => Err(PinParseError::Base64),
        }
    }
}

/// The base64 part of `s`. The three forms are told apart by their lengths (44, 51, 52), since
/// `/` is a base64 character and base64 text may itself start with `sha256/`.
fn strip_prefix(s: &str) -> &str {
    if s.len() == ENCODED_LEN {
        return s;
    }
    let Some(head) = s.get(..7) else {
        return s;
    };
    if !head.eq_ignore_ascii_case("sha256/") {
        return s;
    }
    let rest = &s[7..];
    if rest.len() == ENCODED_LEN {
        return rest;
    }
    rest.strip_prefix('/').unwrap_or(rest)
}

/// Text that is no pin.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PinParseError {
    /// The base64 part does not have the 44 characters of a SHA-256.
    #[error("a sha256 pin is 44 characters of base64, not {0}")]
    Length(usize),
    /// The base64 part is not standard base64 of 32 bytes.
    #[error("a sha256 pin is standard base64 of 32 bytes")]
    Base64,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The oracle's own encoder: RFC 4648 base64 with padding, written out here so that the
    /// parser is not checked against the library it uses.
    fn encode(bytes: &[u8; 32]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn the_oracle_encoder_agrees_with_a_known_hash() {
        // SHA-256 of the empty string.
        let empty: [u8; 32] = Sha256::digest(b"").into();
        assert_eq!(
            encode(&empty),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn debug_and_serde_write_the_hpkp_form_and_the_bare_base64() {
        let pin = SpkiPin::from_bytes(Sha256::digest(b"").into());
        assert_eq!(
            format!("{pin:?}"),
            "SpkiPin(sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=)"
        );
        assert_eq!(
            serde_json::to_string(&pin).unwrap(),
            "\"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\""
        );
    }

    #[test]
    fn wrong_lengths_and_alphabets_are_refused_with_their_reason() {
        let good = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        assert!(good.parse::<SpkiPin>().is_ok());
        assert_eq!("".parse::<SpkiPin>(), Err(PinParseError::Length(0)));
        assert_eq!(
            good[..43].parse::<SpkiPin>(),
            Err(PinParseError::Length(43))
        );
        assert_eq!("sha256/".parse::<SpkiPin>(), Err(PinParseError::Length(0)));
        // URL-safe base64 is not the pin alphabet.
        let url_safe = good.replace('+', "-").replace('/', "_");
        assert_eq!(url_safe.parse::<SpkiPin>(), Err(PinParseError::Base64));
        // Forty-four characters with two padding characters hold 31 bytes.
        let short = format!("{}==", &good[..42]);
        assert_eq!(short.parse::<SpkiPin>(), Err(PinParseError::Base64));
        // A non-ASCII prefix of seven bytes is not split inside a character.
        assert!("sha2é/".parse::<SpkiPin>().is_err());
        assert!(format!("sha25é{good}").parse::<SpkiPin>().is_err());
        assert!(format!("sha1/{good}").parse::<SpkiPin>().is_err());
        assert!(format!("sha256///{good}").parse::<SpkiPin>().is_err());
        // A base64 text that starts with `/`, or with `sha256/` itself, keeps those characters.
        let slash = format!("/{}", &good[1..]);
        let pin: SpkiPin = format!("sha256/{slash}")
            .parse()
            .expect("a pin starting with /");
        assert_eq!(pin.to_string(), slash);
        assert_eq!(format!("sha256//{slash}").parse::<SpkiPin>(), Ok(pin));
        let lookalike = format!("sha256/{}", &good[7..]);
        assert_eq!(
            lookalike.parse::<SpkiPin>().map(|p| p.to_string()),
            Ok(lookalike)
        );
    }

    proptest! {
        #[test]
        fn a_planted_hash_is_read_back_in_every_accepted_form(
            bytes in any::<[u8; 32]>(),
            prefix in prop::sample::select(vec!["", "sha256/", "sha256//", "SHA256/", "Sha256//"]),
        ) {
            let text = format!("{prefix}{}", encode(&bytes));
            let pin: SpkiPin = text.parse().expect("a planted pin parses");
            prop_assert_eq!(pin.as_bytes(), &bytes);
            prop_assert_eq!(pin.to_string(), encode(&bytes));
        }

        #[test]
        fn a_planted_hash_with_one_character_changed_is_another_pin_or_refused(
            bytes in any::<[u8; 32]>(),
            index in 0usize..44,
            replacement in any::<char>(),
        ) {
            let good = encode(&bytes);
            let mut chars: Vec<char> = good.chars().collect();
            prop_assume!(chars[index] != replacement);
            chars[index] = replacement;
            let text: String = chars.into_iter().collect();
            if let Ok(pin) = text.parse::<SpkiPin>() {
                prop_assert_ne!(pin.as_bytes(), &bytes);
                // Accepted only as 44 characters of the alphabet, padding last.
                prop_assert_eq!(pin.to_string(), text);
            }
        }

        #[test]
        fn any_text_is_parsed_without_panicking_and_only_a_canonical_one_is_accepted(
            text in ".{0,60}",
        ) {
            if let Ok(pin) = text.parse::<SpkiPin>() {
                // Accepted: one of the three prefixes, then the pin's own canonical base64.
                let canonical = pin.to_string();
                prop_assert!(text.ends_with(&canonical), "{text:?} accepted as {pin}");
                let prefix = text[..text.len() - canonical.len()].to_ascii_lowercase();
                prop_assert!(
                    ["", "sha256/", "sha256//"].contains(&prefix.as_str()),
                    "{text:?} accepted with prefix {prefix:?}"
                );
            }
        }
    }
}
