//! From a pile of share inputs — some sealed, some typed, some bad — to a verified key.
//!
//! [`gather`] opens and parses every input, setting aside (with a reason) those that cannot
//! be used; [`reconstruct`] picks the set, checks shares against the manifest's commitments
//! or, without a manifest, locates bad shares by Berlekamp–Welch decoding, combines and
//! verifies the fingerprint (SPEC §1.3). Nothing here delivers the key; see [`crate::deliver`].

mod slip39;

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;
use crate::fingerprint::Fingerprint;
use crate::gf256::{berlekamp_welch, combine as combine_basis, Interpolator};
use crate::seal::{Keyring, Opened};
use crate::secret::{MasterKey, KEY_LEN};
use crate::set::{sha256_hex, Manifest};
use crate::share::shamir::combine;
use crate::share::{SetId, Share};

pub use slip39::{reconstruct_either, reconstruct_mnemonics, MnemonicCandidate};

/// One share as given on the command line.
pub enum ShareInput {
    /// A sealed share file, opened with the keyring.
    Sealed(PathBuf),
    /// A share text (from `--text`, a QR code, typing); `name` says where it came from.
    Text {
        /// Where the text came from, e.g. "shares.txt line 2".
        name: String,
        /// The share text.
        text: SecretString,
    },
}

/// A parsed share and where it came from.
pub struct Candidate {
    /// Where it came from (file name, text line).
    pub name: String,
    /// The share.
    pub share: Share,
}

/// A share input that was not used, and why (public: no content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetAside {
    /// Where it came from.
    pub name: String,
    /// Why it was not used.
    pub reason: String,
}

/// Everything [`gather`] found.
#[derive(Default)]
pub struct Gathered {
    /// Shares that parsed.
    pub candidates: Vec<Candidate>,
    /// SLIP-39 mnemonics that parsed.
    pub mnemonics: Vec<MnemonicCandidate>,
    /// Inputs no identity could open.
    pub undecryptable: Vec<String>,
    /// Inputs that are damaged or not shares.
    pub set_aside: Vec<SetAside>,
    /// Remarks that do not disqualify a share (e.g. a sealed file that differs from the
    /// manifest's hash but holds a share matching its commitment).
    pub warnings: Vec<String>,
}

impl Gathered {
    /// Parses one share text: a custody share, or a SLIP-39 mnemonic when it starts with a
    /// word of the SLIP-39 list; set aside with the reason when it is neither.
    fn add_text(&mut self, name: String, text: &str) {
        match Share::from_text(text) {
            Ok(share) => self.candidates.push(Candidate { name, share }),
            Err(error) if !slip39::looks_like_mnemonic(text) => self.set_aside.push(SetAside {
                name,
                reason: error.to_string(),
            }),
            Err(_) => match crate::share::slip39::Slip39Share::from_mnemonic(text) {
                Ok(share) => self.mnemonics.push(MnemonicCandidate { name, share }),
                Err(error) => self.set_aside.push(SetAside {
                    name,
                    reason: error.to_string(),
                }),
            },
        }
    }
}

/// Opens and parses every input. A wrong passphrase aborts (exit 6); everything else about a
/// single input is recorded and the rest go on.
pub fn gather(
    inputs: Vec<ShareInput>,
    keyring: &Keyring,
    manifest: Option<&Manifest>,
) -> Result<Gathered, Error> {
    let mut gathered = Gathered::default();
    for input in inputs {
        match input {
            ShareInput::Text { name, text } => gathered.add_text(name, text.expose_secret()),
            ShareInput::Sealed(path) => {
                let name = path.display().to_string();
                let bytes = match fs::read(&path) {
                    Ok(bytes) => bytes,
                    Err(error) => {
                        gathered.set_aside.push(SetAside {
                            name,
                            reason: format!("cannot be read: {error}"),
                        });
                        continue;
                    }
                };
                let entry = manifest.and_then(|manifest| {
                    let file_name = path.file_name()?.to_string_lossy().into_owned();
                    manifest.share_by_file(&file_name)
                });
                if let Some(entry) = entry {
                    if sha256_hex(&bytes) != entry.sha256 {
                        gathered.warnings.push(format!(
                            "{name} differs from the manifest's hash of share {}; its content is checked against the commitment",
                            entry.index
                        ));
                    }
                }
                match keyring.open(&bytes, &name, entry.map(|entry| entry.recipient.as_str()))? {
                    Opened::Plaintext(plaintext) => match std::str::from_utf8(&plaintext) {
                        Ok(text) => gathered.add_text(name, text),
                        Err(_) => gathered.set_aside.push(SetAside {
                            name,
                            reason: "the sealed content is not a share text".into(),
                        }),
                    },
                    Opened::NoMatchingIdentity => gathered.undecryptable.push(name),
                    Opened::Unreadable(reason) => {
                        gathered.set_aside.push(SetAside { name, reason })
                    }
                }
            }
        }
    }
    Ok(gathered)
}

