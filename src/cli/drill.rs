//! `custody drill`: the rehearsal, or a drill of a real set with its custodians' identities.

use custody::ceremony::audit::{audit_for_recovery, SetState};
use custody::ceremony::drill::{drill_set, rehearse, DrillReport};
use custody::ceremony::drill_log::{log_path, record_drill, Unexercised, EXERCISE_WINDOW_DAYS};
use custody::ceremony::preflight::preflight;
use custody::ceremony::transcript::{Transcript, TRANSCRIPT_FILE};
use custody::harden::Hardening;
use custody::seal::{Keyring, Prompts};
use custody::set::Manifest;
use custody::Error;
use secrecy::SecretString;
use serde_json::json;

use super::account::{good_json, set_aside_json, warn_set_aside, warn_undecryptable};
use super::args::DrillArgs;
use super::{check_airgap, note, record_json, warn};

pub fn run(args: DrillArgs, hardening: &Hardening) -> Result<(), Error> {
    check_airgap(args.require_airgap)?;
    let Some(set) = &args.set else {
        if !args.identities.is_empty() {
            return Err(Error::Usage(
                "-i needs a set folder: custody drill DIR -i ID…".into(),
            ));
        }
        if args.witnessed.final_hash.is_some() || args.witnessed.fingerprint.is_some() {
            return Err(Error::Usage(
                "--final-hash and --fingerprint need a set folder: custody drill DIR …".into(),
            ));
        }
        let report = rehearse(
            args.hsm_module.as_deref(),
            &preflight(hardening, args.require_airgap),
        )?;
        return render(&report, args.json, "rehearsal", None);
    };
    if args.identities.is_empty() {
        return Err(Error::Usage(
            "a real-set drill needs the custodians' identities: -i ID…".into(),
        ));
    }
    let expected = args.witnessed.expectations()?;
    let (manifest, folder) = Manifest::load(set)?;
    check_slip39_passphrase(&manifest, args.slip39_passphrase)?;
    let prompts = match args.passphrase_fd {
        Some(fd) => Prompts::from_fd(fd)?,
        None => Prompts::terminal(),
    };
    // A set made by a ceremony has a transcript: it is checked first, and the drill logged in it.
    let (set_transcript, state) = if folder.join(TRANSCRIPT_FILE).is_file() {
        let audit = audit_for_recovery(&folder)?;
        expected.check(&audit, &folder)?;
        (Some(audit.transcript), Some(audit.state))
    } else {
        expected.check_without_transcript(&manifest, &folder)?;
        (None, None)
    };
    if args.json {
        record_json(&json!({"state": state.map(SetState::name)}))?;
    }
    if state == Some(SetState::Retired) {
        warn(&format!(
            "{} is RETIRED: it was replaced by a newer set and its shares should have been destroyed; this drill says nothing about the key in use",
            set.display()
        ));
    }
    // An existing drill log must check out before the drill is run and logged in it.
    if let Some(log) = args
        .log_dir
        .as_deref()
        .map(|dir| log_path(&folder, Some(dir)))
    {
        if log.exists() {
            Transcript::load_file(&log)?;
        }
    }
    let keyring = Keyring::load(&args.identities, &prompts)?;
    let mut slip39_passphrase = || match args.slip39_passphrase {
        true => prompts
            .passphrase("SLIP-39 passphrase")
            .ok_or_else(|| Error::NoPassphrase {
                what: "the SLIP-39 mnemonics".into(),
            }),
        false => Ok(SecretString::from(String::new())),
    };
    let (report, result) = drill_set(&manifest, &folder, &keyring, &mut slip39_passphrase);
    if args.json || result.is_ok() {
        render(&report, args.json, "set drill", state)?;
    } else {
        warn_about(&report);
    }
    result?;
    if set_transcript.is_none() && args.log_dir.is_none() {
        note("not logged: the set has no transcript; give -o LOG_DIR to keep a drill log");
        return Ok(());
    }
    if state == Some(SetState::Retired) && args.log_dir.is_none() {
        note(
            "not logged: a retired set's transcript is closed; give -o LOG_DIR to keep a drill log",
        );
        return Ok(());
    }
    let took_part = report.account.good_indices();
    let (log, stale) = record_drill(
        &manifest,
        set_transcript.as_ref(),
        &folder,
        args.log_dir.as_deref(),
        &took_part,
    )?;
    let logged_in = log_path(&folder, args.log_dir.as_deref());
    note(&format!(
        "drill logged in {} (final hash {})",
        logged_in.display(),
        log.final_hash()
    ));
    if state != Some(SetState::Retired) {
        for holder in &stale {
            warn(&unexercised_message(holder));
        }
    }
    if args.json {
        record_json(&json!({
            "log": logged_in.display().to_string(),
            "log_hash": log.final_hash(),
            "unexercised": stale.iter().map(|holder| json!({
                "index": holder.index,
                "holder": holder.holder,
                "last_proved": holder.last_proved.map(|when| when.date().to_string()),
            })).collect::<Vec<_>>(),
        }))?;
    }
    Ok(())
}

