//! `custody ceremony genesis` and `custody ceremony verify`: a set made from a plan, and a set
//! checked against its transcript. Each ends by printing what the witnesses write down: the
//! fingerprint and the transcript's final hash, in hex and as words.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use custody::ceremony::audit::audit;
use custody::ceremony::genesis::{genesis, Genesis};
use custody::ceremony::plan::Plan;
use custody::ceremony::transcript::hash_words;
use custody::ceremony::transcript::{binaries_in, BinaryUse};
use custody::harden::Hardening;
use custody::Error;
use serde_json::json;

use super::flags::{JsonArg, SittingArgs};
use super::key_source::{self, KeySourceArgs};
use super::sitting::{open_paper_dir, print_holders, print_record, run_preflight};
use super::{note, record_json};

/// `custody ceremony …`.
#[derive(Subcommand, Debug)]
pub enum CeremonyCommand {
    /// Generate (or escrow) the key, split it per a plan, seal, prove, and write the set with
    /// its manifest and transcript.
    Genesis(GenesisArgs),
    /// Check a set folder against its transcript: the chain, the manifest, every sealed file.
    Verify(CeremonyVerifyArgs),
}

/// `custody ceremony genesis`.
#[derive(Args, Debug)]
pub struct GenesisArgs {
    /// The plan file (TOML; see docs/ceremony.md).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// The set folder to create.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,
    /// Where paper sheets of custodians with `paper = true` go (on tmpfs; created 0700 if
    /// missing).
    #[arg(long, value_name = "TMPFS_DIR")]
    pub paper_dir: Option<PathBuf>,
    /// Escrow an existing key read from stdin instead of generating one.
    #[arg(long, conflicts_with_all = ["key_env", "key_prompt"])]
    pub key_stdin: bool,
    #[command(flatten)]
    pub key: KeySourceArgs,
    #[command(flatten)]
    pub sitting: SittingArgs,
}

/// `custody ceremony verify`.
#[derive(Args, Debug)]
pub struct CeremonyVerifyArgs {
    /// The set folder.
    #[arg(value_name = "DIR")]
    pub set: PathBuf,
    /// The transcript's final hash as the witnesses wrote it down: catches truncation.
    #[arg(long, value_name = "HASH")]
    pub final_hash: Option<String>,
    #[command(flatten)]
    pub json: JsonArg,
}

pub fn run(command: CeremonyCommand, hardening: &Hardening) -> Result<(), Error> {
    match command {
        CeremonyCommand::Genesis(args) => run_genesis(args, hardening),
        CeremonyCommand::Verify(args) => run_verify(args),
    }
}

fn run_genesis(args: GenesisArgs, hardening: &Hardening) -> Result<(), Error> {
    let plan = Plan::load(&args.plan)?;
    let report = run_preflight(
        hardening,
        args.sitting.airgap.required || plan.require_airgap,
    )?;
    custody::set::check_output_folder(&args.output)?;
    let paper = open_paper_dir(&plan, args.paper_dir.as_deref())?;
    let prompts = args.sitting.passphrase_fd.prompts()?;
    let key = if args.key_stdin || args.key.key_env.is_some() || args.key.key_prompt {
        Some(key_source::read(&args.key)?)
    } else {
        None
    };
    let ceremony = genesis(Genesis {
        plan: &plan,
        preflight: &report,
        key,
        output: args.output.clone(),
        prompts: &prompts,
        paper: paper.as_ref(),
    })?;
    for sheet in &ceremony.sheets {
        note(&format!("paper sheet {}", sheet.display()));
    }
    let manifest = &ceremony.set.manifest;
    if args.sitting.json.enabled {
        return record_json(&json!({
            "set_id": manifest.set_id.to_string(),
            "fingerprint": manifest.fingerprint.to_string(),
            "words": manifest.fingerprint.words(),
            "transcript_hash": ceremony.transcript.final_hash(),
            "transcript_words": hash_words(ceremony.transcript.final_hash()),
        }));
    }
    note(&format!(
        "wrote {}: {} of {} custodians needed, set {}",
        args.output.display(),
        manifest.threshold,
        manifest.count,
        manifest.set_id
    ));
    print_record(&manifest.fingerprint, ceremony.transcript.final_hash());
    Ok(())
}

fn run_verify(args: CeremonyVerifyArgs) -> Result<(), Error> {
    let audit = audit(&args.set, args.final_hash.as_deref())?;
    if args.json.enabled {
        return record_json(&json!({
            "set_id": audit.manifest.set_id.to_string(),
            "state": audit.state.name(),
            "entries": audit.transcript.entries().len(),
            "fingerprint": audit.manifest.fingerprint.to_string(),
            "transcript_hash": audit.transcript.final_hash(),
            "confirmed": audit.confirmed.keys().collect::<Vec<_>>(),
            "unconfirmed": audit.unconfirmed(),
            "binaries": binaries_in(&audit.transcript).iter().map(BinaryUse::to_json).collect::<Vec<_>>(),
        }));
    }
    note(&format!(
        "{}: transcript of {} entries, manifest and {} sealed files check out",
        args.set.display(),
        audit.transcript.entries().len(),
        audit.manifest.shares.len()
    ));
    for binary in binaries_in(&audit.transcript) {
        outln!(
            "binary      entry {}: {}",
            binary.seq,
            binary.identity.summary()
        );
    }
    print_holders(&audit);
    print_record(&audit.manifest.fingerprint, audit.transcript.final_hash());
    Ok(())
}