/// The outcome of recovering a set from its folder, with every share accounted for.
pub struct SetRecovery {
    /// The verified key, or why not.
    pub result: Result<Recovered, Error>,
    /// Inputs not used, with reasons.
    pub set_aside: Vec<SetAside>,
    /// Sealed files no identity opened.
    pub undecryptable: Vec<String>,
    /// Remarks that did not disqualify a share.
    pub warnings: Vec<String>,
}

/// Recovers a set's key from the sealed files in its folder that the keyring opens, plus any
/// `extra` inputs (share texts from paper), checked against the manifest. A sealed file that
/// is missing is named like a damaged one. Exit 6 when no share at all could be opened.
pub fn recover_set(
    manifest: &Manifest,
    folder: &std::path::Path,
    keyring: &Keyring,
    extra: Vec<ShareInput>,
) -> SetRecovery {
    let mut inputs: Vec<ShareInput> = manifest
        .shares
        .iter()
        .map(|entry| folder.join(&entry.file))
        .map(ShareInput::Sealed)
        .collect();
    inputs.extend(extra);
    let Gathered {
        candidates,
        mnemonics,
        undecryptable,
        mut set_aside,
        warnings,
    } = match gather(inputs, keyring, Some(manifest)) {
        Ok(gathered) => gathered,
        Err(error) => {
            return SetRecovery {
                result: Err(error),
                set_aside: Vec::new(),
                undecryptable: Vec::new(),
                warnings: Vec::new(),
            }
        }
    };
    let result = if candidates.is_empty() && mnemonics.is_empty() && !undecryptable.is_empty() {
        Err(Error::NothingDecrypted)
    } else {
        // Ceremonies take no SLIP-39 passphrase: a set made with one fails the fingerprint.
        reconstruct_either(
            candidates,
            mnemonics,
            Some(manifest),
            None,
            "",
            &mut set_aside,
        )
    };
    SetRecovery {
        result,
        set_aside,
        undecryptable,
        warnings,
    }
}

/// Where the expected fingerprint came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedFrom {
    /// The manifest.
    Manifest,
    /// `--fingerprint`.
    Stated,
    /// The shares themselves: k forged shares could carry a fingerprint of their own.
    Shares,
}

/// A verified reconstruction.
pub struct Recovered {
    /// The key, verified against `fingerprint`.
    pub key: MasterKey,
    /// Its fingerprint.
    pub fingerprint: Fingerprint,
    /// Where the expectation came from.
    pub expected_from: ExpectedFrom,
    /// The set.
    pub set_id: SetId,
    /// k.
    pub threshold: u8,
    /// The good shares: (where from, index).
    pub good: Vec<(String, u8)>,
    /// The good shares themselves, for extending the set.
    pub shares: Vec<Share>,
}

