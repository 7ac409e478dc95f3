//! One SLIP-39 mnemonic: its words and their 10-bit values, its public parameters, its
//! RS1024 checksum and single-word corrections, and the commitment a custody manifest records.

use std::sync::LazyLock;

use secrecy::SecretString;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{rs1024, Slip39Error};
use crate::share::Commitment;

/// The 1024 words, alphabetical: a word's position is its 10-bit value.
pub(super) static WORDS: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| include_str!("wordlist.txt").lines().collect());

/// Bits per word.
const WORD_BITS: usize = 10;

/// Words before the share value: identifier, flag and exponent (2), group and member fields (2).
const HEADER_WORDS: usize = 4;

/// Words that are not the share value.
const METADATA_WORDS: usize = HEADER_WORDS + rs1024::CHECKSUM_WORDS;

/// The shortest mnemonic: a 128-bit share value.
const MIN_WORDS: usize = METADATA_WORDS + 13;

/// Domain separation for the commitment to a SLIP-39 share in a custody manifest.
const COMMITMENT_DOMAIN: &[u8] = b"custody slip39 share commitment v1\0";

/// The word whose 10-bit value is `value`.
pub fn word(value: u16) -> &'static str {
    WORDS.get(usize::from(value)).copied().unwrap_or("")
}

/// The 10-bit value of a word (any case); `None` for a word not in the list. Compares in
/// place: no lower-case copy of a mnemonic's word is made.
pub fn word_value(word: &str) -> Option<u16> {
    let lowered = word.bytes().map(|byte| byte.to_ascii_lowercase());
    WORDS
        .binary_search_by(|probe| probe.bytes().cmp(lowered.clone()))
        .ok()
        .map(|index| index as u16)
}

/// The public parameters one mnemonic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShareParams {
    /// The set's random 15-bit identifier.
    pub identifier: u16,
    /// The extendable backup flag.
    pub extendable: bool,
    /// The iteration exponent e.
    pub iteration_exponent: u8,
    /// The group index, 0-based.
    pub group_index: u8,
    /// The group threshold.
    pub group_threshold: u8,
    /// The number of groups.
    pub group_count: u8,
    /// The member index in the group, 0-based.
    pub member_index: u8,
    /// The member threshold of the group.
    pub member_threshold: u8,
}

impl ShareParams {
    /// The parameters every mnemonic of a set has in common: identifier, extendable flag,
    /// iteration exponent, group threshold and group count.
    pub fn common(&self) -> (u16, bool, u8, u8, u8) {
        (
            self.identifier,
            self.extendable,
            self.iteration_exponent,
            self.group_threshold,
            self.group_count,
        )
    }
}

/// One SLIP-39 share: public parameters and a secret share value. No `Debug`, `Clone` or
/// `Serialize`; the value is wiped when dropped.
///
/// ```compile_fail
/// fn show(share: &custody::share::slip39::Slip39Share) -> String {
///     format!("{share:?}")
/// }
/// ```
/// ```compile_fail
/// fn copy(share: &custody::share::slip39::Slip39Share) -> custody::share::slip39::Slip39Share {
///     share.clone()
/// }
/// ```
/// ```compile_fail
/// fn record(share: &custody::share::slip39::Slip39Share) -> String {
///     serde_json::to_string(share).unwrap()
/// }
/// ```
pub struct Slip39Share {
    pub(super) params: ShareParams,
    pub(super) value: Zeroizing<Vec<u8>>,
}

impl Slip39Share {
    /// The public parameters.
    pub fn params(&self) -> &ShareParams {
        &self.params
    }

    /// The share value. Every call site is a place where the share leaves this type.
    pub fn expose_value(&self) -> &[u8] {
        &self.value
    }

    /// The words' 10-bit values, checksum included.
    pub(super) fn to_word_values(&self) -> Zeroizing<Vec<u16>> {
        let p = &self.params;
        let value_words = (self.value.len() * 8).div_ceil(WORD_BITS);
        let mut words = Zeroizing::new(Vec::with_capacity(value_words + METADATA_WORDS));
        let id_exp = (u32::from(p.identifier) << 5)
            | (u32::from(p.extendable) << 4)
            | u32::from(p.iteration_exponent);
        let groups = [
            p.group_index,
            p.group_threshold.saturating_sub(1),
            p.group_count.saturating_sub(1),
            p.member_index,
            p.member_threshold.saturating_sub(1),
        ]
        .iter()
        .fold(0u32, |acc, nibble| (acc << 4) | u32::from(nibble & 0xf));
        for field in [id_exp, groups] {
            words.push((field >> 10) as u16 & 1023);
            words.push(field as u16 & 1023);
        }
        // The value, big-endian, with zero bits in front up to a whole number of words.
        let padding = value_words * WORD_BITS - self.value.len() * 8;
        let mut accumulator: u32 = 0;
        let mut bits = padding;
        for byte in self.value.iter() {
            accumulator = (accumulator << 8) | u32::from(*byte);
            bits += 8;
            while bits >= WORD_BITS {
                bits -= WORD_BITS;
                words.push(((accumulator >> bits) & 1023) as u16);
            }
            accumulator &= (1 << bits) - 1;
        }
        let checksum = rs1024::create(p.extendable, &words);
        words.extend(checksum);
        words
    }

