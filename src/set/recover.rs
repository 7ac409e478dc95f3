//! From a pile of share inputs — some sealed, some typed, some bad — to a verified key.
//!
//! [`gather`] opens and parses every input, setting aside (with a reason) those that cannot
//! be used; [`reconstruct`] picks the set, checks shares against the manifest's commitments
//! or, without a manifest, locates bad shares by Berlekamp–Welch decoding, combines and
//! verifies the fingerprint (SPEC §1.3). Nothing here delivers the key; see [`crate::deliver`].

mod slip39;

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::error::{Error, Stated};
use crate::fingerprint::sha256_hex;
use crate::fingerprint::Fingerprint;
use crate::input::{read_capped, MAX_SEALED_SHARE};
use crate::seal::{Keyring, Opened};
use crate::secret::{MasterKey, KEY_LEN};
use crate::set::{Manifest, ManifestShare};
use crate::share::gf256::{berlekamp_welch, combine as combine_basis, Interpolator};
use crate::share::shamir::combine;
use crate::share::{SetId, Share, ShareHeader};

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

/// Parses a file of share texts (`--text`): one share per line, blank lines and `#` comments
/// ignored. `name` says where the bytes came from. A line that is not UTF-8 is set aside,
/// named, and the others are used; a file with no share text at all is set aside as a whole.
pub fn parse_share_texts(bytes: &[u8], name: &str) -> (Vec<ShareInput>, Vec<SetAside>) {
    let mut inputs = Vec::new();
    let mut aside = Vec::new();
    for (number, line) in crate::input::text_lines(bytes) {
        let line_name = format!("{name} line {number}");
        match line {
            None => aside.push(SetAside {
                name: line_name,
                reason: "not UTF-8 text, so not a share text".into(),
            }),
            Some(line) if line.trim().is_empty() || line.trim_start().starts_with('#') => {}
            Some(line) => inputs.push(ShareInput::Text {
                name: line_name,
                text: SecretString::from(line.to_string()),
            }),
        }
    }
    if inputs.is_empty() && aside.is_empty() {
        aside.push(SetAside {
            name: name.to_string(),
            reason: "holds no share text (it is empty or only comments)".into(),
        });
    }
    (inputs, aside)
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
/// single input, an empty passphrase included (the share is "skipped"), is recorded and the
/// rest go on.
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
                let bytes = match read_capped(&path, MAX_SEALED_SHARE) {
                    Ok(bytes) => bytes,
                    Err(error) => {
                        gathered.set_aside.push(SetAside {
                            name,
                            reason: error.to_string(),
                        });
                        continue;
                    }
                };
                let entry = manifest.and_then(|manifest| {
                    let file_name = path.file_name()?.to_string_lossy().into_owned();
                    manifest.share_by_file(&file_name)
                });
                // The manifest places the file when its hash is the one recorded: then only
                // the identity of the recorded recipient is tried. A file that differs (or
                // that the manifest does not list) is tried with every identity.
                let placed = match entry {
                    Some(entry) if sha256_hex(&bytes) == entry.sha256 => Some(entry),
                    Some(entry) => {
                        gathered.warnings.push(format!(
                            "{name} differs from the manifest's hash of share {}; its content is checked against the commitment",
                            entry.index
                        ));
                        None
                    }
                    None => None,
                };
                match keyring.open(&bytes, &name, placed.map(ManifestShare::addressee).as_ref())? {
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
                    Opened::Skipped => gathered.set_aside.push(SetAside {
                        name,
                        reason: "skipped: no passphrase was given (its holder is absent)".into(),
                    }),
                }
            }
        }
    }
    Ok(gathered)
}

/// The outcome of recovering a key, with every share accounted for.
pub struct SetRecovery {
    /// The verified key, or why not.
    pub result: Result<Recovered, Error>,
    /// Inputs not used, with reasons.
    pub set_aside: Vec<SetAside>,
    /// Sealed files no identity opened.
    pub undecryptable: Vec<String>,
    /// Remarks that did not disqualify a share.
    pub warnings: Vec<String>,
    /// Shares that opened but could not be verified, because the reconstruction failed:
    /// (where from, index).
    pub unverified: Vec<(String, u8)>,
}

