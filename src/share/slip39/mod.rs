//! SLIP-39 (SatoshiLabs' Shamir's Secret-Sharing for Mnemonic Codes): shares as word
//! mnemonics that the reference implementation (`shamir-mnemonic`), other wallets and hardware
//! read. The standard is in docs/slip39.md's references; this is a complete implementation of
//! it (groups included, for reading sets made elsewhere), checked against its 45 vectors.
//!
//! A share is 4 words of parameters, the share value in 10-bit words (padded at the front to a
//! whole word), and 3 checksum words ([`rs1024`]). The master secret is encrypted with the
//! passphrase ([`cipher`]) and the result split over GF(256) with a digest share ([`field`]).

mod cipher;
mod field;
mod mnemonic;
mod rs1024;

use std::collections::BTreeMap;

use zeroize::Zeroizing;

pub use cipher::CipherParams;
use field::{recover_secret, split_secret, Point};
pub use mnemonic::{
    checksum_for, checksum_holds, single_word_corrections, word, word_value, word_values,
    ShareParams, Slip39Share,
};

use crate::error::Error;

/// The iteration exponent custody writes: 2500·2 PBKDF2 iterations per round, the
/// reference implementation's default.
pub const DEFAULT_ITERATION_EXPONENT: u8 = 1;

/// Why a mnemonic or a set of mnemonics is not valid SLIP-39. Names positions and
/// parameters, never words or values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Slip39Error {
    /// A word outside the SLIP-39 word list.
    #[error("word {0} is not in the SLIP-39 word list")]
    UnknownWord(usize),
    /// Too few words, or a count no share value length gives.
    #[error("a SLIP-39 mnemonic of {0} words is not valid (20 or 33 words, or a length with at most 8 padding bits)")]
    Length(usize),
    /// The RS1024 checksum does not match.
    #[error("the SLIP-39 checksum does not match (a word is wrong, missing or extra)")]
    Checksum,
    /// Non-zero padding bits before the share value.
    #[error("the SLIP-39 share value's padding bits are not zero")]
    Padding,
    /// A group threshold above the group count.
    #[error("group threshold {threshold} is above the group count {count}")]
    GroupThreshold {
        /// The group threshold.
        threshold: u8,
        /// The group count.
        count: u8,
    },
    /// No mnemonics at all.
    #[error("no SLIP-39 mnemonics given")]
    NoShares,
    /// Mnemonics with different identifiers, flags, exponents, group thresholds or counts.
    #[error("the mnemonics are not of one set (identifier, iteration exponent or group parameters differ)")]
    MixedSets,
    /// Share values of different lengths.
    #[error("the mnemonics hold share values of different lengths")]
    ValueLengthsDiffer,
    /// Mnemonics of one group with different member thresholds.
    #[error("the mnemonics of group {0} have different member thresholds")]
    MixedMemberThresholds(u8),
    /// Too few or too many groups.
    #[error("{found} groups given, the set needs exactly {needed}")]
    GroupCount {
        /// Groups given.
        found: usize,
        /// The group threshold.
        needed: usize,
    },
    /// Too few or too many members of one group.
    #[error("group {group}: {found} mnemonics given, exactly {needed} needed")]
    MemberCount {
        /// The group index.
        group: u8,
        /// Mnemonics given.
        found: usize,
        /// The member threshold.
        needed: usize,
    },
    /// Two different shares with the same index.
    #[error("two different mnemonics have index {0}")]
    DuplicateIndex(u8),
    /// The recovered secret does not match its digest: a wrong or mixed-up share.
    #[error(
        "the recovered secret does not match its digest (a share is wrong or from another set)"
    )]
    Digest,
    /// A passphrase with characters outside printable ASCII.
    #[error("a SLIP-39 passphrase may hold only printable ASCII characters")]
    Passphrase,
    /// A master secret SLIP-39 cannot hold.
    #[error("a SLIP-39 master secret is at least 16 bytes and of even length")]
    SecretLength,
}

/// Checks a passphrase's characters (printable ASCII) and returns its bytes.
pub fn passphrase_bytes(passphrase: &str) -> Result<&[u8], Slip39Error> {
    if passphrase.bytes().all(|byte| (32..=126).contains(&byte)) {
        Ok(passphrase.as_bytes())
    } else {
        Err(Slip39Error::Passphrase)
    }
}

/// What one split makes: a single group, k of n.
pub struct SplitSettings<'a> {
    /// The member threshold k.
    pub threshold: usize,
    /// The member count n (at most 16).
    pub count: usize,
    /// The passphrase (printable ASCII; empty by default).
    pub passphrase: &'a str,
    /// The iteration exponent e.
    pub iteration_exponent: u8,
    /// The extendable flag.
    pub extendable: bool,
}

