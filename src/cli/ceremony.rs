//! The ceremony commands: `ceremony genesis`, `ceremony verify`, `rotate`, `rotate confirm`,
//! `extend`, `recover`. Each runs the preflight first and ends by printing what the witnesses
//! write down: the fingerprint and the transcript's final hash, in hex and as words.

use std::time::Instant;

use custody::ceremony::audit::{audit, audit_for_recovery, Audit, Expectations, SetState};
use custody::ceremony::extend::{extend, Extension};
use custody::ceremony::genesis::{check_paper, genesis, Genesis};
use custody::ceremony::plan::Plan;
use custody::ceremony::preflight::{preflight, Preflight, Severity};
use custody::ceremony::recovery::{report, write_report};
use custody::ceremony::rotate::{
    confirm, hand_off_later, rotate, HandOff, Rotation, WitnessedPair,
};
use custody::ceremony::transcript::hash_words;
use custody::ceremony::transcript::{binaries_in, BinaryUse};
use custody::deliver::{KeyFormat, OutputTarget};
use custody::harden::Hardening;
use custody::ram_dir::RamDir;
use custody::seal::{parse_recipient, Keyring, Prompts};
use custody::set::recover::recover_set;
use custody::{Error, Fingerprint};
use serde_json::json;

use super::ceremony_args::{
    CeremonyCommand, CeremonyVerifyArgs, ConfirmArgs, ExtendArgs, GenesisArgs, HandoffArgs,
    RecoverArgs, RotateArgs, RotateCommand, WitnessedArgs,
};
use super::{key_source, note, print_json, warn};

/// Runs the preflight, prints its findings, refuses (5) on a fatal one.
pub(super) fn run_preflight(
    hardening: &Hardening,
    require_airgap: bool,
) -> Result<Preflight, Error> {
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

impl WitnessedArgs {
    /// The checked expectations (exit 2 for a malformed hash or fingerprint).
    pub(super) fn expectations(&self) -> Result<Expectations, Error> {
        expectations(
            self.final_hash.as_deref(),
            self.fingerprint.as_deref(),
            ["--final-hash", "--fingerprint"],
        )
    }
}

/// What the witnesses wrote down, from the flags named `flags` (hash, fingerprint).
fn expectations(
    final_hash: Option<&str>,
    fingerprint: Option<&str>,
    [hash_flag, fingerprint_flag]: [&str; 2],
) -> Result<Expectations, Error> {
    let final_hash = final_hash
        .map(|hash| {
            let hash = hash.trim().to_ascii_lowercase();
            if hash.len() == 64 && hash.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                Ok(hash)
            } else {
                Err(Error::Usage(format!(
                    "{hash_flag}: a transcript hash is 64 hex digits"
                )))
            }
        })
        .transpose()?;
    let fingerprint = fingerprint
        .map(|text| {
            text.parse::<Fingerprint>()
                .map_err(|error| Error::Usage(format!("{fingerprint_flag}: {error}")))
        })
        .transpose()?;
    Ok(Expectations {
        fingerprint,
        final_hash,
    })
}

pub(super) fn prompts(passphrase_fd: Option<u32>) -> Result<Prompts, Error> {
    passphrase_fd.map_or_else(|| Ok(Prompts::terminal()), Prompts::from_fd)
}

/// What the witnesses write down.
pub(super) fn print_record(fingerprint: &Fingerprint, transcript_hash: &str) {
    outln!("fingerprint {fingerprint}");
    outln!("spoken      {}", fingerprint.words());
    outln!("transcript  {transcript_hash}");
    outln!("spoken      {}", hash_words(transcript_hash));
}

/// A set's public facts for `--json`: its id, state, fingerprint, transcript hash, and who
/// has and has not proven their share.
fn set_fields(audit: &Audit) -> serde_json::Value {
    json!({
        "set_id": audit.manifest.set_id.to_string(),
        "state": audit.state.name(),
        "fingerprint": audit.manifest.fingerprint.to_string(),
        "words": audit.manifest.fingerprint.words(),
        "transcript_hash": audit.transcript.final_hash(),
        "transcript_words": hash_words(audit.transcript.final_hash()),
        "holders": audit.manifest.shares.iter().map(|entry| json!({
            "index": entry.index,
            "holder": audit.holder(entry.index),
            "confirmed": audit.confirmed.get(&entry.index),
        })).collect::<Vec<_>>(),
    })
}

