//! Extending a set: new shares for new custodians on the same polynomial, so the key and the
//! shares people already hold stay as they are, and old and new shares combine together.

use std::path::PathBuf;

use serde_json::json;

use super::audit::{audit, Expectations, SetState};
use super::preflight::Preflight;
use super::transcript::{Transcript, TRANSCRIPT_FILE};
use crate::error::Error;
use crate::fingerprint::sha256_hex;
use crate::input::{read_input, MAX_SEALED_SHARE};
use crate::seal::{Keyring, Sealer};
use crate::set::recover::recover_set;
use crate::set::{
    check_output_folder, recipient_fields, seal_all, write_folder_atomically, Manifest,
    ManifestShare, Scheme, MANIFEST_FILE,
};
use crate::share::attest::AttestKey;
use crate::share::shamir::{extend as extend_polynomial, MAX_SHARES};
use crate::share::Share;

/// What an extension needs.
pub struct Extension<'a> {
    /// The set's folder.
    pub from: PathBuf,
    /// What the witnesses recorded about the set.
    pub expected: &'a Expectations,
    /// Identities of a quorum of the set's custodians.
    pub keyring: &'a Keyring,
    /// One recipient per new share.
    pub recipients: Vec<Box<dyn Sealer>>,
    /// The new holders' names, in the order of the recipients (the caller checks there are
    /// none or one per recipient; a share without a name is shown by its recipient).
    pub names: Vec<String>,
    /// The folder for the whole extended set.
    pub output: PathBuf,
    /// The preflight, already run and checked.
    pub preflight: &'a Preflight,
}

/// Extends a set into a new folder holding the whole extended set: the old sealed files
/// unchanged, the new ones, one manifest, and the transcript carried on.
pub fn extend(request: Extension<'_>) -> Result<(Manifest, Transcript), Error> {
    let old = audit(&request.from, None)?;
    request.expected.check(&old, &request.from)?;
    if old.state != SetState::Active {
        return Err(Error::Refused(format!(
            "{} is {}, not active: only an active set is extended",
            request.from.display(),
            old.state.name()
        )));
    }
    if old.manifest.scheme == Scheme::Slip39 {
        return Err(Error::Usage(format!(
            "{} is a SLIP-39 set, which extend cannot grow yet; make a new set with a rotation",
            request.from.display()
        )));
    }
    check_output_folder(&request.output)?;
    let added = request.recipients.len();
    let first_new = old
        .manifest
        .shares
        .iter()
        .map(|entry| usize::from(entry.index))
        .max()
        .unwrap_or(0)
        + 1;
    let new_count = first_new - 1 + added;
    if added == 0 || new_count > MAX_SHARES {
        return Err(Error::Usage(format!(
            "a set holds 1 to {MAX_SHARES} shares; {new_count} asked for"
        )));
    }
    let recovered = recover_set(&old.manifest, &request.from, request.keyring, Vec::new()).result?;
    let known: Vec<&Share> = recovered.shares.iter().collect();
    let new_indices: Vec<u8> = (first_new..=new_count).map(|index| index as u8).collect();
    let grown = extend_polynomial(&recovered.key, &known, &new_indices, new_count as u8)?;
    drop(recovered);
    let sealed = seal_all(&grown, &request.recipients)?;

    let mut manifest = old.manifest.clone();
    manifest.count = new_count as u8;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in &old.manifest.shares {
        let path = request.from.join(&entry.file);
        files.push((
            entry.file.clone(),
            read_input(&path, MAX_SEALED_SHARE)?.to_vec(),
        ));
    }
    let mut added_facts = Vec::new();
    for (position, ((share, recipient), bytes)) in grown
        .iter()
        .zip(&request.recipients)
        .zip(sealed)
        .enumerate()
    {
        let (recipient_text, recipients) = recipient_fields(recipient.as_ref());
        let entry = ManifestShare {
            index: share.header().index,
            recipient: recipient_text,
            recipients,
            holder: request.names.get(position).cloned(),
            file: extension_file_name(share.header().index, recipient.extension()),
            sha256: sha256_hex(&bytes),
            commitment: share.commitment(),
            attest_key: Some(AttestKey::of(share)),
        };
        added_facts.push(entry.sealed_facts());
        files.push((entry.file.clone(), bytes));
        manifest.shares.push(entry);
    }
    let manifest_json = manifest.to_json_bytes();
    let mut transcript = old.transcript;
    transcript.append("preflight", request.preflight.to_json());
    transcript.append(
        "set-extended",
        json!({
            "set_id": manifest.set_id.to_string(),
            "fingerprint": manifest.fingerprint.to_string(),
            "threshold": manifest.threshold,
            "count": manifest.count,
            "from_folder": request.from.display().to_string(),
            "added": added_facts,
            "manifest_sha256": sha256_hex(&manifest_json),
        }),
    );
    files.push((MANIFEST_FILE.into(), manifest_json));
    files.push((TRANSCRIPT_FILE.into(), transcript.to_jsonl()));
    write_folder_atomically(&request.output, &files)?;
    Ok((manifest, transcript))
}

/// The sealed file name of a share added by an extension: `share-<index>.<ext>`. It carries no
/// share count, unlike the `share-<index>-of-<n>` files made with the set: n grows with every
/// extension, and `share-6-of-6` beside `share-1-of-5` reads as two different sets.
fn extension_file_name(index: u8, extension: &str) -> String {
    format!("share-{index}.{extension}")
}