    /// The mnemonic: lower-case words separated by single spaces.
    pub fn to_mnemonic(&self) -> SecretString {
        let values = self.to_word_values();
        let words: Vec<&str> = values.iter().map(|&value| word(value)).collect();
        SecretString::from(words.join(" "))
    }

    /// Parses a mnemonic: words separated by any whitespace, any case.
    pub fn from_mnemonic(text: &str) -> Result<Self, Slip39Error> {
        Self::from_word_values(&word_values(text)?)
    }

    pub(super) fn from_word_values(values: &[u16]) -> Result<Self, Slip39Error> {
        let count = values.len();
        let value_words = count.saturating_sub(METADATA_WORDS);
        let padding = (WORD_BITS * value_words) % 16;
        if count < MIN_WORDS || padding > 8 {
            return Err(Slip39Error::Length(count));
        }
        let id_exp = (u32::from(values[0]) << 10) | u32::from(values[1]);
        let extendable = (id_exp >> 4) & 1 == 1;
        if !rs1024::verify(extendable, values) {
            return Err(Slip39Error::Checksum);
        }
        let groups = (u32::from(values[2]) << 10) | u32::from(values[3]);
        let nibble = |position: u32| ((groups >> (16 - 4 * position)) & 0xf) as u8;
        let params = ShareParams {
            identifier: (id_exp >> 5) as u16,
            extendable,
            iteration_exponent: (id_exp & 0xf) as u8,
            group_index: nibble(0),
            group_threshold: nibble(1) + 1,
            group_count: nibble(2) + 1,
            member_index: nibble(3),
            member_threshold: nibble(4) + 1,
        };
        if params.group_threshold > params.group_count {
            return Err(Slip39Error::GroupThreshold {
                threshold: params.group_threshold,
                count: params.group_count,
            });
        }
        let mut value = Zeroizing::new(Vec::with_capacity(value_words * WORD_BITS / 8));
        let mut accumulator: u32 = 0;
        let mut bits: usize = 0;
        let mut padding_left = padding;
        for &word in &values[HEADER_WORDS..count - rs1024::CHECKSUM_WORDS] {
            accumulator = (accumulator << WORD_BITS) | u32::from(word);
            bits += WORD_BITS;
            if padding_left > 0 {
                bits -= padding_left;
                if accumulator >> bits != 0 {
                    return Err(Slip39Error::Padding);
                }
                padding_left = 0;
            }
            while bits >= 8 {
                bits -= 8;
                value.push((accumulator >> bits) as u8);
            }
            accumulator &= (1 << bits) - 1;
        }
        Ok(Self { params, value })
    }

    /// A public commitment to this share for a custody manifest: SHA-256 of a domain tag
    /// and the mnemonic's word values (two bytes each, big-endian).
    pub fn commitment(&self) -> Commitment {
        let mut hasher = Sha256::new();
        hasher.update(COMMITMENT_DOMAIN);
        for value in self.to_word_values().iter() {
            hasher.update(value.to_be_bytes());
        }
        Commitment::from_bytes(hasher.finalize().into())
    }
}

/// The three RS1024 check words for a mnemonic's other words (`data`).
pub fn checksum_for(extendable: bool, data: &[u16]) -> [u16; 3] {
    rs1024::create(extendable, data)
}

/// The mnemonic's word values if every word is in the list; `Err` names the first one that is
/// not (1-based).
pub fn word_values(text: &str) -> Result<Zeroizing<Vec<u16>>, Slip39Error> {
    let mut values = Zeroizing::new(Vec::new());
    for (position, word) in text.split_whitespace().enumerate() {
        values.push(word_value(word).ok_or(Slip39Error::UnknownWord(position + 1))?);
    }
    Ok(values)
}

/// Whether the words (all of a mnemonic, checksum included) pass RS1024.
pub fn checksum_holds(values: &[u16]) -> bool {
    values.len() >= 2 && rs1024::verify((values[1] >> 4) & 1 == 1, values)
}

/// Every change of a single word that makes the checksum pass: (0-based position, new value).
/// RS1024 detects any 3 wrong words, so when a single word was mistyped this finds it; the
/// person must still confirm it against the sheet.
pub fn single_word_corrections(values: &[u16]) -> Vec<(usize, u16)> {
    let mut candidate = Zeroizing::new(values.to_vec());
    let mut found = Vec::new();
    for position in 0..values.len() {
        for value in 0..1024u16 {
            if value == values[position] {
                continue;
            }
            candidate[position] = value;
            if checksum_holds(&candidate) {
                found.push((position, value));
            }
        }
        candidate[position] = values[position];
    }
    found
}
