//! The ceremony commands: `ceremony genesis`, `ceremony verify`, `rotate`, `rotate confirm`,
//! `extend`, `recover`. Each runs the preflight first and ends by printing what the witnesses
//! write down: the fingerprint and the transcript's final hash, in hex and as words.

use std::time::Instant;

use custody::build_info::{binaries_in, BinaryUse};
use custody::ceremony::audit::{audit, audit_for_recovery, Audit, SetState};
use custody::ceremony::extend::{extend, Extension};
use custody::ceremony::genesis::{genesis, Genesis};
use custody::ceremony::plan::Plan;
use custody::ceremony::preflight::{preflight, Preflight, Severity};
use custody::ceremony::recovery::{report, write_report};
use custody::ceremony::rotate::{confirm, hand_off_later, rotate, HandOff, Rotation};
use custody::ceremony::transcript::hash_words;
use custody::deliver::{KeyFormat, OutputTarget};
use custody::harden::Hardening;
use custody::recover::recover_set;
use custody::seal::{parse_recipient, Keyring, Prompts};
use custody::{Error, Fingerprint};
use serde_json::json;

use super::ceremony_args::{
    CeremonyCommand, CeremonyVerifyArgs, ConfirmArgs, ExtendArgs, GenesisArgs, HandoffArgs,
    RecoverArgs, RotateArgs, RotateCommand,
};
use super::{key_source, note, print_json, warn};

/// Runs the preflight, prints its findings, refuses (5) on a fatal one.
fn run_preflight(hardening: &Hardening, require_airgap: bool) -> Result<Preflight, Error> {
    let report = preflight(hardening, require_airgap);
    for finding in &report.findings {
        let line = format!("preflight {}: {}", finding.code, finding.message);
        match finding.severity {
            Severity::Info => note(&line),
            Severity::Warning | Severity::Fatal => warn(&line),
        }
    }
    report.check()?;
    Ok(report)
}

fn prompts(passphrase_fd: Option<u32>) -> Result<Prompts, Error> {
    passphrase_fd.map_or_else(|| Ok(Prompts::terminal()), Prompts::from_fd)
}

/// What the witnesses write down.
fn print_record(fingerprint: &Fingerprint, transcript_hash: &str) {
    outln!("fingerprint {fingerprint}");
    outln!("spoken      {}", fingerprint.words());
    outln!("transcript  {transcript_hash}");
    outln!("spoken      {}", hash_words(transcript_hash));
}

/// Prints who has and has not proven their share.
fn print_holders(audit: &Audit) {
    outln!("state       {}", audit.state.name());
    for entry in &audit.manifest.shares {
        let status = match audit.confirmed.get(&entry.index) {
            Some(time) => format!("confirmed {time}"),
            None => "not confirmed".into(),
        };
        outln!(
            "share {:>3}   {:<28} {}",
            entry.index,
            status,
            audit.holder(entry.index)
        );
    }
}

pub fn run(command: CeremonyCommand, hardening: &Hardening) -> Result<(), Error> {
    match command {
        CeremonyCommand::Genesis(args) => run_genesis(args, hardening),
        CeremonyCommand::Verify(args) => run_verify(args),
    }
}

