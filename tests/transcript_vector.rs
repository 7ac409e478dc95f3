//! The transcript vector in tests/vectors/transcript/, checked without Python: the hash chain
//! recomputed from the rule docs/ceremony.md gives ("The transcript"), with a canonical JSON
//! writer of its own, and custody's parser accepting the same file with the same hashes.
//!
//! `transcript.jsonl` is five entries as custody lays a line out, with the keys of `facts` in no
//! particular order, non-ASCII text, `"`, `\` and `/` in strings; `canonical.txt` is, line for
//! line, the bytes each entry's hash covers after the domain prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use custody::ceremony::transcript::Transcript;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The vector folder.
fn vector_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/transcript")
}

/// A file of the vector as text.
fn vector_file(name: &str) -> String {
    fs::read_to_string(vector_dir().join(name)).unwrap()
}

/// `value` as docs/ceremony.md's `canonical`: compact, the keys of every object sorted by
/// bytes, strings with `"` and `\` escaped and nothing else (non-ASCII as UTF-8, `/` as is),
/// integers in plain decimal.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => {
            assert!(
                number.is_i64() || number.is_u64(),
                "the transcript format has integers only"
            );
            out.push_str(&number.to_string());
        }
        Value::String(text) => quoted(text, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(object) => {
            let mut keys: Vec<&String> = object.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                quoted(key, out);
                out.push(':');
                canonical(&object[key], out);
            }
            out.push('}');
        }
    }
}

/// A JSON string with only the escapes JSON requires of printable text.
fn quoted(text: &str, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        assert!(
            !c.is_control(),
            "the vector holds no control characters (the rule does not fix their escape)"
        );
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            _ => out.push(c),
        }
    }
    out.push('"');
}

/// Proves each entry of the vector hashes, by the documented rule, to the `hash` on its line,
/// over exactly the bytes `canonical.txt` gives, chaining from 64 zeros with `seq` 0, 1, 2, ….
#[test]
fn vector_chain_follows_the_documented_rule() {
    let transcript = vector_file("transcript.jsonl");
    let canonical_lines = vector_file("canonical.txt");
    let canonical_lines: Vec<&str> = canonical_lines.lines().collect();
    let lines: Vec<&str> = transcript.lines().collect();
    assert!(transcript.ends_with('\n') && lines.len() == canonical_lines.len());
    assert!(lines.len() >= 5, "the vector is the five entries it was");
    let mut prev = "0".repeat(64);
    for (number, line) in lines.iter().enumerate() {
        let at = format!("transcript.jsonl line {}", number + 1);
        let entry: Value = serde_json::from_str(line).unwrap();
        let fields: Vec<&String> = entry.as_object().unwrap().keys().collect();
        assert_eq!(
            fields,
            ["event", "facts", "hash", "prev", "seq", "time"],
            "{at}: exactly the six fields"
        );
        assert_eq!(entry["seq"], number, "{at}: seq");
        assert_eq!(entry["prev"], prev.as_str(), "{at}: prev");
        let content = serde_json::json!({
            "event": entry["event"], "facts": entry["facts"], "prev": entry["prev"],
            "seq": entry["seq"], "time": entry["time"],
        });
        let mut bytes = String::new();
        canonical(&content, &mut bytes);
        assert_eq!(bytes, canonical_lines[number], "{at}: canonical form");
        let mut hasher = Sha256::new();
        hasher.update(b"custody transcript v1\0");
        hasher.update(bytes.as_bytes());
        let hash = hex::encode(hasher.finalize());
        assert_eq!(entry["hash"], hash.as_str(), "{at}: hash");
        prev = hash;
    }
}

/// Proves custody's transcript parser accepts the vector with the same hashes and final hash,
/// and refuses it at line 3 when one character of that entry's facts is changed.
#[test]
fn custody_reads_the_vector_with_the_same_chain() {
    let path = vector_dir().join("transcript.jsonl");
    let text = vector_file("transcript.jsonl");
    let parsed = Transcript::parse(&text, &path).unwrap();
    let stated: Vec<String> = text
        .lines()
        .map(|line| {
            let entry: Value = serde_json::from_str(line).unwrap();
            entry["hash"].as_str().unwrap().to_string()
        })
        .collect();
    let computed: Vec<&str> = parsed
        .entries()
        .iter()
        .map(|entry| entry.hash.as_str())
        .collect();
    assert_eq!(computed, stated);
    assert_eq!(parsed.final_hash(), stated.last().unwrap().as_str());

    let line_three_start = text.match_indices('\n').nth(1).unwrap().0 + 1;
    let (before, after) = text.split_at(line_three_start);
    let edited = format!(
        "{before}{}",
        after.replacen("\"count\":3", "\"count\":4", 1)
    );
    assert_ne!(edited, text);
    let refused = Transcript::parse(&edited, &path).unwrap_err().to_string();
    assert!(
        refused.contains("line 3: its hash does not match its content"),
        "{refused}"
    );
}
