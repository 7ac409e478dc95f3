//! The share-format test vectors in tests/vectors/, in the style of age's testkit: each file
//! is a header of `key: value` lines, a blank line, then share texts one per line. Every file
//! is run through the library (`Share::from_text`, `custody::set::recover::reconstruct`) and must
//! give exactly the outcome its `expect:` line names.
//!
//! Header keys: `expect` (the outcome), `description`, and for vectors whose shares parse,
//! one `share:` line per text with its decoded fields (`index`, `version`, `set-id`,
//! `threshold`, `count`, `fingerprint`, `point`); `key` and `fingerprint` for the key a
//! success gives back; `set-aside` for the (1-based) lines that must be set aside.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use custody::set::recover::{reconstruct, Candidate, SetAside};
use custody::share::{Share, ShareFormatError};
use custody::{Error, ErrorKind, Fingerprint};

/// One vector file.
struct Vector {
    name: String,
    header: Vec<(String, String)>,
    lines: Vec<String>,
}

impl Vector {
    fn read(path: &Path) -> Self {
        let text = fs::read_to_string(path).unwrap();
        let (head, body) = text
            .split_once("\n\n")
            .unwrap_or_else(|| panic!("{}: no blank line after the header", path.display()));
        let header = head
            .lines()
            .map(|line| {
                let (key, value) = line
                    .split_once(": ")
                    .unwrap_or_else(|| panic!("{}: bad header line {line:?}", path.display()));
                (key.to_string(), value.to_string())
            })
            .collect();
        let lines = body
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(String::from)
            .collect();
        Self {
            name: path.file_name().unwrap().to_string_lossy().into_owned(),
            header,
            lines,
        }
    }

    /// The single value of `key`.
    fn get(&self, key: &str) -> Option<&str> {
        let mut values = self
            .header
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str());
        let value = values.next();
        assert!(values.next().is_none(), "{}: {key} given twice", self.name);
        value
    }

    fn require(&self, key: &str) -> &str {
        self.get(key)
            .unwrap_or_else(|| panic!("{}: no {key} in the header", self.name))
    }

    /// The decoded fields of each `share:` line.
    fn share_fields(&self) -> Vec<BTreeMap<String, String>> {
        self.header
            .iter()
            .filter(|(k, _)| k == "share")
            .map(|(_, v)| {
                v.split_whitespace()
                    .map(|field| {
                        let (key, value) = field.split_once('=').unwrap();
                        (key.to_string(), value.to_string())
                    })
                    .collect()
            })
            .collect()
    }

    /// The 1-based lines named by `set-aside:`.
    fn set_aside(&self) -> BTreeSet<usize> {
        self.get("set-aside")
            .map(|value| {
                value
                    .split_whitespace()
                    .map(|n| n.parse().unwrap())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The only share text of a vector about one malformed share.
    fn single_line(&self) -> &str {
        assert_eq!(
            self.lines.len(),
            1,
            "{}: expected one share text",
            self.name
        );
        &self.lines[0]
    }

    /// Parses every line, checking each against its `share:` header line when there are any.
    fn parse_all(&self) -> Vec<Candidate> {
        let fields = self.share_fields();
        assert!(
            fields.is_empty() || fields.len() == self.lines.len(),
            "{}: {} share: lines for {} texts",
            self.name,
            fields.len(),
            self.lines.len()
        );
        self.lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                let share = Share::from_text(line).unwrap_or_else(|error| {
                    panic!("{} line {}: does not parse: {error}", self.name, i + 1)
                });
                if let Some(fields) = fields.get(i) {
                    check_fields(&self.name, i + 1, &share, fields);
                    // The canonical text is what the line holds, up to case, spaces and dashes.
                    let canonical: String = line
                        .chars()
                        .filter(|c| !c.is_whitespace() && *c != '-')
                        .map(|c| c.to_ascii_uppercase())
                        .collect();
                    let encoded = {
                        use secrecy::ExposeSecret;
                        share.to_text().expose_secret().to_string()
                    };
                    assert!(
                        encoded == canonical,
                        "{} line {}: the library encodes this share differently",
                        self.name,
                        i + 1
                    );
                }
                Candidate {
                    name: format!("line {}", i + 1),
                    share,
                }
            })
            .collect()
    }
}