/// `--slip39-passphrase` is given exactly when the manifest records that the set was split with
/// one: without it such a set would fail the fingerprint check, and with it any other set would.
fn check_slip39_passphrase(manifest: &Manifest, given: bool) -> Result<(), Error> {
    let recorded = manifest.slip39.is_some_and(|slip39| slip39.passphrase);
    match (recorded, given) {
        (true, false) => Err(Error::Usage(format!(
            "set {} was split with a SLIP-39 passphrase: give --slip39-passphrase",
            manifest.set_id
        ))),
        (false, true) => Err(Error::Usage(format!(
            "set {} was split without a SLIP-39 passphrase: leave out --slip39-passphrase",
            manifest.set_id
        ))),
        _ => Ok(()),
    }
}

/// The warning for a holder not exercised lately, or never.
fn unexercised_message(holder: &Unexercised) -> String {
    let Unexercised {
        index,
        holder,
        last_proved,
    } = holder;
    match last_proved {
        None => format!(
            "share {index} ({holder}) has never been proved: its holder has taken part in no drill and no confirmation"
        ),
        Some(when) => format!(
            "share {index} ({holder}) has not been exercised in the last {EXERCISE_WINDOW_DAYS} days (last proved {})",
            when.date()
        ),
    }
}

/// The shares a drill could not use, on stderr.
fn warn_about(report: &DrillReport) {
    warn_set_aside(&report.account.set_aside);
    warn_undecryptable(&report.account.undecryptable);
}

fn render(
    report: &DrillReport,
    as_json: bool,
    kind: &str,
    state: Option<SetState>,
) -> Result<(), Error> {
    let total = report
        .steps
        .iter()
        .map(|step| step.elapsed)
        .sum::<std::time::Duration>()
        .as_secs_f64();
    if as_json {
        return record_json(&json!({
            "drill": kind,
            "fingerprint": report.fingerprint.to_string(),
            "words": report.fingerprint.words(),
            "steps": report.steps.iter().map(|s| json!({
                "step": s.name,
                "detail": s.detail,
                "milliseconds": s.elapsed.as_secs_f64() * 1000.0,
            })).collect::<Vec<_>>(),
            "good": good_json(&report.account.good),
            "set_aside": set_aside_json(&report.account.set_aside),
            "not_decryptable": report.account.undecryptable,
            "total_milliseconds": total * 1000.0,
        }));
    }
    match state {
        Some(state) => outln!("custody drill: {kind} (state: {})", state.name()),
        None => outln!("custody drill: {kind}"),
    }
    for (number, step) in report.steps.iter().enumerate() {
        outln!(
            "{:>2}. {:<56} {:>7.1} ms  {}",
            number + 1,
            step.name,
            step.elapsed.as_secs_f64() * 1000.0,
            step.detail
        );
    }
    warn_about(report);
    outln!("fingerprint {}", report.fingerprint);
    outln!("spoken      {}", report.fingerprint.words());
    let took = format!("{:.1} ms", total * 1000.0);
    match state {
        Some(SetState::Retired) => outln!("RETIRED set drilled in {took}: its shares still give back its key, which is not the key in use; destroy them"),
        Some(SetState::Pending) => outln!("PENDING set drilled in {took}: its shares give back its key, which is not in use until k holders confirm"),
        _ => outln!("drill passed in {took}; the key was never written or shown"),
    }
    Ok(())
}
