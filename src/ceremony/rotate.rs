//! Rotation in one sitting, Vault `rekey -verify` style: a quorum of the old set opens the old
//! key, a new set is made per a new plan, and it becomes active only once at least k new
//! holders have proven their shares; only then is the key handed to the platform's
//! re-encryption job and the old set retired. And `rotate confirm`, which records holders who
//! prove their shares later.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::audit::{
    activate_when_proven, audit, audit_for_recovery, confirmations_of, state_of, Audit,
    Expectations, SetState,
};
use super::genesis::{check_paper, prepare_from_plan, record_set, stage_paper};
use super::plan::Plan;
use super::preflight::Preflight;
use super::transcript::{Transcript, TRANSCRIPT_FILE};
use crate::deliver::KeyFormat;
use crate::error::Error;
use crate::ram_dir::RamDir;
use crate::seal::{Keyring, Opened};
use crate::secret::MasterKey;
use crate::set::recover::{reconstruct, recover_set, Candidate, SetAside};
use crate::set::{Manifest, PreparedSet, Scheme};
use crate::share::Share;

/// The hand-off of the old and new keys to the platform's re-encryption job.
pub type HandOff<'a> = &'a dyn Fn(&[u8]) -> Result<(), Error>;

/// What a rotation needs.
pub struct Rotation<'a> {
    /// The old set's folder.
    pub from: PathBuf,
    /// What the witnesses recorded about the old set.
    pub expected: &'a Expectations,
    /// The new set's plan.
    pub plan: &'a Plan,
    /// The new set's folder.
    pub output: PathBuf,
    /// Identities of the old set's custodians (a quorum).
    pub old_keyring: &'a Keyring,
    /// Identities of new holders who prove their shares now.
    pub confirm_keyring: &'a Keyring,
    /// Keep the key (a reshare) instead of making a new one.
    pub keep_key: bool,
    /// The hand-off: given `old <hex>\nnew <hex>\n` once the new set is active (the CLI's
    /// `--exec` job, or the drill's in-process checker). The old set is retired when it succeeds.
    pub hand_off: Option<HandOff<'a>>,
    /// The preflight, already run and checked.
    pub preflight: &'a Preflight,
    /// Where passphrases and PINs for the new recipients come from.
    pub prompts: &'a crate::seal::Prompts,
    /// The RAM-backed folder for the paper sheets of new custodians with `paper = true`.
    pub paper: Option<&'a RamDir>,
}

/// How a rotation ended.
pub struct Rotated {
    /// The new set's audit after the rotation.
    pub audit: Audit,
    /// Shares of the old set that were set aside.
    pub old_set_aside: Vec<SetAside>,
    /// Whether the key was handed to `--exec` and the old set retired.
    pub handed_off: bool,
    /// Whether the old set's own transcript records the retirement (its folder was writable).
    pub old_transcript_updated: bool,
    /// The paper sheets written for the new holders, if any.
    pub sheets: Vec<PathBuf>,
}

/// Opens which of a set's sealed shares the keyring can open and whose commitment matches.
pub fn confirmations(
    manifest: &Manifest,
    sealed: &[(String, Vec<u8>)],
    keyring: &Keyring,
) -> Result<Vec<Share>, Error> {
    let mut proven = Vec::new();
    for (entry, (name, bytes)) in manifest.shares.iter().zip(sealed) {
        if let Opened::Plaintext(plaintext) = keyring.open(bytes, name, Some(&entry.addressee()))? {
            let share = std::str::from_utf8(&plaintext)
                .ok()
                .and_then(|text| Share::from_text(text).ok());
            if let Some(share) = share.filter(|share| {
                share.header().index == entry.index && share.commitment() == entry.commitment
            }) {
                proven.push(share);
            }
        }
    }
    Ok(proven)
}

/// Records confirmations not yet in the transcript; activates a pending set once k proven
/// shares give back its fingerprint. Returns the newly confirmed indices.
fn record_confirmations(
    transcript: &mut Transcript,
    manifest: &Manifest,
    already: &[u8],
    proven: Vec<Share>,
) -> Result<Vec<u8>, Error> {
    let mut newly = Vec::new();
    for share in &proven {
        let index = share.header().index;
        if !already.contains(&index) {
            let holder = manifest.share(index).and_then(|entry| entry.holder.clone());
            transcript.append(
                "holder-confirmed",
                json!({"index": index, "holder": holder}),
            );
            newly.push(index);
        }
    }
    let threshold = usize::from(manifest.threshold);
    if state_of(transcript) != SetState::Pending || confirmations_of(transcript).len() < threshold {
        return Ok(newly);
    }
    // When k shares are in hand now, they must also give back the fingerprint.
    if proven.len() >= threshold {
        let candidates = proven
            .into_iter()
            .map(|share| Candidate {
                name: format!("share {}", share.header().index),
                share,
            })
            .collect();
        reconstruct(candidates, Some(manifest), None).result?;
    }
    activate_when_proven(transcript, manifest);
    Ok(newly)
}

