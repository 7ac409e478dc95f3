//! `custody recover`: quorum recovery of a ceremony's set: verify its transcript, reconstruct,
//! deliver the key, write the recovery report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use custody::ceremony::audit::{audit_for_recovery, Expectations, SetState};
use custody::ceremony::recovery::{report, write_report};
use custody::deliver::{KeyFormat, OutputTarget};
use custody::harden::Hardening;
use custody::seal::Keyring;
use custody::set::recover::recover_set;
use custody::Error;
use serde_json::json;

use super::account::warn_about;
use super::flags::{FormatArg, SittingArgs, WitnessedArgs};
use super::inputs::{unsealed_inputs, UnsealedShareArgs};
use super::share_source::unused_identity;
use super::sitting::run_preflight;
use super::{note, record_json, warn};

/// `custody recover`.
#[derive(Args, Debug)]
pub struct RecoverArgs {
    /// The set folder (its transcript is verified first).
    #[arg(value_name = "DIR")]
    pub set: PathBuf,
    /// What the witnesses wrote down about the set.
    #[command(flatten)]
    pub witnessed: WitnessedArgs,
    /// Identity of a custodian taking part.
    #[arg(short = 'i', long = "identity", value_name = "ID")]
    pub identities: Vec<PathBuf>,
    #[command(flatten)]
    pub unsealed: UnsealedShareArgs,
    /// Give the key to this program's stdin (split into words without a shell).
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// The key's encoding.
    #[arg(long, value_enum, default_value_t)]
    pub format: FormatArg,
    /// Write the recovery report into this folder.
    #[arg(short = 'o', long = "output", value_name = "REPORT_DIR")]
    pub report_dir: Option<PathBuf>,
    #[command(flatten)]
    pub sitting: SittingArgs,
}
/// `recover` checks a set against its transcript; a set made by `split` has none. It is
/// refused (3) with the command that recovers it, rather than recovered without the check.
fn refuse_a_set_without_transcript(set: &Path) -> Result<(), Error> {
    let has = |file: &str| set.join(file).is_file();
    if has(custody::set::MANIFEST_FILE) && !has(custody::ceremony::transcript::TRANSCRIPT_FILE) {
        return Err(Error::Verification(format!(
            "{} has no transcript: it was made by `custody split`, not a ceremony; recover it with `custody combine -m {} -i ID… --fingerprint FP` (FP from the split record)",
            set.display(),
            set.display()
        )));
    }
    Ok(())
}

/// Checked `recover` flags.
pub struct RecoverSettings {
    args: RecoverArgs,
    expected: Expectations,
    exec: Option<OutputTarget>,
}

impl RecoverSettings {
    /// Checks what the witnesses wrote down (2), the `--exec` program (5), and that `--json`
    /// does not share stdout with the key (2).
    pub fn check(args: RecoverArgs) -> Result<Self, Error> {
        let expected = args.witnessed.expectations()?;
        let exec = args
            .exec
            .as_deref()
            .map(OutputTarget::check_exec)
            .transpose()?;
        if args.sitting.json.enabled && exec.is_none() {
            return Err(Error::Usage(
                "--json needs --exec: without it the key goes to stdout".into(),
            ));
        }
        Ok(Self {
            args,
            expected,
            exec,
        })
    }
}

pub fn run(settings: RecoverSettings, hardening: &Hardening) -> Result<(), Error> {
    let started = Instant::now();
    let RecoverSettings {
        args,
        expected,
        exec,
    } = settings;
    run_preflight(hardening, args.sitting.airgap.required)?;
    let target = match exec {
        Some(exec) => exec,
        None => OutputTarget::check_stdout()?,
    };
    refuse_a_set_without_transcript(&args.set)?;
    let audit = audit_for_recovery(&args.set)?;
    expected.check(&audit, &args.set)?;
    if audit.state != SetState::Active {
        warn(&format!(
            "{} is {}: check that this is the set whose key you need",
            args.set.display(),
            audit.state.name()
        ));
    }
    let prompts = args.sitting.passphrase_fd.prompts()?;
    let keyring = Keyring::load(&args.identities, &prompts)?;
    let (inputs, unreadable) = unsealed_inputs(&args.unsealed, &prompts)?;
    let mut recovery = recover_set(&audit.manifest, &args.set, &keyring, inputs);
    recovery.account.set_aside.extend(unreadable);
    // A set's recovery has a manifest, which sets aside shares of any other set: none is
    // merely unused, so these lines are those of every other command.
    warn_about(&recovery.account);
    for name in keyring.unused_identities() {
        warn(&unused_identity(name));
    }
    let recovered = recovery.result?;
    let format = KeyFormat::from(args.format);
    let payload = format.render(&recovered.key);
    target.deliver(&payload)?;
    drop(payload);
    let record = report(&audit, &recovered, &recovery.account, started.elapsed());
    if let Some(folder) = &args.report_dir {
        let path = write_report(folder, &record)?;
        note(&format!("recovery report written to {}", path.display()));
    }
    if args.sitting.json.enabled {
        record_json(&json!({ "report": record }))?;
    }
    note(&format!(
        "key {} delivered, verified from {} shares: {}",
        recovered.fingerprint,
        recovery.account.good.len(),
        recovery
            .account
            .good
            .iter()
            .map(|(_, index)| audit.holder(*index))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(())
}
