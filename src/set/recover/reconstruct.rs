//! Choosing the set among the shares that were opened, setting aside the bad ones with a
//! reason, combining a quorum and verifying the key's fingerprint.

use std::collections::BTreeMap;

use super::{AsideCode, Candidate, Recovery, SetAside, ShareAccount};
use crate::error::{Error, Stated};
use crate::fingerprint::Fingerprint;
use crate::secret::MasterKey;
use crate::set::Manifest;
use crate::share::decode::{locate_bad_shares, Polynomial};
use crate::share::shamir::combine;
use crate::share::{SetId, Share, ShareHeader};

/// Where the expected fingerprint came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedFrom {
    /// The manifest.
    Manifest,
    /// The caller, who stated the fingerprint.
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
    /// The good shares themselves (custody-v1 only), for extending the set; where each came
    /// from is in the account's `good`.
    pub shares: Vec<Share>,
}

/// The public facts that sort shares into candidate sets: (set id, carried fingerprint, k).
type GroupKey = (SetId, Fingerprint, u8);

/// Shares set aside within one group: (position in the group, code, reason).
type GroupAside = Vec<(usize, AsideCode, String)>;

/// Picks the set, discards bad shares (each set aside in the account with its reason),
/// combines and verifies. Exit codes: 4 for fewer than k valid shares, 3 when the valid shares do not
/// give back the expected fingerprint.
///
/// Shares are grouped by the set they claim. With an expected fingerprint, every group that
/// carries it is tried, largest first, until one verifies: k forged shares claiming the set
/// with another threshold, or a second genuine set of the same key, cannot push a genuine
/// quorum aside. A share is set aside (called bad) only when it is proven not to belong to
/// the verified key: it fails its commitment, disagrees with the polynomial of the verified
/// shares, or carries another fingerprint. A share of another set of the same key is
/// reported as unused, and on failure shares of groups not shown wrong are left unlabelled.
pub fn reconstruct(
    candidates: Vec<Candidate>,
    manifest: Option<&Manifest>,
    stated: Option<Fingerprint>,
) -> Recovery {
    let mut account = ShareAccount::default();
    let result = reconstruct_into(candidates, manifest, stated, &mut account);
    Recovery { result, account }
}

