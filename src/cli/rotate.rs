//! `custody rotate`, `rotate confirm` and `rotate handoff`: a new key and set, held until the
//! new holders prove their shares, then handed to the re-encryption job as the old set retires.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use custody::ceremony::audit::{audit, audit_for_recovery, Audit, Expectations, SetState};
use custody::ceremony::plan::Plan;
use custody::ceremony::rotate::{
    confirm, hand_off_later, rotate, HandOff, Rotation, WitnessedPair,
};
use custody::deliver::OutputTarget;
use custody::harden::Hardening;
use custody::seal::Keyring;
use custody::Error;
use serde_json::json;

use super::account::set_aside_json;
use super::flags::{expectations, JsonArg, PassphraseFdArg, SittingArgs, WitnessedArgs};
use super::sitting::{open_paper_dir, report_set, run_preflight};
use super::{note, record_json, warn};

/// What the witnesses wrote down about the old set of `rotate handoff`.
#[derive(Args, Debug, Clone, Default)]
pub struct WitnessedOldArgs {
    /// A transcript hash of the old set the witnesses wrote down.
    #[arg(long, value_name = "HASH")]
    pub from_final_hash: Option<String>,
    /// The old key's fingerprint the witnesses wrote down.
    #[arg(long, value_name = "FP")]
    pub from_fingerprint: Option<String>,
}

/// `custody rotate`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RotateArgs {
    #[command(subcommand)]
    pub command: Option<RotateCommand>,
    /// The old set's folder.
    #[arg(long, value_name = "OLD_DIR")]
    pub from: Option<PathBuf>,
    /// What the witnesses wrote down about the old set.
    #[command(flatten)]
    pub witnessed: WitnessedArgs,
    /// The new set's plan.
    #[arg(long, value_name = "NEW_PLAN")]
    pub plan: Option<PathBuf>,
    /// The new set's folder.
    #[arg(short = 'o', long = "output", value_name = "NEW_DIR")]
    pub output: Option<PathBuf>,
    /// Identity of an old custodian (a quorum is needed).
    #[arg(short = 'i', long = "identity", value_name = "OLD_ID")]
    pub identities: Vec<PathBuf>,
    /// Identity of a new holder proving their share now.
    #[arg(long = "confirm-identity", value_name = "NEW_ID")]
    pub confirm_identities: Vec<PathBuf>,
    /// Keep the key: reshare it to the new plan's custodians.
    #[arg(long)]
    pub keep_key: bool,
    /// Where paper sheets of new custodians with `paper = true` go (on tmpfs; created 0700
    /// if missing).
    #[arg(long, value_name = "TMPFS_DIR")]
    pub paper_dir: Option<PathBuf>,
    /// The re-encryption job: gets `old <hex>` and `new <hex>` on its stdin once the new set
    /// is active; the old set is retired when it exits 0.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    #[command(flatten)]
    pub sitting: SittingArgs,
}

/// `custody rotate confirm`.
#[derive(Subcommand, Debug)]
pub enum RotateCommand {
    /// Record new holders who prove their shares now; activates the set once k have.
    Confirm(ConfirmArgs),
    /// Second sitting: hand an active, not yet handed-off new set to the re-encryption job
    /// and retire the old set (a quorum of each set is needed again).
    Handoff(Box<HandoffArgs>),
}

/// `custody rotate handoff`.
#[derive(Args, Debug)]
pub struct HandoffArgs {
    /// The new set's folder.
    #[arg(value_name = "NEW_DIR")]
    pub set: PathBuf,
    /// What the witnesses wrote down about the new set at its first sitting.
    #[command(flatten)]
    pub witnessed: WitnessedArgs,
    /// The old set's folder.
    #[arg(long, value_name = "OLD_DIR")]
    pub from: PathBuf,
    /// What the witnesses wrote down about the old set.
    #[command(flatten)]
    pub witnessed_old: WitnessedOldArgs,
    /// Identity of an old custodian (a quorum is needed).
    #[arg(short = 'i', long = "identity", value_name = "OLD_ID", required = true)]
    pub identities: Vec<PathBuf>,
    /// Identity of a new holder (a quorum is needed).
    #[arg(long = "confirm-identity", value_name = "NEW_ID", required = true)]
    pub confirm_identities: Vec<PathBuf>,
    /// The re-encryption job: gets `old <hex>` and `new <hex>` on its stdin.
    #[arg(long, value_name = "CMD")]
    pub exec: String,
    /// Refuse (5) until every new holder has proven their share with `rotate confirm`.
    #[arg(long)]
    pub require_all: bool,
    #[command(flatten)]
    pub sitting: SittingArgs,
}

