//! The rehearsal's distributed steps (docs/distributed.md): every holder sits at a desk of
//! their own — a private folder with their identity, their sealed share and a copy of the
//! public manifest — proves possession of their share, and answers a remote quorum; the
//! coordinator works only in the set's folder and a request folder.
//!
//! Between a desk and the coordinator only text crosses, and [`Desk`]'s methods take and
//! return nothing else: in, a challenge line or a request line with its check words (public);
//! out, an attestation line (public) or a response sealed to the request's transport key.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::{make_age_custodians, Timer};
use crate::ceremony::attest::{
    attested_facts, check_lines, last_proofs, LineOutcome, Rejection, ATTESTED_EVENT,
    CHALLENGE_EVENT,
};
use crate::ceremony::audit::audit_for_recovery;
use crate::ceremony::quorum::{open_request, respond, OpenRequest, Request};
use crate::error::Error;
use crate::ram_dir::RamDir;
use crate::seal::{Keyring, Prompts};
use crate::secret::MasterKey;
use crate::set::recover::{gather, reconstruct, ShareInput};
use crate::set::{Manifest, ManifestShare, MANIFEST_FILE};
use crate::share::attest::{Attestation, Challenge};
use crate::share::shamir::{split, Threshold};
use crate::share::Share;

/// The holders who answer the remote quorum (three of the rotated set's five).
const RESPONDING: [&str; 3] = ["frank", "heidi", "judy"];

/// How long the rehearsal's request stays open.
const REQUEST_HOURS: u64 = 1;

/// A holder's own machine: a private folder (0700) in the rehearsal's folder, never the set's.
pub(super) struct Desk {
    /// The holder's name, as in the plan.
    pub name: String,
    /// Their age recipient (public).
    pub recipient: String,
    folder: PathBuf,
    identity: PathBuf,
}

impl Desk {
    /// Makes `name`'s desk in `workspace/holders/`, with a fresh age identity in it.
    pub fn create(workspace: &Path, name: &str) -> Result<Self, Error> {
        let folder = workspace.join("holders").join(name);
        DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(&folder)
            .map_err(|error| Error::io(&folder, error))?;
        let (mut identities, mut recipients) = make_age_custodians(&folder, &[name])?;
        let (Some(identity), Some(recipient)) = (identities.pop(), recipients.pop()) else {
            return Err(Error::Verification(format!("no identity made for {name}")));
        };
        Ok(Self {
            name: name.to_string(),
            recipient,
            folder,
            identity,
        })
    }

    /// The holder's identity file, for the steps where they come to the room with it.
    pub fn identity(&self) -> &Path {
        &self.identity
    }

    /// The desk's copy of the manifest and the holder's entry in it.
    fn manifest(&self) -> Result<(Manifest, ManifestShare), Error> {
        let (manifest, _) = Manifest::load(&self.folder.join(MANIFEST_FILE))?;
        let entry = holder_entry(&manifest, &self.name)?.clone();
        Ok((manifest, entry))
    }

    /// What a holder keeps at home: their sealed share and the public manifest, as handed out.
    fn receive(&self, set_dir: &Path) -> Result<(), Error> {
        let (manifest, _) = Manifest::load(set_dir)?;
        let entry = holder_entry(&manifest, &self.name)?;
        for file in [entry.file.as_str(), MANIFEST_FILE] {
            let (from, to) = (set_dir.join(file), self.folder.join(file));
            fs::copy(&from, &to).map_err(|error| Error::io(&to, error))?;
        }
        Ok(())
    }

    /// Opens the holder's share at the desk with their identity and checks it against its
    /// commitment in the desk's manifest, as `attest prove -m` and `quorum respond -m` do.
    fn share(&self) -> Result<Share, Error> {
        let (manifest, entry) = self.manifest()?;
        let keyring = Keyring::load(&[&self.identity], &Prompts::terminal())?;
        let sealed = ShareInput::Sealed(self.folder.join(&entry.file));
        let candidate = gather(vec![sealed], &keyring, Some(&manifest))?
            .candidates
            .into_iter()
            .next()
            .filter(|candidate| candidate.share.commitment() == entry.commitment)
            .ok_or_else(|| {
                Error::Verification(format!("{}'s share did not open at their desk", self.name))
            })?;
        Ok(candidate.share)
    }

    /// `attest prove`: the challenge line in, an attestation line out.
    pub fn prove(&self, challenge: &str) -> Result<String, Error> {
        let challenge: Challenge = challenge
            .parse()
            .map_err(|reason: String| Error::Verification(format!("the challenge: {reason}")))?;
        Ok(Attestation::prove(&self.share()?, challenge, now())?.to_string())
    }