/// [`reconstruct`], recording what happened to each share in `account`.
pub(super) fn reconstruct_into(
    candidates: Vec<Candidate>,
    manifest: Option<&Manifest>,
    stated: Option<Fingerprint>,
    account: &mut ShareAccount,
) -> Result<Recovered, Error> {
    let (expected, expected_from) = expected_fingerprint(manifest, stated)?;
    let mut aside = |name: String, code: AsideCode, reason: String| {
        account.set_aside.push(SetAside::new(name, code, reason))
    };

    let mut groups: BTreeMap<GroupKey, Vec<Candidate>> = BTreeMap::new();
    for candidate in candidates {
        let header = *candidate.share.header();
        if let Some(manifest) = manifest {
            if header.set_id != manifest.set_id {
                aside(
                    candidate.name,
                    AsideCode::OtherSet,
                    format!("belongs to set {}, not {}", header.set_id, manifest.set_id),
                );
                continue;
            }
            match manifest.share(header.index) {
                None => {
                    aside(
                        candidate.name,
                        AsideCode::NotInManifest,
                        format!("share {} is not in the manifest", header.index),
                    );
                    continue;
                }
                Some(entry) if entry.commitment != candidate.share.commitment() => {
                    aside(
                        candidate.name,
                        AsideCode::CommitmentMismatch,
                        format!("share {} does not match its commitment in the manifest (corrupted or forged)", header.index),
                    );
                    continue;
                }
                Some(_) => {}
            }
        }
        groups
            .entry((header.set_id, header.fingerprint, header.threshold))
            .or_default()
            .push(candidate);
    }

    let order = attempt_order(&groups, expected, manifest)?;
    let mut first_failure: Option<(Error, GroupKey, GroupAside)> = None;
    let mut verified = None;
    for group_key in order {
        let (_, carried, threshold) = group_key;
        let (wanted, from_what) = match expected {
            Some(expected) => (expected, expected_from.describe()),
            None => (carried, "the shares carry"),
        };
        let outcome = reconstruct_group(
            &groups[&group_key],
            usize::from(threshold),
            wanted,
            from_what,
        );
        match outcome.result {
            Ok((key, good)) => {
                verified = Some((group_key, key, good, outcome.set_aside));
                break;
            }
            Err(error) => {
                if first_failure.is_none() {
                    first_failure = Some((error, group_key, outcome.set_aside));
                }
            }
        }
    }

    let Some((group_key, key, good, in_group_aside)) = verified else {
        let Some((error, group_key, in_group_aside)) = first_failure else {
            return Err(Error::NotEnoughShares {
                valid: 0,
                threshold: manifest.map_or(0, |m| usize::from(m.threshold)),
            });
        };
        // The reported group's own findings stand; shares of another key than the expected
        // one are proven foreign; the rest are left unlabelled (unverified).
        for (position, code, reason) in in_group_aside {
            aside(groups[&group_key][position].name.clone(), code, reason);
        }
        if let Some(expected) = expected {
            for (other_key, group) in &groups {
                if other_key.1 != expected && *other_key != group_key {
                    for candidate in group {
                        let (code, reason) = foreign_reason(candidate.share.header(), group_key);
                        aside(candidate.name.clone(), code, reason);
                    }
                }
            }
        }
        return Err(error);
    };

    let (set_id, _, threshold) = group_key;
    let fingerprint = key.fingerprint();
    #[expect(
        clippy::expect_used,
        reason = "group_key was chosen among the keys of groups just above"
    )]
    let group = groups.remove(&group_key).expect("the chosen group exists");
    let mut chosen: Vec<Option<Candidate>> = group.into_iter().map(Some).collect();
    for (position, code, reason) in in_group_aside {
        if let Some(candidate) = chosen[position].take() {
            aside(candidate.name, code, reason);
        }
    }
    let good_shares: Vec<Candidate> = good
        .iter()
        .filter_map(|&position| chosen[position].take())
        .collect();
    let quorum: Vec<&Share> = good_shares
        .iter()
        .take(usize::from(threshold))
        .map(|c| &c.share)
        .collect();
    let verified_polynomial = Polynomial::through(&quorum);
    let mut unused = Vec::new();
    for candidate in groups.into_values().flatten() {
        let header = candidate.share.header();
        if header.fingerprint != fingerprint {
            let (code, reason) = foreign_reason(header, group_key);
            aside(candidate.name, code, reason);
        } else if header.set_id == set_id {
            let (code, reason) = if verified_polynomial.contains(&candidate.share) {
                (AsideCode::HeaderDisagrees, format!(
                    "share {}'s header disagrees with the verified shares of set {set_id} (threshold {} claimed, {threshold} verified)",
                    header.index, header.threshold
                ))
            } else {
                (AsideCode::OffPolynomial, format!(
                    "share {} claims set {set_id} but does not lie on the polynomial of its verified shares (corrupted or forged)",
                    header.index
                ))
            };
            aside(candidate.name, code, reason);
        } else {
            unused.push(SetAside::new(
                candidate.name,
                AsideCode::Unused,
                format!(
                    "share {} belongs to set {}, another set of the same key; not needed",
                    header.index, header.set_id
                ),
            ));
        }
    }
    account.unused.extend(unused);
    account.good.extend(
        good_shares
            .iter()
            .map(|c| (c.name.clone(), c.share.header().index)),
    );
    Ok(Recovered {
        key,
        fingerprint,
        expected_from,
        set_id,
        threshold,
        shares: good_shares.into_iter().map(|c| c.share).collect(),
    })
}

/// The groups to try, in order. With an expected fingerprint that some groups carry, all of
/// them, largest first; otherwise only the largest group, and a tie is an error since
/// nothing tells the sets apart.
fn attempt_order(
    groups: &BTreeMap<GroupKey, Vec<Candidate>>,
    expected: Option<Fingerprint>,
    manifest: Option<&Manifest>,
) -> Result<Vec<GroupKey>, Error> {
    let by_size_then_key = |keys: &mut Vec<GroupKey>| {
        keys.sort_by(|a, b| groups[b].len().cmp(&groups[a].len()).then(a.cmp(b)));
    };
    if let Some(expected) = expected {
        let mut carrying: Vec<GroupKey> = groups
            .keys()
            .filter(|(_, fingerprint, _)| *fingerprint == expected)
            .copied()
            .collect();
        if !carrying.is_empty() {
            by_size_then_key(&mut carrying);
            return Ok(carrying);
        }
    }
    let largest = groups.values().map(Vec::len).max().unwrap_or(0);
    let leaders: Vec<GroupKey> = groups
        .iter()
        .filter(|(_, group)| group.len() == largest)
        .map(|(key, _)| *key)
        .collect();
    match leaders.as_slice() {
        [] => Err(Error::NotEnoughShares {
            valid: 0,
            threshold: manifest.map_or(0, |m| usize::from(m.threshold)),
        }),
        [leader] => Ok(vec![*leader]),
        [(_, _, threshold), ..] if largest < usize::from(*threshold) => {
            Err(Error::NotEnoughShares {
                valid: largest,
                threshold: usize::from(*threshold),
            })
        }
        _ => Err(Error::about(
            Stated::KeyOrSet,
            Error::Verification(format!(
                "the shares come from {} different sets in equal numbers; name the key by its fingerprint or its set",
                leaders.len()
            )),
        )),
    }
}

