//! Recovering the key from SLIP-39 mnemonics: each checked against the manifest's commitment
//! when there is one, a quorum that passes SLIP-39's digest found among more than k, and the
//! result verified against the key's fingerprint, because any passphrase gives some secret.

use std::collections::HashMap;

use super::reconstruct::{expected_fingerprint, reconstruct_into};
use super::{AsideCode, Candidate, Recovered, Recovery, SetAside, ShareAccount};
use crate::error::{Error, Stated};
use crate::fingerprint::Fingerprint;
use crate::secret::{MasterKey, KEY_LEN};
use crate::set::{Manifest, Scheme};
use crate::share::slip39::{
    recover_encrypted, recover_one_group, word_value, EncryptedMasterSecret, Slip39Share,
};
use crate::share::SetId;

/// A parsed SLIP-39 mnemonic and where it came from.
pub struct MnemonicCandidate {
    /// Where it came from (file name, text line).
    pub name: String,
    /// The share.
    pub share: Slip39Share,
}

impl MnemonicCandidate {
    /// The custody index of the share: its SLIP-39 member index plus one.
    fn index(&self) -> u8 {
        self.share.params().member_index + 1
    }
}

/// Reconstructs from SLIP-39 mnemonics when the manifest's set is a SLIP-39 one, or when no
/// manifest is given and only mnemonics are; from custody-v1 shares otherwise. Shares of the
/// other kind are set aside.
pub fn reconstruct_either(
    candidates: Vec<Candidate>,
    mnemonics: Vec<MnemonicCandidate>,
    manifest: Option<&Manifest>,
    stated: Option<Fingerprint>,
    slip39_passphrase: &str,
) -> Recovery {
    let mut account = ShareAccount::default();
    let slip39 = match manifest {
        Some(manifest) => manifest.scheme == Scheme::Slip39,
        None => candidates.is_empty() && !mnemonics.is_empty(),
    };
    let other_kind =
        |name: String, reason: &str| SetAside::new(name, AsideCode::OtherScheme, reason);
    let result = if slip39 {
        account.set_aside.extend(candidates.into_iter().map(|c| {
            other_kind(
                c.name,
                "a custody-v1 share, while the set is of SLIP-39 mnemonics",
            )
        }));
        reconstruct_mnemonics(mnemonics, manifest, stated, slip39_passphrase, &mut account)
    } else {
        account.set_aside.extend(mnemonics.into_iter().map(|c| {
            other_kind(
                c.name,
                "a SLIP-39 mnemonic, while the set is of custody-v1 shares",
            )
        }));
        reconstruct_into(candidates, manifest, stated, &mut account)
    };
    Recovery { result, account }
}

/// Whether a share text is meant as a SLIP-39 mnemonic: its first word is in the word list.
pub(super) fn looks_like_mnemonic(text: &str) -> bool {
    text.split_whitespace()
        .next()
        .is_some_and(|word| word_value(word).is_some())
}

