//! Shares: the versioned share format (v1), its text form, and Shamir split/combine.
//!
//! A share is a public [`ShareHeader`] (format version, set id, threshold k, count n, index,
//! key fingerprint) plus a secret [`SharePoint`] (the 32 y-values). Its binary form is 60
//! bytes; its text form ([`text`]) is what sealed files, paper sheets and QR codes hold.
//! The byte layout is specified in docs/formats.md; change nothing here without a new version.

pub mod attest;
pub mod correction;
pub mod decode;
pub mod gf256;
#[cfg(test)]
pub(crate) mod sample;
pub mod shamir;
pub mod slip39;
pub mod text;

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::fingerprint::{Fingerprint, FINGERPRINT_LEN};
use crate::secret::{SharePoint, KEY_LEN};

/// The share format version this code writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// Length of a set id in bytes.
pub const SET_ID_LEN: usize = 8;

/// Length of a v1 share in its binary form.
pub const SHARE_LEN: usize = 1 + SET_ID_LEN + 3 + FINGERPRINT_LEN + KEY_LEN;

/// Domain separation for share commitments.
const COMMITMENT_DOMAIN: &[u8] = b"custody share commitment v1\0";

/// A share set's random identifier: every share and the manifest carry it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SetId([u8; SET_ID_LEN]);

impl SetId {
    /// A fresh random set id.
    pub fn generate() -> Result<Self, crate::Error> {
        let mut bytes = [0u8; SET_ID_LEN];
        crate::secret::fill_random(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// Wraps raw bytes.
    pub fn from_bytes(bytes: [u8; SET_ID_LEN]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; SET_ID_LEN] {
        &self.0
    }
}

impl fmt::Display for SetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for SetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SetId({self})")
    }
}

impl FromStr for SetId {
    type Err = hex::FromHexError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; SET_ID_LEN];
        hex::decode_to_slice(text, &mut bytes)?;
        Ok(Self(bytes))
    }
}

/// The public facts a share carries about itself and its set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareHeader {
    /// The set this share belongs to.
    pub set_id: SetId,
    /// k: shares needed to reconstruct.
    pub threshold: u8,
    /// n: shares in the set when this one was made.
    pub count: u8,
    /// This share's x-coordinate, 1 ≤ index ≤ n.
    pub index: u8,
    /// The fingerprint of the key the set reconstructs.
    pub fingerprint: Fingerprint,
}

/// Why bytes or text are not a valid v1 share.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareFormatError {
    /// Not prefixed `custody1`.
    #[error("not a custody share (the text must start with \"custody1\")")]
    NotAShare,
    /// A character outside the share alphabet (which has no 1, b, i or o after the prefix).
    #[error(
        "the text holds a character that is not in the share alphabet (1, b, i and o never occur)"
    )]
    Alphabet,
    /// The checksum does not match: a typo, a missing or an extra character.
    #[error("the checksum does not match (a character is wrong, missing or extra)")]
    Checksum,
    /// The payload has the wrong length.
    #[error("the share is {found} bytes long, a v1 share is {SHARE_LEN}")]
    Length {
        /// Bytes found.
        found: usize,
    },
    /// A format version this code does not know.
    #[error("unknown share format version {0} (this custody reads version {FORMAT_VERSION})")]
    UnknownVersion(u8),
    /// Index 0 would be the key itself.
    #[error("share index 0 is not allowed")]
    IndexZero,
    /// A threshold below two.
    #[error("threshold {0} is below 2")]
    ThresholdBelowTwo(u8),
    /// k greater than n.
    #[error("threshold {threshold} is above the share count {count}")]
    ThresholdAboveCount {
        /// k.
        threshold: u8,
        /// n.
        count: u8,
    },
    /// index greater than n.
    #[error("index {index} is above the share count {count}")]
    IndexAboveCount {
        /// The index.
        index: u8,
        /// n.
        count: u8,
    },
}

impl ShareFormatError {
    /// The error's name in docs/formats.md §11, kebab-case, without its numbers.
    pub fn code(&self) -> &'static str {
        match self {
            ShareFormatError::NotAShare => "not-a-share",
            ShareFormatError::Alphabet => "alphabet",
            ShareFormatError::Checksum => "checksum",
            ShareFormatError::Length { .. } => "length",
            ShareFormatError::UnknownVersion(_) => "unknown-version",
            ShareFormatError::IndexZero => "index-zero",
            ShareFormatError::ThresholdBelowTwo(_) => "threshold-below-two",
            ShareFormatError::ThresholdAboveCount { .. } => "threshold-above-count",
            ShareFormatError::IndexAboveCount { .. } => "index-above-count",
        }
    }
}

/// One plaintext share. No `Debug`, `Clone` or `Serialize`: its point is secret.
///
/// ```compile_fail
/// fn show(share: &custody::share::Share) -> String {
///     format!("{share:?}")
/// }
/// ```
/// ```compile_fail
/// fn copy(share: &custody::share::Share) -> custody::share::Share {
///     share.clone()
/// }
/// ```
/// ```compile_fail
/// fn record(share: &custody::share::Share) -> String {
///     serde_json::to_string(share).unwrap()
/// }
/// ```
pub struct Share {
    header: ShareHeader,
    point: SharePoint,
}

impl Share {
    /// Assembles a share, checking the header's invariants.
    pub fn new(header: ShareHeader, point: SharePoint) -> Result<Self, ShareFormatError> {
        header.check()?;
        Ok(Self { header, point })
    }

    /// The public facts.
    pub fn header(&self) -> &ShareHeader {
        &self.header
    }

