//! `custody inspect`: the public facts of a set folder, a manifest or a sealed share, with no
//! secret needed.

use std::path::{Path, PathBuf};

use clap::Args;
use std::collections::BTreeMap;

use custody::ceremony::audit::{confirmations_of, state_of};
use custody::ceremony::transcript::{binaries_in, BinaryUse};
use custody::ceremony::transcript::{Transcript, TRANSCRIPT_FILE};
use custody::fingerprint::sha256_hex;
use custody::input::{read_capped, read_input, MAX_SEALED_SHARE};
use custody::seal::SealedFileFacts;
use custody::set::{Manifest, MANIFEST_FILE};
use custody::Error;
use serde_json::json;

use super::flags::JsonArg;
use super::record_json;

/// `custody inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A set folder, a manifest, or a sealed share file.
    #[arg(value_name = "FILE|DIR")]
    pub path: PathBuf,
    #[command(flatten)]
    pub json: JsonArg,
}

pub fn run(args: InspectArgs) -> Result<(), Error> {
    let path = &args.path;
    let is_manifest = path.is_dir() || path.file_name().is_some_and(|name| name == MANIFEST_FILE);
    if is_manifest {
        inspect_set(path, args.json.enabled)
    } else {
        inspect_sealed(path, args.json.enabled)
    }
}

/// State of a sealed file named in the manifest.
fn file_state(folder: &Path, file: &str, sha256: &str) -> &'static str {
    match read_capped(&folder.join(file), MAX_SEALED_SHARE) {
        Ok(bytes) if sha256_hex(&bytes) == sha256 => "present",
        Ok(_) => "altered",
        Err(_) => "missing",
    }
}

/// What a set's transcript says, if it has one: its state and who has confirmed.
struct History {
    state: &'static str,
    confirmed: BTreeMap<u8, String>,
    entries: usize,
    final_hash: String,
    binaries: Vec<BinaryUse>,
}

/// Reads the set's transcript, if any. A transcript that does not verify is reported, not
/// trusted: `None` with the reason.
fn history(folder: &Path) -> Result<Option<History>, String> {
    if !folder.join(TRANSCRIPT_FILE).is_file() {
        return Ok(None);
    }
    let transcript = Transcript::load(folder).map_err(|error| error.to_string())?;
    Ok(Some(History {
        state: state_of(&transcript).name(),
        confirmed: confirmations_of(&transcript),
        entries: transcript.entries().len(),
        final_hash: transcript.final_hash().to_string(),
        binaries: binaries_in(&transcript),
    }))
}

fn inspect_set(path: &Path, as_json: bool) -> Result<(), Error> {
    let (manifest, folder) = Manifest::load(path)?;
    let states: Vec<&str> = manifest
        .shares
        .iter()
        .map(|entry| file_state(&folder, &entry.file, &entry.sha256))
        .collect();
    let history = history(&folder);
    let confirmed =
        |index: u8| -> Option<&String> { history.as_ref().ok()?.as_ref()?.confirmed.get(&index) };
    if as_json {
        let shares: Vec<_> = manifest
            .shares
            .iter()
            .zip(&states)
            .map(|(entry, state)| {
                json!({
                    "index": entry.index,
                    "holder": entry.holder,
                    "recipient": entry.recipient,
                    "recipients": entry.recipients(),
                    "file": entry.file,
                    "sha256": entry.sha256,
                    "commitment": entry.commitment.to_string(),
                    "file_state": state,
                    "confirmed": confirmed(entry.index),
                })
            })
            .collect();
        let transcript = match &history {
            Ok(Some(history)) => {
                let binaries: Vec<_> = history.binaries.iter().map(BinaryUse::to_json).collect();
                json!({"state": history.state, "entries": history.entries, "final_hash": history.final_hash, "binaries": binaries})
            }
            Ok(None) => serde_json::Value::Null,
            Err(reason) => json!({"error": reason}),
        };
        return record_json(&json!({
            "format": manifest.format,
            "set_id": manifest.set_id.to_string(),
            "label": manifest.label,
            "created": manifest.created,
            "threshold": manifest.threshold,
            "count": manifest.count,
            "fingerprint": manifest.fingerprint.to_string(),
            "words": manifest.fingerprint.words(),
            "transcript": transcript,
            "shares": shares,
        }));
    }
    outln!("set         {}", manifest.set_id);
    outln!("label       {}", manifest.label);
    outln!("created     {}", manifest.created);
    outln!("threshold   {} of {}", manifest.threshold, manifest.count);
    outln!("fingerprint {}", manifest.fingerprint);
    outln!("spoken      {}", manifest.fingerprint.words());
    match &history {
        Ok(Some(history)) => {
            outln!("state       {}", history.state);
            outln!(
                "transcript  {} entries, final hash {}",
                history.entries,
                history.final_hash
            );
            for binary in &history.binaries {
                outln!(
                    "binary      entry {}: {}",
                    binary.seq,
                    binary.identity.summary()
                );
            }
        }
        Ok(None) => outln!("transcript  none (a set made by `split`)"),
        Err(reason) => outln!("transcript  DOES NOT VERIFY: {reason}"),
    }
    for (entry, state) in manifest.shares.iter().zip(&states) {
        let holder = entry.holder.as_deref().unwrap_or(&entry.recipient);
        let confirmation = match (&history, confirmed(entry.index)) {
            (_, Some(time)) => format!("confirmed {time}"),
            (Ok(Some(_)), None) => "not confirmed".to_string(),
            _ => String::new(),
        };
        outln!(
            "share {:>3}   {:<8} {}  {}{}",
            entry.index,
            state,
            entry.file,
            holder,
            if confirmation.is_empty() {
                String::new()
            } else {
                format!("  ({confirmation})")
            }
        );
    }
    Ok(())
}

fn inspect_sealed(path: &Path, as_json: bool) -> Result<(), Error> {
    let bytes = read_input(path, MAX_SEALED_SHARE)?;
    let facts = SealedFileFacts::read(&bytes, path)?;
    let sha256 = sha256_hex(&bytes);
    let folder = path.parent().unwrap_or(Path::new("."));
    let entry = Manifest::load(folder).ok().and_then(|(manifest, _)| {
        let entry = manifest
            .shares
            .iter()
            .find(|entry| entry.sha256 == sha256)?
            .clone();
        Some((manifest, entry))
    });
    if as_json {
        return record_json(&json!({
            "file": path.display().to_string(),
            "format": facts.format(),
            "armored": facts.armored(),
            "stanzas": facts.sealed_to(),
            "sha256": sha256,
            "set_id": entry.as_ref().map(|(m, _)| m.set_id.to_string()),
            "index": entry.as_ref().map(|(_, e)| e.index),
            "recipient": entry.as_ref().map(|(_, e)| e.recipient.clone()),
            "recipients": entry.as_ref().map(|(_, e)| e.recipients()),
            "fingerprint": entry.as_ref().map(|(m, _)| m.fingerprint.to_string()),
        }));
    }
    outln!("file        {}", path.display());
    outln!("format      {}", facts.format());
    outln!("sealed to   {}", facts.sealed_to().join(", "));
    outln!("sha256      {sha256}");
    match entry {
        Some((manifest, entry)) => {
            outln!("set         {} ({})", manifest.set_id, manifest.label);
            outln!(
                "share       {} of {}, {} needed",
                entry.index,
                manifest.count,
                manifest.threshold
            );
            outln!("recipient   {}", entry.recipients().join(" or "));
            outln!("fingerprint {}", manifest.fingerprint);
        }
        None => outln!("manifest    none beside it lists this file"),
    }
    Ok(())
}
