//! Why a share input was not used: a stable kebab-case code for programs and documents
//! (docs/exit-codes.md lists them), and a sentence for people that names no content.

use std::fmt;

use crate::share::ShareFormatError;

/// A share input that was not used, and why (public: no content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// Where it came from.
    pub name: String,
    /// Why, as a stable code.
    pub code: AsideCode,
    /// Why, in words.
    pub reason: String,
}

impl SetAside {
    /// `name` set aside for `reason`, classed as `code`.
    pub fn new(name: impl Into<String>, code: AsideCode, reason: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            code,
            reason: reason.into(),
        }
    }

    /// A share text that does not parse, classed by what is wrong with it.
    pub fn malformed(name: impl Into<String>, error: &ShareFormatError) -> Self {
        Self::new(name, AsideCode::Malformed(error.code()), error.to_string())
    }

    /// The reason and its code, as messages show them: "… (code)".
    pub fn explained(&self) -> String {
        format!("{} ({})", self.reason, self.code)
    }
}

/// Why a share input was not used, as a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsideCode {
    /// A share text that does not parse; the code is the format error's (docs/formats.md §11).
    Malformed(&'static str),
    /// Bytes that are not UTF-8 text where a share text was expected.
    NotText,
    /// A file or input with no share text in it.
    NoShareText,
    /// A SLIP-39 mnemonic that is not valid SLIP-39.
    BadMnemonic,
    /// A file that could not be read, or a sealed file that is damaged or too large.
    Unreadable,
    /// A sealed file whose content is not a share.
    NotAShareInside,
    /// Its passphrase was not given: the holder is absent.
    NoPassphrase,
    /// A scan with no readable QR code.
    NoQrCode,
    /// A typed share that was not accepted: a line failed its check, or a correction was not
    /// confirmed against the sheet.
    TypedRefused,
    /// A share of another set than the one being recovered.
    OtherSet,
    /// A share of another key (another fingerprint).
    OtherKey,
    /// A share of the other scheme (custody-v1 among SLIP-39, or the reverse).
    OtherScheme,
    /// A share whose index the manifest does not list.
    NotInManifest,
    /// A share that differs from its commitment in the manifest: corrupted or forged.
    CommitmentMismatch,
    /// A share whose header (k, set) disagrees with the verified shares of its set.
    HeaderDisagrees,
    /// A share off the polynomial the others agree on: corrupted or forged.
    OffPolynomial,
    /// A second copy of a share already counted.
    DuplicateCopy,
    /// One of two different shares claiming the same index: neither can be trusted.
    DuplicateIndex,
    /// A genuine share of another set of the same key: not needed.
    Unused,
    /// A quorum response made for another request, or sealed to another transport key.
    OtherRequest,
}

impl AsideCode {
    /// Every code but the format errors', which are listed in docs/formats.md §11.
    pub const ALL: [AsideCode; 19] = [
        AsideCode::NotText,
        AsideCode::NoShareText,
        AsideCode::BadMnemonic,
        AsideCode::Unreadable,
        AsideCode::NotAShareInside,
        AsideCode::NoPassphrase,
        AsideCode::NoQrCode,
        AsideCode::TypedRefused,
        AsideCode::OtherSet,
        AsideCode::OtherKey,
        AsideCode::OtherScheme,
        AsideCode::NotInManifest,
        AsideCode::CommitmentMismatch,
        AsideCode::HeaderDisagrees,
        AsideCode::OffPolynomial,
        AsideCode::DuplicateCopy,
        AsideCode::DuplicateIndex,
        AsideCode::Unused,
        AsideCode::OtherRequest,
    ];

    /// The code, kebab-case.
    pub fn as_str(self) -> &'static str {
        match self {
            AsideCode::Malformed(code) => code,
            AsideCode::NotText => "not-text",
            AsideCode::NoShareText => "no-share-text",
            AsideCode::BadMnemonic => "bad-mnemonic",
            AsideCode::Unreadable => "unreadable",
            AsideCode::NotAShareInside => "not-a-share-inside",
            AsideCode::NoPassphrase => "no-passphrase",
            AsideCode::NoQrCode => "no-qr-code",
            AsideCode::TypedRefused => "typed-refused",
            AsideCode::OtherSet => "other-set",
            AsideCode::OtherKey => "other-key",
            AsideCode::OtherScheme => "other-scheme",
            AsideCode::NotInManifest => "not-in-manifest",
            AsideCode::CommitmentMismatch => "commitment-mismatch",
            AsideCode::HeaderDisagrees => "header-disagrees",
            AsideCode::OffPolynomial => "off-polynomial",
            AsideCode::DuplicateCopy => "duplicate-copy",
            AsideCode::DuplicateIndex => "duplicate-index",
            AsideCode::Unused => "unused",
            AsideCode::OtherRequest => "other-request",
        }
    }
}

impl fmt::Display for AsideCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code is in docs/exit-codes.md's table, so a reader of a report can look it up.
    #[test]
    fn every_code_is_documented() {
        let documented = include_str!("../../../docs/exit-codes.md");
        for code in AsideCode::ALL {
            assert!(
                documented.contains(&format!("| `{code}` |")),
                "docs/exit-codes.md does not list {code}"
            );
        }
        for malformed in ["checksum", "index-zero", "index-above-count"] {
            assert!(documented.contains(&format!("`{malformed}`")));
        }
    }
}