/// Recovers a set's key from the sealed files in its folder that the keyring opens, plus any
/// `extra` inputs (share texts from paper), checked against the manifest. A sealed file that
/// is missing is named like a damaged one. Exit 6 when no share at all could be opened. A
/// SLIP-39 set is recovered with the empty SLIP-39 passphrase (ceremonies take no other).
pub fn recover_set(
    manifest: &Manifest,
    folder: &std::path::Path,
    keyring: &Keyring,
    extra: Vec<ShareInput>,
) -> SetRecovery {
    recover_set_with_passphrase(manifest, folder, keyring, extra, &mut || {
        Ok(SecretString::from(String::new()))
    })
}

/// [`recover_set`] for a set that may have been split with a SLIP-39 passphrase:
/// `slip39_passphrase` is asked only when SLIP-39 mnemonics opened, after every share's own
/// passphrase, as `combine --slip39-passphrase` asks it.
pub fn recover_set_with_passphrase(
    manifest: &Manifest,
    folder: &std::path::Path,
    keyring: &Keyring,
    extra: Vec<ShareInput>,
    slip39_passphrase: &mut dyn FnMut() -> Result<SecretString, Error>,
) -> SetRecovery {
    let mut inputs: Vec<ShareInput> = manifest
        .shares
        .iter()
        .map(|entry| folder.join(&entry.file))
        .map(ShareInput::Sealed)
        .collect();
    inputs.extend(extra);
    match gather(inputs, keyring, Some(manifest)) {
        Ok(gathered) => reconstruct_gathered(
            gathered,
            Some(manifest),
            None,
            Vec::new(),
            slip39_passphrase,
        ),
        Err(error) => SetRecovery::failed(error),
    }
}

impl SetRecovery {
    /// A recovery that stopped before any share was accounted for (a wrong passphrase).
    pub fn failed(error: Error) -> Self {
        Self {
            result: Err(error),
            set_aside: Vec::new(),
            undecryptable: Vec::new(),
            warnings: Vec::new(),
            unverified: Vec::new(),
        }
    }
}

/// Reconstructs and verifies what [`gather`] opened, with [`reconstruct_either`], against the
/// manifest or the `stated` fingerprint. `set_aside` holds inputs already found unusable
/// elsewhere (a scan with no code), listed after those `gather` set aside and before those
/// set aside while reconstructing. The SLIP-39 passphrase is asked for only when mnemonics
/// opened. Exit 6 when no share could be opened.
pub fn reconstruct_gathered(
    gathered: Gathered,
    manifest: Option<&Manifest>,
    stated: Option<Fingerprint>,
    mut set_aside: Vec<SetAside>,
    slip39_passphrase: impl FnOnce() -> Result<SecretString, Error>,
) -> SetRecovery {
    let Gathered {
        candidates,
        mnemonics,
        undecryptable,
        set_aside: gathered_aside,
        warnings,
    } = gathered;
    set_aside.splice(0..0, gathered_aside);
    let mut recovery = SetRecovery {
        result: Err(Error::NothingDecrypted),
        set_aside,
        undecryptable,
        warnings,
        unverified: Vec::new(),
    };
    if candidates.is_empty() && mnemonics.is_empty() && !recovery.undecryptable.is_empty() {
        return recovery;
    }
    let opened: Vec<(String, u8)> = candidates
        .iter()
        .map(|c| (c.name.clone(), c.share.header().index))
        .chain(
            mnemonics
                .iter()
                .map(|c| (c.name.clone(), c.share.params().member_index + 1)),
        )
        .collect();
    let passphrase = if mnemonics.is_empty() {
        SecretString::from(String::new())
    } else {
        match slip39_passphrase() {
            Ok(passphrase) => passphrase,
            Err(error) => {
                recovery.result = Err(error);
                return recovery;
            }
        }
    };
    recovery.result = reconstruct_either(
        candidates,
        mnemonics,
        manifest,
        stated,
        passphrase.expose_secret(),
        &mut recovery.set_aside,
    );
    if recovery.result.is_err() {
        recovery.unverified = opened
            .into_iter()
            .filter(|(name, _)| !recovery.set_aside.iter().any(|aside| &aside.name == name))
            .collect();
    }
    recovery
}

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
    /// The good shares: (where from, index).
    pub good: Vec<(String, u8)>,
    /// The good shares themselves, for extending the set.
    pub shares: Vec<Share>,
    /// Shares not used and not shown wrong: those of another set of the same key.
    pub unused: Vec<SetAside>,
}

