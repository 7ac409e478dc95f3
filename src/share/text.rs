//! The share text: the canonical one-line form of a share that paper, QR codes and sealed
//! files hold, and its grouped form for reading and typing.
//!
//! `custody1` + 96 data characters (the 60-byte share in bech32's 32-character alphabet,
//! which has no 1, b, i or o) + 15 checksum characters, 119 in all. The checksum is the BCH
//! code of codex32's "long" checksum (BIP-93): over GF(32), degree 15, length up to 1023, so
//! any 8 wrong characters anywhere in the text are detected (the issue asks for 4; bech32m
//! would only guarantee that up to 89 characters). Case-insensitive; spaces and dashes are
//! ignored on input. The canonical form is upper case, which QR codes store most densely.

use bech32::primitives::decode::{CheckedHrpstring, CheckedHrpstringError};
use bech32::{Checksum, Fe1024, Fe32, Hrp};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::{Share, ShareFormatError};

/// The text's fixed prefix, before the separator `1`.
pub const PREFIX: &str = "custody";

/// Characters per group in the grouped form.
const GROUP_LEN: usize = 4;

/// The share text's checksum: codex32's long BCH code (BIP-93) with its target residue.
#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ShareChecksum {}

impl Checksum for ShareChecksum {
    type MidstateRepr = u128;
    type CorrectionField = Fe1024;
    const ROOT_GENERATOR: Fe1024 = Fe1024::new([Fe32::Y, Fe32::_9]);
    const ROOT_EXPONENTS: core::ops::RangeInclusive<usize> = 1020..=1027;
    const CODE_LENGTH: usize = 1023;
    const CHECKSUM_LENGTH: usize = 15;
    const GENERATOR_SH: [u128; 5] = [
        0x3d59d273535ea62d897,
        0x7a9becb6361c6c51507,
        0x543f9b7e6c38d8a2a0e,
        0x0c577eaeccf1990d13c,
        0x1887f74f8dc71b10651,
    ];
    const TARGET_RESIDUE: u128 = 0x43381e570bf4798ab26;
}

impl Share {
    /// The canonical one-line text: upper case, no spaces.
    pub fn to_text(&self) -> SecretString {
        let bytes = self.to_bytes();
        let hrp = Hrp::parse_unchecked(PREFIX);
        // Encoding 60 bytes cannot exceed the code length; the error arm is unreachable.
        let text =
            bech32::encode_upper::<ShareChecksum>(hrp, bytes.as_slice()).unwrap_or_else(|_| {
                unreachable!("a 119-character share text is within the code length")
            });
        SecretString::from(text)
    }

    /// The text in groups of four for reading aloud and typing, prefix first.
    pub fn to_grouped_text(&self) -> SecretString {
        let text = self.to_text();
        let (prefix, rest) = text.expose_secret().split_at(PREFIX.len() + 1);
        let mut grouped = String::with_capacity(text.expose_secret().len() * 5 / 4 + 1);
        grouped.push_str(prefix);
        for group in rest.as_bytes().chunks(GROUP_LEN) {
            grouped.push(' ');
            grouped.extend(group.iter().map(|&b| char::from(b)));
        }
        SecretString::from(grouped)
    }

    /// Parses a share text in either form: any case, spaces, tabs, newlines and dashes ignored.
    pub fn from_text(text: &str) -> Result<Self, ShareFormatError> {
        let compact: Zeroizing<String> = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_whitespace() && *c != '-')
                .map(|c| c.to_ascii_lowercase())
                .collect(),
        );
        if !compact.starts_with(PREFIX) || compact.as_bytes().get(PREFIX.len()) != Some(&b'1') {
            return Err(ShareFormatError::NotAShare);
        }
        let checked =
            CheckedHrpstring::new::<ShareChecksum>(&compact).map_err(|error| match error {
                CheckedHrpstringError::Checksum(_) => ShareFormatError::Checksum,
                _ => ShareFormatError::Alphabet,
            })?;
        let bytes: Zeroizing<Vec<u8>> = Zeroizing::new(checked.byte_iter().collect());
        Share::from_bytes(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::sample::sample_share;
    use proptest::prelude::*;

    /// The constants describe one generator polynomial (the bech32 crate's own consistency check).
    #[test]
    fn checksum_constants_are_consistent() {
        ShareChecksum::sanity_check();
    }

    /// Canonical and grouped texts parse back to the same share, in any case.
    #[test]
    fn text_round_trips() {
        let share = sample_share();
        let text = share.to_text();
        assert_eq!(text.expose_secret().len(), 119);
        assert!(text.expose_secret().starts_with("CUSTODY1"));
        for form in [
            text.expose_secret().to_string(),
            text.expose_secret().to_lowercase(),
            share.to_grouped_text().expose_secret().to_string(),
        ] {
            let back = Share::from_text(&form).unwrap();
            assert!(back.point().same_as(share.point()));
            assert_eq!(back.header(), share.header());
        }
    }

    /// One to eight distinct positions after the prefix of a 119-character text, each with how
    /// far (1..=31) its character moves through the alphabet: always a different character.
    fn substitutions() -> impl Strategy<Value = Vec<(usize, usize)>> {
        let after_prefix: Vec<usize> = (PREFIX.len() + 1..119).collect();
        (
            proptest::sample::subsequence(after_prefix, 1..=8),
            proptest::collection::vec(1usize..=31, 8),
        )
            .prop_map(|(positions, shifts)| positions.into_iter().zip(shifts).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 20_000,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Up to 8 substituted characters anywhere after the prefix are always detected (sampled).
        #[test]
        fn substitutions_are_detected(substitutions in substitutions()) {
            const ALPHABET: &[u8] = b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";
            let mut mutated = sample_share().to_text().expose_secret().as_bytes().to_vec();
            for &(position, shift) in &substitutions {
                let current = ALPHABET.iter().position(|&c| c == mutated[position]).unwrap();
                mutated[position] = ALPHABET[(current + shift) % 32];
            }
            let mutated = String::from_utf8(mutated).unwrap();
            prop_assert!(
                Share::from_text(&mutated).is_err(),
                "{} substitutions went undetected",
                substitutions.len()
            );
        }
    }

    /// A dropped character, a wrong prefix and a character outside the alphabet are refused.
    #[test]
    fn malformed_texts_are_refused() {
        let text = sample_share().to_text().expose_secret().to_string();
        let mut dropped = text.clone();
        dropped.remove(40);
        assert!(Share::from_text(&dropped).is_err());
        assert_eq!(
            Share::from_text(&text.replacen("CUSTODY", "CUSTARD", 1)).err(),
            Some(ShareFormatError::NotAShare)
        );
        let mut bad_char = text.clone();
        bad_char.replace_range(20..21, "B");
        assert_eq!(
            Share::from_text(&bad_char).err(),
            Some(ShareFormatError::Alphabet)
        );
    }
}
