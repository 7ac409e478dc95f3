//! The hash-chained transcript of a share set's life: `transcript.jsonl` in the set folder.
//!
//! One JSON object per line: `seq`, `time`, `event`, `facts`, `prev` (the previous entry's
//! hash, 64 zeros for the first) and `hash`, the SHA-256 of the domain tag
//! `custody transcript v1\0` and the entry's canonical JSON without `hash` (keys sorted, no
//! spaces). Editing, deleting or reordering any entry breaks the chain at that entry; a
//! truncated transcript is caught by comparing its final hash with the one the witnesses wrote
//! down. Entries hold public facts only: fingerprints, hashes, indices, names. Never a secret.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::build_info::BinaryIdentity;
use crate::error::{Error, LineProblem, TranscriptError};
use crate::input::ReadError;
use crate::set::now_rfc3339;
use crate::set::write::replace_file;

/// The transcript's file name in a set folder.
pub const TRANSCRIPT_FILE: &str = "transcript.jsonl";

/// Domain separation for entry hashes.
const HASH_DOMAIN: &[u8] = b"custody transcript v1\0";

/// The `prev` of the first entry.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One transcript entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// 0, 1, 2, … in order.
    pub seq: u64,
    /// RFC 3339 UTC.
    pub time: String,
    /// Event name, kebab-case (see docs/ceremony.md for the list).
    pub event: String,
    /// Public facts of the event.
    pub facts: Map<String, Value>,
    /// The previous entry's hash.
    pub prev: String,
    /// This entry's hash.
    pub hash: String,
}

/// The hash of an entry's content (everything but `hash`).
fn entry_hash(seq: u64, time: &str, event: &str, facts: &Map<String, Value>, prev: &str) -> String {
    // serde_json's Map keeps keys sorted, and `json!` of a fixed key set serialises the same
    // bytes every time: the canonical form is `to_vec` of this object.
    let content = serde_json::json!({
        "seq": seq,
        "time": time,
        "event": event,
        "facts": facts,
        "prev": prev,
    });
    let mut hasher = Sha256::new();
    hasher.update(HASH_DOMAIN);
    // A `Value`'s Display is its compact JSON, the same bytes as `to_vec`, and cannot fail.
    hasher.update(content.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// A transcript in memory: read from a folder or started anew, appended to, written back.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    entries: Vec<Entry>,
}

impl Transcript {
    /// An empty transcript.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entries, in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The last entry's hash, or [`GENESIS_PREV`] when empty.
    pub fn final_hash(&self) -> &str {
        self.entries
            .last()
            .map_or(GENESIS_PREV, |entry| entry.hash.as_str())
    }

    /// Appends an event with `facts` (a JSON object; anything else is recorded as `{"value": …}`).
    pub fn append(&mut self, event: &str, facts: Value) -> &Entry {
        let facts = match facts {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => Map::from_iter([("value".to_string(), other)]),
        };
        let seq = self.entries.len() as u64;
        let time = now_rfc3339();
        let prev = self.final_hash().to_string();
        let hash = entry_hash(seq, &time, event, &facts, &prev);
        self.entries.push(Entry {
            seq,
            time,
            event: event.to_string(),
            facts,
            prev,
            hash,
        });
        &self.entries[self.entries.len() - 1]
    }

    /// The JSONL text.
    pub fn to_jsonl(&self) -> Vec<u8> {
        let mut text = Vec::new();
        for entry in &self.entries {
            #[expect(
                clippy::expect_used,
                reason = "an entry holds only strings, a number and a string-keyed map, which serde_json always serialises"
            )]
            text.extend(serde_json::to_vec(entry).expect("a transcript entry serialises"));
            text.push(b'\n');
        }
        text
    }

    /// Parses and checks a transcript: every line an entry, `seq` counting from 0, each `prev`
    /// the hash before it, each `hash` right. Exit 3 naming the first bad entry (1-based line).
    pub fn parse(text: &str, path: &Path) -> Result<Self, Error> {
        let bad = |line: usize, problem: LineProblem| TranscriptError::BadLine {
            path: path.to_path_buf(),
            line,
            problem,
        };
        if text.trim().is_empty() {
            return Err(TranscriptError::Empty {
                path: path.to_path_buf(),
            }
            .into());
        }
        let mut transcript = Transcript::new();
        for (number, line) in text.lines().enumerate() {
            let line_number = number + 1;
            let entry: Entry = serde_json::from_str(line)
                .map_err(|error| bad(line_number, LineProblem::NotAnEntry(error.to_string())))?;
            if entry.seq != number as u64 {
                return Err(bad(
                    line_number,
                    LineProblem::Sequence {
                        found: entry.seq,
                        expected: number as u64,
                    },
                )
                .into());
            }
            if entry.prev != transcript.final_hash() {
                return Err(bad(line_number, LineProblem::Chain).into());
            }
            let expected = entry_hash(
                entry.seq,
                &entry.time,
                &entry.event,
                &entry.facts,
                &entry.prev,
            );
            if entry.hash != expected {
                return Err(bad(line_number, LineProblem::Edited).into());
            }
            transcript.entries.push(entry);
        }
        Ok(transcript)
    }

    /// Reads and checks `DIR/transcript.jsonl`.
    pub fn load(folder: &Path) -> Result<Self, Error> {
        Self::load_file(&folder.join(TRANSCRIPT_FILE))
    }

    /// Reads and checks a transcript file.
    pub fn load_file(path: &Path) -> Result<Self, Error> {
        let bytes =
            crate::input::read_capped(path, crate::input::MAX_TRANSCRIPT).map_err(|error| {
                match error {
                    ReadError::Io(error) if error.kind() == std::io::ErrorKind::NotFound => {
                        TranscriptError::Missing {
                            path: path.to_path_buf(),
                        }
                        .into()
                    }
                    ReadError::TooLarge { limit } => TranscriptError::TooLarge {
                        path: path.to_path_buf(),
                        limit,
                    }
                    .into(),
                    other => other.into_error(path),
                }
            })?;
        Self::parse_bytes(&bytes, path)
    }

    /// Parses and checks a transcript's bytes (see [`Transcript::parse`]). Bytes that are not
    /// UTF-8 fail verification (exit 3) naming the line, as any other damage does.
    pub fn parse_bytes(bytes: &[u8], path: &Path) -> Result<Self, Error> {
        let text = crate::input::as_text(bytes).map_err(|line| TranscriptError::BadLine {
            path: path.to_path_buf(),
            line,
            problem: LineProblem::NotText,
        })?;
        Self::parse(text, path)
    }

    /// Replaces `DIR/transcript.jsonl` with this transcript (see [`Transcript::save_file`]).
    pub fn save(&self, folder: &Path) -> Result<(), Error> {
        self.save_file(&folder.join(TRANSCRIPT_FILE))
    }

    /// Replaces a transcript file with this transcript, atomically (see
    /// [`replace_file`]). A transcript only ever grows, and the old one is a prefix of the new.
    pub fn save_file(&self, path: &Path) -> Result<(), Error> {
        replace_file(path, &self.to_jsonl())
    }

    /// The latest entry with this event name.
    pub fn last_event(&self, event: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|entry| entry.event == event)
    }

    /// All entries with this event name.
    pub fn events<'a>(&'a self, event: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries
            .iter()
            .filter(move |entry| entry.event == event)
    }
}