/// Splits `master_secret` into one group of `count` mnemonics, `threshold` of which recover it
/// with the passphrase. Returns the shares in member-index order.
pub fn split(
    master_secret: &[u8],
    settings: &SplitSettings<'_>,
) -> Result<Vec<Slip39Share>, Error> {
    split_with(master_secret, settings, &mut crate::secret::fill_random)
}

fn split_with(
    master_secret: &[u8],
    settings: &SplitSettings<'_>,
    random: &mut dyn FnMut(&mut [u8]) -> Result<(), Error>,
) -> Result<Vec<Slip39Share>, Error> {
    let invalid = |error: Slip39Error| Error::Usage(error.to_string());
    if master_secret.len() < 16 || master_secret.len() % 2 != 0 {
        return Err(invalid(Slip39Error::SecretLength));
    }
    let passphrase = passphrase_bytes(settings.passphrase).map_err(invalid)?;
    if settings.iteration_exponent > 15 {
        return Err(Error::Usage(
            "the SLIP-39 iteration exponent is at most 15".into(),
        ));
    }
    let mut identifier_bytes = [0u8; 2];
    random(&mut identifier_bytes)?;
    let identifier = u16::from_be_bytes(identifier_bytes) & 0x7fff;
    let encrypted = CipherParams {
        passphrase,
        iteration_exponent: settings.iteration_exponent,
        identifier,
        extendable: settings.extendable,
    }
    .encrypt(master_secret);
    // One group of one: the group share is the encrypted master secret itself.
    let values = split_secret(settings.threshold, settings.count, &encrypted, random)?;
    Ok(values
        .into_iter()
        .enumerate()
        .map(|(member_index, value)| Slip39Share {
            params: ShareParams {
                identifier,
                extendable: settings.extendable,
                iteration_exponent: settings.iteration_exponent,
                group_index: 0,
                group_threshold: 1,
                group_count: 1,
                member_index: member_index as u8,
                member_threshold: settings.threshold as u8,
            },
            value,
        })
        .collect())
}

/// The encrypted master secret of a set and its public parameters.
pub struct EncryptedMasterSecret {
    /// The set's parameters (those of the first share).
    pub params: ShareParams,
    value: Zeroizing<Vec<u8>>,
}

impl EncryptedMasterSecret {
    /// The master secret under `passphrase`. Any passphrase gives some secret: only a
    /// check against a known fingerprint tells the right one.
    pub fn decrypt(&self, passphrase: &str) -> Result<Zeroizing<Vec<u8>>, Slip39Error> {
        let passphrase = passphrase_bytes(passphrase)?;
        Ok(CipherParams {
            passphrase,
            iteration_exponent: self.params.iteration_exponent,
            identifier: self.params.identifier,
            extendable: self.params.extendable,
        }
        .decrypt(&self.value))
    }

    /// The secret's length in bytes.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// Whether the secret is empty (never, for a recovered one).
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }
}

/// Recovers the encrypted master secret from exactly the mnemonics a quorum needs: the
/// group threshold's number of groups, each with exactly its member threshold of shares, as
/// the standard and the reference implementation require. Exact duplicates count once.
pub fn recover_encrypted(shares: &[&Slip39Share]) -> Result<EncryptedMasterSecret, Slip39Error> {
    let first = shares.first().ok_or(Slip39Error::NoShares)?;
    if shares
        .iter()
        .any(|share| share.params.common() != first.params.common())
    {
        return Err(Slip39Error::MixedSets);
    }
    let mut groups: BTreeMap<u8, Vec<&Slip39Share>> = BTreeMap::new();
    for share in shares {
        let group = groups.entry(share.params.group_index).or_default();
        if !group
            .iter()
            .any(|other| other.params == share.params && other.value == share.value)
        {
            group.push(share);
        }
    }
    let needed = usize::from(first.params.group_threshold);
    if groups.len() != needed {
        return Err(Slip39Error::GroupCount {
            found: groups.len(),
            needed,
        });
    }
    let mut group_secrets: Vec<(u8, Zeroizing<Vec<u8>>)> = Vec::with_capacity(groups.len());
    for (&group_index, members) in &groups {
        let member_threshold = members[0].params.member_threshold;
        if members
            .iter()
            .any(|member| member.params.member_threshold != member_threshold)
        {
            return Err(Slip39Error::MixedMemberThresholds(group_index));
        }
        if members.len() != usize::from(member_threshold) {
            return Err(Slip39Error::MemberCount {
                group: group_index,
                found: members.len(),
                needed: usize::from(member_threshold),
            });
        }
        let points: Vec<Point<'_>> = members
            .iter()
            .map(|member| Point {
                x: member.params.member_index,
                values: &member.value,
            })
            .collect();
        group_secrets.push((
            group_index,
            recover_secret(usize::from(member_threshold), &points)?,
        ));
    }
    let points: Vec<Point<'_>> = group_secrets
        .iter()
        .map(|(x, values)| Point { x: *x, values })
        .collect();
    let value = recover_secret(needed, &points)?;
    Ok(EncryptedMasterSecret {
        params: first.params,
        value,
    })
}