/// Picks the set, discards bad shares (each pushed to `set_aside` with its reason), combines
/// and verifies. Exit codes: 4 for fewer than k valid shares, 3 when the valid shares do not
/// give back the expected fingerprint.
pub fn reconstruct(
    candidates: Vec<Candidate>,
    manifest: Option<&Manifest>,
    stated: Option<Fingerprint>,
    set_aside: &mut Vec<SetAside>,
) -> Result<Recovered, Error> {
    let (expected, expected_from) = match (manifest, stated) {
        (Some(manifest), Some(stated)) if manifest.fingerprint != stated => {
            return Err(Error::Verification(format!(
                "--fingerprint {stated} differs from the manifest's {}",
                manifest.fingerprint
            )))
        }
        (Some(manifest), _) => (Some(manifest.fingerprint), ExpectedFrom::Manifest),
        (None, Some(stated)) => (Some(stated), ExpectedFrom::Stated),
        (None, None) => (None, ExpectedFrom::Shares),
    };
    let mut aside = |name: String, reason: String| set_aside.push(SetAside { name, reason });

    let mut valid: Vec<Candidate> = Vec::new();
    for candidate in candidates {
        let header = *candidate.share.header();
        if let Some(manifest) = manifest {
            if header.set_id != manifest.set_id {
                aside(
                    candidate.name,
                    format!("belongs to set {}, not {}", header.set_id, manifest.set_id),
                );
                continue;
            }
            match manifest.share(header.index) {
                None => aside(candidate.name, format!("share {} is not in the manifest", header.index)),
                Some(entry) if entry.commitment != candidate.share.commitment() => aside(
                    candidate.name,
                    format!("share {} does not match its commitment in the manifest (corrupted or forged)", header.index),
                ),
                Some(_) => valid.push(candidate),
            }
            continue;
        }
        valid.push(candidate);
    }

    // The set: the most common (set id, fingerprint, threshold) among the valid shares.
    let mut groups: HashMap<(SetId, Fingerprint, u8), usize> = HashMap::new();
    for candidate in &valid {
        let h = candidate.share.header();
        *groups
            .entry((h.set_id, h.fingerprint, h.threshold))
            .or_default() += 1;
    }
    // With an expected fingerprint, only groups that carry it compete, if any do; otherwise
    // the largest group is reconstructed and then fails the fingerprint check (exit 3).
    if let Some(expected) = expected {
        if groups
            .keys()
            .any(|(_, fingerprint, _)| *fingerprint == expected)
        {
            groups.retain(|(_, fingerprint, _), _| *fingerprint == expected);
        }
    }
    let largest = groups.values().copied().max().unwrap_or(0);
    let mut leaders: Vec<_> = groups
        .iter()
        .filter(|(_, &size)| size == largest)
        .map(|(group, _)| *group)
        .collect();
    leaders.sort();
    let Some(&(set_id, carried_fingerprint, threshold)) = leaders.first() else {
        return Err(Error::NotEnoughShares {
            valid: 0,
            threshold: manifest.map_or(0, |m| usize::from(m.threshold)),
        });
    };
    let k = usize::from(threshold);
    if leaders.len() > 1 {
        if largest < k {
            return Err(Error::NotEnoughShares {
                valid: largest,
                threshold: k,
            });
        }
        return Err(Error::Verification(format!(
            "the shares come from {} different sets in equal numbers; name the key with --fingerprint or -m",
            leaders.len()
        )));
    }
    let (mut chosen, others): (Vec<Candidate>, Vec<Candidate>) = valid.into_iter().partition(|c| {
        let h = c.share.header();
        (h.set_id, h.fingerprint, h.threshold) == (set_id, carried_fingerprint, threshold)
    });
    for other in others {
        let h = other.share.header();
        let reason = if h.set_id != set_id {
            format!(
                "share {} belongs to set {}, while the others belong to {set_id}",
                h.index, h.set_id
            )
        } else if h.fingerprint != carried_fingerprint {
            format!(
                "share {} is for another key (fingerprint {})",
                h.index, h.fingerprint
            )
        } else {
            format!(
                "share {}'s header disagrees with the other shares of set {set_id}",
                h.index
            )
        };
        aside(other.name, reason);
    }

    // One share per index: drop exact duplicates, set aside conflicting claims.
    chosen.sort_by_key(|c| c.share.header().index);
    let mut unique: Vec<Candidate> = Vec::with_capacity(chosen.len());
    let mut conflicted: Vec<u8> = Vec::new();
    for candidate in chosen {
        let index = candidate.share.header().index;
        match unique.last() {
            Some(previous) if previous.share.header().index == index => {
                if previous.share.point().same_as(candidate.share.point()) {
                    aside(candidate.name, format!("a second copy of share {index}"));
                } else {
                    conflicted.push(index);
                    aside(
                        candidate.name,
                        format!("share {index} is claimed by two different shares"),
                    );
                }
            }
            _ => unique.push(candidate),
        }
    }
    let (conflicting, mut unique): (Vec<Candidate>, Vec<Candidate>) = unique
        .into_iter()
        .partition(|c| conflicted.contains(&c.share.header().index));
    for candidate in conflicting {
        let index = candidate.share.header().index;
        aside(
            candidate.name,
            format!("share {index} is claimed by two different shares"),
        );
    }

    if unique.len() < k {
        return Err(Error::NotEnoughShares {
            valid: unique.len(),
            threshold: k,
        });
    }
    let bad = locate_bad_shares(&unique, k).ok_or_else(|| {
        Error::Verification(format!(
            "the {} shares do not lie on one polynomial and the bad ones cannot be told apart; \
             give more shares or the manifest (-m)",
            unique.len()
        ))
    })?;
    for position in bad.iter().rev() {
        let candidate = unique.remove(*position);
        let index = candidate.share.header().index;
        aside(
            candidate.name,
            format!("share {index} does not agree with the other shares (corrupted or forged)"),
        );
    }
    if unique.len() < k {
        return Err(Error::NotEnoughShares {
            valid: unique.len(),
            threshold: k,
        });
    }
    let quorum: Vec<&Share> = unique.iter().take(k).map(|c| &c.share).collect();
    let key = combine(&quorum)?;
    let fingerprint = key.fingerprint();
    let (wanted, from_what) = match expected {
        Some(expected) => (expected, expected_from_description(expected_from)),
        None => (carried_fingerprint, "the shares carry"),
    };
    if fingerprint != wanted {
        return Err(Error::Verification(format!(
            "the shares give back a key with fingerprint {fingerprint}, but {from_what} {wanted}"
        )));
    }
    Ok(Recovered {
        key,
        fingerprint,
        expected_from,
        set_id,
        threshold,
        good: unique
            .iter()
            .map(|c| (c.name.clone(), c.share.header().index))
            .collect(),
        shares: unique.into_iter().map(|c| c.share).collect(),
    })
}

