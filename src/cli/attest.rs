//! `custody attest challenge|prove|check`: proofs of possession from each holder's own machine.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use custody::ceremony::attest::{
    attested_facts, check_lines, last_proofs, LineOutcome, ATTESTED_EVENT, CHALLENGE_EVENT,
};
use custody::ceremony::audit::activate_when_proven;
use custody::ceremony::transcript::Transcript;
use custody::set::recover::Gathered;
use custody::set::Manifest;
use custody::share::attest::{Attestation, Challenge};
use custody::Error;
use serde_json::json;

use super::account::warn_set_aside;
use super::flags::JsonArg;
use super::named_set::NamedSet;
use super::share_source::{ShareSettings, ShareSourceArgs};
use super::{note, record_json, warn};

/// `custody attest …`.
#[derive(Subcommand, Debug)]
pub enum AttestCommand {
    /// Draw a fresh challenge for a set's holders, record it in the set's transcript, print it.
    Challenge(AttestChallengeArgs),
    /// Run by a holder: open your share and sign the challenge with a key derived from it.
    Prove(AttestProveArgs),
    /// Run by the coordinator: check attestation lines, record the good ones, list every holder.
    Check(AttestCheckArgs),
}

/// `custody attest challenge`.
#[derive(Args, Debug)]
pub struct AttestChallengeArgs {
    /// The set's folder.
    #[arg(value_name = "SET")]
    pub set: PathBuf,
    #[command(flatten)]
    pub json: JsonArg,
}

/// `custody attest prove`.
#[derive(Args, Debug)]
pub struct AttestProveArgs {
    /// The challenge the coordinator sent (custodychallenge1…).
    #[arg(long, value_name = "C")]
    pub challenge: String,
    #[command(flatten)]
    pub shares: ShareSourceArgs,
}

/// `custody attest check`.
#[derive(Args, Debug)]
pub struct AttestCheckArgs {
    /// The set's folder (its manifest, and its transcript when it has one).
    #[arg(value_name = "SET")]
    pub set: PathBuf,
    /// The challenge the lines must answer; needed for a set with no transcript.
    #[arg(long, value_name = "C")]
    pub challenge: Option<String>,
    /// A file of attestation lines, one per line ("#" comments and blank lines skipped).
    #[arg(long = "from", value_name = "FILE")]
    pub from: Vec<PathBuf>,
    #[command(flatten)]
    pub json: JsonArg,
    /// Attestation lines (custodyattest1…).
    #[arg(value_name = "ATTESTATION")]
    pub lines: Vec<String>,
}

/// A checked `attest` command line.
pub enum AttestSettings {
    /// `attest challenge` (its flags need no check of their own).
    Challenge(AttestChallengeArgs),
    /// `attest prove`: the challenge, and where the holder's shares come from.
    Prove(Challenge, ShareSettings),
    /// `attest check`, with the challenge given, if any.
    Check(AttestCheckArgs, Option<Challenge>),
}

impl AttestSettings {
    /// Checks the challenge and the share sources (2, 5) before any share is opened.
    pub fn check(command: AttestCommand) -> Result<Self, Error> {
        Ok(match command {
            AttestCommand::Challenge(args) => Self::Challenge(args),
            AttestCommand::Prove(args) => {
                let challenge = parse_challenge(&args.challenge)?;
                Self::Prove(challenge, ShareSettings::check(args.shares)?)
            }
            AttestCommand::Check(args) => {
                let stated = args.challenge.as_deref().map(parse_challenge).transpose()?;
                Self::Check(args, stated)
            }
        })
    }
}

/// Runs one checked `attest` subcommand.
pub fn run(settings: AttestSettings) -> Result<(), Error> {
    match settings {
        AttestSettings::Challenge(args) => challenge(args),
        AttestSettings::Prove(challenge, shares) => prove(challenge, shares),
        AttestSettings::Check(args, stated) => check(args, stated),
    }
}

fn parse_challenge(text: &str) -> Result<Challenge, Error> {
    text.parse()
        .map_err(|reason: String| Error::Usage(format!("--challenge: {reason}")))
}

fn challenge(args: AttestChallengeArgs) -> Result<(), Error> {
    let mut set = NamedSet::load(&args.set)?;
    let set_id = set.manifest.set_id;
    let challenge = Challenge::generate(set_id)?;
    let recorded = set.update_transcript(|transcript, _| {
        transcript.append(CHALLENGE_EVENT, json!({"challenge": challenge.to_string()}));
    })?;
    if !recorded {
        warn("the set has no transcript: the challenge is not recorded; give it to `attest check --challenge`");
    }
    if args.json.enabled {
        return record_json(&json!({
            "set_id": set_id.to_string(),
            "challenge": challenge.to_string(),
            "recorded": recorded,
        }));
    }
    outln!("{challenge}");
    note(&format!(
        "send this challenge to the holders of set {}; each runs `custody attest prove --challenge …` on their own machine",
        set_id
    ));
    Ok(())
}