/// Why a share that carries another fingerprint than the verified (or expected) key's is not
/// one of its shares.
fn foreign_reason(header: &ShareHeader, (set_id, fingerprint, _): GroupKey) -> (AsideCode, String) {
    if header.set_id != set_id {
        (
            AsideCode::OtherSet,
            format!(
                "share {} belongs to set {}, while the others belong to {set_id}",
                header.index, header.set_id
            ),
        )
    } else if header.fingerprint != fingerprint {
        (
            AsideCode::OtherKey,
            format!(
                "share {} is for another key (fingerprint {})",
                header.index, header.fingerprint
            ),
        )
    } else {
        (
            AsideCode::HeaderDisagrees,
            format!(
                "share {}'s header disagrees with the other shares of set {set_id}",
                header.index
            ),
        )
    }
}

/// What reconstructing one group gave: the key and the positions (in the group, by index) of
/// the shares that agree with it, or why not; and the shares set aside within the group.
struct GroupOutcome {
    result: Result<(MasterKey, Vec<usize>), Error>,
    set_aside: GroupAside,
}

/// Reconstructs one group of shares that claim the same set, key and threshold: one share
/// per index, bad ones located, the key combined and checked against `wanted`.
fn reconstruct_group(
    group: &[Candidate],
    k: usize,
    wanted: Fingerprint,
    from_what: &str,
) -> GroupOutcome {
    let mut set_aside = Vec::new();
    let result = (|| {
        let mut positions: Vec<usize> = (0..group.len()).collect();
        positions.sort_by_key(|&position| group[position].share.header().index);
        // One share per index: drop exact duplicates, set aside conflicting claims.
        let mut unique: Vec<usize> = Vec::with_capacity(positions.len());
        let mut conflicted: Vec<u8> = Vec::new();
        for position in positions {
            let share = &group[position].share;
            let index = share.header().index;
            match unique.last() {
                Some(&previous) if group[previous].share.header().index == index => {
                    if group[previous].share.point().same_as(share.point()) {
                        set_aside.push((
                            position,
                            AsideCode::DuplicateCopy,
                            format!("a second copy of share {index}"),
                        ));
                    } else {
                        conflicted.push(index);
                        set_aside.push((
                            position,
                            AsideCode::DuplicateIndex,
                            format!("share {index} is claimed by two different shares"),
                        ));
                    }
                }
                _ => unique.push(position),
            }
        }
        let (conflicting, mut unique): (Vec<usize>, Vec<usize>) = unique
            .into_iter()
            .partition(|&position| conflicted.contains(&group[position].share.header().index));
        for position in conflicting {
            let index = group[position].share.header().index;
            set_aside.push((
                position,
                AsideCode::DuplicateIndex,
                format!("share {index} is claimed by two different shares"),
            ));
        }
        if unique.len() < k {
            return Err(Error::NotEnoughShares {
                valid: unique.len(),
                threshold: k,
            });
        }
        let shares: Vec<&Share> = unique
            .iter()
            .map(|&position| &group[position].share)
            .collect();
        let bad = locate_bad_shares(&shares, k).ok_or_else(|| {
            Error::Verification(format!(
                "the {} shares do not lie on one polynomial and the bad ones cannot be told apart; \
                 give more shares or the manifest (-m)",
                unique.len()
            ))
        })?;
        for at in bad.iter().rev() {
            let position = unique.remove(*at);
            let index = group[position].share.header().index;
            set_aside.push((
                position,
                AsideCode::OffPolynomial,
                format!("share {index} does not agree with the other shares (corrupted or forged)"),
            ));
        }
        if unique.len() < k {
            return Err(Error::NotEnoughShares {
                valid: unique.len(),
                threshold: k,
            });
        }
        let quorum: Vec<&Share> = unique
            .iter()
            .take(k)
            .map(|&position| &group[position].share)
            .collect();
        let key = combine(&quorum)?;
        let fingerprint = key.fingerprint();
        if fingerprint != wanted {
            return Err(Error::Verification(format!(
                "the shares give back a key with fingerprint {fingerprint}, but {from_what} {wanted}"
            )));
        }
        Ok((key, unique))
    })();
    GroupOutcome { result, set_aside }
}

