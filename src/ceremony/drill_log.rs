//! The drill log: every quarterly drill of a real set, as a hash-chained log (the set's own
//! transcript, or `drill-log.jsonl` in a folder of its own), and which holders have not been
//! exercised lately.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::audit::confirmations_of;
use super::transcript::{Transcript, TRANSCRIPT_FILE};
use crate::error::Error;
use crate::set::Manifest;

/// The drill log's file name in a log folder.
pub const DRILL_LOG_FILE: &str = "drill-log.jsonl";

/// How long a holder may go without proving a share before being named.
pub const EXERCISE_WINDOW_DAYS: i64 = 90;

/// A holder not exercised within the window, and when they last proved their share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unexercised {
    /// The share index.
    pub index: u8,
    /// The holder's name (or recipient).
    pub holder: String,
    /// Their latest drill or confirmation; `None` when they never proved their share.
    pub last_proved: Option<OffsetDateTime>,
}

/// Where a drill is recorded: the set's transcript, or a separate log folder.
pub fn log_path(set_folder: &Path, log_folder: Option<&Path>) -> PathBuf {
    match log_folder {
        Some(folder) => folder.join(DRILL_LOG_FILE),
        None => set_folder.join(TRANSCRIPT_FILE),
    }
}

/// Appends a drill to the log and returns the holders not exercised in the last 90 days —
/// neither in a drill nor in a confirmation — counting this drill.
pub fn record_drill(
    manifest: &Manifest,
    set_transcript: Option<&Transcript>,
    set_folder: &Path,
    log_folder: Option<&Path>,
    took_part: &[u8],
) -> Result<(Transcript, Vec<Unexercised>), Error> {
    let path = log_path(set_folder, log_folder);
    if log_folder.is_none() && set_transcript.is_none() {
        return Err(Error::Usage(format!(
            "{} has no transcript to log the drill in: give -o LOG_DIR",
            set_folder.display()
        )));
    }
    let mut log = if log_folder.is_some() && !path.exists() {
        if let Some(folder) = log_folder {
            std::fs::create_dir_all(folder).map_err(|error| Error::io(folder, error))?;
        }
        Transcript::new()
    } else {
        Transcript::load_file(&path)?
    };
    log.append(
        "drill",
        json!({
            "set_id": manifest.set_id.to_string(),
            "fingerprint": manifest.fingerprint.to_string(),
            "holders": took_part.iter().map(|index| json!({"index": index, "holder": manifest.holder_name(*index)})).collect::<Vec<_>>(),
        }),
    );
    log.save_file(&path)?;
    let cutoff = OffsetDateTime::now_utc() - Duration::days(EXERCISE_WINDOW_DAYS);
    let mut last_seen: BTreeMap<u8, OffsetDateTime> = BTreeMap::new();
    let mut note = |index: u64, time: &str| {
        if let Ok(when) = OffsetDateTime::parse(time, &Rfc3339) {
            let slot = last_seen.entry(index as u8).or_insert(when);
            *slot = (*slot).max(when);
        }
    };
    let set_id = manifest.set_id.to_string();
    let empty = Transcript::new();
    let set_transcript = set_transcript.unwrap_or(&empty);
    for entry in log.events("drill").chain(set_transcript.events("drill")) {
        if entry.facts.get("set_id").and_then(Value::as_str) != Some(&set_id) {
            continue;
        }
        for holder in entry
            .facts
            .get("holders")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(index) = holder.get("index").and_then(Value::as_u64) {
                note(index, &entry.time);
            }
        }
    }
    for (index, time) in confirmations_of(set_transcript) {
        note(u64::from(index), &time);
    }
    let stale = manifest
        .shares
        .iter()
        .map(|entry| Unexercised {
            index: entry.index,
            holder: manifest.holder_name(entry.index),
            last_proved: last_seen.get(&entry.index).copied(),
        })
        .filter(|holder| holder.last_proved.is_none_or(|when| when < cutoff))
        .collect();
    Ok((log, stale))
}