    /// `quorum respond`: the request line and the check words heard over the phone in, the
    /// share sealed to the request's transport key out.
    pub fn respond(&self, request: &str, heard_words: &str) -> Result<String, Error> {
        let request: Request = request
            .parse()
            .map_err(|reason: String| Error::Verification(format!("the request: {reason}")))?;
        if request.check_words() != heard_words {
            return Err(Error::Refused(format!(
                "{} heard other check words than the request's",
                self.name
            )));
        }
        if request.expired_at(now()) {
            return Err(Error::Refused("the request has expired".into()));
        }
        respond(&self.share()?, &request)
    }
}

/// An attestation line for share `index` of `manifest`'s set answering `challenge`, signed
/// with share `index` of a split of another key: what someone without the share could make.
fn forged_line(manifest: &Manifest, challenge: &str, index: u8) -> Result<String, Error> {
    let challenge: Challenge = challenge.parse().map_err(Error::Verification)?;
    let stranger = split(
        &MasterKey::generate()?,
        Threshold::new(usize::from(manifest.threshold), usize::from(manifest.count))?,
        manifest.set_id,
    )?
    .into_iter()
    .find(|share| share.header().index == index)
    .ok_or_else(|| Error::Verification(format!("no share {index} to forge")))?;
    Ok(Attestation::prove(&stranger, challenge, now())?.to_string())
}

/// A checked line as the report shows it: its name and the rejection's code.
fn outcome_text(outcome: &LineOutcome) -> String {
    match &outcome.result {
        Ok(_) => format!("{} (verified)", outcome.name),
        Err(rejection) => format!("{} [{}]", outcome.name, rejection.code()),
    }
}

fn holder_entry<'m>(manifest: &'m Manifest, name: &str) -> Result<&'m ManifestShare, Error> {
    manifest
        .shares
        .iter()
        .find(|entry| entry.holder.as_deref() == Some(name))
        .ok_or_else(|| Error::Verification(format!("{name} holds no share of the set")))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// The distributed steps on the active set in `set_dir`, whose holders sit at `desks`.