    /// The secret y-values.
    pub fn point(&self) -> &SharePoint {
        &self.point
    }

    /// The 60-byte binary form (docs/formats.md, "Share, binary").
    pub fn to_bytes(&self) -> Zeroizing<[u8; SHARE_LEN]> {
        let mut bytes = Zeroizing::new([0u8; SHARE_LEN]);
        bytes[0] = FORMAT_VERSION;
        bytes[1..9].copy_from_slice(self.header.set_id.as_bytes());
        bytes[9] = self.header.threshold;
        bytes[10] = self.header.count;
        bytes[11] = self.header.index;
        bytes[12..28].copy_from_slice(self.header.fingerprint.as_bytes());
        bytes[28..60].copy_from_slice(self.point.expose_bytes());
        bytes
    }

    /// Parses the binary form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ShareFormatError> {
        if bytes.len() != SHARE_LEN {
            return Err(ShareFormatError::Length { found: bytes.len() });
        }
        if bytes[0] != FORMAT_VERSION {
            return Err(ShareFormatError::UnknownVersion(bytes[0]));
        }
        let mut set_id = [0u8; SET_ID_LEN];
        set_id.copy_from_slice(&bytes[1..9]);
        let mut fingerprint = [0u8; FINGERPRINT_LEN];
        fingerprint.copy_from_slice(&bytes[12..28]);
        let mut point = [0u8; KEY_LEN];
        point.copy_from_slice(&bytes[28..60]);
        let header = ShareHeader {
            set_id: SetId(set_id),
            threshold: bytes[9],
            count: bytes[10],
            index: bytes[11],
            fingerprint: Fingerprint::from_bytes(fingerprint),
        };
        Share::new(header, SharePoint::from_bytes(point))
    }

    /// A public commitment to this share: SHA-256 of a domain tag and the binary form.
    ///
    /// The point is 256 uniformly random bits to anyone without k−1 other shares, so the
    /// hash reveals nothing usable, while anyone holding the share can recompute it.
    pub fn commitment(&self) -> Commitment {
        let mut hasher = Sha256::new();
        hasher.update(COMMITMENT_DOMAIN);
        hasher.update(self.to_bytes().as_slice());
        Commitment(hasher.finalize().into())
    }
}

impl ShareHeader {
    /// The rules every share's header keeps: 1 ≤ index ≤ n, 2 ≤ k ≤ n (docs/formats.md §4).
    pub fn check(&self) -> Result<(), ShareFormatError> {
        if self.index == 0 {
            return Err(ShareFormatError::IndexZero);
        }
        if self.threshold < 2 {
            return Err(ShareFormatError::ThresholdBelowTwo(self.threshold));
        }
        if self.threshold > self.count {
            return Err(ShareFormatError::ThresholdAboveCount {
                threshold: self.threshold,
                count: self.count,
            });
        }
        if self.index > self.count {
            return Err(ShareFormatError::IndexAboveCount {
                index: self.index,
                count: self.count,
            });
        }
        Ok(())
    }
}

/// A share's public commitment, as recorded in the manifest.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Commitment([u8; 32]);

impl Commitment {
    /// Wraps a hash computed elsewhere (SLIP-39 shares commit with their own domain tag).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Commitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Commitment({self})")
    }
}

impl FromStr for Commitment {
    type Err = hex::FromHexError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes)?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::sample::sample_header;

    /// The binary form round-trips and has the documented length.
    #[test]
    fn binary_round_trip() {
        let share = Share::new(sample_header(), SharePoint::from_bytes([9; 32])).unwrap();
        let bytes = share.to_bytes();
        assert_eq!(bytes.len(), 60);
        let back = Share::from_bytes(bytes.as_slice()).unwrap();
        assert_eq!(back.header(), share.header());
        assert!(back.point().same_as(share.point()));
        assert_eq!(back.commitment(), share.commitment());
    }

    /// Each header rule is enforced with its own error.
    #[test]
    fn header_rules() {
        let point = || SharePoint::from_bytes([0; 32]);
        let mut h = sample_header();
        h.index = 0;
        assert_eq!(
            Share::new(h, point()).err(),
            Some(ShareFormatError::IndexZero)
        );
        let mut h = sample_header();
        h.threshold = 6;
        assert!(matches!(
            Share::new(h, point()).err(),
            Some(ShareFormatError::ThresholdAboveCount { .. })
        ));
        let mut h = sample_header();
        h.threshold = 1;
        assert_eq!(
            Share::new(h, point()).err(),
            Some(ShareFormatError::ThresholdBelowTwo(1))
        );
        let mut h = sample_header();
        h.index = 6;
        assert!(matches!(
            Share::new(h, point()).err(),
            Some(ShareFormatError::IndexAboveCount { .. })
        ));
        let share = Share::new(sample_header(), point()).unwrap();
        let mut bytes = *share.to_bytes();
        bytes[0] = 2;
        assert_eq!(
            Share::from_bytes(&bytes).err(),
            Some(ShareFormatError::UnknownVersion(2))
        );
        assert_eq!(
            Share::from_bytes(&bytes[..59]).err(),
            Some(ShareFormatError::Length { found: 59 })
        );
    }

    /// Commitments differ between shares that differ only in their point.
    #[test]
    fn commitment_binds_the_point() {
        let a = Share::new(sample_header(), SharePoint::from_bytes([1; 32])).unwrap();
        let b = Share::new(sample_header(), SharePoint::from_bytes([2; 32])).unwrap();
        assert_ne!(a.commitment(), b.commitment());
    }
}
