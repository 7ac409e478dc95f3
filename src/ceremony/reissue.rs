//! Reissuing a lost share at its own index: a quorum reconstructs the key, the same Shamir
//! point is computed again and sealed to the holder's new recipient, and the set folder's
//! sealed file, manifest and transcript change together. Nobody gains a share: the lost copy
//! and the new one are the same point, checked against the share's commitment.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::audit::{audit_for_recovery, Audit, Expectations, SetState};
use super::preflight::Preflight;
use super::transcript::{Transcript, TRANSCRIPT_FILE};
use crate::error::Error;
use crate::fingerprint::sha256_hex;
use crate::seal::{Keyring, Sealer};
use crate::set::recover::{recover_set, Recovered};
use crate::set::write::replace_files;
use crate::set::{recipient_fields, seal_all, Manifest, ManifestShare, Scheme, MANIFEST_FILE};
use crate::share::shamir::extend as points_at;
use crate::share::{Share, ShareHeader};

/// The transcript event a reissue records.
pub const REISSUED_EVENT: &str = "share-reissued";

/// What a reissue needs.
pub struct Reissue<'a> {
    /// The set's folder, changed in place.
    pub folder: PathBuf,
    /// What the witnesses recorded about the set.
    pub expected: &'a Expectations,
    /// Identities of a quorum of the set's custodians.
    pub keyring: &'a Keyring,
    /// The index of the share to reissue.
    pub index: u8,
    /// The holder's new recipient.
    pub recipient: Box<dyn Sealer>,
    /// The holder's name, if it changes.
    pub name: Option<String>,
    /// The preflight, already run and checked.
    pub preflight: &'a Preflight,
}

/// What a reissue did.
pub struct Reissued {
    /// The manifest after.
    pub manifest: Manifest,
    /// The transcript after.
    pub transcript: Transcript,
    /// The share's entry before.
    pub replaced: ManifestShare,
    /// The share's entry now.
    pub entry: ManifestShare,
    /// The indices of the quorum that reconstructed the key.
    pub quorum: Vec<u8>,
    /// The old folder's hidden name, when it could not be removed after the change.
    pub leftover: Option<PathBuf>,
}

/// Reissues share `index` of a set to a new recipient. Everything is checked and sealed before
/// the folder changes; then its sealed file, manifest and transcript change in one step and
/// the old sealed file is removed (its hash stays in the transcript).
pub fn reissue(request: Reissue<'_>) -> Result<Reissued, Error> {
    let folder = &request.folder;
    let (set, replaced) = checked(folder, request.expected, request.index)?;
    let file = reissued_file_name(
        request.index,
        reissues_of(&set.transcript, request.index) + 1,
        request.recipient.extension(),
    );
    if folder.join(&file).symlink_metadata().is_ok() {
        return Err(Error::Refused(format!(
            "{} exists; outputs are never overwritten",
            folder.join(&file).display()
        )));
    }

    let recovery = recover_set(&set.manifest, folder, request.keyring, Vec::new());
    let recovered = recovery.result?;
    let share = same_share(&recovered, &replaced, set.manifest.count)?;
    let quorum = recovery.account.good_indices();
    drop(recovered);
    let sealed = seal_all(
        std::slice::from_ref(&share),
        std::slice::from_ref(&request.recipient),
    )?
    .pop()
    .ok_or_else(|| Error::Seal {
        index: request.index,
        reason: "sealing gave no file".into(),
    })?;
    let (recipient, recipients) = recipient_fields(request.recipient.as_ref());
    let entry = ManifestShare {
        index: request.index,
        recipient,
        recipients,
        holder: request.name.clone().or_else(|| replaced.holder.clone()),
        file,
        sha256: sha256_hex(&sealed),
        commitment: share.commitment(),
        attest_key: replaced.attest_key,
    };
    drop(share);

    let mut manifest = set.manifest.clone();
    for slot in &mut manifest.shares {
        if slot.index == request.index {
            *slot = entry.clone();
        }
    }
    let manifest_json = manifest.to_json_bytes();
    let mut transcript = set.transcript.clone();
    transcript.append("preflight", request.preflight.to_json());
    let mut facts = json!({
        "set_id": manifest.set_id.to_string(),
        "fingerprint": manifest.fingerprint.to_string(),
        "index": entry.index,
        "holder": entry.holder,
        "recipient": entry.recipient,
        "file": entry.file,
        "sha256": entry.sha256,
        "commitment": entry.commitment.to_string(),
        "quorum": quorum,
        "replaced": {
            "holder": replaced.holder,
            "recipient": replaced.recipient,
            "file": replaced.file,
            "sha256": replaced.sha256,
            "kept": false,
        },
        "manifest_sha256": sha256_hex(&manifest_json),
    });
    if !entry.recipients.is_empty() {
        facts["recipients"] = json!(entry.recipients);
    }
    transcript.append(REISSUED_EVENT, facts);

    // The folder may have gained entries since it was read (a holder confirmed meanwhile):
    // those would be lost with the transcript written here.
    if Transcript::load(folder)?.final_hash() != set.transcript.final_hash() {
        return Err(Error::Refused(format!(
            "{}'s transcript changed while the share was reissued; nothing was changed, run it again",
            folder.display()
        )));
    }
    let leftover = replace_files(
        folder,
        &[
            (entry.file.clone(), sealed),
            (MANIFEST_FILE.into(), manifest_json),
            (TRANSCRIPT_FILE.into(), transcript.to_jsonl()),
        ],
        &[replaced.file.as_str()],
    )?;
    Ok(Reissued {
        manifest,
        transcript,
        replaced,
        entry,
        quorum,
        leftover,
    })
}