pub(super) fn rehearse(
    timer: &mut Timer,
    workspace: &Path,
    set_dir: &Path,
    desks: &[Desk],
) -> Result<(), Error> {
    let names: Vec<&str> = desks.iter().map(|desk| desk.name.as_str()).collect();
    timer.step("hand out the sealed shares, one desk per holder", || {
        for desk in desks {
            desk.receive(set_dir)?;
        }
        Ok((
            (),
            format!(
                "{}: identity, sealed share and public manifest each in a private folder of their own",
                names.join(", ")
            ),
        ))
    })?;

    let (challenge, lines) =
        timer.step("attest: every holder proves from their own desk", || {
            let mut audit = audit_for_recovery(set_dir)?;
            let challenge = Challenge::generate(audit.manifest.set_id)?.to_string();
            audit
                .transcript
                .append(CHALLENGE_EVENT, json!({"challenge": challenge}));
            audit.transcript.save(set_dir)?;
            let lines = desks
                .iter()
                .map(|desk| Ok((format!("{}'s line", desk.name), desk.prove(&challenge)?)))
                .collect::<Result<Vec<(String, String)>, Error>>()?;
            let count = lines.len();
            let detail =
                format!("a challenge went out, recorded; {count} attestation lines came back");
            Ok(((challenge, lines), detail))
        })?;

    timer.step("attest check: all verified, a forged line refused", || {
        let mut audit = audit_for_recovery(set_dir)?;
        let manifest = audit.manifest.clone();
        // An impostor answers first for share 2, signing with a share of another key.
        let forged = forged_line(&manifest, &challenge, 2)?;
        let mut received = vec![("a forged line for share 2".to_string(), forged)];
        received.extend(lines.iter().cloned());
        let outcomes = check_lines(&manifest, Some(&audit.transcript), None, received);
        let (refused, verified) = outcomes
            .split_first()
            .ok_or_else(|| Error::Verification("no attestation line was checked".into()))?;
        if refused.result != Err(Rejection::BadSignature) {
            return Err(Error::Verification(format!(
                "the forged line was not refused: {}",
                outcome_text(refused)
            )));
        }
        for outcome in verified {
            let attestation = outcome.result.as_ref().map_err(|_| {
                Error::Verification(format!("{} was refused", outcome_text(outcome)))
            })?;
            audit
                .transcript
                .append(ATTESTED_EVENT, attested_facts(&manifest, attestation));
        }
        audit.transcript.save(set_dir)?;
        let proofs = last_proofs(&audit_for_recovery(set_dir)?.transcript);
        let all_attested = manifest.shares.iter().all(|entry| {
            proofs
                .get(&entry.index)
                .is_some_and(|proof| proof.how == "attested")
        });
        if !all_attested {
            return Err(Error::Verification(
                "the transcript does not record every holder's attestation".into(),
            ));
        }
        let detail = format!(
            "{} of {} holders' lines verified and recorded; refused, nothing recorded: {}",
            verified.len(),
            manifest.count,
            outcome_text(refused)
        );
        Ok(((), detail))
    })?;

    timer.step("attest check: a replayed line refused", || {
        let audit = audit_for_recovery(set_dir)?;
        let (name, line) = lines
            .first()
            .cloned()
            .ok_or_else(|| Error::Verification("no attestation line".into()))?;
        let outcomes = check_lines(
            &audit.manifest,
            Some(&audit.transcript),
            None,
            vec![(format!("{name}, sent again"), line)],
        );
        match outcomes.as_slice() {
            [replayed] if replayed.result == Err(Rejection::Replayed) => Ok((
                (),
                format!("refused, nothing recorded: {}", outcome_text(replayed)),
            )),
            _ => Err(Error::Verification(format!(
                "a replayed line was not refused: {}",
                outcomes
                    .iter()
                    .map(outcome_text)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    })?;

    let request_dir = RamDir::open(&workspace.join("request"))?;
    let responses = timer.step(
        &format!("quorum: {} respond from their desks", RESPONDING.join(", ")),
        || {
            let (manifest, _) = Manifest::load(set_dir)?;
            let expires = now().saturating_add(REQUEST_HOURS * 3600);
            let request = open_request(&request_dir, &manifest, expires)?;
            let (request, check_words) = (request.to_string(), request.check_words());
            let responses = desks
                .iter()
                .filter(|desk| RESPONDING.contains(&desk.name.as_str()))
                .map(|desk| {
                    let sealed = desk.respond(&request, &check_words)?;
                    Ok((format!("{}'s response", desk.name), sealed))
                })
                .collect::<Result<Vec<(String, String)>, Error>>()?;
            let detail = format!(
                "the request line and its check words went out; {} sealed responses came back",
                responses.len()
            );
            Ok((responses, detail))
        },
    )?;

    timer.step("quorum close: key verified, transport key destroyed", || {
        let (manifest, _) = Manifest::load(set_dir)?;
        let opened = OpenRequest::load(&request_dir)?;
        let count = responses.len();
        let responses = responses
            .into_iter()
            .map(|(name, sealed)| (name, sealed.into_bytes()))
            .collect();
        let (candidates, unopened) = opened.open_responses(responses);
        let recovery = reconstruct(
            candidates,
            Some(&manifest),
            Some(opened.request.fingerprint),
        );
        let recovered = recovery.result?;
        if let Some(aside) = unopened.iter().chain(&recovery.account.set_aside).next() {
            return Err(Error::Verification(format!(
                "{} was set aside: {}",
                aside.name, aside.explained()
            )));
        }
        OpenRequest::destroy(&request_dir)?;
        if OpenRequest::load(&request_dir).is_ok() {
            return Err(Error::Verification(
                "the transport key outlived the request".into(),
            ));
        }
        for folder in [set_dir, request_dir.path()] {
            refuse_identities_in(folder)?;
        }
        let detail = format!(
            "{count} responses opened; fingerprint {} matches the manifest; the transport key is destroyed; no holder's identity in the coordinator's folders",
            recovered.fingerprint
        );
        Ok(((), detail))
    })
}

/// Fails if any file in `folder` (and below) holds an age identity: the coordinator's folders
/// must never hold a holder's key.
fn refuse_identities_in(folder: &Path) -> Result<(), Error> {
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).map_err(|error| Error::io(&dir, error))? {
            let path = entry.map_err(|error| Error::io(&dir, error))?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let bytes =
                zeroize::Zeroizing::new(fs::read(&path).map_err(|error| Error::io(&path, error))?);
            if bytes
                .windows(IDENTITY_PREFIX.len())
                .any(|window| window == IDENTITY_PREFIX)
            {
                return Err(Error::Verification(format!(
                    "{} holds an identity, in the coordinator's folder",
                    path.display()
                )));
            }
        }
    }
    Ok(())
}

/// How every age X25519 identity begins.
const IDENTITY_PREFIX: &[u8] = b"AGE-SECRET-KEY-1";