/// Runs a rotation. The new set is written before anything is handed off; the old set is
/// retired only after the hand-off succeeded.
pub fn rotate(request: Rotation<'_>) -> Result<Rotated, Error> {
    // New holders confirm custody-v1 shares only; a SLIP-39 set would stay pending forever.
    if request.plan.scheme == Scheme::Slip39 {
        return Err(Error::Usage(
            "a rotation cannot make a SLIP-39 set yet: the plan's scheme must be custody-v1".into(),
        ));
    }
    let old = audit_for_recovery(&request.from)?;
    request.expected.check(&old, &request.from)?;
    if old.state != SetState::Active {
        return Err(Error::Refused(format!(
            "{} is {}, not active: only an active set is rotated",
            request.from.display(),
            old.state.name()
        )));
    }
    crate::set::check_output_folder(&request.output)?;
    check_paper(request.plan, request.paper)?;
    let recovery = recover_set(
        &old.manifest,
        &request.from,
        request.old_keyring,
        Vec::new(),
    );
    let old_recovered = recovery
        .result
        .map_err(in_set("old", &old.manifest, &request.from))?;
    let new_key = if request.keep_key {
        MasterKey::from_bytes(*old_recovered.key.expose_bytes())
    } else {
        MasterKey::generate()?
    };
    let set: PreparedSet = prepare_from_plan(
        request.plan,
        &new_key,
        request.output.clone(),
        request.prompts,
    )?;

    let mut transcript = Transcript::new();
    transcript.append(
        "ceremony-started",
        json!({
            "ceremony": "rotation",
            "plan_sha256": request.plan.sha256,
            "from_set": old.manifest.set_id.to_string(),
            "from_fingerprint": old.manifest.fingerprint.to_string(),
            "from_transcript_hash": old.transcript.final_hash(),
            "keep_key": request.keep_key,
        }),
    );
    transcript.append("preflight", request.preflight.to_json());
    transcript.append(
        "old-quorum-verified",
        json!({
            "set_id": old.manifest.set_id.to_string(),
            "fingerprint": old_recovered.fingerprint.to_string(),
            "shares": recovery.account.good_indices(),
        }),
    );
    transcript.append(
        if request.keep_key {
            "key-kept"
        } else {
            "key-generated"
        },
        json!({"fingerprint": new_key.fingerprint().to_string()}),
    );
    record_set(&mut transcript, &set);
    let staged_sheets = stage_paper(request.plan, &set, request.paper, &mut transcript)?;
    transcript.append(
        "set-pending",
        json!({"reason": "new holders have not yet proven their shares"}),
    );
    let proven = confirmations(&set.manifest, &set.sealed, request.confirm_keyring)?;
    record_confirmations(&mut transcript, &set.manifest, &[], proven)?;
    let sheets = set.write_with_sheets(
        &[(TRANSCRIPT_FILE.into(), transcript.to_jsonl())],
        staged_sheets,
    )?;

    let mut rotated = Rotated {
        audit: audit(&request.output, None)?,
        old_set_aside: recovery.account.set_aside,
        handed_off: false,
        old_transcript_updated: false,
        sheets,
    };
    if rotated.audit.state != SetState::Active {
        return Ok(rotated);
    }
    let keys = KeyPair {
        old: &old_recovered.key,
        new: &new_key,
    };
    let retired = match (request.hand_off, request.keep_key) {
        (Some(hand_off), _) => hand_off_and_retire(
            &request.output,
            transcript,
            &request.from,
            old,
            keys,
            Some(hand_off),
        )?,
        // Resharing the same key needs no re-encryption: nothing to hand off.
        (None, true) => {
            hand_off_and_retire(&request.output, transcript, &request.from, old, keys, None)?
        }
        (None, false) => return Ok(rotated),
    };
    rotated.handed_off = true;
    rotated.old_transcript_updated = retired;
    rotated.audit = audit(&request.output, None)?;
    Ok(rotated)
}

/// What the witnesses recorded about both sets of a two-sitting rotation.
pub struct WitnessedPair<'a> {
    /// The new set (the one handed off).
    pub new: &'a Expectations,
    /// The old set (the one retired).
    pub old: &'a Expectations,
}

/// The old and the new key of a rotation.
struct KeyPair<'a> {
    old: &'a MasterKey,
    new: &'a MasterKey,
}

/// Hands the keys off (when there is a job), records it in the new set's transcript and
/// retires the old set. Returns whether the old set's own transcript could be updated.
fn hand_off_and_retire(
    new_folder: &Path,
    mut transcript: Transcript,
    old_folder: &Path,
    old: Audit,
    keys: KeyPair<'_>,
    hand_off: Option<HandOff<'_>>,
) -> Result<bool, Error> {
    if let Some(hand_off) = hand_off {
        let mut payload = zeroize::Zeroizing::new(Vec::with_capacity(140));
        payload.extend_from_slice(b"old ");
        payload.extend_from_slice(&KeyFormat::Hex.render(keys.old));
        payload.extend_from_slice(b"new ");
        payload.extend_from_slice(&KeyFormat::Hex.render(keys.new));
        // Recorded before the job runs: if this process dies while it runs, the transcript
        // still says the platform may hold the new key.
        transcript.append("hand-off-started", json!({"to": "the re-encryption job"}));
        transcript.save(new_folder)?;
        if let Err(error) = hand_off(&payload) {
            transcript.append("hand-off-failed", json!({"reason": error.to_string()}));
            transcript.save(new_folder)?;
            return Err(error);
        }
    }
    let successor = Manifest::load(new_folder)?.0;
    transcript.append(
        "handed-off",
        json!({"to": if hand_off.is_some() { "the re-encryption job" } else { "nobody: the key was kept" }}),
    );
    transcript.append(
        "predecessor-retired",
        json!({"set_id": old.manifest.set_id.to_string(), "fingerprint": old.manifest.fingerprint.to_string()}),
    );
    transcript.save(new_folder)?;
    Ok(retire(old_folder, old.transcript, &successor).is_ok())
}

