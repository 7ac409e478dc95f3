//! Checking a set folder against its transcript (`custody ceremony verify`), and reading the
//! set's state and confirmations from it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::transcript::Transcript;
use crate::error::{Error, Stated};
use crate::fingerprint::sha256_hex;
use crate::fingerprint::Fingerprint;
use crate::input::{read_capped, read_input, MAX_MANIFEST, MAX_SEALED_SHARE};
use crate::set::{Manifest, MANIFEST_FILE};

/// Transcript event names that carry the set's manifest hash.
pub const MANIFEST_EVENTS: [&str; 3] =
    ["set-sealed", "set-extended", super::reissue::REISSUED_EVENT];

/// A set's lifecycle state, from its transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetState {
    /// Made, but fewer than k new holders have proven their shares.
    Pending,
    /// In use.
    Active,
    /// Replaced by a successor; its shares should be destroyed.
    Retired,
}

impl SetState {
    /// The name used in transcripts and output.
    pub fn name(self) -> &'static str {
        match self {
            SetState::Pending => "pending",
            SetState::Active => "active",
            SetState::Retired => "retired",
        }
    }
}

/// What a checked set folder says.
#[derive(Debug, Clone)]
pub struct Audit {
    /// The manifest.
    pub manifest: Manifest,
    /// The verified transcript.
    pub transcript: Transcript,
    /// The set's state.
    pub state: SetState,
    /// Holders who proved their share, by index, with the time of their latest confirmation.
    pub confirmed: BTreeMap<u8, String>,
}

impl Audit {
    /// Indices that have not confirmed.
    pub fn unconfirmed(&self) -> Vec<u8> {
        self.manifest
            .shares
            .iter()
            .map(|entry| entry.index)
            .filter(|index| !self.confirmed.contains_key(index))
            .collect()
    }

    /// The holder's name (or recipient) of share `index`, for messages.
    pub fn holder(&self, index: u8) -> String {
        self.manifest.holder_name(index)
    }
}

/// A set's state: the latest of its `set-pending`, `set-activated` and `set-retired` events
/// (a set with none, made before states were recorded, is active).
pub fn state_of(transcript: &Transcript) -> SetState {
    transcript
        .entries()
        .iter()
        .rev()
        .find_map(|entry| match entry.event.as_str() {
            "set-pending" => Some(SetState::Pending),
            "set-activated" => Some(SetState::Active),
            "set-retired" => Some(SetState::Retired),
            _ => None,
        })
        .unwrap_or(SetState::Active)
}

/// Holders who proved their share, in the room or by attestation, by index, with the time of
/// their latest proof (see [`super::attest::last_proofs`]).
pub fn confirmations_of(transcript: &Transcript) -> BTreeMap<u8, String> {
    super::attest::last_proofs(transcript)
        .into_iter()
        .map(|(index, proof)| (index, proof.time))
        .collect()
}

/// Marks a pending set active (`set-activated`) once k of its holders have proved their
/// shares, in the room or by attestation. Each proof matched the share dealt at split time
/// (its commitment or its attestation key), and the split was proven, so k proofs mean a
/// quorum that gives back the key. Returns whether the set was activated now.
pub fn activate_when_proven(transcript: &mut Transcript, manifest: &Manifest) -> bool {
    let proven: Vec<u8> = confirmations_of(transcript).into_keys().collect();
    if state_of(transcript) != SetState::Pending || proven.len() < usize::from(manifest.threshold) {
        return false;
    }
    transcript.append(
        "set-activated",
        serde_json::json!({"reason": "k holders proved their shares", "confirmed": proven}),
    );
    true
}

/// What the witnesses wrote down about a set, checked by every command that reconstructs,
/// hands off or retires it, in the same process and before any key leaves it (SPEC §1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// The key's fingerprint (`--fingerprint`).
    pub fingerprint: Option<Fingerprint>,
    /// A transcript hash (`--final-hash`): the chain must pass through the entry with this
    /// hash, and the key recorded up to it must be the manifest's.
    pub final_hash: Option<String>,
}

impl Expectations {
    /// Nothing witnessed: every check passes.
    pub fn none() -> Self {
        Self::default()
    }

    /// Checks an audited set: its transcript passes through the witnessed hash, the key
    /// recorded up to that entry is the manifest's, and the manifest's fingerprint is the
    /// witnessed one. Any mismatch is exit 3.
    pub fn check(&self, audit: &Audit, folder: &Path) -> Result<(), Error> {
        if let Some(witnessed) = &self.final_hash {
            let witnessed = witnessed.trim().to_ascii_lowercase();
            let entries = audit.transcript.entries();
            let Some(position) = entries.iter().position(|entry| entry.hash == witnessed) else {
                return Err(Error::Verification(format!(
                    "{}: the transcript does not pass through the witnessed hash {witnessed} (it was replaced or truncated)",
                    folder.display()
                )));
            };
            let recorded = entries[..=position]
                .iter()
                .rev()
                .find(|entry| MANIFEST_EVENTS.contains(&entry.event.as_str()))
                .and_then(|entry| entry.facts.get("fingerprint")?.as_str());
            if recorded != Some(audit.manifest.fingerprint.to_string().as_str()) {
                return Err(Error::Verification(format!(
                    "{}: the manifest's key {} is not the one recorded up to the witnessed hash",
                    folder.display(),
                    audit.manifest.fingerprint
                )));
            }
        }
        self.check_fingerprint(&audit.manifest, folder)
    }

