//! What every ceremony sitting shares (genesis, `ceremony verify`, rotate, extend, recover):
//! the preflight, the paper folder of a plan, and the record the witnesses write down.

use std::path::Path;

use custody::ceremony::audit::Audit;
use custody::ceremony::genesis::check_paper;
use custody::ceremony::plan::Plan;
use custody::ceremony::preflight::{preflight, Preflight, Severity};
use custody::ceremony::transcript::hash_words;
use custody::harden::Hardening;
use custody::ram_dir::RamDir;
use custody::{Error, Fingerprint};
use serde_json::json;

use super::{note, record_json, warn};

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
pub(super) fn report_set(audit: &Audit, as_json: bool) -> Result<(), Error> {
    if as_json {
        return record_json(&set_fields(audit));
    }
    print_holders(audit);
    print_record(&audit.manifest.fingerprint, audit.transcript.final_hash());
    Ok(())
}

/// Prints who has and has not proven their share.
pub(super) fn print_holders(audit: &Audit) {
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

/// Opens and checks the paper folder of a plan-reading command (2 when the plan asks for
/// sheets and there is none; 5 when it is not RAM-backed or a sheet is already there).
pub(super) fn open_paper_dir(plan: &Plan, dir: Option<&Path>) -> Result<Option<RamDir>, Error> {
    let paper = dir.map(RamDir::open).transpose()?;
    check_paper(plan, paper.as_ref())?;
    Ok(paper)
}