/// The speakable form of a transcript hash: PGP words of its first 16 bytes.
pub fn hash_words(hash: &str) -> String {
    let mut bytes = [0u8; 16];
    if hex::decode_to_slice(hash.get(..32).unwrap_or_default(), &mut bytes).is_err() {
        return String::new();
    }
    crate::fingerprint::Fingerprint::from_bytes(bytes).words()
}

/// A binary that ran a ceremony on a set: the transcript entry (a `preflight`) that records it.
#[derive(Debug, Clone)]
pub struct BinaryUse {
    /// The entry's sequence number.
    pub seq: u64,
    /// The entry's time.
    pub time: String,
    /// The binary.
    pub identity: BinaryIdentity,
}

/// Every binary a transcript records, in order (one per ceremony that ran a preflight).
pub fn binaries_in(transcript: &Transcript) -> Vec<BinaryUse> {
    transcript
        .events("preflight")
        .filter_map(|entry| {
            Some(BinaryUse {
                seq: entry.seq,
                time: entry.time.clone(),
                identity: BinaryIdentity::from_json(entry.facts.get("binary")?)?,
            })
        })
        .collect()
}

impl BinaryUse {
    /// `{seq, time, version, commit, toolchain, target, sha256}`.
    pub fn to_json(&self) -> Value {
        let mut value = self.identity.to_json();
        if let Some(map) = value.as_object_mut() {
            map.insert("seq".into(), json!(self.seq));
            map.insert("time".into(), json!(self.time));
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Transcript {
        let mut transcript = Transcript::new();
        transcript.append("genesis-started", json!({"plan_sha256": "ab"}));
        transcript.append("set-written", json!({"fingerprint": "f64b", "shares": 5}));
        transcript.append("holder-confirmed", json!({"index": 2, "holder": "bob"}));
        transcript
    }

    fn reparse(text: &str) -> Result<Transcript, Error> {
        Transcript::parse(text, Path::new("t.jsonl"))
    }

    /// A written transcript parses back to the same entries and final hash.
    #[test]
    fn round_trip() {
        let transcript = sample();
        let text = String::from_utf8(transcript.to_jsonl()).unwrap();
        let back = reparse(&text).unwrap();
        assert_eq!(back.entries(), transcript.entries());
        assert_eq!(back.final_hash(), transcript.final_hash());
        assert_eq!(transcript.entries()[0].prev, GENESIS_PREV);
    }

    /// An edited, a deleted and a swapped entry are each caught, naming the first bad line.
    #[test]
    fn tampering_is_caught() {
        let text = String::from_utf8(sample().to_jsonl()).unwrap();
        let lines: Vec<&str> = text.lines().collect();

        let edited = text.replace("\"bob\"", "\"mallory\"");
        assert!(matches!(
            reparse(&edited),
            Err(Error::Transcript(TranscriptError::BadLine {
                line: 3,
                problem: LineProblem::Edited,
                ..
            }))
        ));
        let error = reparse(&edited).unwrap_err().to_string();
        assert!(
            error.contains("line 3") && error.contains("edited"),
            "{error}"
        );

        let deleted = [lines[0], lines[2]].join("\n");
        let error = reparse(&deleted).unwrap_err().to_string();
        assert!(error.contains("line 2"), "{error}");

        let swapped = [lines[0], lines[2], lines[1]].join("\n");
        assert!(reparse(&swapped)
            .unwrap_err()
            .to_string()
            .contains("line 2"));
        assert_eq!(
            reparse(&swapped).unwrap_err().kind(),
            crate::ErrorKind::Verification
        );
    }

    /// Saving replaces the file with one that loads back; the final hash speaks as 16 words.
    #[test]
    fn save_and_load() {
        let folder = tempfile::tempdir().unwrap();
        let mut transcript = sample();
        transcript.save(folder.path()).unwrap();
        transcript.append("drill", json!({"holders": ["alice"]}));
        transcript.save(folder.path()).unwrap();
        let back = Transcript::load(folder.path()).unwrap();
        assert_eq!(back.final_hash(), transcript.final_hash());
        assert_eq!(hash_words(back.final_hash()).split(' ').count(), 16);
    }
}