    /// Checks a set that has no transcript (made by `split`): only a fingerprint can be
    /// checked, and a witnessed hash cannot be (exit 3).
    pub fn check_without_transcript(
        &self,
        manifest: &Manifest,
        folder: &Path,
    ) -> Result<(), Error> {
        if self.final_hash.is_some() {
            return Err(Error::about(
                Stated::FinalHash,
                Error::Verification(format!(
                    "{} has no transcript to check the witnessed final hash against",
                    folder.display()
                )),
            ));
        }
        self.check_fingerprint(manifest, folder)
    }

    fn check_fingerprint(&self, manifest: &Manifest, folder: &Path) -> Result<(), Error> {
        match self.fingerprint {
            Some(witnessed) if witnessed != manifest.fingerprint => {
                Err(Error::Verification(format!(
                    "{}: the manifest's key {} is not the witnessed {witnessed}",
                    folder.display(),
                    manifest.fingerprint
                )))
            }
            _ => Ok(()),
        }
    }
}

/// Checks a set folder: the transcript's chain, the witnessed final hash if given, the
/// manifest against the transcript, and every sealed file against the manifest. Any
/// mismatch is exit 3, naming the first thing at fault.
pub fn audit(folder: &Path, final_hash: Option<&str>) -> Result<Audit, Error> {
    audit_with(folder, final_hash, SealedFiles::AllPresent)
}

/// Checks a set folder before using it after a loss: the transcript and the manifest as
/// [`audit`] does, but sealed files may be missing or damaged — those shares are simply not
/// available, and recovery names them.
pub fn audit_for_recovery(folder: &Path) -> Result<Audit, Error> {
    audit_with(folder, None, SealedFiles::MayBeLost)
}

/// Whether every sealed file must be present and intact.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SealedFiles {
    AllPresent,
    MayBeLost,
}

fn audit_with(
    folder: &Path,
    final_hash: Option<&str>,
    sealed_files: SealedFiles,
) -> Result<Audit, Error> {
    let transcript = Transcript::load(folder)?;
    if let Some(witnessed) = final_hash {
        let witnessed = witnessed.trim().to_ascii_lowercase();
        if transcript.final_hash() != witnessed {
            let holds = transcript
                .entries()
                .iter()
                .position(|entry| entry.hash == witnessed);
            return Err(Error::Verification(match holds {
                Some(position) => format!(
                    "the transcript goes on after the witnessed final hash (entry {} of {}); entries were added since",
                    position + 1,
                    transcript.entries().len()
                ),
                None => "the transcript does not reach the witnessed final hash (it was truncated or replaced)".into(),
            }));
        }
    }
    let manifest_path = folder.join(MANIFEST_FILE);
    let manifest_bytes = read_input(&manifest_path, MAX_MANIFEST)?;
    let manifest = Manifest::parse(&manifest_bytes, &manifest_path)?;
    let recorded = transcript
        .entries()
        .iter()
        .rev()
        .find(|entry| MANIFEST_EVENTS.contains(&entry.event.as_str()))
        .ok_or_else(|| Error::Verification("the transcript records no manifest".into()))?;
    if recorded
        .facts
        .get("manifest_sha256")
        .and_then(Value::as_str)
        != Some(&sha256_hex(&manifest_bytes))
    {
        return Err(Error::Verification(format!(
            "manifest.json differs from the one recorded in transcript entry {}",
            recorded.seq + 1
        )));
    }
    for entry in manifest
        .shares
        .iter()
        .filter(|_| sealed_files == SealedFiles::AllPresent)
    {
        let path = folder.join(&entry.file);
        match read_capped(&path, MAX_SEALED_SHARE) {
            Ok(bytes) if sha256_hex(&bytes) == entry.sha256 => {}
            Ok(_) => {
                return Err(Error::Verification(format!(
                    "{} (share {}) differs from the manifest",
                    entry.file, entry.index
                )))
            }
            Err(_) => {
                return Err(Error::Verification(format!(
                    "{} (share {}) is missing",
                    entry.file, entry.index
                )))
            }
        }
    }
    let state = state_of(&transcript);
    let confirmed = confirmations_of(&transcript);
    Ok(Audit {
        manifest,
        transcript,
        state,
        confirmed,
    })
}