/// Checks everything about a reissue that needs no secret: the set's transcript and manifest,
/// what the witnesses recorded, the scheme, the index and the set's state. Run it before
/// asking for passphrases or PINs; [`reissue`] runs it again.
pub fn check(folder: &Path, expected: &Expectations, index: u8) -> Result<(), Error> {
    checked(folder, expected, index).map(drop)
}

/// [`check`], returning the set's audit and the share's entry.
fn checked(
    folder: &Path,
    expected: &Expectations,
    index: u8,
) -> Result<(Audit, ManifestShare), Error> {
    let set = audit_for_recovery(folder)?;
    expected.check(&set, folder)?;
    if set.manifest.scheme == Scheme::Slip39 {
        return Err(Error::Usage(format!(
            "{} is a SLIP-39 set: reissue recomputes custody-v1 shares only; replace a lost mnemonic with a rotation",
            folder.display()
        )));
    }
    let entry = set.manifest.share(index).cloned().ok_or_else(|| {
        Error::Usage(format!(
            "share {index} is not in set {} ({}): its shares are {}",
            set.manifest.set_id,
            folder.display(),
            set.manifest
                .shares
                .iter()
                .map(|entry| entry.index.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    if set.state == SetState::Retired {
        return Err(Error::Refused(format!(
            "{} is retired: its shares are to be destroyed, not reissued",
            folder.display()
        )));
    }
    Ok((set, entry))
}

/// Share `replaced.index` again: the quorum's own copy if it took part, else the polynomial
/// through the quorum evaluated at its index. Its header's n is the set's size when it was made,
/// which the manifest does not keep (an extension grows n), so each n from the index up to the
/// set's is tried; the share is the one whose commitment is the manifest's, byte for byte, or
/// the reissue stops (3).
fn same_share(recovered: &Recovered, replaced: &ManifestShare, count: u8) -> Result<Share, Error> {
    let index = replaced.index;
    let at_index = match recovered
        .shares
        .iter()
        .find(|share| share.header().index == index)
    {
        Some(share) => copy_with_count(share, share.header().count)?,
        None => {
            let known: Vec<&Share> = recovered.shares.iter().collect();
            points_at(&recovered.key, &known, &[index], count)?
                .pop()
                .ok_or_else(|| Error::Verification(format!("share {index} was not computed")))?
        }
    };
    let threshold = at_index.header().threshold;
    for made_with in index.max(threshold)..=count {
        let candidate = copy_with_count(&at_index, made_with)?;
        if candidate.commitment() == replaced.commitment {
            return Ok(candidate);
        }
    }
    Err(Error::Verification(format!(
        "share {index} computed from the quorum does not match its commitment in the manifest: the manifest or the quorum is not this set's"
    )))
}

/// The same point under a header with n = `count`.
fn copy_with_count(share: &Share, count: u8) -> Result<Share, Error> {
    let header = ShareHeader {
        count,
        ..*share.header()
    };
    Share::new(
        header,
        crate::secret::SharePoint::from_bytes(*share.point().expose_bytes()),
    )
    .map_err(|error| Error::Verification(format!("share {}: {error}", header.index)))
}

/// How many times share `index` was reissued before.
fn reissues_of(transcript: &Transcript, index: u8) -> usize {
    transcript
        .events(REISSUED_EVENT)
        .filter(|entry| {
            entry.facts.get("index").and_then(serde_json::Value::as_u64) == Some(u64::from(index))
        })
        .count()
}

/// The sealed file name of the `nth` reissue of share `index`: `share-<index>-reissued-<nth>`.
/// A new name, so a stale copy of the old file is never taken for the new one.
fn reissued_file_name(index: u8, nth: usize, extension: &str) -> String {
    format!("share-{index}-reissued-{nth}.{extension}")
}