/// `custody rotate confirm`.
#[derive(Args, Debug)]
pub struct ConfirmArgs {
    /// The set folder.
    #[arg(value_name = "NEW_DIR")]
    pub set: PathBuf,
    /// What the witnesses wrote down about the set at its first sitting.
    #[command(flatten)]
    pub witnessed: WitnessedArgs,
    /// Identity of a holder proving their share.
    #[arg(short = 'i', long = "identity", value_name = "ID", required = true)]
    pub identities: Vec<PathBuf>,
    #[command(flatten)]
    pub passphrase_fd: PassphraseFdArg,
    #[command(flatten)]
    pub json: JsonArg,
}

/// A checked `rotate` command line: the first sitting, or one of its subcommands.
pub enum RotateSettings {
    /// `rotate --from … --plan … -o …`.
    Start(Box<StartSettings>),
    /// `rotate confirm`.
    Confirm(ConfirmSettings),
    /// `rotate handoff`.
    Handoff(Box<HandoffSettings>),
}

/// Checked flags of the first sitting.
pub struct StartSettings {
    args: RotateArgs,
    from: PathBuf,
    plan: Plan,
    output: PathBuf,
    expected: Expectations,
    exec: Option<OutputTarget>,
}

/// Checked flags of `rotate handoff`.
pub struct HandoffSettings {
    args: HandoffArgs,
    expected_new: Expectations,
    expected_old: Expectations,
    target: OutputTarget,
}

/// Checked flags of `rotate confirm`.
pub struct ConfirmSettings {
    args: ConfirmArgs,
    expected: Expectations,
}

impl RotateSettings {
    /// Checks the flags (2), the plan, and the re-encryption job (5) before the preflight.
    pub fn check(mut args: RotateArgs) -> Result<Self, Error> {
        match args.command.take() {
            Some(RotateCommand::Confirm(args)) => {
                let expected = args.witnessed.expectations()?;
                return Ok(Self::Confirm(ConfirmSettings { args, expected }));
            }
            Some(RotateCommand::Handoff(args)) => {
                let expected_new = args.witnessed.expectations()?;
                let expected_old = expectations(
                    args.witnessed_old.from_final_hash.as_deref(),
                    args.witnessed_old.from_fingerprint.as_deref(),
                    ["--from-final-hash", "--from-fingerprint"],
                )?;
                let target = OutputTarget::check_exec(&args.exec)?;
                return Ok(Self::Handoff(Box::new(HandoffSettings {
                    args: *args,
                    expected_new,
                    expected_old,
                    target,
                })));
            }
            None => {}
        }
        let missing = |flag: &str| Error::Usage(format!("rotate needs {flag}"));
        let from = args.from.take().ok_or_else(|| missing("--from OLD_DIR"))?;
        let plan_path = args.plan.take().ok_or_else(|| missing("--plan NEW_PLAN"))?;
        let output = args.output.take().ok_or_else(|| missing("-o NEW_DIR"))?;
        let plan = Plan::load(&plan_path)?;
        let expected = args.witnessed.expectations()?;
        let exec = args
            .exec
            .as_deref()
            .map(OutputTarget::check_exec)
            .transpose()?;
        Ok(Self::Start(Box::new(StartSettings {
            args,
            from,
            plan,
            output,
            expected,
            exec,
        })))
    }
}

