//! `custody reissue`: a quorum gives a holder who lost their share the same share again,
//! sealed to their new recipient, in the set folder itself.

use std::path::PathBuf;

use clap::Args;
use custody::ceremony::reissue::{check, reissue, Reissue};
use custody::ceremony::transcript::hash_words;
use custody::harden::Hardening;
use custody::seal::{HolderRecipients, Keyring, RecipientSpec};
use custody::Error;
use serde_json::json;

use super::flags::{SittingArgs, WitnessedArgs};
use super::share_source::unused_identity;
use super::sitting::{print_record, run_preflight};
use super::{note, record_json, warn};

/// `custody reissue`.
#[derive(Args, Debug)]
pub struct ReissueArgs {
    /// The set folder (changed in place).
    #[arg(value_name = "SET")]
    pub set: PathBuf,
    /// What the witnesses wrote down about the set.
    #[command(flatten)]
    pub witnessed: WitnessedArgs,
    /// The index of the share to reissue (as in `custody inspect SET`).
    #[arg(long, value_name = "I")]
    pub index: u8,
    /// The holder's new recipient.
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    pub recipient: String,
    /// Another recipient of the same holder (a second token): the share opens with any of
    /// them, as `split -r A --or B`.
    #[arg(long = "or", value_name = "RECIPIENT")]
    pub or: Vec<String>,
    /// The holder's name from now on (else it stays as it was).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Identity of a custodian of the set (a quorum is needed).
    #[arg(short = 'i', long = "identity", value_name = "ID", required = true)]
    pub identities: Vec<PathBuf>,
    #[command(flatten)]
    pub sitting: SittingArgs,
}

pub fn run(args: ReissueArgs, hardening: &Hardening) -> Result<(), Error> {
    let expected = args.witnessed.expectations()?;
    let report = run_preflight(hardening, args.sitting.airgap.required)?;
    check(&args.set, &expected, args.index)?;
    let prompts = args.sitting.passphrase_fd.prompts()?;
    let position = usize::from(args.index);
    let specs = std::iter::once(&args.recipient)
        .chain(&args.or)
        .map(|text| {
            text.parse::<RecipientSpec>()
                .map_err(|error| error.at(position))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let holder = HolderRecipients::new(specs, position)?;
    let recipient = holder.sealer(position, &prompts, &mut |position| {
        prompts.new_passphrase(&format!("share {position}"))
    })?;
    let keyring = Keyring::load(&args.identities, &prompts)?;
    let done = reissue(Reissue {
        folder: args.set.clone(),
        expected: &expected,
        keyring: &keyring,
        index: args.index,
        recipient,
        name: args.name,
        preflight: &report,
    })?;
    for name in keyring.unused_identities() {
        warn(&unused_identity(name));
    }
    let manifest = &done.manifest;
    note(&format!(
        "reissued {} in {}: {}, sealed to its new recipient; the share is the same one (its commitment is unchanged)",
        done.entry.described(),
        args.set.display(),
        done.entry.file
    ));
    note(&format!(
        "{} (sealed to the old recipient) was removed from {}; destroy any other copy of it",
        done.replaced.file,
        args.set.display()
    ));
    if let Some(leftover) = &done.leftover {
        warn(&format!(
            "{} holds the set as it was, old sealed file included, and could not be removed: remove it",
            leftover.display()
        ));
    }
    if args.sitting.json.enabled {
        return record_json(&json!({
            "set_id": manifest.set_id.to_string(),
            "fingerprint": manifest.fingerprint.to_string(),
            "words": manifest.fingerprint.words(),
            "index": done.entry.index,
            "holder": manifest.holder_name(done.entry.index),
            "recipient": done.entry.recipient,
            "file": done.entry.file,
            "sha256": done.entry.sha256,
            "replaced_file": done.replaced.file,
            "quorum": done.quorum,
            "transcript_hash": done.transcript.final_hash(),
            "transcript_words": hash_words(done.transcript.final_hash()),
        }));
    }
    print_record(&manifest.fingerprint, done.transcript.final_hash());
    Ok(())
}