/// Reports a set after a ceremony step: its fields under `--json`, else who has proven their
/// share and what the witnesses write down.
fn report_set(audit: &Audit, as_json: bool) -> Result<(), Error> {
    if as_json {
        return print_json(&set_fields(audit));
    }
    print_holders(audit);
    print_record(&audit.manifest.fingerprint, audit.transcript.final_hash());
    Ok(())
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
    let paper = open_paper_dir(&plan, args.paper_dir.as_deref())?;
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
        paper: paper.as_ref(),
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

/// Opens and checks the paper folder of a plan-reading command (2 when the plan asks for
/// sheets and there is none; 5 when it is not RAM-backed or a sheet is already there).
fn open_paper_dir(plan: &Plan, dir: Option<&std::path::Path>) -> Result<Option<RamDir>, Error> {
    let paper = dir.map(RamDir::open).transpose()?;
    check_paper(plan, paper.as_ref())?;
    Ok(paper)
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
        Some(RotateCommand::Handoff(handoff_args)) => return run_handoff(*handoff_args, hardening),
        None => {}
    }
    let missing = |flag: &str| Error::Usage(format!("rotate needs {flag}"));
    let from = args.from.ok_or_else(|| missing("--from OLD_DIR"))?;
    let plan_path = args.plan.ok_or_else(|| missing("--plan NEW_PLAN"))?;
    let output = args.output.ok_or_else(|| missing("-o NEW_DIR"))?;
    let plan = Plan::load(&plan_path)?;
    let expected = args.witnessed.expectations()?;
    let exec = args
        .exec
        .as_deref()
        .map(OutputTarget::check_exec)
        .transpose()?;
    let exec_given = exec.is_some();
    let report = run_preflight(hardening, args.require_airgap || plan.require_airgap)?;
    custody::set::check_output_folder(&output)?;
    let paper = open_paper_dir(&plan, args.paper_dir.as_deref())?;
    let prompts = prompts(args.passphrase_fd)?;
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
    if args.json {
        print_json(&json!({
            "handed_off": rotated.handed_off,
            "old_set_aside": rotated.old_set_aside.iter().map(|a| json!({"name": a.name, "reason": a.reason})).collect::<Vec<_>>(),
        }))?;
    }
    report_set(audit, args.json)
}

fn run_handoff(args: HandoffArgs, hardening: &Hardening) -> Result<(), Error> {
    let expected_new = args.witnessed.expectations()?;
    let expected_old = expectations(
        args.witnessed_old.from_final_hash.as_deref(),
        args.witnessed_old.from_fingerprint.as_deref(),
        ["--from-final-hash", "--from-fingerprint"],
    )?;
    let target = OutputTarget::check_exec(&args.exec)?;
    run_preflight(hardening, args.require_airgap)?;
    let before = audit(&args.set, None)?;
    check_unproven_holders(&before, args.require_all)?;
    let prompts = prompts(args.passphrase_fd)?;
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
    if args.json {
        print_json(&json!({"handed_off": true, "old_transcript_updated": old_transcript_updated}))?;
    }
    report_set(&audit, args.json)
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

fn run_confirm(args: ConfirmArgs) -> Result<(), Error> {
    let expected = args.witnessed.expectations()?;
    let prompts = prompts(args.passphrase_fd)?;
    let keyring = Keyring::load(&args.identities, &prompts)?;
    let (audit, newly) = confirm(&args.set, &keyring, &expected)?;
    if args.json {
        print_json(&json!({"newly_confirmed": newly}))?;
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
    report_set(&audit, args.json)
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
fn next_step_after_confirm(audit: &Audit, set: &std::path::Path) -> Option<String> {
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

pub fn run_extend(args: ExtendArgs, hardening: &Hardening) -> Result<(), Error> {
    if !args.names.is_empty() && args.names.len() != args.recipients.len() {
        return Err(Error::Usage(format!(
            "{} --name for {} -r: give one --name per new recipient, in the same order",
            args.names.len(),
            args.recipients.len()
        )));
    }
    let expected = args.witnessed.expectations()?;
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
    if args.json {
        return print_json(&json!({
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

/// `recover` checks a set against its transcript; a set made by `split` has none. It is
/// refused (3) with the command that recovers it, rather than recovered without the check.
fn refuse_a_set_without_transcript(set: &std::path::Path) -> Result<(), Error> {
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

pub fn run_recover(args: RecoverArgs, hardening: &Hardening) -> Result<(), Error> {
    let started = Instant::now();
    let expected = args.witnessed.expectations()?;
    let exec = args
        .exec
        .as_deref()
        .map(OutputTarget::check_exec)
        .transpose()?;
    if args.json && exec.is_none() {
        return Err(Error::Usage(
            "--json needs --exec: without it the key goes to stdout".into(),
        ));
    }
    run_preflight(hardening, args.require_airgap)?;
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
    for name in keyring.unused_identities() {
        warn(&super::combine::unused_identity(name));
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
    if args.json {
        print_json(&json!({ "report": record }))?;
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
