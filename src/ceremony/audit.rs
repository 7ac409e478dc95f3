//! Checking a set folder against its transcript (`custody ceremony verify`), and reading the
//! set's state and confirmations from it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::transcript::Transcript;
use crate::error::Error;
use crate::input::{read_capped, read_input, MAX_MANIFEST, MAX_SEALED_SHARE};
use crate::set::{sha256_hex, Manifest, MANIFEST_FILE};

/// Transcript event names that carry the set's manifest hash.
pub const MANIFEST_EVENTS: [&str; 2] = ["set-sealed", "set-extended"];

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

/// Holders who proved their share, by index, with the time of their latest confirmation.
pub fn confirmations_of(transcript: &Transcript) -> BTreeMap<u8, String> {
    transcript
        .events("holder-confirmed")
        .filter_map(|entry| {
            Some((
                entry.facts.get("index")?.as_u64()? as u8,
                entry.time.clone(),
            ))
        })
        .collect()
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