/// Compares a parsed share with its header line.
fn check_fields(name: &str, line: usize, share: &Share, fields: &BTreeMap<String, String>) {
    let header = share.header();
    let field = |key: &str| {
        fields
            .get(key)
            .unwrap_or_else(|| panic!("{name} line {line}: no {key}= in its share: line"))
            .as_str()
    };
    assert_eq!(field("version"), "1", "{name} line {line}: version");
    assert_eq!(
        share.to_bytes()[0],
        1,
        "{name} line {line}: binary version byte"
    );
    assert_eq!(
        field("index"),
        header.index.to_string(),
        "{name} line {line}: index"
    );
    assert_eq!(
        field("set-id"),
        header.set_id.to_string(),
        "{name} line {line}: set id"
    );
    assert_eq!(
        field("threshold"),
        header.threshold.to_string(),
        "{name} line {line}: threshold"
    );
    assert_eq!(
        field("count"),
        header.count.to_string(),
        "{name} line {line}: count"
    );
    assert_eq!(
        field("fingerprint").parse::<Fingerprint>().unwrap(),
        header.fingerprint,
        "{name} line {line}: fingerprint"
    );
    let point = hex::encode(share.point().expose_bytes());
    // Test-vector points are public; still, compare without printing them.
    assert!(field("point") == point, "{name} line {line}: point differs");
}

/// The names set aside, as 1-based line numbers.
fn lines_set_aside(set_aside: &[SetAside]) -> BTreeSet<usize> {
    set_aside
        .iter()
        .map(|aside| aside.name.strip_prefix("line ").unwrap().parse().unwrap())
        .collect()
}

fn parse_error(vector: &Vector) -> ShareFormatError {
    match Share::from_text(vector.single_line()) {
        Ok(_) => panic!("{}: the malformed share parsed", vector.name),
        Err(error) => error,
    }
}

/// Runs one vector; panics if its outcome is not the one it expects.
fn check(vector: &Vector) {
    let name = vector.name.as_str();
    match vector.require("expect") {
        "success" => check_success(vector),
        "bad-checksum" | "truncated" => {
            assert_eq!(parse_error(vector), ShareFormatError::Checksum, "{name}")
        }
        "unknown-version" => {
            let version: u8 = vector.require("version").parse().unwrap();
            assert_eq!(
                parse_error(vector),
                ShareFormatError::UnknownVersion(version),
                "{name}"
            );
        }
        "wrong-length" => {
            let found: usize = vector.require("length").parse().unwrap();
            assert_eq!(
                parse_error(vector),
                ShareFormatError::Length { found },
                "{name}"
            );
        }
        "index-zero" => assert_eq!(parse_error(vector), ShareFormatError::IndexZero, "{name}"),
        "threshold-above-count" => assert!(
            matches!(
                parse_error(vector),
                ShareFormatError::ThresholdAboveCount { threshold, count } if threshold > count
            ),
            "{name}"
        ),
        "threshold-below-two" => assert!(
            matches!(parse_error(vector), ShareFormatError::ThresholdBelowTwo(k) if k < 2),
            "{name}"
        ),
        "index-above-count" => assert!(
            matches!(
                parse_error(vector),
                ShareFormatError::IndexAboveCount { index, count } if index > count
            ),
            "{name}"
        ),
        "not-a-share" => assert_eq!(parse_error(vector), ShareFormatError::NotAShare, "{name}"),
        "bad-character" => assert_eq!(parse_error(vector), ShareFormatError::Alphabet, "{name}"),
        "duplicate-index" => {
            let (result, set_aside) = run(vector.parse_all());
            assert!(
                matches!(result, Err(Error::NotEnoughShares { .. })),
                "{name}: a claimant of the duplicated index was used"
            );
            assert_eq!(lines_set_aside(&set_aside), vector.set_aside(), "{name}");
            assert!(set_aside
                .iter()
                .all(|aside| aside.reason.contains("claimed by two different shares")));
        }
        "two-sets" => {
            let (result, _) = run(vector.parse_all());
            let error = result.err().unwrap_or_else(|| panic!("{name}: recovered"));
            assert_eq!(error.kind(), ErrorKind::Verification, "{name}");
            assert!(error.to_string().contains("different sets"), "{name}");
        }
        "wrong-fingerprint" => {
            let (result, _) = run(vector.parse_all());
            let error = result.err().unwrap_or_else(|| panic!("{name}: recovered"));
            assert_eq!(error.kind(), ErrorKind::Verification, "{name}");
            let message = error.to_string();
            assert!(message.contains(vector.require("reconstructed-fingerprint")));
            assert!(message.contains(vector.require("claimed-fingerprint")));
        }
        "not-enough-shares" => {
            let candidates = vector.parse_all();
            let given = candidates.len();
            let (result, _) = run(candidates);
            assert!(
                matches!(result, Err(Error::NotEnoughShares { valid, threshold }) if valid == given && threshold > given),
                "{name}: not refused for too few shares"
            );
        }
        other => panic!("{name}: unknown expectation {other:?}"),
    }
}