/// For a set of one group, given any number of its shares with distinct indices: the
/// encrypted master secret from the first k of them (in order) that pass the digest, and for
/// each share whether it lies on the same polynomial. Tries k-subsets, at most C(16, 8).
pub fn recover_one_group(
    shares: &[&Slip39Share],
) -> Result<(EncryptedMasterSecret, Vec<bool>), Slip39Error> {
    let first = shares.first().ok_or(Slip39Error::NoShares)?;
    let k = usize::from(first.params.member_threshold);
    if first.params.group_threshold != 1 {
        return Err(Slip39Error::GroupCount {
            found: 1,
            needed: usize::from(first.params.group_threshold),
        });
    }
    if shares.len() < k {
        return Err(Slip39Error::MemberCount {
            group: first.params.group_index,
            found: shares.len(),
            needed: k,
        });
    }
    let mut chosen: Vec<usize> = (0..k).collect();
    loop {
        let subset: Vec<&Slip39Share> = chosen.iter().map(|&i| shares[i]).collect();
        match recover_encrypted(&subset) {
            Ok(encrypted) => {
                let points: Vec<Point<'_>> = subset
                    .iter()
                    .map(|share| Point {
                        x: share.params.member_index,
                        values: &share.value,
                    })
                    .collect();
                let agrees = shares
                    .iter()
                    .map(|share| {
                        share.params.common() == first.params.common()
                            && field::interpolate(&points, share.params.member_index)
                                .is_ok_and(|expected| *expected == *share.value)
                    })
                    .collect();
                return Ok((encrypted, agrees));
            }
            Err(Slip39Error::Digest) => {}
            Err(error) => return Err(error),
        }
        if !next_combination(&mut chosen, shares.len()) {
            return Err(Slip39Error::Digest);
        }
    }
}

/// Advances `chosen` (increasing indices below `n`) to the next combination in lexicographic
/// order; `false` after the last.
fn next_combination(chosen: &mut [usize], n: usize) -> bool {
    let k = chosen.len();
    for position in (0..k).rev() {
        if chosen[position] < n - k + position {
            chosen[position] += 1;
            for next in position + 1..k {
                chosen[next] = chosen[next - 1] + 1;
            }
            return true;
        }
    }
    false
}

/// Recovers the master secret from mnemonics and a passphrase, as `shamir recover` does.
pub fn combine(
    shares: &[&Slip39Share],
    passphrase: &str,
) -> Result<Zeroizing<Vec<u8>>, Slip39Error> {
    recover_encrypted(shares)?.decrypt(passphrase)
}