fn prove(challenge: Challenge, settings: ShareSettings) -> Result<(), Error> {
    let Gathered {
        candidates,
        mnemonics,
        account,
    } = settings.open()?;
    if !mnemonics.is_empty() {
        warn(&format!(
            "{} SLIP-39 mnemonic(s) opened: a SLIP-39 set has no attestation keys, so no proof is made with them",
            mnemonics.len()
        ));
    }
    for warning in &account.warnings {
        warn(warning);
    }
    warn_set_aside(&account.set_aside);
    if candidates.is_empty() {
        return Err(if account.undecryptable.is_empty() {
            Error::NotEnoughShares {
                valid: 0,
                threshold: 0,
            }
        } else {
            Error::NothingDecrypted
        });
    }
    let time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let mut proved = 0;
    for candidate in &candidates {
        let header = candidate.share.header();
        if let Some(manifest) = settings.manifest() {
            let matches = header.set_id == manifest.set_id
                && manifest
                    .share(header.index)
                    .is_some_and(|entry| entry.commitment == candidate.share.commitment());
            if !matches {
                warn(&format!(
                    "{}: share {} does not match its commitment in the manifest; no proof made with it",
                    candidate.name, header.index
                ));
                continue;
            }
        }
        if let Some(stated) = settings.stated() {
            if header.fingerprint != stated {
                warn(&format!(
                    "{}: share {} is for key {}, not {stated}; no proof made with it",
                    candidate.name, header.index, header.fingerprint
                ));
                continue;
            }
        }
        match Attestation::prove(&candidate.share, challenge, time) {
            Ok(attestation) => {
                outln!("{attestation}");
                note(&format!(
                    "{}: share {} of set {} proved; send the line above to the coordinator (it holds no secret)",
                    candidate.name, header.index, header.set_id
                ));
                proved += 1;
            }
            Err(error) => warn(&format!("{}: {error}", candidate.name)),
        }
    }
    if proved == 0 {
        return Err(Error::Verification(
            "no share opened here answers this challenge".into(),
        ));
    }
    Ok(())
}

fn check(args: AttestCheckArgs, stated: Option<Challenge>) -> Result<(), Error> {
    let mut set = NamedSet::load(&args.set)?;
    let mut lines: Vec<(String, String)> = args
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| (format!("argument {}", i + 1), line.clone()))
        .collect();
    for file in &args.from {
        let bytes = custody::input::read_input(file, custody::input::MAX_SHARE_TEXTS)?;
        let text = String::from_utf8_lossy(&bytes);
        lines.extend(
            text.lines()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty() && !line.trim().starts_with('#'))
                .map(|(number, line)| {
                    (
                        format!("{} line {}", file.display(), number + 1),
                        line.to_string(),
                    )
                }),
        );
    }
    if lines.is_empty() {
        return Err(Error::Usage(
            "no attestation lines given: pass them as arguments or with --from FILE".into(),
        ));
    }
    if set.audit.is_none() && stated.is_none() {
        warn("the set has no transcript, so no challenge is on record: give the one you sent with --challenge");
    }
    let outcomes = check_lines(&set.manifest, set.transcript(), stated, lines);
    let accepted: Vec<&Attestation> = outcomes
        .iter()
        .filter_map(|outcome| outcome.result.as_ref().ok())
        .collect();
    if !accepted.is_empty() {
        let mut activated = false;
        let recorded = set.update_transcript(|transcript, manifest| {
            for attestation in &accepted {
                transcript.append(ATTESTED_EVENT, attested_facts(manifest, attestation));
            }
            activated = activate_when_proven(transcript, manifest);
        })?;
        if activated {
            note(&format!(
                "set {} is now active: {} of its holders have proved their shares; next: rotate handoff",
                set.manifest.set_id, set.manifest.threshold
            ));
        }
        if !recorded {
            warn("the set has no transcript: the verified proofs are not recorded");
        }
    }
    let failed = outcomes.len() - accepted.len();
    let result = if failed == 0 {
        Ok(())
    } else {
        Err(Error::Verification(format!(
            "{failed} of {} attestation lines did not verify",
            outcomes.len()
        )))
    };
    report(&args, &set.manifest, set.transcript(), &outcomes)?;
    result
}

fn report(
    args: &AttestCheckArgs,
    manifest: &Manifest,
    transcript: Option<&Transcript>,
    outcomes: &[LineOutcome],
) -> Result<(), Error> {
    let proofs = transcript.map(last_proofs).unwrap_or_default();
    if args.json.enabled {
        return record_json(&json!({
            "set_id": manifest.set_id.to_string(),
            "lines": outcomes.iter().map(|outcome| json!({
                "name": outcome.name,
                "index": outcome.index,
                "verified": outcome.result.is_ok(),
                "code": outcome.result.as_ref().err().map(|rejection| rejection.code()),
                "reason": outcome.result.as_ref().err().map(ToString::to_string),
            })).collect::<Vec<_>>(),
            "holders": manifest.shares.iter().map(|entry| {
                let proof = proofs.get(&entry.index);
                json!({
                    "index": entry.index,
                    "holder": manifest.holder_name(entry.index),
                    "last_proof": proof.map(|proof| proof.time.clone()),
                    "how": proof.map(|proof| proof.how),
                })
            }).collect::<Vec<_>>(),
        }));
    }
    for outcome in outcomes {
        match &outcome.result {
            Ok(attestation) => outln!(
                "verified  {}: share {} ({})",
                outcome.name,
                attestation.index,
                manifest.holder_name(attestation.index)
            ),
            Err(rejection) => outln!(
                "refused   {}: {rejection} [{}]",
                outcome.name,
                rejection.code()
            ),
        }
    }
    outln!(
        "holders of set {} (last proof of possession):",
        manifest.set_id
    );
    for entry in &manifest.shares {
        let last = proofs.get(&entry.index).map_or_else(
            || "never proved".to_string(),
            |proof| format!("{} ({})", proof.time, proof.how),
        );
        outln!(
            "  share {:>3}  {:<24} {last}",
            entry.index,
            manifest.holder_name(entry.index)
        );
    }
    Ok(())
}