fn run_genesis(args: GenesisArgs, hardening: &Hardening) -> Result<(), Error> {
    let plan = Plan::load(&args.plan)?;
    let report = run_preflight(hardening, args.require_airgap || plan.require_airgap)?;
    custody::set::check_output_folder(&args.output)?;
    if plan.custodians.iter().any(|c| c.paper) && args.paper_dir.is_none() {
        return Err(Error::Usage(
            "the plan asks for paper sheets: give --paper-dir TMPFS_DIR".into(),
        ));
    }
    if let Some(dir) = &args.paper_dir {
        custody::deliver::check_dir_is_ram_backed(dir)?;
    }
    let prompts = prompts(args.passphrase_fd)?;
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
        paper_dir: args.paper_dir.clone(),
    })?;
    for sheet in &ceremony.sheets {
        note(&format!("paper sheet {}", sheet.display()));
    }
    let manifest = &ceremony.set.manifest;
    if args.json {
        return print_json(&json!({
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
    if args.json {
        return print_json(&json!({
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

pub fn run_rotate(args: RotateArgs, hardening: &Hardening) -> Result<(), Error> {
    match args.command {
        Some(RotateCommand::Confirm(confirm_args)) => return run_confirm(confirm_args),
        Some(RotateCommand::Handoff(handoff_args)) => return run_handoff(handoff_args, hardening),
        None => {}
    }
    let missing = |flag: &str| Error::Usage(format!("rotate needs {flag}"));
    let from = args.from.ok_or_else(|| missing("--from OLD_DIR"))?;
    let plan_path = args.plan.ok_or_else(|| missing("--plan NEW_PLAN"))?;
    let output = args.output.ok_or_else(|| missing("-o NEW_DIR"))?;
    let plan = Plan::load(&plan_path)?;
    let exec = args
        .exec
        .as_deref()
        .map(OutputTarget::check_exec)
        .transpose()?;
    let exec_given = exec.is_some();
    let report = run_preflight(hardening, args.require_airgap || plan.require_airgap)?;
    custody::set::check_output_folder(&output)?;
    let prompts = prompts(args.passphrase_fd)?;
    let old_keyring = Keyring::load(&args.identities, &prompts)?;
    let confirm_keyring = Keyring::load(&args.confirm_identities, &prompts)?;
    let deliver_to_exec = exec.map(|target| move |payload: &[u8]| target.deliver(payload));
    let rotated = rotate(Rotation {
        from: from.clone(),
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
    })?;
    for aside in &rotated.old_set_aside {
        warn(&format!(
            "old set: {} set aside: {}",
            aside.name, aside.reason
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
            "{} is PENDING: {} of {k} needed holders have proven their shares; nothing was handed off. Run `custody rotate confirm {} -i …` as holders prove theirs.",
            output.display(),
            audit.confirmed.len(),
            output.display()
        ));
    }
    print_holders(audit);
    print_record(&audit.manifest.fingerprint, audit.transcript.final_hash());
    Ok(())
}

fn run_handoff(args: HandoffArgs, hardening: &Hardening) -> Result<(), Error> {
    let target = OutputTarget::check_exec(&args.exec)?;
    run_preflight(hardening, args.require_airgap)?;
    let prompts = prompts(args.passphrase_fd)?;
    let old_keyring = Keyring::load(&args.identities, &prompts)?;
    let new_keyring = Keyring::load(&args.confirm_identities, &prompts)?;
    let deliver = |payload: &[u8]| target.deliver(payload);
    let unfinished = audit(&args.set, None)?
        .transcript
        .entries()
        .last()
        .is_some_and(|entry| entry.event == "hand-off-started");
    if unfinished {
        warn("an earlier hand-off started and has no recorded outcome: make sure the platform did not already re-encrypt with the new key");
    }
    let (audit, old_transcript_updated) =
        hand_off_later(&args.set, &args.from, &old_keyring, &new_keyring, &deliver)?;
    note(&format!(
        "{} was handed off; {} is retired",
        args.set.display(),
        args.from.display()
    ));
    if !old_transcript_updated {
        warn(&format!("{}'s transcript could not be updated (read-only?): the retirement is recorded in the new set's transcript", args.from.display()));
    }
    print_holders(&audit);
    print_record(&audit.manifest.fingerprint, audit.transcript.final_hash());
    Ok(())
}

fn run_confirm(args: ConfirmArgs) -> Result<(), Error> {
    let prompts = prompts(args.passphrase_fd)?;
    let keyring = Keyring::load(&args.identities, &prompts)?;
    let (audit, newly) = confirm(&args.set, &keyring)?;
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
    print_holders(&audit);
    print_record(&audit.manifest.fingerprint, audit.transcript.final_hash());
    Ok(())
}

pub fn run_extend(args: ExtendArgs, hardening: &Hardening) -> Result<(), Error> {
    let report = run_preflight(hardening, args.require_airgap)?;
    custody::set::check_output_folder(&args.output)?;
    let prompts = prompts(args.passphrase_fd)?;
    let existing = audit(&args.set, None)?.manifest.count as usize;
    let recipients = args
        .recipients
        .iter()
        .enumerate()
        .map(|(i, text)| {
            parse_recipient(text, existing + i + 1, &prompts, &mut |position| {
                prompts.new_passphrase(&format!("share {position}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let keyring = Keyring::load(&args.identities, &prompts)?;
    let (manifest, transcript) = extend(Extension {
        from: args.set,
        keyring: &keyring,
        recipients,
        output: args.output.clone(),
        preflight: &report,
    })?;
    note(&format!(
        "wrote {}: {} shares now, {} needed; the key and the existing shares are unchanged",
        args.output.display(),
        manifest.count,
        manifest.threshold
    ));
    print_record(&manifest.fingerprint, transcript.final_hash());
    Ok(())
}

pub fn run_recover(args: RecoverArgs, hardening: &Hardening) -> Result<(), Error> {
    let started = Instant::now();
    let exec = args
        .exec
        .as_deref()
        .map(OutputTarget::check_exec)
        .transpose()?;
    run_preflight(hardening, args.require_airgap)?;
    let target = match exec {
        Some(exec) => exec,
        None => OutputTarget::check_stdout()?,
    };
    let audit = audit_for_recovery(&args.set)?;
    if audit.state != SetState::Active {
        warn(&format!(
            "{} is {}: check that this is the set whose key you need",
            args.set.display(),
            audit.state.name()
        ));
    }
    let prompts = prompts(args.passphrase_fd)?;
    let keyring = Keyring::load(&args.identities, &prompts)?;
    let (inputs, unreadable) = super::paper::unsealed_inputs(&args.unsealed, &prompts)?;
    let mut recovery = recover_set(&audit.manifest, &args.set, &keyring, inputs);
    recovery.set_aside.extend(unreadable);
    for warning in &recovery.warnings {
        warn(warning);
    }
    for aside in &recovery.set_aside {
        warn(&format!("{} set aside: {}", aside.name, aside.reason));
    }
    for name in &recovery.undecryptable {
        warn(&format!("{name}: no identity given opens it"));
    }
    let recovered = recovery.result?;
    let format = KeyFormat::from(args.format);
    let payload = format.render(&recovered.key);
    target.deliver(&payload)?;
    drop(payload);
    let record = report(
        &audit,
        &recovered,
        &recovery.set_aside,
        &recovery.undecryptable,
        started.elapsed(),
    );
    if let Some(folder) = &args.report_dir {
        let path = write_report(folder, &record)?;
        note(&format!("recovery report written to {}", path.display()));
    }
    if matches!(target, OutputTarget::Exec { .. }) {
        print_json(&record)?;
    }
    note(&format!(
        "key {} delivered, verified from {} shares: {}",
        recovered.fingerprint,
        recovered.good.len(),
        recovered
            .good
            .iter()
            .map(|(_, index)| audit.holder(*index))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    Ok(())
}