/// The public facts that sort shares into candidate sets: (set id, carried fingerprint, k).
type GroupKey = (SetId, Fingerprint, u8);

/// Shares set aside within one group: (position in the group, reason).
type GroupAside = Vec<(usize, String)>;

/// Picks the set, discards bad shares (each pushed to `set_aside` with its reason), combines
/// and verifies. Exit codes: 4 for fewer than k valid shares, 3 when the valid shares do not
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
    set_aside: &mut Vec<SetAside>,
) -> Result<Recovered, Error> {
    let (expected, expected_from) = expected_fingerprint(manifest, stated)?;
    let mut aside = |name: String, reason: String| set_aside.push(SetAside { name, reason });

    let mut groups: BTreeMap<GroupKey, Vec<Candidate>> = BTreeMap::new();
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
                None => {
                    aside(
                        candidate.name,
                        format!("share {} is not in the manifest", header.index),
                    );
                    continue;
                }
                Some(entry) if entry.commitment != candidate.share.commitment() => {
                    aside(
                        candidate.name,
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
        for (position, reason) in in_group_aside {
            aside(groups[&group_key][position].name.clone(), reason);
        }
        if let Some(expected) = expected {
            for (other_key, group) in &groups {
                if other_key.1 != expected && *other_key != group_key {
                    for candidate in group {
                        aside(
                            candidate.name.clone(),
                            foreign_reason(candidate.share.header(), group_key),
                        );
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
    for (position, reason) in in_group_aside {
        if let Some(candidate) = chosen[position].take() {
            aside(candidate.name, reason);
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
            let reason = foreign_reason(header, group_key);
            aside(candidate.name, reason);
        } else if header.set_id == set_id {
            let reason = if verified_polynomial.contains(&candidate.share) {
                format!(
                    "share {}'s header disagrees with the verified shares of set {set_id} (threshold {} claimed, {threshold} verified)",
                    header.index, header.threshold
                )
            } else {
                format!(
                    "share {} claims set {set_id} but does not lie on the polynomial of its verified shares (corrupted or forged)",
                    header.index
                )
            };
            aside(candidate.name, reason);
        } else {
            unused.push(SetAside {
                reason: format!(
                    "share {} belongs to set {}, another set of the same key; not needed",
                    header.index, header.set_id
                ),
                name: candidate.name,
            });
        }
    }
    Ok(Recovered {
        key,
        fingerprint,
        expected_from,
        set_id,
        threshold,
        good: good_shares
            .iter()
            .map(|c| (c.name.clone(), c.share.header().index))
            .collect(),
        shares: good_shares.into_iter().map(|c| c.share).collect(),
        unused,
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
fn foreign_reason(header: &ShareHeader, (set_id, fingerprint, _): GroupKey) -> String {
    if header.set_id != set_id {
        format!(
            "share {} belongs to set {}, while the others belong to {set_id}",
            header.index, header.set_id
        )
    } else if header.fingerprint != fingerprint {
        format!(
            "share {} is for another key (fingerprint {})",
            header.index, header.fingerprint
        )
    } else {
        format!(
            "share {}'s header disagrees with the other shares of set {set_id}",
            header.index
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
                        set_aside.push((position, format!("a second copy of share {index}")));
                    } else {
                        conflicted.push(index);
                        set_aside.push((
                            position,
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

/// The polynomial through k shares, to check further shares against it.
struct Polynomial<'a> {
    quorum: &'a [&'a Share],
    interpolator: Option<Interpolator>,
}

impl<'a> Polynomial<'a> {
    fn through(quorum: &'a [&'a Share]) -> Self {
        let xs: Vec<u8> = quorum.iter().map(|share| share.header().index).collect();
        Self {
            quorum,
            interpolator: Interpolator::new(&xs),
        }
    }

    /// Whether `share`'s point is this polynomial's value at its index.
    fn contains(&self, share: &Share) -> bool {
        let Some(interpolator) = &self.interpolator else {
            return false;
        };
        let basis = interpolator.basis_at(share.header().index);
        let mut column = Zeroizing::new(vec![0u8; self.quorum.len()]);
        (0..KEY_LEN).all(|position| {
            for (slot, known) in column.iter_mut().zip(self.quorum) {
                *slot = known.point().expose_bytes()[position];
            }
            combine_basis(&basis, &column) == share.point().expose_bytes()[position]
        })
    }
}

/// The fingerprint a reconstruction must give, and where it comes from: the manifest, else the
/// caller's, else none (the shares' own). A stated fingerprint that contradicts the manifest is
/// exit 3 before anything is combined.
fn expected_fingerprint(
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
    fn describe(self) -> &'static str {
        match self {
            ExpectedFrom::Manifest => "the manifest records",
            ExpectedFrom::Stated => "the stated fingerprint is",
            ExpectedFrom::Shares => "the shares carry",
        }
    }
}

/// Positions (in `shares`) of the shares that do not lie on the polynomial most shares agree
/// on; `None` if there are too many bad ones to tell (more than ⌊(m − k) / 2⌋).
///
/// Fast path: interpolate through the first k and check the rest, O(m·k). Only if that finds
/// a disagreement, run Berlekamp–Welch per key byte and take the union of the error positions.
fn locate_bad_shares(shares: &[&Share], k: usize) -> Option<Vec<usize>> {
    let xs: Vec<u8> = shares.iter().map(|share| share.header().index).collect();
    // One key byte of each share: secret, so wiped when dropped.
    let column = |position: usize, range: &[&Share]| -> Zeroizing<Vec<u8>> {
        Zeroizing::new(
            range
                .iter()
                .map(|share| share.point().expose_bytes()[position])
                .collect(),
        )
    };
    let polynomial = Polynomial::through(&shares[..k]);
    let consistent = shares[k..].iter().all(|share| polynomial.contains(share));
    if consistent {
        return Some(Vec::new());
    }
    let mut bad: Vec<usize> = Vec::new();
    for position in 0..KEY_LEN {
        bad.extend(berlekamp_welch(&xs, &column(position, shares), k)?);
    }
    bad.sort_unstable();
    bad.dedup();
    (shares.len() - bad.len() >= k).then_some(bad)
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
        let mut shares = split(
            &key,
            Threshold::new(3, 5).unwrap(),
            SetId::from_bytes([4; 8]),
        )
        .unwrap();
        shares.truncate(3);
        shares[2] = forge(&shares[2], 1);
        let mut aside = Vec::new();
        let error = reconstruct(candidates(shares), None, None, &mut aside)
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
        let shares = split(
            &key,
            Threshold::new(2, 3).unwrap(),
            SetId::from_bytes([5; 8]),
        )
        .unwrap();
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
        let recovered = reconstruct(mixed, None, Some(key.fingerprint()), &mut aside).unwrap();
        assert_eq!(recovered.key.expose_bytes(), key.expose_bytes());
        assert_eq!(aside.len(), 3);
        assert!(aside
            .iter()
            .all(|a| a.reason.contains("belongs to set 0606060606060606")));
    }
}
