//! The key's public fingerprint (SPEC §3) and its speakable form.
//!
//! `fingerprint(K)` is the first 16 bytes of HMAC-SHA256 keyed with K over the ASCII message
//! `custody fingerprint v1`, written as lowercase hex in 8 groups of 4 joined by `-`. It is safe
//! to print, log, write on paper and read aloud; it is not a secret and says nothing usable
//! about K.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::pgp_words::words_of;

/// The HMAC message that defines fingerprint version 1.
pub const FINGERPRINT_MESSAGE: &[u8] = b"custody fingerprint v1";

/// Length of a fingerprint in bytes.
pub const FINGERPRINT_LEN: usize = 16;

/// A key's public fingerprint.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; FINGERPRINT_LEN]);

/// SHA-256 of public bytes (sealed files, manifests, binaries), as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Fingerprint {
    /// The fingerprint of raw key bytes. Prefer [`crate::MasterKey::fingerprint`].
    pub(crate) fn of_key_bytes(key: &[u8; 32]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail for 32 bytes.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(FINGERPRINT_MESSAGE);
        let tag = mac.finalize().into_bytes();
        let mut bytes = [0u8; FINGERPRINT_LEN];
        bytes.copy_from_slice(&tag[..FINGERPRINT_LEN]);
        Self(bytes)
    }

    /// Wraps 16 bytes read from a share or manifest.
    pub fn from_bytes(bytes: [u8; FINGERPRINT_LEN]) -> Self {
        Self(bytes)
    }

    /// The 16 fingerprint bytes.
    pub fn as_bytes(&self) -> &[u8; FINGERPRINT_LEN] {
        &self.0
    }

    /// The speakable form: one PGP word per byte, alternating the even and odd word lists.
    pub fn words(&self) -> String {
        words_of(&self.0).join(" ")
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (group, pair) in self.0.chunks(2).enumerate() {
            if group > 0 {
                f.write_str("-")?;
            }
            write!(f, "{:02x}{:02x}", pair[0], pair[1])?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// A string that is not a fingerprint.
#[derive(Debug, thiserror::Error)]
#[error("a fingerprint is 32 hex digits, optionally in groups of 4 joined by '-'")]
pub struct ParseFingerprintError;

impl FromStr for Fingerprint {
    type Err = ParseFingerprintError;

    /// Accepts the printed form, upper or lower case, with or without the dashes.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let digits: String = text.trim().chars().filter(|c| *c != '-').collect();
        let mut bytes = [0u8; FINGERPRINT_LEN];
        hex::decode_to_slice(&digits, &mut bytes).map_err(|_| ParseFingerprintError)?;
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgp_words::{EVEN_WORDS, ODD_WORDS};

    fn of(key: [u8; 32]) -> Fingerprint {
        Fingerprint::of_key_bytes(&key)
    }

    /// SPEC §3 vector: K = 0x00..0x1f.
    #[test]
    fn spec_vector_counting_bytes() {
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        assert_eq!(
            of(key).to_string(),
            "f64b-2984-91d7-9ba0-e7d9-4699-0448-1685"
        );
    }

    /// SPEC §3 vector: K = 32 bytes of 0xff.
    #[test]
    fn spec_vector_all_ones() {
        assert_eq!(
            of([0xff; 32]).to_string(),
            "2c04-e676-60b2-6026-b9a7-55bc-21c3-6780"
        );
    }

    /// The printed form parses back, with or without dashes and in either case.
    #[test]
    fn parses_its_own_display() {
        let fp = of([0xff; 32]);
        assert_eq!(fp.to_string().parse::<Fingerprint>().unwrap(), fp);
        assert_eq!(
            "2C04E67660B26026B9A755BC21C36780"
                .parse::<Fingerprint>()
                .unwrap(),
            fp
        );
        assert!("2c04-e676".parse::<Fingerprint>().is_err());
        assert!("zz04e67660b26026b9a755bc21c36780"
            .parse::<Fingerprint>()
            .is_err());
    }

    /// The word lists reproduce the published PGP word list example (Wikipedia, "PGP word list").
    #[test]
    fn words_match_the_published_example() {
        let bytes = hex::decode("e58294f2e9a227486e8b061b31cc528f").unwrap();
        let fp = Fingerprint::from_bytes(bytes.try_into().unwrap());
        assert_eq!(
            fp.words(),
            "topmost istanbul pluto vagabond treadmill pacific brackish dictator \
             goldfish medusa afflict bravado chatter revolver dupont midsummer"
        );
    }

    /// Each list has 256 distinct words and the two lists share none.
    #[test]
    fn word_lists_are_distinct() {
        let mut all: Vec<&str> = EVEN_WORDS.iter().chain(ODD_WORDS.iter()).copied().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 512);
    }
}
