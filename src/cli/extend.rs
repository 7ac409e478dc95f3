//! `custody extend`: shares for new custodians, without changing the key or the existing
//! shares.

use std::path::PathBuf;

use clap::Args;
use custody::ceremony::audit::{audit, Expectations};
use custody::ceremony::extend::{extend, Extension};
use custody::ceremony::transcript::hash_words;
use custody::harden::Hardening;
use custody::seal::{HolderRecipients, Keyring, RecipientSpec};
use custody::Error;
use serde_json::json;

use super::flags::{SittingArgs, WitnessedArgs};
use super::sitting::{print_record, run_preflight};
use super::{note, record_json};

/// `custody extend`.
#[derive(Args, Debug)]
pub struct ExtendArgs {
    /// The set folder.
    #[arg(value_name = "DIR")]
    pub set: PathBuf,
    /// What the witnesses wrote down about the set.
    #[command(flatten)]
    pub witnessed: WitnessedArgs,
    /// Identity of a custodian of the set (a quorum is needed).
    #[arg(short = 'i', long = "identity", value_name = "ID", required = true)]
    pub identities: Vec<PathBuf>,
    /// A new custodian's recipient, one share each.
    #[arg(
        short = 'r',
        long = "recipient",
        value_name = "RECIPIENT",
        required = true
    )]
    pub recipients: Vec<String>,
    /// The new custodians' names, in the order of the recipients (as `name` in a plan).
    #[arg(long = "name", value_name = "NAME")]
    pub names: Vec<String>,
    /// The folder for the whole extended set.
    #[arg(short = 'o', long = "output", value_name = "NEW_DIR")]
    pub output: PathBuf,
    #[command(flatten)]
    pub sitting: SittingArgs,
}

/// Checked `extend` flags.
pub struct ExtendSettings {
    args: ExtendArgs,
    expected: Expectations,
}

impl ExtendSettings {
    /// Checks that the names match the recipients and what the witnesses wrote down (2).
    pub fn check(args: ExtendArgs) -> Result<Self, Error> {
        if !args.names.is_empty() && args.names.len() != args.recipients.len() {
            return Err(Error::Usage(format!(
                "{} --name for {} -r: give one --name per new recipient, in the same order",
                args.names.len(),
                args.recipients.len()
            )));
        }
        let expected = args.witnessed.expectations()?;
        Ok(Self { args, expected })
    }
}

pub fn run(settings: ExtendSettings, hardening: &Hardening) -> Result<(), Error> {
    let ExtendSettings { args, expected } = settings;
    let report = run_preflight(hardening, args.sitting.airgap.required)?;
    custody::set::check_output_folder(&args.output)?;
    let prompts = args.sitting.passphrase_fd.prompts()?;
    let existing = audit(&args.set, None)?.manifest.count as usize;
    // Every recipient's syntax (2) before any passphrase is asked or token opened.
    let holders = args
        .recipients
        .iter()
        .enumerate()
        .map(|(i, text)| {
            text.parse::<RecipientSpec>()
                .map(HolderRecipients::from)
                .map_err(|error| error.at(existing + i + 1))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let recipients = holders
        .iter()
        .enumerate()
        .map(|(i, holder)| {
            holder.sealer(existing + i + 1, &prompts, &mut |position| {
                prompts.new_passphrase(&format!("share {position}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let keyring = Keyring::load(&args.identities, &prompts)?;
    let (manifest, transcript) = extend(Extension {
        from: args.set,
        expected: &expected,
        keyring: &keyring,
        recipients,
        names: args.names,
        output: args.output.clone(),
        preflight: &report,
    })?;
    let added: Vec<_> = manifest.shares.iter().skip(existing).collect();
    note(&format!(
        "wrote {}: {} shares now, {} needed; the key and the existing shares are unchanged",
        args.output.display(),
        manifest.count,
        manifest.threshold
    ));
    for entry in &added {
        note(&format!(
            "added share {} for {}: {}",
            entry.index,
            manifest.holder_name(entry.index),
            entry.file
        ));
    }
    if args.sitting.json.enabled {
        return record_json(&json!({
            "set_id": manifest.set_id.to_string(),
            "fingerprint": manifest.fingerprint.to_string(),
            "words": manifest.fingerprint.words(),
            "threshold": manifest.threshold,
            "count": manifest.count,
            "added": added.iter().map(|entry| json!({
                "index": entry.index,
                "holder": manifest.holder_name(entry.index),
                "file": entry.file,
            })).collect::<Vec<_>>(),
            "transcript_hash": transcript.final_hash(),
            "transcript_words": hash_words(transcript.final_hash()),
        }));
    }
    print_record(&manifest.fingerprint, transcript.final_hash());
    Ok(())
}