/// The second sitting of a two-sitting rotation: the new set, activated since by `rotate
/// confirm`, is handed off and the old set retired. Needs a quorum of each set, since neither
/// key is kept anywhere between sittings. Returns the new set's audit and whether the old
/// set's own transcript could record its retirement. `expected` holds what the witnesses
/// recorded about the new and the old set, checked before either key is opened.
pub fn hand_off_later(
    new_folder: &Path,
    old_folder: &Path,
    old_keyring: &Keyring,
    new_keyring: &Keyring,
    hand_off: HandOff<'_>,
    expected: WitnessedPair<'_>,
) -> Result<(Audit, bool), Error> {
    let new = audit(new_folder, None)?;
    expected.new.check(&new, new_folder)?;
    let old = audit_for_recovery(old_folder)?;
    expected.old.check(&old, old_folder)?;
    let predecessor = new
        .transcript
        .last_event("ceremony-started")
        .and_then(|entry| entry.facts.get("from_set")?.as_str().map(String::from));
    if predecessor.as_deref() != Some(old.manifest.set_id.to_string().as_str()) {
        return Err(Error::Usage(format!(
            "{} is not the rotation of {}",
            new_folder.display(),
            old_folder.display()
        )));
    }
    if new.state != SetState::Active {
        return Err(Error::Refused(format!(
            "{} is {}: prove k new holders' shares with `rotate confirm` first",
            new_folder.display(),
            new.state.name()
        )));
    }
    if new.transcript.last_event("handed-off").is_some() {
        return Err(Error::Refused(format!(
            "{} was handed off already",
            new_folder.display()
        )));
    }
    if old.state != SetState::Active {
        return Err(Error::Refused(format!(
            "{} is {}, not active",
            old_folder.display(),
            old.state.name()
        )));
    }
    let old_key = recover_set(&old.manifest, old_folder, old_keyring, Vec::new())
        .result
        .map_err(in_set("old", &old.manifest, old_folder))?;
    let new_key = recover_set(&new.manifest, new_folder, new_keyring, Vec::new())
        .result
        .map_err(in_set("new", &new.manifest, new_folder))?;
    let keys = KeyPair {
        old: &old_key.key,
        new: &new_key.key,
    };
    let old_transcript_updated = hand_off_and_retire(
        new_folder,
        new.transcript,
        old_folder,
        old,
        keys,
        Some(hand_off),
    )?;
    Ok((audit(new_folder, None)?, old_transcript_updated))
}

/// Wraps an error of one of a rotation's two sets so that it says which: `old set ID (DIR): …`.
fn in_set(which: &str, manifest: &Manifest, folder: &Path) -> impl FnOnce(Error) -> Error {
    let context = format!("{which} set {} ({})", manifest.set_id, folder.display());
    move |error| Error::InSet {
        context,
        source: Box::new(error),
    }
}

/// Records the old set's retirement in its own transcript.
fn retire(folder: &Path, mut transcript: Transcript, successor: &Manifest) -> Result<(), Error> {
    transcript.append(
        "set-retired",
        json!({"successor_set": successor.set_id.to_string(), "successor_fingerprint": successor.fingerprint.to_string()}),
    );
    transcript.save(folder)
}

/// `rotate confirm`: records holders who prove their shares now; activates a pending set once
/// k have. Returns the audit after and the newly confirmed indices. `expected` is what the
/// witnesses recorded about the set at its first sitting.
pub fn confirm(
    folder: &Path,
    keyring: &Keyring,
    expected: &Expectations,
) -> Result<(Audit, Vec<u8>), Error> {
    let before = audit(folder, None)?;
    expected.check(&before, folder)?;
    let sealed = before
        .manifest
        .shares
        .iter()
        .map(|entry| {
            let path = folder.join(&entry.file);
            crate::input::read_input(&path, crate::input::MAX_SEALED_SHARE)
                .map(|bytes| (path.display().to_string(), bytes.to_vec()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let proven = confirmations(&before.manifest, &sealed, keyring)?;
    if proven.is_empty() {
        return Err(Error::NothingDecrypted);
    }
    let already: Vec<u8> = before.confirmed.keys().copied().collect();
    let mut transcript = before.transcript.clone();
    let newly = record_confirmations(&mut transcript, &before.manifest, &already, proven)?;
    transcript.save(folder)?;
    Ok((audit(folder, None)?, newly))
}