/// Proves that `shares` encode `master_secret` under `passphrase`: the first k give back the
/// encrypted secret and pass the digest, every other share lies on the same polynomials
/// (O(n·k)), the secret decrypts to the master secret, and every mnemonic reads back as itself.
pub fn prove_split(
    master_secret: &[u8],
    passphrase: &str,
    shares: &[Slip39Share],
) -> Result<(), Error> {
    let failed =
        |what: &str| Error::Verification(format!("the SLIP-39 split did not check out: {what}"));
    let first = shares.first().ok_or_else(|| failed("no shares"))?;
    let k = usize::from(first.params.member_threshold);
    let quorum: Vec<&Slip39Share> = shares.iter().take(k).collect();
    let encrypted = recover_encrypted(&quorum).map_err(|error| failed(&error.to_string()))?;
    let points: Vec<Point<'_>> = quorum
        .iter()
        .map(|share| Point {
            x: share.params.member_index,
            values: &share.value,
        })
        .collect();
    for share in &shares[k.min(shares.len())..] {
        let expected = field::interpolate(&points, share.params.member_index)
            .map_err(|error| failed(&error.to_string()))?;
        if *expected != *share.value || share.params.common() != first.params.common() {
            return Err(failed(&format!(
                "share {} is off the polynomial",
                share.params.member_index + 1
            )));
        }
    }
    let decrypted = encrypted
        .decrypt(passphrase)
        .map_err(|error| failed(&error.to_string()))?;
    if *decrypted != *master_secret {
        return Err(failed("the shares do not decrypt to the key"));
    }
    for share in shares {
        use secrecy::ExposeSecret;
        let again = Slip39Share::from_mnemonic(share.to_mnemonic().expose_secret())
            .map_err(|error| failed(&error.to_string()))?;
        if again.params != share.params || again.value != share.value {
            return Err(failed("a mnemonic does not read back as itself"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::mnemonic::WORDS;
    use super::*;
    use secrecy::ExposeSecret;

    /// The embedded word list has 1024 sorted words with unique four-letter prefixes.
    #[test]
    fn word_list_shape() {
        assert_eq!(WORDS.len(), 1024);
        assert!(WORDS.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(WORDS
            .windows(2)
            .all(|pair| pair[0].get(..4) != pair[1].get(..4)));
        assert_eq!(word(0), "academic");
        assert_eq!(word_value("ZERO"), Some(1023));
    }

    /// A 3-of-5 split of a 32-byte secret gives 33-word mnemonics that recover it with the
    /// passphrase from any three, and a different secret with another passphrase.
    #[test]
    fn split_combine_round_trip() {
        let secret = [0x42u8; 32];
        let settings = SplitSettings {
            threshold: 3,
            count: 5,
            passphrase: "pass",
            iteration_exponent: 0,
            extendable: true,
        };
        let shares = split(&secret, &settings).unwrap();
        prove_split(&secret, "pass", &shares).unwrap();
        let parsed: Vec<Slip39Share> = shares
            .iter()
            .map(|share| {
                let text = share.to_mnemonic();
                assert_eq!(text.expose_secret().split(' ').count(), 33);
                Slip39Share::from_mnemonic(&text.expose_secret().to_uppercase()).unwrap()
            })
            .collect();
        let pick = [&parsed[4], &parsed[0], &parsed[2]];
        assert_eq!(*combine(&pick, "pass").unwrap(), secret);
        assert_ne!(*combine(&pick, "").unwrap(), secret);
        assert_eq!(
            combine(&pick[..2], "pass").err(),
            Some(Slip39Error::MemberCount {
                group: 0,
                found: 2,
                needed: 3
            })
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Any words with a valid checksum parse or are refused without panicking, and
        /// whatever parses encodes back to the same words.
        #[test]
        fn parsing_never_panics(mut values in proptest::collection::vec(0u16..1024, 2..40)) {
            let extendable = (values[1] >> 4) & 1 == 1;
            let checksum = rs1024::create(extendable, &values);
            values.extend(checksum);
            if let Ok(share) = Slip39Share::from_word_values(&values) {
                let encoded = share.to_word_values();
                proptest::prop_assert_eq!(encoded.as_slice(), values.as_slice());
            }
        }

        /// Any k of an n-share split (k ≤ n ≤ 16, 16 or 32 bytes) give back the secret.
        #[test]
        fn any_quorum_recovers(
            n in 1usize..=16,
            k_seed in 0usize..16,
            long in proptest::bool::ANY,
            start in 0usize..16,
        ) {
            let k = k_seed % n + 1;
            let secret: Vec<u8> = (0..if long { 32u8 } else { 16 }).collect();
            let settings = SplitSettings { threshold: k, count: n, passphrase: "", iteration_exponent: 0, extendable: false };
            let shares = split(&secret, &settings).unwrap();
            if k == 1 && n > 1 {
                return Ok(());
            }
            let quorum: Vec<&Slip39Share> = (0..k).map(|i| &shares[(start + i) % n]).collect();
            let recovered = combine(&quorum, "").unwrap();
            proptest::prop_assert_eq!(recovered.as_slice(), secret.as_slice());
        }
    }

    /// Among five shares of a 3-of-5 set with the first two corrupted, the search finds the
    /// three good ones and marks the two bad ones.
    #[test]
    fn one_group_search_skips_corrupted_shares() {
        let secret = [0x17u8; 32];
        let settings = SplitSettings {
            threshold: 3,
            count: 5,
            passphrase: "",
            iteration_exponent: 0,
            extendable: true,
        };
        let mut shares = split(&secret, &settings).unwrap();
        shares[0].value[3] ^= 1;
        shares[1].value[0] ^= 0x80;
        let refs: Vec<&Slip39Share> = shares.iter().collect();
        let (encrypted, agrees) = recover_one_group(&refs).unwrap();
        assert_eq!(agrees, [false, false, true, true, true]);
        assert_eq!(*encrypted.decrypt("").unwrap(), secret);
        assert_eq!(
            recover_one_group(&refs[..3]).err(),
            Some(Slip39Error::Digest)
        );
    }
}
