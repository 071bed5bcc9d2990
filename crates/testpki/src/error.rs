//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while issuing or writing test certificates.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// rcgen refused to generate a key, or to issue a certificate or CRL.
    #[error("certificate generation failed")]
    Rcgen(#[from] rcgen::Error),
    /// A checked-in key under `fixtures/keys/` could not be loaded.
    #[error("pinned key {name} is unusable")]
    PinnedKey {
        /// The fixture's file name.
        name: String,
        /// Why rcgen rejected it.
        #[source]
        source: rcgen::Error,
    },
    /// A certificate did not have the DER structure needed to corrupt its signature.
    #[error("certificate der has an unexpected structure: {0}")]
    UnexpectedDer(&'static str),
    /// A private key in a format PEM output does not know.
    #[error("unsupported private key format")]
    UnsupportedKeyFormat,
    /// Writing a PEM file failed.
    #[error("cannot write {path}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// A name could not be parsed (key kind, scenario or expected error).
    #[error("unknown {what} {value:?} (expected one of: {expected})")]
    UnknownName {
        /// What kind of name was being parsed.
        what: &'static str,
        /// The rejected input.
        value: String,
        /// The accepted spellings.
        expected: &'static str,
    },
}