/// Recovers and verifies the key from SLIP-39 mnemonics with `passphrase` (empty by default).
/// Bad mnemonics are set aside in `account` with their reasons, good ones recorded there. SLIP-39 shares carry no
/// fingerprint, so the manifest's or a stated one is required (exit 2 without). Exit 4 for
/// fewer than k usable shares, 3 when they do not give back the expected fingerprint.
fn reconstruct_mnemonics(
    mnemonics: Vec<MnemonicCandidate>,
    manifest: Option<&Manifest>,
    stated: Option<Fingerprint>,
    passphrase: &str,
    account: &mut ShareAccount,
) -> Result<Recovered, Error> {
    let (expected, expected_from) = match expected_fingerprint(manifest, stated)? {
        (Some(expected), from) => (expected, from),
        (None, _) => {
            return Err(Error::about(
                Stated::KeyOrSet,
                Error::Usage(
                    "SLIP-39 mnemonics carry no key fingerprint: name the key by its fingerprint or its set".into(),
                ),
            ))
        }
    };
    let mut aside = |name: String, code: AsideCode, reason: String| {
        account.set_aside.push(SetAside::new(name, code, reason))
    };

    let mut valid: Vec<MnemonicCandidate> = Vec::new();
    for candidate in mnemonics {
        match manifest.map(|manifest| check_against_manifest(&candidate, manifest)) {
            Some(Err((code, reason))) => aside(candidate.name, code, reason),
            _ => valid.push(candidate),
        }
    }

    // The set: the most common parameters (identifier first) among the valid mnemonics.
    let mut sets: HashMap<_, usize> = HashMap::new();
    for candidate in &valid {
        *sets.entry(candidate.share.params().common()).or_default() += 1;
    }
    let largest = sets.values().copied().max().unwrap_or(0);
    let mut leaders: Vec<_> = sets
        .iter()
        .filter(|(_, &size)| size == largest)
        .map(|(set, _)| *set)
        .collect();
    leaders.sort();
    let Some(&set) = leaders.first() else {
        return Err(Error::NotEnoughShares {
            valid: 0,
            threshold: manifest.map_or(0, |m| usize::from(m.threshold)),
        });
    };
    if leaders.len() > 1 {
        return Err(Error::Verification(format!(
            "the mnemonics come from {} different SLIP-39 sets in equal numbers; give the shares of one set",
            leaders.len()
        )));
    }
    let (chosen, others): (Vec<_>, Vec<_>) = valid
        .into_iter()
        .partition(|candidate| candidate.share.params().common() == set);
    for other in others {
        aside(
            other.name,
            AsideCode::OtherSet,
            format!(
                "a mnemonic of another SLIP-39 set (identifier {}), while the others are of {}",
                other.share.params().identifier,
                set.0
            ),
        );
    }

    // One share per (group, member): drop exact copies, set aside conflicting claims.
    let mut unique: Vec<MnemonicCandidate> = Vec::with_capacity(chosen.len());
    let mut conflicted: Vec<(u8, u8)> = Vec::new();
    for candidate in chosen {
        let position =
            |c: &MnemonicCandidate| (c.share.params().group_index, c.share.params().member_index);
        let index = candidate.index();
        match unique
            .iter()
            .find(|kept| position(kept) == position(&candidate))
        {
            Some(kept) if kept.share.expose_value() == candidate.share.expose_value() => aside(
                candidate.name,
                AsideCode::DuplicateCopy,
                format!("a second copy of share {index}"),
            ),
            Some(_) => {
                conflicted.push(position(&candidate));
                aside(
                    candidate.name,
                    AsideCode::DuplicateIndex,
                    format!("share {index} is claimed by two different mnemonics"),
                );
            }
            None => unique.push(candidate),
        }
    }
    let (conflicting, unique): (Vec<_>, Vec<_>) = unique.into_iter().partition(|c| {
        conflicted.contains(&(c.share.params().group_index, c.share.params().member_index))
    });
    for candidate in conflicting {
        let index = candidate.index();
        aside(
            candidate.name,
            AsideCode::DuplicateIndex,
            format!("share {index} is claimed by two different mnemonics"),
        );
    }

    let threshold = unique
        .first()
        .map_or(0, |c| c.share.params().member_threshold);
    let refs: Vec<&Slip39Share> = unique.iter().map(|c| &c.share).collect();
    let (encrypted, good) = if set.4 == 1 {
        if unique.len() < usize::from(threshold) {
            return Err(Error::NotEnoughShares {
                valid: unique.len(),
                threshold: usize::from(threshold),
            });
        }
        let (encrypted, agrees) = recover_one_group(&refs).map_err(|error| {
            Error::Verification(format!(
                "no {threshold} of the {} mnemonics give back a secret that passes SLIP-39's digest ({error})",
                unique.len()
            ))
        })?;
        let (good, bad): (Vec<_>, Vec<_>) = unique
            .into_iter()
            .zip(agrees)
            .partition(|(_, agrees)| *agrees);
        for (candidate, _) in bad {
            let index = candidate.index();
            aside(
                candidate.name,
                AsideCode::OffPolynomial,
                format!("share {index} does not agree with the other shares (corrupted or forged)"),
            );
        }
        (
            encrypted,
            good.into_iter().map(|(c, _)| c).collect::<Vec<_>>(),
        )
    } else {
        // Several groups (a set made elsewhere): exactly the quorum, as the standard asks.
        let encrypted: EncryptedMasterSecret = recover_encrypted(&refs)
            .map_err(|error| Error::Verification(format!("the SLIP-39 mnemonics: {error}")))?;
        (encrypted, unique)
    };
    let secret = encrypted
        .decrypt(passphrase)
        .map_err(|error| Error::Usage(error.to_string()))?;
    let key = MasterKey::from_slice(&secret).ok_or_else(|| {
        Error::Verification(format!(
            "the SLIP-39 master secret is {} bytes; custody keeps {KEY_LEN}-byte keys",
            secret.len()
        ))
    })?;
    drop(secret);
    let fingerprint = key.fingerprint();
    if fingerprint != expected {
        let from_what = expected_from.describe();
        return Err(Error::Verification(format!(
            "the mnemonics give back a key with fingerprint {fingerprint}, but {from_what} {expected} (a wrong or missing SLIP-39 passphrase gives another key)"
        )));
    }
    let set_id = manifest.map_or_else(
        || {
            let mut bytes = [0u8; 8];
            bytes[6..].copy_from_slice(&set.0.to_be_bytes());
            SetId::from_bytes(bytes)
        },
        |manifest| manifest.set_id,
    );
    account
        .good
        .extend(good.iter().map(|c| (c.name.clone(), c.index())));
    Ok(Recovered {
        key,
        fingerprint,
        expected_from,
        set_id,
        threshold,
        shares: Vec::new(),
    })
}

/// A mnemonic belongs to the manifest's SLIP-39 set and matches its commitment.
fn check_against_manifest(
    candidate: &MnemonicCandidate,
    manifest: &Manifest,
) -> Result<(), (AsideCode, String)> {
    let params = candidate.share.params();
    let recorded = match (manifest.scheme, &manifest.slip39) {
        (Scheme::Slip39, Some(recorded)) => recorded,
        _ => {
            return Err((
                AsideCode::OtherScheme,
                format!(
                    "a SLIP-39 mnemonic, but set {} holds custody-v1 shares",
                    manifest.set_id
                ),
            ))
        }
    };
    if params.identifier != recorded.identifier {
        return Err((
            AsideCode::OtherSet,
            format!(
                "a mnemonic of SLIP-39 set {}, not of the manifest's {}",
                params.identifier, recorded.identifier
            ),
        ));
    }
    let index = candidate.index();
    match manifest.share(index) {
        None => Err((
            AsideCode::NotInManifest,
            format!("share {index} is not in the manifest"),
        )),
        Some(entry) if entry.commitment != candidate.share.commitment() => Err((
            AsideCode::CommitmentMismatch,
            format!(
                "share {index} does not match its commitment in the manifest (corrupted or forged)"
            ),
        )),
        Some(_) => Ok(()),
    }
}
