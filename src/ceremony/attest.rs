//! The coordinator's side of attestation: challenges recorded in a set's transcript, and
//! attestation lines checked against the manifest's `attest_key`s, the challenges issued and
//! those already answered. The primitives are in [`crate::share::attest`].

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Value};

use super::transcript::Transcript;
use crate::set::Manifest;
use crate::share::attest::{Attestation, Challenge};

/// Transcript event recording a challenge sent to the holders.
pub const CHALLENGE_EVENT: &str = "attest-challenge-issued";
/// Transcript event recording one verified attestation.
pub const ATTESTED_EVENT: &str = "holder-attested";
/// Transcript event recording an in-room proof of possession.
pub const CONFIRMED_EVENT: &str = "holder-confirmed";

/// Why an attestation line was not accepted. Each has a stable code for messages and JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The text is not an attestation line (damaged, truncated, another format).
    Malformed(String),
    /// The line answers a challenge for another set.
    OtherSet(String),
    /// The challenge was never issued for this set (not in the transcript, not stated).
    NotIssued,
    /// The line answers another challenge than the one stated with `--challenge`.
    OtherChallenge,
    /// This holder's answer to this challenge is already recorded, or given twice.
    Replayed,
    /// The index is not a share of the set.
    UnknownShare,
    /// The set's manifest has no attestation key for the share (made before attestation).
    NoAttestKey,
    /// The signature does not verify with the share's attestation key.
    BadSignature,
}

impl Rejection {
    /// The stable kebab-case code.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed(_) => "malformed-line",
            Rejection::OtherSet(_) => "other-set",
            Rejection::NotIssued => "challenge-not-issued",
            Rejection::OtherChallenge => "other-challenge",
            Rejection::Replayed => "replayed",
            Rejection::UnknownShare => "unknown-share",
            Rejection::NoAttestKey => "no-attest-key",
            Rejection::BadSignature => "bad-signature",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Malformed(reason) => f.write_str(reason),
            Rejection::OtherSet(set) => write!(f, "it answers a challenge for set {set}"),
            Rejection::NotIssued => f.write_str("its challenge was not issued for this set"),
            Rejection::OtherChallenge => f.write_str("it answers another challenge"),
            Rejection::Replayed => f.write_str(
                "this holder's answer to this challenge is already recorded (a replayed line)",
            ),
            Rejection::UnknownShare => f.write_str("the set has no share of that index"),
            Rejection::NoAttestKey => f.write_str(
                "the manifest has no attestation key for this share (the set was made before attestation; its next rotation adds them)",
            ),
            Rejection::BadSignature => f.write_str(
                "the signature does not verify with the share's attestation key (not made with this share)",
            ),
        }
    }
}

/// One line's outcome.
pub struct LineOutcome {
    /// Where the line came from, e.g. "line 2 of replies.txt" or "argument 1".
    pub name: String,
    /// The share index it claims, when it parsed.
    pub index: Option<u8>,
    /// The verified attestation, or why not.
    pub result: Result<Attestation, Rejection>,
}

/// Checks attestation lines for the set of `manifest`. A challenge counts as issued when the
/// transcript records it or it is `stated`; with `stated`, lines must answer exactly it.
pub fn check_lines(
    manifest: &Manifest,
    transcript: Option<&Transcript>,
    stated: Option<Challenge>,
    lines: Vec<(String, String)>,
) -> Vec<LineOutcome> {
    let issued: Vec<String> = transcript
        .map(|transcript| {
            transcript
                .events(CHALLENGE_EVENT)
                .filter_map(|entry| entry.facts.get("challenge")?.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mut answered: Vec<(String, u8)> = transcript
        .map(|transcript| {
            transcript
                .events(ATTESTED_EVENT)
                .filter_map(|entry| {
                    Some((
                        entry.facts.get("challenge")?.as_str()?.to_string(),
                        entry.facts.get("index")?.as_u64()? as u8,
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    lines
        .into_iter()
        .map(|(name, text)| {
            let parsed = text.parse::<Attestation>().map_err(Rejection::Malformed);
            let index = parsed.as_ref().ok().map(|attestation| attestation.index);
            let result = parsed.and_then(|attestation| {
                check_one(manifest, &issued, &answered, stated, attestation)
            });
            if let Ok(attestation) = &result {
                answered.push((attestation.challenge.to_string(), attestation.index));
            }
            LineOutcome {
                name,
                index,
                result,
            }
        })
        .collect()
}

fn check_one(
    manifest: &Manifest,
    issued: &[String],
    answered: &[(String, u8)],
    stated: Option<Challenge>,
    attestation: Attestation,
) -> Result<Attestation, Rejection> {
    let challenge = attestation.challenge;
    if challenge.set_id != manifest.set_id {
        return Err(Rejection::OtherSet(challenge.set_id.to_string()));
    }
    let text = challenge.to_string();
    match stated {
        Some(stated) if stated != challenge => return Err(Rejection::OtherChallenge),
        Some(_) => {}
        None if !issued.contains(&text) => return Err(Rejection::NotIssued),
        None => {}
    }
    if answered.contains(&(text, attestation.index)) {
        return Err(Rejection::Replayed);
    }
    let entry = manifest
        .share(attestation.index)
        .ok_or(Rejection::UnknownShare)?;
    let key = entry.attest_key.as_ref().ok_or(Rejection::NoAttestKey)?;
    if !attestation.verifies_with(key) {
        return Err(Rejection::BadSignature);
    }
    Ok(attestation)
}

/// The facts of a `holder-attested` entry.
pub fn attested_facts(manifest: &Manifest, attestation: &Attestation) -> Value {
    json!({
        "index": attestation.index,
        "holder": manifest.share(attestation.index).and_then(|entry| entry.holder.clone()),
        "challenge": attestation.challenge.to_string(),
        "signed_at": attestation.time,
        "line": attestation.to_string(),
    })
}

/// How a holder last proved possession of their share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastProof {
    /// When (the transcript entry's time, RFC 3339).
    pub time: String,
    /// `confirmed` (in the room) or `attested` (from their own machine).
    pub how: &'static str,
}

/// Every share's latest proof of possession recorded in the transcript, by index.
pub fn last_proofs(transcript: &Transcript) -> BTreeMap<u8, LastProof> {
    let mut last = BTreeMap::new();
    for entry in transcript.entries() {
        let how = match entry.event.as_str() {
            CONFIRMED_EVENT => Some("confirmed"),
            ATTESTED_EVENT => Some("attested"),
            // A reissued share's holder has not proved the new copy yet.
            super::reissue::REISSUED_EVENT => None,
            _ => continue,
        };
        let Some(index) = entry.facts.get("index").and_then(Value::as_u64) else {
            continue;
        };
        match how {
            Some(how) => {
                last.insert(
                    index as u8,
                    LastProof {
                        time: entry.time.clone(),
                        how,
                    },
                );
            }
            None => {
                last.remove(&(index as u8));
            }
        }
    }
    last
}
