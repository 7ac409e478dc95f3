//! The sample share of docs/formats.md (§5 and the share vector of §11.2), the one fixture the
//! unit tests across the crate build shares and texts from.

use crate::fingerprint::Fingerprint;
use crate::secret::SharePoint;
use crate::share::{SetId, Share, ShareHeader};

/// The sample share's text, as docs/formats.md prints it.
pub(crate) const SAMPLE_TEXT: &str = "CUSTODY1QYQJX3T83X4UMMCRQ5PZCP8XWESTYCPXHXN4T0PPCDNCPG9P5236FFDX5752N24T4JK6ATASKXET8D94K6MM3WD6HW7TM04LS5GXE5DF3EDMH6K";

/// The sample share's header: share 2 of a 3-of-5 set `0123456789abcdef` of the all-ones key.
pub(crate) fn sample_header() -> ShareHeader {
    ShareHeader {
        set_id: SetId::from_bytes([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]),
        threshold: 3,
        count: 5,
        index: 2,
        fingerprint: Fingerprint::from_bytes([
            0x2c, 0x04, 0xe6, 0x76, 0x60, 0xb2, 0x60, 0x26, 0xb9, 0xa7, 0x55, 0xbc, 0x21, 0xc3,
            0x67, 0x80,
        ]),
    }
}

/// The sample share: [`sample_header`] with the point a0 a1 … bf.
pub(crate) fn sample_share() -> Share {
    let point = SharePoint::from_bytes(std::array::from_fn(|i| 0xa0 + i as u8));
    Share::new(sample_header(), point).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    /// The fixture is the documented share: its fields give the documented text.
    #[test]
    fn sample_share_is_the_documented_text() {
        assert_eq!(sample_share().to_text().expose_secret(), SAMPLE_TEXT);
    }
}