/// Runs a checked `rotate` command line.
pub fn run(settings: RotateSettings, hardening: &Hardening) -> Result<(), Error> {
    match settings {
        RotateSettings::Start(start) => run_start(*start, hardening),
        RotateSettings::Confirm(confirm) => run_confirm(confirm),
        RotateSettings::Handoff(handoff) => run_handoff(*handoff, hardening),
    }
}

fn run_start(settings: StartSettings, hardening: &Hardening) -> Result<(), Error> {
    let StartSettings {
        args,
        from,
        plan,
        output,
        expected,
        exec,
    } = settings;
    let exec_given = exec.is_some();
    let report = run_preflight(
        hardening,
        args.sitting.airgap.required || plan.require_airgap,
    )?;
    custody::set::check_output_folder(&output)?;
    let paper = open_paper_dir(&plan, args.paper_dir.as_deref())?;
    let prompts = args.sitting.passphrase_fd.prompts()?;
    let old_keyring = Keyring::load(&args.identities, &prompts)?;
    let confirm_keyring = Keyring::load(&args.confirm_identities, &prompts)?;
    let deliver_to_exec = exec.map(|target| move |payload: &[u8]| target.deliver(payload));
    let rotated = rotate(Rotation {
        from: from.clone(),
        expected: &expected,
        plan: &plan,
        output: output.clone(),
        old_keyring: &old_keyring,
        confirm_keyring: &confirm_keyring,
        keep_key: args.keep_key,
        hand_off: deliver_to_exec
            .as_ref()
            .map(|deliver| deliver as HandOff<'_>),
        preflight: &report,
        prompts: &prompts,
        paper: paper.as_ref(),
    })?;
    for sheet in &rotated.sheets {
        note(&format!("paper sheet {}", sheet.display()));
    }
    for aside in &rotated.old_set_aside {
        warn(&format!(
            "old set: {} set aside: {}",
            aside.name,
            aside.explained()
        ));
    }
    let audit = &rotated.audit;
    let k = audit.manifest.threshold;
    if rotated.handed_off {
        let how = if args.keep_key && exec_given {
            "the key (kept) was handed off"
        } else if args.keep_key {
            "the key was kept, so there was nothing to hand off"
        } else {
            "the old and new keys were handed off"
        };
        note(&format!(
            "{} is active; {how}; {} is retired",
            output.display(),
            from.display()
        ));
        if !audit.unconfirmed().is_empty() {
            warn(&format!(
                "the old set is retired while these new holders have never proven their shares: {}; have them run `custody rotate confirm`",
                unproven_names(audit)
            ));
        }
        if rotated.old_transcript_updated {
            if let Ok(old) = audit_for_recovery(&from) {
                note(&format!(
                    "{}'s transcript now ends at {}",
                    from.display(),
                    old.transcript.final_hash()
                ));
            }
        } else {
            warn(&format!("{}'s transcript could not be updated (read-only?): the retirement is recorded in the new set's transcript", from.display()));
        }
    } else if audit.state == SetState::Active {
        note(&format!(
            "{} is active, but nothing was handed off (no --exec): {} stays active until the platform has re-encrypted",
            output.display(),
            from.display()
        ));
    } else {
        note(&format!(
            "{} is PENDING: {} of {k} needed holders have proven their shares; nothing was handed off. Run `custody rotate confirm {} -i …` as holders prove theirs in the room, or `custody attest challenge {}` for holders who prove from their own machines.",
            output.display(),
            audit.confirmed.len(),
            output.display(),
            output.display()
        ));
    }
    if args.sitting.json.enabled {
        record_json(&json!({
            "handed_off": rotated.handed_off,
            "old_set_aside": set_aside_json(&rotated.old_set_aside),
        }))?;
    }
    report_set(audit, args.sitting.json.enabled)
}

fn run_handoff(settings: HandoffSettings, hardening: &Hardening) -> Result<(), Error> {
    let HandoffSettings {
        args,
        expected_new,
        expected_old,
        target,
    } = settings;
    run_preflight(hardening, args.sitting.airgap.required)?;
    let before = audit(&args.set, None)?;
    check_unproven_holders(&before, args.require_all)?;
    let prompts = args.sitting.passphrase_fd.prompts()?;
    let old_keyring = Keyring::load(&args.identities, &prompts)?;
    let new_keyring = Keyring::load(&args.confirm_identities, &prompts)?;
    let deliver = |payload: &[u8]| target.deliver(payload);
    let unfinished = before
        .transcript
        .entries()
        .last()
        .is_some_and(|entry| entry.event == "hand-off-started");
    if unfinished {
        warn("an earlier hand-off started and has no recorded outcome: make sure the platform did not already re-encrypt with the new key");
    }
    let (audit, old_transcript_updated) = hand_off_later(
        &args.set,
        &args.from,
        &old_keyring,
        &new_keyring,
        &deliver,
        WitnessedPair {
            new: &expected_new,
            old: &expected_old,
        },
    )?;
    note(&format!(
        "{} was handed off; {} is retired",
        args.set.display(),
        args.from.display()
    ));
    if !old_transcript_updated {
        warn(&format!("{}'s transcript could not be updated (read-only?): the retirement is recorded in the new set's transcript", args.from.display()));
    }
    if args.sitting.json.enabled {
        record_json(
            &json!({"handed_off": true, "old_transcript_updated": old_transcript_updated}),
        )?;
    }
    report_set(&audit, args.sitting.json.enabled)
}

/// Names, before a hand-off retires the old set, every new holder who has not proven their
/// share; with `--require-all`, refuses (5) while there is one.
fn check_unproven_holders(new_set: &Audit, require_all: bool) -> Result<(), Error> {
    let unproven = new_set.unconfirmed();
    if unproven.is_empty() {
        return Ok(());
    }
    let names = unproven_names(new_set);
    if require_all {
        return Err(Error::Refused(format!(
            "--require-all: {} of {} new holders have not proven their shares: {names}; run `custody rotate confirm` with their identities first",
            unproven.len(),
            new_set.manifest.shares.len()
        )));
    }
    warn(&format!(
        "these new holders have never proven their shares: {names}; the hand-off retires the old set all the same (give --require-all to refuse until every holder has proven)"
    ));
    Ok(())
}

fn run_confirm(settings: ConfirmSettings) -> Result<(), Error> {
    let ConfirmSettings { args, expected } = settings;
    let prompts = args.passphrase_fd.prompts()?;
    let keyring = Keyring::load(&args.identities, &prompts)?;
    let (audit, newly) = confirm(&args.set, &keyring, &expected)?;
    if args.json.enabled {
        record_json(&json!({"newly_confirmed": newly}))?;
    }
    if newly.is_empty() {
        note("no new confirmation: these holders had already proven their shares");
    } else {
        note(&format!(
            "confirmed now: {}",
            newly
                .iter()
                .map(|i| audit.holder(*i))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(next) = next_step_after_confirm(&audit, &args.set) {
        note(&next);
    }
    report_set(&audit, args.json.enabled)
}

/// "share 2 (oscar), share 3 (pat)": the holders of a set who have not proven their share.
fn unproven_names(set: &Audit) -> String {
    set.unconfirmed()
        .iter()
        .map(|index| format!("share {index} ({})", set.holder(*index)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What comes after `rotate confirm` once the rotated set is active but not handed off yet.
fn next_step_after_confirm(audit: &Audit, set: &Path) -> Option<String> {
    let rotation = audit
        .transcript
        .last_event("ceremony-started")
        .is_some_and(|entry| {
            entry.facts.get("ceremony").and_then(|c| c.as_str()) == Some("rotation")
        });
    if audit.state != SetState::Active
        || !rotation
        || audit.transcript.last_event("handed-off").is_some()
    {
        return None;
    }
    Some(format!(
        "{} is active; next, hand it off and retire the old set: custody rotate handoff {} --from OLD_DIR -i OLD_ID… --confirm-identity NEW_ID… --exec CMD",
        set.display(),
        set.display()
    ))
}