fn run(
    candidates: Vec<Candidate>,
) -> (
    Result<custody::set::recover::Recovered, Error>,
    Vec<SetAside>,
) {
    let recovery = reconstruct(candidates, None, None);
    (recovery.result, recovery.account.set_aside)
}

fn check_success(vector: &Vector) {
    let name = vector.name.as_str();
    let key = vector.require("key");
    let fingerprint: Fingerprint = vector.require("fingerprint").parse().unwrap();
    let expected_aside = vector.set_aside();

    let (result, set_aside) = run(vector.parse_all());
    let recovered = result.unwrap_or_else(|error| panic!("{name}: {error}"));
    assert!(
        hex::encode(recovered.key.expose_bytes()) == key,
        "{name}: another key came back"
    );
    assert_eq!(recovered.fingerprint, fingerprint, "{name}");
    assert_eq!(recovered.key.fingerprint(), fingerprint, "{name}");
    assert_eq!(lines_set_aside(&set_aside), expected_aside, "{name}");

    // Every k-subset of the good shares reconstructs the same key.
    let good: Vec<usize> = (0..vector.lines.len())
        .filter(|i| !expected_aside.contains(&(i + 1)))
        .collect();
    let k = usize::from(vector.parse_all()[0].share.header().threshold);
    for subset in subsets(&good, k) {
        let chosen: Vec<Candidate> = vector
            .parse_all()
            .into_iter()
            .enumerate()
            .filter(|(i, _)| subset.contains(i))
            .map(|(_, c)| c)
            .collect();
        let (result, set_aside) = run(chosen);
        let recovered = result.unwrap_or_else(|error| panic!("{name} {subset:?}: {error}"));
        assert!(
            hex::encode(recovered.key.expose_bytes()) == key,
            "{name} {subset:?}: another key"
        );
        assert!(set_aside.is_empty());
    }
    // One share fewer than k is not enough.
    let short: Vec<Candidate> = vector
        .parse_all()
        .into_iter()
        .enumerate()
        .filter(|(i, _)| good[..k - 1].contains(i))
        .map(|(_, c)| c)
        .collect();
    assert!(
        matches!(run(short).0, Err(Error::NotEnoughShares { .. })),
        "{name}: k - 1 shares reconstructed"
    );
}

/// All subsets of `items` of size `k`, in order.
fn subsets(items: &[usize], k: usize) -> Vec<Vec<usize>> {
    if k == 0 {
        return vec![Vec::new()];
    }
    if items.len() < k {
        return Vec::new();
    }
    let mut with_first: Vec<Vec<usize>> = subsets(&items[1..], k - 1)
        .into_iter()
        .map(|mut rest| {
            rest.insert(0, items[0]);
            rest
        })
        .collect();
    with_first.extend(subsets(&items[1..], k));
    with_first
}

fn vector_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    // Folders hold other vector sets (slip39/: SLIP-39's own, checked by tests/slip39_vectors.rs).
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Every file in tests/vectors/ gives the outcome its header expects.
#[test]
fn every_vector_gives_its_expected_outcome() {
    let files = vector_files();
    for file in &files {
        check(&Vector::read(file));
    }
}

/// The vectors cover every outcome the issue asks for, valid and must-fail alike.
#[test]
fn vectors_cover_every_required_outcome() {
    let expectations: BTreeSet<String> = vector_files()
        .iter()
        .map(|file| Vector::read(file).require("expect").to_string())
        .collect();
    for required in [
        "success",
        "bad-checksum",
        "unknown-version",
        "index-zero",
        "threshold-above-count",
        "duplicate-index",
        "two-sets",
        "truncated",
        "wrong-fingerprint",
        "not-enough-shares",
    ] {
        assert!(
            expectations.contains(required),
            "no vector expects {required}"
        );
    }
}

/// A vector whose expectation is wrong is caught: each must-fail text checked as a success,
/// and each success checked as a bad checksum, fails the check.
#[test]
fn a_wrong_expectation_is_caught() {
    for file in vector_files() {
        let mut vector = Vector::read(&file);
        let expect = vector.require("expect").to_string();
        let swapped = if expect == "success" {
            "bad-checksum"
        } else {
            "success"
        };
        for (key, value) in vector.header.iter_mut() {
            if key == "expect" {
                *value = swapped.into();
            }
        }
        if swapped == "success" && vector.get("key").is_none() {
            vector.header.push(("key".into(), "00".repeat(32)));
            vector.header.push(("fingerprint".into(), "00".repeat(16)));
        }
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&vector)));
        assert!(
            caught.is_err(),
            "{}: a wrong expectation passed",
            vector.name
        );
    }
}
