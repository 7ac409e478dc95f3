//! What a sealed share file says about itself without being opened (`custody inspect`).

use std::path::Path;

use super::age::AgeHeader;
use super::pkcs11::{self, SealedFile};
use crate::error::Error;

/// The public facts of a sealed share file, read without any identity.
#[derive(Debug)]
pub enum SealedFileFacts {
    /// An age file: its header.
    Age(AgeHeader),
    /// A custody PKCS#11 file: the share header, token and key it names.
    Pkcs11(SealedFile),
}

impl SealedFileFacts {
    /// Reads the facts of the sealed file `path` holds (`bytes`): a `.p11` file by its first
    /// line or its name, else an age file. Neither is malformed input (exit 2) naming `path`.
    pub fn read(bytes: &[u8], path: &Path) -> Result<Self, Error> {
        let malformed = |reason: String| Error::Usage(format!("{}: {reason}", path.display()));
        if pkcs11::is_sealed_file(bytes, &path.to_string_lossy()) {
            SealedFile::parse(bytes)
                .map(Self::Pkcs11)
                .map_err(malformed)
        } else {
            AgeHeader::read(bytes).map(Self::Age).map_err(malformed)
        }
    }

    /// The format and version in words, e.g. "age v1, ASCII-armored".
    pub fn format(&self) -> String {
        match self {
            Self::Age(header) => format!(
                "age v1{}",
                if header.armored {
                    ", ASCII-armored"
                } else {
                    ""
                }
            ),
            Self::Pkcs11(sealed) => {
                let header = &sealed.header;
                format!(
                    "custody PKCS#11 share v1: set {}, share {} of {}, {} needed, fingerprint {}",
                    header.set_id, header.index, header.count, header.threshold, header.fingerprint
                )
            }
        }
    }

    /// Whether the file is ASCII-armored.
    pub fn armored(&self) -> bool {
        match self {
            Self::Age(header) => header.armored,
            Self::Pkcs11(_) => false,
        }
    }

    /// Who it is sealed to: the age stanza types, or the token and key.
    pub fn sealed_to(&self) -> Vec<String> {
        match self {
            Self::Age(header) => header.stanza_types.clone(),
            Self::Pkcs11(sealed) => vec![format!(
                "token {:?} (serial {:?}), key {:?} (id {})",
                sealed.token_label,
                sealed.token_serial,
                sealed.key_label,
                hex::encode(&sealed.key_id)
            )],
        }
    }
}