/// The fingerprint a reconstruction must give, and where it comes from: the manifest, else the
/// caller's, else none (the shares' own). A stated fingerprint that contradicts the manifest is
/// exit 3 before anything is combined.
pub(super) fn expected_fingerprint(
    manifest: Option<&Manifest>,
    stated: Option<Fingerprint>,
) -> Result<(Option<Fingerprint>, ExpectedFrom), Error> {
    match (manifest, stated) {
        (Some(manifest), Some(stated)) if manifest.fingerprint != stated => Err(Error::about(
            Stated::Fingerprint,
            Error::Verification(format!(
                "the stated fingerprint {stated} differs from the manifest's {}",
                manifest.fingerprint
            )),
        )),
        (Some(manifest), _) => Ok((Some(manifest.fingerprint), ExpectedFrom::Manifest)),
        (None, Some(stated)) => Ok((Some(stated), ExpectedFrom::Stated)),
        (None, None) => Ok((None, ExpectedFrom::Shares)),
    }
}

impl ExpectedFrom {
    /// "the manifest records", to be followed by the fingerprint.
    pub(super) fn describe(self) -> &'static str {
        match self {
            ExpectedFrom::Manifest => "the manifest records",
            ExpectedFrom::Stated => "the stated fingerprint is",
            ExpectedFrom::Shares => "the shares carry",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SharePoint;
    use crate::share::shamir::{split, Threshold};

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
        let mut shares = split(
            &key,
            Threshold::new(10, 20).unwrap(),
            SetId::from_bytes([3; 8]),
        )
        .unwrap();
        for i in [1usize, 4, 9, 13, 19] {
            shares[i] = forge(&shares[i], 0x5a);
        }
        let recovery = reconstruct(candidates(shares), None, None);
        let recovered = recovery.result.unwrap();
        assert_eq!(recovered.key.expose_bytes(), key.expose_bytes());
        let named: Vec<&str> = recovery
            .account
            .set_aside
            .iter()
            .map(|a| a.name.as_str())
            .collect();
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
        let mut shares = split(
            &key,
            Threshold::new(3, 5).unwrap(),
            SetId::from_bytes([4; 8]),
        )
        .unwrap();
        shares.truncate(3);
        shares[2] = forge(&shares[2], 1);
        let error = reconstruct(candidates(shares), None, None)
            .result
            .err()
            .unwrap();
        assert_eq!(error.kind(), crate::ErrorKind::Verification);
        let mut shares = split(
            &key,
            Threshold::new(3, 5).unwrap(),
            SetId::from_bytes([4; 8]),
        )
        .unwrap();
        shares.truncate(2);
        let error = reconstruct(candidates(shares), None, None)
            .result
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
        let shares = split(
            &key,
            Threshold::new(2, 3).unwrap(),
            SetId::from_bytes([5; 8]),
        )
        .unwrap();
        let recovery = reconstruct(candidates(shares), None, Some(other.fingerprint()));
        let error = recovery.result.err().unwrap();
        assert_eq!(error.kind(), crate::ErrorKind::Verification);
        assert!(recovery.account.set_aside.is_empty());

        let mut mixed = candidates(
            split(
                &key,
                Threshold::new(2, 3).unwrap(),
                SetId::from_bytes([5; 8]),
            )
            .unwrap(),
        );
        mixed.extend(candidates(
            split(
                &other,
                Threshold::new(2, 3).unwrap(),
                SetId::from_bytes([6; 8]),
            )
            .unwrap(),
        ));
        let recovery = reconstruct(mixed, None, Some(key.fingerprint()));
        let aside = recovery.account.set_aside;
        let recovered = recovery.result.unwrap();
        assert_eq!(recovered.key.expose_bytes(), key.expose_bytes());
        assert_eq!(aside.len(), 3);
        assert!(aside
            .iter()
            .all(|a| a.reason.contains("belongs to set 0606060606060606")));
    }
}
