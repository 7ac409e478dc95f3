//! Quorum recovery after a disaster: the set's transcript is verified, the key reconstructed
//! from any mix of sealed files and paper, and a report written of who took part.
//!
//! Delivery of the key is the caller's (see [`crate::deliver`]); the report holds only public
//! facts and may be written anywhere.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use super::audit::Audit;
use crate::error::Error;
use crate::set::now_rfc3339;
use crate::set::recover::{Recovered, ShareAccount};
use crate::set::write::write_new_file;

/// The public record of one recovery.
pub fn report(
    audit: &Audit,
    recovered: &Recovered,
    account: &ShareAccount,
    elapsed: Duration,
) -> Value {
    json!({
        "report": "custody recovery v1",
        "time": now_rfc3339(),
        "set_id": audit.manifest.set_id.to_string(),
        "label": audit.manifest.label,
        "state": audit.state.name(),
        "fingerprint": recovered.fingerprint.to_string(),
        "words": recovered.fingerprint.words(),
        "transcript_hash": audit.transcript.final_hash(),
        "threshold": audit.manifest.threshold,
        "participants": account.good.iter().map(|(source, index)| json!({
            "index": index,
            "holder": audit.holder(*index),
            "source": source,
        })).collect::<Vec<_>>(),
        "set_aside": account.set_aside.iter().map(|a| json!({"source": a.name, "reason": a.reason, "code": a.code.as_str()})).collect::<Vec<_>>(),
        "not_decryptable": account.undecryptable,
        "milliseconds_to_delivery": elapsed.as_secs_f64() * 1000.0,
    })
}

/// Writes a report into `folder` as `recovery-<time>.json`, never overwriting: written under a
/// temporary name, synced, linked into place.
pub fn write_report(folder: &Path, report: &Value) -> Result<PathBuf, Error> {
    fs::create_dir_all(folder).map_err(|error| Error::io(folder, error))?;
    let mut tag = [0u8; 3];
    crate::secret::fill_random(&mut tag)?;
    // The time names the report; the random tag keeps two recoveries in one second apart.
    let stamp = format!("{}-{}", now_rfc3339().replace(':', ""), hex::encode(tag));
    let path = folder.join(format!("recovery-{stamp}.json"));
    #[expect(
        clippy::expect_used,
        reason = "a JSON value has string keys only, which serde_json always serialises"
    )]
    let mut text = serde_json::to_vec_pretty(report).expect("a JSON value serialises");
    text.push(b'\n');
    write_new_file(&path, &text)?;
    Ok(path)
}
