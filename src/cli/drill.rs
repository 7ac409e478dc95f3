//! `custody drill`: the rehearsal, or a drill of a real set with its custodians' identities.

use custody::ceremony::audit::audit_for_recovery;
use custody::ceremony::drill_log::{log_path, record_drill, EXERCISE_WINDOW_DAYS};
use custody::ceremony::preflight::preflight;
use custody::ceremony::transcript::{Transcript, TRANSCRIPT_FILE};
use custody::drill::{drill_set, rehearse, DrillReport};
use custody::harden::Hardening;
use custody::seal::{Keyring, Prompts};
use custody::set::Manifest;
use custody::Error;
use serde_json::json;

use super::args::DrillArgs;
use super::{check_airgap, note, print_json, warn};

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
        return render(&report, args.json, "rehearsal");
    };
    if args.identities.is_empty() {
        return Err(Error::Usage(
            "a real-set drill needs the custodians' identities: -i ID…".into(),
        ));
    }
    let expected = args.witnessed.expectations()?;
    let (manifest, folder) = Manifest::load(set)?;
    let prompts = match args.passphrase_fd {
        Some(fd) => Prompts::from_fd(fd)?,
        None => Prompts::terminal(),
    };
    // A set made by a ceremony has a transcript: it is checked first, and the drill logged in it.
    let set_transcript = if folder.join(TRANSCRIPT_FILE).is_file() {
        let audit = audit_for_recovery(&folder)?;
        expected.check(&audit, &folder)?;
        Some(audit.transcript)
    } else {
        expected.check_without_transcript(&manifest, &folder)?;
        None
    };
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
    let (report, result) = drill_set(&manifest, &folder, &keyring);
    if args.json || result.is_ok() {
        render(&report, args.json, "set drill")?;
    } else {
        warn_about(&report);
    }
    result?;
    if set_transcript.is_none() && args.log_dir.is_none() {
        note("not logged: the set has no transcript; give -o LOG_DIR to keep a drill log");
        return Ok(());
    }
    let took_part: Vec<u8> = report.good.iter().map(|(_, index)| *index).collect();
    let (log, stale) = record_drill(
        &manifest,
        set_transcript.as_ref(),
        &folder,
        args.log_dir.as_deref(),
        &took_part,
    )?;
    note(&format!(
        "drill logged in {} (final hash {})",
        log_path(&folder, args.log_dir.as_deref()).display(),
        log.final_hash()
    ));
    for (index, holder) in stale {
        warn(&format!("share {index} ({holder}) has not been exercised in the last {EXERCISE_WINDOW_DAYS} days"));
    }
    Ok(())
}

fn warn_about(report: &DrillReport) {
    for aside in &report.set_aside {
        warn(&format!("{} set aside: {}", aside.name, aside.reason));
    }
    for name in &report.undecryptable {
        warn(&format!("{name}: no identity given opens it"));
    }
}

fn render(report: &DrillReport, as_json: bool, kind: &str) -> Result<(), Error> {
    let total: f64 = report.steps.iter().map(|s| s.elapsed.as_secs_f64()).sum();
    if as_json {
        return print_json(&json!({
            "drill": kind,
            "fingerprint": report.fingerprint.to_string(),
            "words": report.fingerprint.words(),
            "steps": report.steps.iter().map(|s| json!({
                "step": s.name,
                "detail": s.detail,
                "milliseconds": s.elapsed.as_secs_f64() * 1000.0,
            })).collect::<Vec<_>>(),
            "good": report.good.iter().map(|(name, index)| json!({"name": name, "index": index})).collect::<Vec<_>>(),
            "set_aside": report.set_aside.iter().map(|a| json!({"name": a.name, "reason": a.reason})).collect::<Vec<_>>(),
            "not_decryptable": report.undecryptable,
            "total_milliseconds": total * 1000.0,
        }));
    }
    outln!("custody drill: {kind}");
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
    outln!(
        "drill passed in {:.1} ms; the key was never written or shown",
        total * 1000.0
    );
    Ok(())
}