fn expected_from_description(from: ExpectedFrom) -> &'static str {
    match from {
        ExpectedFrom::Manifest => "the manifest records",
        ExpectedFrom::Stated => "--fingerprint states",
        ExpectedFrom::Shares => "the shares carry",
    }
}

/// Positions (in `shares`) of the shares that do not lie on the polynomial most shares agree
/// on; `None` if there are too many bad ones to tell (more than ⌊(m − k) / 2⌋).
///
/// Fast path: interpolate through the first k and check the rest, O(m·k). Only if that finds
/// a disagreement, run Berlekamp–Welch per key byte and take the union of the error positions.
fn locate_bad_shares(shares: &[Candidate], k: usize) -> Option<Vec<usize>> {
    let xs: Vec<u8> = shares.iter().map(|c| c.share.header().index).collect();
    let interpolator = Interpolator::new(&xs[..k])?;
    let column = |position: usize, range: &[Candidate]| -> Vec<u8> {
        range
            .iter()
            .map(|c| c.share.point().expose_bytes()[position])
            .collect()
    };
    let consistent = shares[k..].iter().all(|candidate| {
        let basis = interpolator.basis_at(candidate.share.header().index);
        (0..KEY_LEN).all(|position| {
            combine_basis(&basis, &column(position, &shares[..k]))
                == candidate.share.point().expose_bytes()[position]
        })
    });
    if consistent {
        return Some(Vec::new());
    }
    let mut bad: Vec<usize> = Vec::new();
    for position in 0..KEY_LEN {
        let points: Vec<(u8, u8)> = xs.iter().copied().zip(column(position, shares)).collect();
        let (_, wrong) = berlekamp_welch(&points, k)?;
        bad.extend(wrong);
    }
    bad.sort_unstable();
    bad.dedup();
    (shares.len() - bad.len() >= k).then_some(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SharePoint;
    use crate::share::shamir::split;

    fn candidates(shares: Vec<Share>) -> Vec<Candidate> {
        shares
            .into_iter()
            .map(|share| Candidate {
                name: format!("share-{}", share.header().index),
                share,
            })
            .collect()
    }

    fn forge(share: &Share, flip: u8) -> Share {
        let mut point = *share.point().expose_bytes();
        for byte in point.iter_mut() {
            *byte ^= flip;
        }
        Share::new(*share.header(), SharePoint::from_bytes(point)).unwrap()
    }

    /// Five forged shares among twenty at k = 10 are named, and the key still comes back.
    #[test]
    fn names_forged_shares_without_a_manifest() {
        let key = MasterKey::generate().unwrap();
        let mut shares = split(&key, 10, 20, SetId::from_bytes([3; 8])).unwrap();
        for i in [1usize, 4, 9, 13, 19] {
            shares[i] = forge(&shares[i], 0x5a);
        }
        let mut aside = Vec::new();
        let recovered = reconstruct(candidates(shares), None, None, &mut aside).unwrap();
        assert_eq!(recovered.key.expose_bytes(), key.expose_bytes());
        let named: Vec<&str> = aside.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(
            named,
            ["share-20", "share-14", "share-10", "share-5", "share-2"]
        );
        assert_eq!(recovered.expected_from, ExpectedFrom::Shares);
    }

    /// k shares with one bad fail verification (exit 3); k − 1 shares are not enough (exit 4).
    #[test]
    fn outcomes_without_redundancy() {
        let key = MasterKey::generate().unwrap();
        let mut shares = split(&key, 3, 5, SetId::from_bytes([4; 8])).unwrap();
        shares.truncate(3);
        shares[2] = forge(&shares[2], 1);
        let mut aside = Vec::new();
        let error = reconstruct(candidates(shares), None, None, &mut aside)
            .err()
            .unwrap();
        assert_eq!(error.kind(), crate::ErrorKind::Verification);
        let mut shares = split(&key, 3, 5, SetId::from_bytes([4; 8])).unwrap();
        shares.truncate(2);
        let error = reconstruct(candidates(shares), None, None, &mut aside)
            .err()
            .unwrap();
        assert_eq!(error.kind(), crate::ErrorKind::NotEnoughShares);
    }

    /// A stated fingerprint that k consistent shares do not give back is exit 3; when some
    /// shares do carry it, shares of another key are set aside by their carried fingerprint.
    #[test]
    fn stated_fingerprint_is_enforced() {
        let key = MasterKey::generate().unwrap();
        let other = MasterKey::generate().unwrap();
        let shares = split(&key, 2, 3, SetId::from_bytes([5; 8])).unwrap();
        let mut aside = Vec::new();
        let error = reconstruct(
            candidates(shares),
            None,
            Some(other.fingerprint()),
            &mut aside,
        )
        .err()
        .unwrap();
        assert_eq!(error.kind(), crate::ErrorKind::Verification);
        assert!(aside.is_empty());

        let mut mixed = candidates(split(&key, 2, 3, SetId::from_bytes([5; 8])).unwrap());
        mixed.extend(candidates(
            split(&other, 2, 3, SetId::from_bytes([6; 8])).unwrap(),
        ));
        let recovered = reconstruct(mixed, None, Some(key.fingerprint()), &mut aside).unwrap();
        assert_eq!(recovered.key.expose_bytes(), key.expose_bytes());
        assert_eq!(aside.len(), 3);
        assert!(aside
            .iter()
            .all(|a| a.reason.contains("belongs to set 0606060606060606")));
    }
}
